import Diagnostics
import Manifest
import Testing
import YAML

/// Decoded values and defaults.
@Suite struct DecodeTests {
    @Test func defaultsOfEveryKind() {
        let loaded = load("""
            apiVersion: orchestrator.dev/v2
            kind: Workspace
            metadata: {name: ws}
            spec: {root_path: .}
            ---
            apiVersion: orchestrator.dev/v2
            kind: Agent
            metadata: {name: a}
            spec: {command: run}
            ---
            apiVersion: orchestrator.dev/v2
            kind: Workflow
            metadata: {name: wf}
            spec:
              steps:
                - id: qa
            ---
            apiVersion: orchestrator.dev/v2
            kind: ExecutionProfile
            metadata: {name: p}
            spec: {}
            ---
            apiVersion: orchestrator.dev/v2
            kind: Project
            metadata: {name: proj}
            spec: {}
            """)
        #expect(loaded.diagnostics.isEmpty, "\(loaded.diagnostics)")
        #expect(loaded.resources.map(\.kind) == [.workspace, .agent, .workflow, .executionProfile, .project])

        let workspace = loaded.resources[0].workspace
        #expect(workspace?.qaTargets.isEmpty == true)
        #expect(workspace?.ticketDirectory == "tickets")
        #expect(workspace?.artifactsDirectory == ".orchestrator/artifacts")
        #expect(workspace?.isSelfReferential == false)
        #expect(workspace?.selfTest == nil)

        let agent = loaded.resources[1].agent
        #expect(agent?.isEnabled == true)
        #expect(agent?.delivery == .arg)
        #expect(agent?.capabilities.isEmpty == true)
        #expect(agent?.env.isEmpty == true)
        #expect(agent?.cost == nil)

        let workflow = loaded.resources[2].workflow
        #expect(workflow?.loop.loopMode == .once)
        #expect(workflow?.loop.isEnabled == true)
        #expect(workflow?.loop.stopsWhenNothingUnresolved == true)
        #expect(workflow?.loop.range == nil)
        #expect(workflow?.safety.consecutiveFailureLimit == 3)
        #expect(workflow?.safety.rollsBack == false)
        #expect(workflow?.safety.checkpoint == CheckpointStrategy.none)
        #expect(workflow?.safety.drift == .pin)
        #expect(workflow?.safety.itemStepFailureLimit == 3)
        #expect(workflow?.finalizeRules == nil)
        let step = workflow?.steps.first
        #expect(step?.isEnabled == true)
        #expect(step?.isRepeatable == true)
        #expect(step?.stepType == "qa")
        #expect(step?.behavior.onFailure == nil)
        #expect(step?.behavior.captures.isEmpty == true)

        #expect(loaded.resources.allSatisfy { $0.resolvedProject == "default" })
        #expect(loaded.resources.allSatisfy { $0.apiVersion == "orchestrator.dev/v2" })
    }

