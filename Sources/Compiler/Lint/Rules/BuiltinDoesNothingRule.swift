import Diagnostics
import Manifest

extension LintRule {
    static let builtinDoesNothing = LintRule(
        id: "builtin-does-nothing", severity: .warning,
        summary: "a builtin step that finds nothing to do in its workspace",
        rationale: """
            A builtin step takes its work from the workspace: `self_test` runs the workspace's \
            `self_test` commands, `init_once` its `init` script and `self_restart` its \
            `build_command`. When the workspace has none, the step succeeds without doing anything, the loop believes the self-test passed, and the task \
            can end green with nothing tested. The runner says `skipped: no self_test commands \
            configured` in the progress line and in `task info`; this rule says it before any agent \
            credit is spent. It looks at the workspaces of the workflow's project (those of the \
            workflow's own file first).
            """,
        examples: [
            LintExample(
                "a self-test with nothing to run", triggers: true,
                """
                apiVersion: orchestrator.dev/v2
                kind: Workspace
                metadata:
                  name: app
                spec:
                  root_path: .
                ---
                apiVersion: orchestrator.dev/v2
                kind: Workflow
                metadata:
                  name: build
                spec:
                  steps:
                    - id: implement
                      command: ./implement.sh
                    - id: self_test
                      builtin: self_test
                #              ^ expect
                """),
            LintExample(
                "a self-test with its commands", triggers: false,
                """
                apiVersion: orchestrator.dev/v2
                kind: Workspace
                metadata:
                  name: app
                spec:
                  root_path: .
                  self_test:
                    - swift build
                    - swift test
                ---
                apiVersion: orchestrator.dev/v2
                kind: Workflow
                metadata:
                  name: build
                spec:
                  steps:
                    - id: implement
                      command: ./implement.sh
                    - id: self_test
                      builtin: self_test
                """),
            LintExample(
                "a self-restart with no build command", triggers: true,
                """
                apiVersion: orchestrator.dev/v2
                kind: Workspace
                metadata:
                  name: self
                spec:
                  root_path: .
                ---
                apiVersion: orchestrator.dev/v2
                kind: Workflow
                metadata:
                  name: bootstrap
                spec:
                  steps:
                    - id: self_restart
                      builtin: self_restart
                #              ^ expect
                """),
            LintExample(
                "a self-restart that rebuilds with the workspace's build command", triggers: false,
                """
                apiVersion: orchestrator.dev/v2
                kind: Workspace
                metadata:
                  name: self
                spec:
                  root_path: .
                  build_command: swift build -c release
                ---
                apiVersion: orchestrator.dev/v2
                kind: Workflow
                metadata:
                  name: bootstrap
                spec:
                  steps:
                    - id: self_restart
                      builtin: self_restart
                """),
        ],
        check: BuiltinDoesNothing.check)
}

private enum BuiltinDoesNothing {
    static func check(_ context: LintContext) -> [Diagnostic] {
        var findings: [Diagnostic] = []
        for workflow in context.workflows {
            let workspaces = context.workspaces(for: workflow)
            // Without a workspace in sight the files may be applied next to one: nothing to say.
            guard !workspaces.isEmpty else { continue }
            for step in workflow.flatSteps where step.compiled.enabled {
                guard case .builtin(let builtin) = step.compiled.kind else { continue }
                let range = step.spec.builtin?.range ?? step.compiled.idRange
                let names = workspaces.map { "`\($0.name)`" }.joined(separator: ", ")
                switch builtin {
                case .self_test where workspaces.allSatisfy({ ($0.spec.selfTest ?? []).isEmpty }):
                    findings.append(
                        LintRule.builtinDoesNothing.finding(
                            "step `\(step.compiled.id)` runs the workspace's self_test commands, but workspace \(names) configures none: it will pass without testing anything",
                            file: workflow.file, range: range,
                            help: "add `self_test:` commands to the workspace (e.g. `- swift test`), or remove the step"))
                case .init_once where workspaces.allSatisfy({ $0.spec.initScript == nil }):
                    findings.append(
                        LintRule.builtinDoesNothing.finding(
                            "step `\(step.compiled.id)` runs the workspace's init script, but workspace \(names) has no `init`: it does nothing",
                            file: workflow.file, range: range,
                            help: "add `init:` to the workspace (a command run once before cycle 1), or remove the step"))
                case .self_restart where workspaces.allSatisfy({ $0.spec.buildCommand == nil }):
                    findings.append(
                        LintRule.builtinDoesNothing.finding(
                            "step `\(step.compiled.id)` rebuilds and restarts this tool with the workspace's `build_command`, but workspace \(names) has none: it restarts nothing",
                            file: workflow.file, range: range,
                            help: "add `build_command:` to the workspace (e.g. `swift build -c release`; `build_output:` names where the executables land), or remove the step"))
                default:
                    continue
                }
            }
        }
        return findings
    }
}
