import Diagnostics
import JSON

import Platform

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where a streaming handler writes its items. `send` is false once the client has gone: the
/// handler should then stop and return.
public final class ControlStream: @unchecked Sendable {
    private let fd: Int32
    private let id: JSONValue
    /// Whether the client is still there, and how many items reached it.
    private let state = Locked((open: true, sent: 0))

    init(fd: Int32, id: JSONValue) {
        self.fd = fd
        self.id = id
    }

    @discardableResult
    public func send(_ item: JSONValue) -> Bool {
        let line = ControlReply.item(item).line(id: id)
        return state.withLock { state in
            guard state.open else { return false }
            if sendAll(fd, line, socket: true) == nil {
                state.sent += 1
            } else {
                state.open = false
            }
            return state.open
        }
    }

    /// How many items reached the socket.
    public var itemsSent: Int { state.withLock { $0.sent } }

    /// Whether the client is still there (a closed connection is noticed on the next `send`).
    public var isOpen: Bool { state.withLock { $0.open } }
}

/// The daemon's Unix-socket server: one thread per connection, one request at a time per
/// connection (answers come back in request order), handlers registered per verb.
public final class ControlServer: @unchecked Sendable {
    /// A plain verb: the value is the `result` of the answer.
    public typealias Handler = @Sendable (ControlRequest, PeerCredentials) throws(ControlError) -> JSONValue
    /// A streaming verb: items go through the stream, the value is the `end` payload.
    public typealias StreamHandler = @Sendable (ControlRequest, PeerCredentials, ControlStream) throws(ControlError) -> JSONValue

    private enum Registered {
        case plain(Handler)
        case stream(StreamHandler)
    }

    public let socketPath: String
    /// The only user id that may talk to the server (the daemon's own, by default).
    public let allowedUID: UInt32
    public let maxRequestBytes: Int
    private let peerRefusedHandler: Locked<@Sendable (PeerCredentials) -> Void>
    private let handlers = Locked<[String: Registered]>([:])
    private let connections = Locked<Set<Int32>>([])
    private let listener = Locked<Int32>(-1)
    private let acceptLoopDone = Locked(true)

    public init(
        socketPath: String, allowedUID: UInt32 = getuid(), maxRequestBytes: Int = ControlProtocol.maxRequestBytes,
        onPeerRefused: @escaping @Sendable (PeerCredentials) -> Void = { _ in }
    ) {
        self.socketPath = socketPath
        self.allowedUID = allowedUID
        self.maxRequestBytes = maxRequestBytes
        self.peerRefusedHandler = Locked(onPeerRefused)
    }

    /// Replaces what is called for each client refused for its user id (after it got its error).
    public func onPeerRefused(_ handler: @escaping @Sendable (PeerCredentials) -> Void) {
        peerRefusedHandler.withLock { $0 = handler }
    }

    /// Registers (or replaces) the handler of a plain verb.
    public func handle(_ verb: String, _ handler: @escaping Handler) {
        handlers.withLock { $0[verb] = .plain(handler) }
    }

    /// Registers (or replaces) the handler of a streaming verb.
    public func handleStream(_ verb: String, _ handler: @escaping StreamHandler) {
        handlers.withLock { $0[verb] = .stream(handler) }
    }

    /// The verbs registered now, sorted.
    public var verbs: [String] { handlers.withLock { $0.keys.sorted() } }

    /// How many clients are connected now.
    public var connectionCount: Int { connections.withLock { $0.count } }

    /// Binds the socket and starts accepting. A socket file already at the path is removed
    /// first: call this only while holding the data directory's `DaemonLock`, which proves that
    /// no other daemon serves it. Anything at the path that is not a socket is left alone.
    public func start() throws(ControlFailure) {
        try start(inheriting: nil)
    }

