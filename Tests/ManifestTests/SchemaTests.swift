import Testing

@testable import Manifest

/// The key tables and the hints for keys written at the wrong level.
@Suite struct SchemaTests {
    func help(_ level: SchemaLevel, _ key: String, kind: ResourceKind? = .workflow) -> String {
        level.advice(forUnknownKey: key, kind: kind).help
    }

    @Test func keysWrittenOneLevelOff() {
        #expect(help(.step, "capture") == "did you mean `behavior.captures`?")
        #expect(help(.step, "captures") == "did you mean `behavior.captures`?")
        #expect(help(.step, "on_failure") == "did you mean `behavior.on_failure`?")
        #expect(help(.step, "post_actions") == "did you mean `behavior.post_actions`?")
        #expect(help(.workflowSpec, "max_cycles") == "did you mean `loop.max_cycles`?")
        #expect(help(.workflowSpec, "mode") == "did you mean `loop.mode`?")
        #expect(help(.workflowSpec, "auto_rollback") == "did you mean `safety.auto_rollback`?")
        #expect(help(.agentSpec, "cost", kind: .agent) == "did you mean `metadata.cost`?")
        #expect(help(.document, "name", kind: .workspace) == "did you mean `metadata.name`?")
        #expect(help(.document, "root_path", kind: .workspace) == "did you mean `spec.root_path`?")
        #expect(help(.workspaceSpec, "description", kind: .workspace).contains("`metadata.description`"))
        #expect(help(.loop, "steps").contains("a Workflow's spec"))
    }

    @Test func keysOfAnotherKind() {
        #expect(help(.agentSpec, "prompt", kind: .agent).contains("StepTemplate"))
        #expect(help(.workspaceSpec, "capabilities", kind: .workspace).contains("an Agent's spec"))
        #expect(help(.workspaceSpec, "binary_snapshot", kind: .workspace).contains("a Workflow's `safety`"))
    }

    @Test func typosAndNoSuggestion() {
        #expect(help(.step, "requred_capability") == "did you mean `required_capability`?")
        #expect(help(.loop, "max_cycle") == "did you mean `max_cycles`?")
        #expect(help(.prehook, "expression") .hasPrefix("did you mean `when`?"))
        #expect(help(.step, "foobar").hasPrefix("remove it; the keys of a step are: `id`"))
        #expect(SchemaLevel.prehook.advice(forUnknownKey: "expression", kind: .workflow).sameLevelTarget == "when")
        #expect(SchemaLevel.loop.advice(forUnknownKey: "max_cycle", kind: .workflow).sameLevelTarget == "max_cycles")
    }

    @Test func everyLevelHasDistinctKeys() {
        for level in SchemaLevel.allCases {
            #expect(Set(level.keys).count == level.keys.count, "\(level)")
        }
    }
}
