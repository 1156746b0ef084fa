import Diagnostics
import Manifest
import Testing
import YAML

/// One test per diagnostic class: a small broken manifest, its rule, line and column.
@Suite struct DiagnosticTests {
    // MARK: unknown-key

    @Test func captureOnAStepPointsToBehaviorCaptures() {
        let loaded = load("""
            apiVersion: orchestrator.dev/v2
            kind: Workflow
            metadata:
              name: wf
            spec:
              steps:
                - id: qa
                  capture:
                    - var: x
                      source: stdout
            """)
        // The replaced system warned about unknown step keys: a warning here, an error with --strict.
        let finding = expectOne(loaded, "unknown-key", line: 8, column: 7)
        #expect(finding?.severity == .warning)
        #expect(finding?.message.hasPrefix("unknown key `capture` in a step; the replaced system warned about it") == true)
        #expect(finding?.help == "did you mean `behavior.captures`?")
        #expect(finding?.range?.end.column == 14)
        #expect(loaded.resources.count == 1)
        #expect(loaded.diagnostics.count == 1)
    }

    @Test func onFailureOnAStepPointsToBehavior() {
        let loaded = load("""
            apiVersion: orchestrator.dev/v2
            kind: Workflow
            metadata: {name: wf}
            spec:
              steps:
                - id: qa
                  on_failure: {action: continue}
            """)
        let finding = expectOne(loaded, "unknown-key", line: 7, column: 7)
        #expect(finding?.help == "did you mean `behavior.on_failure`?")
    }

    @Test func maxCyclesAtWorkflowTopLevelPointsToLoop() {
        let loaded = load("""
            apiVersion: orchestrator.dev/v2
            kind: Workflow
            metadata: {name: wf}
            spec:
              max_cycles: 3
              steps: [{id: qa}]
            """)
        let finding = expectOne(loaded, "unknown-key", line: 5, column: 3)
        #expect(finding?.help == "did you mean `loop.max_cycles`?")
    }

    @Test func promptOnAnAgentBelongsInAStepTemplate() {
        let loaded = load(Sample.agent + "\n  prompt: do the thing\n")
        let finding = expectOne(loaded, "unknown-key", line: 8, column: 3)
        #expect(finding?.help?.contains("StepTemplate") == true)
    }

    @Test func typoGetsDidYouMeanAndNoSecondMissingField() {
        let loaded = load("""
            apiVersion: orchestrator.dev/v2
            kind: Workspace
            metadata:
              name: ws
            spec:
              root_pth: .
            """)
        let finding = expectOne(loaded, "unknown-key", line: 6, column: 3)
        #expect(finding?.help == "did you mean `root_path`?")
        #expect(findings(loaded, "missing-field").isEmpty)
    }

    @Test func keyOfAnotherKindIsNamed() {
        let loaded = load(Sample.workspace + "\n  max_cycles: 3\n")
        let finding = expectOne(loaded, "unknown-key", line: 7, column: 3)
        #expect(finding?.help?.contains("a Workflow's `loop`") == true)
    }

    @Test func workspaceHealthPolicyIsAFieldNotExecuted() {
        let loaded = load(Sample.workspace + "\n  health_policy: {disease_threshold: 3}\n")
        #expect(findings(loaded, "unknown-key").isEmpty)
        let finding = expectOne(loaded, "not-executed", line: 7, column: 3)
        #expect(finding?.message.contains("spec.health_policy") == true)
        let wrong = load(Sample.workspace + "\n  health_policy: {disease_treshold: 3}\n")
        // HealthPolicySpec refused unknown keys: an error here too.
        #expect(expectOne(wrong, "unknown-key", line: 7, column: 19)?.severity == .error)
    }

    @Test func unknownKeyWithoutSuggestionListsTheKeys() {
        let loaded = load("""
            apiVersion: orchestrator.dev/v2
            kind: Workflow
            metadata: {name: wf}
            spec:
              steps:
                - id: qa
                  foobar: [test]
            """)
        let finding = expectOne(loaded, "unknown-key", line: 7, column: 7)
        #expect(finding?.help?.hasPrefix("remove it; the keys of a step are: `id`, `type`") == true)
    }

