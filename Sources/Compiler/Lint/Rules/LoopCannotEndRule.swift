import Diagnostics

extension LintRule {
    /// Found by the compiler (`Compiler.compileLoop`), which `validate` runs too.
    static let loopCannotEnd = LintRule(
        id: "loop-cannot-end", severity: .error, origin: .compiler,
        summary: "an infinite loop with no max_cycles, no guard step and no convergence_expr",
        rationale: """
            A `mode: infinite` loop stops only when a guard step or a `convergence_expr` stops it, or at \
            `max_cycles`. With none of them the task runs until someone kills it, spending agent time on \
            every cycle; a `loop_guard` with `stop_when_no_unresolved: false` and no `convergence_expr` \
            can never stop it either. The compiler reports this as an error during `validate`, because \
            such a workflow can never complete.
            """,
        examples: [
            LintExample(
                "an infinite loop with nothing that ends it", triggers: true,
                """
                apiVersion: orchestrator.dev/v2
                kind: Workflow
                metadata:
                  name: forever
                spec:
                  loop:
                    mode: infinite
                #         ^ expect
                  steps:
                    - id: build
                      command: make
                """),
            LintExample(
                "a loop guard that is told never to stop", triggers: true,
                """
                apiVersion: orchestrator.dev/v2
                kind: Workflow
                metadata:
                  name: forever
                spec:
                  loop:
                    mode: infinite
                    stop_when_no_unresolved: false
                #                            ^ expect
                  steps:
                    - id: build
                      command: make
                    - id: loop_guard
                """),
            LintExample(
                "capped by max_cycles", triggers: false,
                """
                apiVersion: orchestrator.dev/v2
                kind: Workflow
                metadata:
                  name: bounded
                spec:
                  loop:
                    mode: infinite
                    max_cycles: 10
                  steps:
                    - id: build
                      command: make
                """),
            LintExample(
                "stopped by the loop guard once nothing is unresolved", triggers: false,
                """
                apiVersion: orchestrator.dev/v2
                kind: Workflow
                metadata:
                  name: until-done
                spec:
                  loop:
                    mode: infinite
                  steps:
                    - id: build
                      command: make
                    - id: loop_guard
                """),
        ])
}
