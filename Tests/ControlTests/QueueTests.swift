import Control
import Foundation
import JSON
import Testing

/// The daemon's queue and workers with the real `orchestratord` and `orchestrator` processes
/// (control-plane.md "Queue and workers").
@Suite(.serialized) struct QueueTests {
    static let cli = (daemonExecutable as NSString).deletingLastPathComponent + "/orchestrator"

    /// A scratch directory with a workspace and an applied workflow of `steps`.
    static func setUp(_ steps: String, more documents: String = "") throws -> (root: String, data: String) {
        let root = try scratchDirectory()
        _ = try writeWorkflowManifest(root: root, steps: steps, more: documents)
        let applied = try runToEnd(cli, ["apply", "-f", root + "/m.yaml", "--data-dir", root + "/d"])
        #expect(applied.status == 0, "\(applied.stderr)")
        return (root, root + "/d")
    }

    static func cli(_ arguments: [String], data: String) throws -> Finished { try runToEnd(cli, arguments + ["--data-dir", data]) }

    static func taskStatus(_ id: String, data: String) -> String? {
        guard let result = try? cli(["task", "info", id, "-o", "json"], data: data) else { return nil }
        return (try? JSONParser.parse(result.stdout))?["status"]?.stringValue
    }

    static func events(_ id: String, data: String) -> [JSONValue] {
        guard let result = try? cli(["event", "list", id, "-o", "json"], data: data) else { return [] }
        return (try? JSONParser.parse(result.stdout))?.arrayValue ?? []
    }

    static func create(_ name: String, data: String) throws -> String {
        let created = try cli(["task", "create", "-n", name, "-W", "wf", "-g", "g"], data: data)
        #expect(created.status == 0, "\(created.stderr)")
        #expect(created.stdout.contains("queued (position"), "\(created.stdout)")
        return String(created.stdout.split(separator: " ").dropFirst().first ?? "")
    }

    @Test("task create queues and returns; 2 workers run 5 tasks, never more than 2 at once")
    func twoWorkersFiveTasks() throws {
        let (_, data) = try Self.setUp("    - {id: work, command: \"sleep 0.4\"}\n    - {id: more, command: \"sleep 0.2\"}")
        let daemon = try ForegroundDaemon(dataDirectory: data, extra: ["--workers", "2"])
        #expect(daemon.waitUntilServing(), "\(daemon.stderr)")
        let verbose = try Self.cli(["task", "list", "--verbose"], data: data)
        #expect(verbose.stderr.contains("daemon mode: the command runs in orchestratord (pid \(daemon.pid), 2 workers)"), "\(verbose.stderr)")
        let ids = try (1...5).map { try Self.create("t\($0)", data: data) }
        #expect(eventually(30) { ids.allSatisfy { Self.taskStatus($0, data: data) == "completed" } }, "\(daemon.stderr)")
        // Each task's run as an interval of its own events' times; at most 2 overlap.
        var marks: [(time: String, delta: Int)] = []
        for id in ids {
            let events = Self.events(id, data: data)
            let types = events.compactMap { $0["type"]?.stringValue }
            #expect(types.first == "task_created" && types.dropFirst().first == "task_queued", "\(types)")
            guard let start = events.first(where: { $0["type"]?.stringValue == "task_started" })?["timestamp"]?.stringValue,
                let end = events.first(where: { $0["type"]?.stringValue == "task_completed" })?["timestamp"]?.stringValue
            else {
                Issue.record("task \(id) has no start or end: \(types)")
                continue
            }
            marks += [(start, 1), (end, -1)]
        }
        var current = 0, peak = 0
        for mark in marks.sorted(by: { $0.time != $1.time ? $0.time < $1.time : $0.delta < $1.delta }) {
            current += mark.delta
            peak = max(peak, current)
        }
        #expect(peak == 2, "peak concurrency \(peak)")
        #expect(daemon.stop() == 0)
    }

