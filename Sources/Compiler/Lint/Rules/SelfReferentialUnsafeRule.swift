import Diagnostics

extension LintRule {
    /// Found by the compiler (`checkSelfReferentialWorkspaces`), which `validate` runs too.
    static let selfReferentialUnsafe = LintRule(
        id: "self-referential-unsafe", severity: .error, origin: .compiler,
        summary: "a workflow for a self-referential workspace needs auto_rollback, a checkpoint strategy and an enabled self_test step",
        rationale: """
            A workspace with `self_referential: true` is this tool's own source tree: a workflow \
            running there edits the program that runs it. A broken edit must be caught and undone, \
            so such a workflow needs `safety.auto_rollback: true`, a `safety.checkpoint_strategy` \
            other than `none` (something to roll back to) and an enabled `self_test` step (what \
            notices the breakage). The compiler checks each workflow against the workspace of its own \
            file when that is the file's only workspace (a bundle); the runner refuses to create a \
            task for any other unsafe pair it is asked to run.
            """,
        examples: [
            LintExample(
                "no rollback and nothing to roll back to", triggers: true,
                """
                apiVersion: orchestrator.dev/v2
                kind: Workspace
                metadata:
                  name: self
                spec:
                  root_path: .
                  self_referential: true
                ---
                apiVersion: orchestrator.dev/v2
                kind: Workflow
                metadata:
                  name: evolve
                spec:
                  safety:
                    auto_rollback: false
                #                  ^ expect
                    checkpoint_strategy: none
                #                        ^ expect
                  steps:
                    - id: implement
                      command: ./implement.sh
                    - id: self_test
                      builtin: self_test
                """),
            LintExample(
                "rollback to a git tag when the self test fails", triggers: false,
                """
                apiVersion: orchestrator.dev/v2
                kind: Workspace
                metadata:
                  name: self
                spec:
                  root_path: .
                  self_referential: true
                ---
                apiVersion: orchestrator.dev/v2
                kind: Workflow
                metadata:
                  name: evolve
                spec:
                  safety:
                    auto_rollback: true
                    checkpoint_strategy: git_tag
                  steps:
                    - id: implement
                      command: ./implement.sh
                    - id: self_test
                      builtin: self_test
                """),
        ])
}
