import Diagnostics

/// One subcommand of `orchestrator`.
public protocol Command: Sendable {
    /// The word on the command line (`validate`, `plan`, ...).
    static var name: String { get }
    /// One line for `orchestrator --help`.
    static var summary: String { get }
    /// The usage line(s) and a paragraph of explanation for `orchestrator NAME --help`.
    static var usage: String { get }
    static var options: [OptionSpec] { get }
    static func run(_ arguments: ParsedArguments, context: CommandContext) -> ExitStatus
}

extension Command {
    /// The full `--help` text: usage, then every option.
    public static var helpText: String {
        var out = usage + "\n"
        let all = options + [OptionSpec(["-h", "--help"], help: "show this help")]
        out += "\nOptions:\n"
        let labels = all.map { option in
            option.names.joined(separator: ", ") + (option.takesValue ? " \(option.valueName)" : "")
        }
        let width = min(32, (labels.map(\.count).max() ?? 0) + 2)
        for (label, option) in zip(labels, all) {
            let padding = label.count < width ? String(repeating: " ", count: width - label.count) : "  "
            out += "  " + label + padding + option.help + "\n"
        }
        return out
    }
}

/// Options shared by the commands that report findings.
public enum DiagnosticOptions {
    public static let format = OptionSpec(["--format"], value: "text|json|sarif|github", help: "how findings are written (default text)")
    public static let color = OptionSpec(["--color"], value: "auto|always|never", help: "colour text output (default auto: when stderr is a terminal)")

    public static let maxErrors = OptionSpec(
        ["--max-errors"], value: "N", help: "stop collecting findings after N errors and say how many more were skipped (default 1000, 0: no limit)")

    public enum ColorChoice: String, CaseIterable { case auto, always, never }

    /// The run's `--max-errors` limit.
    public static func limit(_ arguments: ParsedArguments) throws(UsageError) -> DiagnosticLimit {
        DiagnosticLimit(option: try arguments.integer(maxErrors.key))
    }

    /// Writes findings in the chosen format, at most `--max-errors` errors of them: text to stderr (colour when it is a terminal),
    /// the machine formats to stdout, unless `alwaysToStandardError` (commands whose stdout is
    /// their result, such as `apply` and `diff`, keep findings on stderr in every format).
    public static func emit(
        _ diagnostics: [Diagnostic], sources: [SourceFile], files: Int, arguments: ParsedArguments,
        context: CommandContext, rules: [RuleDescription] = [], alwaysToStandardError: Bool = false, skipped: Int = 0
    ) throws(UsageError) {
        let format = try arguments.choice(format.key, default: DiagnosticFormat.text)
        let colorChoice = try arguments.choice(color.key, default: ColorChoice.auto)
        let useColor: Bool
        switch colorChoice {
        case .always: useColor = true
        case .never: useColor = false
        case .auto: useColor = context.stderr.isTerminal && context.environment["NO_COLOR"] == nil
        }
        let renderer = DiagnosticRenderer(sources: sources, color: useColor, toolVersion: Orchestrator.version, rules: rules)
        // `skipped`: findings a lower layer already left out under the same limit.
        let (kept, overLimit) = try limit(arguments).apply(diagnostics)
        let output = renderer.render(kept, format: format, files: files, skipped: skipped + overLimit)
        if format == .text || alwaysToStandardError { context.stderr.write(output) } else { context.stdout.write(output) }
    }
}
