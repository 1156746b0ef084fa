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
}
