import Diagnostics

// The options several commands take, each spelled once here. A command declares the property
// it stores into (`.project(\.project)`); the help line may be specialised where the option means
// something narrower for that command (a filter for `get`, the project of the workflow for
// `task create`), the spellings never are.

extension Option {
    /// `-f/--filename`: manifest files, directories (every *.yaml/*.yml below) or `-` (stdin).
    public static func filename(_ path: WritableKeyPath<Root, [String]>) -> Option {
        values(path, "-f", "--filename", value: "FILE|DIR|-", help: "a manifest file, a directory (every *.yaml/*.yml below) or - for stdin")
    }

    /// `-p/--project`.
    public static func project(
        _ path: WritableKeyPath<Root, String?>, help: String = "the project of documents that name none (default `default`)"
    ) -> Option {
        value(path, "-p", "--project", value: "P", help: help)
    }

    /// `--data-dir DIR`: where the store lives (DataDirectory).
    public static func dataDirectory(_ path: WritableKeyPath<Root, String?>) -> Option {
        value(path, "--data-dir", value: "DIR", help: "the data directory (default $ORCHESTRATOR_DATA_DIR, else ./.orchestrator)")
    }

    /// `-o/--output FORMAT`: what the command prints; the choices are the command's own enum.
    public static func output<Choice: OptionChoice>(_ path: WritableKeyPath<Root, Choice>, help: String = "output format") -> Option {
        choice(path, ["-o", "--output"], help: help)
    }

    /// `--max-errors N`: findings kept per run (`DiagnosticLimit`; absent: 1000, 0: no limit).
    public static func maxErrors(_ path: WritableKeyPath<Root, Int?>) -> Option {
        integer(path, "--max-errors", value: "N", help: "stop collecting findings after N errors and say how many more were skipped (default 1000, 0: no limit)")
    }

    /// `--color auto|always|never`.
    public static func color(_ path: WritableKeyPath<Root, ColorChoice>) -> Option {
        choice(path, ["--color"], help: "colour text output; auto: when stderr is a terminal and NO_COLOR is unset")
    }
}

/// `--color`.
public enum ColorChoice: String, OptionChoice {
    case auto, always, never

    /// Whether to colour what goes to standard error.
    func useColor(_ context: CommandContext) -> Bool {
        switch self {
        case .always: return true
        case .never: return false
        case .auto: return context.stderr.isTerminal && context.environment["NO_COLOR"] == nil
        }
    }
}

/// `-o text|json` (`table` is `text`): the output of task and event commands.
public enum TextOrJSON: String, OptionChoice {
    case text, json
    public static var aliases: [String: TextOrJSON] { ["table": .text] }
}

/// The options of every command that reports findings: `--format`, `--color`, `--max-errors`. A new diagnostic
/// option (say `--max-errors N`) is one property and one line of `options` here, and every such
/// command takes it.
public struct DiagnosticOptions: OptionGroup {
    public var format = DiagnosticFormat.text
    public var color = ColorChoice.auto
    public var maxErrors: Int?

    public init() {}

    init(format: DiagnosticFormat = .text, color: ColorChoice, maxErrors: Int? = nil) {
        self.format = format
        self.color = color
        self.maxErrors = maxErrors
    }

    public static var options: [Option<Self>] {
        [
            .choice(\.format, "--format", help: "how findings are written"),
            .color(\.color),
            .maxErrors(\.maxErrors),
        ]
    }

    /// The run's `--max-errors` limit.
    var limit: DiagnosticLimit { DiagnosticLimit(option: maxErrors) }

    /// Writes findings in the chosen format: text to stderr (colour when it is a terminal),
    /// the machine formats to stdout, unless `alwaysToStandardError` (commands whose stdout is
    /// their result, such as `apply` and `diff`, keep findings on stderr in every format).
    func emit(
        _ diagnostics: [Diagnostic], sources: [SourceFile], files: Int, context: CommandContext,
        rules: [RuleDescription] = [], alwaysToStandardError: Bool = false, skipped: Int = 0
    ) {
        let renderer = DiagnosticRenderer(sources: sources, color: color.useColor(context), toolVersion: Orchestrator.version, rules: rules)
        // At most `--max-errors` errors; `skipped`: findings a lower layer already left out.
        let (kept, overLimit) = limit.apply(diagnostics)
        let output = renderer.render(kept, format: format, files: files, skipped: skipped + overLimit)
        if format == .text || alwaysToStandardError { context.stderr.write(output) } else { context.stdout.write(output) }
    }
}
