import Diagnostics

extension LintRule {
    static let captureUnused = LintRule(
        id: "capture-unused", severity: .warning,
        summary: "a captured variable that nothing reads",
        rationale: """
            A capture (`behavior.captures`) exists to be read: by a prehook, a convergence or finalize \
            expression, a `{placeholder}` in a prompt or command, a `generate_items.from_var`, or an \
            agent's `command_rules`. A capture nothing reads is either left over from an edit or, more \
            often, a typo in the name on one side, so the reader silently reads nothing. Reads anywhere \
            in the workflow count (a step may read a capture of a later step in the next cycle), and so \
            do the commands and command rules of every agent of the project.
            """,
        examples: [
            LintExample(
                "a capture nobody reads", triggers: true,
                """
                apiVersion: orchestrator.dev/v2
                kind: Workflow
                metadata:
                  name: build
                spec:
                  steps:
                    - id: build
                      command: make
                      behavior:
                        captures:
                          - var: build_log
                #                ^ expect
                            source: stdout
                """),
            LintExample(
                "read by a later step's prehook", triggers: false,
                """
                apiVersion: orchestrator.dev/v2
                kind: Workflow
                metadata:
                  name: build
                spec:
                  steps:
                    - id: build
                      command: make
                      behavior:
                        captures:
                          - var: build_failed
                            source: failed_flag
                    - id: notify
                      command: ./notify.sh
                      prehook:
                        when: build_failed
                """),
        ],
        check: CaptureUnused.check)
}

private enum CaptureUnused {
    static func check(_ context: LintContext) -> [Diagnostic] {
        var findings: [Diagnostic] = []
        for (number, workflow) in context.workflows.enumerated() {
            let variables = context.variables(number)
            for step in variables.steps {
                for capture in step.spec.behavior.captures where !variables.reads.contains(capture.variable.value) {
                    let close = Suggestions.closest(to: capture.variable.value, in: variables.reads.sorted())
                    findings.append(
                        LintRule.captureUnused.finding(
                            "step `\(step.compiled.id)` captures `\(capture.variable.value)`, but nothing reads it",
                            file: workflow.file, range: capture.variable.range,
                            help: close.map { "`\($0)` is read: is one of the two names misspelt?" }
                                ?? "remove the capture, or read it in a prehook or a `{\(capture.variable.value)}` placeholder"))
                }
            }
        }
        return findings
    }
}
