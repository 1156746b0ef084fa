import Store
import Platform
extension TraceRule {
    static let orphanCommand: TraceRule = TraceRule(
        id: .orphanCommand, severity: .warning, escalation: .attention,
        summary: "a step's command was still running when its runner died",
        rationale: """
            When a runner dies (kill -9, a crash, a reboot) the steps it ran lose their owner. The \
            next command that opens the data directory ends their process groups and marks the \
            task `interrupted`; `task resume` runs those steps again. This rule lists each step \
            caught that way, so the trace shows the interruption and why a step ran twice.
            """,
        examples: [
            TraceExample("the runner died during a step", findings: 1, [
                "task_started runner_pid=100", "cycle_started c=1", "step_started c=1 s=implement",
                "task_resumed c=1 from=interrupted", "step_started c=1 s=implement",
                "step_finished c=1 s=implement exit_code=0", "task_completed c=1",
            ]),
            TraceExample("interrupted and not resumed yet", findings: 1, status: .interrupted, [
                "task_started runner_pid=100", "cycle_started c=1", "step_started c=1 s=implement",
            ]),
            TraceExample("paused between steps", findings: 0, [
                "task_started", "cycle_started c=1", "step_started c=1 s=implement", "step_finished c=1 s=implement exit_code=0",
                "task_paused c=1", "task_resumed c=1 from=paused", "task_completed c=1",
            ]),
        ],
        check: { context in
            var findings: [TraceFinding] = []
            var open: [String: EventRecord] = [:]
            func report(_ reason: String) {
                for started in open.values.sorted(by: { $0.id < $1.id }) {
                    findings.append(
                        TraceRule.orphanCommand.finding(
                            "\(started.stepName) was running when its runner died; \(reason)",
                            at: started))
                }
                open.removeAll()
            }
            for event in context.events {
                let key = event.slot
                switch event.type {
                case .stepStarted: open[key] = event
                case .stepFinished: open[key] = nil
                case .taskResumed where event.payload["from"]?.stringValue == "interrupted":
                    report("its process group was ended at recovery and the resume at event \(event.id) ran it again")
                default: break
                }
            }
            if context.taskStatus == .interrupted {
                report("its process group is ended at recovery; `orchestrator task resume` runs it again")
            }
            return findings
        })
}
