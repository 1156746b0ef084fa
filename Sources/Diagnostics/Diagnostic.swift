/// How serious a finding is.
public enum Severity: String, Sendable, Hashable, Comparable, CaseIterable {
    case error
    case warning
    case note

    private var rank: Int {
        switch self {
        case .error: return 0
        case .warning: return 1
        case .note: return 2
        }
    }

    public static func < (lhs: Severity, rhs: Severity) -> Bool { lhs.rank < rhs.rank }
}

/// The one finding type every layer reports through: the YAML parser, the expression checker,
/// manifest decoding, the compiler, lint rules, the store and the runner.
public struct Diagnostic: Sendable, Hashable, CustomStringConvertible {
    public var severity: Severity
    /// A stable rule id in kebab-case, e.g. `yaml-syntax`, `unknown-key`, `loop-cannot-end`.
    public var rule: String
    public var message: String
    /// The file the finding is in; nil for findings about no file (bad usage, a missing file).
    public var file: String?
    /// Where in the file; nil when the finding is about the file as a whole.
    public var range: SourceRange?
    /// What to do about it.
    public var help: String?

    public init(
        severity: Severity, rule: String, message: String,
        file: String? = nil, range: SourceRange? = nil, help: String? = nil
    ) {
        self.severity = severity
        self.rule = rule
        self.message = message
        self.file = file
        self.range = range
        self.help = help
    }

    public static func error(
        _ rule: String, _ message: String, file: String? = nil, range: SourceRange? = nil, help: String? = nil
    ) -> Diagnostic {
        Diagnostic(severity: .error, rule: rule, message: message, file: file, range: range, help: help)
    }

    public static func warning(
        _ rule: String, _ message: String, file: String? = nil, range: SourceRange? = nil, help: String? = nil
    ) -> Diagnostic {
        Diagnostic(severity: .warning, rule: rule, message: message, file: file, range: range, help: help)
    }

    public static func note(
        _ rule: String, _ message: String, file: String? = nil, range: SourceRange? = nil, help: String? = nil
    ) -> Diagnostic {
        Diagnostic(severity: .note, rule: rule, message: message, file: file, range: range, help: help)
    }

    /// The same finding placed in `file` (used when a lower layer reports without knowing the file).
    public func inFile(_ path: String) -> Diagnostic {
        var copy = self
        copy.file = path
        return copy
    }

    public var description: String {
        var text = ""
        if let file { text += file + ":" }
        if let range { text += "\(range.start.line):\(range.start.column):" }
        if !text.isEmpty { text += " " }
        text += "\(severity.rawValue): \(message) [\(rule)]"
        return text
    }

    /// The order of the text output: by file, line, column, then severity and message.
    public static func sortKey(_ lhs: Diagnostic, _ rhs: Diagnostic) -> Bool {
        let lf = lhs.file ?? "", rf = rhs.file ?? ""
        if lf != rf { return lf < rf }
        let ll = lhs.range?.start ?? SourceLocation(line: 0, column: 0, offset: 0)
        let rl = rhs.range?.start ?? SourceLocation(line: 0, column: 0, offset: 0)
        if ll != rl { return ll < rl }
        if lhs.severity != rhs.severity { return lhs.severity < rhs.severity }
        if lhs.rule != rhs.rule { return lhs.rule < rhs.rule }
        return lhs.message < rhs.message
    }
}

/// Counts for the closing summary line and the JSON `summary` object.
public struct DiagnosticSummary: Sendable, Equatable {
    public var errors: Int
    public var warnings: Int
    public var notes: Int
    /// How many files were read (not how many have findings).
    public var files: Int
    /// Findings not kept: found after the run's `--max-errors` limit was reached.
    public var skipped: Int

    public init(diagnostics: [Diagnostic], files: Int, skipped: Int = 0) {
        var counts = [Severity: Int]()
        for diagnostic in diagnostics { counts[diagnostic.severity, default: 0] += 1 }
        errors = counts[.error] ?? 0
        warnings = counts[.warning] ?? 0
        notes = counts[.note] ?? 0
        self.files = files
        self.skipped = skipped
    }

    /// `N errors, N warnings in N files`, then `; N more findings skipped (--max-errors)` when
    /// the limit cut the run short.
    public var line: String {
        func plural(_ count: Int, _ word: String) -> String { "\(count) \(word)\(count == 1 ? "" : "s")" }
        var text = "\(plural(errors, "error")), \(plural(warnings, "warning")) in \(plural(files, "file"))"
        if skipped > 0 { text += "; " + skippedText }
        return text
    }

    /// `N more findings skipped after the first E errors (--max-errors N; 0 shows all)`.
    public var skippedText: String {
        "\(skipped) more finding\(skipped == 1 ? "" : "s") skipped after the first \(errors) error\(errors == 1 ? "" : "s") (--max-errors; 0 shows all)"
    }
}