    /// `start`, or, with `inherited`, serve the listening socket a previous incarnation of this
    /// process handed over across `execve` (`handOverListener`): it must be a listening Unix
    /// socket bound to `socketPath`. Clients that connected meanwhile waited in its backlog.
    public func start(inheriting inherited: Int32?) throws(ControlFailure) {
        if let inherited {
            guard UnixSocket.boundPath(inherited) == socketPath else {
                throw ControlFailure("descriptor \(inherited) handed over by the previous incarnation is not the socket \(socketPath)")
            }
            _ = fcntl(inherited, F_SETFD, FD_CLOEXEC)
            try startAccepting(inherited)
            return
        }
        switch UnixSocket.kind(socketPath) {
        case .missing: break
        case .socket:
            guard unlink(socketPath) == 0 || errno == ENOENT else {
                throw ControlFailure("cannot remove the stale socket \(socketPath): \(errnoDescription(errno))")
            }
        case .other:
            throw ControlFailure(
                "\(socketPath) exists and is not a socket", help: "move it away; the daemon creates its socket there")
        }
        let fd: Int32
        switch UnixSocket.listen(socketPath) {
        case .success(let opened): fd = opened
        case .failure(let failure): throw failure
        }
        try startAccepting(fd)
    }

    private func startAccepting(_ fd: Int32) throws(ControlFailure) {
        listener.withLock { $0 = fd }
        acceptLoopDone.withLock { $0 = false }
        guard Threads.start({ [self] in acceptLoop(fd) }) != nil else {
            acceptLoopDone.withLock { $0 = true }
            stopAccepting()
            removeSocket()
            throw ControlFailure("cannot start the server's accept thread: \(errnoDescription(errno))")
        }
    }

    /// Stops the accept loop but keeps the listening socket open, without close-on-exec, for the
    /// next incarnation (`start(inheriting:)`): clients that connect meanwhile wait in the
    /// backlog instead of finding no daemon. Returns the descriptor.
    public func handOverListener() -> Int32? {
        let fd = listener.withLock { fd -> Int32 in
            defer { fd = -1 }
            return fd
        }
        guard fd >= 0 else { return nil }
        while !acceptLoopDone.withLock({ $0 }) { usleep(5_000) }
        _ = fcntl(fd, F_SETFD, 0)
        return fd
    }

    /// Stops accepting new connections (they are refused from now on); open ones go on.
    public func stopAccepting() {
        let fd = listener.withLock { fd -> Int32 in
            defer { fd = -1 }
            return fd
        }
        guard fd >= 0 else { return }
        // The accept loop polls with a short timeout and sees the -1; wait for it to leave before closing.
        while !acceptLoopDone.withLock({ $0 }) { usleep(5_000) }
        close(fd)
    }

    /// Ends every open connection: reading stops first, so an answer being written still goes
    /// out; a second later (a stream still running) writing stops too.
    public func closeConnections() {
        for how in [Int32(SHUT_RD), Int32(SHUT_RDWR)] {
            connections.withLock { open in
                for fd in open { shutdown(fd, how) }
            }
            let deadline = monotonicMilliseconds() + 1_000
            while connectionCount > 0 && monotonicMilliseconds() < deadline { usleep(5_000) }
            if connectionCount == 0 { return }
        }
    }

    /// Removes the socket file (only when it is a socket).
    public func removeSocket() {
        if UnixSocket.kind(socketPath) == .socket { unlink(socketPath) }
    }

    /// Stops accepting, ends the connections and removes the socket file.
    public func stop() {
        stopAccepting()
        closeConnections()
        removeSocket()
    }

    // MARK: - Connections

    private func acceptLoop(_ fd: Int32) {
        defer { acceptLoopDone.withLock { $0 = true } }
        while listener.withLock({ $0 }) == fd {
            guard waitReadable(fd, timeoutMilliseconds: 100) else { continue }
            let client = accept(fd, nil, nil)
            if client < 0 { continue }
            _ = fcntl(client, F_SETFD, FD_CLOEXEC)
            connections.withLock { _ = $0.insert(client) }
            if Threads.start({ [self] in serve(client) }) == nil {
                let refusal = ControlError(.internalError, "the daemon cannot start a thread for this connection", help: "try again")
                _ = sendAll(client, ControlReply.error(refusal).line(id: .null), socket: true)
                finish(client)
            }
        }
    }

