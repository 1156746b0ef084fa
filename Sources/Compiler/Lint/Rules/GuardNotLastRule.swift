import Diagnostics

extension LintRule {
    static let guardNotLast = LintRule(
        id: "guard-not-last", severity: .warning,
        summary: "a guard step is written before steps that are not guards",
        rationale: """
            Guard steps (`is_guard: true`, or `builtin: loop_guard`) do not run where they are written: \
            they run after all of the cycle's segments, whatever their position. A guard written before \
            other steps reads as if it ran first and could keep them from running, which it does not; \
            write the guards last so the file reads in the order things happen.
            """,
        examples: [
            LintExample(
                "the loop guard written first", triggers: true,
                """
                apiVersion: orchestrator.dev/v2
                kind: Workflow
                metadata:
                  name: guarded
                spec:
                  loop:
                    mode: fixed
                    max_cycles: 3
                  steps:
                    - id: loop_guard
                #         ^ expect
                    - id: build
                      command: make
                """),
            LintExample(
                "guards last", triggers: false,
                """
                apiVersion: orchestrator.dev/v2
                kind: Workflow
                metadata:
                  name: guarded
                spec:
                  loop:
                    mode: fixed
                    max_cycles: 3
                  steps:
                    - id: build
                      command: make
                    - id: loop_guard
                    - id: budget_guard
                      command: ./budget-left.sh
                      is_guard: true
                """),
        ],
        check: GuardNotLast.check)
}

private enum GuardNotLast {
    static func check(_ context: LintContext) -> [Diagnostic] {
        var findings: [Diagnostic] = []
        for workflow in context.workflows {
            let steps = workflow.graph.steps
            for (index, step) in steps.enumerated() where step.isGuard && step.enabled {
                guard let later = steps[(index + 1)...].first(where: { !$0.isGuard && $0.enabled }) else { continue }
                findings.append(
                    LintRule.guardNotLast.finding(
                        "guard step `\(step.id)` is written before step `\(later.id)`, but guards run after all of the cycle's segments",
                        file: workflow.file, range: step.idRange,
                        help: "move `\(step.id)` after the last step that is not a guard"))
            }
        }
        return findings
    }
}
