import Compiler
import Diagnostics
import Manifest
import Testing

/// Lints `text` as one file and returns every finding (validate's and lint's).
func lint(_ text: String, name: String = "example.yaml", configuration: LintConfiguration = LintConfiguration()) -> [Diagnostic] {
    lint([(name: name, text: text)], configuration: configuration)
}

func lint(_ texts: [(name: String, text: String)], configuration: LintConfiguration = LintConfiguration()) -> [Diagnostic] {
    let sources = texts.map { SourceFile(path: $0.name, text: $0.text) }
    let loaded = ManifestLoader.load(sources, projectOverride: nil)
    let compilation = Compiler.compile(loaded.resources, sources: loaded.sources)
    return Linter.lint(
        resources: loaded.resources, sources: loaded.sources, compilation: compilation,
        validateDiagnostics: loaded.diagnostics + compilation.diagnostics, configuration: configuration)
}

struct RuleExample: CustomTestStringConvertible, Sendable {
    var rule: String
    var index: Int
    var example: LintExample
    var testDescription: String { "\(rule) #\(index + 1) (\(example.triggers ? "reported" : "not reported")): \(example.title)" }
}

let allRuleExamples: [RuleExample] = LintRegistry.rules.flatMap { rule in
    rule.examples.enumerated().map { RuleExample(rule: rule.id, index: $0.offset, example: $0.element) }
}

@Suite struct LintExampleTests {
    /// Every rule has a rationale, and at least one triggering and one non-triggering example.
    @Test func everyRuleIsDocumentedAndExemplified() {
        #expect(Set(LintRegistry.rules.map(\.id)).count == LintRegistry.rules.count)
        for rule in LintRegistry.rules {
            #expect(!rule.summary.isEmpty && rule.rationale.count > 80, "\(rule.id) needs a summary and a rationale")
            #expect(rule.examples.contains { $0.triggers }, "\(rule.id) has no triggering example")
            #expect(rule.examples.contains { !$0.triggers }, "\(rule.id) has no non-triggering example")
            for example in rule.examples where example.triggers {
                #expect(!example.expectedPositions.isEmpty, "\(rule.id): a triggering example marks no finding")
            }
        }
    }

    /// Each example, linted alone: its rule reports exactly at the marked positions (and nothing
    /// on a non-triggering example), and no other rule reports an error.
    @Test(arguments: allRuleExamples)
    func example(_ case_: RuleExample) {
        let findings = lint(case_.example.yaml)
        let own = findings.filter { $0.rule == case_.rule }
        let found = own.compactMap { $0.range.map { "\($0.start.line):\($0.start.column)" } }.sorted()
        let expected = case_.example.expectedPositions.map { "\($0.line):\($0.column)" }.sorted()
        #expect(found == expected, "\(case_.testDescription):\n\(own.map(\.description).joined(separator: "\n"))")
        let otherErrors = findings.filter { $0.severity == .error && $0.rule != case_.rule }
        #expect(otherErrors.isEmpty, "\(case_.testDescription): other errors:\n\(otherErrors.map(\.description).joined(separator: "\n"))")
    }
}