    private func finish(_ fd: Int32) {
        // Removing and closing under the lock keeps `closeConnections` from touching a reused fd.
        connections.withLock { open in
            open.remove(fd)
            close(fd)
        }
    }

    private func serve(_ fd: Int32) {
        defer { finish(fd) }
        guard let peer = UnixSocket.peer(fd) else {
            refuse(fd, ControlError(.peerRefused, "the daemon cannot read the credentials of this connection"))
            lingerUntilClosed(fd)
            return
        }
        guard peer.uid == allowedUID else {
            refuse(fd, ControlError(
                .peerRefused, "user id \(peer.uid) may not use this daemon (it serves user id \(allowedUID))",
                help: "run the command as the user that started the daemon"))
            peerRefusedHandler.withLock { $0 }(peer)
            lingerUntilClosed(fd)
            return
        }
        var reader = LineReader(fd: fd, limit: maxRequestBytes)
        while true {
            switch reader.next() {
            case .line(let line):
                guard answer(line, fd: fd, peer: peer) else { return }
            case .tooLong(let count):
                let error = ControlError(
                    .requestTooLarge, "the request line exceeds \(maxRequestBytes) bytes (\(count) bytes arrived before it was cut); it was discarded",
                    help: "send smaller requests", details: .object([("limit", .int(Int64(maxRequestBytes)))]))
                guard sendAll(fd, ControlReply.error(error).line(id: .null), socket: true) == nil else { return }
            case .end, .failed, .timedOut:
                return
            }
        }
    }

    /// Sends a refusal and ends the daemon's side of the connection.
    private func refuse(_ fd: Int32, _ error: ControlError) {
        _ = sendAll(fd, ControlReply.error(error).line(id: .null), socket: true)
        shutdown(fd, Int32(SHUT_WR))
    }

    /// Lets the client read what it was sent: closing a socket with unread input resets the
    /// connection and the client could lose the error line, so what the client sent is read and
    /// dropped until it closes (at most a second).
    private func lingerUntilClosed(_ fd: Int32) {
        let deadline = monotonicMilliseconds() + 1_000
        var sink = [UInt8](repeating: 0, count: 4096)
        while monotonicMilliseconds() < deadline {
            guard waitReadable(fd, timeoutMilliseconds: 100) else { continue }
            let count = sink.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count == 0 || (count < 0 && errno != EINTR) { return }
        }
    }

    /// Answers one request line; false when the connection is gone.
    private func answer(_ line: [UInt8], fd: Int32, peer: PeerCredentials) -> Bool {
        let request: ControlRequest
        switch ControlRequest.decode(line) {
        case .success(let decoded): request = decoded
        case .failure(let rejected):
            return sendAll(fd, ControlReply.error(rejected.error).line(id: rejected.id), socket: true) == nil
        }
        guard let registered = handlers.withLock({ $0[request.verb] }) else {
            let known = verbs
            let suggestion = Suggestions.closest(to: request.verb, in: known)
            let error = ControlError(
                .unknownVerb, "unknown verb `\(request.verb)`",
                help: suggestion.map { "did you mean `\($0)`?" } ?? "this daemon serves: \(known.joined(separator: ", "))",
                details: .object([("verbs", .array(known.map { .string($0) }))]))
            return sendAll(fd, ControlReply.error(error).line(id: request.id), socket: true) == nil
        }
        switch registered {
        case .plain(let handler):
            let reply: ControlReply
            do {
                reply = .result(try handler(request, peer))
            } catch {
                reply = .error(error)
            }
            return sendAll(fd, reply.line(id: request.id), socket: true) == nil
        case .stream(let handler):
            let stream = ControlStream(fd: fd, id: request.id)
            let reply: ControlReply
            do {
                reply = .end(try handler(request, peer, stream))
            } catch {
                reply = .error(error)
            }
            guard stream.isOpen else { return false }
            return sendAll(fd, reply.line(id: request.id, streaming: true), socket: true) == nil
        }
    }
}