    @Test func richWorkflowDecodesEveryField() {
        let loaded = load("""
            apiVersion: orchestrator.dev/v2
            kind: Workflow
            metadata:
              name: full
              project: p1
              description: everything
              labels: {team: core}
            spec:
              max_parallel: 4
              stagger_delay_ms: 250
              loop:
                mode: fixed
                max_cycles: 2
                stop_when_no_unresolved: false
                convergence_expr:
                  - engine: cel
                    when: cycle >= 2
                    reason: enough
              safety:
                max_consecutive_failures: 5
                auto_rollback: true
                checkpoint_strategy: git_tag
                step_timeout_secs: 600
                on_drift: adopt
              finalize:
                rules:
                  - id: ok
                    engine: cel
                    when: active_ticket_count == 0
                    status: qa_passed
              steps:
                - id: init
                  builtin: init_once
                  repeatable: false
                - id: qa
                  scope: item
                  template: qa_tpl
                  required_capability: qa
                  tty: false
                  timeout_secs: 60
                  cost_preference: quality
                  prehook:
                    engine: cel
                    when: "cycle > 1"
                    reason: later
                  behavior:
                    on_failure: {action: set_status, status: failed}
                    on_success: {action: continue}
                    captures:
                      - {var: score, source: stdout, json_path: $.score}
                    post_actions:
                      - type: generate_items
                        from_var: score
                        json_path: $.items
                        mapping:
                          item_id: $.id
                          label: $.name
                          vars: {approach: $.approach}
                        replace: true
                    collect_artifacts: true
                  store_inputs:
                    - {store: s, key: k, as_var: v}
                - id: build
                  chain_steps:
                    - id: compile
                      command: make
                    - id: test
                      command: make test
            """)
        #expect(loaded.diagnostics.isEmpty, "\(loaded.diagnostics)")
        guard let resource = loaded.resources.first, let workflow = resource.workflow else {
            Issue.record("no workflow")
            return
        }
        #expect(resource.metadata.description == "everything")
        #expect(resource.metadata.labels.map(\.key) == ["team"])
        #expect(resource.resolvedProject == "p1")
        #expect(resource.kindRange.start.line == 2)
        #expect(workflow.maxParallel?.value == 4)
        #expect(workflow.staggerDelayMs?.value == 250)
        #expect(workflow.loop.loopMode == .fixed)
        #expect(workflow.loop.maxCycles?.value == 2)
        #expect(workflow.loop.stopsWhenNothingUnresolved == false)
        #expect(workflow.loop.convergence.first?.when.text == "cycle >= 2")
        #expect(workflow.loop.convergence.first?.when.range.start.line == 17)
        #expect(workflow.loop.range?.start.line == 11)
        #expect(workflow.safety.consecutiveFailureLimit == 5)
        #expect(workflow.safety.checkpoint == .git_tag)
        #expect(workflow.safety.drift == .adopt)
        #expect(workflow.safety.stepTimeoutSecs?.value == 600)
        #expect(workflow.finalizeRules?.first?.status.value == "qa_passed")
        #expect(workflow.finalizeRules?.first?.id?.value == "ok")

        #expect(workflow.steps.map(\.id.value) == ["init", "qa", "build"])
        #expect(workflow.steps[0].builtin?.value == .init_once)
        #expect(workflow.steps[0].isRepeatable == false)
        let qa = workflow.steps[1]
        #expect(qa.scope?.value == .item)
        #expect(qa.template?.value == "qa_tpl")
        #expect(qa.requiredCapability?.value == "qa")
        #expect(qa.tty?.value == false)
        #expect(qa.timeoutSecs?.value == 60)
        #expect(qa.costPreference?.value == .quality)
        #expect(qa.prehook?.when.text == "cycle > 1")
        #expect(qa.prehook?.when.node.scalar?.style == .doubleQuoted)
        #expect(qa.prehook?.reason == "later")
        #expect(qa.behavior.onFailure?.action.value == .set_status)
        #expect(qa.behavior.onFailure?.status?.value == "failed")
        #expect(qa.behavior.onSuccess?.action.value == .continue)
        #expect(qa.behavior.captures.first?.source.value == .stdout)
        #expect(qa.behavior.captures.first?.jsonPath?.value == "$.score")
        let generate = qa.behavior.postActions.first?.generateItems
        #expect(generate?.fromVar.value == "score")
        #expect(generate?.itemID?.value == "$.id")
        #expect(generate?.label?.value == "$.name")
        #expect(generate?.vars.first?.value.value == "$.approach")
        #expect(generate?.replace == true)
        #expect(qa.behavior.collectArtifacts?.value == true)
        #expect(qa.storedOnly.isEmpty)
        #expect(qa.storeInputs.map { [$0.store.value, $0.key.value, $0.asVar.value] } == [["s", "k", "v"]])
        #expect(qa.storeInputs.first?.required == false)
        #expect(qa.range.start.line == 35)
        #expect(workflow.steps[2].chainSteps?.map(\.command?.value) == ["make", "make test"])
    }

