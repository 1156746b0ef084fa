import Compiler
import Diagnostics
import Manifest

/// `orchestrator lint -f ... [--format F] [--disable RULE]... [--enable RULE]... [--config FILE]`:
/// everything `validate` reports, plus the workflow lint rules (docs/lint.md).
struct LintCommand: Command {
    static let name = "lint"
    static let summary = "validate, plus workflow rules that catch what is valid but wrong"
    static let usage = """
        Usage: orchestrator lint -f FILE|DIR|- [-f ...] [--state FILE]... [-p P] [--format text|json|sarif|github]
                                 [--disable RULE]... [--enable RULE]... [--config FILE]
               orchestrator lint --list-rules | --rules-markdown | --state-rules-markdown

        Reports everything `validate` reports, plus the lint rules: loops that cannot end, steps that
        never run, placeholders nothing provides, unused resources, credentials in plain text, ...
        (`--list-rules`; docs/lint.md explains each). Lint the files of a project together: uses in
        one file count for resources of another. A `-f` input named tasks.json, and every `--state
        FILE`, is checked with the tasks.json rules instead (docs/state-files.md).

        Silence a finding with a comment on its line or the line above:
            # orchestrator-lint: disable=RULE[,RULE]
        or with a configuration file (`--config FILE`):
            rules:
              capture-unused: off      # off | on | error | warning | note
        `--enable` and `--disable` win over the file. Exit 0 when no error-severity finding remains,
        1 otherwise, 2 on bad usage.
        """
    var files: [String] = []
    var project: String?
    var report = DiagnosticOptions()
    var disable: [String] = []
    var enable: [String] = []
    var config: String?
    var listRules = false
    var rulesMarkdown = false
    var state: [String] = []
    var stateRulesMarkdown = false
    var stray: [String] = []

    static var options: [Option<Self>] {
        [
            .filename(\.files), .project(\.project), .group(\.report),
            .values(\.disable, "--disable", value: "RULE", help: "do not run this lint rule"),
            .values(\.enable, "--enable", value: "RULE", help: "run this lint rule even if the configuration turns it off"),
            .value(\.config, "--config", value: "FILE", help: "a lint configuration: `rules: {RULE: off|on|error|warning|note}`"),
            .flag(\.listRules, "--list-rules", help: "list the lint rules (id, severity, summary) and exit"),
            .flag(\.rulesMarkdown, "--rules-markdown", help: "print the rule reference of docs/lint.md (Markdown) and exit"),
            .values(\.state, "--state", value: "FILE", help: "a tasks.json to check with the tasks.json rules (repeatable)"),
            .flag(\.stateRulesMarkdown, "--state-rules-markdown", help: "print the tasks.json rule reference of docs/lint.md and exit"),
        ]
    }
    static var positionals: Positionals<Self>? { Positionals(\.stray) }

    func run(context: CommandContext) -> ExitStatus {
        if rulesMarkdown {
            context.stdout.write(LintDocumentation.rulesMarkdown())
            return .success
        }
        if stateRulesMarkdown {
            context.stdout.write(StateDocumentation.rulesMarkdown())
            return .success
        }
        if listRules {
            context.stdout.write(LintDocumentation.ruleList() + StateDocumentation.ruleList())
            return .success
        }
        do throws(UsageError) {
            var configuration = LintConfiguration()
            var configSources: [SourceFile] = []
            if let path = config {
                let sources: [SourceFile]
                do {
                    sources = try FileSystem.readInputs([path], context: context)
                } catch {
                    throw UsageError(error.description, help: "`--config` takes a YAML file")
                }
                guard sources.count == 1, let source = sources.first else {
                    throw UsageError("`--config` takes one file, `\(path)` is a directory")
                }
                configuration = LintConfiguration.load(source)
                configSources = [source]
            }
            do {
                try configuration.apply(
                    enable: StateLintInputs.manifestRules(enable), disable: StateLintInputs.manifestRules(disable))
            } catch {
                throw UsageError(error.message, help: error.help)
            }
            let state = try StateLintInputs(files: files, state: self.state, enable: enable, disable: disable, stray: stray, context: context)
            let checked = try state.manifestFiles.map { files throws(UsageError) in
                try ManifestCheck.load(files, project: project, stray: stray, context: context, limit: report.limit)
            }
            let diagnostics =
                (checked.map {
                    Linter.lint(
                        resources: $0.resources, sources: $0.sources, compilation: $0.compilation,
                        validateDiagnostics: $0.diagnostics, configuration: configuration)
                } ?? []) + state.diagnostics
            let sources = (checked?.sources ?? []) + state.sources
            let errors = diagnostics.filter { $0.severity == .error }.count
            let warnings = diagnostics.filter { $0.severity == .warning }.count
            if !diagnostics.isEmpty || report.format != .text {
                report.emit(
                    diagnostics, sources: sources + configSources, files: sources.count,
                    context: context, rules: Self.rules + StateRegistry.descriptions, skipped: checked?.skipped ?? 0)
            }
            if errors > 0 { return .findings }
            if report.format == .text {
                context.stdout.write(
                    (checked?.summaryLine(warnings: warnings).replacingFirst("valid:", with: "lint:") ?? state.summaryLine(warnings: warnings))
                        + (checked != nil && !state.sources.isEmpty ? "; " + state.tasksPhrase : "") + "\n")
            }
            return .success
        } catch {
            Orchestrator.reportUsage(error, context: context)
            return .usage
        }
    }

    /// Every rule lint can report, for SARIF: validate's, with the lint registry's descriptions
    /// for the ids they share.
    static var rules: [RuleDescription] {
        let lint = LintRegistry.descriptions
        let lintIDs = Set(lint.map(\.id))
        return ManifestCheck.rules.filter { !lintIDs.contains($0.id) } + lint
    }
}

extension String {
    fileprivate func replacingFirst(_ target: String, with replacement: String) -> String {
        guard let found = firstRange(of: target) else { return self }
        return String(self[..<found.lowerBound]) + replacement + String(self[found.upperBound...])
    }
}
