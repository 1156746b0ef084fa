import Store
import Platform
extension TraceRule {
    static let missingStepEnd: TraceRule = TraceRule(
        id: .missingStepEnd, severity: .warning, escalation: .attention,
        summary: "a step started and never finished",
        rationale: """
            Every `step_started` is followed by its `step_finished`, unless the runner was \
            interrupted (then the step runs again on resume) or the task still runs it. A step \
            with no end in a task that stopped lost its result: its output was never captured and \
            the decisions after it did not see it.
            """,
        examples: [
            TraceExample("a step without an end in a completed task", findings: 1, [
                "task_started", "cycle_started c=1", "step_started c=1 s=qa i=a", "task_completed c=1",
            ]),
            TraceExample("interrupted and run again", findings: 0, [
                "task_started", "cycle_started c=1", "step_started c=1 s=qa i=a", "task_resumed c=1 from=interrupted",
                "step_started c=1 s=qa i=a", "step_finished c=1 s=qa i=a exit_code=0", "task_completed c=1",
            ]),
            TraceExample("the step running now", findings: 0, status: .running, [
                "task_started", "cycle_started c=1", "step_started c=1 s=qa i=a",
            ]),
        ],
        check: { context in
            var open: [String: EventRecord] = [:]
            for event in context.events {
                let key = event.slot
                switch event.type {
                case .stepStarted: open[key] = event
                case .stepFinished: open[key] = nil
                // A resume reruns what had no end; a pause lets running steps finish first.
                case .taskResumed where event.payload["from"]?.stringValue == "interrupted": open.removeAll()
                default: break
                }
            }
            if context.taskStatus == .running || context.taskStatus == .interrupted { return [] }
            return open.values.sorted { $0.id < $1.id }.map { started in
                TraceRule.missingStepEnd.finding(
                    "\(started.stepName) started (event \(started.id)) and has no step_finished, though the task is \(context.taskStatus.rawValue)",
                    at: started)
            }
        })
}
