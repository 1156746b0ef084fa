import Compiler
import Diagnostics
import Manifest
import Testing

/// A workflow with one `no-effect` finding (`max_parallel` on a task step, line 9 column 21) and
/// a directive placed by `directive(line)`.
private func workflow(_ lines: [String]) -> String {
    (["apiVersion: orchestrator.dev/v2", "kind: Workflow", "metadata:", "  name: build", "spec:", "  steps:"] + lines)
        .joined(separator: "\n") + "\n"
}

private func positions(_ findings: [Diagnostic], _ rule: String) -> [String] {
    findings.filter { $0.rule == rule }.compactMap { $0.range.map { "\($0.start.line):\($0.start.column)" } }
}

@Suite struct LintSuppressionTests {
    static let step = ["    - id: build", "      command: make", "      max_parallel: 2"]

    @Test func unsuppressed() {
        let findings = lint(workflow(Self.step))
        #expect(positions(findings, "no-effect") == ["9:21"])
    }

    @Test func directiveOnTheFindingsLine() {
        let findings = lint(workflow(["    - id: build", "      command: make", "      max_parallel: 2  # orchestrator-lint: disable=no-effect"]))
        #expect(positions(findings, "no-effect").isEmpty)
        #expect(positions(findings, "lint-config").isEmpty)
    }

    @Test func directiveOnTheLineAbove() {
        let findings = lint(
            workflow(["    - id: build", "      command: make", "      # orchestrator-lint: disable=capture-unused, no-effect", "      max_parallel: 2"]))
        #expect(positions(findings, "no-effect").isEmpty)
    }

    @Test func directiveTwoLinesAboveDoesNotReach() {
        let findings = lint(
            workflow(["    - id: build", "      # orchestrator-lint: disable=no-effect", "      command: make", "      max_parallel: 2"]))
        #expect(positions(findings, "no-effect") == ["10:21"])
    }

    @Test func directiveForAnotherRuleDoesNotSilence() {
        let findings = lint(workflow(["    - id: build", "      command: make", "      max_parallel: 2  # orchestrator-lint: disable=capture-unused"]))
        #expect(positions(findings, "no-effect") == ["9:21"])
    }

    @Test func unknownRuleNamesArePositioned() {
        let line = "      max_parallel: 2  # orchestrator-lint: disable=no-effect,no-efect, unused-resourse"
        let findings = lint(workflow(["    - id: build", "      command: make", line]))
        #expect(positions(findings, "no-effect").isEmpty)
        let problems = findings.filter { $0.rule == "lint-config" }
        let column = Array(line).firstIndex(of: ",").map { $0 + 2 } ?? 0
        #expect(positions(problems, "lint-config") == ["9:\(column)", "9:\(column + 10)"])
        #expect(problems.first?.severity == .error)
        #expect(problems.first?.help == "did you mean `no-effect`?")
        #expect(problems.last?.message == "unknown lint rule `unused-resourse` in a lint directive")
    }

    @Test func validateRulesCannotBeSuppressed() {
        let findings = lint(workflow(["    - id: build  # orchestrator-lint: disable=unknown-key", "      command: make", "      colour: red"]))
        #expect(positions(findings, "unknown-key") == ["9:7"])
        let problem = findings.first { $0.rule == "lint-config" }
        #expect(problem?.help?.contains("rule of `validate`") == true)
    }

    @Test func malformedDirective() {
        let findings = lint(workflow(["    - id: build", "      command: make  # orchestrator-lint: enable=no-effect"]))
        #expect(positions(findings, "lint-config") == ["8:43"])
    }

    @Test func textInsideABlockScalarIsNoDirective() {
        let text = workflow([
            "    - id: build", "      command: |", "        make  # orchestrator-lint: disable=bogus", "      max_parallel: 2",
        ])
        let findings = lint(text)
        #expect(positions(findings, "lint-config").isEmpty)
        #expect(positions(findings, "no-effect") == ["10:21"])
    }
}

@Suite struct LintConfigurationTests {
    static let stepLines = ["    - id: build", "      command: make", "      max_parallel: 2"]

    @Test func offDisablesAndSeverityChanges() {
        var configuration = LintConfiguration.load(SourceFile(path: "lint.yaml", text: "rules:\n  no-effect: error\n"))
        #expect(configuration.diagnostics.isEmpty)
        var findings = lint(workflow(Self.stepLines), configuration: configuration)
        #expect(findings.first { $0.rule == "no-effect" }?.severity == .error)

        configuration = LintConfiguration.load(SourceFile(path: "lint.yaml", text: "rules:\n  no-effect: off\n  capture-unused: note\n"))
        findings = lint(workflow(Self.stepLines), configuration: configuration)
        #expect(positions(findings, "no-effect").isEmpty)
        #expect(configuration.severity("capture-unused", default: .warning) == .note)
    }

    @Test func compilerFindingsFollowTheConfiguration() {
        let text = """
            apiVersion: orchestrator.dev/v2
            kind: Workflow
            metadata:
              name: forever
            spec:
              loop:
                mode: infinite
              steps:
                - id: build
                  command: make
            """
        #expect(lint(text).first { $0.rule == "loop-cannot-end" }?.severity == .error)
        let downgraded = LintConfiguration.load(SourceFile(path: "lint.yaml", text: "rules:\n  loop-cannot-end: warning\n"))
        #expect(lint(text, configuration: downgraded).first { $0.rule == "loop-cannot-end" }?.severity == .warning)
        let off = LintConfiguration.load(SourceFile(path: "lint.yaml", text: "rules: {loop-cannot-end: off}\n"))
        #expect(lint(text, configuration: off).allSatisfy { $0.rule != "loop-cannot-end" })
    }

    @Test func problemsArePositioned() {
        let text = """
            rules:
              no-efect: off
              capture-unused: loud
              unknown-key: off
            options: {}
            """
        let configuration = LintConfiguration.load(SourceFile(path: "lint.yaml", text: text))
        let found = configuration.diagnostics.map { "\($0.rule) \($0.range?.start.description ?? "")" }
        #expect(found == ["lint-config 2:3", "lint-config 3:19", "lint-config 4:3", "lint-config 5:1"])
        #expect(configuration.diagnostics[0].help == "did you mean `no-effect`?")
        #expect(configuration.diagnostics.allSatisfy { $0.file == "lint.yaml" })
        // The problems are reported by the linter, positioned in the configuration file.
        let findings = lint(workflow(Self.stepLines), configuration: configuration)
        #expect(findings.filter { $0.rule == "lint-config" && $0.file == "lint.yaml" }.count == 4)
    }

    @Test func yamlErrorsInTheConfiguration() {
        let configuration = LintConfiguration.load(SourceFile(path: "lint.yaml", text: "rules: [a\n"))
        #expect(configuration.diagnostics.count == 1)
        #expect(configuration.diagnostics.first?.rule.hasPrefix("yaml") == true)
    }

    @Test func commandLineFlagsWin() throws {
        var configuration = LintConfiguration.load(SourceFile(path: "lint.yaml", text: "rules:\n  no-effect: off\n  guard-not-last: error\n"))
        try configuration.apply(enable: ["no-effect"], disable: ["guard-not-last"])
        #expect(configuration.isEnabled("no-effect"))
        #expect(!configuration.isEnabled("guard-not-last"))
        #expect(throws: LintUsageError.self) { try configuration.apply(enable: [], disable: ["no-efect"]) }
    }
}
