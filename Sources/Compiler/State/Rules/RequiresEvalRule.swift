import Diagnostics

extension StateRule {
    static let requiresEval = StateRule(
        .requiresEval,
        summary: "`requires_eval` is false, but the recipe's criteria make it true",
        rationale: """
            A task needs an independent evaluator (`requires_eval: true`) when it is a new feature, touches \
            security, permissions or data validation, is expected to change more than 3 files, or is a \
            refactor, restructuring or architecture change (also 重构, 架构调整); only bug fixes of clear \
            scope, docs and comments, configuration, and added tests may do without. The rule reads the \
            title and description (word lists in docs/state-files.md) and names the criterion and the \
            words that show it. A title that starts with fix, docs, config, test or add tests is not read \
            as a new feature.
            """,
        examples: [
            StateExample(
                "a refactor and a new login endpoint marked false", triggers: true,
                """
                {
                  "project": "todo-api",
                  "last_updated": "2026-12-01",
                  "current_focus": "Ship the API.",
                  "tasks": [
                    {"id": "API-03", "title": "Refactor the router", "description": "Split routes by resource.",
                     "status": "pending", "priority": "medium", "verify": "grep -q router README.md", "requires_eval": false},
                //                                                                                                     ^ expect
                    {"id": "AUTH-01", "title": "Add a login endpoint", "description": "POST /login returns a session token.",
                     "status": "pending", "priority": "high", "verify": "grep -q login README.md", "requires_eval": false}
                //                                                                                                  ^ expect
                  ]
                }
                """),
            StateExample(
                "a bug fix and added tests", triggers: false,
                """
                {
                  "project": "todo-api",
                  "last_updated": "2026-12-01",
                  "current_focus": "Ship the API.",
                  "tasks": [
                    {"id": "API-01", "title": "Fix 500 on unknown todo", "description": "Return 404 for unknown todos.",
                     "status": "pending", "priority": "high", "verify": "grep -q 404 README.md", "requires_eval": false},
                    {"id": "API-04", "title": "Add unit tests for the todo store", "description": "Cover create and delete.",
                     "status": "pending", "priority": "low", "verify": "grep -q store README.md", "requires_eval": false}
                  ]
                }
                """),
        ],
        check: RequiresEval.check)
}

enum RequiresEval {
    static func check(_ context: StateLintContext) -> [Diagnostic] {
        context.file.tasks.compactMap { task in
            guard let flag = task.requiresEval, !flag.value else { return nil }
            let matches = EvaluationCriteria.matches(title: task.title?.value ?? "", description: task.description?.value ?? "")
            guard !matches.isEmpty else { return nil }
            let reasons = matches.map { "\($0.criterion.summary) (it says \"\($0.evidence)\")" }
            return StateRuleID.requiresEval.finding(
                "task \(task.label): `requires_eval` is false, but " + reasons.joined(separator: "; and "), file: context.path,
                range: flag.range,
                help: "set \"requires_eval\": true (an evaluator approves it in sprint_output.md before it is done), "
                    + "or reword the task if it is only a bug fix, docs, configuration or tests")
        }
    }
}
