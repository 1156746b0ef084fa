import Store
import Platform
extension TraceRule {
    static let incarnationBoundary: TraceRule = TraceRule(
        id: .incarnationBoundary, severity: .info, escalation: .notice,
        summary: "the task moved to another runner (a resume, a daemon restart)",
        rationale: """
            A task that is paused and resumed, whose runner died and was recovered, or whose \
            daemon re-executed itself, continues under another process. Events before and after \
            the boundary come from different runners; this rule marks each boundary so that a \
            step run twice across it is read as a rerun, not as a duplicate.
            """,
        examples: [
            TraceExample("a crash and a resume", findings: 1, [
                "task_started runner_pid=100", "cycle_started c=1", "step_started c=1 s=qa", "task_resumed c=1 from=interrupted",
                "step_started c=1 s=qa", "step_finished c=1 s=qa exit_code=0", "task_completed c=1",
            ]),
            TraceExample("one runner from start to end", findings: 0, [
                "task_started runner_pid=100", "cycle_started c=1", "step_started c=1 s=qa", "step_finished c=1 s=qa exit_code=0",
                "task_completed c=1",
            ]),
        ],
        check: { context in
            context.events.compactMap { event -> TraceFinding? in
                switch event.type {
                case .taskResumed:
                    let from = event.payload["from"]?.stringValue ?? "paused"
                    let why = from == "interrupted" ? "its runner had died (interrupted)" : "it was \(from)"
                    return TraceRule.incarnationBoundary.finding(
                        "a new runner took the task over at cycle \(event.cycle.map(String.init) ?? "0"): \(why)", at: event)
                case .daemonRestarted:
                    let incarnation = event.payload["incarnation"]?.intValue.map { " (incarnation \($0))" } ?? ""
                    return TraceRule.incarnationBoundary.finding("the daemon re-executed itself\(incarnation)", at: event)
                default:
                    return nil
                }
            }
        })
}
