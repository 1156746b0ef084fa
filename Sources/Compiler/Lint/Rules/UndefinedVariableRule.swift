import Diagnostics

extension LintRule {
    /// The compiler reports the expressions (`prehook.when`, `convergence_expr`, `finalize.rules`,
    /// `command_rules`, `generate_items.from_var`); the lint check adds the placeholders.
    static let undefinedVariable = LintRule(
        id: "undefined-variable", severity: .warning, origin: .compilerAndLint,
        summary: "an expression or placeholder reads a variable that is neither built in nor set by an earlier step",
        rationale: """
            Variables come from the built-ins and from the steps that ran before in the same cycle \
            (`{step}_output`, `{step}_exit_code`, captures, what builtins set). A variable set only by \
            a later step has no value in cycle 1, so an expression reading it fails or a placeholder \
            stays literal, and in later cycles it silently holds the previous cycle's value. The \
            compiler checks every expression during `validate`; lint adds the `{name}` placeholders of \
            the prompts and commands each step renders. A placeholder that no step sets at all is \
            `unknown-placeholder`.
            """,
        examples: [
            LintExample(
                "a prehook reading a capture of a later step", triggers: true,
                """
                apiVersion: orchestrator.dev/v2
                kind: Workflow
                metadata:
                  name: deploy
                spec:
                  steps:
                    - id: deploy
                      command: ./deploy.sh
                      prehook:
                        when: build_ok
                #             ^ expect
                    - id: build
                      command: make
                      behavior:
                        captures:
                          - var: build_ok
                            source: success_flag
                """),
            LintExample(
                "a command reading the output of a later step", triggers: true,
                """
                apiVersion: orchestrator.dev/v2
                kind: Workflow
                metadata:
                  name: deploy
                spec:
                  steps:
                    - id: deploy
                      command: ./deploy.sh {build_output}
                #                          ^ expect
                    - id: build
                      command: make
                """),
            LintExample(
                "the same steps in the right order", triggers: false,
                """
                apiVersion: orchestrator.dev/v2
                kind: Workflow
                metadata:
                  name: deploy
                spec:
                  steps:
                    - id: build
                      command: make
                      behavior:
                        captures:
                          - var: build_ok
                            source: success_flag
                    - id: deploy
                      command: ./deploy.sh {build_output}
                      prehook:
                        when: build_ok
                """),
        ],
        check: UndefinedVariable.check)
}

/// Placeholder findings of one kind, one per place in a file (a template several steps use is
/// reported once, naming the steps).
struct PlaceholderFindings {
    private var order: [String] = []
    private var entries: [String: (use: PlaceholderUse, steps: [String], detail: String, help: String?)] = [:]

    mutating func add(_ use: PlaceholderUse, step: String, detail: String, help: String? = nil) {
        let key = use.owner.file + "\u{0}" + String(use.scalarRange.start.offset) + "\u{0}" + String(use.occurrence.start)
        if entries[key] == nil {
            order.append(key)
            entries[key] = (use, [step], detail, help)
        } else if entries[key]?.steps.contains(step) == false {
            entries[key]?.steps.append(step)
        }
    }

    func diagnostics(
        _ rule: LintRule, context: LintContext, message: (PlaceholderUse, [String], String, String?) -> (String, String)
    ) -> [Diagnostic] {
        order.compactMap { key in
            guard let entry = entries[key] else { return nil }
            let (text, help) = message(entry.use, entry.steps, entry.detail, entry.help)
            let range = context.range(
                inScalarAt: entry.use.scalarRange, of: entry.use.owner.resource, start: entry.use.occurrence.start,
                end: entry.use.occurrence.end)
            return rule.finding(text, file: entry.use.owner.file, range: range, help: help)
        }
    }

    /// " (steps `a`, `b`)", or nothing when the text is the one step's own command.
    static func forSteps(_ steps: [String], of use: PlaceholderUse) -> String {
        if steps.count == 1, use.textName == "the command of step `\(steps[0])`" { return "" }
        return " (\(stepList(steps)))"
    }

    static func stepList(_ steps: [String]) -> String {
        let named = steps.map { "`\($0)`" }
        return (named.count == 1 ? "step " : "steps ") + named.joined(separator: ", ")
    }
}

private enum UndefinedVariable {
    static func check(_ context: LintContext) -> [Diagnostic] {
        var found = PlaceholderFindings()
        for (number, workflow) in context.workflows.enumerated() {
            let variables = context.variables(number)
            let oneCycle = workflow.graph.loop.cycleLimit == 1
            for (index, rendering) in variables.renderings.enumerated() where variables.steps[index].compiled.enabled {
                for use in rendering.uses {
                    let name = use.name
                    guard !PlaceholderScanner.builtinNames.contains(name), !variables.isAvailable(name, before: index),
                        let setters = variables.setters[name]
                    else { continue }
                    let id = variables.steps[index].compiled.id
                    let by = setters.first == id ? "by step `\(id)` itself, after it renders" : "only by step `\(setters[0])`, which runs after it"
                    let later = oneCycle
                        ? "the loop runs one cycle, so it never has a value and stays literal"
                        : "in cycle 1 it has no value and stays literal; later cycles see the previous cycle's value"
                    found.add(use, step: id, detail: "`{\(name)}` in \(use.textName) is set \(by): \(later)")
                }
            }
        }
        return found.diagnostics(LintRule.undefinedVariable, context: context) { use, steps, detail, _ in
            let stepText = PlaceholderFindings.stepList(steps)
            return (
                detail.replacingFirst(" is set", with: PlaceholderFindings.forSteps(steps, of: use) + " is set"),
                "move the step that sets `\(use.name)` before \(stepText), or read it where it is set"
            )
        }
    }
}

extension String {
    fileprivate func replacingFirst(_ target: String, with replacement: String) -> String {
        guard let found = firstRange(of: target) else { return self }
        return String(self[..<found.lowerBound]) + replacement + String(self[found.upperBound...])
    }
}