    @Test func envelopeKeyBelowItsLevel() {
        let loaded = load("""
            apiVersion: orchestrator.dev/v2
            kind: Workspace
            name: ws
            metadata: {name: ws}
            spec: {root_path: .}
            """)
        let finding = expectOne(loaded, "unknown-key", line: 3, column: 1)
        #expect(finding?.help == "did you mean `metadata.name`?")
    }

    @Test func prehookExpressionMeansWhen() {
        let loaded = load("""
            apiVersion: orchestrator.dev/v2
            kind: Workflow
            metadata: {name: wf}
            spec:
              steps:
                - id: qa
                  prehook:
                    engine: cel
                    expression: cycle > 1
            """)
        let finding = expectOne(loaded, "unknown-key", line: 9, column: 9)
        #expect(finding?.help?.hasPrefix("did you mean `when`?") == true)
        #expect(findings(loaded, "missing-field").isEmpty)
    }

    // MARK: type-mismatch

    @Test func mappingWhereAListOfStringsIsExpected() {
        let loaded = load(Sample.workspace + "\n  qa_targets:\n    docs: qa\n")
        let finding = expectOne(loaded, "type-mismatch", line: 8, column: 5)
        #expect(finding?.message == "expected a list of strings for `qa_targets`, found a mapping")
    }

    @Test func quotedBooleanIsAString() {
        let loaded = load(Sample.agent + "\n  enabled: \"false\"\n")
        let finding = expectOne(loaded, "type-mismatch", line: 8, column: 12)
        #expect(finding?.message == "expected a boolean (true or false) for `enabled`, found a string")
        #expect(finding?.help == "remove the quotes: a quoted value is always a string")
    }

    @Test func listEntryOfTheWrongType() {
        let loaded = load(Sample.agent + "\n  env:\n    - FOO=bar\n")
        let finding = expectOne(loaded, "type-mismatch", line: 9, column: 7)
        #expect(finding?.message.hasPrefix("expected a mapping") == true)
    }

    @Test func documentThatIsNotAMapping() {
        let loaded = load("- just\n- a list\n")
        expectOne(loaded, "type-mismatch", line: 1, column: 1)
    }

    // MARK: invalid-value

    @Test func enumValueOutsideTheSet() {
        let loaded = load("""
            apiVersion: orchestrator.dev/v2
            kind: Workflow
            metadata: {name: wf}
            spec:
              steps: [{id: qa}]
              loop:
                mode: fixd
            """)
        let finding = expectOne(loaded, "invalid-value", line: 7, column: 11)
        #expect(finding?.message == "`fixd` is not a valid value for `mode`; expected one of `once`, `fixed`, `infinite`")
        #expect(finding?.help?.hasPrefix("did you mean `fixed`?") == true)
    }

    @Test func captureSourceListsTheAllowedValues() {
        let loaded = load("""
            apiVersion: orchestrator.dev/v2
            kind: Workflow
            metadata: {name: wf}
            spec:
              steps:
                - id: qa
                  behavior:
                    captures:
                      - {var: x, source: output}
            """)
        let finding = expectOne(loaded, "invalid-value", line: 9, column: 30)
        #expect(finding?.help?.contains("`stdout`, `stderr`, `exit_code`, `failed_flag`, `success_flag`") == true)
        #expect(finding?.help?.hasPrefix("did you mean `stdout`?") == true)
    }

    @Test func negativeIntegerAndEmptySteps() {
        let loaded = load("""
            apiVersion: orchestrator.dev/v2
            kind: Workflow
            metadata: {name: wf}
            spec:
              steps: []
              stagger_delay_ms: -5
            """)
        #expect(findings(loaded, "invalid-value").count == 2)
        #expect(findings(loaded, "invalid-value").map { $0.range?.start.line } == [5, 6])
    }

    @Test func emptyPromptIsInvalid() {
        let loaded = load("""
            apiVersion: orchestrator.dev/v2
            kind: StepTemplate
            metadata: {name: t}
            spec:
              prompt: ""
            """)
        expectOne(loaded, "invalid-value", line: 5, column: 11)
    }

    // MARK: missing-field

    @Test func missingFieldAtTheParentKey() {
        let loaded = load("""
            apiVersion: orchestrator.dev/v2
            kind: Workspace
            metadata:
              name: ws
            spec:
              qa_targets: [docs]
            """)
        let finding = expectOne(loaded, "missing-field", line: 5, column: 1)
        #expect(finding?.message == "missing required field `root_path` in a Workspace's spec")
    }

