import JSON

/// The daemon's wire protocol (docs/protocol.md): newline-delimited JSON over a Unix stream
/// socket, one request object per line, answered by one response line or by a stream of lines.
public enum ControlProtocol {
    /// The version this build speaks and writes in its responses.
    public static let version: Int64 = 1
    /// Every request version this build answers.
    public static let supportedVersions: [Int64] = [1]
    /// The longest request line the server reads (bytes, newline excluded): 1 MiB.
    public static let maxRequestBytes = 1 << 20
    /// The longest response line a client reads by default: 256 MiB.
    public static let maxResponseBytes = 1 << 28
}

/// The verbs every daemon serves, whatever else it registers (docs/protocol.md, Verbs).
public enum DaemonVerb: String, Sendable, CaseIterable {
    case ping
    case version
    case status
    case shutdown
    /// Runs one `orchestrator` command line in the daemon (streaming; docs/protocol.md).
    case command
    /// Turns maintenance mode on or off (`{"enabled": true}`), or reads it (`{}`).
    case maintenance
    /// Re-executes the daemon in place from a given binary (same PID, incarnation + 1).
    case restart
}

/// Machine-readable error codes. Clients branch on the code, people read the message and help.
public enum ControlErrorCode: String, Sendable, CaseIterable {
    /// The line is not JSON, not an object, or a field has the wrong type or is missing.
    case badRequest = "bad_request"
    /// `v` names a protocol version this daemon does not speak.
    case unsupportedVersion = "unsupported_version"
    /// No handler is registered for `verb`.
    case unknownVerb = "unknown_verb"
    /// The request line is longer than the server's limit; the line was discarded.
    case requestTooLarge = "request_too_large"
    /// The verb is known but its `args` are not acceptable.
    case invalidArguments = "invalid_arguments"
    /// The connecting process runs under another user id than the daemon.
    case peerRefused = "peer_refused"
    /// The daemon is stopping and takes no new work.
    case shuttingDown = "shutting_down"
    /// The daemon is in maintenance mode and takes no new tasks.
    case maintenance = "maintenance"
    /// The daemon failed while handling the request (a bug or a system failure).
    case internalError = "internal"
}

/// A structured error answer: a code for programs, a message and a hint for people.
public struct ControlError: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: ControlErrorCode
    public var message: String
    public var help: String?
    /// Optional machine-readable facts (e.g. the supported versions).
    public var details: JSONValue?

    public init(_ code: ControlErrorCode, _ message: String, help: String? = nil, details: JSONValue? = nil) {
        self.code = code
        self.message = message
        self.help = help
        self.details = details
    }

    public var description: String {
        help.map { "\(message) (\(code.rawValue)); \($0)" } ?? "\(message) (\(code.rawValue))"
    }

    public var json: JSONValue {
        var pairs: [(key: String, value: JSONValue)] = [("code", .string(code.rawValue)), ("message", .string(message))]
        if let help { pairs.append(("help", .string(help))) }
        if let details { pairs.append(("details", details)) }
        return .object(pairs)
    }

    /// Reads an `error` object; an unknown code (from a newer daemon) reads as `internal`.
    public init?(json: JSONValue) {
        guard let message = json["message"]?.stringValue, let code = json["code"]?.stringValue else { return nil }
        self.init(ControlErrorCode(rawValue: code) ?? .internalError, message, help: json["help"]?.stringValue, details: json["details"])
    }
}

/// One request: `{"v":1,"id":7,"verb":"status","args":{}}`.
public struct ControlRequest: Sendable {
    public var version: Int64
    /// Echoed in every line of the answer; `null` when the request had none.
    public var id: JSONValue
    public var verb: String
    /// Always an object (`{}` when the request had no `args`).
    public var args: JSONValue

    public init(verb: String, args: JSONValue = .object([]), id: JSONValue = .null, version: Int64 = ControlProtocol.version) {
        self.version = version
        self.id = id
        self.verb = verb
        self.args = args
    }

    public var json: JSONValue {
        .object([("v", .int(version)), ("id", id), ("verb", .string(verb)), ("args", args)])
    }

