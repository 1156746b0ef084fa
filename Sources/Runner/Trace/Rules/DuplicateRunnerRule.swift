import Store
import Platform
extension TraceRule {
    static let duplicateRunner: TraceRule = TraceRule(
        id: .duplicateRunner, severity: .error, escalation: .intervene,
        summary: "two runners worked on the task at the same time",
        rationale: """
            A task must be run by one runner at a time: two runners run every step twice, race on \
            the workspace and double the agent credit spent. A runner session opens with \
            `task_started` or `task_resumed` and ends with `task_paused`, `task_completed` or \
            `task_failed`; a resume `from: interrupted` ends the session of a runner that died. A \
            session that opens while another is open is a second runner. A resume after a crash is \
            not one (see incarnation_boundary).
            """,
        examples: [
            TraceExample("a second start while the first runner still runs", findings: 1, [
                "task_started runner_pid=100", "cycle_started c=1", "step_started c=1 s=plan",
                "task_started runner_pid=200", "step_finished c=1 s=plan exit_code=0 success=true",
                "task_completed c=1",
            ]),
            TraceExample("a resume after the runner was killed", findings: 0, [
                "task_started runner_pid=100", "cycle_started c=1", "step_started c=1 s=plan",
                "task_resumed c=1 from=interrupted", "step_started c=1 s=plan",
                "step_finished c=1 s=plan exit_code=0 success=true", "task_completed c=1",
            ]),
            TraceExample("pause, then resume", findings: 0, [
                "task_started runner_pid=100", "cycle_started c=1", "task_paused c=1", "task_resumed c=1 from=paused",
                "task_completed c=1",
            ]),
        ],
        check: { context in
            RunnerSessions(context.events).overlapping.map { pair in
                let pids = [pair.first, pair.second].map { $0.payload["runner_pid"]?.intValue.map { "pid \($0)" } ?? "unknown pid" }
                return TraceRule.duplicateRunner.finding(
                    "a second runner (\(pids[1])) started while the runner that started at event \(pair.first.id) (\(pids[0])) had not stopped",
                    at: pair.second, events: [pair.first.id, pair.second.id])
            }
        })
}
