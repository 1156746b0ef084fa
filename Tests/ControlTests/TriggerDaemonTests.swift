import Automation
import Foundation
import Hashing
import Platform
import JSON
import Store
import Testing
import Triggers

/// Triggers fired by the real `orchestratord` (docs/triggers.md): cron by a clock the test moves
/// (`--trigger-clock FILE`), task ends with a CEL condition, signed webhooks over a real socket,
/// file changes through inotify, Forbid, and racing claims on two store connections.
@Suite(.serialized) struct TriggerDaemonTests {
    static let cli = QueueTests.cli
    static let start: Int64 = 1_790_000_000  // 2026-09-21T14:13:20Z

    /// A scratch directory with a workspace `ws`, workflows `wf` (a quick step) and `slow`, and `extra` documents.
    static func setUp(_ extra: String) throws -> (root: String, data: String) {
        // The queue tests' workspace and workflow `wf`, with a slow workflow and `extra` beside them.
        let (root, data) = try QueueTests.setUp(
            "    - {id: work, command: \"echo {trigger_name} {trigger_source}\"}",
            more: """
                ---
                apiVersion: orchestrator.dev/v2
                kind: Workflow
                metadata: {name: slow}
                spec:
                  steps:
                    - {id: work, command: "sleep 3"}
                ---
                \(extra)
                """)
        try FileManager.default.createDirectory(atPath: root + "/ws/inbox", withIntermediateDirectories: true)
        return (root, data)
    }

    static func daemonEvents(_ data: String) -> [JSONValue] {
        guard let result = try? QueueTests.cli(["event", "list", "--daemon", "-o", "json"], data: data) else { return [] }
        return (try? JSONParser.parse(result.stdout))?.arrayValue ?? []
    }

    static func events(_ data: String, _ type: String, trigger: String? = nil) -> [JSONValue] {
        daemonEvents(data).filter { $0["type"]?.stringValue == type && (trigger == nil || $0["payload"]?["trigger"]?.stringValue == trigger) }
    }

    static func tasks(_ data: String, workflow: String? = nil) -> [JSONValue] {
        guard let result = try? QueueTests.cli(["task", "list", "-o", "json"], data: data) else { return [] }
        let all = (try? JSONParser.parse(result.stdout))?.arrayValue ?? []
        return all.filter { workflow == nil || $0["workflow"]?.stringValue == workflow }
    }

    static func setClock(_ path: String, _ seconds: Int64) throws {
        try "\(seconds)\n".write(toFile: path, atomically: true, encoding: .utf8)
    }

    @Test("a cron trigger every minute fires once per minute by the injected clock; a restart after missed minutes fires once and says so")
    func cronByInjectedClock() throws {
        let (root, data) = try Self.setUp(
            """
            apiVersion: orchestrator.dev/v2
            kind: Trigger
            metadata: {name: minutely}
            spec:
              cron: {schedule: "* * * * *", timezone: UTC}
              action: {workflow: wf, workspace: ws}
              concurrencyPolicy: Allow
            """)
        let clock = root + "/clock"
        try Self.setClock(clock, Self.start)
        var daemon: ForegroundDaemon? = try ForegroundDaemon(dataDirectory: data, extra: ["--trigger-clock", clock, "--webhook-bind", "off"])
        #expect(daemon?.waitUntilServing() == true, "\(daemon?.stderr ?? "")")
        #expect(eventually(10) { !Self.events(data, "trigger_armed", trigger: "minutely").isEmpty })
        // Nothing before 14:14:00.
        usleep(600_000)
        #expect(Self.tasks(data).isEmpty)
        try Self.setClock(clock, Self.start + 41)  // 14:14:01
        #expect(eventually(10) { Self.tasks(data).count == 1 }, "\(daemon?.stderr ?? "")")
        try Self.setClock(clock, Self.start + 70)  // 14:14:30: no new minute
        usleep(800_000)
        #expect(Self.tasks(data).count == 1)
        try Self.setClock(clock, Self.start + 101)  // 14:15:01
        #expect(eventually(10) { Self.tasks(data).count == 2 })
        let fired = Self.events(data, "trigger_fired", trigger: "minutely")
        #expect(fired.compactMap { $0["payload"]?["key"]?.stringValue } == ["cron:1790000040", "cron:1790000100"])
        #expect(eventually(10) { Self.tasks(data).allSatisfy { $0["status"]?.stringValue == "completed" } })
        #expect(daemon?.stop() == 0)
        daemon = nil

        // Ten minutes pass while no daemon runs: the next start fires once, and says how many were missed.
        try Self.setClock(clock, Self.start + 100 + 600 + 5)  // 14:25:05
        daemon = try ForegroundDaemon(dataDirectory: data, extra: ["--trigger-clock", clock, "--webhook-bind", "off"])
        #expect(daemon?.waitUntilServing() == true)
        #expect(eventually(10) { Self.tasks(data).count == 3 }, "\(daemon?.stderr ?? "")")
        usleep(800_000)
        #expect(Self.tasks(data).count == 3)
        let catchUp = Self.events(data, "trigger_fired", trigger: "minutely").last
        #expect(catchUp?["payload"]?["catch_up"] == .bool(true))
        #expect(catchUp?["payload"]?["missed"] == .int(10))
        #expect(catchUp?["payload"]?["key"]?.stringValue == "cron:1790000700")
        #expect(daemon?.stderr.contains("10 scheduled fires missed while no daemon ran; firing once now") == true)
        #expect(daemon?.stop() == 0)
    }