    @Test func agentEnvStoresAndProfiles() {
        let loaded = load("""
            apiVersion: orchestrator.dev/v2
            kind: Agent
            metadata: {name: claude, description: the agent}
            spec:
              command: claude -p "{prompt}"
              capabilities: [plan, qa]
              enabled: false
              promptDelivery: stdin
              env:
                - {name: MODE, value: fast}
                - fromRef: claude-secrets
                - name: TOKEN
                  refValue: {name: claude-secrets, key: API_KEY}
              command_rules:
                - when: loop_session_id != ""
                  command: claude --resume
              metadata:
                cost: 3
                description: strong
              selection: {strategy: cost_based}
            ---
            apiVersion: orchestrator.dev/v2
            kind: SecretStore
            metadata: {name: claude-secrets}
            spec:
              data:
                API_KEY: {fromEnv: ANTHROPIC_API_KEY}
                MODEL: claude-opus
                RETRIES: 3
            ---
            apiVersion: orchestrator.dev/v2
            kind: ExecutionProfile
            metadata: {name: sandboxed}
            spec:
              mode: sandbox
              fs_mode: workspace_rw_scoped
              writable_paths: [docs]
              network_mode: allowlist
              network_allowlist: [api.anthropic.com:443]
              max_memory_mb: 2048
            ---
            apiVersion: orchestrator.dev/v2
            kind: StepTemplate
            metadata: {name: qa_tpl}
            spec:
              description: QA
              prompt: |
                Review {goal}.
            """)
        #expect(loaded.diagnostics.isEmpty, "\(loaded.diagnostics)")
        #expect(loaded.resources.count == 4)
        guard loaded.resources.count == 4, let agent = loaded.resources[0].agent else { return }
        #expect(agent.isEnabled == false)
        #expect(agent.delivery == .stdin)
        #expect(agent.capabilities.map(\.value) == ["plan", "qa"])
        #expect(agent.cost?.value == 3)
        #expect(agent.agentDescription == "strong")
        #expect(agent.selection?["strategy"]?.scalar?.text == "cost_based")
        #expect(agent.commandRules.first?.when.text == "loop_session_id != \"\"")
        #expect(agent.env.count == 3)
        if case .literal(let name, let value) = agent.env[0].value {
            #expect(name.value == "MODE" && value.value == "fast")
        } else { Issue.record("literal env") }
        if case .fromRef(let store) = agent.env[1].value { #expect(store.value == "claude-secrets") } else {
            Issue.record("fromRef env")
        }
        if case .refValue(let name, let store, let key) = agent.env[2].value {
            #expect([name.value, store.value, key.value] == ["TOKEN", "claude-secrets", "API_KEY"])
        } else { Issue.record("refValue env") }

        if case .secretStore(let store) = loaded.resources[1].spec {
            #expect(store.data.map(\.key.value) == ["API_KEY", "MODEL", "RETRIES"])
            #expect(store.data.map(\.value.value) == [.fromEnv("ANTHROPIC_API_KEY"), .literal("claude-opus"), .literal("3")])
        } else { Issue.record("secret store") }

        if case .executionProfile(let profile) = loaded.resources[2].spec {
            #expect(profile.mode?.value == .sandbox)
            #expect(profile.fsMode?.value == .workspace_rw_scoped)
            #expect(profile.networkMode?.value == .allowlist)
            #expect(profile.networkAllowlist.map(\.value) == ["api.anthropic.com:443"])
            #expect(profile.maxMemoryMB?.value == 2048)
        } else { Issue.record("profile") }

        if case .stepTemplate(let template) = loaded.resources[3].spec {
            #expect(template.prompt.value == "Review {goal}.")  // clip chomping, no final line break
            #expect(template.description == "QA")
        } else { Issue.record("template") }
    }

