import Diagnostics
import YAML

// The lint rules of tasks.json (docs/state-files.md, docs/lint.md "tasks.json rules"): one
// registry, one rule per file in State/Rules, each with examples that are its tests and its docs.

/// The rule ids of tasks.json findings.
public enum StateRuleID: String, Sendable, Hashable, CaseIterable {
    case jsonSyntax = "tasks-json-syntax"
    case missingField = "tasks-missing-field"
    case fieldType = "tasks-field-type"
    case enumValue = "tasks-enum-value"
    case idPattern = "tasks-id-pattern"
    case blockedBy = "tasks-blocked-by"
    case date = "tasks-date"
    case duplicateID = "tasks-duplicate-id"
    case verifyNotExecutable = "tasks-verify-not-executable"
    case requiresEval = "tasks-requires-eval"
    case doneWithoutEvaluation = "tasks-done-without-evaluation"
    case severalInProgress = "tasks-several-in-progress"

    /// Every tasks.json rule reports errors: the recipe's rules are strict.
    public var severity: Severity { .error }

    func finding(_ message: String, file: String, range: SourceRange?, help: String? = nil) -> Diagnostic {
        Diagnostic(severity: severity, rule: rawValue, message: message, file: file, range: range, help: help)
    }
}

/// What the rules may look at around the file: whether a command word runs, and the evaluator
/// records. The command line gives the real ones (PATH, the workspace, sprint_output.md).
public struct StateEnvironment: Sendable {
    /// True when the first word of a command runs: a program on PATH (a word without `/`) or an
    /// existing file relative to the workspace (or absolute).
    public var isRunnable: @Sendable (String) -> Bool
    /// sprint_output.md beside tasks.json, when it exists.
    public var sprintOutput: SourceFile?

    public init(isRunnable: @escaping @Sendable (String) -> Bool, sprintOutput: SourceFile?) {
        self.isRunnable = isRunnable
        self.sprintOutput = sprintOutput
    }
}

/// One example of a rule: a tasks.json whose `//  ^ expect` marker lines (removed before it is
/// read) stand under the column of each expected finding on the nearest content line above,
/// and the files of its workspace (scripts, `sprint_output.md`).
public struct StateExample: Sendable {
    public var title: String
    public var triggers: Bool
    /// The JSON with its marker lines.
    public var annotated: String
    /// Workspace files: relative path and content (a path ending in `.sh` is made executable).
    public var files: [(path: String, content: String)]

    public init(_ title: String, triggers: Bool, files: [(path: String, content: String)] = [], _ annotated: String) {
        self.title = title
        self.triggers = triggers
        self.files = files
        self.annotated = annotated
    }

    static func markerColumn(_ line: Substring) -> Int? {
        var column = 1
        var rest = line[...]
        while let first = rest.first, first == " " || first == "\t" {
            column += 1
            rest = rest.dropFirst()
        }
        guard rest.hasPrefix("//") else { return nil }
        rest = rest.dropFirst(2)
        column += 2
        while let first = rest.first, first == " " || first == "\t" {
            column += 1
            rest = rest.dropFirst()
        }
        return rest.first == "^" ? column : nil
    }

    /// The tasks.json the example reads (marker lines removed).
    public var json: String {
        annotated.split(separator: "\n", omittingEmptySubsequences: false).filter { StateExample.markerColumn($0) == nil }
            .joined(separator: "\n") + "\n"
    }

    /// (line, column) in `json` of every marker.
    public var expectedPositions: [(line: Int, column: Int)] {
        var result: [(line: Int, column: Int)] = []
        var contentLine = 0
        for line in annotated.split(separator: "\n", omittingEmptySubsequences: false) {
            if let column = StateExample.markerColumn(line) {
                if contentLine > 0 { result.append((contentLine, column)) }
            } else {
                contentLine += 1
            }
        }
        return result
    }
}

/// What a rule sees: the decoded file and its surroundings.
public struct StateLintContext: Sendable {
    public var file: TasksFile
    public var environment: StateEnvironment
    var path: String { file.source.path }
}

