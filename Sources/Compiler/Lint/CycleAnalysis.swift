import Expr

// A step's decisions over every cycle its loop can run (the planner's rule, `StepDecision.decide`,
// over the cycle classes of `LintContext.cycleClasses`): the base of `step-never-runs` and
// `prehook-constant`.

struct StepCycleAnalysis {
    /// The decision in each class of cycles.
    var decisions: [(cycles: CycleClass, decision: StepDecision)]
    /// The prehook's value in each class, whether or not the decision got to evaluate it
    /// (`repeatable: false` skips before the prehook); empty without a prehook.
    var prehookOutcomes: [(cycles: CycleClass, outcome: PrehookOutcome)]

    init(_ step: CompiledStep, classes: [CycleClass]) {
        decisions = classes.map { cycles in
            (cycles, StepDecision.decide(
                step, cycle: cycles.representative,
                evaluatePrehook: { $0.when.partiallyEvaluate(cycles.known) },
                describeKnown: { Planner.describe($0.when, known: cycles.known) }))
        }
        if let prehook = step.prehook {
            prehookOutcomes = classes.map { ($0, prehook.when.partiallyEvaluate($0.known)) }
        } else {
            prehookOutcomes = []
        }
    }

    /// Skipped in every cycle (for a reason other than `enabled: false`).
    var neverRuns: Bool {
        decisions.allSatisfy { $0.decision.verdict == .skip && $0.decision.skipReason != .disabled }
    }

    /// The prehook's one definite value in every cycle, if it has one.
    var constantPrehook: Bool? {
        guard let first = prehookOutcomes.first, case .value(let value) = first.outcome else { return nil }
        for entry in prehookOutcomes {
            guard case .value(let other) = entry.outcome, other == value else { return nil }
        }
        return value
    }

    /// "cycle 1: prehook_false: is_last_cycle is false; cycle 2: not_repeatable: runs in cycle 1 only",
    /// consecutive cycles with the same reason merged ("cycles 2-5").
    var skipReasons: String {
        var parts: [(first: Int, last: Int?, reason: String)] = []
        for (cycles, decision) in decisions {
            let reason = decision.reason ?? decision.verdict.rawValue
            if let last = parts.last, last.reason == reason {
                parts[parts.count - 1].last = cycles.last
            } else {
                parts.append((cycles.first, cycles.last, reason))
            }
        }
        return parts.map { CycleClass.label($0.first, $0.last) + ": " + $0.reason }.joined(separator: "; ")
    }
}
