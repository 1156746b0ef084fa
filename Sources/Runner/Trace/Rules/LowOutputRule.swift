import Store
import Platform
extension TraceRule {
    static let lowOutput: TraceRule = TraceRule(
        id: .lowOutput, severity: .info, escalation: .notice,
        summary: "a step ran for 5 minutes or more and wrote almost nothing",
        rationale: """
            An agent that works for minutes and prints under 100 bytes was probably waiting \
            (for a prompt it never got, a lock, the network) rather than working. The byte counts \
            are those of the step's stdout and stderr (`step_finished.stdout_bytes`, \
            `stderr_bytes`).
            """,
        examples: [
            TraceExample("ten silent minutes", findings: 1, [
                "task_started", "cycle_started c=1", "step_started c=1 s=implement",
                "step_finished c=1 s=implement exit_code=0 duration_ms=600000 stdout_bytes=12 stderr_bytes=0", "task_completed c=1",
            ]),
            TraceExample("a chatty agent", findings: 0, [
                "task_started", "cycle_started c=1", "step_started c=1 s=implement",
                "step_finished c=1 s=implement exit_code=0 duration_ms=600000 stdout_bytes=52000 stderr_bytes=0", "task_completed c=1",
            ]),
        ],
        check: { context in
            context.events.compactMap { event -> TraceFinding? in
                guard event.type == .stepFinished, let duration = event.payload["duration_ms"]?.intValue, duration >= 300_000,
                    let out = event.payload["stdout_bytes"]?.intValue
                else { return nil }
                let bytes = out + (event.payload["stderr_bytes"]?.intValue ?? 0)
                guard bytes < 100 else { return nil }
                return TraceRule.lowOutput.finding(
                    "step \(event.step ?? "?")\(event.item.map { " for item \($0)" } ?? "") ran \(duration / 60_000) min and wrote \(bytes) bytes",
                    at: event)
            }
        })
}
