import Store
import Platform
extension TraceRule {
    static let transientReadError: TraceRule = TraceRule(
        id: .transientReadError, severity: .info, escalation: .notice,
        summary: "a step failed with a transient I/O error",
        rationale: """
            Some failures are the machine's, not the agent's: an interrupted system call, a \
            resource temporarily unavailable, an I/O error, a stale file handle, a reset \
            connection. They deserve a retry rather than a fix. The rule reads the step's error \
            and the first line of its stderr, and says whether a later run of the same step for \
            the same item succeeded.
            """,
        examples: [
            TraceExample("EAGAIN, then success on the next cycle", findings: 1, [
                "task_started", "cycle_started c=1", "step_started c=1 s=qa",
                "step_finished c=1 s=qa exit_code=1 success=false stderr_first_line=read:_Resource_temporarily_unavailable",
                "cycle_started c=2", "step_started c=2 s=qa", "step_finished c=2 s=qa exit_code=0 success=true", "task_completed c=2",
            ]),
            TraceExample("an ordinary test failure", findings: 0, [
                "task_started", "cycle_started c=1", "step_started c=1 s=qa",
                "step_finished c=1 s=qa exit_code=1 success=false stderr_first_line=1_test_failed", "task_failed c=1",
            ]),
        ],
        check: { context in
            let transient = [
                "resource temporarily unavailable", "interrupted system call", "input/output error", "stale file handle",
                "connection reset", "eagain", "eintr", "eio", "etimedout", "connection timed out", "temporary failure",
            ]
            var findings: [TraceFinding] = []
            for (index, event) in context.events.enumerated() where event.type == .stepFinished {
                guard event.payload["success"] == .bool(false) else { continue }
                let text = [event.payload["error"]?.stringValue, event.payload["stderr_first_line"]?.stringValue]
                    .compactMap { $0 }.joined(separator: " ").lowercased()
                guard let word = transient.first(where: { text.contains($0) }) else { continue }
                let recovered = context.events[(index + 1)...].contains {
                    $0.type == .stepFinished && $0.step == event.step && $0.item == event.item && $0.payload["success"] == .bool(true)
                }
                findings.append(
                    TraceRule.transientReadError.finding(
                        "\(event.stepName) failed with a transient error (\(word))"
                            + (recovered ? "; a later run succeeded" : "; no later run succeeded: retry it"),
                        at: event, escalation: recovered ? nil : .attention))
            }
            return findings
        })
}
