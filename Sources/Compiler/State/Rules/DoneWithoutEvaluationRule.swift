import Diagnostics

extension StateRule {
    static let doneWithoutEvaluation = StateRule(
        .doneWithoutEvaluation,
        summary: "a task with `requires_eval: true` is `done` without an evaluator's approval in sprint_output.md",
        rationale: """
            A task that requires evaluation is marked done only after an independent evaluator approves \
            it, and the approval is written to sprint_output.md beside tasks.json: a line naming the \
            task id and a verdict (approved, pass, passed, LGTM, 通过; a line saying rejected, not approved, \
            fail or changes requested is a rejection). The last verdict line of an id counts. A done task \
            without an approval skipped the evaluator.
            """,
        examples: [
            StateExample(
                "done with only a rejection on record", triggers: true,
                files: [("sprint_output.md", "# Sprint output\n\n- AUTH-01 evaluator: rejected, the token never expires\n")],
                """
                {
                  "project": "todo-api",
                  "last_updated": "2026-12-01",
                  "current_focus": "Ship the API.",
                  "tasks": [
                    {"id": "AUTH-01", "title": "Add a login endpoint", "description": "POST /login returns a session token.",
                     "status": "done", "priority": "high", "verify": "grep -q login README.md", "requires_eval": true}
                //             ^ expect
                  ]
                }
                """),
            StateExample(
                "done after the evaluator approved", triggers: false,
                files: [
                    ("sprint_output.md", "# Sprint output\n\n- AUTH-01 evaluator: rejected, the token never expires\n- AUTH-01 evaluator: approved\n")
                ],
                """
                {
                  "project": "todo-api",
                  "last_updated": "2026-12-01",
                  "current_focus": "Ship the API.",
                  "tasks": [
                    {"id": "AUTH-01", "title": "Add a login endpoint", "description": "POST /login returns a session token.",
                     "status": "done", "priority": "high", "verify": "grep -q login README.md", "requires_eval": true}
                  ]
                }
                """),
        ],
        check: DoneWithoutEvaluation.check)
}

enum DoneWithoutEvaluation {
    static func check(_ context: StateLintContext) -> [Diagnostic] {
        let verdicts = context.environment.sprintOutput.map { EvaluationRecords.verdicts(String(decoding: $0.bytes, as: UTF8.self)) }
        return context.file.tasks.compactMap { task in
            guard let status = task.status, status.value == .done, task.requiresEval?.value == true, let id = task.id?.value else {
                return nil
            }
            let why: String
            switch verdicts?[id] {
            case .some(let record) where record.verdict == .approved: return nil
            case .some(let record): why = "the last verdict for it in sprint_output.md (line \(record.line)) is a rejection"
            case .none: why = verdicts == nil ? "there is no sprint_output.md beside tasks.json" : "sprint_output.md holds no verdict for it"
            }
            return StateRuleID.doneWithoutEvaluation.finding(
                "task \(task.label) is done and requires evaluation, but \(why)", file: context.path, range: status.range,
                help: "set it back to in_progress until an evaluator approves; the approval is a line of sprint_output.md such as "
                    + "\"- \(id) evaluator: approved\"")
        }
    }
}
