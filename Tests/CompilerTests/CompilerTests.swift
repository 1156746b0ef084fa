import Compiler
import Diagnostics
import Manifest
import Testing

private let agents = agent("coder", capabilities: ["implement", "review"], cost: 2)
    + agent("cheap", capabilities: ["review"], cost: 1)
    + agent("off", capabilities: ["deploy"], enabled: false)
    + document("StepTemplate", "implement", "  prompt: Implement {goal}.\n")

@Suite struct StepGraphTests {
    @Test func kindResolutionOrder() throws {
        let compilation = compile(
            agents
                + document(
                    "Workflow", "wf",
                    """
                      steps:
                        - id: a
                          chain_steps:
                            - id: a1
                              command: echo 1
                          command: ignored
                        - id: b
                          command: make
                          builtin: self_test
                        - id: c
                          builtin: self_test
                        - id: d
                          type: self_test
                          required_capability: implement
                        - id: self_restart
                        - id: e
                          type: review

                    """))
        let graph = try #require(compilation.workflows.first)
        #expect(graph.steps.map(\.kind) == [
            .chain, .command("make"), .builtin(.self_test), .agent(capability: "implement"), .builtin(.self_restart),
            .agent(capability: "review"),
        ])
        #expect(graph.steps[0].children.map(\.id) == ["a1"])
    }

    @Test func scopeByIDAndGuards() throws {
        let compilation = compile(
            agent("all", capabilities: ["qa", "plan", "fix"])
                + document(
                    "Workflow", "wf",
                    """
                      max_parallel: 3
                      steps:
                        - id: plan
                        - id: qa
                        - id: ticket_scan
                        - id: fix
                          max_parallel: 5
                          scope: task
                        - id: loop_guard
                        - id: qa_testing
                          enabled: false
                          required_capability: qa

                    """))
        let graph = try #require(compilation.workflows.first)
        #expect(graph.steps.map(\.scope) == [.task, .item, .item, .task, .task, .item])
        #expect(graph.steps.map(\.isGuard) == [false, false, false, false, true, false])
        #expect(graph.segments.map(\.stepIDs) == [["plan"], ["qa", "ticket_scan"], ["fix"]])
        #expect(graph.segments.map(\.maxParallel) == [1, 3, 1])
        #expect(graph.steps.map(\.segment) == [1, 2, 2, 3, nil, nil])
    }

    @Test func agentSelectionLowestCostThenName() throws {
        let compilation = compile(
            agents + agent("also-cheap", capabilities: ["review"], cost: 1)
                + document("Workflow", "wf", "  steps:\n    - id: review\n    - id: implement\n      template: implement\n"))
        let graph = try #require(compilation.workflows.first)
        #expect(graph.steps[0].agent?.name == "also-cheap")
        #expect(graph.steps[0].agent?.alternatives == ["cheap", "coder"])
        #expect(graph.steps[1].agent?.name == "coder")
        #expect(graph.steps[1].template?.prompt == "Implement {goal}.")
        #expect(graph.steps[1].profile == .implicitHost)
        #expect(!compilation.hasErrors)
    }

    @Test func capabilityOfDisabledAgentOnlyIsNotServed() throws {
        let found = diagnostics(agents + document("Workflow", "wf", "  steps:\n    - id: deploy\n"))
        let finding = try #require(found.first { $0.rule == "capability-not-served" })
        #expect(finding.help?.contains("`off` has it but is disabled") == true)
    }

    @Test func undefinedVariableOnlyForLaterCaptures() {
        let text = agents
                + document(
                    "Workflow", "wf",
                    """
                      steps:
                        - id: implement
                          prehook:
                            when: size(later) > 0 && review_exit_code == 0
                        - id: review
                          behavior:
                            captures:
                              - var: later
                                source: stdout
                        - id: again
                          type: review
                          prehook:
                            when: size(later) > 0 && review_exit_code == 0 && implement_output != ''

                    """)
        let found = diagnostics(text)
        let line = text.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0.contains("when: size(later)") }.map { $0 + 1 }
        let undefined = found.filter { $0.rule == "undefined-variable" }
        #expect(undefined.count == 2)
        #expect(undefined.allSatisfy { $0.severity == .warning && $0.range?.start.line == line })
        #expect(undefined.first?.range?.start.column == 20)  // `later` inside `        when: size(later)`
        #expect(undefined.map(\.message).contains { $0.contains("`later`") })
        #expect(undefined.map(\.message).contains { $0.contains("`review_exit_code`") })
    }

    @Test func referencesResolveInOwnFileFirstThenTheProject() throws {
        let shared = document("StepTemplate", "t", "  prompt: shared\n") + agent("worker", capabilities: ["implement"])
        let own = document("StepTemplate", "t", "  prompt: own\n")
            + document("Workflow", "wf", "  steps:\n    - id: implement\n      template: t\n")
        let other = document("Workflow", "wf2", "  steps:\n    - id: implement\n      template: t\n")
        let (compilation, _) = compile([("shared.yaml", shared), ("own.yaml", own), ("other.yaml", other)])
        #expect(!compilation.hasErrors, "\(compilation.diagnostics)")
        #expect(compilation.workflows.map { $0.steps[0].template?.prompt } == ["own", "own"])
        // other.yaml has no `t`: the last definition given (own.yaml) wins.
    }

    @Test func storedResourcesResolveAndMakeDeploymentReferencesStrict() throws {
        let stored = compile([("stored.yaml", agents)]).1.resources
        let workflow = document(
            "Workflow", "wf", "  steps:\n    - id: implement\n      template: implement\n      execution_profile: sandbox\n")
        let (unread, _) = compile([("wf.yaml", workflow)])
        #expect(unread.diagnostics.map(\.rule).contains("capability-not-served"))
        let (read, _) = compile([("wf.yaml", workflow)], store: .read(stored))
        #expect(read.diagnostics.map(\.rule) == ["unresolved-reference"])
        #expect(read.diagnostics.first?.severity == .error)
        #expect(read.workflows.first?.steps.first?.agent?.name == "coder")
        let (files, _) = compile([("agents.yaml", agents), ("wf.yaml", workflow)])
        #expect(files.diagnostics.map(\.severity) == [.warning])
    }

    @Test func projectsAreSeparate() {
        let text = agents
            + "---\napiVersion: orchestrator.dev/v2\nkind: Workflow\nmetadata:\n  name: wf\n  project: other\nspec:\n  steps:\n    - id: implement\n"
        #expect(diagnostics(text).map(\.rule).contains("capability-not-served"))
    }

    @Test func selfReferentialWorkspaceInTheSameFile() {
        let workspace = document("Workspace", "self", "  root_path: .\n  self_referential: true\n")
        let unsafe = diagnostics(workspace + agents + document("Workflow", "wf", "  steps:\n    - id: implement\n"))
            .filter { $0.rule == "self-referential-unsafe" }
        #expect(unsafe.count == 3)
        let safe = diagnostics(
            workspace + agents
                + document(
                    "Workflow", "wf",
                    "  steps:\n    - id: implement\n    - id: self_test\n  safety:\n    auto_rollback: true\n    checkpoint_strategy: git_stash\n"))
        #expect(safe.filter { $0.rule == "self-referential-unsafe" }.isEmpty)
    }

    @Test func infiniteLoopWithAGuardThatCannotStop() {
        let found = diagnostics(
            agents
                + document(
                    "Workflow", "wf",
                    "  steps:\n    - id: implement\n    - id: loop_guard\n  loop:\n    mode: infinite\n    stop_when_no_unresolved: false\n"))
        #expect(found.map(\.rule).contains("loop-cannot-end"))
        let stops = diagnostics(
            agents + document("Workflow", "wf", "  steps:\n    - id: implement\n    - id: loop_guard\n  loop:\n    mode: infinite\n"))
        #expect(!stops.map(\.rule).contains("loop-cannot-end"))
    }
}

