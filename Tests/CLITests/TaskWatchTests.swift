import CLI
import Foundation
import JSON
import Testing

/// `task watch` on a real running task, through a pseudo-terminal (`script`) and through a pipe.
@Suite("Task watch")
struct TaskWatchTests {
    static let workflow = """
        apiVersion: orchestrator.dev/v2
        kind: Workflow
        metadata: {name: slow}
        spec:
          max_parallel: 1
          steps:
            - {id: plan, scope: task, command: "sleep 0.6; echo planned"}
            - {id: check, scope: item, command: "sleep 0.6; echo '<b>checked</b> a line long enough to be cut at the width of the terminal used by this test'"}
        """

    /// A created (not started) 3-item task in a sandbox; returns the sandbox and the task id.
    func slowTask(_ label: String) throws -> (TaskSandbox, String) {
        let box = try TaskSandbox(label)
        for name in ["a", "b", "c"] { try box.file("qa/\(name).md", "\(name)\n") }
        try box.manifest(Self.workflow)
        #expect(box.cli(["apply", "-f", box.root + "/manifest.yaml"]).status == 0)
        let created = box.cli(["task", "create", "-n", "slow", "-W", "slow", "-g", "g", "--no-start"])
        #expect(created.status == 0, "\(created.stderr)")
        return (box, TaskSandbox.taskID(in: created.stdout))
    }

    /// Starts `task start ID` as a real process in the background.
    func startInBackground(_ box: TaskSandbox, _ task: String) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: orchestratorExecutable)
        process.arguments = ["task", "start", task, "-q", "--data-dir", box.data]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    @Test("on a terminal: the panel shows the current step and the progress bar, redrawn at most once per interval")
    func panelOnATerminal() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/script") else {
            print("note: /usr/bin/script (util-linux) is absent; the pseudo-terminal watch test is skipped")
            return
        }
        let (box, task) = try slowTask("watch-tty")
        let runner = try startInBackground(box, task)
        defer { runner.waitUntilExit() }
        let typescript = box.root + "/typescript"
        let started = Date()
        let watch = Process()
        watch.executableURL = URL(fileURLWithPath: "/usr/bin/script")
        watch.arguments = [
            "-q", "-e", "-c",
            "stty cols 72 rows 40; '\(orchestratorExecutable)' task watch \(task) --interval 200ms --data-dir '\(box.data)'",
            typescript,
        ]
        watch.standardOutput = FileHandle.nullDevice
        watch.standardInput = FileHandle.nullDevice
        try watch.run()
        watch.waitUntilExit()
        let elapsedMS = Date().timeIntervalSince(started) * 1000
        #expect(watch.terminationStatus == 0)
        // The terminal turns each "\n" into "\r\n" (one Character in Swift): undo it first.
        let screen = try String(contentsOfFile: typescript, encoding: .utf8).replacingOccurrences(of: "\r\n", with: "\n")
        let frames = screen.components(separatedBy: "\u{1B}[H\u{1B}[J").dropFirst()
        // At most one redraw per interval (plus the first one).
        #expect(frames.count >= 2, "\(screen)")
        #expect(Double(frames.count) <= elapsedMS / 200 + 2, "\(frames.count) redraws in \(elapsedMS) ms")
        // While it ran, a frame showed the step running now and the items' progress bar.
        #expect(frames.contains { $0.contains("now: check [qa/") }, "\(screen)")
        #expect(frames.contains { $0.contains("items [") && $0.contains("/3 done") }, "\(screen)")
        #expect(frames.contains { $0.contains("cycle 1 of 1") })
        // Every line of a frame fits the 72 columns.
        for frame in frames {
            for line in frame.split(separator: "\n") where !line.hasPrefix("task \(task) is ") && !line.contains("Script") {
                #expect(line.count <= 72, "\(line)")
            }
        }
        // The last frame is the finished task, and the watch says how it ended.
        #expect(frames.last?.contains("COMPLETED") == true)
        #expect(frames.last?.contains("items [") == true && frames.last?.contains("3/3 done") == true)
        #expect(screen.contains("task \(task) is completed"))
    }

    @Test("not on a terminal: plain lines, one per event, no escape sequences, no whole prompts")
    func plainLinesOnAPipe() throws {
        let (box, task) = try slowTask("watch-pipe")
        let runner = try startInBackground(box, task)
        defer { runner.waitUntilExit() }
        let result = try runExecutable(["task", "watch", task, "--interval", "100ms", "--data-dir", box.data])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(!result.stdout.contains("\u{1B}"))
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.contains { $0.contains("step_finished") && $0.contains("cycle 1 check [qa/b.md]") && $0.contains("exit 0") })
        #expect(lines.contains { $0.hasPrefix("task \(task) running  cycle 1/1  items ") })
        #expect(lines.last == "task \(task) is completed: the loop ended after 1 cycle with nothing unresolved")
        // Each event is one line: the events of the store are all there, once.
        let events = try box.events(task)
        #expect(lines.filter { $0.contains("  step_finished  ") }.count == events.filter { $0["type"]?.string == "step_finished" }.count)
    }

    @Test("--interval takes 2, 2s and 500ms; a bad one is a usage error; --timeout ends a watch with exit 1")
    func durations() throws {
        let (box, task) = try slowTask("watch-durations")
        for good in ["2", "2s", "500ms", "1.5s", "1m"] {
            // The task has not started: the watch waits for it until its timeout.
            let result = box.cli(["task", "watch", task, "--interval", good, "--timeout", "20ms"])
            #expect(result.status == 1, "\(good): \(result.stderr)")
            #expect(result.stdout.contains("task \(task) created"), "\(good): \(result.stdout)")
        }
        for bad in ["0", "fast", "-1s", "5ms", "2d"] {
            let result = box.cli(["task", "watch", task, "--interval", bad])
            #expect(result.status == 2, "\(bad)")
            #expect(result.stderr.contains("`--interval` needs a duration"), "\(bad): \(result.stderr)")
        }
        let runner = try startInBackground(box, task)
        defer { runner.waitUntilExit() }
        usleep(200_000)
        let timed = try runExecutable(["task", "watch", task, "--interval", "50ms", "--timeout", "100ms", "--data-dir", box.data])
        #expect(timed.status == 1, "\(timed.stdout)")
        #expect(timed.stdout.contains("watch stopped after its timeout; task \(task) is still running"), "\(timed.stdout)")
    }

    @Test("a running step records heartbeats with its output so far")
    func heartbeats() throws {
        let box = try TaskSandbox("heartbeat")
        try box.manifest(
            """
            apiVersion: orchestrator.dev/v2
            kind: Workflow
            metadata: {name: quiet}
            spec:
              steps:
                - {id: think, scope: task, command: "echo start; sleep 0.8"}
            """, workspaceSpec: "qa_targets: []")
        let run = runInProcess(
            ["run", "-f", box.root + "/manifest.yaml", "-W", "quiet", "-q", "--data-dir", box.data],
            environment: ["ORCHESTRATOR_HEARTBEAT": "100ms", "PATH": "/usr/bin:/bin"], directory: box.root)
        #expect(run.status == 0, "\(run.stderr)")
        let beats = ofType(try box.events(TaskSandbox.taskID(in: run.stdout)), "step_heartbeat")
        #expect(beats.count >= 3, "\(beats.count)")
        #expect(beats.allSatisfy { $0["step"]?.string == "think" && $0["payload"]?["stdout_bytes"]?.int == 6 })
        let running = beats.compactMap { $0["payload"]?["running_ms"]?.int }
        #expect(running == running.sorted())
    }
}
