import Store
import Platform
extension TraceRule {
    static let degenerateLoop: TraceRule = TraceRule(
        id: .degenerateLoop, severity: .warning, escalation: .intervene,
        summary: "three or more cycles in a row did the same thing with the same results",
        rationale: """
            A loop that repeats the same steps for the same items with the same exit codes, while \
            the number of open items does not fall, is not converging: each further cycle spends \
            agent credit for nothing. Stop it and look at why the fix does not stick (a ticket never \
            closed, a prehook that never changes, a test that always fails).
            """,
        examples: [
            TraceExample("the same failure three cycles running", findings: 1, [
                "task_started", "cycle_started c=1 open_items=1", "step_started c=1 s=qa i=a", "step_finished c=1 s=qa i=a exit_code=1",
                "cycle_started c=2 open_items=1", "step_started c=2 s=qa i=a", "step_finished c=2 s=qa i=a exit_code=1",
                "cycle_started c=3 open_items=1", "step_started c=3 s=qa i=a", "step_finished c=3 s=qa i=a exit_code=1",
                "task_failed c=3",
            ]),
            TraceExample("open items fall", findings: 0, [
                "task_started", "cycle_started c=1 open_items=3", "step_started c=1 s=qa", "step_finished c=1 s=qa exit_code=1",
                "cycle_started c=2 open_items=2", "step_started c=2 s=qa", "step_finished c=2 s=qa exit_code=1",
                "cycle_started c=3 open_items=1", "step_started c=3 s=qa", "step_finished c=3 s=qa exit_code=1",
                "task_completed c=3",
            ]),
        ],
        check: { context in
            var signatures: [Int: [String]] = [:]
            var open: [Int: Int64] = [:]
            var starts: [Int: EventRecord] = [:]
            for event in context.events {
                guard let cycle = event.cycle else { continue }
                if event.type == .cycleStarted {
                    starts[cycle] = starts[cycle] ?? event
                    open[cycle] = event.payload["open_items"]?.intValue ?? open[cycle]
                }
                if event.type == .stepFinished {
                    signatures[cycle, default: []].append("\(event.step ?? "")|\(event.item ?? "")|\(event.payload["exit_code"]?.intValue ?? 0)")
                }
            }
            let cycles = starts.keys.sorted()
            var findings: [TraceFinding] = []
            var runStart = 0
            var index = 1
            func close(_ end: Int) {
                let length = end - runStart
                if length >= 3, let first = starts[cycles[runStart]] {
                    findings.append(
                        TraceRule.degenerateLoop.finding(
                            "cycles \(cycles[runStart])-\(cycles[end - 1]) repeated the same steps with the same exit codes and \(open[cycles[runStart]] ?? 0) open item(s) each",
                            at: first, events: (runStart..<end).compactMap { starts[cycles[$0]]?.id }))
                }
            }
            while index <= cycles.count {
                let same =
                    index < cycles.count && !(signatures[cycles[index]] ?? []).isEmpty
                    && (signatures[cycles[index]] ?? []).sorted() == (signatures[cycles[index - 1]] ?? []).sorted()
                    && (open[cycles[index]] ?? 0) >= (open[cycles[index - 1]] ?? 0)
                if !same {
                    close(index)
                    runStart = index
                }
                index += 1
            }
            return findings
        })
}
