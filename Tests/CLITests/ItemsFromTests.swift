import Foundation
import JSON
import Testing

/// `items_from: {tasks_json: ...}` (state-files.md): the items are a tasks.json's tasks; the
/// runner marks them in progress, runs `verify` as the gate, asks the evaluator when
/// `requires_eval`, then marks them done or blocked and writes progress.md.
@Suite("items_from tasks.json") struct ItemsFromTests {
    static let tasksJSON = """
        {
          "project": "demo",
          "last_updated": "2026-01-01",
          "current_focus": "Ship the four tasks.",
          "tasks": [
            {
              "id": "CORE-01",
              "title": "Write a.",
              "description": "A file named a.",
              "status": "pending",
              "priority": "high",
              "verify": "test -f a.out",
              "requires_eval": false
            },
            {
              "id": "CORE-02",
              "title": "Write b.",
              "description": "A file that never appears.",
              "status": "pending",
              "priority": "medium",
              "verify": ["test -f never.out"],
              "requires_eval": false
            },
            {
              "id": "CORE-03",
              "title": "Refactor c.",
              "description": "Refactor the module.",
              "status": "pending",
              "priority": "high",
              "verify": "test -f c.out",
              "requires_eval": true
            },
            {
              "id": "CORE-04", "title": "Write d.", "description": "Small.", "status": "pending", "priority": "low",
              "verify": "test -f d.out", "requires_eval": false
            },
            {
              "id": "CORE-05", "title": "Old.", "description": "Done long ago.", "status": "done", "priority": "low",
              "verify": "true", "requires_eval": false
            }
          ]
        }

        """

    static let manifest = """
        apiVersion: orchestrator.dev/v2
        kind: Agent
        metadata: {name: judge}
        spec:
          capabilities: [evaluate]
          command: "if [ -f approved-{item_id} ]; then echo approve; else touch approved-{item_id}; echo reject; exit 1; fi"
        ---
        apiVersion: orchestrator.dev/v2
        kind: Workflow
        metadata: {name: wf}
        spec:
          items_from: {tasks_json: state/tasks.json}
          loop: {mode: fixed, max_cycles: 2}
          steps:
            - {id: build, scope: item, command: "f=$(echo {item_id} | tr A-Z a-z | sed 's/core-0//'); case $f in 1) touch a.out;; 3) touch c.out;; 4) touch d.out;; esac"}
            - id: evaluate
              scope: item
              required_capability: evaluate
              prehook: {when: "requires_eval"}
              behavior: {on_failure: {action: continue}}
        """

    @Test("four tasks: done, blocked by its verify, done after a rejection and an approval, done; progress.md newest first")
    func fourTasks() throws {
        let box = try TaskSandbox("items-from")
        try FileManager.default.createDirectory(atPath: box.workspace + "/state", withIntermediateDirectories: true)
        try box.file("state/tasks.json", Self.tasksJSON)
        try box.file("state/progress.md", "# Progress\n\n## 2026-01-01 CORE-05 Old.\n- done long ago\n")
        // CORE-04's build also edits tasks.json as a person would, between the runner's writes.
        try box.manifest(
            Self.manifest.replacingOccurrences(
                of: "4) touch d.out;;", with: "4) touch d.out; sed -i 's/Ship the four tasks./Edited by a person./' state/tasks.json;;"),
            workspaceSpec: "qa_targets: []")
        let run = box.runShowingProgress("wf")
        // CORE-02 is blocked: the task ends with one unresolved item.
        #expect(run.result.status == 1, "\(run.result.stdout)\(run.result.stderr)")
        let text = box.read("state/tasks.json")
        let tasks = try #require(try? JSONParser.parse(text), "tasks.json is no longer JSON:\n\(text)")
        func task(_ id: String) -> JSONValue? { tasks["tasks"]?.arrayValue?.first { $0["id"]?.string == id } }
        #expect(task("CORE-01")?["status"]?.string == "done")
        #expect(task("CORE-02")?["status"]?.string == "blocked")
        #expect(task("CORE-02")?["blocked_by"]?.string?.contains("verify failed (exit 1)") == true, "\(text)")
        #expect(task("CORE-03")?["status"]?.string == "done")
        #expect(task("CORE-04")?["status"]?.string == "done")
        #expect(task("CORE-05")?["status"]?.string == "done")
        #expect(task("CORE-01")?["blocked_by"] == nil)
        let today = DateFormatter()
        today.dateFormat = "yyyy-MM-dd"
        #expect(tasks["last_updated"]?.string == today.string(from: Date()), "local date, as `state init` writes it")
        // Only the changed values moved: the key order and the one-line object are as written.
        #expect(text.contains(#""id": "CORE-04", "title": "Write d.", "description": "Small.", "status": "done", "priority": "low","#), "\(text)")
        // The person's edit made between two of the runner's writes is kept.
        #expect(text.contains("\"current_focus\": \"Edited by a person.\""), "\(text)")
        // The evaluator ran only for CORE-03: rejected in cycle 1, approved in cycle 2.
        #expect(FileManager.default.fileExists(atPath: box.workspace + "/approved-CORE-03"))
        #expect(!FileManager.default.fileExists(atPath: box.workspace + "/approved-CORE-01"))
        let progress = box.read("state/progress.md")
        let headings = progress.split(separator: "\n").filter { $0.hasPrefix("## ") }.map { String($0.split(separator: " ")[2]) }
        // Newest first: cycle 2's CORE-03, then cycle 1's four in item order reversed, then the old one.
        #expect(headings.first == "CORE-03" && headings.last == "CORE-05", "\(progress)")
        #expect(headings.count == 6, "\(progress)")
        #expect(progress.hasPrefix("# Progress\n\n## "), "\(progress)")
        #expect(progress.contains("- blocked: verify failed (exit 1)"), "\(progress)")
        #expect(progress.contains("the evaluator (evaluate) rejected it"), "\(progress)")
    }

