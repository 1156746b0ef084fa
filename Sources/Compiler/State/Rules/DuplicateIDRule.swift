import Diagnostics
import Manifest

extension StateRule {
    static let duplicateID = StateRule(
        .duplicateID,
        summary: "two tasks have the same id",
        rationale: """
            Commits, progress.md entries, evaluator records and the runner's item ids all name a task by \
            its id; two tasks with one id make every one of those ambiguous (an approval of one would count \
            for the other). The second and later uses are reported.
            """,
        examples: [
            StateExample(
                "API-01 twice", triggers: true,
                """
                {
                  "project": "todo-api",
                  "last_updated": "2026-12-01",
                  "current_focus": "Ship the API.",
                  "tasks": [
                    {"id": "API-01", "title": "Fix 500 on unknown todo", "description": "Return 404 for unknown todos.",
                     "status": "pending", "priority": "high", "verify": "grep -q 404 README.md", "requires_eval": false},
                    {"id": "API-01", "title": "Fix the 400 message", "description": "Name the bad field in 400 answers.",
                //         ^ expect
                     "status": "pending", "priority": "low", "verify": "grep -q 400 README.md", "requires_eval": false}
                  ]
                }
                """),
            StateExample(
                "distinct ids", triggers: false,
                """
                {
                  "project": "todo-api",
                  "last_updated": "2026-12-01",
                  "current_focus": "Ship the API.",
                  "tasks": [
                    {"id": "API-01", "title": "Fix 500 on unknown todo", "description": "Return 404 for unknown todos.",
                     "status": "pending", "priority": "high", "verify": "grep -q 404 README.md", "requires_eval": false},
                    {"id": "API-02", "title": "Fix the 400 message", "description": "Name the bad field in 400 answers.",
                     "status": "pending", "priority": "low", "verify": "grep -q 400 README.md", "requires_eval": false}
                  ]
                }
                """),
        ],
        check: DuplicateID.check)
}

enum DuplicateID {
    static func check(_ context: StateLintContext) -> [Diagnostic] {
        var first: [String: Located<String>] = [:]
        var findings: [Diagnostic] = []
        for task in context.file.tasks {
            guard let id = task.id, !id.value.isEmpty else { continue }
            if let earlier = first[id.value] {
                findings.append(
                    StateRuleID.duplicateID.finding(
                        "task id `\(id.value)` is used again (first at line \(earlier.range.start.line))", file: context.path,
                        range: id.range, help: "give this task the next free number of its module"))
            } else {
                first[id.value] = id
            }
        }
        return findings
    }
}
