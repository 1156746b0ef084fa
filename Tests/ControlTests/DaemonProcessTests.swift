import Control
import Foundation
import JSON
import Testing

/// The real `orchestratord` executable, started and stopped by PID.
@Suite("orchestratord process", .serialized, .timeLimit(.minutes(1)))
struct DaemonProcessTests {
    @Test("a foreground daemon answers ping and status; SIGTERM removes its socket and frees the lock")
    func foregroundServes() throws {
        let data = try scratchDirectory() + "/data"
        defer { try? FileManager.default.removeItem(atPath: URL(fileURLWithPath: data).deletingLastPathComponent().path) }
        let daemon = try ForegroundDaemon(dataDirectory: data, extra: ["--workers", "3", "--drain-timeout", "2s"])
        #expect(daemon.waitUntilServing(), "the daemon did not serve: \(daemon.stderr)")
        let client = try ControlClient(dataDirectory: data)
        #expect(try client.request("ping")["pid"] == .int(Int64(daemon.pid)))
        let status = DaemonStatus(json: try client.request("status"))
        #expect(status?.pid == daemon.pid)
        #expect(status?.workers == 3)
        #expect(status?.incarnation == 1)
        #expect(status?.dataDirectory == data)
        #expect(status?.state == .serving)
        let socket = ControlClient.socketPath(dataDirectory: data)
        var info = stat()
        #expect(stat(socket, &info) == 0 && info.st_mode & 0o777 == 0o600)
        #expect(stat(data, &info) == 0 && info.st_mode & 0o777 == 0o700)
        #expect(daemon.stop(SIGTERM) == 0)
        #expect(!FileManager.default.fileExists(atPath: socket))
        #expect(daemon.stderr.contains("stopping (SIGTERM)"))
        guard case .success(let lock) = DaemonLock.acquire(dataDirectory: data) else {
            Issue.record("the lock is still held after the daemon ended")
            return
        }
        lock.release()
    }

