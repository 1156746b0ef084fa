import Diagnostics

// A lint rule: its metadata (id, severity, summary, rationale, examples) and its check. The
// registry (LintRegistry.swift) is the one place rule metadata lives, also for the three ids the
// compiler itself reports during `validate` (see `LintRuleOrigin`).

/// Who finds a rule's findings.
public enum LintRuleOrigin: String, Sendable, Hashable {
    /// The lint rule's own check (run by `lint` only).
    case lint
    /// The compiler finds them while compiling (so `validate` reports them too); `lint` takes
    /// the compiler's findings, applies configuration and suppressions, and adds none of its own.
    case compiler
    /// The compiler finds some (expressions), the lint check the rest (placeholders); the two
    /// never look at the same thing.
    case compilerAndLint
}

/// One example of a rule, run as its test and rendered into docs/lint.md.
///
/// `yaml` is a complete manifest stream. In a triggering example, each expected finding is
/// marked by a comment line whose caret stands under the finding's column on the nearest line
/// above that is not itself a marker:
///
/// ```yaml
///   loop:
///     mode: infinite
///   #       ^ expect
/// ```
///
/// A non-triggering example has no marker and the rule must report nothing on it.
public struct LintExample: Sendable, Hashable {
    public var title: String
    public var yaml: String
    public var triggers: Bool

    public init(_ title: String, triggers: Bool, _ yaml: String) {
        self.title = title
        self.triggers = triggers
        self.yaml = yaml
    }

    /// The (line, column) of every `# ^ expect` marker.
    public var expectedPositions: [(line: Int, column: Int)] { ExampleMarkers.positions(in: yaml) }
}

public struct LintRule: Sendable {
    /// kebab-case, stable.
    public var id: String
    public var defaultSeverity: Severity
    /// One line: what the rule finds (SARIF `shortDescription`, the docs' first line).
    public var summary: String
    /// One paragraph: why it matters.
    public var rationale: String
    public var origin: LintRuleOrigin
    public var examples: [LintExample]
    /// The lint check; empty for rules whose findings come from the compiler.
    let check: @Sendable (LintContext) -> [Diagnostic]

    init(
        id: String, severity: Severity, origin: LintRuleOrigin = .lint, summary: String, rationale: String,
        examples: [LintExample], check: @escaping @Sendable (LintContext) -> [Diagnostic] = { _ in [] }
    ) {
        self.id = id
        self.defaultSeverity = severity
        self.origin = origin
        self.summary = summary
        self.rationale = rationale
        self.examples = examples
        self.check = check
    }

    public var ruleDescription: RuleDescription {
        RuleDescription(id: id, summary: summary, defaultSeverity: defaultSeverity, rationale: rationale)
    }

    /// A finding of this rule at its default severity (the linter applies the configuration).
    func finding(_ message: String, file: String, range: SourceRange?, help: String? = nil, severity: Severity? = nil) -> Diagnostic {
        Diagnostic(severity: severity ?? defaultSeverity, rule: id, message: message, file: file, range: range, help: help)
    }
}

/// The `# ^ expect` markers of rule examples.
public enum ExampleMarkers {
    /// True for a marker line: optional blanks, `#`, blanks, `^`, optional text.
    static func caretColumn(_ line: Substring) -> Int? {
        var column = 1
        var sawHash = false
        for character in line {
            if character == " " || character == "\t" {
                column += 1
                continue
            }
            if character == "#", !sawHash {
                sawHash = true
                column += 1
                continue
            }
            if character == "^", sawHash { return column }
            return nil
        }
        return nil
    }

    /// The positions the markers of `yaml` point at.
    public static func positions(in yaml: String) -> [(line: Int, column: Int)] {
        var result: [(line: Int, column: Int)] = []
        var lastContentLine: Int?
        for (index, line) in yaml.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if let column = caretColumn(line) {
                if let target = lastContentLine { result.append((target, column)) }
            } else {
                lastContentLine = index + 1
            }
        }
        return result
    }
}
