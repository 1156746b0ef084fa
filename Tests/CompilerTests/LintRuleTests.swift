import Compiler
import Diagnostics
import Manifest
import Testing

/// `file:line:col rule` of the findings of `rules` (all lint rules when empty).
private func found(_ findings: [Diagnostic], _ rules: Set<String>) -> [String] {
    findings.filter { rules.contains($0.rule) }.map { "\($0.range?.start.description ?? "-") \($0.rule)" }.sorted()
}

private func workflow(_ body: String, name: String = "wf") -> String {
    "apiVersion: orchestrator.dev/v2\nkind: Workflow\nmetadata:\n  name: \(name)\nspec:\n" + body
}

private let reviewer = """
    apiVersion: orchestrator.dev/v2
    kind: Agent
    metadata:
      name: reviewer
    spec:
      capabilities: [review, triage]
      command: review-bot -p "{prompt}"
    ---

    """

@Suite struct LintRuleTests {
    // MARK: placeholders

    @Test func shellSyntaxIsNoPlaceholder() {
        let text = workflow(
            """
              steps:
                - id: build
                  command: echo ${HOME} \\{x} {goal} '{quoted}' "{double}" # {commented}
            """)
        #expect(found(lint(text), ["unknown-placeholder"]) == ["8:42 unknown-placeholder", "8:53 unknown-placeholder"])
    }

    @Test func placeholdersInsideBlockScalarsArePositioned() {
        let text = reviewer + """
            apiVersion: orchestrator.dev/v2
            kind: StepTemplate
            metadata:
              name: review
            spec:
              prompt: >-
                Review the change
                for {goal} and {missing_thing}.
            ---

            """ + workflow(
                """
                  steps:
                    - id: review
                      template: review
                """)
        #expect(found(lint(text), ["unknown-placeholder"]) == ["16:20 unknown-placeholder"])
    }

    @Test func aTemplateSharedByStepsIsReportedOnce() {
        let text = reviewer + """
            apiVersion: orchestrator.dev/v2
            kind: StepTemplate
            metadata:
              name: review
            spec:
              prompt: Review {notes}.
            ---

            """ + workflow(
                """
                  steps:
                    - id: review
                      template: review
                    - id: triage
                      template: review
                """)
        let findings = lint(text).filter { $0.rule == "unknown-placeholder" }
        #expect(findings.count == 1)
        #expect(findings.first?.message.contains("steps `review`, `triage`") == true)
    }

    @Test func itemVariablesOfGeneratedItemsReachLaterSegments() {
        let text = """
            apiVersion: orchestrator.dev/v2
            kind: Workspace
            metadata:
              name: ws
            spec:
              root_path: .
            ---

            """ + workflow(
                """
                  steps:
                    - id: plan
                      command: ./plan.sh
                      behavior:
                        post_actions:
                          - type: generate_items
                            from_var: plan_output
                            mapping:
                              item_id: $.id
                              vars: {flavour: $.flavour}
                    - id: cook
                      scope: item
                      command: ./cook.sh {flavour} {item_id}
                """)
        #expect(found(lint(text), ["unknown-placeholder", "undefined-variable", "item-steps-without-items"]).isEmpty)
    }

    @Test func aVariableOfALaterStepInAOnceLoopNeverHasAValue() {
        let text = workflow(
            """
              steps:
                - id: report
                  command: ./report.sh {build_output}
                - id: build
                  command: make
            """)
        let finding = lint(text).first { $0.rule == "undefined-variable" }
        #expect(finding?.range?.start.description == "8:28")
        #expect(finding?.message.contains("never has a value") == true)
    }

    @Test func compilerAndLintNeverReportTheSameVariableTwice() {
        let text = workflow(
            """
              loop: {mode: fixed, max_cycles: 2}
              steps:
                - id: report
                  command: ./report.sh {ok}
                  prehook:
                    when: ok
                - id: build
                  command: make
                  behavior:
                    captures: [{var: ok, source: success_flag}]
            """)
        #expect(found(lint(text), ["undefined-variable"]) == ["11:15 undefined-variable", "9:28 undefined-variable"])
    }

    // MARK: cycles

    @Test func longLoopsAreExaminedWithoutFalsePositives() {
        let text = workflow(
            """
              loop: {mode: fixed, max_cycles: 1000}
              steps:
                - id: every_500
                  command: ./a.sh
                  prehook: {when: "cycle % 500 == 0"}
                - id: last_only
                  command: ./b.sh
                  repeatable: false
                  prehook: {when: is_last_cycle}
                - id: never
                  command: ./c.sh
                  prehook: {when: "max_cycles < 10"}
                - id: too_late
                  command: ./d.sh
                  prehook: {when: "cycle > 1000"}
            """)
        // Cycles 2-999 are examined with `cycle` unknown: `cycle > 1000` is not decided there, so
        // it is not reported (no false positive, at the price of this miss).
        #expect(found(lint(text), ["step-never-runs", "prehook-constant"]) == ["11:11 step-never-runs", "15:11 step-never-runs"])
    }

