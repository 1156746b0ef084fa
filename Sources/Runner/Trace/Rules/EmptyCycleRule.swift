import Store
import Platform
extension TraceRule {
    static let emptyCycle: TraceRule = TraceRule(
        id: .emptyCycle, severity: .warning, escalation: .attention,
        summary: "a cycle in which no step ran",
        rationale: """
            A cycle whose every step was skipped (or that ran nothing at all) did no work, but \
            counts toward max_cycles and may end the loop green. Usually a prehook is always false \
            (a variable that is never set) or the items ran out.
            """,
        examples: [
            TraceExample("everything skipped", findings: 1, [
                "task_started", "cycle_started c=1", "step_skipped c=1 s=qa i=a reason=prehook_false",
                "step_skipped c=1 s=fix i=a reason=prehook_false", "task_completed c=1",
            ]),
            TraceExample("one step ran", findings: 0, [
                "task_started", "cycle_started c=1", "step_skipped c=1 s=qa i=a reason=prehook_false",
                "step_started c=1 s=fix i=a", "step_finished c=1 s=fix i=a exit_code=0", "task_completed c=1",
            ]),
        ],
        check: { context in
            var starts: [Int: EventRecord] = [:]
            var ran = Set<Int>()
            var order: [Int] = []
            var lastCycle = 0
            for event in context.events {
                if event.type == .cycleStarted, let cycle = event.cycle {
                    if starts[cycle] == nil { order.append(cycle) }
                    starts[cycle] = starts[cycle] ?? event
                    lastCycle = max(lastCycle, cycle)
                }
                if event.type == .stepStarted, let cycle = event.cycle { ran.insert(cycle) }
            }
            return order.compactMap { cycle -> TraceFinding? in
                guard !ran.contains(cycle), let start = starts[cycle] else { return nil }
                // The cycle running now may not have reached its first step yet.
                if cycle == lastCycle && context.taskStatus == .running { return nil }
                return TraceRule.emptyCycle.finding("cycle \(cycle) ran no step: every step was skipped", at: start)
            }
        })
}
