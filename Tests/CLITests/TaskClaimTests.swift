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
            let loser = errors.first { !$0.isEmpty } ?? ""
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
}
