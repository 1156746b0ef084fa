import Diagnostics
import Manifest

extension LintRule {
    static let unusedResource = LintRule(
        id: "unused-resource", severity: .warning,
        summary: "a StepTemplate, ExecutionProfile, EnvStore or SecretStore that nothing uses",
        rationale: """
            Templates are named by steps (`template`), execution profiles by agent steps \
            (`execution_profile`), env and secret stores by agents (`env[].fromRef`, \
            `env[].refValue.name`). One that nothing in its project names is dead: often the leftover \
            of a rename, so the step or agent that was meant to use it uses something else, or a store \
            of secrets that is applied (and kept) for nothing. Uses are counted over every file given \
            to `lint`, per project, so lint a project's files together.
            """,
        examples: [
            LintExample(
                "a template and a profile no step names", triggers: true,
                """
                apiVersion: orchestrator.dev/v2
                kind: StepTemplate
                metadata:
                  name: review
                #       ^ expect
                spec:
                  prompt: Review the change.
                ---
                apiVersion: orchestrator.dev/v2
                kind: ExecutionProfile
                metadata:
                  name: sandboxed
                #       ^ expect
                spec:
                  mode: sandbox
                ---
                apiVersion: orchestrator.dev/v2
                kind: Workflow
                metadata:
                  name: build
                spec:
                  steps:
                    - id: build
                      command: make
                """),
            LintExample(
                "every resource is used", triggers: false,
                """
                apiVersion: orchestrator.dev/v2
                kind: StepTemplate
                metadata:
                  name: review
                spec:
                  prompt: Review the change.
                ---
                apiVersion: orchestrator.dev/v2
                kind: ExecutionProfile
                metadata:
                  name: sandboxed
                spec:
                  mode: sandbox
                ---
                apiVersion: orchestrator.dev/v2
                kind: SecretStore
                metadata:
                  name: keys
                spec:
                  data:
                    REVIEW_TOKEN: {fromEnv: REVIEW_TOKEN}
                ---
                apiVersion: orchestrator.dev/v2
                kind: Agent
                metadata:
                  name: reviewer
                spec:
                  capabilities: [review]
                  command: review-bot -p "{prompt}"
                  env:
                    - fromRef: keys
                ---
                apiVersion: orchestrator.dev/v2
                kind: Workflow
                metadata:
                  name: review
                spec:
                  steps:
                    - id: review
                      template: review
                      execution_profile: sandboxed
                """),
        ],
        check: UnusedResource.check)
}

private enum UnusedResource {
    static func check(_ context: LintContext) -> [Diagnostic] {
        // project -> kind -> names referenced.
        var used: [String: [ResourceKind: Set<String>]] = [:]
        for resource in context.resources {
            let project = resource.resolvedProject
            switch resource.spec {
            case .workflow(let spec):
                WorkflowCompiler.forEachStep(spec.steps) { step in
                    if let template = step.template { used[project, default: [:]][.stepTemplate, default: []].insert(template.value) }
                    if let profile = step.executionProfile {
                        used[project, default: [:]][.executionProfile, default: []].insert(profile.value)
                    }
                }
            case .agent(let agent):
                for entry in agent.env {
                    let store: String
                    switch entry.value {
                    case .literal: continue
                    case .fromRef(let name): store = name.value
                    case .refValue(_, let name, _): store = name.value
                    }
                    used[project, default: [:]][.envStore, default: []].insert(store)
                    used[project, default: [:]][.secretStore, default: []].insert(store)
                }
            default:
                break
            }
        }
        var findings: [Diagnostic] = []
        for resource in context.resources {
            let what: String
            switch resource.kind {
            case .stepTemplate: what = "no step names it in `template`"
            case .executionProfile: what = "no step names it in `execution_profile`"
            case .envStore, .secretStore: what = "no agent takes env from it (`fromRef` or `refValue`)"
            default: continue
            }
            let project = resource.resolvedProject
            guard used[project]?[resource.kind]?.contains(resource.name) != true else { continue }
            findings.append(
                LintRule.unusedResource.finding(
                    "\(resource.kind.rawValue) `\(resource.name)` is not used: \(what) in project `\(project)`",
                    file: resource.file, range: resource.metadata.name.range,
                    help: "remove it, or use it where it was meant to be used (lint the project's files together: uses in other files count)"))
        }
        return findings
    }
}
