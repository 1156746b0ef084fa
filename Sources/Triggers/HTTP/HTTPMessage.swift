import JSON

/// The status codes this layer answers with.
public enum HTTPStatus: Int, Sendable, CaseIterable {
    case ok = 200
    case `continue` = 100
    case seeOther = 303
    case badRequest = 400
    case unauthorized = 401
    case notFound = 404
    case methodNotAllowed = 405
    case requestTimeout = 408
    case lengthRequired = 411
    case payloadTooLarge = 413
    case uriTooLong = 414
    case headerFieldsTooLarge = 431
    case internalServerError = 500
    case serviceUnavailable = 503
    case httpVersionNotSupported = 505

    public var reasonPhrase: String {
        switch self {
        case .ok: return "OK"
        case .continue: return "Continue"
        case .seeOther: return "See Other"
        case .badRequest: return "Bad Request"
        case .unauthorized: return "Unauthorized"
        case .notFound: return "Not Found"
        case .methodNotAllowed: return "Method Not Allowed"
        case .requestTimeout: return "Request Timeout"
        case .lengthRequired: return "Length Required"
        case .payloadTooLarge: return "Content Too Large"
        case .uriTooLong: return "URI Too Long"
        case .headerFieldsTooLarge: return "Request Header Fields Too Large"
        case .internalServerError: return "Internal Server Error"
        case .serviceUnavailable: return "Service Unavailable"
        case .httpVersionNotSupported: return "HTTP Version Not Supported"
        }
    }
}

/// Request header fields in arrival order; names compare without case.
public struct HTTPHeaders: Sendable, Equatable {
    public private(set) var fields: [(name: String, value: String)]

    public init(_ fields: [(name: String, value: String)] = []) { self.fields = fields }

    public static func == (lhs: HTTPHeaders, rhs: HTTPHeaders) -> Bool {
        lhs.fields.count == rhs.fields.count && zip(lhs.fields, rhs.fields).allSatisfy { $0.name == $1.name && $0.value == $1.value }
    }

    /// The first value of `name`.
    public subscript(name: String) -> String? {
        let wanted = name.lowercased()
        return fields.first { $0.name.lowercased() == wanted }?.value
    }

    public func values(_ name: String) -> [String] {
        let wanted = name.lowercased()
        return fields.filter { $0.name.lowercased() == wanted }.map(\.value)
    }

    public mutating func add(_ name: String, _ value: String) { fields.append((name, value)) }
}

/// One parsed request. The body is the raw bytes the client sent (what a signature covers).
public struct HTTPRequest: Sendable {
    public var method: String
    /// The request target as sent, e.g. `/webhook/build?x=1`.
    public var target: String
    /// The target without its query.
    public var path: String
    public var headers: HTTPHeaders
    public var body: [UInt8]

    public init(method: String, target: String, headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = []) {
        self.method = method
        self.target = target
        self.path = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? target
        self.headers = headers
        self.body = body
    }
}

/// Writes the chunks of a streamed response; `write` is false once the client has gone.
public protocol HTTPStreamWriter: Sendable {
    func write(_ bytes: [UInt8]) -> Bool
}

/// A response; the server adds Content-Length and Connection: close. A streamed response
/// (`stream` set, e.g. server-sent events) has no Content-Length: its head goes out, then
/// `stream` writes the body until it returns, and the connection closes.
public struct HTTPResponse: Sendable {
    public var status: HTTPStatus
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    public var stream: (@Sendable (any HTTPStreamWriter) -> Void)?