@Suite struct ContentHashTests {
    static let original = agents
        + document(
            "Workflow", "wf",
            """
              steps:
                - id: implement
                  template: implement
                  prehook:
                    when: "cycle > 1 && is_last_cycle"
                - id: review
                  repeatable: false
              loop:
                mode: fixed
                max_cycles: 2

            """)

    func hash(_ text: String, file: String = "test.yaml") -> String? {
        compile([(file, text)]).0.workflows.first?.contentHash
    }

    @Test func sameInputSameHash() throws {
        let first = try #require(hash(ContentHashTests.original))
        #expect(first.count == 64)
        #expect(hash(ContentHashTests.original) == first)
        #expect(hash(ContentHashTests.original, file: "elsewhere/renamed.yaml") == first)
    }

    @Test func formattingCommentsAndKeyOrderDoNotChangeIt() throws {
        let first = try #require(hash(ContentHashTests.original))
        let reformatted = "# a comment\n" + agents
            + """
            ---
            kind: Workflow          # kind first
            apiVersion: orchestrator.dev/v2
            metadata: {name: wf}
            spec:
              loop: {max_cycles: 2, mode: fixed}
              steps:
                  -   template: 'implement'     # quoting style
                      id: implement
                      prehook:
                          when: >-
                            cycle > 1 && is_last_cycle
                  -   repeatable: false
                      id: review

            """
        #expect(hash(reformatted) == first)
    }

