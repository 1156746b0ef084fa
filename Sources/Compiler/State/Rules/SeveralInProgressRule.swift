import Diagnostics

extension StateRule {
    static let severalInProgress = StateRule(
        .severalInProgress,
        summary: "more than one task is `in_progress`",
        rationale: """
            The recipe works one task at a time: a session takes the task in progress, finishes or blocks \
            it, then takes the next. Two tasks in progress mean one was left half done without a record of \
            why; the next session cannot tell which to continue. Every `in_progress` after the first is \
            reported.
            """,
        examples: [
            StateExample(
                "two tasks in progress", triggers: true,
                """
                {
                  "project": "todo-api",
                  "last_updated": "2026-12-01",
                  "current_focus": "Ship the API.",
                  "tasks": [
                    {"id": "API-01", "title": "Fix 500 on unknown todo", "description": "Return 404 for unknown todos.",
                     "status": "in_progress", "priority": "high", "verify": "grep -q 404 README.md", "requires_eval": false},
                    {"id": "API-02", "title": "Fix the 400 message", "description": "Name the bad field in 400 answers.",
                     "status": "in_progress", "priority": "low", "verify": "grep -q 400 README.md", "requires_eval": false}
                //             ^ expect
                  ]
                }
                """),
            StateExample(
                "one in progress, one pending", triggers: false,
                """
                {
                  "project": "todo-api",
                  "last_updated": "2026-12-01",
                  "current_focus": "Ship the API.",
                  "tasks": [
                    {"id": "API-01", "title": "Fix 500 on unknown todo", "description": "Return 404 for unknown todos.",
                     "status": "in_progress", "priority": "high", "verify": "grep -q 404 README.md", "requires_eval": false},
                    {"id": "API-02", "title": "Fix the 400 message", "description": "Name the bad field in 400 answers.",
                     "status": "pending", "priority": "low", "verify": "grep -q 400 README.md", "requires_eval": false}
                  ]
                }
                """),
        ],
        check: SeveralInProgress.check)
}

enum SeveralInProgress {
    static func check(_ context: StateLintContext) -> [Diagnostic] {
        let active = context.file.tasks.filter { $0.status?.value == .inProgress }
        guard let first = active.first, active.count > 1 else { return [] }
        return active.dropFirst().compactMap { task in
            task.status.map { status in
                StateRuleID.severalInProgress.finding(
                    "task \(task.label) is in_progress, and so is \(first.label): \(active.count) tasks are in progress",
                    file: context.path, range: status.range,
                    help: "finish or block one before starting another; set the others back to pending")
            }
        }
    }
}
