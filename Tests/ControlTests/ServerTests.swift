import Control
import Foundation
import JSON
import Testing
import Platform

/// The transport in-process: a real socket, real threads, no daemon process.
@Suite("Control server and client", .timeLimit(.minutes(1)))
struct ServerTests {
    /// A server on a fresh directory with `configure` applied, started; stopped by the caller.
    func withServer(
        allowedUID: UInt32 = getuid(), maxRequestBytes: Int = ControlProtocol.maxRequestBytes,
        _ configure: (ControlServer) -> Void = { _ in }, _ body: (ControlServer, String) throws -> Void
    ) throws {
        let directory = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = ControlServer(
            socketPath: ControlClient.socketPath(dataDirectory: directory), allowedUID: allowedUID, maxRequestBytes: maxRequestBytes)
        server.handle("echo") { request, _ in request.args }
        configure(server)
        try server.start()
        defer { server.stop() }
        try body(server, directory)
    }

    @Test("plain and streaming verbs answer in order on one connection")
    func plainAndStreaming() throws {
        try withServer({ server in
            server.handleStream("count") { request, _, stream throws(ControlError) -> JSONValue in
                guard case .int(let upTo)? = request.args["to"] else {
                    throw ControlError(.invalidArguments, "`to` must be an integer")
                }
                for value in 1...max(upTo, 1) { stream.send(.int(value)) }
                return .object([("sent", .int(Int64(stream.itemsSent)))])
            }
        }) { _, directory in
            let client = try ControlClient(dataDirectory: directory)
            #expect(try client.request("echo", args: .object([("x", .string("y"))])) == .object([("x", .string("y"))]))
            var items: [JSONValue] = []
            let end = try client.stream("count", args: .object([("to", .int(3))])) { items.append($0); return true }
            #expect(items == [.int(1), .int(2), .int(3)])
            #expect(end == .object([("sent", .int(3))]))
            #expect(throws: ControlClientError.self) { try client.stream("count", args: .object([])) { _ in true } }
            // The connection is still usable after an error that ended a stream.
            #expect(try client.request("echo") == .object([]))
        }
    }

    @Test("an unknown verb, an unknown version and garbage are answered; the connection stays usable")
    func structuredErrors() throws {
        try withServer { _, directory in
            let client = try ControlClient(dataDirectory: directory)
            do throws(ControlClientError) {
                _ = try client.request("ecko")
                Issue.record("an unknown verb was answered with a result")
            } catch .refused(let error) {
                #expect(error.code == .unknownVerb)
                #expect(error.help == "did you mean `echo`?")
            } catch {
                Issue.record("unexpected failure: \(error)")
            }
            try client.sendLine(#"{"v":7,"id":"old","verb":"echo","args":{}}"#)
            let (id, reply) = try client.readReply()
            #expect(id == .string("old"))
            guard case .error(let error) = reply else {
                Issue.record("version 7 was served")
                return
            }
            #expect(error.code == .unsupportedVersion)
            try client.sendLine("{{{")
            let garbage = try client.readReply()
            #expect(garbage.id == .null)
            if case .error(let error) = garbage.reply {
                #expect(error.code == .badRequest)
            } else {
                Issue.record("garbage was not answered with an error")
            }
            #expect(try client.request("echo", args: .object([("still", .bool(true))])) == .object([("still", .bool(true))]))
        }
    }

    @Test("a request line over the limit is an error and the next line is read normally")
    func oversizedLine() throws {
        try withServer(maxRequestBytes: 1000) { _, directory in
            let client = try ControlClient(dataDirectory: directory)
            try client.sendLine(#"{"v":1,"id":1,"verb":"echo","args":{"pad":""# + String(repeating: "x", count: 300_000) + "\"}}")
            let (_, reply) = try client.readReply()
            guard case .error(let error) = reply else {
                Issue.record("the oversized line was served")
                return
            }
            #expect(error.code == .requestTooLarge)
            #expect(error.details?["limit"] == .int(1000))
            #expect(try client.request("echo", args: .object([("n", .int(2))])) == .object([("n", .int(2))]))
        }
    }

    @Test("clients are served concurrently: eight handlers are inside at once")
    func concurrentClients() throws {
        let inside = Locked(0)
        let most = Locked(0)
        try withServer({ server in
            server.handle("wait") { _, _ in
                let now = inside.withLock { $0 += 1; return $0 }
                most.withLock { $0 = max($0, now) }
                // Hold until all eight are in (or 5 s pass): only concurrent handling gets there.
                let deadline = Date().addingTimeInterval(5)
                while inside.withLock({ $0 }) < 8 && Date() < deadline { usleep(1_000) }
                usleep(20_000)
                inside.withLock { $0 -= 1 }
                return .bool(true)
            }
        }) { _, directory in
            let failures = Locked(0)
            let group = DispatchGroup()
            for _ in 0..<8 {
                group.enter()
                Thread {
                    defer { group.leave() }
                    do {
                        let client = try ControlClient(dataDirectory: directory)
                        guard try client.request("wait") == .bool(true) else { failures.withLock { $0 += 1 }; return }
                    } catch { failures.withLock { $0 += 1 } }
                }.start()
            }
            #expect(group.wait(timeout: .now() + 20) == .success)
            #expect(failures.withLock { $0 } == 0)
            #expect(most.withLock { $0 } == 8)
        }
    }

    @Test("a peer of another user id gets peer_refused and the callback hears of it")
    func refusesOtherUser() throws {
        let refused = Locked<[PeerCredentials]>([])
        try withServer(allowedUID: getuid() &+ 4242, { server in
            server.onPeerRefused { peer in refused.withLock { $0.append(peer) } }
        }) { _, directory in
            let client = try ControlClient(dataDirectory: directory)
            do throws(ControlClientError) {
                _ = try client.request("echo")
                Issue.record("a refused peer was served")
            } catch .refused(let error) {
                #expect(error.code == .peerRefused)
                #expect(error.message.contains("user id \(getuid())"))
            } catch {
                Issue.record("unexpected failure: \(error)")
            }
            #expect(eventually(5) { refused.withLock { $0.count } == 1 })
            #expect(refused.withLock { $0.first?.uid } == getuid())
            #expect(refused.withLock { $0.first?.pid } == getpid())
        }
    }

    @Test("no socket, or a stale socket file, means no daemon; start replaces the stale file")
    func staleSocket() throws {
        let directory = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        func expectNoDaemon() {
            do {
                _ = try ControlClient(dataDirectory: directory)
                Issue.record("connected without a daemon")
            } catch {
                #expect("\(error)" == "no daemon is running for \(directory)")
            }
        }
        expectNoDaemon()
        // A bound socket whose listener is gone: what a killed daemon leaves behind.
        let path = ControlClient.socketPath(dataDirectory: directory)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.utf8.enumerated() { raw[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        #expect(bound == 0)
        close(fd)
        #expect(isSocket(path))
        expectNoDaemon()
        let server = ControlServer(socketPath: path)
        server.handle("echo") { request, _ in request.args }
        try server.start()
        #expect(try ControlClient(dataDirectory: directory).request("echo") == .object([]))
        server.stop()
        #expect(!FileManager.default.fileExists(atPath: path))
        // Something that is not a socket is never removed.
        try "keep me".write(toFile: path, atomically: false, encoding: .utf8)
        #expect(throws: ControlFailure.self) { try ControlServer(socketPath: path).start() }
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "keep me")
    }
}
