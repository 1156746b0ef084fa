import Control
import Foundation
import JSON
import Platform
import Runner
import Store
import Testing

/// The PostgreSQL server of the tests (`scripts/postgres-test-cluster.sh start`; `.ci/run`
/// starts one); without it these tests skip.
let scaleOutPostgres: String? = ProcessInfo.processInfo.environment["ORCHESTRATOR_TEST_POSTGRES"]

/// Scale-out (docs/scale-out.md): several `orchestratord` processes, each as if on a machine of
/// its own (`ORCHESTRATOR_RUNNER_HOST`), share one PostgreSQL store and its queue. What ran is
/// counted by the steps' own side effects (lines appended to a file), not by our events.
@Suite(
    .serialized,
    .enabled(if: scaleOutPostgres != nil, "no PostgreSQL server: set ORCHESTRATOR_TEST_POSTGRES (scripts/postgres-test-cluster.sh start) to run these"))
struct ScaleOutTests {
    static let cli = (daemonExecutable as NSString).deletingLastPathComponent + "/orchestrator"

    /// A new schema of the test database, and the URI that makes it the only one seen.
    static func freshStore() throws -> String {
        let server = try #require(scaleOutPostgres)
        return try StoreLocation.newSchema("scale_" + String(UInt64.random(in: 0...UInt64.max), radix: 36), on: server)
    }

    struct Cluster: @unchecked Sendable {
        let root: String
        let store: String
        let effects: String
        var daemons: [ForegroundDaemon] = []

        var environment: [String: String] { ["ORCHESTRATOR_STORE": store] }

        func cli(_ arguments: [String]) throws -> Finished {
            try runToEnd(ScaleOutTests.cli, arguments + ["--data-dir", root + "/client"], environment: environment)
        }

        /// The store as the tests read it (through the public store interface).
        func tasks() throws -> any TaskStore {
            try SQLResourceStore(postgres: store, dataDirectory: root + "/reader").taskStore()
        }