    @Test func uncappedLoopsAreNotJudgedByTheirFirstCycles() {
        let text = workflow(
            """
              loop: {mode: infinite}
              steps:
                - id: later
                  command: ./a.sh
                  prehook: {when: "cycle > 3"}
                - id: last
                  command: ./b.sh
                  prehook: {when: is_last_cycle}
                - id: loop_guard
            """)
        #expect(found(lint(text), ["step-never-runs", "prehook-constant"]) == ["11:11 step-never-runs"])
    }

    /// A surely false prehook is one finding: `step-never-runs`, or `prehook-constant` when the
    /// former is off.
    @Test func aSurelyFalsePrehookIsReportedOnce() throws {
        let text = workflow(
            """
              steps:
                - id: never
                  command: ./a.sh
                  prehook: {when: "cycle > 1"}
            """)
        let both = lint(text)
        #expect(found(both, ["step-never-runs", "prehook-constant"]) == ["7:11 step-never-runs"])
        #expect(both.first { $0.rule == "step-never-runs" }?.message == "step `never` never runs: its prehook is false in every cycle (cycle is 1 in cycle 1)")
        var configuration = LintConfiguration()
        try configuration.apply(enable: [], disable: ["step-never-runs"])
        #expect(found(lint(text, configuration: configuration), ["step-never-runs", "prehook-constant"]) == ["9:23 prehook-constant"])
    }

    // MARK: credentials

    @Test func credentialHeuristics() {
        let text = """
            apiVersion: orchestrator.dev/v2
            kind: EnvStore
            metadata:
              name: env
            spec:
              data:
                MAX_TOKENS: "4096"
                DB_PASSWORD: changeme
                ADMIN_PASSWORD: Wint3r-is-c0ming
                MODEL: claude-sonnet-4-6
                PLAIN: AKIAIOSFODNN7EXAMPL3
                SESSION: eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U
            ---
            apiVersion: orchestrator.dev/v2
            kind: SecretStore
            metadata:
              name: secrets
            spec:
              data:
                API_KEY: sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123456789
                OTHER_API_KEY: not-a-known-format-but-a-secret-store
            """
        #expect(
            found(lint(text), ["secret-in-plain-text"]) == [
                "11:12 secret-in-plain-text", "12:14 secret-in-plain-text", "20:14 secret-in-plain-text", "9:21 secret-in-plain-text",
            ])
    }

    // MARK: gates

    @Test func testToolsAreFoundAtCommandPositionsOnly() {
        let text = workflow(
            """
              steps:
                - id: echo_only
                  command: "echo 'cargo test ok'"
                - id: tests
                  command: cd core && RUST_BACKTRACE=1 cargo test --lib
                - id: deploy
                  command: ./deploy.sh
            """)
        #expect(found(lint(text), ["ignored-gate-failure"]) == ["9:11 ignored-gate-failure"])
    }

    @Test func aGateReadInTheNextCycleIsNotIgnored() {
        let text = workflow(
            """
              loop: {mode: fixed, max_cycles: 3}
              steps:
                - id: fix
                  command: ./fix.sh {tests_output}
                - id: tests
                  command: swift test
            """)
        #expect(found(lint(text), ["ignored-gate-failure"]).isEmpty)
    }

    // MARK: prompts, resources, items

    @Test func everyCommandOfAnAgentIsChecked() {
        let text = """
            apiVersion: orchestrator.dev/v2
            kind: Agent
            metadata:
              name: coder
            spec:
              capabilities: [implement]
              command: coder -p "{prompt}"
              command_rules:
                - when: "cycle > 1"
                  command: coder --resume
            ---
            apiVersion: orchestrator.dev/v2
            kind: StepTemplate
            metadata:
              name: implement
            spec:
              prompt: Implement {goal}.
            ---

            """ + workflow(
                """
                  loop: {mode: fixed, max_cycles: 2}
                  steps:
                    - id: implement
                      template: implement
                """)
        #expect(found(lint(text), ["prompt-not-delivered"]) == ["10:16 prompt-not-delivered"])
    }

    @Test func usesCountAcrossFilesOfOneProject() {
        let template = """
            apiVersion: orchestrator.dev/v2
            kind: StepTemplate
            metadata:
              name: review
            spec:
              prompt: Review {goal}.
            ---
            apiVersion: orchestrator.dev/v2
            kind: StepTemplate
            metadata:
              name: review
              project: other
            spec:
              prompt: Review {goal}.
            """
        let flow = reviewer + workflow(
            """
              steps:
                - id: review
                  template: review
            """)
        let findings = lint([(name: "templates.yaml", text: template), (name: "flow.yaml", text: flow)])
        let unused = findings.filter { $0.rule == "unused-resource" }
        #expect(unused.map { "\($0.file ?? ""):\($0.range?.start.description ?? "")" } == ["templates.yaml:11:9"])
    }

    @Test func noWorkspaceInSightNoItemFinding() {
        let text = workflow(
            """
              steps:
                - id: qa
                  command: ./qa.sh {rel_path}
            """)
        #expect(found(lint(text), ["item-steps-without-items"]).isEmpty)
    }
}
