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
}

public enum Planner {
    /// How many cycles an infinite loop without `max_cycles` is unrolled when no count is given.
    public static let defaultUnrolledCycles = 3

    /// Unrolls `graph`. `cycles` caps how many cycles are shown (and sets the count for an
    /// infinite loop without `max_cycles`, default 3).
    public static func plan(_ graph: WorkflowGraph, cycles requested: Int? = nil) -> Plan {
        let limit = graph.loop.cycleLimit
        let shown: Int
        let truncated: Bool
        if let limit {
            shown = min(limit, max(1, requested ?? limit))
            truncated = shown < limit
        } else {
            shown = max(1, requested ?? defaultUnrolledCycles)
            truncated = true
        }
        var planned: [PlannedCycle] = []
        for cycle in 1...shown {
            let facts = CycleFacts(cycle: cycle, cycleLimit: limit)
            let known = knownValues(facts)
            planned.append(PlannedCycle(cycle: cycle, facts: facts, steps: graph.steps.map { decide($0, cycle: cycle, known: known) }))
        }
        return Plan(
            workflow: graph, cycles: planned, cycleLimit: limit, truncated: truncated,
            knownVariables: CycleFacts(cycle: 1, cycleLimit: limit).bindings.map(\.name))
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
