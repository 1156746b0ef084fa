import Expr

// The planner: unrolls a compiled graph per cycle with the shared decision rule (StepDecision).

/// One step's decision in one planned cycle.
public struct PlannedStep: Sendable, Hashable {
    public var id: String
    public var decision: StepDecision
    /// A chain's children, each decided by the same rule (they run only when the chain does).
    public var children: [PlannedStep] = []
}

public struct PlannedCycle: Sendable, Hashable {
    public var cycle: Int
    /// What is known before the cycle runs.
    public var facts: CycleFacts
    /// Every top-level step in order (guards and disabled steps included).
    public var steps: [PlannedStep]
}

public struct Plan: Sendable {
    public var workflow: WorkflowGraph
    public var cycles: [PlannedCycle]
    /// The loop's own limit (nil: an infinite loop without `max_cycles`).
    public var cycleLimit: Int?
    /// True when the cycles shown are not all the loop can run: an infinite loop without
    /// `max_cycles` (unrolled `--cycles N`, default 3), or a limit larger than `--cycles`.
    public var truncated: Bool
    /// The variables known in every cycle (the others make prehooks conditional).
    public var knownVariables: [String]
    /// Cycles not unrolled because they decide exactly as an unrolled one: a long loop shows its
    /// first cycles, this range, then its last cycle (`cycles 4-4294967294: as cycle 3`).
    public var repeated: RepeatedCycles?

    /// The cycle after `cycle` in the plan as shown: the first of the repeated range after the
    /// one they repeat, the cycle after the range at its end.
    public func nextShown(after cycle: Int) -> Int {
        if let repeated, cycle == repeated.first - 1 { return repeated.first }
        return cycle + 1
    }
}

/// A range of cycles that decide exactly as cycle `sameAs` (no prehook reads `cycle`, and
/// `is_last_cycle` and `max_cycles` are the same in all of them).
public struct RepeatedCycles: Sendable, Hashable {
    public var first: Int
    public var last: Int
    public var sameAs: Int
}

public enum Planner {
    /// How many cycles an infinite loop without `max_cycles` is unrolled when no count is given.
    public static let defaultUnrolledCycles = 3

    /// The most cycles a plan unrolls, whatever the loop's limit or `--cycles` asks for (a plan
    /// of `max_cycles: 4294967295` stays small).
    public static let maxUnrolledCycles = 1_000

    /// Unrolls `graph`. `cycles` caps how many cycles are shown (and sets the count for an
    /// infinite loop without `max_cycles`, default 3). A loop of more than
    /// `maxUnrolledCycles` cycles, when no prehook reads `cycle`, shows its first
    /// `defaultUnrolledCycles` cycles, the range after them as repeating the last of those
    /// (`repeated`), and its last cycle; when a prehook reads `cycle` it shows the first
    /// `maxUnrolledCycles` and is `truncated`.
    public static func plan(_ graph: WorkflowGraph, cycles requested: Int? = nil) -> Plan {
        let limit = graph.loop.cycleLimit
        var shown: [Int]
        var truncated: Bool
        var repeated: RepeatedCycles?
        if let limit {
            let count = min(limit, max(1, requested ?? limit))
            truncated = count < limit
            shown = Array(1...min(count, maxUnrolledCycles))
            let head = defaultUnrolledCycles
            if requested == nil, limit > maxUnrolledCycles, limit > head + 1, !readsCycle(graph.steps) {
                // Cycles 2 to limit - 1 decide alike: nothing they know differs but the number.
                shown = Array(1...head) + [limit]
                repeated = RepeatedCycles(first: head + 1, last: limit - 1, sameAs: head)
            } else if shown.count < count {
                truncated = true
            }
        } else {
            shown = Array(1...min(maxUnrolledCycles, max(1, requested ?? defaultUnrolledCycles)))
            truncated = true
        }
        let planned = shown.map { cycle in
            let facts = CycleFacts(cycle: cycle, cycleLimit: limit)
            let known = knownValues(facts)
            return PlannedCycle(cycle: cycle, facts: facts, steps: graph.steps.map { decide($0, cycle: cycle, known: known) })
        }
        return Plan(
            workflow: graph, cycles: planned, cycleLimit: limit, truncated: truncated,
            knownVariables: CycleFacts(cycle: 1, cycleLimit: limit).bindings.map(\.name), repeated: repeated)
    }

    /// Whether a prehook of `steps` (chains included) reads the cycle number.
    static func readsCycle(_ steps: [CompiledStep]) -> Bool {
        steps.contains { step in
            (step.prehook?.when.variables.contains("cycle") ?? false) || readsCycle(step.children)
        }
    }

    static func decide(_ step: CompiledStep, cycle: Int, known: [String: Value]) -> PlannedStep {
        PlannedStep(
            id: step.id,
            decision: StepDecision.decide(
                step, cycle: cycle, evaluatePrehook: { $0.when.partiallyEvaluate(known) },
                describeKnown: { describe($0.when, known: known) }),
            children: step.children.map { decide($0, cycle: cycle, known: known) })
    }

    /// The values the planner knows in a cycle: the cycle built-ins.
    public static func knownValues(_ facts: CycleFacts) -> [String: Value] {
        var known: [String: Value] = [:]
        for binding in facts.bindings { known[binding.name] = binding.value }
        return known
    }

    /// "is_last_cycle is false, cycle is 1": the known values the expression reads.
    static func describe(_ expression: CompiledExpression, known: [String: Value]) -> String? {
        let parts = expression.variables.compactMap { name in known[name].map { "\(name) is \($0)" } }
        return parts.isEmpty ? nil : parts.joined(separator: ", ")
    }
}
