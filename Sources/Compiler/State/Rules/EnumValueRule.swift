import Diagnostics

extension StateRule {
    static let enumValue = StateRule(
        .enumValue,
        summary: "`status` or `priority` is not one of its values",
        rationale: """
            `status` is one of pending, in_progress, done, blocked and `priority` one of high, medium, low. \
            Anything else (`in-progress`, `todo`, `urgent`) is a task no tool can place: it is neither next \
            nor finished, and `state status` cannot rank it.
            """,
        examples: [
            StateExample(
                "`in-progress` and `urgent`", triggers: true,
                """
                {
                  "project": "todo-api",
                  "last_updated": "2026-12-01",
                  "current_focus": "Ship the API.",
                  "tasks": [
                    {"id": "API-01", "title": "Fix 500 on unknown todo", "description": "Return 404 for unknown todos.",
                     "status": "in-progress", "priority": "urgent", "verify": "grep -q 404 README.md", "requires_eval": false}
                //             ^ expect
                //                                        ^ expect
                  ]
                }
                """),
            StateExample(
                "the recipe's values", triggers: false,
                """
                {
                  "project": "todo-api",
                  "last_updated": "2026-12-01",
                  "current_focus": "Ship the API.",
                  "tasks": [
                    {"id": "API-01", "title": "Fix 500 on unknown todo", "description": "Return 404 for unknown todos.",
                     "status": "in_progress", "priority": "high", "verify": "grep -q 404 README.md", "requires_eval": false}
                  ]
                }
                """),
        ],
        check: EnumValue.check)
}

enum EnumValue {
    static func check(_ context: StateLintContext) -> [Diagnostic] {
        var findings: [Diagnostic] = []
        for task in context.file.tasks {
            findings += value(.status, of: task, allowed: TaskState.allCases.map(\.rawValue), context: context)
            findings += value(.priority, of: task, allowed: TaskPriority.allCases.map(\.rawValue), context: context)
        }
        return findings
    }

    static func value(_ field: TasksField, of task: StateTask, allowed: [String], context: StateLintContext) -> [Diagnostic] {
        guard let text = TasksFileReader.string(field, in: task.node), !text.value.allSatisfy(\.isWhitespace),
            !allowed.contains(text.value)
        else { return [] }
        let suggestion = Suggestions.closest(to: text.value, in: allowed).map { "did you mean `\($0)`? " } ?? ""
        return [
            StateRuleID.enumValue.finding(
                "task \(task.label): `\(field.rawValue)` is `\(text.value)`, which is not one of \(allowed.joined(separator: ", "))",
                file: context.path, range: text.range, help: suggestion + "use one of: " + allowed.joined(separator: ", "))
        ]
    }
}
