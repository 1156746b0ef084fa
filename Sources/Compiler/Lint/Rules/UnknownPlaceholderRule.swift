import Diagnostics

extension LintRule {
    static let unknownPlaceholder = LintRule(
        id: "unknown-placeholder", severity: .warning,
        summary: "a `{name}` in a StepTemplate prompt or a command that no step provides",
        rationale: """
            When a step runs, its template's prompt and its agent's (or its own) command are rendered: \
            every `{name}` is replaced by the built-in placeholder or the pipeline variable of that \
            name. A name nothing provides is left in the text literally, so the agent reads \
            `{changed_files}` instead of a list of files, or a shell command gets a stray brace word. \
            Built-in placeholders are `{prompt}`, `{goal}`, `{task_id}`, `{item_id}`, `{cycle}`, \
            `{phase}`, `{source_tree}`, `{workspace_root}`, `{rel_path}`, `{qa_file_path}`, `{diff}`, \
            `{ticket_paths}` and the built-in variables; steps provide `{STEP_output}`, \
            `{STEP_output_path}`, `{STEP_exit_code}`, their captures and `generate_items` item \
            variables. In commands, `${...}` belongs to the shell and is not a placeholder.
            """,
        examples: [
            LintExample(
                "a template asking for something no step provides", triggers: true,
                """
                apiVersion: orchestrator.dev/v2
                kind: StepTemplate
                metadata:
                  name: review
                spec:
                  prompt: Review {changed_files} for {goal}.
                #                ^ expect
                ---
                apiVersion: orchestrator.dev/v2
                kind: Agent
                metadata:
                  name: reviewer
                spec:
                  capabilities: [review]
                  command: review-bot -p "{prompt}"
                ---
                apiVersion: orchestrator.dev/v2
                kind: Workflow
                metadata:
                  name: review
                spec:
                  steps:
                    - id: review
                      template: review
                """),
            LintExample(
                "the list of files comes from an earlier step", triggers: false,
                """
                apiVersion: orchestrator.dev/v2
                kind: StepTemplate
                metadata:
                  name: review
                spec:
                  prompt: Review {changed_files} for {goal}.
                ---
                apiVersion: orchestrator.dev/v2
                kind: Agent
                metadata:
                  name: reviewer
                spec:
                  capabilities: [review]
                  command: review-bot -p "{prompt}"
                ---
                apiVersion: orchestrator.dev/v2
                kind: Workflow
                metadata:
                  name: review
                spec:
                  steps:
                    - id: changes
                      command: git diff --name-only
                      behavior:
                        captures:
                          - var: changed_files
                            source: stdout
                    - id: review
                      template: review
                """),
        ],
        check: UnknownPlaceholder.check)
}

private enum UnknownPlaceholder {
    static func check(_ context: LintContext) -> [Diagnostic] {
        var found = PlaceholderFindings()
        for (number, _) in context.workflows.enumerated() {
            let variables = context.variables(number)
            var suggestions: [String: String] = [:]
            func suggestion(_ name: String) -> String {
                if let known = suggestions[name] { return known }
                let candidates = PlaceholderScanner.builtinNames.sorted() + variables.setters.keys.sorted()
                let text = Suggestions.closest(to: name, in: candidates).map { "did you mean `{\($0)}`? " } ?? ""
                suggestions[name] = text
                return text
            }
            for (index, rendering) in variables.renderings.enumerated() where variables.steps[index].compiled.enabled {
                for use in rendering.uses
                where !PlaceholderScanner.builtinNames.contains(use.name) && variables.setters[use.name] == nil {
                    let detail = "no step sets it and it is no built-in placeholder"
                    let help = suggestion(use.name) + "capture it in an earlier step (`behavior.captures`), or remove it"
                    found.add(use, step: variables.steps[index].compiled.id, detail: detail, help: help)
                }
            }
        }
        return found.diagnostics(LintRule.unknownPlaceholder, context: context) { use, steps, detail, help in
            (
                "`{\(use.name)}` in \(use.textName)\(PlaceholderFindings.forSteps(steps, of: use)) stays literal: \(detail)",
                help ?? ""
            )
        }
    }
}

