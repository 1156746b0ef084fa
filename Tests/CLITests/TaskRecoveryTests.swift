import CLI
import Foundation
import JSON
import Testing

/// Crash recovery, pause/resume and drift: tasks interrupted from outside.
@Suite("Task recovery and drift")
struct TaskRecoveryTests {
    /// Waits until `condition` holds (polling), at most `seconds`.
    static func waitFor(_ seconds: Double, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            usleep(20_000)
        }
        return condition()
    }

    /// Starts the real executable running `workflow` of the sandbox's manifest in the background.
    static func startRunner(_ box: TaskSandbox, workflow: String) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: orchestratorExecutable)
        process.arguments = ["run", "-f", box.root + "/manifest.yaml", "-W", workflow, "--data-dir", box.data]
        process.currentDirectoryURL = URL(fileURLWithPath: box.root)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Runs a command line in-process on its own thread; `wait()` returns its result.
    final class Background: @unchecked Sendable {
        private let done = DispatchSemaphore(value: 0)
        private var result: CommandResult?

        init(_ box: TaskSandbox, _ arguments: [String]) {
            let thread = Thread { [self] in
                result = box.cli(arguments)
                done.signal()
            }
            thread.start()
        }

        func wait() -> CommandResult {
            done.wait()
            return result ?? CommandResult(status: -1, stdout: "", stderr: "")
        }
    }

    // MARK: crash

    @Test("the step a killed runner left running is ended when the task is recovered")
    func orphanedStepIsEndedOnRecovery() throws {
        let box = try TaskSandbox("orphan")
        try box.manifest(
            """
            apiVersion: orchestrator.dev/v2
            kind: Workflow
            metadata: {name: orphan}
            spec:
              steps:
                - {id: long, command: "sleep 60 & echo $! > sleeper.pid; wait"}
            """)
        let process = try Self.startRunner(box, workflow: "orphan")
        #expect(Self.waitFor(20) { !box.read("sleeper.pid").isEmpty })
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        let sleeper = Int32(box.read("sleeper.pid").trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        #expect(sleeper > 0)
        // The runner is gone; its step lives on in its own process group.
        #expect(isAliveProcess(sleeper))
        // The next command recovers the task and ends the step's process group.
        let list = try JSONParser.parse(box.cli(["task", "list", "-o", "json"]).stdout).arrayValue ?? []
        #expect(list.first?["status"]?.string == "interrupted")
        #expect(Self.waitFor(5) { !isAliveProcess(sleeper) }, "the orphaned step (pid \(sleeper)) survived recovery")
    }

    @Test("SIGKILL of the runner mid-task: resume finishes it, no event lost or doubled, no finished step runs twice")
    func crashAndResume() throws {
        let box = try TaskSandbox("crash")
        try box.file("qa/a.md", "a\n")
        try box.file("qa/b.md", "b\n")
        try box.manifest(
            """
            apiVersion: orchestrator.dev/v2
            kind: Workflow
            metadata: {name: crashy}
            spec:
              max_parallel: 2
              loop: {mode: fixed, max_cycles: 2}
              steps:
                - {id: once, command: "echo once >> runs.log", repeatable: false}
                - {id: a1, command: "echo a1-{cycle} >> runs.log; sleep 0.15"}
                - {id: a2, command: "echo a2-{cycle} >> runs.log; sleep 0.15"}
                - {id: a3, command: "echo a3-{cycle} >> runs.log; sleep 0.15"}
                - {id: qa, command: "echo qa-{cycle}-{item_id} >> runs.log; sleep 0.15"}
            """)
        let process = try Self.startRunner(box, workflow: "crashy")
        // In the middle: cycle 1's a2 has started.
        let reached = Self.waitFor(30) { box.read("runs.log").contains("a2-1") }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(reached)

        // The next command finds the dead runner: the task is interrupted.
        let list = box.cli(["task", "list", "-o", "json"])
        let tasks = try JSONParser.parse(list.stdout).arrayValue ?? []
        #expect(tasks.count == 1)
        let task = tasks.first?["id"]?.string ?? ""
        #expect(tasks.first?["status"]?.string == "interrupted")
        usleep(300_000)  // let the orphaned step finish writing

        let resume = box.cli(["task", "resume", task])
        #expect(resume.status == 0, "\(resume.stdout)\(resume.stderr)")
        #expect(try box.taskInfo(task)["status"]?.string == "completed")

        let events = try box.events(task)
        // Monotonic ids, none missing, none doubled.
        let ids = events.compactMap { $0["id"]?.int }
        #expect(ids == Array(1...ids.count))
        #expect(ofType(events, "task_resumed").count == 1)
        #expect(ofType(events, "task_completed").count == 1)
        #expect(ofType(events, "cycle_started").map { $0["cycle"]?.int } == [1, 2])
        // Each slot finished exactly once; each skip recorded once.
        var finished: [String: Int] = [:]
        for event in ofType(events, "step_finished") + ofType(events, "step_skipped") {
            finished["\(event["cycle"]?.int ?? 0)/\(event["step"]?.string ?? "")/\(event["item"]?.string ?? "")", default: 0] += 1
        }
        #expect(finished.values.allSatisfy { $0 == 1 }, "\(finished)")
        // 4 task steps per cycle (once: run, then skipped); the 2 items pass in cycle 1, so
        // cycle 2 has no item to work on.
        #expect(finished.count == 2 * 4 + 2)
        // Real executions: every finished step ran once; only the step the kill interrupted may
        // have run twice (its first run was never finished).
        var counts: [String: Int] = [:]
        for line in box.read("runs.log").split(separator: "\n") { counts[String(line), default: 0] += 1 }
        #expect(counts["once"] == 1)
        let doubled = counts.filter { $0.value > 1 }
        #expect(doubled.count <= 1, "\(counts)")
        #expect(counts.count == 1 + 3 * 2 + 2)

        // The trace shows the interruption, and no false duplicate runner or overlap.
        let trace = box.cli(["task", "trace", task, "-o", "json"])
        #expect(trace.status == 0, "\(trace.stdout)")
        let findings = try JSONParser.parse(trace.stdout)["findings"]?.arrayValue ?? []
        let rules = findings.compactMap { $0["rule"]?.string }
        #expect(rules.contains("incarnation_boundary"), "\(rules)")
        #expect(rules.contains("orphan_command"), "\(rules)")
        for wrong in ["duplicate_runner", "overlapping_steps", "overlapping_cycles", "missing_step_end", "plan_deviation"] {
            #expect(!rules.contains(wrong), "\(wrong): \(trace.stdout)")
        }
        let text = box.cli(["task", "trace", task, "--verbose"]).stdout
        #expect(text.contains("interrupted"), "\(text)")
    }

    // MARK: Ctrl-C

    @Test("SIGINT to a foreground run pauses the task and stops the running step's process group")
    func interruptPauses() throws {
        let box = try TaskSandbox("sigint")
        try box.manifest(
            """
            apiVersion: orchestrator.dev/v2
            kind: Workflow
            metadata: {name: long}
            spec:
              steps:
                - {id: long, command: "if [ -f second ]; then echo finished >> out; else touch second; sleep 30 & echo $! > sleeper.pid; wait; fi"}
            """, workspaceSpec: "qa_targets: []")
        let process = try Self.startRunner(box, workflow: "long")
        #expect(Self.waitFor(20) { !box.read("sleeper.pid").isEmpty })
        let begin = Date()
        kill(process.processIdentifier, SIGINT)
        process.waitUntilExit()
        #expect(Date().timeIntervalSince(begin) < 20)  // SIGINT pauses promptly, not after the 30 s step
        #expect(process.terminationStatus == 1)
        let sleeper = Int32(box.read("sleeper.pid").trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        #expect(Self.waitFor(3) { !isAliveProcess(sleeper) })
        let list = try JSONParser.parse(box.cli(["task", "list", "-o", "json"]).stdout).arrayValue ?? []
        let task = list.first?["id"]?.string ?? ""
        #expect(list.first?["status"]?.string == "paused")
        let resume = box.cli(["task", "resume", task])
        #expect(resume.status == 0, "\(resume.stdout)")
        #expect(box.read("out") == "finished\n")
        let events = try box.events(task)
        #expect(ofType(events, "step_started").count == 2)
        #expect(ofType(events, "step_finished").count == 1)
        #expect(ofType(events, "task_paused").count == 1)
    }

    // MARK: pause

    @Test("task pause stops before the next step; task resume continues without repeating")
    func pauseAndResume() throws {
        let box = try TaskSandbox("pause")
        try box.manifest(
            """
            apiVersion: orchestrator.dev/v2
            kind: Workflow
            metadata: {name: pausable}
            spec:
              steps:
                - {id: first, command: "touch waiting; while [ ! -f go ]; do sleep 0.02; done; echo first >> runs.log"}
                - {id: second, command: "echo second >> runs.log"}
            """, workspaceSpec: "qa_targets: []")
        let background = Background(box, ["run", "-f", box.root + "/manifest.yaml", "-W", "pausable"])
        #expect(Self.waitFor(20) { FileManager.default.fileExists(atPath: box.workspace + "/waiting") })
        let list = try JSONParser.parse(box.cli(["task", "list", "-o", "json"]).stdout).arrayValue ?? []
        let task = list.first?["id"]?.string ?? ""
        let pause = box.cli(["task", "pause", task])
        #expect(pause.status == 0, "\(pause.stderr)")
        try box.file("go", "")
        let run = background.wait()
        #expect(run.status == 1)
        #expect(run.stdout.contains("paused"))
        #expect(box.read("runs.log") == "first\n")
        #expect(try box.taskInfo(task)["status"]?.string == "paused")
        let resume = box.cli(["task", "resume", task])
        #expect(resume.status == 0, "\(resume.stdout)")
        #expect(box.read("runs.log") == "first\nsecond\n")
        let types = try box.events(task).compactMap { $0["type"]?.string }
        #expect(types.filter { $0 == "task_paused" }.count == 1)
        #expect(types.filter { $0 == "task_resumed" }.count == 1)
    }

    // MARK: drift

    static func driftManifest(version: String, policy: String) -> String {
        """
        apiVersion: orchestrator.dev/v2
        kind: Workflow
        metadata: {name: drifty}
        spec:
          loop: {mode: fixed, max_cycles: 3}
          safety: {on_drift: \(policy)}
          steps:
            - id: work
              command: "touch waiting; while [ ! -f go ]; do sleep 0.02; done; echo \(version) >> marks"
        """
    }

    @Test("re-applying a changed workflow while a task runs: config_drift_detected, then on_drift", arguments: ["pin", "adopt", "fail"])
    func driftWhileRunning(policy: String) throws {
        let box = try TaskSandbox("drift-\(policy)")
        try box.manifest(Self.driftManifest(version: "v1", policy: policy), workspaceSpec: "qa_targets: []")
        try box.manifest(Self.driftManifest(version: "v2", policy: policy), name: "changed.yaml", workspaceSpec: "qa_targets: []")
        let background = Background(box, ["run", "-f", box.root + "/manifest.yaml", "-W", "drifty"])
        #expect(Self.waitFor(20) { FileManager.default.fileExists(atPath: box.workspace + "/waiting") })
        let apply = box.cli(["apply", "-f", box.root + "/changed.yaml"])
        #expect(apply.status == 0, "\(apply.stderr)")
        #expect(apply.stdout.contains("Workflow/drifty configured"))
        try box.file("go", "")
        let run = background.wait()
        let task = TaskSandbox.taskID(in: run.stdout)
        let events = try box.events(task)
        let drift = ofType(events, "config_drift_detected")
        #expect(drift.count == 1)
        #expect(drift.first?["cycle"]?.int == 1)
        #expect(drift.first?["payload"]?["changed"]?.arrayValue == [.string("steps.work")])
        #expect(drift.first?["payload"]?["policy"]?.string == policy)
        switch policy {
        case "pin":
            #expect(run.status == 0)
            #expect(box.read("marks") == "v1\nv1\nv1\n")
        case "adopt":
            #expect(run.status == 0)
            #expect(box.read("marks") == "v1\nv2\nv2\n")
            let info = try box.taskInfo(task)
            #expect(info["graphHash"]?.string == drift.first?["payload"]?["applied_hash"]?.string)
        default:
            #expect(run.status == 1)
            #expect(box.read("marks") == "v1\n")
            #expect(ofType(events, "task_failed").first?["payload"]?["reason"]?.string?.contains("drift") == true)
        }
    }
}
