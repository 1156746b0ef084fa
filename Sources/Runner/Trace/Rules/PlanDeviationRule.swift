import Store
import Platform
extension TraceRule {
    static let planDeviation: TraceRule = TraceRule(
        id: .planDeviation, severity: .error, escalation: .attention,
        summary: "what ran differs from what `plan` said would run",
        rationale: """
            `plan` shows, before any credit is spent, which steps run in which cycle; the runner \
            decides every step with the same rule. A step that ran where the plan says skip, a \
            planned step with no record, or more cycles than planned means the plan could not be \
            trusted for this task: the findings say where (the same list as the trace's \
            deviations).
            """,
        examples: [],
        check: { context in
            context.deviations.map { deviation in
                TraceRule.planDeviation.finding(deviation, at: nil)
            }
        })
}