    /// The request in a line, or the error to answer (with the id when it could be read).
    public static func decode(_ line: [UInt8]) -> Result<ControlRequest, RejectedRequest> {
        let value: JSONValue
        do {
            value = try JSONParser.parse(line)
        } catch {
            return .failure(RejectedRequest(id: .null, error: ControlError(
                .badRequest, "the request is not JSON: \(error.message) at byte \(error.offset)",
                help: "send one JSON object per line, e.g. {\"v\":1,\"id\":1,\"verb\":\"ping\",\"args\":{}}")))
        }
        guard case .object = value else {
            return .failure(RejectedRequest(id: .null, error: ControlError(
                .badRequest, "the request is not a JSON object", help: "send {\"v\":1,\"id\":1,\"verb\":\"ping\",\"args\":{}}")))
        }
        var id = JSONValue.null
        switch value["id"] {
        case nil, .null?: break
        case .some(let given):
            switch given {
            case .string, .int: id = given
            default:
                return .failure(RejectedRequest(id: .null, error: ControlError(
                    .badRequest, "`id` must be a string or an integer", help: "use a counter or a short string; it is echoed in the answer")))
            }
        }
        guard let versionValue = value["v"] else {
            return .failure(RejectedRequest(id: id, error: ControlError(
                .badRequest, "the request has no `v` (protocol version)", help: "add \"v\":1",
                details: supportedDetails)))
        }
        guard case .int(let version) = versionValue else {
            return .failure(RejectedRequest(id: id, error: ControlError(
                .badRequest, "`v` must be an integer", help: "add \"v\":1", details: supportedDetails)))
        }
        guard ControlProtocol.supportedVersions.contains(version) else {
            let supported = ControlProtocol.supportedVersions.map(String.init).joined(separator: ", ")
            return .failure(RejectedRequest(id: id, error: ControlError(
                .unsupportedVersion, "protocol version \(version) is not supported by this daemon (it speaks \(supported))",
                help: "send \"v\":\(ControlProtocol.version), or use a client of the daemon's release", details: supportedDetails)))
        }
        guard let verb = value["verb"]?.stringValue, !verb.isEmpty else {
            return .failure(RejectedRequest(id: id, error: ControlError(
                .badRequest, "the request has no `verb` string", help: "e.g. \"verb\":\"ping\"")))
        }
        var args = JSONValue.object([])
        switch value["args"] {
        case nil, .null?: break
        case .object?: args = value["args"] ?? args
        default:
            return .failure(RejectedRequest(id: id, error: ControlError(
                .badRequest, "`args` must be an object", help: "send \"args\":{} when the verb takes none")))
        }
        return .success(ControlRequest(verb: verb, args: args, id: id, version: version))
    }

    private static var supportedDetails: JSONValue {
        .object([("supported", .array(ControlProtocol.supportedVersions.map { .int($0) }))])
    }
}

/// A request line that cannot be served, with the id to answer under.
public struct RejectedRequest: Error, Sendable {
    public var id: JSONValue
    public var error: ControlError
}

/// One line of an answer, as a client reads it.
public enum ControlReply: Sendable, Equatable {
    /// The single answer of a plain verb: `{"v":1,"id":..,"ok":true,"result":{..}}`.
    case result(JSONValue)
    /// One element of a stream: `{"v":1,"id":..,"item":{..}}`.
    case item(JSONValue)
    /// The last line of a stream: `{"v":1,"id":..,"ok":true,"end":{..}}`.
    case end(JSONValue)
    /// An error answer (it also ends a stream): `{"v":1,"id":..,"ok":false,"error":{..}}`.
    case error(ControlError)

    /// The line that carries this reply for request `id`; `streaming` marks an error that ends a stream.
    public func line(id: JSONValue, streaming: Bool = false) -> [UInt8] {
        var pairs: [(key: String, value: JSONValue)] = [("v", .int(ControlProtocol.version)), ("id", id)]
        switch self {
        case .result(let value):
            pairs += [("ok", .bool(true)), ("result", value)]
        case .item(let value):
            pairs += [("item", value)]
        case .end(let value):
            pairs += [("ok", .bool(true)), ("end", value)]
        case .error(let error):
            pairs += [("ok", .bool(false)), ("error", error.json)]
            if streaming { pairs.append(("end", .object([("reason", .string("error"))]))) }
        }
        return Array((JSONWriter().string(.object(pairs)) + "\n").utf8)
    }

    /// Whether this line completes the answer to its request.
    public var isFinal: Bool {
        if case .item = self { return false }
        return true
    }

    /// Reads one response line; nil with a reason when it is not a response of this protocol.
    public static func decode(_ line: [UInt8]) -> (id: JSONValue, reply: ControlReply)? {
        guard let value = try? JSONParser.parse(line), case .object = value else { return nil }
        let id = value["id"] ?? .null
        if value["ok"] == .bool(false) {
            guard let errorValue = value["error"], let error = ControlError(json: errorValue) else { return nil }
            return (id, .error(error))
        }
        if let end = value["end"] { return (id, .end(end)) }
        if let result = value["result"] { return (id, .result(result)) }
        if let item = value["item"] { return (id, .item(item)) }
        return nil
    }
}
