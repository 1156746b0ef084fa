import JSON

/// Which trigger a webhook request is for: `/webhook/{trigger}` (project nil: the daemon's
/// default project) or `/webhook/{project}/{trigger}`.
public struct WebhookAddress: Sendable, Hashable, CustomStringConvertible {
    public var project: String?
    public var trigger: String

    public init(project: String? = nil, trigger: String) {
        self.project = project
        self.trigger = trigger
    }

    public var description: String { project.map { "\($0)/\(trigger)" } ?? trigger }
}

/// The listener's routes.
public enum WebhookRoute: Sendable, Equatable {
    case health
    case webhook(WebhookAddress)
}

/// Where a method and path lead.
public enum WebhookRouting: Sendable, Equatable {
    case route(WebhookRoute)
    case notFound
    /// The path exists for another method (named in `allow`).
    case methodNotAllowed(allow: String)

    /// `GET /health`, `POST /webhook/{trigger}`, `POST /webhook/{project}/{trigger}`; a name is
    /// 1-253 characters of letters, digits, `.`, `_` and `-`.
    public static func route(method: String, path: String) -> WebhookRouting {
        let segments = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        func isName(_ s: Substring) -> Bool {
            !s.isEmpty && s.utf8.count <= 253 && s != "." && s != ".."
                && s.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x2D || $0 == 0x2E || $0 == 0x5F }
        }
        let route: WebhookRoute
        let allowed: String
        if Array(segments) == ["health"] {
            route = .health
            allowed = "GET"
        } else if segments.first == "webhook", segments.count == 2, isName(segments[segments.startIndex + 1]) {
            route = .webhook(WebhookAddress(trigger: String(segments[segments.startIndex + 1])))
            allowed = "POST"
        } else if segments.first == "webhook", segments.count == 3, isName(segments[segments.startIndex + 1]), isName(segments[segments.startIndex + 2]) {
            route = .webhook(WebhookAddress(project: String(segments[segments.startIndex + 1]), trigger: String(segments[segments.startIndex + 2])))
            allowed = "POST"
        } else {
            return .notFound
        }
        if method == allowed { return .route(route) }
        return .methodNotAllowed(allow: allowed)
    }
}

/// A verified delivery handed to the daemon.
public struct WebhookDelivery: Sendable {
    public var address: WebhookAddress
    /// The body, parsed (it must be JSON); the action's args may read it.
    public var payload: JSONValue
    public var verification: WebhookVerification
    public var headers: HTTPHeaders
    public var receivedAt: Instant
}

/// The daemon's answer to a delivery.
public enum WebhookDeliveryResult: Sendable {
    /// Done: 200 with this JSON body (e.g. `{"task_id": "..."}`).
    case accepted(JSONValue)
    /// The trigger went away between lookup and delivery: 404.
    case unknownTrigger
    /// Not done (e.g. the store refused): 500 with this message. Say so; never 200.
    case failed(String)
}

/// What happened to one request, for the daemon's event log.
public enum WebhookOutcomeKind: String, Sendable, CaseIterable {
    case accepted
    case health
    case unknownRoute = "unknown_route"
    case unknownTrigger = "unknown_trigger"
    case methodNotAllowed = "method_not_allowed"
    case verificationRefused = "verification_refused"
    case bodyNotJSON = "body_not_json"
    case requestRefused = "request_refused"
    case deliveryFailed = "delivery_failed"
}

public struct WebhookOutcome: Sendable {
    public var kind: WebhookOutcomeKind
    public var status: HTTPStatus
    /// The trigger, when the path named one.
    public var address: WebhookAddress?
    public var method: String?
    public var path: String?
    /// A stable code: the refusal's raw value (`wrong_signature`, `body_too_large`, ...) or the kind's.
    public var code: String
    public var message: String
    public var at: Instant
}