    @Test func emptyAndCommentOnlyDocumentsAreSkipped() {
        let loaded = load("""
            # only a comment
            ---
            ---
            # another comment
            ---
            """ + "\n" + Sample.workspace + "\n---\n")
        #expect(loaded.diagnostics.isEmpty, "\(loaded.diagnostics)")
        #expect(loaded.resources.map(\.name) == ["ws"])
    }

    /// Every error of a file is reported, not just the first; the valid documents still decode.
    @Test func everyErrorOfAFileIsReported() {
        let loaded = load("""
            apiVersion: orchestrator.dev/v2
            kind: Workflow
            metadata: {name: wf}
            spec:
              steps:
                - id: a
                  enabled: yes please
                - id: b
                  scope: everywhere
              loop: {mode: once, max_cycle: 2}
            ---
            apiVersion: orchestrator.dev/v2
            kind: Agent
            metadata: {name: good}
            spec: {command: ok}
            ---
            apiVersion: orchestrator.dev/v1
            kind: Workspace
            metadata: {name: "bad name"}
            spec: {ticket_dir: 7}
            """)
        let rules = loaded.diagnostics.map(\.rule)
        #expect(rules == ["type-mismatch", "invalid-value", "unknown-key", "api-version", "invalid-name", "missing-field"])
        #expect(loaded.diagnostics.map { $0.range?.start.line ?? 0 } == [7, 9, 10, 17, 19, 20])
        #expect(loaded.resources.map(\.name) == ["good"])
    }

    @Test func numbersAndBooleansAreAcceptedAsStrings() {
        let loaded = load("""
            apiVersion: orchestrator.dev/v2
            kind: Workspace
            metadata: {name: 2024}
            spec: {root_path: ., ticket_dir: 7}
            """)
        // `ticket_dir: 7` is a string field: the written text is kept, as the replaced system did.
        #expect(loaded.diagnostics.isEmpty, "\(loaded.diagnostics)")
        #expect(loaded.resources.first?.name == "2024")
        #expect(loaded.resources.first?.workspace?.ticketDirectory == "7")
    }
}

@Suite struct RejectedDocumentExpressionTests {
    /// A document rejected for another error is not compiled; the syntax of its expressions is
    /// still checked, so one run reports every error of the file, at the exact column.
    @Test func syntaxErrorsOfARejectedDocumentAreReported() {
        let loaded = load(
            """
            apiVersion: orchestrator.dev/v2
            kind: Workflow
            metadata:
              name: wf
            spec:
              steps:
                - id: implement
                  scope: everywhere
                  prehook:
                    when: "qa_file_path.startsWith(\\"docs\\") && (cycle > "
            """)
        #expect(loaded.resources.isEmpty)
        expectOne(loaded, "invalid-value", line: 8, column: 14)
        // `when: "qa_file_path.startsWith(\"docs\") && (cycle > "` with the value's text from
        // column 16: the expression ends where the closing quote stands, column 62 (each escape
        // is two characters in the file, one in the expression).
        let syntax = expectOne(loaded, "expr-syntax", line: 10, column: 62)
        #expect(syntax?.message.hasPrefix("`when`:") == true)

        // An error in the middle, after the escapes: the stray `)` is at content offset 35, and
        // at column 16 + 35 + 2 (two backslashes) = 53 in the file.
        let middle = load(
            """
            apiVersion: orchestrator.dev/v2
            kind: Workflow
            metadata:
              name: wf
            spec:
              steps:
                - id: implement
                  scope: everywhere
                  prehook:
                    when: "qa_file_path.startsWith(\\"docs\\") && ) cycle"
            """)
        expectOne(middle, "expr-syntax", line: 10, column: 53)
    }

    @Test func validDocumentsLeaveExpressionsToTheCompiler() {
        let loaded = load(
            """
            apiVersion: orchestrator.dev/v2
            kind: Workflow
            metadata:
              name: wf
            spec:
              steps:
                - id: implement
                  command: make
                  prehook:
                    when: "cycle > "
            """)
        #expect(loaded.resources.count == 1)
        #expect(findings(loaded, "expr-syntax").isEmpty)
    }
}