    @Test func missingStepIdAtTheStepsMappingStart() {
        let loaded = load("""
            apiVersion: orchestrator.dev/v2
            kind: Workflow
            metadata: {name: wf}
            spec:
              steps:
                - id: a
                - type: qa
                  enabled: true
            """)
        expectOne(loaded, "missing-field", line: 7, column: 7)
    }

    @Test func missingSpecAndEmptyValue() {
        let loaded = load("""
            apiVersion: orchestrator.dev/v2
            kind: Agent
            metadata:
              name: a
            ---
            apiVersion: orchestrator.dev/v2
            kind: Agent
            metadata:
              name: b
            spec:
            """)
        let missing = findings(loaded, "missing-field")
        #expect(missing.count == 2)
        #expect(missing.first?.range?.start.line == 1)
        #expect(missing.last?.range?.start.line == 10)
        #expect(missing.last?.message == "`spec` has no value in a document's top level")
    }

    // MARK: api-version, kinds

    @Test func wrongAPIVersion() {
        let loaded = load(Sample.workspace.replacingOccurrences(of: "orchestrator.dev/v2", with: "orchestrator.dev/v1"))
        let finding = expectOne(loaded, "api-version", line: 1, column: 13)
        #expect(finding?.message.contains("`orchestrator.dev/v2`") == true)
        #expect(loaded.resources.isEmpty)
    }

    @Test func unknownKindWithSuggestion() {
        let loaded = load(Sample.workspace.replacingOccurrences(of: "kind: Workspace", with: "kind: Workspce"))
        let finding = expectOne(loaded, "unknown-kind", line: 2, column: 7)
        #expect(finding?.help == "did you mean `Workspace`?")
        let lower = load(Sample.workspace.replacingOccurrences(of: "kind: Workspace", with: "kind: workspace"))
        #expect(findings(lower, "unknown-kind").first?.help == "did you mean `Workspace`?")
    }

    @Test func triggerIsDecodedStoredAndExecuted() {
        let loaded = load("""
            apiVersion: orchestrator.dev/v2
            kind: Trigger
            metadata: {name: nightly}
            spec:
              cron: {schedule: "0 2 * * *"}
              action: {workflow: wf, workspace: ws}
            ---
            """ + "\n" + Sample.workspace)
        // The daemon fires Triggers (docs/triggers.md): no not-executed warning.
        #expect(!loaded.diagnostics.contains { $0.rule == "not-executed" }, "\(loaded.diagnostics)")
        #expect(loaded.resources.map(\.name) == ["nightly", "ws"])
        #expect(!loaded.hasErrors)
        // Trigger structs refused unknown keys: so do we.
        let wrong = load("""
            apiVersion: orchestrator.dev/v2
            kind: Trigger
            metadata: {name: nightly}
            spec:
              cron: {schedule: "0 2 * * *"}
              action: {workflow: wf, workspace: ws, goal: x}
            """)
        #expect(expectOne(wrong, "unknown-key", line: 6, column: 41)?.severity == .error)
    }

    // MARK: metadata

    @Test func invalidNames() {
        let loaded = load("""
            apiVersion: orchestrator.dev/v2
            kind: Agent
            metadata:
              name: -agent
            spec: {command: x}
            ---
            apiVersion: orchestrator.dev/v2
            kind: Agent
            metadata:
              name: "my agent"
            spec: {command: x}
            ---
            apiVersion: orchestrator.dev/v2
            kind: Agent
            metadata:
              name: \(String(repeating: "a", count: 254))
            spec: {command: x}
            ---
            apiVersion: orchestrator.dev/v2
            kind: Agent
            metadata:
              name: ok_agent.v2-1
            spec: {command: x}
            """)
        let names = findings(loaded, "invalid-name")
        #expect(names.map { $0.range?.start.line } == [4, 10, 16])
        #expect(names.map { $0.range?.start.column } == [9, 9, 9])
        #expect(loaded.resources.map(\.name) == ["ok_agent.v2-1"])
    }

    @Test func labelsMustBeAStringMap() {
        let loaded = load("""
            apiVersion: orchestrator.dev/v2
            kind: Workspace
            metadata:
              name: ws
              labels:
                team: core
                tier: [a, b]
            spec: {root_path: .}
            """)
        expectOne(loaded, "type-mismatch", line: 7, column: 11)
    }

