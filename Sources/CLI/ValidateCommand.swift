import Compiler
import Expr
import Diagnostics
import Manifest

/// `orchestrator validate -f ... [--format F] [--project P]`: parse + decode + compile.
public enum ValidateCommand: Command {
    public static let name = "validate"
    public static let summary = "check manifests: parse, decode and compile every document (no state touched)"
    public static let usage = """
        Usage: orchestrator validate -f FILE|DIR|- [-f ...] [--project P] [--format text|json|sarif|github]

        Parses, decodes and compiles every document of the given files. The files are one set per
        project: a workflow in one file may use an agent or template of another file of the same
        project (a reference resolves to the definition in its own file first, then to the last one
        given). Execution profiles and env/secret stores the files do not define are warnings
        here (they may be applied already); templates and capabilities must resolve.
        Exit 0 when there is no error (a one-line summary on stdout for text output), 1 with any
        error, 2 on bad usage.
        """
    public static let options: [OptionSpec] = [
        OptionSpec(["-f", "--filename"], value: "PATH", help: "a manifest file, a directory (every *.yaml/*.yml below) or - (repeatable)"),
        OptionSpec(["--project"], value: "P", help: "the project of documents that name none (default: default)"),
        DiagnosticOptions.format,
        DiagnosticOptions.color,
        DiagnosticOptions.maxErrors,
    ]

    public static func run(_ arguments: ParsedArguments, context: CommandContext) -> ExitStatus {
        do throws(UsageError) {
            let checked = try ManifestCheck.load(arguments, context: context)
            let errors = checked.diagnostics.filter { $0.severity == .error }.count
            let warnings = checked.diagnostics.filter { $0.severity == .warning }.count
            let format = try arguments.choice(DiagnosticOptions.format.key, default: DiagnosticFormat.text)
            if !checked.diagnostics.isEmpty || format != .text {
                try DiagnosticOptions.emit(
                    checked.diagnostics, sources: checked.sources, files: checked.sources.count, arguments: arguments,
                    context: context, rules: ManifestCheck.rules, skipped: checked.skipped)
            }
            if errors > 0 { return .findings }
            if format == .text { context.stdout.write(checked.summaryLine(warnings: warnings) + "\n") }
            return .success
        } catch {
            Orchestrator.reportUsage(error, context: context)
            return .usage
        }
    }
}

/// The shared front half of `validate` and `plan`: read, load, compile.
struct ManifestCheck {
    var sources: [SourceFile]
    var resources: [Resource]
    var compilation: Compilation
    /// Loading and compiling findings together.
    var diagnostics: [Diagnostic]
    /// Loading findings past `--max-errors`: counted, not kept.
    var skipped: Int

    var hasErrors: Bool { diagnostics.contains { $0.severity == .error } }

    /// Every rule validate and plan can report, for SARIF.
    static var rules: [RuleDescription] { ManifestRule.descriptions + ExprRule.all + CompilerRule.descriptions }

    static func load(_ arguments: ParsedArguments, context: CommandContext) throws(UsageError) -> ManifestCheck {
        let paths = arguments.all("--filename")
        guard !paths.isEmpty else {
            if let first = arguments.positionals.first {
                throw UsageError("unexpected argument `\(first)`", help: "pass manifests with -f: `-f \(first)`")
            }
            throw UsageError("no manifests given", help: "pass files or directories with -f (repeatable), or `-f -` for standard input")
        }
        if let first = arguments.positionals.first {
            throw UsageError("unexpected argument `\(first)`", help: "pass every manifest with its own -f")
        }
        let sources: [SourceFile]
        do {
            sources = try FileSystem.readInputs(paths, context: context)
        } catch {
            throw UsageError(error.description)
        }
        let loaded = ManifestLoader.load(sources, projectOverride: arguments.value("--project"), limit: try DiagnosticOptions.limit(arguments))
        let compilation = Compiler.compile(loaded.resources, sources: loaded.sources)
        return ManifestCheck(
            sources: loaded.sources, resources: loaded.resources, compilation: compilation,
            diagnostics: loaded.diagnostics + compilation.diagnostics, skipped: loaded.skipped)
    }

    /// `valid: 15 resources (1 workflow) in 1 file, project default; 3 warnings`.
    func summaryLine(warnings: Int) -> String {
        func plural(_ count: Int, _ word: String) -> String { "\(count) \(word)\(count == 1 ? "" : "s")" }
        var projects: [String] = []
        for resource in resources where !projects.contains(resource.resolvedProject) { projects.append(resource.resolvedProject) }
        let projectText = projects.isEmpty ? "" : (projects.count == 1 ? ", project " : ", projects ") + projects.joined(separator: ", ")
        return "valid: \(plural(resources.count, "resource")) (\(plural(compilation.workflows.count, "workflow"))) in "
            + "\(plural(sources.count, "file"))\(projectText); \(plural(warnings, "warning"))"
    }
}
