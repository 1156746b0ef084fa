import Compiler
import JSON

// Plan vs execution (execution.md "Drift" 3): the executed events laid against the plan of the
// task's pinned graph, every deviation reported.

public struct TraceEntry: Sendable {
    public var cycle: Int
    public var step: String
    /// `run`, `skip` or `conditional`.
    public var planned: String
    public var plannedReason: String?
    /// What happened: `ran`, `ran (N items)`, `skipped: REASON`, `not reached`, ...
    public var executed: String
}

public struct TaskTrace: Sendable {
    public var entries: [TraceEntry]
    public var deviations: [String]
    public var cycles: Int
    /// What did not happen although nothing failed (steps that did nothing, failed
    /// generate_items extractions) and failed steps' first stderr lines.
    public var notes: [TaskNote] = []

    /// Decision reasons that contradict a plan's `run` (runtime reasons such as early_return do not).
    static let decisionReasons: Set<String> = ["disabled", "not_repeatable", "prehook_false", "prehook_error"]

    public static func trace(task: TaskRecord, events: [EventRecord]) throws -> TaskTrace {
        let pinned = try PinnedWorkflow.compile(snapshot: task.snapshot, project: task.project, workflow: task.workflow, workspace: task.workspace)
        let graph = pinned.graph
        let executedCycles = events.filter { $0.type == "cycle_started" }.compactMap(\.cycle)
        let cycles = executedCycles.max() ?? 0
        let plan = Planner.plan(graph, cycles: graph.loop.cycleLimit == nil ? max(cycles, 1) : nil)
        var deviations: [String] = []
        var entries: [TraceEntry] = []

        // step -> cycle -> events
        var ran: [String: [Int: [String?]]] = [:]
        var skipped: [String: [Int: [(item: String?, reason: String)]]] = [:]
        var idle: [String: Set<Int>] = [:]
        for event in events {
            guard let cycle = event.cycle, let step = event.step else { continue }
            if event.type == "step_started" { ran[step, default: [:]][cycle, default: []].append(event.item) }
            if event.type == "step_finished", event.payload["did_nothing"] != nil {
                idle[step, default: []].insert(cycle)
            }
            if event.type == "step_skipped" {
                skipped[step, default: [:]][cycle, default: []].append((event.item, event.payload["reason"]?.stringValue ?? "?"))
            }
        }
        let known = Set(graph.steps.flatMap { [$0.id] + $0.children.map(\.id) })
        for (step, byCycle) in ran where !known.contains(step) && step != "init" {
            for cycle in byCycle.keys.sorted() { deviations.append("cycle \(cycle): \(step) ran but the workflow has no such step") }
        }
        let finished = task.finalizedCycle
        let stoppedByGuard = events.contains { $0.type == "loop_guard_decision" && $0.payload["continue"] == .bool(false) }

        for cycle in 1...max(cycles, 1) where cycles > 0 {
            guard cycle <= plan.cycles.count else {
                deviations.append("cycle \(cycle) ran, but the plan has only \(plan.cycles.count) cycle\(plan.cycles.count == 1 ? "" : "s")")
                continue
            }
            let planned = plan.cycles[cycle - 1]
            var all: [(PlannedStep, CompiledStep?)] = []
            for entry in planned.steps {
                all.append((entry, graph.step(entry.id)))
                for child in entry.children { all.append((child, graph.steps.flatMap(\.children).first { $0.id == child.id })) }
            }
            for (entry, step) in all {
                let runs = ran[entry.id]?[cycle] ?? []
                let skips = skipped[entry.id]?[cycle] ?? []
                var executed: String
                if runs.isEmpty && skips.isEmpty {
                    executed = "no record"
                } else if skips.isEmpty {
                    executed = runs.count == 1 && runs[0] == nil ? "ran" : "ran (\(runs.count) item\(runs.count == 1 ? "" : "s"))"
                    if idle[entry.id]?.contains(cycle) == true { executed += ", did nothing" }
                } else if runs.isEmpty {
                    let reasons = Array(Set(skips.map(\.reason))).sorted()
                    executed = "skipped: " + reasons.joined(separator: ", ") + (skips.count > 1 ? " (\(skips.count) items)" : "")
                } else {
                    executed = "ran for \(runs.count), skipped for \(skips.count): " + Array(Set(skips.map(\.reason))).sorted().joined(separator: ", ")
                }
                let decision = entry.decision
                entries.append(
                    TraceEntry(cycle: cycle, step: entry.id, planned: decision.verdict.rawValue, plannedReason: decision.reason, executed: executed))
                func name(_ item: String?) -> String { item.map { " for item \($0)" } ?? "" }
                switch decision.verdict {
                case .skip:
                    for item in runs {
                        deviations.append("cycle \(cycle): \(entry.id) ran\(name(item)), but the plan says skip (\(decision.reason ?? ""))")
                    }
                case .run:
                    for skip in skips where decisionReasons.contains(skip.reason) {
                        deviations.append("cycle \(cycle): \(entry.id) was skipped\(name(skip.item)) (\(skip.reason)), but the plan says run")
                    }
                    let complete = cycle <= finished
                    if runs.isEmpty && skips.isEmpty && complete && step?.scope == .task && !(step?.isGuard ?? false) {
                        deviations.append("cycle \(cycle): \(entry.id) should have run, but there is no record of it")
                    }
                case .conditional:
                    break
                }
            }
        }
        if task.status == .completed, cycles < plan.cycles.count, !plan.truncated, !stoppedByGuard {
            deviations.append("the task completed after \(cycles) cycle\(cycles == 1 ? "" : "s"), but the plan has \(plan.cycles.count) and no guard stopped the loop")
        }
        return TaskTrace(entries: entries, deviations: deviations, cycles: cycles, notes: TaskNote.notes(from: events))
    }
}
