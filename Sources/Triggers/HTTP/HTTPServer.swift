import Platform

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why the server could not start.
public struct HTTPServerError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// A minimal HTTP/1.1 server on POSIX sockets: one request per connection (`Connection: close`),
/// bodies only with a Content-Length (chunked is refused with 411), limits on the request line,
/// head, body and the time a client may take, and every connection on its own thread so a slow
/// client never holds up another.
public final class HTTPServer: Sendable {
    /// The port bound (the one asked for, or the one the system chose for 0).
    public let port: UInt16
    public let address: String
    private let listener: Int32
    private let wakeRead: Int32
    private let wakeWrite: Int32
    private let limits: HTTPLimits
    private let handler: any HTTPHandler
    private let state = Locked(State())

    private struct State {
        var started = false
        var stopped = false
        var acceptLoopDone = false
        var listenerClosed = false
        var active = 0
    }

    /// Binds `address:port` (IPv4; 0 for any free port) and listens; `start()` begins accepting.
    public init(address: String = "127.0.0.1", port: UInt16, limits: HTTPLimits = .standard, handler: any HTTPHandler) throws(HTTPServerError) {
        var socketAddress = sockaddr_in()
        socketAddress.sin_family = sa_family_t(AF_INET)
        socketAddress.sin_port = port.bigEndian
        guard inet_pton(AF_INET, address, &socketAddress.sin_addr) == 1 else {
            throw HTTPServerError(message: "'\(address)' is not an IPv4 address; use e.g. 127.0.0.1")
        }
        #if canImport(Glibc)
        let streamType = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        #else
        let streamType = SOCK_STREAM
        #endif
        let fd = socket(AF_INET, streamType, 0)
        guard fd >= 0 else { throw HTTPServerError(message: "cannot open a socket: \(errnoDescription(errno))") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        let bound = withUnsafePointer(to: &socketAddress) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else {
            let code = errno
            close(fd)
            throw HTTPServerError(message: "cannot listen on \(address):\(port): \(errnoDescription(code)); choose another port (0 picks a free one)")
        }
        guard listen(fd, 64) == 0 else {
            let code = errno
            close(fd)
            throw HTTPServerError(message: "cannot listen on \(address):\(port): \(errnoDescription(code))")
        }
        var actual = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        var pipeFDs: [Int32] = [0, 0]
        guard pipe(&pipeFDs) == 0 else {
            close(fd)
            throw HTTPServerError(message: "cannot create a wake-up pipe: \(errnoDescription(errno))")
        }
        _ = fcntl(pipeFDs[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(pipeFDs[1], F_SETFD, FD_CLOEXEC)
        self.port = UInt16(bigEndian: actual.sin_port)
        self.address = address
        self.listener = fd
        self.wakeRead = pipeFDs[0]
        self.wakeWrite = pipeFDs[1]
        self.limits = limits
        self.handler = handler
    }

    deinit {
        closeListener()
        close(wakeRead)
        close(wakeWrite)
    }

    /// Starts the accept loop on its own thread. Calling it twice, or after `stop`, does nothing.
    public func start() throws(HTTPServerError) {
        let go = state.withLock { s -> Bool in
            guard !s.started, !s.stopped else { return false }
            s.started = true
            return true
        }
        guard go else { return }
        guard Threads.start({ [self] in acceptLoop() }) != nil else {
            state.withLock { $0.acceptLoopDone = true }
            throw HTTPServerError(message: "cannot start the accept thread")
        }
    }

    /// Stops accepting, then waits (up to the read timeout and a second) for open connections to finish.
    public func stop() {
        let wasStarted = state.withLock { s -> Bool in
            let was = s.started && !s.stopped
            s.stopped = true
            return was
        }
        var byte: UInt8 = 1
        _ = write(wakeWrite, &byte, 1)
        guard wasStarted else {
            closeListener()
            return
        }
        let deadline = monotonicMilliseconds() + Int64(limits.readTimeoutMilliseconds) + 1000
        var listenerOpen = true
        while monotonicMilliseconds() < deadline {
            let (loopDone, active) = state.withLock { ($0.acceptLoopDone, $0.active) }
            if loopDone, listenerOpen {
                // New connections are refused by the system from here on.
                closeListener()
                listenerOpen = false
            }
            if loopDone, active == 0 { return }
            usleep(2000)
        }
    }

    private func closeListener() {
        let close = state.withLock { s -> Bool in
            defer { s.listenerClosed = true }
            return !s.listenerClosed
        }
        if close { Glibc.close(listener) }
    }

    /// Connections being served now.
    public var activeConnections: Int { state.withLock { $0.active } }

    private func acceptLoop() {
        defer { state.withLock { $0.acceptLoopDone = true } }
        var fds = [pollfd(fd: listener, events: Int16(POLLIN), revents: 0), pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)]
        while !state.withLock({ $0.stopped }) {
            fds[0].revents = 0
            fds[1].revents = 0
            let ready = poll(&fds, 2, 1000)
            if ready < 0, errno == EINTR { continue }
            if ready < 0 || fds[1].revents != 0 { return }
            guard fds[0].revents & Int16(POLLIN) != 0 else { continue }
            let client = accept(listener, nil, nil)
            guard client >= 0 else { continue }
            _ = fcntl(client, F_SETFD, FD_CLOEXEC)
            let admitted = state.withLock { s -> Bool in
                guard s.active < limits.maxConnections else { return false }
                s.active += 1
                return true
            }
            guard admitted else {
                let refusal = HTTPRefusal(reason: .tooManyConnections, message: "the server is busy; retry later", method: nil, path: nil)
                handler.refused(refusal)
                send(client, HTTPResponse.error(refusal.status, code: refusal.reason.rawValue, message: refusal.message).serialized())
                close(client)
                continue
            }
            let started = Threads.start { [self] in
                serve(client)
                close(client)
                state.withLock { $0.active -= 1 }
            }
            if started == nil {
                close(client)
                state.withLock { $0.active -= 1 }
            }
        }
    }

    // MARK: one connection

    private func serve(_ fd: Int32) {
        var timeout = timeval(tv_sec: time_t(limits.readTimeoutMilliseconds / 1000), tv_usec: suseconds_t(limits.readTimeoutMilliseconds % 1000 * 1000))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let reader = ConnectionReader(fd: fd, deadline: monotonicMilliseconds() + Int64(limits.readTimeoutMilliseconds))
        switch readRequest(reader) {
        case .request(let request):
            let response = handler.respond(to: request)
            guard send(fd, response.serialized()) else { return }
            if let stream = response.stream { stream(SocketStreamWriter(fd: fd)) }
        case .refused(let refusal):
            handler.refused(refusal)
            send(fd, HTTPResponse.error(refusal.status, code: refusal.reason.rawValue, message: refusal.message).serialized())
        case .closed:
            return
        }
        // Let the client read the answer before the socket goes: closing with unread input
        // would reset the connection and could destroy the answer in flight. So: no more
        // output, then read and drop what the client still sends, briefly and boundedly.
        shutdown(fd, Int32(SHUT_WR))
        let drain = ConnectionReader(fd: fd, deadline: monotonicMilliseconds() + 1000)
        var discarded: [UInt8] = []
        var total = 0
        while total < limits.maxBodyBytes + limits.maxHeadBytes, case .data = drain.read(into: &discarded) {
            total += discarded.count
            discarded.removeAll(keepingCapacity: true)
        }
    }

    private enum ReadResult {
        case request(HTTPRequest)
        case refused(HTTPRefusal)
        case closed
    }

    private func readRequest(_ reader: ConnectionReader) -> ReadResult {
        // The head: up to the empty line.
        var buffer: [UInt8] = []
        var headEnd: (headLength: Int, bodyStart: Int)?
        var searchFrom = 0
        while headEnd == nil {
            if let end = HTTPHead.findHeadEnd(buffer, from: searchFrom) {
                headEnd = end
                break
            }
            searchFrom = max(0, buffer.count - 3)
            if !buffer.contains(0x0A), buffer.count > limits.maxRequestLineBytes {
                return .refused(HTTPRefusal(reason: .requestLineTooLong, message: "the request line is longer than \(limits.maxRequestLineBytes) bytes", method: nil, path: nil))
            }
            if buffer.count > limits.maxHeadBytes {
                return .refused(HTTPRefusal(reason: .headersTooLarge, message: "the request head is larger than \(limits.maxHeadBytes) bytes", method: nil, path: nil))
            }
            switch reader.read(into: &buffer) {
            case .data: continue
            case .endOfStream: return .closed
            case .timedOut:
                if buffer.isEmpty { return .closed }
                return .refused(HTTPRefusal(reason: .timeout, message: "the request was not complete within \(limits.readTimeoutMilliseconds) ms", method: nil, path: nil))
            }
        }
        guard let headEnd else { return .closed }
        guard headEnd.headLength <= limits.maxHeadBytes else {
            return .refused(HTTPRefusal(reason: .headersTooLarge, message: "the request head is larger than \(limits.maxHeadBytes) bytes", method: nil, path: nil))
        }
        let head: HTTPHead
        switch HTTPHead.parse(Array(buffer[0..<headEnd.headLength]), limits: limits) {
        case .success(let parsed): head = parsed
        case .failure(let refusal): return .refused(refusal)
        }
        var body = Array(buffer[headEnd.bodyStart...])
        let length = head.contentLength ?? 0
        if body.count < length, head.headers["Expect"]?.lowercased() == "100-continue" {
            send(reader.fd, Array("HTTP/1.1 100 Continue\r\n\r\n".utf8))
        }
        while body.count < length {
            switch reader.read(into: &body) {
            case .data: continue
            case .endOfStream:
                return .refused(HTTPRefusal(reason: .malformedRequest, message: "the body ended after \(body.count) of \(length) bytes", method: head.method, path: head.path))
            case .timedOut:
                return .refused(HTTPRefusal(reason: .timeout, message: "the body was not complete within \(limits.readTimeoutMilliseconds) ms", method: head.method, path: head.path))
            }
        }
        if body.count > length { body.removeSubrange(length...) }
        return .request(HTTPRequest(method: head.method, target: head.target, headers: head.headers, body: body))
    }

    @discardableResult
    private func send(_ fd: Int32, _ bytes: [UInt8]) -> Bool { sendAll(fd, bytes, socket: true) == nil }
}

/// The body of a streamed response, written straight to the connection.
private struct SocketStreamWriter: HTTPStreamWriter {
    let fd: Int32
    func write(_ bytes: [UInt8]) -> Bool { sendAll(fd, bytes, socket: true) == nil }
}

/// Reads from a socket until a deadline on the monotonic clock.
private final class ConnectionReader {
    let fd: Int32
    let deadline: Int64

    enum Outcome { case data, endOfStream, timedOut }

    init(fd: Int32, deadline: Int64) {
        self.fd = fd
        self.deadline = deadline
    }

    func read(into buffer: inout [UInt8]) -> Outcome {
        while true {
            let remaining = deadline - monotonicMilliseconds()
            guard remaining > 0 else { return .timedOut }
            var item = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&item, 1, Int32(min(remaining, 60_000)))
            if ready < 0, errno == EINTR { continue }
            if ready < 0 { return .endOfStream }
            if ready == 0 { continue }
            var chunk = [UInt8](repeating: 0, count: 16_384)
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count < 0, errno == EINTR || errno == EAGAIN { continue }
            if count <= 0 { return .endOfStream }
            buffer.append(contentsOf: chunk[0..<count])
            return .data
        }
    }
}

/// A parsed request head.
struct HTTPHead {
    var method: String
    var target: String
    var path: String
    var headers: HTTPHeaders
    var contentLength: Int?