/// The webhook contract on top of `HTTPServer`: routes, 404 for an unknown trigger, signature
/// verification (401), JSON bodies only (400), then the daemon's `deliver` (200 with its body).
/// Every request, refused ones included, is reported to `observe` once.
public struct WebhookService: HTTPHandler {
    private let clock: any TriggerClock
    private let lookup: @Sendable (WebhookAddress) -> WebhookVerifier?
    private let deliver: @Sendable (WebhookDelivery) -> WebhookDeliveryResult
    private let observe: @Sendable (WebhookOutcome) -> Void

    /// - Parameters:
    ///   - lookup: the verification settings of the trigger at an address; nil when there is none.
    ///   - deliver: creates the task for a verified delivery.
    ///   - observe: records each outcome (the daemon writes an event).
    public init(
        clock: any TriggerClock,
        lookup: @escaping @Sendable (WebhookAddress) -> WebhookVerifier?,
        deliver: @escaping @Sendable (WebhookDelivery) -> WebhookDeliveryResult,
        observe: @escaping @Sendable (WebhookOutcome) -> Void = { _ in }
    ) {
        self.clock = clock
        self.lookup = lookup
        self.deliver = deliver
        self.observe = observe
    }

    public func respond(to request: HTTPRequest) -> HTTPResponse {
        let now = clock.now()
        func finish(_ kind: WebhookOutcomeKind, _ status: HTTPStatus, _ address: WebhookAddress?, code: String? = nil, message: String,
                    response: HTTPResponse? = nil) -> HTTPResponse {
            let code = code ?? kind.rawValue
            observe(WebhookOutcome(kind: kind, status: status, address: address, method: request.method, path: request.path,
                code: code, message: message, at: now))
            return response ?? .error(status, code: code, message: message)
        }
        switch WebhookRouting.route(method: request.method, path: request.path) {
        case .notFound:
            return finish(.unknownRoute, .notFound, nil, message: "no route \(request.path); use POST /webhook/{trigger}, POST /webhook/{project}/{trigger} or GET /health")
        case .methodNotAllowed(let allow):
            let address: WebhookAddress? = if case .route(.webhook(let a)) = WebhookRouting.route(method: "POST", path: request.path) { a } else { nil }
            return finish(.methodNotAllowed, .methodNotAllowed, address, message: "\(request.path) takes \(allow) only",
                response: .error(.methodNotAllowed, code: WebhookOutcomeKind.methodNotAllowed.rawValue, message: "\(request.path) takes \(allow) only",
                    headers: [("Allow", allow)]))
        case .route(.health):
            return finish(.health, .ok, nil, message: "ok", response: .json(.ok, .object([("status", .string("ok"))])))
        case .route(.webhook(let address)):
            guard let verifier = lookup(address) else {
                return finish(.unknownTrigger, .notFound, address, message: "no webhook trigger '\(address)'")
            }
            let verification = verifier.verify(body: request.body, headers: request.headers, now: now)
            if case .refused(let refusal) = verification {
                return finish(.verificationRefused, refusal.status, address, code: refusal.rawValue, message: refusal.message)
            }
            let payload: JSONValue
            do {
                payload = try JSONParser.parse(request.body)
            } catch {
                return finish(.bodyNotJSON, .badRequest, address, message: "the body is not JSON: \(error)")
            }
            let delivery = WebhookDelivery(address: address, payload: payload, verification: verification, headers: request.headers, receivedAt: now)
            switch deliver(delivery) {
            case .accepted(let body):
                return finish(.accepted, .ok, address, message: "accepted", response: .json(.ok, body))
            case .unknownTrigger:
                return finish(.unknownTrigger, .notFound, address, message: "no webhook trigger '\(address)'")
            case .failed(let message):
                return finish(.deliveryFailed, .internalServerError, address, message: message)
            }
        }
    }

    public func refused(_ refusal: HTTPRefusal) {
        var address: WebhookAddress?
        if let path = refusal.path, case .route(.webhook(let a)) = WebhookRouting.route(method: "POST", path: path) { address = a }
        observe(WebhookOutcome(kind: .requestRefused, status: refusal.status, address: address, method: refusal.method, path: refusal.path,
            code: refusal.reason.rawValue, message: refusal.message, at: clock.now()))
    }
}
