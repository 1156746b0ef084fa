import Store
import Platform
extension TraceRule {
    static let longRunning: TraceRule = TraceRule(
        id: .longRunning, severity: .warning, escalation: .attention,
        summary: "a step used 80% or more of its timeout, or timed out",
        rationale: """
            A step close to its timeout will soon be killed, and an agent that times out lost its \
            whole run. The timeout is the step's `timeout_secs`, else the workflow's \
            `safety.step_timeout_secs`, else 1800 s. A step still running is measured up to now. \
            A timeout is escalated to intervene.
            """,
        examples: [
            TraceExample("a step that timed out", findings: 1, [
                "task_started", "cycle_started c=1", "step_started c=1 s=implement",
                "step_finished c=1 s=implement exit_code=124 timed_out=true duration_ms=1800000", "task_failed c=1",
            ]),
            TraceExample("a step at 90% of its timeout", findings: 1, [
                "task_started", "cycle_started c=1", "step_started c=1 s=implement",
                "step_finished c=1 s=implement exit_code=0 duration_ms=1620000", "task_completed c=1",
            ]),
            TraceExample("a quick step", findings: 0, [
                "task_started", "cycle_started c=1", "step_started c=1 s=implement",
                "step_finished c=1 s=implement exit_code=0 duration_ms=60000", "task_completed c=1",
            ]),
        ],
        check: { context in
            var findings: [TraceFinding] = []
            var open: [String: EventRecord] = [:]
            func limit(_ step: String?) -> Int64 { Int64(context.timeouts[step ?? ""] ?? 1800) * 1000 }
            for event in context.events {
                let key = event.slot
                let name = "\(event.stepName)"
                switch event.type {
                case .stepStarted:
                    open[key] = event
                case .stepFinished:
                    open[key] = nil
                    let duration = event.payload["duration_ms"]?.intValue ?? 0
                    if event.payload["timed_out"] == .bool(true) {
                        findings.append(
                            TraceRule.longRunning.finding(
                                "\(name) timed out after \(duration / 1000) s (its timeout is \(limit(event.step) / 1000) s)", at: event,
                                escalation: .intervene))
                    } else if duration * 10 >= limit(event.step) * 8 {
                        findings.append(
                            TraceRule.longRunning.finding(
                                "\(name) took \(duration / 1000) s, \(duration * 100 / max(1, limit(event.step)))% of its \(limit(event.step) / 1000) s timeout",
                                at: event))
                    }
                case .taskResumed, .taskPaused:
                    open.removeAll()
                default:
                    break
                }
            }
            if context.taskStatus == .running {
                for started in open.values.sorted(by: { $0.id < $1.id }) {
                    let elapsed = context.now - context.time(started)
                    if elapsed * 10 >= limit(started.step) * 8 {
                        findings.append(
                            TraceRule.longRunning.finding(
                                "\(started.stepName) has been running for \(elapsed / 1000) s of its \(limit(started.step) / 1000) s timeout",
                                at: started))
                    }
                }
            }
            return findings
        })
}
