import Diagnostics

extension StateRule {
    static let blockedBy = StateRule(
        .blockedBy,
        summary: "`blocked_by` is missing on a blocked task, or present on one that is not blocked",
        rationale: """
            A blocked task says what it waits for, so the next session can unblock it or pick other work; \
            a `blocked_by` left on a task that is no longer blocked is a stale reason that misleads. \
            `blocked_by` is present (and not empty) exactly when `status` is `blocked`; `null` counts as absent.
            """,
        examples: [
            StateExample(
                "a blocked task without a reason, and a stale reason", triggers: true,
                """
                {
                  "project": "todo-api",
                  "last_updated": "2026-12-01",
                  "current_focus": "Ship the API.",
                  "tasks": [
                    {"id": "API-01", "title": "Fix 500 on unknown todo", "description": "Return 404 for unknown todos.",
                     "status": "blocked", "priority": "high", "verify": "grep -q 404 README.md", "requires_eval": false},
                //             ^ expect
                    {"id": "API-02", "title": "Fix the 400 message", "description": "Name the bad field in 400 answers.",
                     "status": "pending", "blocked_by": "API-01", "priority": "low", "verify": "grep -q 400 README.md",
                //                        ^ expect
                     "requires_eval": false}
                  ]
                }
                """),
            StateExample(
                "a blocked task that says why", triggers: false,
                """
                {
                  "project": "todo-api",
                  "last_updated": "2026-12-01",
                  "current_focus": "Ship the API.",
                  "tasks": [
                    {"id": "API-01", "title": "Fix 500 on unknown todo", "description": "Return 404 for unknown todos.",
                     "status": "blocked", "blocked_by": "waiting for the schema change of DB-03", "priority": "high",
                     "verify": "grep -q 404 README.md", "requires_eval": false}
                  ]
                }
                """),
        ],
        check: BlockedBy.check)
}

enum BlockedBy {
    static func check(_ context: StateLintContext) -> [Diagnostic] {
        var findings: [Diagnostic] = []
        for task in context.file.tasks {
            guard let status = task.status else { continue }
            let entry = TasksFile.entry(.blockedBy, in: task.node)
            let present = entry.map { !$0.value.isNull } ?? false
            let reason = task.blockedBy.map { !$0.value.allSatisfy(\.isWhitespace) } ?? false
            if status.value == .blocked, !reason {
                findings.append(
                    StateRuleID.blockedBy.finding(
                        "task \(task.label) is blocked but \(present ? "its `blocked_by` is empty" : "has no `blocked_by`")",
                        file: context.path, range: status.range, help: "add \"blocked_by\": what the task waits for"))
            } else if status.value != .blocked, present, let entry {
                findings.append(
                    StateRuleID.blockedBy.finding(
                        "task \(task.label) is \(status.value.rawValue) but has a `blocked_by`", file: context.path, range: entry.key.range,
                        help: "remove `blocked_by` once the task is no longer blocked"))
            }
        }
        return findings
    }
}
