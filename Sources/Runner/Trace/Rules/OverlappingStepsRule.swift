import Store
import Platform
extension TraceRule {
    static let overlappingSteps: TraceRule = TraceRule(
        id: .overlappingSteps, severity: .error, escalation: .intervene,
        summary: "the same step started again for the same item while its first run had not finished",
        rationale: """
            A step runs once per item and cycle. A second `step_started` for the same cycle, step \
            and item before the first one's `step_finished`, with no runner crash between, means \
            the step ran twice at once: two agents edit the same files.
            """,
        examples: [
            TraceExample("the same item's step started twice", findings: 1, [
                "task_started", "cycle_started c=1", "step_started c=1 s=qa i=a", "step_started c=1 s=qa i=a",
                "step_finished c=1 s=qa i=a exit_code=0", "step_finished c=1 s=qa i=a exit_code=0", "task_completed c=1",
            ]),
            TraceExample("two items at once, and a rerun after a crash", findings: 0, [
                "task_started", "cycle_started c=1", "step_started c=1 s=qa i=a", "step_started c=1 s=qa i=b",
                "step_finished c=1 s=qa i=b exit_code=0", "task_resumed c=1 from=interrupted", "step_started c=1 s=qa i=a",
                "step_finished c=1 s=qa i=a exit_code=0", "task_completed c=1",
            ]),
        ],
        check: { context in
            var findings: [TraceFinding] = []
            let sessions = RunnerSessions(context.events)
            var open: [String: EventRecord] = [:]
            for event in context.events {
                let key = event.slot
                switch event.type {
                case .stepStarted:
                    if let first = open[key], !sessions.ended(between: first.id, and: event.id) {
                        findings.append(
                            TraceRule.overlappingSteps.finding(
                                "\(event.stepName) started again (event \(event.id)) while its run from event \(first.id) had not finished",
                                at: event, events: [first.id, event.id]))
                    }
                    open[key] = event
                case .stepFinished:
                    open[key] = nil
                default:
                    break
                }
            }
            return findings
        })
}