    @Test("with a daemon, a spawned task is queued in the transaction that creates it and a worker runs it")
    func spawnedTasksAreQueued() throws {
        let (root, data) = try Self.setUp(
            """
                - id: work
                  command: "echo {goal} >> ran.txt"
                  behavior:
                    post_actions:
                      - {type: spawn_task, goal: "child of {task_id}", workflow: leaf}
            """,
            more: """
                ---
                apiVersion: orchestrator.dev/v2
                kind: Workflow
                metadata: {name: leaf}
                spec:
                  steps:
                    - {id: do, command: "echo {goal} >> ran.txt"}
                """)
        let daemon = try ForegroundDaemon(dataDirectory: data)
        #expect(daemon.waitUntilServing(), "\(daemon.stderr)")
        let parent = try Self.create("parent", data: data)
        var child = ""
        #expect(eventually(20) {
            let listed = (try? Self.cli(["task", "list", "--tree", "-o", "json"], data: data)).flatMap { try? JSONParser.parse($0.stdout) }?.arrayValue ?? []
            child = listed.first { $0["parent"]?.stringValue == parent }?["id"]?.stringValue ?? ""
            return !child.isEmpty && Self.taskStatus(child, data: data) == "completed" && Self.taskStatus(parent, data: data) == "completed"
        }, "\(daemon.stderr)")
        // Queued by the spawn itself (task_created, then task_queued), claimed by a worker.
        let types = Self.events(child, data: data).compactMap { $0["type"]?.stringValue }
        #expect(Array(types.prefix(3)) == ["task_created", "task_queued", "task_claimed"], "\(types)")
        let spawned = Self.events(parent, data: data).first { $0["type"]?.stringValue == "task_spawned" }?["payload"]
        #expect(spawned?["queued"] == .bool(true))
        let ran = (try? String(contentsOfFile: root + "/ws/ran.txt", encoding: .utf8)) ?? ""
        #expect(ran == "g\nchild of \(parent)\n", "\(ran)")
        #expect(daemon.stop() == 0)
    }

    @Test("task create returns before its task ends, and a worker starts it within 1 s of being queued (the store's clock)")
    func createReturnsAtOnce() throws {
        let (_, data) = try Self.setUp("    - {id: long, command: \"sleep 3\"}")
        let daemon = try ForegroundDaemon(dataDirectory: data)
        #expect(daemon.waitUntilServing(), "\(daemon.stderr)")
        let id = try Self.create("quick", data: data)
        // `create` came back while the task's only step (3 s) had not ended.
        #expect(Self.taskStatus(id, data: data) != "completed")
        #expect(eventually(5) { Self.taskStatus(id, data: data) == "running" })
        let events = Self.events(id, data: data)
        func time(_ type: String) -> Date? {
            events.first { $0["type"]?.stringValue == type }?["timestamp"]?.stringValue.flatMap { try? Date($0, strategy: .iso8601.year().month().day().time(includingFractionalSeconds: true)) }
        }
        let queued = try #require(time("task_queued"), "\(events)")
        let started = try #require(time("task_started"), "\(events)")
        #expect(started.timeIntervalSince(queued) < 1, "queued \(queued), started \(started)")
        #expect(daemon.stop() == 0)
    }

    @Test("SIGTERM while two tasks run: both pause at a step boundary, and complete after the next start")
    func drainAndResume() throws {
        let (root, data) = try Self.setUp(
            "    - {id: one, command: \"sleep 0.6; echo one >> runs-{task_id}\"}\n    - {id: two, command: \"sleep 0.6; echo two >> runs-{task_id}\"}\n    - {id: three, command: \"echo three >> runs-{task_id}\"}")
        let daemon = try ForegroundDaemon(dataDirectory: data, extra: ["--workers", "2"])
        #expect(daemon.waitUntilServing(), "\(daemon.stderr)")
        let ids = try ["a", "b"].map { try Self.create($0, data: data) }
        #expect(eventually(10) { ids.allSatisfy { Self.taskStatus($0, data: data) == "running" } })
        #expect(daemon.stop(SIGTERM) == 0, "\(daemon.stderr)")
        for id in ids {
            #expect(Self.taskStatus(id, data: data) == "paused", "\(daemon.stderr)")
        }
        let next = try ForegroundDaemon(dataDirectory: data, extra: ["--workers", "2"])
        #expect(next.waitUntilServing())
        #expect(eventually(20) { ids.allSatisfy { Self.taskStatus($0, data: data) == "completed" } }, "\(next.stderr)")
        for id in ids {
            // Every step ran exactly once: the pause came at a step boundary.
            let runs = (try? String(contentsOfFile: root + "/ws/runs-" + id, encoding: .utf8)) ?? ""
            #expect(runs == "one\ntwo\nthree\n", "\(id): \(runs)")
        }
        #expect(next.stop() == 0)
    }

    @Test("kill -9 of the daemon mid-step: the next daemon recovers the task, ends the step's process group, and completes it")
    func killedDaemonRecovers() throws {
        let (root, data) = try Self.setUp(
            "    - {id: first, command: \"echo first >> runs\"}\n    - {id: slow, command: \"[ -f marker ] || { touch marker; sleep 30 & echo $! > sleeper.pid; wait; }; echo slow >> runs\"}")
        let daemon = try ForegroundDaemon(dataDirectory: data)
        #expect(daemon.waitUntilServing())
        let id = try Self.create("k", data: data)
        let pidFile = root + "/ws/sleeper.pid"
        #expect(eventually(10) { FileManager.default.fileExists(atPath: pidFile) && ((try? String(contentsOfFile: pidFile, encoding: .utf8)) ?? "").count > 1 })
        let sleeper = Int32(((try? String(contentsOfFile: pidFile, encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        _ = daemon.stop(SIGKILL)
        #expect(sleeper > 0 && kill(sleeper, 0) == 0, "the step outlives its runner until recovery")
        // (The step's rerun finds its marker and does not sleep again.)
        let next = try ForegroundDaemon(dataDirectory: data)
        #expect(next.waitUntilServing())
        #expect(eventually(10) { kill(sleeper, 0) != 0 }, "the dead runner's step was not ended")
        #expect(eventually(45) { Self.taskStatus(id, data: data) == "completed" }, "\(next.stderr)")
        let runs = (try? String(contentsOfFile: root + "/ws/runs", encoding: .utf8)) ?? ""
        #expect(runs == "first\nslow\n", "\(runs)")
        let types = Self.events(id, data: data).compactMap { $0["type"]?.stringValue }
        #expect(types.filter { $0 == "task_resumed" }.count == 1, "\(types)")
        #expect(next.stop() == 0)
    }
}
