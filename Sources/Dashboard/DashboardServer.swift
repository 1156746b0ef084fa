import Hashing
import Platform
import Store
import Triggers

/// The dashboard's requests: the token check, the routes, the security headers. Read-only: it
/// answers GET (and HEAD) only, and reads the store through a connection of its own per request.
public final class DashboardHandler: HTTPHandler, Sendable {
    public static let cookieName = "orchestrator_dashboard"

    let dataDirectory: String
    /// The shared store the daemon serves (nil: the data directory's SQLite database).
    let store: StoreLocation?
    let token: [UInt8]
    /// Set when the daemon stops: open event streams end.
    let stopping = Locked(false)
    /// How often an event stream looks for new events.
    let pollMilliseconds: Int

    public init(dataDirectory: String, store: StoreLocation? = nil, token: String, pollMilliseconds: Int = 200) {
        self.dataDirectory = dataDirectory
        self.store = store
        self.token = Array(token.utf8)
        self.pollMilliseconds = pollMilliseconds
    }

    public func stop() { stopping.withLock { $0 = true } }

    public func refused(_ refusal: HTTPRefusal) {}

    public func respond(to request: HTTPRequest) -> HTTPResponse {
        // A page of another site whose name was re-pointed at 127.0.0.1 (DNS rebinding) sends
        // its own name: only requests addressed to a loopback name are answered (the token is
        // still needed; this is the second lock).
        guard DashboardHandler.isLoopbackHost(request.headers["Host"]) else {
            return HTTPResponse(
                status: .badRequest, headers: [("Content-Type", "text/plain; charset=utf-8")] + DashboardHandler.commonHeaders,
                body: Array("400: the dashboard answers requests to 127.0.0.1, localhost or [::1] only\n".utf8))
        }
        guard request.method == "GET" || request.method == "HEAD" else {
            return HTTPResponse(
                status: .methodNotAllowed, headers: [("Allow", "GET, HEAD"), ("Content-Type", "text/plain; charset=utf-8")] + DashboardHandler.commonHeaders,
                body: Array("the dashboard is read-only: only GET\n".utf8))
        }
        let query = Query(request.target)
        // `?token=` once: the cookie is set and the address without the token is loaded.
        if let offered = query["token"] {
            guard matches(offered) else { return unauthorized() }
            // Only a path of this server: printable ASCII (nothing that could end the header
            // line), never `//host` (which a browser would leave for).
            let plain = request.path.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F } && !request.path.hasPrefix("//")
            let location = (plain ? request.path : "/") + query.without("token")
            return HTTPResponse(
                status: .seeOther,
                headers: [
                    ("Location", location),
                    ("Set-Cookie", "\(DashboardHandler.cookieName)=\(offered); Path=/; HttpOnly; SameSite=Strict"),
                ] + DashboardHandler.commonHeaders)
        }
        guard authorized(request) else { return unauthorized() }
        var response = route(request, query: query)
        if request.method == "HEAD" {
            response.body = []
            response.stream = nil
        }
        return response
    }

    /// The token from the cookie or an `Authorization: Bearer` header, compared in constant time.
    func authorized(_ request: HTTPRequest) -> Bool {
        if let header = request.headers["Authorization"], header.hasPrefix("Bearer "), matches(String(header.dropFirst(7))) { return true }
        for cookies in request.headers.values("Cookie") {
            for pair in cookies.split(separator: ";") {
                let trimmed = pair.drop { $0 == " " }
                if trimmed.hasPrefix(DashboardHandler.cookieName + "="), matches(String(trimmed.dropFirst(DashboardHandler.cookieName.count + 1))) {
                    return true
                }
            }
        }
        return false
    }

    /// Whether a Host header names a loopback address (`127.x.x.x`, `localhost`, `[::1]`, with
    /// or without a port).
    public static func isLoopbackHost(_ host: String?) -> Bool {
        guard var name = host?.lowercased(), !name.isEmpty else { return false }
        if name.hasPrefix("[") {
            return name == "[::1]" || name.hasPrefix("[::1]:") && UInt16(name.dropFirst(6)) != nil
        }
        if let colon = name.lastIndex(of: ":") {
            guard UInt16(name[name.index(after: colon)...]) != nil else { return false }
            name = String(name[..<colon])
        }
        if name == "localhost" { return true }
        let octets = name.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets[0] == "127" && octets.allSatisfy { !$0.isEmpty && $0.count <= 3 && UInt8($0) != nil }
    }

    func matches(_ offered: String) -> Bool { Hex.constantTimeEqual(Array(offered.utf8), token) }

    func unauthorized() -> HTTPResponse {
        HTTPResponse(
            status: .unauthorized, headers: [("Content-Type", "text/plain; charset=utf-8")] + DashboardHandler.commonHeaders,
            body: Array("401: the dashboard needs its token: open the address `orchestrator dashboard` prints\n".utf8))
    }

    func route(_ request: HTTPRequest, query: Query) -> HTTPResponse {
        let segments = request.path.split(separator: "/", omittingEmptySubsequences: true).map { HTML.percentDecode($0, plusIsSpace: false) }
        guard !segments.contains(nil) else { return page(.notFound, Pages.notFound("that address is not valid UTF-8")) }
        let parts = segments.compactMap { $0 }
        let reader: DashboardReader
        do {
            reader = try DashboardReader(dataDirectory: dataDirectory, store: store)
        } catch {
            return page(.internalServerError, Pages.problem("the store cannot be opened: \(error)"))
        }
        switch parts.count {
        case 0:
            return page(.ok, Pages.tasks(reader, status: query["status"], search: query["q"]))
        case 1 where parts[0] == "workflows":
            return page(.ok, Pages.workflows(reader))
        case 2 where parts[0] == "tasks":
            guard let view = reader.taskView(parts[1]) else { return page(.notFound, Pages.notFound("no task \(parts[1])")) }
            if query["fragment"] == "live" { return html(.ok, Pages.live(view), nonce: nil) }
            return page(.ok, Pages.task(view))
        case 3 where parts[0] == "tasks" && parts[2] == "events":
            guard let task = reader.task(parts[1]) else { return page(.notFound, Pages.notFound("no task \(parts[1])")) }
            let after = request.headers["Last-Event-ID"].flatMap { Int64($0) } ?? query["after"].flatMap { Int64($0) } ?? 0
            return EventStream(handler: self, taskID: task.id, after: after).response()
        case 3 where parts[0] == "workflows":
            guard let document = Pages.workflow(reader, project: parts[1], name: parts[2]) else {
                return page(.notFound, Pages.notFound("no workflow \(parts[2]) in project \(parts[1])"))
            }
            return page(.ok, document)
        default:
            return page(.notFound, Pages.notFound("no page at this address"))
        }
    }

    /// What every answer carries.
    static let commonHeaders: [(name: String, value: String)] = [
        ("X-Content-Type-Options", "nosniff"), ("Cache-Control", "no-store"), ("Referrer-Policy", "no-referrer"),
        ("X-Frame-Options", "DENY"),
    ]

    /// A page with a fresh nonce for its script and stylesheet (none to be had: a 500, never a
    /// guessable nonce).
    func page(_ status: HTTPStatus, _ document: PageDocument) -> HTTPResponse {
        guard let nonce = try? Hex.encode(SystemRandom.bytes(16)) else {
            return HTTPResponse(
                status: .internalServerError, headers: [("Content-Type", "text/plain; charset=utf-8")] + DashboardHandler.commonHeaders,
                body: Array("the system's random number generator failed\n".utf8))
        }
        return html(status, document.render(nonce: nonce), nonce: nonce)
    }

    /// HTML under the page policy; a fragment (`nonce` nil) may hold neither script nor style.
    func html(_ status: HTTPStatus, _ text: String, nonce: String?) -> HTTPResponse {
        let policy = nonce.map { PageDocument.contentSecurityPolicy(nonce: $0) } ?? "default-src 'none'"
        return HTTPResponse(
            status: status,
            headers: [("Content-Type", "text/html; charset=utf-8"), ("Content-Security-Policy", policy)] + DashboardHandler.commonHeaders,
            body: Array(text.utf8))
    }
}

/// The query of a request target: `name=value` pairs, percent-decoded.
struct Query {
    var pairs: [(name: String, value: String)] = []

    init(_ target: String) {
        guard let mark = target.firstIndex(of: "?") else { return }
        for pair in target[target.index(after: mark)...].split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = HTML.percentDecode(parts[0], plusIsSpace: true),
                let value = HTML.percentDecode(parts.count > 1 ? parts[1] : "", plusIsSpace: true)
            else { continue }
            pairs.append((name, value))
        }
    }

    subscript(name: String) -> String? { pairs.first { $0.name == name }?.value }

    /// `?a=1&b=2` without `name` ("" when nothing is left).
    func without(_ name: String) -> String {
        let kept = pairs.filter { $0.name != name }
        guard !kept.isEmpty else { return "" }
        return "?" + kept.map { HTML.percentEncode($0.name) + "=" + HTML.percentEncode($0.value) }.joined(separator: "&")
    }
}
