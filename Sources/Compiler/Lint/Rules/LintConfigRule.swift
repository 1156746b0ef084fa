import Diagnostics

extension LintRule {
    /// Reported by the linter itself while reading suppression comments and the configuration file.
    static let lintConfig = LintRule(
        id: "lint-config", severity: .error,
        summary: "a suppression comment or lint configuration that names no lint rule, or is malformed",
        rationale: """
            A suppression comment or configuration entry with a misspelt rule name silences nothing, \
            and one that raises a severity (`no-efect: error`) escalates nothing, so a mistake there \
            passes unnoticed. Every rule name in a `# orchestrator-lint: disable=...` comment and in a \
            `--config` file must name a lint rule; each one that does not is reported where it is \
            written, with the closest rule name. Rules of `validate` (`unknown-key`, ...) cannot be \
            configured: lint reports them as `validate` does.
            """,
        examples: [
            LintExample(
                "a misspelt rule name in a suppression comment", triggers: true,
                """
                apiVersion: orchestrator.dev/v2
                kind: Workflow
                metadata:
                  name: build
                spec:
                  steps:
                    - id: build
                      command: make
                      max_parallel: 2  # orchestrator-lint: disable=no-efect
                #                                                   ^ expect
                """),
            LintExample(
                "a suppression that names the rule", triggers: false,
                """
                apiVersion: orchestrator.dev/v2
                kind: Workflow
                metadata:
                  name: build
                spec:
                  steps:
                    - id: build
                      command: make
                      max_parallel: 2  # orchestrator-lint: disable=no-effect
                """),
        ])
}
