#if canImport(Glibc)
import Glibc
#endif
import JSON
import Testing
import Triggers

/// What the daemon would do, recorded: known triggers, delivered payloads, observed outcomes.
final class RecordingDaemon: @unchecked Sendable {
    private let lock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private var deliveries: [WebhookDelivery] = []
    private var outcomes: [WebhookOutcome] = []
    let key = WebhookKey("build-secret")

    init() { pthread_mutex_init(lock, nil) }

    deinit { lock.deallocate() }

    private func locked<T>(_ body: () -> T) -> T {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        return body()
    }

    func service() -> WebhookService {
        WebhookService(
            clock: SystemClock(),
            lookup: { [key] address in
                switch address.trigger {
                case "build": return WebhookVerifier(keys: [WebhookKey("retired"), key])
                case "open": return WebhookVerifier(keys: [], allowUnsigned: true)
                default: return nil
                }
            },
            deliver: { [self] delivery in
                let count = locked { deliveries.append(delivery); return deliveries.count }
                return .accepted(.object([("task_id", .string("task-\(count)"))]))
            },
            observe: { [self] outcome in locked { outcomes.append(outcome) } })
    }

    var delivered: [WebhookDelivery] { locked { deliveries } }
    var observed: [WebhookOutcome] { locked { outcomes } }
}

func request(_ port: UInt16, _ text: String) throws -> RawResponse {
    let client = try RawClient(port: port)
    client.send(text)
    return client.readResponse()
}

func post(_ port: UInt16, path: String, body: String, headers: [String] = []) throws -> RawResponse {
    let head = (["POST \(path) HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json", "Content-Length: \(body.utf8.count)"] + headers)
        .joined(separator: "\r\n")
    return try request(port, head + "\r\n\r\n" + body)
}

@Suite(.serialized) struct WebhookServerTests {
    func withServer(limits: HTTPLimits = .standard, _ body: (UInt16, RecordingDaemon) throws -> Void) throws {
        let daemon = RecordingDaemon()
        let server = try HTTPServer(port: 0, limits: limits, handler: daemon.service())
        try server.start()
        defer { server.stop() }
        #expect(server.port != 0)
        try body(server.port, daemon)
    }