    public init(status: HTTPStatus, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A response whose body `stream` writes while the connection stays open.
    public static func streamed(
        _ status: HTTPStatus, headers: [(name: String, value: String)], stream: @escaping @Sendable (any HTTPStreamWriter) -> Void
    ) -> HTTPResponse {
        var response = HTTPResponse(status: status, headers: headers)
        response.stream = stream
        return response
    }

    /// A JSON body (`application/json`).
    public static func json(_ status: HTTPStatus, _ value: JSONValue, headers: [(name: String, value: String)] = []) -> HTTPResponse {
        HTTPResponse(status: status, headers: [("Content-Type", "application/json")] + headers, body: Array((JSONWriter().string(value) + "\n").utf8))
    }

    /// `{"error": CODE, "message": TEXT}`.
    public static func error(_ status: HTTPStatus, code: String, message: String, headers: [(name: String, value: String)] = []) -> HTTPResponse {
        json(status, .object([("error", .string(code)), ("message", .string(message))]), headers: headers)
    }

    /// The bytes on the wire (for a streamed response: its head only).
    func serialized() -> [UInt8] {
        var head = "HTTP/1.1 \(status.rawValue) \(status.reasonPhrase)\r\n"
        for (name, value) in headers where name.lowercased() != "content-length" && name.lowercased() != "connection" {
            head += "\(name): \(value)\r\n"
        }
        if stream == nil { head += "Content-Length: \(body.count)\r\n" }
        head += "Connection: close\r\n\r\n"
        return Array(head.utf8) + (stream == nil ? body : [])
    }
}

/// The server's limits. A request breaking one is refused before the handler sees it.
public struct HTTPLimits: Sendable {
    /// Longest request line (method, target, version), bytes; longer is 414.
    public var maxRequestLineBytes: Int
    /// Largest request head (request line and headers), bytes; larger is 431.
    public var maxHeadBytes: Int
    /// Most header fields; more is 431.
    public var maxHeaderCount: Int
    /// Largest body, bytes (the Content-Length is checked before the body is read); larger is 413.
    public var maxBodyBytes: Int
    /// Time a client has to send its whole request, from accept; slower is 408 and the connection closes.
    public var readTimeoutMilliseconds: Int
    /// Connections served at once; one more is answered 503 at once.
    public var maxConnections: Int

    public init(
        maxRequestLineBytes: Int = 8192, maxHeadBytes: Int = 16_384, maxHeaderCount: Int = 100,
        maxBodyBytes: Int = 1 << 20, readTimeoutMilliseconds: Int = 10_000, maxConnections: Int = 64
    ) {
        self.maxRequestLineBytes = maxRequestLineBytes
        self.maxHeadBytes = maxHeadBytes
        self.maxHeaderCount = maxHeaderCount
        self.maxBodyBytes = maxBodyBytes
        self.readTimeoutMilliseconds = readTimeoutMilliseconds
        self.maxConnections = maxConnections
    }

    public static let standard = HTTPLimits()
}

/// Why the server refused a request before handing it over.
public enum HTTPRefusalReason: String, Sendable, CaseIterable {
    case malformedRequest = "malformed_request"
    case unsupportedVersion = "unsupported_version"
    case requestLineTooLong = "request_line_too_long"
    case headersTooLarge = "headers_too_large"
    case lengthRequired = "length_required"
    case chunkedBody = "chunked_body"
    case bodyTooLarge = "body_too_large"
    case timeout
    case tooManyConnections = "too_many_connections"

    public var status: HTTPStatus {
        switch self {
        case .malformedRequest: return .badRequest
        case .unsupportedVersion: return .httpVersionNotSupported
        case .requestLineTooLong: return .uriTooLong
        case .headersTooLarge: return .headerFieldsTooLarge
        case .lengthRequired, .chunkedBody: return .lengthRequired
        case .bodyTooLarge: return .payloadTooLarge
        case .timeout: return .requestTimeout
        case .tooManyConnections: return .serviceUnavailable
        }
    }
}

/// A request the server refused itself; `method` and `path` are known when the request line was read.
public struct HTTPRefusal: Error, Sendable, Equatable {
    public var reason: HTTPRefusalReason
    public var message: String
    public var method: String?
    public var path: String?

    public var status: HTTPStatus { reason.status }
}

/// What the server calls: once per complete request, and once per refused one (for the record).
public protocol HTTPHandler: Sendable {
    func respond(to request: HTTPRequest) -> HTTPResponse
    func refused(_ refusal: HTTPRefusal)
}
