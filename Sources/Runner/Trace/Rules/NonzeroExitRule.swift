import Store
import Platform
extension TraceRule {
    static let nonzeroExit: TraceRule = TraceRule(
        id: .nonzeroExit, severity: .warning, escalation: .notice,
        summary: "a step failed (exit code other than 0, a timeout, or it could not start)",
        rationale: """
            A failed step is often expected (a QA step that finds a bug), but each one is a place \
            where the loop took its failure path. The finding carries the exit code and the first \
            line of the step's stderr; exit 126 and 127 (could not run, not found) are escalated: \
            the agent never ran.
            """,
        examples: [
            TraceExample("an agent that is not installed", findings: 1, [
                "task_started", "cycle_started c=1", "step_started c=1 s=plan",
                "step_finished c=1 s=plan exit_code=127 success=false stderr_first_line=claude:_not_found", "task_failed c=1",
            ]),
            TraceExample("every step passed", findings: 0, [
                "task_started", "cycle_started c=1", "step_started c=1 s=plan", "step_finished c=1 s=plan exit_code=0 success=true",
                "task_completed c=1",
            ]),
        ],
        check: { context in
            context.events.compactMap { event -> TraceFinding? in
                guard event.type == .stepFinished else { return nil }
                let code = event.payload["exit_code"]?.intValue ?? 0
                let timedOut = event.payload["timed_out"] == .bool(true)
                guard code != 0 || timedOut || event.payload["success"] == .bool(false) else { return nil }
                let line = event.payload["stderr_first_line"]?.stringValue ?? event.payload["error"]?.stringValue
                let what = timedOut ? "timed out" : "exited \(code)"
                return TraceRule.nonzeroExit.finding(
                    "\(event.stepName) \(what)\(line.map { ": " + $0 } ?? "")",
                    at: event, escalation: code == 126 || code == 127 ? .intervene : nil)
            }
        })
}