    @Test("kill -9 in the middle, then resume: tasks.json stays valid JSON and no task is done whose verify did not pass")
    func killedAndResumed() throws {
        let box = try TaskSandbox("items-kill")
        try FileManager.default.createDirectory(atPath: box.workspace + "/state", withIntermediateDirectories: true)
        try box.file("state/tasks.json", Self.tasksJSON)
        // The build of CORE-03 waits for a marker the test writes after the kill.
        try box.manifest(
            Self.manifest.replacingOccurrences(of: "3) touch c.out;;", with: "3) while [ ! -f go ]; do sleep 0.05; done; touch c.out;;"),
            workspaceSpec: "qa_targets: []")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: orchestratorExecutable)
        process.arguments = ["run", "-f", box.root + "/manifest.yaml", "-W", "wf", "--data-dir", box.data]
        process.currentDirectoryURL = URL(fileURLWithPath: box.root)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Wait until CORE-03 is in progress in the file (its build is waiting), then kill the runner.
        var marked = false
        for _ in 0..<200 where !marked {
            marked = box.read("state/tasks.json").contains(#""status": "in_progress""#)
                && (try? JSONParser.parse(box.read("state/tasks.json")))?["tasks"]?.arrayValue?.first { $0["id"]?.string == "CORE-03" }?["status"]?.string == "in_progress"
            if !marked { usleep(50_000) }
        }
        #expect(marked, "CORE-03 never went in_progress")
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        let middle = box.read("state/tasks.json")
        let parsed = try #require(try? JSONParser.parse(middle), "tasks.json is not JSON after kill -9:\n\(middle)")
        // Nothing is done yet: the gate runs at the end of the cycle, after each verify.
        for task in parsed["tasks"]?.arrayValue ?? [] where task["id"]?.string != "CORE-05" {
            #expect(task["status"]?.string != "done", "\(task)")
        }
        try box.file("go", "")
        let id = try JSONParser.parse(box.cli(["task", "list", "-o", "json"]).stdout).arrayValue?.first?["id"]?.string ?? ""
        let resumed = box.cli(["task", "resume", id])
        #expect(resumed.status == 1, "\(resumed.stdout)\(resumed.stderr)")
        let final = try #require(try? JSONParser.parse(box.read("state/tasks.json")))
        let statuses = Dictionary(uniqueKeysWithValues: (final["tasks"]?.arrayValue ?? []).compactMap { task in
            task["id"]?.string.map { ($0, task["status"]?.string ?? "") }
        })
        #expect(statuses == ["CORE-01": "done", "CORE-02": "blocked", "CORE-03": "done", "CORE-04": "done", "CORE-05": "done"], "\(statuses)")
    }

    @Test("the example of manifests/tasks-json, run on a copy as README says: done, done after review, blocked")
    func example() throws {
        let copy = try makeTemporaryDirectory("tasks-demo")
        for name in ["tasks.json", "progress.md", "init.sh", "workflow.yaml"] {
            try FileManager.default.copyItem(atPath: packageRoot + "/manifests/tasks-json/" + name, toPath: copy + "/" + name)
        }
        let plan = runInProcess(["plan", "-f", "workflow.yaml"], directory: copy)
        #expect(plan.stdout.contains("items  the tasks of tasks.json where status == \"pending\" || status == \"in_progress\""), "\(plan.stdout)")
        let run = runInProcess(["run", "-f", "workflow.yaml", "-W", "tasks-demo", "--data-dir", copy + "/.orchestrator"], directory: copy)
        #expect(run.status == 1, "\(run.stdout)\(run.stderr)")
        #expect(run.stdout.contains("GREET-03: blocked: verify failed"), "\(run.stdout)")
        let tasks = try JSONParser.parse(Array(try Data(contentsOf: URL(fileURLWithPath: copy + "/tasks.json"))))
        let statuses = (tasks["tasks"]?.arrayValue ?? []).map { $0["status"]?.string ?? "" }
        #expect(statuses == ["done", "done", "blocked"], "\(statuses)")
        // The example in the repository is untouched.
        #expect((try? String(contentsOfFile: packageRoot + "/manifests/tasks-json/tasks.json", encoding: .utf8))?.contains("\"done\"") == false)
    }

    @Test("a tasks.json that is not JSON refuses the task with its file, line and column")
    func brokenTasksJSON() throws {
        let box = try TaskSandbox("items-broken")
        try FileManager.default.createDirectory(atPath: box.workspace + "/state", withIntermediateDirectories: true)
        try box.file("state/tasks.json", "{\n  \"project\": \"demo\",\n  \"tasks\": [,]\n}\n")
        try box.manifest(Self.manifest, workspaceSpec: "qa_targets: []")
        let run = box.run("wf")
        #expect(run.result.status != 0)
        #expect(run.result.stderr.contains("items_from: \(box.workspace)/state/tasks.json:3:"), "\(run.result.stderr)")
        #expect(run.result.stderr.contains("orchestrator lint --state"), "\(run.result.stderr)")
    }
}