public struct StateRule: Sendable {
    public var id: StateRuleID
    /// One line: what the rule finds.
    public var summary: String
    /// One paragraph: why it matters.
    public var rationale: String
    public var examples: [StateExample]
    let check: @Sendable (StateLintContext) -> [Diagnostic]

    init(
        _ id: StateRuleID, summary: String, rationale: String, examples: [StateExample],
        check: @escaping @Sendable (StateLintContext) -> [Diagnostic]
    ) {
        self.id = id
        self.summary = summary
        self.rationale = rationale
        self.examples = examples
        self.check = check
    }

    public var ruleDescription: RuleDescription {
        RuleDescription(id: id.rawValue, summary: summary, defaultSeverity: id.severity, rationale: rationale)
    }
}

/// Every tasks.json rule, in the order docs/lint.md lists them.
public enum StateRegistry {
    public static let rules: [StateRule] = [
        .jsonSyntax,
        .missingField,
        .fieldType,
        .enumValue,
        .idPattern,
        .blockedBy,
        .date,
        .duplicateID,
        .verifyNotExecutable,
        .requiresEval,
        .doneWithoutEvaluation,
        .severalInProgress,
    ]

    public static var descriptions: [RuleDescription] { rules.map(\.ruleDescription) }
}

/// `lint` of a tasks.json.
public enum StateLinter {
    /// Every finding of the enabled rules on `source`, in file order.
    public static func lint(
        _ source: SourceFile, environment: StateEnvironment, disabled: Set<StateRuleID> = []
    ) -> [Diagnostic] {
        switch TasksFileReader.read(source) {
        case .failure(let error):
            return [error.diagnostic]
        case .success(let file):
            let context = StateLintContext(file: file, environment: environment)
            var findings: [Diagnostic] = []
            for rule in StateRegistry.rules where !disabled.contains(rule.id) { findings += rule.check(context) }
            return findings.sorted { ($0.range?.start.offset ?? 0, $0.rule) < ($1.range?.start.offset ?? 0, $1.rule) }
        }
    }
}

/// The tasks.json section of docs/lint.md (`orchestrator lint --state-rules-markdown`).
public enum StateDocumentation {
    public static let beginMarker =
        "<!-- BEGIN STATE RULES: generated by `orchestrator lint --state-rules-markdown`; edit Sources/Compiler/State, not this section -->"
    public static let endMarker = "<!-- END STATE RULES -->"

    public static func rulesMarkdown() -> String {
        var out = beginMarker + "\n\n"
        out += "| rule | severity | what it finds |\n|---|---|---|\n"
        for rule in StateRegistry.rules {
            out += "| [`\(rule.id.rawValue)`](#\(rule.id.rawValue)) | \(rule.id.severity.rawValue) | \(rule.summary) |\n"
        }
        for rule in StateRegistry.rules {
            out += "\n### \(rule.id.rawValue)\n\n"
            out += "**\(rule.id.severity.rawValue)**. \(rule.summary.prefix(1).uppercased() + rule.summary.dropFirst()).\n\n"
            out += rule.rationale + "\n"
            for example in rule.examples {
                let marks = example.expectedPositions.count
                let heading =
                    example.triggers
                    ? "Reported (\(marks == 1 ? "the caret marks the finding" : "the carets mark the \(marks) findings"))"
                    : "Not reported"
                out += "\n\(heading): \(example.title).\n"
                for file in example.files {
                    out += "\nWith `\(file.path)`:\n\n```\n\(file.content)\(file.content.hasSuffix("\n") ? "" : "\n")```\n"
                }
                out += "\n```jsonc\n\(example.annotated)\n```\n"
            }
        }
        out += "\n" + endMarker + "\n"
        return out
    }

    /// `RULE  SEVERITY  summary`, one line each.
    public static func ruleList() -> String {
        let width = (StateRegistry.rules.map(\.id.rawValue.count).max() ?? 0) + 2
        return StateRegistry.rules.map { rule in
            rule.id.rawValue + String(repeating: " ", count: width - rule.id.rawValue.count) + rule.id.severity.rawValue
                + String(repeating: " ", count: 9 - rule.id.severity.rawValue.count) + rule.summary
        }.joined(separator: "\n") + "\n"
    }
}
