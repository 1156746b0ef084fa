import Store
import Platform
extension TraceRule {
    static let overlappingCycles: TraceRule = TraceRule(
        id: .overlappingCycles, severity: .error, escalation: .intervene,
        summary: "a cycle started before the previous one ended, or the same cycle started twice in one runner session",
        rationale: """
            Cycles run one after another: every step of cycle N ends before cycle N+1 starts, and \
            a cycle starts once per runner session (a resume may start the interrupted cycle again). \
            A step of an earlier cycle that finishes after a later cycle started, or a cycle \
            started twice without a resume between, means two loops ran at once.
            """,
        examples: [
            TraceExample("cycle 1's step finishes after cycle 2 started", findings: 1, [
                "task_started", "cycle_started c=1", "step_started c=1 s=qa", "cycle_started c=2",
                "step_finished c=1 s=qa exit_code=0 success=true", "task_completed c=2",
            ]),
            TraceExample("a cycle started twice in one session", findings: 1, [
                "task_started", "cycle_started c=1", "cycle_started c=1", "task_completed c=1",
            ]),
            TraceExample("cycles in order, one resumed", findings: 0, [
                "task_started", "cycle_started c=1", "step_started c=1 s=qa", "step_finished c=1 s=qa exit_code=0",
                "cycle_started c=2", "task_resumed c=2 from=interrupted", "cycle_started c=2", "task_completed c=2",
            ]),
        ],
        check: { context in
            var findings: [TraceFinding] = []
            let sessions = RunnerSessions(context.events)
            var latestCycle = 0
            var latestStart: [Int: EventRecord] = [:]
            for event in context.events {
                if event.type == .cycleStarted, let cycle = event.cycle {
                    if let earlier = latestStart[cycle], !sessions.ended(between: earlier.id, and: event.id) {
                        findings.append(
                            TraceRule.overlappingCycles.finding(
                                "cycle \(cycle) started again (event \(event.id)) in the runner session that started it at event \(earlier.id)",
                                at: event, events: [earlier.id, event.id]))
                    }
                    latestStart[cycle] = event
                    latestCycle = max(latestCycle, cycle)
                } else if event.type == .stepFinished, let cycle = event.cycle, cycle > 0, cycle < latestCycle {
                    findings.append(
                        TraceRule.overlappingCycles.finding(
                            "step \(event.step ?? "?") of cycle \(cycle) finished after cycle \(latestCycle) had started",
                            at: event))
                }
            }
            return findings
        })
}