    @Test("trigger next computes daylight-saving transitions for Europe/Berlin and America/New_York")
    func nextFiresAcrossDaylightSaving() throws {
        let (_, data) = try Self.setUp(
            """
            apiVersion: orchestrator.dev/v2
            kind: Trigger
            metadata: {name: berlin}
            spec:
              cron: {schedule: "30 2 * * *", timezone: Europe/Berlin}
              action: {workflow: wf, workspace: ws}
            ---
            apiVersion: orchestrator.dev/v2
            kind: Trigger
            metadata: {name: newyork}
            spec:
              cron: {schedule: "30 2 * * *", timezone: America/New_York}
              action: {workflow: wf, workspace: ws}
            """)
        let berlin = try QueueTests.cli(["trigger", "next", "berlin", "-n", "3", "--after", "2026-03-28T00:00:00Z"], data: data)
        #expect(berlin.status == 0, "\(berlin.stderr)")
        // 02:30 does not exist on 2026-03-29 in Berlin: it fires once at 03:00 CEST.
        #expect(
            berlin.stdout.split(separator: "\n").map { String($0.prefix(25)) }
                == ["2026-03-28T02:30:00+01:00", "2026-03-29T03:00:00+02:00", "2026-03-30T02:30:00+02:00"])
        let autumn = try QueueTests.cli(["trigger", "next", "newyork", "-n", "3", "--after", "2026-10-31T12:00:00Z"], data: data)
        // 02:30 exists once on 2026-11-01 in New York (01:00-02:00 repeats, not 02:30).
        #expect(
            autumn.stdout.split(separator: "\n").map { String($0.prefix(25)) }
                == ["2026-11-01T02:30:00-05:00", "2026-11-02T02:30:00-05:00", "2026-11-03T02:30:00-05:00"])
        let spring = try QueueTests.cli(["trigger", "next", "newyork", "-n", "2", "--after", "2026-03-07T12:00:00Z", "-o", "json"], data: data)
        let fires = (try JSONParser.parse(spring.stdout))["fires"]?.arrayValue?.compactMap { $0["utc"]?.stringValue }
        #expect(fires == ["2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z"])
    }

    @Test("a task_completed trigger with a false condition does not fire; with a true one it fires once; another project's task fires neither")
    func taskCompletedCondition() throws {
        let (root, data) = try Self.setUp(
            """
            apiVersion: orchestrator.dev/v2
            kind: Trigger
            metadata: {name: never}
            spec:
              event:
                source: task_completed
                filter: {workflow: wf, condition: "task_name == 'other' && cycle >= 1"}
              action: {workflow: slow, workspace: ws}
            ---
            apiVersion: orchestrator.dev/v2
            kind: Trigger
            metadata: {name: chained}
            spec:
              event:
                source: task_completed
                filter: {workflow: wf, condition: "task_name == 'seed' && task_status == 'completed'"}
              action: {workflow: slow, workspace: ws, start: false}
            """)
        let daemon = try ForegroundDaemon(dataDirectory: data, extra: ["--webhook-bind", "off"])
        #expect(daemon.waitUntilServing(), "\(daemon.stderr)")
        #expect(eventually(10) { Self.events(data, "trigger_armed").count == 2 })
        // The same workflow and task name in another project: the triggers of `default` do not see it.
        let other = """
            apiVersion: orchestrator.dev/v2
            kind: Workspace
            metadata: {name: ws, project: other}
            spec: {root_path: \(root)/ws, qa_targets: []}
            ---
            apiVersion: orchestrator.dev/v2
            kind: Workflow
            metadata: {name: wf, project: other}
            spec:
              steps:
                - {id: work, command: "true"}
            """
        try other.write(toFile: root + "/other.yaml", atomically: true, encoding: .utf8)
        #expect(try QueueTests.cli(["apply", "-f", root + "/other.yaml"], data: data).status == 0)
        let foreign = try QueueTests.cli(["task", "create", "-n", "seed", "-W", "wf", "-p", "other", "-g", "g"], data: data)
        #expect(foreign.status == 0, "\(foreign.stderr)")
        #expect(eventually(10) { Self.tasks(data).first?["status"]?.stringValue == "completed" })
        usleep(800_000)
        #expect(Self.tasks(data, workflow: "slow").isEmpty)
        #expect(Self.events(data, "trigger_fired").isEmpty && Self.events(data, "trigger_skipped").isEmpty)

        let created = try QueueTests.cli(["task", "create", "-n", "seed", "-W", "wf", "-w", "ws", "-g", "g"], data: data)
        #expect(created.status == 0, "\(created.stderr)")
        #expect(eventually(10) { Self.tasks(data, workflow: "slow").count == 1 }, "\(daemon.stderr)")
        #expect(eventually(10) { !Self.events(data, "trigger_skipped", trigger: "never").isEmpty })
        usleep(800_000)
        #expect(Self.tasks(data, workflow: "slow").count == 1)
        #expect(Self.events(data, "trigger_fired", trigger: "chained").count == 1)
        #expect(Self.events(data, "trigger_fired", trigger: "never").isEmpty)
        let skipped = Self.events(data, "trigger_skipped", trigger: "never").first
        #expect(skipped?["payload"]?["reason"]?.stringValue?.contains("is false") == true, "\(String(describing: skipped))")
        // start: false: created, not queued.
        #expect(Self.tasks(data, workflow: "slow").first?["status"]?.stringValue == "created")
        #expect(daemon.stop() == 0)
    }

    @Test("webhooks: a valid signature creates a task; bad or missing signatures, an oversized body, a wrong method and a non-JSON body are refused with their status and an event")
    func webhooks() throws {
        let secret = "a-webhook-signing-key-of-some-length"
        let (_, data) = try Self.setUp(
            """
            apiVersion: orchestrator.dev/v2
            kind: SecretStore
            metadata: {name: hooks}
            spec:
              data: {signing: "\(secret)"}
            ---
            apiVersion: orchestrator.dev/v2
            kind: Trigger
            metadata: {name: build}
            spec:
              event:
                source: webhook
                webhook: {secret: {fromRef: hooks}}
              action:
                workflow: wf
                workspace: ws
                args: {ref: ["{payload.ref}"]}
              concurrencyPolicy: Allow
            """)
        let daemon = try ForegroundDaemon(dataDirectory: data, extra: ["--webhook-bind", "127.0.0.1:0"])
        #expect(daemon.waitUntilServing(), "\(daemon.stderr)")
        #expect(eventually(10) { !Self.events(data, "webhook_listening").isEmpty }, "\(daemon.stderr)")
        let port = UInt16(Self.events(data, "webhook_listening").first?["payload"]?["port"]?.intValue ?? 0)
        #expect(port != 0)
        let body = #"{"ref": "refs/heads/main"}"#
        let signature = "sha256=" + Hex.encode(HMACSHA256.mac(key: Array(secret.utf8), message: Array(body.utf8)))

        let accepted = try HTTPExchange.post(port, "/webhook/default/build", body: body, headers: ["X-Webhook-Signature: \(signature)"])
        #expect(accepted.status == 200, "\(accepted.text)")
        let taskID = (try? JSONParser.parse(accepted.body))?["task_id"]?.stringValue
        #expect(taskID != nil)
        #expect(eventually(10) { Self.tasks(data).first?["status"]?.stringValue == "completed" })
        if let taskID {
            let info = try QueueTests.cli(["task", "info", taskID, "-o", "json"], data: data)
            let variables = (try JSONParser.parse(info.stdout))["variables"]
            #expect(variables?["ref"]?.stringValue == "refs/heads/main", "\(info.stdout)")
        }

        let wrong = try HTTPExchange.post(port, "/webhook/build", body: body, headers: ["X-Webhook-Signature: sha256=" + String(repeating: "0", count: 64)])
        #expect(wrong.status == 401)
        let missing = try HTTPExchange.post(port, "/webhook/build", body: body)
        #expect(missing.status == 401)
        let oversized = try HTTPExchange.send(
            port, "POST /webhook/build HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2000000\r\n\r\n")
        #expect(oversized.status == 413)
        let method = try HTTPExchange.send(port, "GET /webhook/build HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(method.status == 405)
        let notJSON = "not json"
        let notJSONSignature = "sha256=" + Hex.encode(HMACSHA256.mac(key: Array(secret.utf8), message: Array(notJSON.utf8)))
        let badBody = try HTTPExchange.post(port, "/webhook/build", body: notJSON, headers: ["X-Webhook-Signature: \(notJSONSignature)"])
        #expect(badBody.status == 400)
        let unknown = try HTTPExchange.post(port, "/webhook/nobody", body: body, headers: ["X-Webhook-Signature: \(signature)"])
        #expect(unknown.status == 404)

        #expect(eventually(5) { Self.events(data, "webhook_refused").count == 6 })
        let refused = Self.events(data, "webhook_refused").map { ($0["payload"]?["status"]?.intValue ?? 0, $0["payload"]?["code"]?.stringValue ?? "") }
        #expect(refused.map(\.0) == [401, 401, 413, 405, 400, 404], "\(refused)")
        #expect(refused.map(\.1).prefix(2) == ["wrong_signature", "missing_signature"])
        #expect(Self.tasks(data).count == 1)
        // The secret is in no event.
        let all = try QueueTests.cli(["event", "list", "--daemon", "-o", "json"], data: data)
        #expect(!all.stdout.contains(secret))
        #expect(daemon.stop() == 0)
    }

    @Test("a file change fires once per debounce window, only for changes its condition accepts")
    func fileChangesDebounced() throws {
        let (root, data) = try Self.setUp(
            """
            apiVersion: orchestrator.dev/v2
            kind: Trigger
            metadata: {name: inbox}
            spec:
              event:
                source: filesystem
                filesystem: {paths: [inbox], events: [create], debounce_ms: 400}
                filter: {condition: "payload_filename.endsWith('.md')"}
              action: {workflow: wf, workspace: ws}
              concurrencyPolicy: Allow
            """)
        let daemon = try ForegroundDaemon(dataDirectory: data, extra: ["--webhook-bind", "off"])
        #expect(daemon.waitUntilServing(), "\(daemon.stderr)")
        #expect(eventually(10) { !Self.events(data, "trigger_armed", trigger: "inbox").isEmpty }, "\(daemon.stderr)")
        for name in ["a.md", "b.md", "c.txt"] { try "x".write(toFile: root + "/ws/inbox/" + name, atomically: false, encoding: .utf8) }
        #expect(eventually(10) { Self.tasks(data).count == 1 }, "\(daemon.stderr)")
        usleep(1_000_000)
        #expect(Self.tasks(data).count == 1)
        // A window of changes the condition refuses: no task, a skip with the reason.
        try "x".write(toFile: root + "/ws/inbox/notes.txt", atomically: false, encoding: .utf8)
        #expect(eventually(10) { !Self.events(data, "trigger_skipped", trigger: "inbox").isEmpty })
        #expect(Self.tasks(data).count == 1)
        try "x".write(toFile: root + "/ws/inbox/d.md", atomically: false, encoding: .utf8)
        #expect(eventually(10) { Self.tasks(data).count == 2 })
        let fired = Self.events(data, "trigger_fired", trigger: "inbox")
        #expect(fired.count == 2)
        #expect(daemon.stop() == 0)
    }

    @Test("Forbid: a fire while the trigger's task runs is skipped with an event")
    func forbidWhileRunning() throws {
        let (_, data) = try Self.setUp(
            """
            apiVersion: orchestrator.dev/v2
            kind: Trigger
            metadata: {name: guarded}
            spec:
              event: {source: webhook}
              action: {workflow: slow, workspace: ws}
              concurrencyPolicy: Forbid
            """)
        let daemon = try ForegroundDaemon(dataDirectory: data, extra: ["--webhook-bind", "off"])
        #expect(daemon.waitUntilServing(), "\(daemon.stderr)")
        let first = try QueueTests.cli(["trigger", "fire", "guarded"], data: data)
        #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
        #expect(first.stdout.contains("queued"), "\(first.stdout)")
        #expect(eventually(10) { Self.tasks(data).first?["status"]?.stringValue == "running" })
        let second = try QueueTests.cli(["trigger", "fire", "guarded"], data: data)
        #expect(second.status == 1)
        #expect(second.stdout.contains("skipped: concurrencyPolicy Forbid: task"), "\(second.stdout)")
        let skipped = Self.events(data, "trigger_skipped", trigger: "guarded")
        #expect(skipped.count == 1)
        #expect(skipped.first?["payload"]?["reason"]?.stringValue?.contains("is running") == true)
        #expect(Self.tasks(data).count == 1)
        let listed = try QueueTests.cli(["trigger", "list"], data: data)
        #expect(listed.stdout.contains("skipped: concurrencyPolicy Forbid"), "\(listed.stdout)")
        #expect(daemon.stop() == 0)
    }

    @Test("two racing claims of one fire on two store connections create one task")
    func racingClaims() throws {
        let (_, data) = try Self.setUp(
            """
            apiVersion: orchestrator.dev/v2
            kind: Trigger
            metadata: {name: nightly}
            spec:
              cron: {schedule: "0 3 * * *"}
              action: {workflow: wf, workspace: ws, start: false}
              concurrencyPolicy: Allow
            """)
        let stores = try (0..<2).map { _ in try SQLResourceStore(dataDirectory: data) }
        let triggers = try stores.map { try TriggerCatalog.load($0) }
        let scheduled = Instant(secondsSinceEpoch: 1_790_046_000)
        let results = Locked<[FireResult]>([])
        let go = Locked(false)
        var threads: [Thread] = []
        for (index, store) in stores.enumerated() {
            let thread = Thread {
                while !go.withLock({ $0 }) { usleep(100) }
                let firing = TriggerFiring(store: store, tasks: store.taskStore(), incarnation: nil, queueTasks: false)
                for _ in 0..<5 {
                    let request = FireRequest(source: "cron", key: "cron:\(scheduled.secondsSinceEpoch)", scheduledAt: scheduled, firedAt: scheduled)
                    let result = firing.fire(triggers[index][0], request)
                    results.withLock { $0.append(result) }
                }
            }
            threads.append(thread)
            thread.start()
        }
        go.withLock { $0 = true }
        #expect(eventually(30) { results.withLock { $0.count } == 10 })
        let all = results.withLock { $0 }
        #expect(all.filter { if case .fired = $0 { return true } else { return false } }.count == 1, "\(all)")
        #expect(all.filter { $0 == .duplicate }.count == 9, "\(all)")
        #expect(try stores[0].taskStore().tasks().count == 1)
        #expect(try stores[1].taskStore().triggerFires(TriggerKey(project: "default", name: "nightly"), limit: 10).filter { $0.outcome == .fired }.count == 1)
    }
}

/// One HTTP/1.1 request over a real TCP socket to the daemon's webhook listener.
enum HTTPExchange {
    struct Response {
        let text: String
        var status: Int {
            let line = text.split(separator: "\r\n", maxSplits: 1).first ?? ""
            let parts = line.split(separator: " ")
            return parts.count >= 2 ? Int(parts[1]) ?? 0 : 0
        }
        var body: String { text.range(of: "\r\n\r\n").map { String(text[$0.upperBound...]) } ?? "" }
    }

    static func post(_ port: UInt16, _ path: String, body: String, headers: [String] = []) throws -> Response {
        let head = ["POST \(path) HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json", "Content-Length: \(body.utf8.count)"] + headers
        return try send(port, head.joined(separator: "\r\n") + "\r\n\r\n" + body)
    }

    static func send(_ port: UInt16, _ request: String) throws -> Response {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EIO) }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw POSIXError(.ECONNREFUSED) }
        var timeout = timeval(tv_sec: 15, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let bytes = Array(request.utf8)
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress?.advanced(by: sent), bytes.count - sent, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { break }
            sent += n
        }
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { break }
            received += chunk[0..<n]
        }
        return Response(text: String(decoding: received, as: UTF8.self))
    }
}