    @Test func semanticChangesChangeIt() throws {
        let first = try #require(hash(ContentHashTests.original))
        let changes: [(String, String)] = [
            ("max_cycles: 2", "max_cycles: 3"),
            ("repeatable: false", "repeatable: true"),
            ("cycle > 1", "cycle > 2"),
            ("Implement {goal}.", "Implement {goal} well."),
            ("run coder", "run coder --fast"),
            ("cost: 2", "cost: 0"),  // cheap (cost 1) no longer... coder still serves implement; its cost is part of the binding
        ]
        for (from, to) in changes {
            let changed = ContentHashTests.original.replacingFirst(from, with: to)
            #expect(changed != ContentHashTests.original, "\(from)")
            #expect(hash(changed) != first, "\(from) -> \(to)")
        }
    }
}

extension String {
    func replacingFirst(_ target: String, with replacement: String) -> String {
        let characters = Array(self)
        let needle = Array(target)
        guard !needle.isEmpty, characters.count >= needle.count else { return self }
        for start in 0...(characters.count - needle.count) where Array(characters[start..<start + needle.count]) == needle {
            return String(characters[..<start]) + replacement + String(characters[(start + needle.count)...])
        }
        return self
    }
}

@Suite struct ExpressionPositionTests {
    func undefined(_ prehook: String) -> [Diagnostic] {
        diagnostics(agents + document("Workflow", "wf", "  steps:\n    - id: implement\n      prehook:\n" + prehook))
            .filter { $0.rule == "undefined-variable" }
    }

    /// Line and column of `marker` in the file the prehook is compiled in.
    func position(_ marker: String, _ prehook: String) -> (Int, Int)? {
        let text = agents + document("Workflow", "wf", "  steps:\n    - id: implement\n      prehook:\n" + prehook)
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let characters = Array(line)
            let needle = Array(marker)
            guard characters.count >= needle.count else { continue }
            for start in 0...(characters.count - needle.count) where Array(characters[start..<start + needle.count]) == needle {
                return (number + 1, start + 1)
            }
        }
        return nil
    }

    @Test func insideAFoldedBlockScalar() throws {
        let prehook = "        when: >-\n          is_last_cycle &&\n          ticket_count > 0\n"
        let found = try #require(undefined(prehook).first)
        let expected = try #require(position("ticket_count", prehook))
        #expect(found.range?.start.line == expected.0)
        #expect(found.range?.start.column == expected.1)
        #expect(found.range?.end.column == expected.1 + "ticket_count".count)
    }

    @Test func insideADoubleQuotedScalarWithEscapes() throws {
        let prehook = "        when: \"qa_file_path.startsWith(\\\"docs/\\\") && nope\"\n"
        let found = try #require(undefined(prehook).first)
        let expected = try #require(position("nope", prehook))
        #expect(found.range?.start.line == expected.0)
        #expect(found.range?.start.column == expected.1)
    }

    @Test func syntaxErrorInsideALiteralBlockScalar() throws {
        let prehook = "        when: |\n          cycle > 1 &&\n          (is_last_cycle\n"
        let found = diagnostics(agents + document("Workflow", "wf", "  steps:\n    - id: implement\n      prehook:\n" + prehook))
            .filter { $0.rule == "expr-syntax" }
        let finding = try #require(found.first)
        let expected = try #require(position("(is_last_cycle", prehook))
        #expect(finding.range?.start.line ?? 0 >= expected.0)
    }
}

@Suite struct VariableScopeTests {
    @Test func generateItemsVarsAreItemVariablesForLaterSteps() {
        let found = diagnostics(
            agents
                + document(
                    "Workflow", "wf",
                    """
                      steps:
                        - id: implement
                          behavior:
                            post_actions:
                              - type: generate_items
                                from_var: implement_output
                                mapping:
                                  item_id: "$.id"
                                  vars:
                                    publishable: "$.publishable"
                        - id: review
                          scope: item
                          prehook:
                            when: publishable == "true"

                    """))
        #expect(found.filter { $0.severity != .note }.isEmpty, "\(found)")
    }

    @Test func generateItemsFromAnUnsetVariable() throws {
        let found = diagnostics(
            agents
                + document(
                    "Workflow", "wf",
                    "  steps:\n    - id: implement\n      behavior:\n        post_actions:\n          - type: generate_items\n            from_var: targets\n"))
        let finding = try #require(found.first { $0.rule == "undefined-variable" })
        #expect(finding.message.contains("`targets`"))
    }

    @Test func chainChildrenShareTheChainsScopeAndIDs() throws {
        let compilation = compile(
            agents
                + document(
                    "Workflow", "wf",
                    """
                      steps:
                        - id: qa
                          chain_steps:
                            - id: implement
                              behavior:
                                captures:
                                  - var: result
                                    source: exit_code
                            - id: review
                              scope: task
                              prehook:
                                when: result == 0 && implement_exit_code == 0
                        - id: review

                    """))
        let graph = try #require(compilation.workflows.first)
        let chain = try #require(graph.steps.first)
        #expect(chain.kind == .chain && chain.scope == .item)
        #expect(chain.children.map(\.scope) == [.item, .item])
        #expect(compilation.diagnostics.map(\.rule) == ["duplicate-step-id"])
    }
}
