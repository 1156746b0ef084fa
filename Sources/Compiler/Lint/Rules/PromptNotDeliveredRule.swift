import Diagnostics
import Manifest

extension LintRule {
    static let promptNotDelivered = LintRule(
        id: "prompt-not-delivered", severity: .warning,
        summary: "an agent serving steps with templates whose command has no `{prompt}` (with `promptDelivery: arg`)",
        rationale: """
            A step's StepTemplate is rendered into the prompt, and the prompt reaches the agent the way \
            its `promptDelivery` says. With `arg` (the default) that way is the `{prompt}` placeholder \
            of the agent's command: a command without it runs the agent without the prompt, so the \
            template is rendered for nothing and the agent does something else than the step asks. \
            Write `{prompt}` into the command, or set `promptDelivery` to `stdin`, `file` or `env`. \
            Each command of the agent (its `command` and every `command_rules` command) is checked.
            """,
        examples: [
            LintExample(
                "the template's prompt never reaches the agent", triggers: true,
                """
                apiVersion: orchestrator.dev/v2
                kind: StepTemplate
                metadata:
                  name: implement
                spec:
                  prompt: Implement {goal} in {source_tree}.
                ---
                apiVersion: orchestrator.dev/v2
                kind: Agent
                metadata:
                  name: coder
                spec:
                  capabilities: [implement]
                  command: coder --task "{goal}"
                #          ^ expect
                ---
                apiVersion: orchestrator.dev/v2
                kind: Workflow
                metadata:
                  name: implement
                spec:
                  steps:
                    - id: implement
                      template: implement
                """),
            LintExample(
                "the prompt goes to standard input", triggers: false,
                """
                apiVersion: orchestrator.dev/v2
                kind: StepTemplate
                metadata:
                  name: implement
                spec:
                  prompt: Implement {goal} in {source_tree}.
                ---
                apiVersion: orchestrator.dev/v2
                kind: Agent
                metadata:
                  name: coder
                spec:
                  capabilities: [implement]
                  command: coder --task "{goal}"
                  promptDelivery: stdin
                ---
                apiVersion: orchestrator.dev/v2
                kind: Workflow
                metadata:
                  name: implement
                spec:
                  steps:
                    - id: implement
                      template: implement
                """),
        ],
        check: PromptNotDelivered.check)
}

private enum PromptNotDelivered {
    static func check(_ context: LintContext) -> [Diagnostic] {
        // agent resource (file, name offset) -> (resource, steps with templates it serves).
        var order: [String] = []
        var served: [String: (agent: ResourceRef, steps: [String])] = [:]
        for workflow in context.workflows {
            for step in workflow.flatSteps where step.compiled.enabled && step.compiled.template != nil {
                guard let binding = step.compiled.agent, binding.promptDelivery == .arg,
                    let resource = context.agentResource(binding, project: workflow.project, from: workflow.file)
                else { continue }
                let key = resource.file + "\u{0}" + String(resource.resource.metadata.name.range.start.offset)
                if served[key] == nil {
                    order.append(key)
                    served[key] = (resource, [])
                }
                if served[key]?.steps.contains(step.compiled.id) == false { served[key]?.steps.append(step.compiled.id) }
            }
        }
        var findings: [Diagnostic] = []
        for key in order {
            guard let (ref, steps) = served[key], case .agent(let agent) = ref.resource.spec else { continue }
            let resource = ref.resource
            for command in [agent.command] + agent.commandRules.map(\.command)
            where !PlaceholderScanner.command(command.value).contains(where: { $0.name == "prompt" }) {
                findings.append(
                    LintRule.promptNotDelivered.finding(
                        "agent `\(resource.name)` serves \(PlaceholderFindings.stepList(steps)) with a template, but this command has no `{prompt}` and `promptDelivery` is `arg`: the prompt never reaches the agent",
                        file: resource.file, range: command.range,
                        help: "add `\"{prompt}\"` where the agent takes its prompt, or set `promptDelivery: stdin` (or file, env)"))
            }
        }
        return findings
    }
}