    /// Where the head ends: `\r\n\r\n` (or a bare `\n\n`, which RFC 9112 allows a server to accept).
    static func findHeadEnd(_ buffer: [UInt8], from start: Int) -> (headLength: Int, bodyStart: Int)? {
        var i = start
        while i < buffer.count {
            if buffer[i] == 0x0A {
                if i + 1 < buffer.count, buffer[i + 1] == 0x0A { return (i, i + 2) }
                if i + 2 < buffer.count, buffer[i + 1] == 0x0D, buffer[i + 2] == 0x0A { return (i, i + 3) }
            }
            i += 1
        }
        return nil
    }

    static func parse(_ bytes: [UInt8], limits: HTTPLimits) -> Result<HTTPHead, HTTPRefusal> {
        func refuse(_ reason: HTTPRefusalReason, _ message: String, _ method: String? = nil, _ path: String? = nil) -> Result<HTTPHead, HTTPRefusal> {
            .failure(HTTPRefusal(reason: reason, message: message, method: method, path: path))
        }
        var lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false).map { line -> ArraySlice<UInt8> in
            line.last == 0x0D ? line.dropLast() : line
        }
        guard !lines.isEmpty, let requestLine = String(validating: lines.removeFirst(), as: UTF8.self) else {
            return refuse(.malformedRequest, "the request line is not UTF-8 text")
        }
        guard requestLine.utf8.count <= limits.maxRequestLineBytes else {
            return refuse(.requestLineTooLong, "the request line is longer than \(limits.maxRequestLineBytes) bytes")
        }
        let parts = requestLine.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, parts[0].utf8.allSatisfy({ $0 >= 0x41 && $0 <= 0x5A }), parts[1].hasPrefix("/") else {
            return refuse(.malformedRequest, "the request line must be 'METHOD /path HTTP/1.1'")
        }
        let method = String(parts[0]), target = String(parts[1])
        let path = HTTPRequest(method: method, target: target).path
        guard parts[2] == "HTTP/1.1" || parts[2] == "HTTP/1.0" else {
            return refuse(.unsupportedVersion, "only HTTP/1.0 and HTTP/1.1 are served", method, path)
        }
        var headers = HTTPHeaders()
        for line in lines {
            guard let text = String(validating: line, as: UTF8.self), let colon = text.firstIndex(of: ":") else {
                return refuse(.malformedRequest, "a header line is not 'Name: value'", method, path)
            }
            let name = text[..<colon]
            guard !name.isEmpty, !name.contains(" "), !name.contains("\t") else {
                return refuse(.malformedRequest, "the header name '\(name)' is not a token", method, path)
            }
            let value = text[text.index(after: colon)...].trimmingSpaces()
            headers.add(String(name), value)
            guard headers.fields.count <= limits.maxHeaderCount else {
                return refuse(.headersTooLarge, "more than \(limits.maxHeaderCount) header fields", method, path)
            }
        }
        if !headers.values("Transfer-Encoding").isEmpty {
            return refuse(.chunkedBody, "Transfer-Encoding bodies are not accepted; send the body with a Content-Length", method, path)
        }
        let lengths = headers.values("Content-Length")
        var contentLength: Int?
        if let first = lengths.first {
            guard lengths.allSatisfy({ $0 == first }), !first.isEmpty, first.utf8.count <= 18, first.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                let value = Int(first)
            else { return refuse(.malformedRequest, "the Content-Length '\(lengths.joined(separator: ", "))' is not one decimal number", method, path) }
            guard value <= limits.maxBodyBytes else {
                return refuse(.bodyTooLarge, "the body is \(value) bytes; the limit is \(limits.maxBodyBytes)", method, path)
            }
            contentLength = value
        } else if method == "POST" || method == "PUT" || method == "PATCH" {
            return refuse(.lengthRequired, "a \(method) request needs a Content-Length", method, path)
        }
        return .success(HTTPHead(method: method, target: target, path: path, headers: headers, contentLength: contentLength))
    }
}

extension StringProtocol {
    /// Without leading and trailing spaces and tabs.
    func trimmingSpaces() -> String {
        var scalars = Substring(self).unicodeScalars[...]
        while let first = scalars.first, first == " " || first == "\t" { scalars = scalars.dropFirst() }
        while let last = scalars.last, last == " " || last == "\t" { scalars = scalars.dropLast() }
        return String(String.UnicodeScalarView(scalars))
    }
}
