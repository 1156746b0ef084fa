// The rule that decides whether a step runs in a cycle (spec/execution.md "A step's decision in
// a cycle"). The planner calls it with what is known before the task runs; the runner calls it
// with the full bindings of the moment. One rule, two callers.

/// Why a step is skipped.
public enum SkipReason: String, Sendable, Hashable, CaseIterable {
    /// `enabled: false`.
    case disabled
    /// `repeatable: false` and the cycle is after the first.
    case not_repeatable
    /// The prehook's `when` is false.
    case prehook_false
    /// The prehook could not be evaluated (the runner skips the step and reports the error).
    case prehook_error
}

public struct StepDecision: Sendable, Hashable {
    public enum Verdict: String, Sendable, Hashable {
        case run, skip, conditional
    }

    public var verdict: Verdict
    /// Set when the verdict is `skip`.
    public var skipReason: SkipReason?
    /// Why, in words: the known values a prehook was decided on, the evaluation error, ...
    public var explanation: String?
    /// The variables a conditional decision depends on.
    public var unknowns: [String]

    public init(verdict: Verdict, skipReason: SkipReason? = nil, explanation: String? = nil, unknowns: [String] = []) {
        self.verdict = verdict
        self.skipReason = skipReason
        self.explanation = explanation
        self.unknowns = unknowns
    }

    /// `REASON_CODE: explanation` for skips (`prehook_false: is_last_cycle is false`), the
    /// explanation alone otherwise; nil for a plain run.
    public var reason: String? {
        if let skipReason {
            return explanation.map { skipReason.rawValue + ": " + $0 } ?? skipReason.rawValue
        }
        return explanation
    }

    /// The decision for `step` in `cycle`. `evaluatePrehook` evaluates the step's prehook with
    /// whatever the caller knows: the planner partially (unknown variables give `.unknown`), the
    /// runner fully. `describeKnown` names the known values the expression read, for the reason.
    public static func decide(
        _ step: CompiledStep, cycle: Int,
        evaluatePrehook: (PrehookBinding) -> PrehookOutcome,
        describeKnown: (PrehookBinding) -> String? = { _ in nil }
    ) -> StepDecision {
        if !step.enabled {
            return StepDecision(verdict: .skip, skipReason: .disabled)
        }
        if !step.repeatable && cycle > 1 {
            return StepDecision(verdict: .skip, skipReason: .not_repeatable, explanation: "runs in cycle 1 only")
        }
        guard let prehook = step.prehook else {
            return StepDecision(verdict: .run)
        }
        switch evaluatePrehook(prehook) {
        case .value(true):
            return StepDecision(verdict: .run, explanation: describeKnown(prehook).map { "prehook true: " + $0 } ?? "prehook true")
        case .value(false):
            return StepDecision(verdict: .skip, skipReason: .prehook_false, explanation: describeKnown(prehook))
        case .unknown(let names):
            return StepDecision(
                verdict: .conditional, explanation: "prehook depends on " + names.joined(separator: ", "), unknowns: names)
        case .error(let message):
            return StepDecision(verdict: .skip, skipReason: .prehook_error, explanation: message)
        }
    }
}
