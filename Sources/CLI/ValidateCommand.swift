import Compiler
import Expr
import Diagnostics
import Manifest

/// `orchestrator validate -f ... [--format F] [--project P]`: parse + decode + compile.
struct ValidateCommand: Command {
    static let name = "validate"
    static let summary = "check manifests: parse, decode and compile every document (no state touched)"
    static let usage = """
        Usage: orchestrator validate -f FILE|DIR|- [-f ...] [-p P] [--strict] [--format text|json|sarif|github]

        Parses, decodes and compiles every document of the given files. The files are one set per
        project: a workflow in one file may use an agent or template of another file of the same
        project (a reference resolves to the definition in its own file first, then to the last one
        given). A template, capability, execution profile, env/secret store or CRD the files do
        not define is a warning here (it may be applied already); an unknown key the replaced
        system ignored is a warning too. --strict makes both errors.
        Exit 0 when there is no error (a one-line summary on stdout for text output), 1 with any
        error, 2 on bad usage.
        """
    var files: [String] = []
    var project: String?
    var report = DiagnosticOptions()
    var stray: [String] = []
    var strict = false

    static var options: [Option<Self>] { [.filename(\.files), .project(\.project), .strict(\.strict), .group(\.report)] }
    static var positionals: Positionals<Self>? { Positionals(\.stray) }

    func run(context: CommandContext) -> ExitStatus {
        do throws(UsageError) {
            let checked = try ManifestCheck.load(files, project: project, stray: stray, strict: strict, context: context, limit: report.limit)
            let errors = checked.diagnostics.filter { $0.severity == .error }.count
            let warnings = checked.diagnostics.filter { $0.severity == .warning }.count
            if !checked.diagnostics.isEmpty || report.format != .text {
                report.emit(
                    checked.diagnostics, sources: checked.sources, files: checked.sources.count,
                    context: context, rules: ManifestCheck.rules, skipped: checked.skipped)
            }
            if errors > 0 { return .findings }
            if report.format == .text { context.stdout.write(checked.summaryLine(warnings: warnings) + "\n") }
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
    static var rules: [RuleDescription] { ManifestRule.descriptions + ExprRule.all + CompilerRule.descriptions + WorkspacePaths.Rule.descriptions }

    /// `-f` paths, `-p`, and the positional arguments (manifests given without -f are an
    /// error that says so); `strict`: the replaced system's ignored keys and references the
    /// files do not resolve are errors; findings past `limit` are counted, not kept.
    static func load(
        _ paths: [String], project: String?, stray: [String], strict: Bool = false, context: CommandContext, limit: DiagnosticLimit
    ) throws(UsageError) -> ManifestCheck {
        guard !paths.isEmpty else {
            if let first = stray.first {
                throw UsageError("unexpected argument `\(first)`", help: "pass manifests with -f: `-f \(first)`")
            }
            throw UsageError("no manifests given", help: "pass files or directories with -f (repeatable), or `-f -` for standard input")
        }
        if let first = stray.first {
            throw UsageError("unexpected argument `\(first)`", help: "pass every manifest with its own -f")
        }
        let sources: [SourceFile]
        do {
            sources = try FileSystem.readInputs(paths, context: context)
        } catch {
            throw UsageError(error.description)
        }
        let loaded = ManifestLoader.load(sources, projectOverride: project, strict: strict, limit: limit)
        let compilation = Compiler.compile(loaded.resources, sources: loaded.sources, strict: strict)
        return ManifestCheck(
            sources: loaded.sources, resources: loaded.resources, compilation: compilation,
            diagnostics: loaded.diagnostics + compilation.diagnostics
                + WorkspacePaths.check(loaded.resources, currentDirectory: context.absoluteDirectory),
            skipped: loaded.skipped)
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

extension Option {
    /// `--strict` (validate, plan): unknown keys the replaced system ignored, and references the
    /// given files do not resolve, are errors.
    static func strict(_ path: WritableKeyPath<Root, Bool>) -> Option {
        flag(path, "--strict", help: "unknown keys the replaced system ignored, and references the given files do not resolve, are errors")
    }
}
