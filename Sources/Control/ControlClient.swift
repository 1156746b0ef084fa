import JSON

import Platform

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a client could not get its answer.
public enum ControlClientError: Error, Sendable, CustomStringConvertible {
    /// Nothing listens at the socket (no file, or a stale file left by a killed daemon):
    /// the CLI falls back to embedded mode.
    case noDaemon(dataDirectory: String)
    /// The socket exists but could not be reached (permissions, a path too long, ...).
    case connectFailed(String)
    /// Reading or writing the connection failed, or the daemon closed it mid-answer.
    case connectionLost(String)
    /// No answer within the client's timeout.
    case timedOut(seconds: Double)
    /// The daemon sent a line this client cannot read.
    case malformedReply(String)
    /// The daemon answered with a structured error.
    case refused(ControlError)

    public var description: String {
        switch self {
        case .noDaemon(let directory): return "no daemon is running for \(directory)"
        case .connectFailed(let text), .connectionLost(let text), .malformedReply(let text): return text
        case .timedOut(let seconds): return "the daemon did not answer within \(seconds) s"
        case .refused(let error): return error.description
        }
    }
}

/// A connection to a daemon: requests go out one at a time and their answers are read in order.
public final class ControlClient {
    public let socketPath: String
    /// Seconds to wait for each answer line; nil waits for ever (streams that idle long).
    public var timeoutSeconds: Double?
    private var fd: Int32
    private var reader: LineReader
    private var nextID: Int64 = 1
    /// The last line read, as it arrived (without its newline).
    public private(set) var lastLine: [UInt8] = []

    /// The socket of a data directory.
    public static func socketPath(dataDirectory: String) -> String {
        dataDirectory.hasSuffix("/") ? dataDirectory + "orchestrator.sock" : dataDirectory + "/orchestrator.sock"
    }

    /// Connects to the daemon of `dataDirectory`; `.noDaemon` when none listens there.
    public convenience init(dataDirectory: String, timeoutSeconds: Double? = 10) throws(ControlClientError) {
        try self.init(socketPath: ControlClient.socketPath(dataDirectory: dataDirectory), dataDirectory: dataDirectory, timeoutSeconds: timeoutSeconds)
    }

    public init(socketPath: String, dataDirectory: String? = nil, timeoutSeconds: Double? = 10) throws(ControlClientError) {
        self.socketPath = socketPath
        self.timeoutSeconds = timeoutSeconds
        switch UnixSocket.connect(socketPath) {
        case .success(let connected):
            fd = connected
        case .failure(.badPath(let failure)):
            throw .connectFailed(failure.description)
        case .failure(.system(let code)):
            if code == ENOENT || code == ECONNREFUSED {
                let directory = dataDirectory ?? String(socketPath.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/"))
                throw .noDaemon(dataDirectory: directory)
            }
            throw .connectFailed("cannot connect to \(socketPath): \(errnoDescription(code))")
        }
        reader = LineReader(fd: fd, limit: ControlProtocol.maxResponseBytes)
    }

    deinit { close() }

    public func close() {
        if fd >= 0 {
            #if canImport(Glibc)
            Glibc.close(fd)
            #else
            Darwin.close(fd)
            #endif
            fd = -1
        }
    }

    /// Sends a plain request and returns its `result`; an error answer throws `.refused`.
    public func request(_ verb: String, args: JSONValue = .object([])) throws(ControlClientError) -> JSONValue {
        let id = try send(verb, args: args)
        switch try readReply(for: id) {
        case .result(let value): return value
        case .error(let error): throw .refused(error)
        case .item, .end: throw .malformedReply("the daemon streamed an answer to `\(verb)`, which is not a streaming verb")
        }
    }

    /// Sends a streaming request, hands every item to `onItem` (return false to stop listening:
    /// the connection is then closed) and returns the `end` payload.
    public func stream(_ verb: String, args: JSONValue = .object([]), onItem: (JSONValue) -> Bool) throws(ControlClientError) -> JSONValue? {
        let id = try send(verb, args: args)
        while true {
            switch try readReply(for: id) {
            case .item(let value):
                if !onItem(value) {
                    close()
                    return nil
                }
            case .end(let value), .result(let value): return value
            case .error(let error): throw .refused(error)
            }
        }
    }

    /// Sends one request and returns the id it carries.
    @discardableResult
    public func send(_ verb: String, args: JSONValue = .object([])) throws(ControlClientError) -> JSONValue {
        let id = JSONValue.int(nextID)
        nextID += 1
        try sendLine(JSONWriter().string(ControlRequest(verb: verb, args: args, id: id).json))
        return id
    }

    /// Sends `text` as it is, plus a newline (for tools and tests that speak the protocol by hand).
    public func sendLine(_ text: String) throws(ControlClientError) {
        guard fd >= 0 else { throw .connectionLost("the connection to \(socketPath) is closed") }
        if let code = sendAll(fd, Array((text + "\n").utf8), socket: true) {
            // A daemon that refuses the connection writes why before closing: report that.
            let saved = timeoutSeconds
            timeoutSeconds = 1
            defer { timeoutSeconds = saved }
            if let (_, reply) = try? readReply(), case .error(let error) = reply { throw .refused(error) }
            throw .connectionLost("cannot write to \(socketPath): \(errnoDescription(code))")
        }
    }

    /// Reads the next answer line, whatever its id.
    public func readReply() throws(ControlClientError) -> (id: JSONValue, reply: ControlReply) {
        guard fd >= 0 else { throw .connectionLost("the connection to \(socketPath) is closed") }
        let timeout = timeoutSeconds.map { Int32(min(max($0 * 1000, 0), Double(Int32.max))) } ?? -1
        switch reader.next(timeoutMilliseconds: timeout) {
        case .line(let line):
            lastLine = line
            guard let decoded = ControlReply.decode(line) else {
                throw .malformedReply("the daemon sent a line that is not a response: \(String(decoding: line.prefix(200), as: UTF8.self))")
            }
            return decoded
        case .tooLong(let count):
            throw .malformedReply("the daemon sent a line longer than \(ControlProtocol.maxResponseBytes) bytes (\(count) read)")
        case .end:
            throw .connectionLost("the daemon closed the connection before answering")
        case .failed(let code):
            throw .connectionLost("cannot read from \(socketPath): \(errnoDescription(code))")
        case .timedOut:
            throw .timedOut(seconds: timeoutSeconds ?? 0)
        }
    }

    /// Reads the next answer line of request `id`. A connection-level error (id null, e.g. a
    /// refused peer) is returned too, since it answers whatever was asked.
    private func readReply(for id: JSONValue) throws(ControlClientError) -> ControlReply {
        while true {
            let (replyID, reply) = try readReply()
            if replyID == id { return reply }
            if replyID == .null, case .error = reply { return reply }
        }
    }
}