    @Test("a second daemon on the same data directory exits 2 naming the first one's PID")
    func secondDaemonRefused() throws {
        let data = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: data) }
        let daemon = try ForegroundDaemon(dataDirectory: data)
        #expect(daemon.waitUntilServing(), "the daemon did not serve: \(daemon.stderr)")
        let foreground = try runToEnd(daemonExecutable, ["--foreground", "--data-dir", data])
        #expect(foreground.status == 2)
        #expect(foreground.stderr.contains("a daemon (PID \(daemon.pid)) already serves \(data)"))
        let detached = try runToEnd(daemonExecutable, ["--data-dir", data])
        #expect(detached.status == 2)
        #expect(detached.stderr.contains("a daemon (PID \(daemon.pid)) already serves \(data)"))
        // The first one is untouched.
        #expect(try ControlClient(dataDirectory: data).request("ping")["pid"] == .int(Int64(daemon.pid)))
        #expect(daemon.stop() == 0)
    }

    @Test("a detached start returns once the socket accepts; the daemon outlives the launcher and stops on request")
    func detachedStart() throws {
        let data = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: data) }
        let launched = try runToEnd(daemonExecutable, ["--data-dir", data, "--workers", "2"])
        defer { _ = DaemonControl.stop(dataDirectory: data, timeoutSeconds: 10) }
        #expect(launched.status == 0, "launcher: \(launched.stderr)")
        // No retry: the launcher has returned, so the socket must accept now.
        let status = try #require(DaemonStatus(json: try ControlClient(dataDirectory: data).request("status")))
        #expect(launched.stdout.contains("(PID \(status.pid))"))
        #expect(status.workers == 2)
        // A session of its own (not the test's) that it does not lead, so it can never take a
        // terminal; stdin from /dev/null, output to the log.
        #expect(getsid(status.pid) != getsid(0))
        #expect(getsid(status.pid) != status.pid)
        let stdinTarget = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(status.pid)/fd/0")
        #expect(stdinTarget == "/dev/null")
        let stderrTarget = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(status.pid)/fd/2")
        #expect(stderrTarget == data + "/daemon.log")
        usleep(200_000)
        #expect(try ControlClient(dataDirectory: data).request("ping")["pid"] == .int(Int64(status.pid)))
        #expect(DaemonControl.stop(dataDirectory: data, timeoutSeconds: 15) == .stopped(pid: status.pid, bySignal: false))
        #expect(!FileManager.default.fileExists(atPath: ControlClient.socketPath(dataDirectory: data)))
        let log = try String(contentsOfFile: data + "/daemon.log", encoding: .utf8)
        #expect(log.contains("serving \(data)"))
        #expect(log.contains("stopped"))
        #expect(DaemonControl.stop(dataDirectory: data) == .notRunning)
    }

    @Test("DaemonControl.start runs the executable detached and reports its status")
    func controlStart() throws {
        let data = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: data) }
        guard case .started(let status) = DaemonControl.start(executable: daemonExecutable, dataDirectory: data, arguments: ["--workers", "4"]) else {
            Issue.record("the daemon did not start")
            return
        }
        // Stopped through its socket if a check below fails (never by a PID that may be reused).
        defer { _ = DaemonControl.stop(dataDirectory: data, timeoutSeconds: 10) }
        #expect(status.workers == 4)
        guard case .failed(let code, let message) = DaemonControl.start(executable: daemonExecutable, dataDirectory: data) else {
            Issue.record("a second start succeeded")
            return
        }
        #expect(code == 2)
        #expect(message.contains("PID \(status.pid)"))
        #expect(DaemonControl.stop(dataDirectory: data, timeoutSeconds: 15) == .stopped(pid: status.pid, bySignal: false))
    }

    @Test("after kill -9 the stale socket means no daemon, and the next daemon replaces it")
    func staleSocketAfterKill() throws {
        let data = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: data) }
        let first = try ForegroundDaemon(dataDirectory: data)
        #expect(first.waitUntilServing(), "the daemon did not serve: \(first.stderr)")
        #expect(first.stop(SIGKILL) != nil)
        let socket = ControlClient.socketPath(dataDirectory: data)
        #expect(isSocket(socket), "a killed daemon leaves its socket file")
        do {
            _ = try ControlClient(dataDirectory: data)
            Issue.record("a dead daemon's socket accepted")
        } catch {
            #expect("\(error)" == "no daemon is running for \(data)")
        }
        let second = try ForegroundDaemon(dataDirectory: data)
        #expect(second.waitUntilServing(), "the next daemon did not serve: \(second.stderr)")
        #expect(try ControlClient(dataDirectory: data).request("ping")["pid"] == .int(Int64(second.pid)))
        #expect(second.stop() == 0)
    }

    @Test("unknown verbs and versions get structured errors from the daemon; the connection stays usable")
    func structuredErrorsOverTheWire() throws {
        let data = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: data) }
        let daemon = try ForegroundDaemon(dataDirectory: data)
        #expect(daemon.waitUntilServing(), "the daemon did not serve: \(daemon.stderr)")
        let client = try ControlClient(dataDirectory: data)
        try client.sendLine(#"{"v":1,"id":1,"verb":"frobnicate","args":{}}"#)
        let unknown = try JSONParser.parse(String(decoding: try { _ = try client.readReply(); return client.lastLine }(), as: UTF8.self))
        #expect(unknown["id"] == .int(1))
        #expect(unknown["ok"] == .bool(false))
        #expect(unknown["error"]?["code"] == .string("unknown_verb"))
        #expect(unknown["error"]?["details"]?["verbs"] == .array(["command", "ping", "restart", "shutdown", "status", "version"].map { .string($0) }))
        try client.sendLine(#"{"v":99,"id":2,"verb":"ping","args":{}}"#)
        let (id, reply) = try client.readReply()
        #expect(id == .int(2))
        if case .error(let error) = reply {
            #expect(error.code == .unsupportedVersion)
        } else {
            Issue.record("version 99 was served")
        }
        #expect(try client.request("version")["protocol"] == .int(1))
        #expect(try client.request("ping")["pong"] == .bool(true))
        let cli = try runToEnd(daemonExecutable, ["--request", "nope", "--data-dir", data])
        #expect(cli.status == 1)
        #expect(try JSONParser.parse(cli.stdout)["error"]?["code"] == .string("unknown_verb"))
        #expect(daemon.stop() == 0)
    }

    @Test("a client of another user id is refused with a structured error, and the refusal is reported")
    func otherUserRefused() throws {
        guard getuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") else {
            print("note: not root or no setpriv: the other-UID refusal test is skipped (ServerTests covers it in-process)")
            return
        }
        let root = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let data = root + "/data"
        let daemon = try ForegroundDaemon(dataDirectory: data)
        #expect(daemon.waitUntilServing(), "the daemon did not serve: \(daemon.stderr)")
        // The client runs as nobody: give it a copy of the binary it can execute and, since the
        // 0700 directory would stop it before the daemon sees it, open the path for this test.
        let client = root + "/orchestratord"
        try FileManager.default.copyItem(atPath: daemonExecutable, toPath: client)
        chmod(root, 0o755)
        chmod(client, 0o755)
        chmod(data, 0o711)
        chmod(ControlClient.socketPath(dataDirectory: data), 0o666)
        let refused = try runToEnd(
            "/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", client, "--request", "ping", "--data-dir", data])
        #expect(refused.status == 1, "stderr: \(refused.stderr)")
        let answer = try #require(try? JSONParser.parse(refused.stdout), "no answer line; stderr: \(refused.stderr)")
        #expect(answer["ok"] == .bool(false))
        #expect(answer["error"]?["code"] == .string("peer_refused"))
        #expect(answer["error"]?["message"]?.stringValue?.contains("user id 65534") == true)
        let status = DaemonStatus(json: try ControlClient(dataDirectory: data).request("status"))
        #expect(status?.peersRefused == 1)
        #expect(eventually(5) { daemon.stderr.contains("refused a client running as user id 65534") })
        // The refusal is an event of the daemon's journal.
        let journal = try runToEnd(
            (daemonExecutable as NSString).deletingLastPathComponent + "/orchestrator",
            ["event", "list", "--daemon", "--type", "socket_peer_refused", "-o", "json", "--data-dir", data])
        let refusals = (try? JSONParser.parse(journal.stdout))?.arrayValue ?? []
        #expect(refusals.count == 1, "\(journal.stdout)\(journal.stderr)")
        #expect(refusals.first?["payload"]?["uid"] == .int(65534))
        #expect(daemon.stop() == 0)
    }

    @Test("usage: --help exits 0, bad options exit 2 with a hint, no daemon is an error for --request")
    func usage() throws {
        let help = try runToEnd(daemonExecutable, ["--help"])
        #expect(help.status == 0)
        #expect(help.stdout.contains("--drain-timeout"))
        let bad = try runToEnd(daemonExecutable, ["--workers", "many"])
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("--workers"))
        let data = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: data) }
        let none = try runToEnd(daemonExecutable, ["--request", "ping", "--data-dir", data])
        #expect(none.status == 1)
        #expect(none.stderr.contains("no daemon is running for \(data)"))
    }
}
