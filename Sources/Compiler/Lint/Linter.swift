import Diagnostics
import Manifest

/// `lint`: the lint rules over compiled resources, then configuration and suppressions over
/// everything lint reports (the findings of `validate` included).
public enum Linter {
    /// Runs every enabled rule and returns `validateDiagnostics` (the findings of loading and
    /// compiling) followed by the lint findings, configured and with suppressed findings removed.
    /// Findings of rules lint does not own pass through unchanged.
    public static func lint(
        resources: [Resource], sources: [SourceFile], compilation: Compilation, validateDiagnostics: [Diagnostic],
        configuration: LintConfiguration = LintConfiguration()
    ) -> [Diagnostic] {
        let context = LintContext(resources: resources, sources: sources, compilation: compilation, configuration: configuration)
        var findings = validateDiagnostics
        for rule in LintRegistry.rules where rule.origin != .compiler && configuration.isEnabled(rule.id) {
            findings += rule.check(context)
        }
        var suppressions: [String: FileSuppressions] = [:]
        for source in sources {
            let scanned = Suppressions.scan(source)
            suppressions[source.path] = scanned
            findings += scanned.problems
        }
        findings += configuration.diagnostics

        var result: [Diagnostic] = []
        var seen = Set<Diagnostic>()
        for var finding in findings {
            if let rule = LintRegistry.rule(finding.rule) {
                guard configuration.isEnabled(rule.id) else { continue }
                if let file = finding.file, let line = finding.range?.start.line,
                    suppressions[file]?.isSilenced(rule.id, line: line) == true
                {
                    continue
                }
                finding.severity = configuration.severity(rule.id, default: finding.severity)
            }
            if seen.insert(finding).inserted { result.append(finding) }
        }
        return result
    }
}
