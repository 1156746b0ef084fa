import Store
import Platform
extension TraceRule {
    static let configDrift: TraceRule = TraceRule(
        id: .configDrift, severity: .warning, escalation: .attention,
        summary: "the applied workflow changed while the task ran",
        rationale: """
            A task runs the workflow pinned when it was created. When its project's resources are \
            applied again with changes, the runner notices at the next cycle boundary and records \
            `config_drift_detected` with what changed and what the drift policy did (warn, adopt, \
            fail). The trace lists each.
            """,
        examples: [
            TraceExample("the workflow was re-applied with a change", findings: 1, [
                "task_started", "cycle_started c=1", "config_drift_detected c=2 policy=warn action=kept_pinned", "cycle_started c=2",
                "task_completed c=2",
            ]),
            TraceExample("no drift", findings: 0, ["task_started", "cycle_started c=1", "task_completed c=1"]),
        ],
        check: { context in
            context.events.compactMap { event -> TraceFinding? in
                guard event.type == .configDriftDetected else { return nil }
                let policy = event.payload["policy"]?.stringValue ?? "warn"
                let action = event.payload["action"]?.stringValue ?? "kept the pinned workflow"
                let changed = event.payload["changed"]?.arrayValue?.compactMap(\.stringValue) ?? []
                return TraceRule.configDrift.finding(
                    "the applied workflow differs from the pinned one at cycle \(event.cycle.map(String.init) ?? "?")"
                        + (changed.isEmpty ? "" : " (changed: \(changed.joined(separator: ", ")))") + "; policy \(policy): \(action)",
                    at: event)
            }
        })
}