    @Test func healthAnswersOk() throws {
        try withServer { port, daemon throws in
            let response = try request(port, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(response.status == 200)
            #expect(response.body == "{\"status\":\"ok\"}\n")
            #expect(response.header("Content-Type") == "application/json")
            #expect(daemon.observed.map(\.kind) == [.health])
        }
    }

    @Test func aValidSignatureDeliversThePayload() throws {
        try withServer { port, daemon throws in
            let body = #"{"ref":"refs/heads/main","commits":[1,2]}"#
            let signature = WebhookVerifier.signature(of: Array(body.utf8), key: daemon.key)
            let response = try post(port, path: "/webhook/build", body: body, headers: ["X-Webhook-Signature: \(signature)"])
            #expect(response.status == 200)
            #expect(response.body == "{\"task_id\":\"task-1\"}\n")
            #expect(daemon.delivered.count == 1)
            #expect(daemon.delivered.first?.payload == (try? JSONParser.parse(body)))
            #expect(daemon.delivered.first?.verification == .signed(keyIndex: 1))
            #expect(daemon.delivered.first?.address == WebhookAddress(trigger: "build"))
            let scoped = try post(port, path: "/webhook/team-a/build", body: body, headers: ["X-Webhook-Signature: \(signature)"])
            #expect(scoped.status == 200)
            #expect(daemon.delivered.last?.address == WebhookAddress(project: "team-a", trigger: "build"))
            #expect(daemon.observed.map(\.kind) == [.accepted, .accepted])
        }
    }

    @Test func badOrMissingSignaturesAre401AndRecorded() throws {
        try withServer { port, daemon throws in
            let body = #"{"a":1}"#
            let wrong = WebhookVerifier.signature(of: Array(body.utf8), key: WebhookKey("guess"))
            #expect(try post(port, path: "/webhook/build", body: body, headers: ["X-Webhook-Signature: \(wrong)"]).status == 401)
            let missing = try post(port, path: "/webhook/build", body: body)
            #expect(missing.status == 401)
            #expect(missing.body.contains("missing_signature"))
            #expect(daemon.delivered.isEmpty)
            #expect(daemon.observed.map(\.code) == ["wrong_signature", "missing_signature"])
            #expect(daemon.observed.allSatisfy { $0.status == .unauthorized && $0.address == WebhookAddress(trigger: "build") })
            #expect(!daemon.observed.contains { $0.message.contains("build-secret") })
        }
    }

    @Test func bodiesMustBeJSON() throws {
        try withServer { port, daemon throws in
            let body = "not json"
            let signature = WebhookVerifier.signature(of: Array(body.utf8), key: daemon.key)
            let response = try post(port, path: "/webhook/build", body: body, headers: ["X-Webhook-Signature: \(signature)"])
            #expect(response.status == 400)
            #expect(daemon.observed.map(\.kind) == [.bodyNotJSON])
            #expect(try post(port, path: "/webhook/open", body: "[1]").status == 200)
        }
    }

    @Test func unknownTriggersRoutesAndMethods() throws {
        try withServer { port, daemon throws in
            #expect(try post(port, path: "/webhook/nope", body: "{}").status == 404)
            #expect(try post(port, path: "/webhooks/build", body: "{}").status == 404)
            #expect(try post(port, path: "/webhook/a/b/c", body: "{}").status == 404)
            let wrongMethod = try request(port, "GET /webhook/build HTTP/1.1\r\n\r\n")
            #expect(wrongMethod.status == 405)
            #expect(wrongMethod.header("Allow") == "POST")
            #expect(try post(port, path: "/health", body: "{}").status == 405)
            #expect(daemon.observed.map(\.kind) == [.unknownTrigger, .unknownRoute, .unknownRoute, .methodNotAllowed, .methodNotAllowed])
            #expect(daemon.observed[3].address == WebhookAddress(trigger: "build"))
        }
    }

    @Test func oversizedBodiesAreRefusedBeforeTheyAreRead() throws {
        try withServer { port, daemon throws in
            let client = try RawClient(port: port)
            client.send("POST /webhook/build HTTP/1.1\r\nContent-Length: \(WebhookVerifier.maxBodyBytes + 1)\r\n\r\n{")
            let response = client.readResponse()
            #expect(response.status == 413)
            #expect(daemon.observed.map(\.code) == ["body_too_large"])
            #expect(daemon.observed.first?.address == WebhookAddress(trigger: "build"))
            // Exactly at the cap is read (and then judged by its signature).
            let body = String(repeating: " ", count: WebhookVerifier.maxBodyBytes - 2) + "{}"
            let signature = WebhookVerifier.signature(of: Array(body.utf8), key: daemon.key)
            #expect(try post(port, path: "/webhook/build", body: body, headers: ["X-Webhook-Signature: \(signature)"]).status == 200)
        }
    }

    @Test func malformedRequestsAndLengthRules() throws {
        try withServer(limits: HTTPLimits(maxRequestLineBytes: 512, maxHeadBytes: 2048)) { port, _ throws in
            #expect(try request(port, "POST /webhook/build HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n").status == 411)
            #expect(try request(port, "POST /webhook/build HTTP/1.1\r\nHost: x\r\n\r\n").status == 411)
            #expect(try request(port, "POST /webhook/build HTTP/1.1\r\nContent-Length: 2x\r\n\r\n{}").status == 400)
            #expect(try request(port, "POST /webhook/build HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}").status == 400)
            #expect(try request(port, "HELLO\r\n\r\n").status == 400)
            #expect(try request(port, "GET /health HTTP/2.0\r\n\r\n").status == 505)
            #expect(try request(port, "GET /health HTTP/1.1\r\nBad Header: x\r\n\r\n").status == 400)
            #expect(try request(port, "GET /" + String(repeating: "a", count: 600) + " HTTP/1.1\r\n\r\n").status == 414)
            #expect(try request(port, "GET /health HTTP/1.1\r\nX-Big: " + String(repeating: "b", count: 3000) + "\r\n\r\n").status == 431)
        }
    }

    @Test func expectContinueGetsAnInterimAnswer() throws {
        try withServer { port, daemon throws in
            let body = #"{"x":true}"#
            let signature = WebhookVerifier.signature(of: Array(body.utf8), key: daemon.key)
            let client = try RawClient(port: port)
            client.send("POST /webhook/build HTTP/1.1\r\nExpect: 100-continue\r\nX-Webhook-Signature: \(signature)\r\nContent-Length: \(body.utf8.count)\r\n\r\n")
            #expect(client.readUntil("\r\n\r\n").hasPrefix("HTTP/1.1 100 Continue"))
            client.send(body)
            #expect(client.readResponse().status == 200)
        }
    }

    @Test func aSlowClientTimesOutWithoutHoldingOthers() throws {
        try withServer(limits: HTTPLimits(readTimeoutMilliseconds: 3000)) { port, daemon throws in
            let slow = try RawClient(port: port)
            slow.send("POST /webhook/build HTTP/1.1\r\nContent-Length: 10\r\n")
            // Another connection is served while the slow one is still open and unanswered.
            #expect(try request(port, "GET /health HTTP/1.1\r\n\r\n").status == 200)
            #expect(!slow.hasInput())
            let answer = slow.readResponse()
            #expect(answer.status == 408)
            #expect(daemon.observed.map(\.kind) == [.health, .requestRefused])
            #expect(daemon.observed.last?.code == "timeout")
        }
    }

    @Test func connectionsOverTheLimitAreAnswered503() throws {
        try withServer(limits: HTTPLimits(readTimeoutMilliseconds: 3000, maxConnections: 1)) { port, daemon throws in
            let held = try RawClient(port: port)
            held.send("GET /health HTTP/1.1\r\n")
            // The held connection occupies the only slot once the server has accepted it.
            var status = 0
            for _ in 0..<200 {
                status = try request(port, "GET /health HTTP/1.1\r\n\r\n").status
                if status == 503 { break }
                usleep(10_000)
            }
            #expect(status == 503)
            #expect(daemon.observed.contains { $0.code == "too_many_connections" })
            held.send("\r\n")
            #expect(held.readResponse().status == 200)
        }
    }

    @Test func aTakenPortIsReportedAndStopEndsTheListener() throws {
        let daemon = RecordingDaemon()
        let first = try HTTPServer(port: 0, handler: daemon.service())
        try first.start()
        #expect(throws: HTTPServerError.self) { try HTTPServer(port: first.port, handler: daemon.service()) }
        first.stop()
        #expect(first.activeConnections == 0)
        #expect(throws: (any Error).self) { _ = try request(first.port, "GET /health HTTP/1.1\r\n\r\n") }
        #expect(throws: HTTPServerError.self) { try HTTPServer(address: "localhost", port: 0, handler: daemon.service()) }
    }
}
