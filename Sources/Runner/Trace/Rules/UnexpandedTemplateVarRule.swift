import Store
import Platform
extension TraceRule {
    static let unexpandedTemplateVar: TraceRule = TraceRule(
        id: .unexpandedTemplateVar, severity: .warning, escalation: .attention,
        summary: "a step ran with `{placeholders}` that had no value",
        rationale: """
            A placeholder with no value stays literal in the prompt or command (`{self_test_errors_path}` \
            reaches the agent as that text), so the agent works without what the template meant to \
            give it. The step's `step_started` lists them in `missing_placeholders`.
            """,
        examples: [
            TraceExample("a prompt with an unset placeholder", findings: 1, [
                "task_started", "cycle_started c=1", "step_started c=1 s=implement missing_placeholders=[self_test_errors_path]",
                "step_finished c=1 s=implement exit_code=0", "task_completed c=1",
            ]),
            TraceExample("every placeholder had a value", findings: 0, [
                "task_started", "cycle_started c=1", "step_started c=1 s=implement", "step_finished c=1 s=implement exit_code=0",
                "task_completed c=1",
            ]),
        ],
        check: { context in
            context.events.compactMap { event -> TraceFinding? in
                guard event.type == .stepStarted, let missing = event.payload["missing_placeholders"]?.arrayValue, !missing.isEmpty
                else { return nil }
                let names = missing.compactMap(\.stringValue).map { "{\($0)}" }.joined(separator: ", ")
                return TraceRule.unexpandedTemplateVar.finding(
                    "\(event.stepName) ran with \(names) left unexpanded",
                    at: event)
            }
        })
}
