import Compiler
import JSON
import Store
import Platform

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

/// What became of one step run of the timeline.
public enum TimelineOutcome: String, Sendable, CaseIterable {
    case ran
    /// It ran and reported that it did nothing (`did_nothing`).
    case didNothing = "did nothing"
    case skipped
    /// No end yet.
    case running
    /// Its runner died before it ended.
    case interrupted
}

/// One step run (or skip) of the timeline, in event order.
public struct TimelineRow: Sendable {
    public var cycle: Int
    public var step: String
    public var item: String?
    public var outcome: TimelineOutcome
    public var start: String?
    public var durationMS: Int64?
    public var exitCode: Int64?
    /// The decision (`run`/`skip`) and its reason, when a prehook or the decision rule gave one.
    public var decision: String?
    public var reason: String?

    public var json: JSONValue {
        .object([
            ("cycle", .int(Int64(cycle))), ("step", .string(step)), ("item", item.map { .string($0) } ?? .null),
            ("outcome", .string(outcome.rawValue)), ("start", start.map { .string($0) } ?? .null),
            ("duration_ms", durationMS.map { .int($0) } ?? .null), ("exit_code", exitCode.map { .int($0) } ?? .null),
            ("decision", decision.map { .string($0) } ?? .null), ("reason", reason.map { .string($0) } ?? .null),
        ])
    }
}

public struct TaskTrace: Sendable {
    public var entries: [TraceEntry]
    public var deviations: [String]
    public var cycles: Int
    /// Set when the task's oldest events were cleaned up (`event cleanup`): the id of the oldest
    /// event left (0: none is left). The trace covers what remains.
    public var historyStartsAt: Int64?
    /// What did not happen although nothing failed (steps that did nothing, failed
    /// generate_items extractions) and failed steps' first stderr lines.
    public var notes: [TaskNote] = []
    /// Every trace rule's findings (docs/trace.md); plan deviations are `plan_deviation` findings.
    public var findings: [TraceFinding] = []
    /// Per cycle, each step run or skip with its start, duration, exit and decision.
    public var timeline: [TimelineRow] = []

    /// The worst severity found (nil: no finding).
    public var worst: TraceSeverity? { findings.map(\.severity).max() }

    /// Decision reasons that contradict a plan's `run` (runtime reasons such as early_return do not).
    static let decisionReasons: Set<String> = ["disabled", "not_repeatable", "prehook_false", "prehook_error"]

    public static func trace(task: TaskRecord, events: [EventRecord], now: Int64? = nil) throws -> TaskTrace {
        let pinned = try PinnedWorkflow.compile(snapshot: task.snapshot, project: task.project, workflow: task.workflow, workspace: task.workspace)
        let graph = pinned.graph
        let executedCycles = events.filter { $0.type == .cycleStarted }.compactMap(\.cycle)
        // `event cleanup` may have deleted the oldest events: the trace then covers what remains
        // and does not call missing history a deviation.
        let trimmed = events.first?.type != .taskCreated
        let startedCycles = Set(executedCycles)
        let cycles = max(executedCycles.max() ?? 0, trimmed ? task.cycle : 0)
        let plan = Planner.plan(graph, cycles: graph.loop.cycleLimit == nil ? max(cycles, 1) : nil)
        var deviations: [String] = []
        var entries: [TraceEntry] = []

        // step -> cycle -> events
        var ran: [String: [Int: [String?]]] = [:]
        var skipped: [String: [Int: [(item: String?, reason: String)]]] = [:]
        var idle: [String: Set<Int>] = [:]
        for event in events {
            guard let cycle = event.cycle, let step = event.step else { continue }
            if event.type == .stepStarted { ran[step, default: [:]][cycle, default: []].append(event.item) }
            if event.type == .stepFinished, event.payload["did_nothing"] != nil {
                idle[step, default: []].insert(cycle)
            }
            if event.type == .stepSkipped {
                skipped[step, default: [:]][cycle, default: []].append((event.item, event.payload["reason"]?.stringValue ?? "?"))
            }
        }
        let known = Set(graph.steps.flatMap { [$0.id] + $0.children.map(\.id) })
        for (step, byCycle) in ran where !known.contains(step) && step != "init" {
            for cycle in byCycle.keys.sorted() { deviations.append("cycle \(cycle): \(step) ran but the workflow has no such step") }
        }
        let finished = task.finalizedCycle
        let stoppedByGuard = events.contains { $0.type == .loopGuardDecision && $0.payload["continue"] == .bool(false) }

        for cycle in 1...max(cycles, 1) where cycles > 0 && (!trimmed || startedCycles.contains(cycle)) {
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
        if !trimmed, task.status == .completed, cycles < plan.cycles.count, !plan.truncated, !stoppedByGuard {
            deviations.append("the task completed after \(cycles) cycle\(cycles == 1 ? "" : "s"), but the plan has \(plan.cycles.count) and no guard stopped the loop")
        }
        var timeouts: [String: Int] = [:]
        for step in graph.steps + graph.steps.flatMap(\.children) {
            timeouts[step.id] = step.timeoutSecs ?? graph.safety.stepTimeoutSecs ?? TaskRunner.defaultTimeoutSecs
        }
        let context = TraceContext(
            taskStatus: task.status, events: events, timeouts: timeouts, deviations: deviations,
            now: now ?? TraceClock.milliseconds(task.updatedAt) ?? 0)
        return TaskTrace(
            entries: entries, deviations: deviations, cycles: cycles,
            historyStartsAt: trimmed ? (events.first?.id ?? 0) : nil, notes: TaskNote.notes(from: events),
            findings: TraceRules.check(context), timeline: timeline(events))
    }

    /// The timeline of the events: one row per step run or skip.
    static func timeline(_ events: [EventRecord]) -> [TimelineRow] {
        var rows: [TimelineRow] = []
        var open: [String: Int] = [:]
        var decisions: [String: (String, String?)] = [:]
        for event in events {
            guard let step = event.step else {
                if event.type == .taskResumed, event.payload["from"]?.stringValue == "interrupted" {
                    for index in open.values { rows[index].outcome = .interrupted }
                    open.removeAll()
                }
                continue
            }
            let cycle = event.cycle ?? 0
            let key = "\(cycle)|\(step)|\(event.item ?? "")"
            switch event.type {
            case .stepPrehookEvaluated:
                decisions[key] = (event.payload["decision"]?.stringValue ?? "", event.payload["reason"]?.stringValue)
            case .stepStarted:
                let decision = decisions.removeValue(forKey: key)
                rows.append(
                    TimelineRow(
                        cycle: cycle, step: step, item: event.item, outcome: .running, start: event.timestamp, decision: decision?.0 ?? "run",
                        reason: decision?.1))
                open[key] = rows.count - 1
            case .stepFinished:
                if let index = open.removeValue(forKey: key) {
                    rows[index].outcome = event.payload["did_nothing"] != nil ? .didNothing : .ran
                    rows[index].durationMS = event.payload["duration_ms"]?.intValue
                    rows[index].exitCode = event.payload["exit_code"]?.intValue
                }
            case .stepSkipped:
                let decision = decisions.removeValue(forKey: key)
                rows.append(
                    TimelineRow(
                        cycle: cycle, step: step, item: event.item, outcome: .skipped, start: event.timestamp, decision: "skip",
                        reason: event.payload["reason"]?.stringValue ?? decision?.1))
            default:
                break
            }
        }
        return rows
    }
}
