import Diagnostics
import Manifest

extension LintRule {
    static let noEffect = LintRule(
        id: "no-effect", severity: .warning,
        summary: "a field that does nothing where it stands",
        rationale: """
            Some fields only act in some places, and a field that does nothing is worse than a missing \
            one: the reader believes it acts. `max_parallel` and `stagger_delay_ms` act only on the \
            first step of an item segment (or on the workflow, for item segments whose first step sets \
            none): on a task step, a later step of the segment, a guard or a chain's child they do \
            nothing, and a stagger between items that run one at a time does nothing. \
            `repeatable: false` does nothing in a loop of one cycle, `loop.max_cycles` nothing in a \
            loop that runs once, and the workflow's `max_parallel` and `stagger_delay_ms` nothing \
            when no item segment uses them. The findings are warnings, except `repeatable: false` in a \
            loop of one cycle: harmless (it may even say what the author meant), so a note.
            """,
        examples: [
            LintExample(
                "parallelism on the wrong steps, and a once loop", triggers: true,
                """
                apiVersion: orchestrator.dev/v2
                kind: Workspace
                metadata:
                  name: shop
                spec:
                  root_path: .
                  qa_targets: [docs/qa]
                ---
                apiVersion: orchestrator.dev/v2
                kind: Workflow
                metadata:
                  name: qa
                spec:
                  loop:
                    mode: once
                    max_cycles: 3
                #               ^ expect
                  steps:
                    - id: plan
                      command: ./plan.sh
                      max_parallel: 4
                #                   ^ expect
                      repeatable: false
                #                 ^ expect
                    - id: qa
                      command: ./check.sh {rel_path}
                      stagger_delay_ms: 500
                #                       ^ expect
                    - id: fix
                      command: ./fix.sh {rel_path}
                      max_parallel: 2
                #                   ^ expect
                """),
            LintExample(
                "parallelism on the first step of an item segment", triggers: false,
                """
                apiVersion: orchestrator.dev/v2
                kind: Workspace
                metadata:
                  name: shop
                spec:
                  root_path: .
                  qa_targets: [docs/qa]
                ---
                apiVersion: orchestrator.dev/v2
                kind: Workflow
                metadata:
                  name: qa
                spec:
                  loop:
                    mode: fixed
                    max_cycles: 3
                  steps:
                    - id: plan
                      command: ./plan.sh
                      repeatable: false
                    - id: qa
                      command: ./check.sh {rel_path}
                      max_parallel: 4
                      stagger_delay_ms: 500
                    - id: fix
                      command: ./fix.sh {rel_path}
                """),
        ],
        check: NoEffect.check)
}

private enum NoEffect {
    static func check(_ context: LintContext) -> [Diagnostic] {
        var findings: [Diagnostic] = []
        for workflow in context.workflows {
            let graph = workflow.graph
            let file = workflow.file
            func report(_ message: String, _ range: SourceRange, _ help: String, severity: Severity? = nil) {
                findings.append(LintRule.noEffect.finding(message, file: file, range: range, help: help, severity: severity))
            }
            let firstOfSegment = Dictionary(graph.segments.compactMap { segment in segment.stepIDs.first.map { ($0, segment) } }, uniquingKeysWith: { first, _ in first })

            for step in workflow.flatSteps where step.compiled.enabled {
                let id = step.compiled.id
                let parallel = step.spec.maxParallel
                let stagger = step.spec.staggerDelayMs
                guard parallel != nil || stagger != nil else { continue }
                var why: String?
                if step.isChild {
                    why = "it is a step of chain `\(graph.steps[step.topIndex].id)`, and the chain's segment decides"
                } else if step.compiled.isGuard {
                    why = "guard steps run once, after the cycle's segments"
                } else if step.compiled.scope == .task {
                    why = "a task segment runs once per cycle"
                } else if firstOfSegment[id] == nil, let segment = graph.segments.first(where: { $0.stepIDs.contains(id) }),
                    let head = segment.stepIDs.first
                {
                    why = "an item segment takes it from its first step, `\(head)`"
                }
                if let why {
                    if let parallel {
                        report("`max_parallel` has no effect on step `\(id)`: \(why)", parallel.range, "remove it, or set it on the first step of the item segment (or on the workflow)")
                    }
                    if let stagger {
                        report("`stagger_delay_ms` has no effect on step `\(id)`: \(why)", stagger.range, "remove it, or set it on the first step of the item segment (or on the workflow)")
                    }
                } else if let stagger, stagger.value > 0, let segment = firstOfSegment[id], segment.maxParallel <= 1 {
                    report(
                        "`stagger_delay_ms` has no effect on step `\(id)`: its segment runs one item at a time (`max_parallel` is 1)",
                        stagger.range, "remove it, or raise `max_parallel` so items run in parallel")
                }
            }

            // The workflow's own max_parallel and stagger_delay_ms.
            let itemSegments = graph.segments.filter { $0.scope == .item }
            let inherits = itemSegments.filter { segment in
                guard let head = segment.stepIDs.first, let step = graph.step(head) else { return false }
                return step.maxParallel == nil
            }
            if let parallel = workflow.spec.maxParallel, parallel.value > 1, inherits.isEmpty {
                report(
                    itemSegments.isEmpty
                        ? "`max_parallel` has no effect: workflow `\(graph.name)` has no item-scoped steps"
                        : "`max_parallel` has no effect: the first step of every item segment sets its own",
                    parallel.range, "remove it")
            }
            if let stagger = workflow.spec.staggerDelayMs, stagger.value > 0 {
                let used = itemSegments.contains { segment in
                    guard let head = segment.stepIDs.first, let step = graph.step(head) else { return false }
                    return step.staggerDelayMs == nil && segment.maxParallel > 1
                }
                if !used {
                    let why: String
                    if itemSegments.isEmpty {
                        why = "workflow `\(graph.name)` has no item-scoped steps"
                    } else if itemSegments.allSatisfy({ segment in segment.stepIDs.first.flatMap { graph.step($0)?.staggerDelayMs } != nil }) {
                        why = "the first step of every item segment sets its own"
                    } else {
                        why = "the item segments that would use it run one item at a time (`max_parallel` is 1)"
                    }
                    report("`stagger_delay_ms` has no effect: \(why)", stagger.range, "remove it, or raise `max_parallel` so items run in parallel")
                }
            }

            // Loop fields of a loop that runs one cycle.
            let loop = workflow.spec.loop
            if let maxCycles = loop.maxCycles, !loop.isEnabled || loop.loopMode == .once {
                report(
                    "`max_cycles` has no effect: " + (loop.isEnabled ? "the loop runs once (`mode: once`)" : "the loop is disabled (`enabled: false`)"),
                    maxCycles.range, loop.isEnabled ? "use `mode: fixed` (or `infinite`) to repeat, or remove it" : "remove it, or enable the loop")
            }
            if graph.loop.cycleLimit == 1 {
                for step in workflow.flatSteps where step.compiled.enabled {
                    guard let repeatable = step.spec.repeatable, !repeatable.value else { continue }
                    report(
                        "`repeatable: false` has no effect on step `\(step.compiled.id)`: the loop runs one cycle",
                        repeatable.range, "remove it (or make the loop repeat)", severity: .note)
                }
            }
        }
        return findings
    }
}
