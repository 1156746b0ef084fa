import CLI
import Foundation
import JSON
import Testing

/// Issue 23.1: a task is run by one runner. Two `task start` (or `task resume`) of one task at
/// the same instant, as real processes: exactly one runs it, the other exits 2 naming the owner,
/// and every step runs exactly once (counted by the steps' own side effects).
@Suite("Task claims")
struct TaskClaimTests {
    static let workflow = """
        apiVersion: orchestrator.dev/v2
        kind: Workflow
        metadata: {name: once}
        spec:
          steps:
            - {id: first, scope: task, command: "echo first-{task_id} >> ran.log; sleep 0.05"}
            - {id: second, scope: task, command: "echo second-{task_id} >> ran.log"}
        """

    /// Starts `orchestrator ARGS` as a process; its stdout and stderr go to files of the sandbox.
    static func spawn(_ box: TaskSandbox, _ arguments: [String], label: String) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: orchestratorExecutable)
        process.arguments = arguments + ["-q", "--data-dir", box.data]
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: makeFile(box.root + "/\(label).out")))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: makeFile(box.root + "/\(label).err")))
        try process.run()
        return process
    }

    static func makeFile(_ path: String) -> String {
        FileManager.default.createFile(atPath: path, contents: nil)
        return path
    }

    func race(_ verb: String, trials: Int) throws {
        let box = try TaskSandbox("claim-\(verb)")
        try box.manifest(Self.workflow)
        #expect(box.cli(["apply", "-f", box.root + "/manifest.yaml"]).status == 0)
        for trial in 0..<trials {
            let created = box.cli(["task", "create", "-n", "t\(trial)", "-W", "once", "-g", "g", "--no-start"])
            let task = TaskSandbox.taskID(in: created.stdout)
            #expect(!task.isEmpty, "\(created.stderr)")
            if verb == "resume" {
                #expect(box.cli(["task", "pause", task]).status == 0)
            }
            let a = try Self.spawn(box, ["task", verb, task], label: "\(trial)a")
            let b = try Self.spawn(box, ["task", verb, task], label: "\(trial)b")
            a.waitUntilExit()
            b.waitUntilExit()
            let codes = [a.terminationStatus, b.terminationStatus].sorted()
            let errors = ["a", "b"].map { (try? String(contentsOfFile: box.root + "/\(trial)\($0).err", encoding: .utf8)) ?? "" }
            #expect(codes == [0, 2], "trial \(trial): exit codes \(codes): \(errors)")
            let loser = a.terminationStatus == 2 ? errors[0] : errors[1]
            // The loser says who runs it, or that it has already ended.
            #expect(
                loser.contains("task \(task) is already running (pid ") || loser.contains("task \(task) is completed"),
                "trial \(trial): \(loser)")
            let lines = box.read("ran.log").split(separator: "\n").filter { $0.hasSuffix("-\(task)") }
            #expect(lines.sorted() == ["first-\(task)", "second-\(task)"], "trial \(trial): \(lines)")
            let events = try box.events(task)
            #expect(ofType(events, "step_started").count == 2, "trial \(trial)")
            #expect(ofType(events, "task_completed").count == 1, "trial \(trial)")
        }
    }

    @Test("20 paired `task start`: one runner wins each time, every step runs once")
    func pairedStarts() throws { try race("start", trials: 20) }

    @Test("20 paired `task resume`: one runner wins each time, every step runs once")
    func pairedResumes() throws { try race("resume", trials: 20) }

    @Test("event list --type matches a type or its start; a word that starts no type is exit 2 with the families")
    func eventTypePrefix() throws {
        let box = try TaskSandbox("event-types")
        try box.manifest(Self.workflow)
        let run = box.run("once")
        #expect(run.result.status == 0)
        let steps = try JSONParser.parse(box.cli(["event", "list", run.task, "--type", "step_", "-o", "json"]).stdout).arrayValue ?? []
        #expect(Set(steps.compactMap { $0["type"]?.string }) == ["step_started", "step_finished"])
        let exact = try JSONParser.parse(box.cli(["event", "list", run.task, "--type", "step_started", "-o", "json"]).stdout).arrayValue ?? []
        #expect(exact.count == 2)
        let family = box.cli(["event", "list", run.task, "--type", "task"])
        #expect(family.status == 0 && family.stdout.contains("task_created") && family.stdout.contains("task_completed"))
        let unknown = box.cli(["event", "list", run.task, "--type", "stpe_started"])
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains("no event type is or begins with `stpe_started`"), "\(unknown.stderr)")
        #expect(unknown.stderr.contains("did you mean `step_started`?"), "\(unknown.stderr)")
        #expect(unknown.stderr.contains("`step_`"), "\(unknown.stderr)")
    }

    @Test("`run` of the demo compiles its workflow once in its process before the first step")
    func runCompilesOnce() throws {
        let box = try TaskSandbox("compile-once")
        // A copy of the repository's demo (its root_path is relative to the repository root).
        try FileManager.default.createDirectory(atPath: box.workspace + "/manifests", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: packageRoot + "/manifests/demo", toPath: box.workspace + "/manifests/demo")
        try FileManager.default.copyItem(atPath: packageRoot + "/manifests/demo.yaml", toPath: box.workspace + "/manifests/demo.yaml")
        let file = box.workspace + "/manifests/demo.yaml"
        // A real process, so that no other test's compilations count.
        let run = try runExecutable(["run", "-f", file, "-W", "demo", "-q", "--data-dir", box.data], directory: box.workspace)
        #expect(run.status == 0 || run.status == 1, "\(run.stderr)")
        let task = TaskSandbox.taskID(in: run.stdout)
        let started = ofType(try box.events(task), "task_started")
        #expect(started.first?["payload"]?["process_compilations"]?.int == 1, "\(started)")
        // The reused graph is the one the snapshot compiles to: the drift check at the cycle
        // boundary (which compiles the applied workflow) finds no difference.
        #expect(ofType(try box.events(task), "cycle_started").count == 2)
        #expect(ofType(try box.events(task), "config_drift_detected").isEmpty)
        // `task start` of a created task compiles its snapshot once, too.
        let created = box.cli(["task", "create", "-n", "again", "-W", "demo", "-g", "g", "--no-start"], in: box.workspace)
        let second = TaskSandbox.taskID(in: created.stdout)
        _ = try runExecutable(["task", "start", second, "-q", "--data-dir", box.data], directory: box.workspace)
        let again = ofType(try box.events(second), "task_started")
        #expect(again.first?["payload"]?["process_compilations"]?.int == 1, "\(again)")
    }

    @Test("four items whose names slug alike keep four logs and four captures")
    func collidingItemNamesKeepTheirLogs() throws {
        let box = try TaskSandbox("collide")
        let names = ["a b.md", "a_b.md", "a:b.md", "a#b.md"]
        for name in names { try box.file("qa/" + name, name + "\n") }
        try box.manifest(
            """
            apiVersion: orchestrator.dev/v2
            kind: Workflow
            metadata: {name: collide}
            spec:
              max_parallel: 4
              steps:
                - id: qa
                  scope: item
                  command: "cat {rel_path}; printf '{\\"seen\\": \\"%s\\"}\\n' {item_id}"
                  behavior:
                    captures: [{var: seen, source: stdout, json_path: "$.seen"}]
            """)
        let run = box.run("collide")
        #expect(run.result.status == 0, "\(run.result.stdout)\(run.result.stderr)")
        let directory = box.data + "/logs/" + run.task + "/cycle-1"
        let logs = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasPrefix("qa-") && $0.hasSuffix(".stdout") }
        #expect(logs.count == 4, "\(logs)")
        let contents = Set(try logs.map { try String(contentsOfFile: directory + "/" + $0, encoding: .utf8) })
        for name in names { #expect(contents.contains { $0.hasPrefix(name + "\n") }, "\(name): \(contents)") }
        let finished = ofType(try box.events(run.task), "step_finished")
        for event in finished {
            let item = event["item"]?.string ?? ""
            #expect(event["payload"]?["captures"]?["seen"]?.string == item, "\(event)")
        }
        #expect(finished.count == 4)
    }

    @Test("the runner does not write through a symlink planted in the logs folder")
    func logsDoNotFollowSymlinks() throws {
        let box = try TaskSandbox("log-symlink")
        try box.manifest(
            """
            apiVersion: orchestrator.dev/v2
            kind: Workflow
            metadata: {name: planted}
            spec:
              steps:
                - {id: self_test, builtin: self_test}
                - {id: work, scope: task, command: "echo overwritten"}
            """)
        #expect(box.cli(["apply", "-f", box.root + "/manifest.yaml"]).status == 0)
        let task = TaskSandbox.taskID(in: box.cli(["task", "create", "-n", "p", "-W", "planted", "-g", "g", "--no-start"]).stdout)
        let outside = box.root + "/outside.txt"
        FileManager.default.createFile(atPath: outside, contents: Data("precious\n".utf8))
        let cycle = box.data + "/logs/" + task + "/cycle-1"
        try FileManager.default.createDirectory(atPath: cycle, withIntermediateDirectories: true)
        for name in ["self_test.stdout", "work.stdout"] {
            try FileManager.default.createSymbolicLink(atPath: cycle + "/" + name, withDestinationPath: outside)
        }
        #expect(box.cli(["task", "start", task, "-q"]).status == 0)
        #expect(try String(contentsOfFile: outside, encoding: .utf8) == "precious\n")
        // The logs are real files in the folder now.
        let attributes = try FileManager.default.attributesOfItem(atPath: cycle + "/work.stdout")
        #expect(attributes[.type] as? FileAttributeType == .typeRegular)
        #expect(box.cli(["task", "logs", task]).stdout.contains("overwritten"))
    }

    @Test("a secret typed into a task's goal is stored and shown masked, like events")
    func goalIsMasked() throws {
        let box = try TaskSandbox("goal-mask")
        try box.manifest(
            """
            apiVersion: orchestrator.dev/v2
            kind: SecretStore
            metadata: {name: keys}
            spec:
              data: {PIN: "4821"}
            ---
            apiVersion: orchestrator.dev/v2
            kind: Workflow
            metadata: {name: g}
            spec:
              steps:
                - {id: work, scope: task, command: "true"}
            """)
        #expect(box.cli(["apply", "-f", box.root + "/manifest.yaml"]).status == 0)
        let created = box.cli(["task", "create", "-n", "pin-4821", "-W", "g", "-g", "use pin 4821 to log in", "--no-start"])
        let task = TaskSandbox.taskID(in: created.stdout)
        var shown = ""
        for arguments in [["task", "info", task], ["task", "info", task, "-o", "json"], ["task", "list"], ["task", "list", "-o", "json"],
            ["event", "list", task, "-o", "json"]] {
            shown += box.cli(arguments).stdout
        }
        #expect(!shown.contains("4821"), "\(shown)")
        #expect(shown.contains("use pin *** to log in"))
        #expect(stringsScan(["4821"], under: box.data).isEmpty)
    }

    @Test("deleting a running task is refused, or with --force stops its runner and its step first")
    func deleteRunningTask() throws {
        let box = try TaskSandbox("delete-running")
        try box.manifest(
            """
            apiVersion: orchestrator.dev/v2
            kind: Workflow
            metadata: {name: long}
            spec:
              steps:
                - {id: long, scope: task, command: "sleep 60 & echo $! > sleeper.pid; wait"}
            """)
        #expect(box.cli(["apply", "-f", box.root + "/manifest.yaml"]).status == 0)
        let task = TaskSandbox.taskID(in: box.cli(["task", "create", "-n", "long", "-W", "long", "-g", "g", "--no-start"]).stdout)
        let runner = try Self.spawn(box, ["task", "start", task], label: "runner")
        #expect(TaskRecoveryTests.waitFor(20) { !box.read("sleeper.pid").isEmpty })
        let sleeper = Int32(box.read("sleeper.pid").trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        let refused = box.cli(["task", "delete", task])
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("task \(task) is running (pid \(runner.processIdentifier))"), "\(refused.stderr)")
        let forced = box.cli(["task", "delete", task, "--force"])
        #expect(forced.status == 0, "\(forced.stderr)")
        runner.waitUntilExit()
        #expect(!isAliveProcess(runner.processIdentifier))
        #expect(TaskRecoveryTests.waitFor(5) { !isAliveProcess(sleeper) }, "the step's process survived")
        #expect(box.cli(["task", "info", task]).status == 2)
    }

    @Test("a step that fills the disk pauses the task with `no space left on device`; resume completes it")
    func fullDiskPauses() throws {
        let box = try TaskSandbox("enospc")
        try FileManager.default.createDirectory(atPath: box.data, withIntermediateDirectories: true)
        func run(_ path: String, _ arguments: [String]) -> Int32 {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: path)
            process.arguments = arguments
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            guard (try? process.run()) != nil else { return -1 }
            process.waitUntilExit()
            return process.terminationStatus
        }
        guard run("/bin/mount", ["-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs", box.data]) == 0 else {
            print("note: mounting a tmpfs is not allowed here; the full-disk test is skipped")
            return
        }
        defer { _ = run("/bin/umount", [box.data]) }
        try box.manifest(
            """
            apiVersion: orchestrator.dev/v2
            kind: Workflow
            metadata: {name: flood}
            spec:
              steps:
                - {id: before, scope: task, command: "echo before"}
                - {id: flood, scope: task, command: "if [ ! -f flooded ]; then touch flooded; yes 'a line that fills the disk' | head -c 20000000; fi; echo calm"}
                - {id: after, scope: task, command: "echo after"}
            """, workspaceSpec: "qa_targets: []")
        let first = box.runShowingProgress("flood")
        #expect(first.result.status == 1, "\(first.result.stdout)\(first.result.stderr)")
        #expect(first.result.stdout.contains("task paused: no space left on device"), "\(first.result.stdout)")
        let info = try box.taskInfo(first.task)
        #expect(info["status"]?.string == "paused")
        #expect(info["reason"]?.string == "no space left on device")
        let paused = ofType(try box.events(first.task), "task_paused")
        #expect(paused.first?["payload"]?["reason"]?.string == "no space left on device")
        let resumed = box.cli(["task", "resume", first.task, "-q"])
        #expect(resumed.status == 0, "\(resumed.stdout)\(resumed.stderr)")
        #expect(box.read("flooded").isEmpty && FileManager.default.fileExists(atPath: box.workspace + "/flooded"))
        // Every step finished once; the flooding one ran twice (its first run had no result).
        let finished = ofType(try box.events(first.task), "step_finished").compactMap { $0["step"]?.string }
        #expect(finished == ["before", "flood", "after"], "\(finished)")
    }

    @Test("items stay inside the workspace: -t, generated paths and qa_targets symlinks cannot leave it; symlink loops end")
    func itemsStayInsideTheWorkspace() throws {
        let box = try TaskSandbox("contained")
        try box.file("qa/a.md", "a\n")
        let outside = box.root + "/outside"
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: outside + "/secret.md", contents: Data("x\n".utf8))
        // A symlink out of the root, and a loop back into qa/ itself.
        try FileManager.default.createSymbolicLink(atPath: box.workspace + "/qa/out", withDestinationPath: outside)
        try FileManager.default.createSymbolicLink(atPath: box.workspace + "/qa/loop", withDestinationPath: box.workspace + "/qa")
        try FileManager.default.createSymbolicLink(atPath: box.workspace + "/qa/escape.md", withDestinationPath: outside + "/secret.md")
        try box.manifest(
            """
            apiVersion: orchestrator.dev/v2
            kind: Workflow
            metadata: {name: scan}
            spec:
              steps:
                - {id: check, scope: item, command: "echo {item_id} >> ran"}
            ---
            apiVersion: orchestrator.dev/v2
            kind: Workflow
            metadata: {name: gen}
            spec:
              steps:
                - id: pick
                  scope: task
                  command: "echo '[{\\"id\\": \\"x\\", \\"p\\": \\"../outside/secret.md\\"}]'"
                  behavior:
                    post_actions:
                      - {type: generate_items, from_var: pick_output, mapping: {item_id: "$.id", vars: {qa_file_path: "$.p"}}, replace: true}
                - {id: use, scope: item, command: "echo {item_id} >> generated"}
            """)
        #expect(box.cli(["apply", "-f", box.root + "/manifest.yaml"]).status == 0)
        // The scan: only qa/a.md (the loop is entered once, nothing outside is collected).
        let scan = box.run("scan")
        #expect(scan.result.status == 0, "\(scan.result.stdout)\(scan.result.stderr)")
        #expect(box.read("ran") == "qa/a.md\n", "\(box.read("ran"))")
        // -t outside the root: refused before anything is created.
        for target in [outside + "/secret.md", box.workspace + "/qa/escape.md", box.workspace + "/../outside/secret.md"] {
            let refused = box.cli(["task", "create", "-W", "scan", "-t", target, "--no-start"])
            #expect(refused.status == 2, "\(target): \(refused.stderr)")
            #expect(refused.stderr.contains("outside the workspace root"), "\(refused.stderr)")
        }
        // A generated item whose path leaves the root: the extraction fails, the items stay.
        let generated = box.run("gen")
        #expect(ofType(try box.events(generated.task), "items_generation_failed").first?["payload"]?["problem"]?.string?.contains("leaves the workspace root") == true)
        #expect(box.read("generated") == "qa/a.md\n", "\(box.read("generated"))")
    }

    @Test("--verbose on any command names the data directory in use, where it came from, and the mode")
    func verboseNamesTheDataDirectory() throws {
        let box = try TaskSandbox("verbose")
        try box.manifest(Self.workflow)
        #expect(box.cli(["apply", "-f", box.root + "/manifest.yaml"]).status == 0)
        for arguments in [["task", "list", "--verbose"], ["--verbose", "task", "list"], ["-v", "get", "workflows"]] {
            let result = box.cli(arguments)
            #expect(result.status == 0, "\(arguments): \(result.stderr)")
            #expect(
                result.stderr.contains("orchestrator: data directory \(box.data) (from --data-dir); embedded mode: no daemon serves it"),
                "\(arguments): \(result.stderr)")
        }
        #expect(!box.cli(["task", "list"]).stderr.contains("data directory"))
    }
}