        /// Lines of the side-effect file.
        func effectLines() -> [String] {
            ((try? String(contentsOfFile: effects, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        }
    }

    /// A workflow of two steps that append `TASK STEP start` and `TASK STEP end` around a sleep,
    /// applied to a fresh store, and `count` daemons with 2 workers each.
    static func cluster(daemons count: Int, sleep: String, lease: String) throws -> Cluster {
        let root = try scratchDirectory()
        var cluster = Cluster(root: root, store: try freshStore(), effects: root + "/effects.log")
        let step = { (id: String) in
            "    - {id: \(id), command: \"echo $ORCHESTRATOR_TASK_ID \(id) start >> \(cluster.effects); sleep \(sleep); echo $ORCHESTRATOR_TASK_ID \(id) end >> \(cluster.effects); echo ran \(id)\"}"
        }
        _ = try writeWorkflowManifest(root: root, steps: step("a") + "\n" + step("b"))
        let applied = try cluster.cli(["apply", "-f", root + "/m.yaml"])
        #expect(applied.status == 0, "\(applied.stderr)")
        for index in 0..<count {
            let daemon = try ForegroundDaemon(
                dataDirectory: root + "/d\(index)", extra: ["--workers", "2", "--lease-timeout", lease],
                environment: ["ORCHESTRATOR_STORE": cluster.store, "ORCHESTRATOR_RUNNER_HOST": "machine-\(index)"])
            #expect(daemon.waitUntilServing(), "\(daemon.stderr)")
            cluster.daemons.append(daemon)
        }
        return cluster
    }

    /// Creates `count` tasks from 4 client processes at once; returns their ids.
    static func createTasks(_ count: Int, in cluster: Cluster) throws -> [String] {
        let ids = Locked<[String]>([])
        let failures = Locked<[String]>([])
        let threads = (0..<4).map { part in
            Thread {
                for index in stride(from: part, to: count, by: 4) {
                    guard let created = try? cluster.cli(["task", "create", "-n", "t\(index)", "-W", "wf", "-g", "g"]),
                        created.status == 0, created.stdout.contains("queued (position")
                    else {
                        failures.withLock { $0.append("task \(index) was not queued") }
                        continue
                    }
                    let id = String(created.stdout.split(separator: " ").dropFirst().first ?? "")
                    ids.withLock { $0.append(id) }
                }
            }
        }
        threads.forEach { $0.start() }
        while threads.contains(where: { !$0.isFinished }) { usleep(10_000) }
        #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0 }.prefix(3))")
        return ids.withLock { $0 }
    }

    /// Every step of every task finished exactly once, and that run is its last: nothing ran a
    /// step after it finished. Each start a step made (its side effect) is a run the store knows;
    /// more than one only for a run that was cut off (of the tasks `cutOff`, when given): the
    /// at-least-once window of docs/scale-out.md.
    static func expectNoFinishedStepRanAgain(_ ids: [String], cluster: Cluster, tasks: any TaskStore, cutOff: Set<String>?) throws {
        var counts: [String: Int] = [:]
        for line in cluster.effectLines() { counts[line, default: 0] += 1 }
        for id in ids {
            let runs = try tasks.runs(id)
            for step in ["a", "b"] {
                let mine = runs.filter { $0.step == step }
                #expect(mine.filter { $0.status == .finished }.count == 1, "task \(id) step \(step): \(mine.map(\.status))")
                #expect(mine.last?.status == .finished, "task \(id) step \(step): \(mine.map(\.status))")
                let starts = counts["\(id) \(step) start"] ?? 0
                #expect(starts >= 1 && starts <= mine.count, "task \(id) step \(step): \(starts) starts, runs \(mine.map(\.status))")
                if starts > 1, let cutOff { #expect(cutOff.contains(id), "task \(id) step \(step) ran twice without a kill") }
            }
        }
    }

    static func allCompleted(_ ids: [String], _ tasks: any TaskStore) -> Bool {
        guard let summaries = try? tasks.taskSummaries() else { return false }
        let done = Set(summaries.filter { $0.status == .completed }.map(\.id))
        return ids.allSatisfy { done.contains($0) }
    }

    @Test("3 daemons x 2 workers on one PostgreSQL, 300 tasks: every step runs exactly once, no task is lost, all three take work")
    func threeDaemonsThreeHundredTasks() throws {
        let cluster = try Self.cluster(daemons: 3, sleep: "0.01", lease: "5s")
        let ids = try Self.createTasks(300, in: cluster)
        #expect(Set(ids).count == 300)
        let tasks = try cluster.tasks()
        #expect(eventually(240) { Self.allCompleted(ids, tasks) }, "\(cluster.daemons.map(\.stderr))")
        var counts: [String: Int] = [:]
        for line in cluster.effectLines() { counts[line, default: 0] += 1 }
        for id in ids {
            for step in ["a", "b"] {
                for mark in ["start", "end"] {
                    #expect(counts["\(id) \(step) \(mark)"] == 1, "task \(id) step \(step) \(mark): \(counts["\(id) \(step) \(mark)"] ?? 0) times")
                }
            }
        }
        #expect(counts.count == 1200, "lines of tasks nobody created: \(counts.count - 1200)")
        // Every daemon took tasks (its log names each task it finished).
        for daemon in cluster.daemons {
            let finished = daemon.stderr.components(separatedBy: " completed").count - 1
            #expect(finished > 0, "a daemon ran no task: \(daemon.stderr.suffix(2000))")
        }
        // `daemon list` from any machine: the three daemons and their leases.
        let listed = try JSONParser.parse(try cluster.cli(["daemon", "list", "-o", "json"]).stdout).arrayValue ?? []
        #expect(Set(listed.compactMap { $0["host"]?.stringValue }) == ["machine-0", "machine-1", "machine-2"], "\(listed)")
        #expect(listed.allSatisfy { $0["lease_alive"] == .bool(true) && $0["kind"]?.stringValue == "daemon" })
        for daemon in cluster.daemons { #expect(daemon.stop() == 0, "\(daemon.stderr.suffix(2000))") }
        #expect(try tasks.runners().isEmpty, "a stopped daemon's lease is released")

        // Logs stay on the machine that ran the step: from another, `task logs` says where.
        let elsewhere = try #require(try ids.first { id in try tasks.runs(id).allSatisfy { $0.host == "machine-1" } })
        try FileManager.default.removeItem(atPath: cluster.root + "/d1/logs")
        let logs = try cluster.cli(["task", "logs", elsewhere])
        #expect(logs.status == 0)
        #expect(logs.stdout.contains("(the log (6 bytes) is on machine-1, not on this machine"), "\(logs.stdout)")
        #expect(logs.stdout.contains(cluster.root + "/d1/logs/\(elsewhere)/"), "\(logs.stdout)")
    }

    @Test("kill -9 of one daemon mid-run: its tasks finish on the others after the lease timeout; no finished step runs again")
    func killedDaemonsTasksMoveOn() throws {
        let cluster = try Self.cluster(daemons: 3, sleep: "0.3", lease: "2s")
        let ids = try Self.createTasks(60, in: cluster)
        let tasks = try cluster.tasks()
        let victim = cluster.daemons[0]
        // Mid-run: once a fifth of the steps started, with the victim holding a running task.
        #expect(
            eventually(60) {
                cluster.effectLines().count >= 40
                    && ((try? tasks.taskSummaries()) ?? []).contains { summary in
                        summary.status == .running && (try? tasks.task(summary.id))?.runnerHost == "machine-0"
                    }
            })
        let orphaned = Set(((try? tasks.taskSummaries()) ?? []).filter { $0.status == .running }.compactMap { summary in
            (try? tasks.task(summary.id))?.runnerHost == "machine-0" ? summary.id : nil
        })
        kill(victim.pid, SIGKILL)
        #expect(!orphaned.isEmpty)
        #expect(eventually(120) { Self.allCompleted(ids, tasks) }, "\(cluster.daemons.dropFirst().map(\.stderr))")
        try Self.expectNoFinishedStepRanAgain(ids, cluster: cluster, tasks: tasks, cutOff: orphaned)
        // The killed daemon's tasks were taken over by lease: `lease_lost`, then completed elsewhere.
        for id in orphaned {
            let events = try tasks.events(id)
            #expect(events.contains { $0.type == .leaseLost }, "task \(id): \(events.map(\.type.rawValue))")
            #expect(try tasks.task(id)?.status == .completed)
        }
        for daemon in cluster.daemons.dropFirst() { #expect(daemon.stop() == 0) }
    }

    @Test("the server ends a daemon's session mid-run: the daemon reconnects, a task cut off resumes, every task completes")
    func droppedConnection() throws {
        let cluster = try Self.cluster(daemons: 1, sleep: "0.2", lease: "5s")
        let daemon = cluster.daemons[0]
        let ids = try Self.createTasks(12, in: cluster)
        let tasks = try cluster.tasks()
        #expect(eventually(60) { cluster.effectLines().count >= 8 })
        let runner = try #require(try tasks.runners().first?.id)
        let ended = try PostgresConnection(cluster.store).query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1", [.text("orchestrator runner \(runner)")])
        #expect(ended.count == 1, "the daemon's worker connection is found by its name")
        #expect(eventually(120) { Self.allCompleted(ids, tasks) }, "\(daemon.stderr.suffix(3000))")
        #expect(daemon.process.isRunning, "\(daemon.stderr.suffix(3000))")
        try Self.expectNoFinishedStepRanAgain(ids, cluster: cluster, tasks: tasks, cutOff: nil)
        #expect(daemon.stop() == 0)
    }

    @Test("a daemon without the secret key cannot read a task's sealed variables: it says so and leaves the task to one that can")
    func taskOfAnotherKey() throws {
        var cluster = try Self.cluster(daemons: 0, sleep: "0", lease: "5s")
        let keys = cluster.root + "/keys-a"
        let created = try runToEnd(
            Self.cli, ["task", "create", "-n", "sealed", "-W", "wf", "-g", "g", "--set", "TOKEN=tok-42", "--no-start", "--data-dir", cluster.root + "/client"],
            environment: cluster.environment.merging(["XDG_CONFIG_HOME": keys]) { $1 })
        #expect(created.status == 0, "\(created.stderr)")
        let id = String(created.stdout.split(separator: " ").dropFirst().first ?? "")
        let tasks = try cluster.tasks()
        _ = try tasks.enqueue(id)
        let keyless = try ForegroundDaemon(
            dataDirectory: cluster.root + "/d0", extra: ["--workers", "1", "--lease-timeout", "5s"],
            environment: ["ORCHESTRATOR_STORE": cluster.store, "ORCHESTRATOR_RUNNER_HOST": "machine-0", "XDG_CONFIG_HOME": cluster.root + "/keys-b"])
        cluster.daemons.append(keyless)
        #expect(keyless.waitUntilServing(), "\(keyless.stderr)")
        #expect(eventually(20) { keyless.stderr.contains("cannot take a task from the queue") }, "\(keyless.stderr)")
        // Still waiting, held by no runner (this reader has neither key: it reads the summary).
        #expect(try tasks.taskSummaries().first { $0.id == id }?.status == .created)
        #expect(try tasks.runners().count == 1)
        let keyed = try ForegroundDaemon(
            dataDirectory: cluster.root + "/d1", extra: ["--workers", "1", "--lease-timeout", "5s"],
            environment: ["ORCHESTRATOR_STORE": cluster.store, "ORCHESTRATOR_RUNNER_HOST": "machine-1", "XDG_CONFIG_HOME": keys])
        cluster.daemons.append(keyed)
        #expect(keyed.waitUntilServing(), "\(keyed.stderr)")
        #expect(eventually(60) { Self.allCompleted([id], tasks) }, "\(keyed.stderr.suffix(2000))")
        #expect(try tasks.runs(id).allSatisfy { $0.host == "machine-1" })
        #expect(keyless.stop() == 0 && keyed.stop() == 0)
    }

    @Test("a daemon frozen (SIGSTOP) past its lease loses its task to another; thawed, it writes nothing more and exits 3")
    func frozenDaemonIsFenced() throws {
        var cluster = try Self.cluster(daemons: 1, sleep: "2", lease: "1s")
        let frozen = cluster.daemons[0]
        let ids = try Self.createTasks(1, in: cluster)
        let id = try #require(ids.first)
        let tasks = try cluster.tasks()
        #expect(eventually(30) { cluster.effectLines().contains("\(id) a start") })
        kill(frozen.pid, SIGSTOP)
        let info = try cluster.cli(["task", "info", id])
        #expect(info.stdout.contains("runner:") && info.stdout.contains("pid \(frozen.pid) on machine-0"), "\(info.stdout)")
        let rescuer = try ForegroundDaemon(
            dataDirectory: cluster.root + "/d1", extra: ["--workers", "2", "--lease-timeout", "1s"],
            environment: ["ORCHESTRATOR_STORE": cluster.store, "ORCHESTRATOR_RUNNER_HOST": "machine-1"])
        cluster.daemons.append(rescuer)
        #expect(rescuer.waitUntilServing(), "\(rescuer.stderr)")
        #expect(eventually(30) { ((try? tasks.events(id)) ?? []).contains { $0.type == .leaseLost } }, "\(rescuer.stderr)")
        // Thawed after its step ended (2 s): it must not record that step as finished.
        usleep(2_500_000)
        kill(frozen.pid, SIGCONT)
        #expect(eventually(30) { !frozen.process.isRunning }, "\(frozen.stderr)")
        #expect(frozen.process.terminationStatus == 3, "\(frozen.stderr.suffix(3000))")
        #expect(frozen.stderr.contains("lease"), "\(frozen.stderr.suffix(3000))")
        #expect(eventually(60) { Self.allCompleted(ids, tasks) }, "\(rescuer.stderr)")
        let runs = try tasks.runs(id).filter { $0.step == "a" }
        #expect(runs.filter { $0.status == .finished }.count == 1, "\(runs.map { ($0.status, $0.host ?? "") })")
        #expect(runs.first { $0.status == .finished }?.host == "machine-1", "\(runs.map { ($0.status, $0.host ?? "") })")
        #expect(runs.first?.host == "machine-0" && runs.first?.status == .interrupted, "\(runs.map { ($0.status, $0.host ?? "") })")
        let finishedEvents = try tasks.events(id, types: [.stepFinished]).filter { $0.step == "a" }
        #expect(finishedEvents.count == 1, "one step_finished for step a: \(finishedEvents.count)")
        #expect(rescuer.stop() == 0)
    }
}

/// Store round trips per step (docs/performance.md, "Scale-out"): every statement a runner sends
/// is one round trip on PostgreSQL; a step must stay within a fixed number on both engines.
@Suite struct StoreRoundTripTests {
    static let engines: [String] = scaleOutPostgres == nil ? ["sqlite"] : ["sqlite", "postgres"]

    @Test("a step of a running task costs at most 18 statements on each engine", arguments: engines)
    func statementsPerStep(engine: String) throws {
        let root = try scratchDirectory()
        let steps = 20
        _ = try writeWorkflowManifest(root: root, steps: (1...steps).map { "    - {id: s\($0), command: \"true\"}" }.joined(separator: "\n"))
        let store: SQLResourceStore
        var arguments = ["apply", "-f", root + "/m.yaml", "--data-dir", root + "/d"]
        if engine == "postgres" {
            let uri = try ScaleOutTests.freshStore()
            arguments = ["--store", uri] + arguments
            #expect(try runToEnd(ScaleOutTests.cli, arguments).status == 0)
            store = try SQLResourceStore(postgres: uri, dataDirectory: root + "/d")
        } else {
            #expect(try runToEnd(ScaleOutTests.cli, arguments).status == 0)
            store = try SQLResourceStore(dataDirectory: root + "/d")
        }
        let tasks = store.taskStore()
        let created = try TaskCreation.create(
            store: store, tasks: tasks, project: "default", workflow: "wf", workspace: nil, goal: "g", name: nil, options: TaskOptions())
        let runner = try TaskRunner(tasks: tasks, resources: store, taskID: created.task.id, pinned: created.pinned)
        let before = store.database.statementsRun
        let final = try runner.run()
        let sent = store.database.statementsRun - before
        #expect(final.status == .completed)
        #expect(try tasks.runs(created.task.id).filter { $0.status == .finished }.count == steps)
        // The task's own start and end are a few more; per step, at most 18.
        #expect(sent <= steps * 18, "\(engine): \(sent) statements for \(steps) steps")
        #expect(sent >= steps * 3, "\(engine): \(sent) statements for \(steps) steps: each step commits at least three transactions")
    }
}
