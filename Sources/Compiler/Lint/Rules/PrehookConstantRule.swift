import Diagnostics

extension LintRule {
    static let prehookConstant = LintRule(
        id: "prehook-constant", severity: .warning,
        summary: "a prehook that is surely true, or surely false, in every cycle",
        rationale: """
            A prehook exists to decide, cycle by cycle or item by item, whether a step runs. One whose \
            value is already known in every cycle decides nothing: surely true, it is noise that \
            suggests a condition that does not exist (often `is_last_cycle` in a loop of one cycle); \
            surely false, the step never runs. The rule evaluates the `when` expression in every cycle \
            of the loop with what the planner knows (`cycle`, `max_cycles`, `is_last_cycle`; every \
            other variable unknown), ignoring `repeatable`, and reports it when every cycle gives the \
            same definite value. A surely false prehook means the step never runs, and is reported \
            once, as `step-never-runs`; this rule reports it only when `step-never-runs` is disabled.
            """,
        examples: [
            LintExample(
                "`is_last_cycle` in a loop of one cycle", triggers: true,
                """
                apiVersion: orchestrator.dev/v2
                kind: Workflow
                metadata:
                  name: once
                spec:
                  steps:
                    - id: build
                      command: make
                    - id: report
                      command: ./report.sh
                      prehook:
                        when: is_last_cycle
                #             ^ expect
                """),
            LintExample(
                "a condition every cycle meets", triggers: true,
                """
                apiVersion: orchestrator.dev/v2
                kind: Workflow
                metadata:
                  name: review
                spec:
                  loop:
                    mode: fixed
                    max_cycles: 3
                  steps:
                    - id: build
                      command: make
                    - id: review
                      command: ./review.sh
                      prehook:
                        when: "cycle <= max_cycles"
                #             ^ expect
                """),
            LintExample(
                "`is_last_cycle` in a loop of two cycles", triggers: false,
                """
                apiVersion: orchestrator.dev/v2
                kind: Workflow
                metadata:
                  name: twice
                spec:
                  loop:
                    mode: fixed
                    max_cycles: 2
                  steps:
                    - id: build
                      command: make
                    - id: report
                      command: ./report.sh
                      prehook:
                        when: is_last_cycle
                """),
            LintExample(
                "a condition on run-time values", triggers: false,
                """
                apiVersion: orchestrator.dev/v2
                kind: Workflow
                metadata:
                  name: once
                spec:
                  steps:
                    - id: build
                      command: make
                    - id: report
                      command: ./report.sh
                      prehook:
                        when: build_exit_code != 0
                """),
        ],
        check: PrehookConstant.check)
}

private enum PrehookConstant {
    static func check(_ context: LintContext) -> [Diagnostic] {
        var findings: [Diagnostic] = []
        for (number, workflow) in context.workflows.enumerated() {
            let classes = context.cycleClasses(workflow.graph.loop)
            let analyses = context.cycleAnalysis(number)
            for (index, step) in workflow.flatSteps.enumerated() {
                guard let analysis = analyses[index], let prehook = step.compiled.prehook,
                    !context.hasCompileError(in: workflow.file, within: prehook.when.range)
                else { continue }
                guard let value = analysis.constantPrehook else { continue }
                // A surely false prehook is `step-never-runs`'s finding, unless that rule is off.
                if !value, context.configuration.isEnabled(LintRule.stepNeverRuns.id) { continue }
                let known = classes.first.flatMap { Planner.describe(prehook.when, known: $0.known) }
                let why = known.map { " (\($0) in cycle 1)" } ?? ""
                let message: String
                let help: String
                if value {
                    message = "the prehook of step `\(step.compiled.id)` is true in every cycle\(why): it never skips the step"
                    help = "remove the prehook, or make it test what it was meant to"
                } else {
                    message = "the prehook of step `\(step.compiled.id)` is false in every cycle\(why): the step never runs"
                    help = "remove the step or set `enabled: false`, or make the prehook test what it was meant to"
                }
                findings.append(
                    LintRule.prehookConstant.finding(message, file: workflow.file, range: prehook.when.range, help: help))
            }
        }
        return findings
    }
}
