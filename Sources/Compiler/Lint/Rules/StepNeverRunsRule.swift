import Diagnostics

extension LintRule {
    static let stepNeverRuns = LintRule(
        id: "step-never-runs", severity: .warning,
        summary: "the planner finds the step skipped in every cycle (disabled steps aside)",
        rationale: """
            A step that is skipped in every cycle the loop can run is dead weight that looks alive: \
            reviewers read it as part of the workflow, and whoever wrote it expected it to run. The \
            causes: a prehook that is false in every cycle (a cycle the loop never reaches), or a \
            combination such as `repeatable: false` (cycle 1 only) with a prehook that is false in \
            cycle 1, where each part looks reasonable alone. The rule unrolls the loop with the \
            planner's own decision rule (`StepDecision.decide`) and knows what the planner knows: \
            `cycle`, `max_cycles`, `is_last_cycle`. A step switched off with `enabled: false` is not \
            reported.
            """,
        examples: [
            LintExample(
                "cycle 1 only, but only wanted in the last cycle", triggers: true,
                """
                apiVersion: orchestrator.dev/v2
                kind: Workflow
                metadata:
                  name: release
                spec:
                  loop:
                    mode: fixed
                    max_cycles: 2
                  steps:
                    - id: build
                      command: make
                    - id: report
                #         ^ expect
                      command: ./report.sh
                      repeatable: false
                      prehook:
                        when: is_last_cycle
                """),
            LintExample(
                "a cycle the loop never reaches", triggers: true,
                """
                apiVersion: orchestrator.dev/v2
                kind: Workflow
                metadata:
                  name: short
                spec:
                  loop:
                    mode: fixed
                    max_cycles: 2
                  steps:
                    - id: build
                      command: make
                    - id: deep_review
                #         ^ expect
                      command: ./review.sh
                      prehook:
                        when: "cycle >= 3"
                """),
            LintExample(
                "the same step, allowed to repeat", triggers: false,
                """
                apiVersion: orchestrator.dev/v2
                kind: Workflow
                metadata:
                  name: release
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
                "a step switched off on purpose", triggers: false,
                """
                apiVersion: orchestrator.dev/v2
                kind: Workflow
                metadata:
                  name: release
                spec:
                  steps:
                    - id: build
                      command: make
                    - id: publish
                      command: ./publish.sh
                      enabled: false
                """),
        ],
        check: StepNeverRuns.check)
}

private enum StepNeverRuns {
    static func check(_ context: LintContext) -> [Diagnostic] {
        var findings: [Diagnostic] = []
        for (number, workflow) in context.workflows.enumerated() {
            let analyses = context.cycleAnalysis(number)
            var deadTops = Set<Int>()
            for (index, step) in workflow.flatSteps.enumerated() {
                guard let analysis = analyses[index] else { continue }
                if step.isChild, deadTops.contains(step.topIndex) { continue }
                if let prehook = step.compiled.prehook, context.hasCompileError(in: workflow.file, within: prehook.when.range) { continue }
                guard analysis.neverRuns else { continue }
                if !step.isChild { deadTops.insert(step.topIndex) }
                var help = "remove the step, or set `enabled: false` if it is meant to be off"
                var why = analysis.skipReasons
                if analysis.constantPrehook == false, let prehook = step.compiled.prehook {
                    let known = analysis.decisions.first.flatMap { Planner.describe(prehook.when, known: $0.cycles.known) }
                    why = "its prehook is false in every cycle" + (known.map { " (\($0) in cycle 1)" } ?? "")
                    help = "remove the step or set `enabled: false`, or make the prehook test what it was meant to"
                } else if !step.compiled.repeatable, analysis.decisions.contains(where: { $0.decision.skipReason == .not_repeatable }) {
                    help = "`repeatable: false` limits it to cycle 1, where it is skipped too: remove `repeatable: false` or change the prehook"
                }
                findings.append(
                    LintRule.stepNeverRuns.finding(
                        "step `\(step.compiled.id)` never runs: \(why)", file: workflow.file, range: step.compiled.idRange, help: help))
            }
        }
        return findings
    }
}