    @Test func projectMismatchWithTheCommandLine() {
        let text = Sample.workspace.replacingOccurrences(of: "  name: ws", with: "  name: ws\n  project: alpha")
        let mismatch = load(text, project: "beta")
        let finding = expectOne(mismatch, "project-mismatch", line: 5, column: 12)
        #expect(finding?.help?.contains("--project alpha") == true)

        #expect(load(text, project: "alpha").resources.first?.resolvedProject == "alpha")
        #expect(load(text).resources.first?.resolvedProject == "alpha")
        #expect(load(Sample.workspace, project: "beta").resources.first?.resolvedProject == "beta")
        #expect(load(Sample.workspace).resources.first?.resolvedProject == "default")
    }

    // MARK: not-executed, conflicting-fields

    @Test func acceptedButNotExecutedIsWarnedAndStored() {
        let loaded = load("""
            apiVersion: orchestrator.dev/v2
            kind: Workflow
            metadata: {name: wf}
            spec:
              steps:
                - id: plan
                  behavior:
                    post_actions:
                      - type: scan_tickets
                        workflow: child
                        goal: more
              item_isolation:
                strategy: git_worktree
            """)
        let warnings = findings(loaded, "not-executed")
        // item_isolation and spawn_task are executed (docs/safety.md, docs/stores.md): only the
        // scan_tickets post-action is warned.
        #expect(warnings.map { $0.range?.start.line } == [9])
        #expect(warnings.map { $0.range?.start.column } == [19])
        #expect(!loaded.hasErrors)
        let workflow = loaded.resources.first?.workflow
        #expect(workflow?.storedOnly.isEmpty == true)
        #expect(workflow?.itemIsolation?.strategy?.value == "git_worktree")
        #expect(workflow?.steps.first?.behavior.postActions.first?.type.value == .scan_tickets)
        #expect(workflow?.steps.first?.behavior.postActions.first?.node["workflow"]?.scalar?.text == "child")
    }

    @Test func builtinWithRequiredCapability() {
        let loaded = load("""
            apiVersion: orchestrator.dev/v2
            kind: Workflow
            metadata: {name: wf}
            spec:
              steps:
                - id: guard
                  builtin: loop_guard
                  required_capability: qa
            """)
        expectOne(loaded, "conflicting-fields", line: 8, column: 7)
    }

    // MARK: YAML errors, rules

    @Test func yamlErrorsBecomeDiagnosticsAndOtherFilesStillLoad() {
        let broken = SourceFile(path: "broken.yaml", text: "kind: [unclosed\n")
        let good = SourceFile(path: "good.yaml", text: Sample.workspace)
        let loaded = ManifestLoader.load([broken, good], projectOverride: nil)
        #expect(loaded.diagnostics.count == 1)
        #expect(loaded.diagnostics.first?.file == "broken.yaml")
        #expect(loaded.diagnostics.first?.rule.hasPrefix("yaml-") == true)
        #expect(loaded.resources.map(\.file) == ["good.yaml"])
        #expect(loaded.sources.count == 2)
    }

    @Test func ruleIdsAreListedOnce() {
        let ids = ManifestRule.descriptions.map(\.id)
        #expect(Set(ids).count == ids.count)
        for id in ids {
            #expect(id.allSatisfy { $0 == "-" || ($0.isLowercase && $0.isLetter) }, "\(id) is kebab-case")
        }
        #expect(ManifestRule.notExecuted.defaultSeverity == .warning)
        #expect(ManifestRule.unknownKey.defaultSeverity == .error)
    }
}

@Suite struct CustomResourceDefinitionDecodeTests {
    @Test func definitionChecksArePositioned() {
        let loaded = load("""
            apiVersion: orchestrator.dev/v2
            kind: CustomResourceDefinition
            metadata: {name: bad.example.dev}
            spec:
              kind: Workflow
              plural: workflows
              group: example.dev
              versions:
                - name: v1
                  served: false
                  schema: {type: array}
            """)
        #expect(findings(loaded, "invalid-value").map { "\($0.range?.start.line ?? 0):\($0.range?.start.column ?? 0)" } == ["5:9", "6:11", "11:22", "9:5"])
        #expect(loaded.resources.isEmpty)
    }
}
