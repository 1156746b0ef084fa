import CLI
import Compiler
import Foundation
import JSON
import Runner
import Testing
import YAML

@Suite("Task trace")
struct TaskTraceTests {
    /// docs/trace.md holds exactly what `task trace --rules-markdown` prints, between its markers.
    @Test func docsAreUpToDate() throws {
        let text = try String(contentsOfFile: packageRoot + "/docs/trace.md", encoding: .utf8)
        let generated = runInProcess(["task", "trace", "--rules-markdown"]).stdout
        guard let begin = text.range(of: "<!-- BEGIN TRACE RULES"), let end = text.range(of: TraceDocumentation.endMarker) else {
            Issue.record("docs/trace.md has no generated rules section")
            return
        }
        #expect(
            String(text[begin.lowerBound..<end.upperBound]) + "\n" == generated,
            "docs/trace.md is out of date: replace its rules section with `orchestrator task trace --rules-markdown`")
    }

    @Test("trace -o json of real tasks (passing, failing, with a missing placeholder) follows docs/trace.schema.json")
    func jsonFollowsTheSchema() throws {
        let schemaText = try String(contentsOfFile: packageRoot + "/docs/trace.schema.json", encoding: .utf8)
        let schema = try #require(try YAMLParser.parse(schemaText).first?.root)
        let box = try TaskSandbox("trace-schema")
        try box.file("qa/a.md", "a\n")
        try box.file("qa/b.md", "b\n")
        try box.manifest(
            """
            apiVersion: orchestrator.dev/v2
            kind: Workflow
            metadata: {name: mixed}
            spec:
              loop: {mode: fixed, max_cycles: 2}
              steps:
                - {id: plan, scope: task, command: "echo plan {no_such_value}"}
                - {id: qa, scope: item, command: "test {item_id} = qa/a.md"}
                - {id: self_test, builtin: self_test}
            """)
        let run = box.run("mixed")
        #expect(!run.task.isEmpty)
        let trace = box.cli(["task", "trace", run.task, "-o", "json"])
        let parsed = try #require(try YAMLParser.parse(trace.stdout).first?.root)
        let violations = JSONSchemaCheck.violations(of: parsed, against: schema, file: "trace.json")
        #expect(violations.isEmpty, "\(violations.map(\.message))")
        let json = try JSONParser.parse(trace.stdout)
        let rules = (json["findings"]?.arrayValue ?? []).compactMap { $0["rule"]?.string }
        #expect(rules.contains("unexpanded_template_var"), "\(rules)")
        #expect(rules.contains("nonzero_exit"), "\(rules)")
        #expect((json["timeline"]?.arrayValue ?? []).contains { $0["outcome"]?.string == "did nothing" })
        // Warnings only: exit 0.
        #expect(trace.status == 0)
        // The schema catches a wrong document (so the check above can fail).
        let wrong = try #require(try YAMLParser.parse(#"{"task": "x", "findings": [{"rule": "made_up"}]}"#).first?.root)
        #expect(!JSONSchemaCheck.violations(of: wrong, against: schema, file: "wrong.json").isEmpty)
    }

    @Test("event cleanup archives then deletes old events; the remaining history still traces; db status and vacuum")
    func retention() throws {
        let box = try TaskSandbox("retention")
        try box.manifest(
            """
            apiVersion: orchestrator.dev/v2
            kind: Workflow
            metadata: {name: two}
            spec:
              loop: {mode: fixed, max_cycles: 2}
              steps:
                - {id: work, scope: task, command: "echo work"}
            """)
        let old = box.run("two")
        #expect(old.result.status == 0)
        let oldCount = try box.events(old.task).count
        sleep(3)
        let recent = box.run("two")
        let recentCount = try box.events(recent.task).count
        let archive = box.root + "/archive"
        let cleanup = box.cli(["event", "cleanup", "--older-than", "2s", "--archive", archive])
        #expect(cleanup.status == 0, "\(cleanup.stderr)")
        #expect(cleanup.stdout.contains("\(oldCount) events recorded before"), "\(cleanup.stdout)")
        // Archived first: one JSON object per line, every deleted event.
        let files = try FileManager.default.contentsOfDirectory(atPath: archive)
        #expect(files.count == 1)
        let lines = try String(contentsOfFile: archive + "/" + files[0], encoding: .utf8).split(separator: "\n")
        #expect(lines.count == oldCount)
        #expect(lines.allSatisfy { (try? JSONParser.parse(String($0)))?["task"]?.string == old.task })
        #expect(try box.events(old.task).isEmpty)
        #expect(try box.events(recent.task).count == recentCount)
        // Both tasks still trace without error.
        let trace = box.cli(["task", "trace", old.task])
        #expect(trace.status == 0, "\(trace.stdout)")
        #expect(trace.stdout.contains("were cleaned up (event cleanup)"))
        #expect(box.cli(["task", "trace", recent.task]).status == 0)
        let status = try JSONParser.parse(box.cli(["db", "status", "-o", "json"]).stdout)
        #expect(status["rows"]?["events"]?.int == recentCount)
        #expect(status["rows"]?["tasks"]?.int == 2)
        #expect(box.cli(["db", "vacuum"]).status == 0)
        #expect(box.cli(["event", "cleanup", "--older-than", "soon"]).status == 2)
    }

    @Test("event list --follow prints events as they come until the task stops")
    func followEvents() throws {
        let box = try TaskSandbox("follow")
        try box.manifest(
            """
            apiVersion: orchestrator.dev/v2
            kind: Workflow
            metadata: {name: slow}
            spec:
              steps:
                - {id: one, scope: task, command: "sleep 0.3"}
                - {id: two, scope: task, command: "sleep 0.3"}
            """)
        #expect(box.cli(["apply", "-f", box.root + "/manifest.yaml"]).status == 0)
        let task = TaskSandbox.taskID(in: box.cli(["task", "create", "-n", "s", "-W", "slow", "-g", "g", "--no-start"]).stdout)
        let runner = Process()
        runner.executableURL = URL(fileURLWithPath: orchestratorExecutable)
        runner.arguments = ["task", "start", task, "-q", "--data-dir", box.data]
        runner.standardOutput = FileHandle.nullDevice
        try runner.run()
        let follow = try runExecutable(["event", "list", task, "--follow", "--interval", "50ms", "-o", "json", "--data-dir", box.data])
        runner.waitUntilExit()
        #expect(follow.status == 0, "\(follow.stderr)")
        let types = follow.stdout.split(separator: "\n").compactMap { (try? JSONParser.parse(String($0)))?["type"]?.string }
        #expect(types.first == "task_created")
        #expect(types.last == "task_completed", "\(types)")
        #expect(types.filter { $0 == "step_finished" }.count == 2)
    }
}
