import Diagnostics
import Manifest
import YAML

// Which lint rules run and at what severity: the defaults of the registry, then a configuration
// file (`--config FILE`, YAML read with our own parser), then `--enable` / `--disable`.
//
//   # lint.yaml
//   rules:
//     capture-unused: off        # off | on | error | warning | note
//     unused-resource: note
//     no-effect: error

/// What the configuration says about one rule.
public enum RuleSetting: Sendable, Hashable {
    case off
    /// On, at the rule's default severity.
    case on
    case severity(Severity)
}

/// A rule name on the command line that names no lint rule (a usage error).
public struct LintUsageError: Error, Sendable {
    public var message: String
    public var help: String?
}

public struct LintConfiguration: Sendable {
    public private(set) var settings: [String: RuleSetting] = [:]
    /// Problems found in the configuration file (rule `lint-config`, positioned).
    public private(set) var diagnostics: [Diagnostic] = []

    public init() {}

    public func isEnabled(_ id: String) -> Bool { settings[id] != .off }

    /// The severity findings of rule `id` are reported with.
    public func severity(_ id: String, default defaultSeverity: Severity) -> Severity {
        if case .severity(let severity)? = settings[id] { return severity }
        return defaultSeverity
    }

    /// The settings of a configuration file. Problems (bad YAML, unknown keys, unknown rule
    /// names, bad values) are positioned diagnostics; the settings that make sense still apply.
    public static func load(_ file: SourceFile) -> LintConfiguration {
        var configuration = LintConfiguration()
        let documents: [Document]
        do {
            documents = try YAMLParser.parse(file)
        } catch {
            configuration.diagnostics.append(error.diagnostic(file: file.path))
            return configuration
        }
        let roots = documents.compactMap(\.root)
        guard let root = roots.first else { return configuration }
        if roots.count > 1, let second = roots.dropFirst().first {
            configuration.problem("a lint configuration is one YAML document", file: file, range: second.range, help: "remove the other documents")
        }
        guard let entries = root.mapping else {
            configuration.problem(
                "a lint configuration is a mapping with the key `rules`", file: file, range: root.range,
                help: "write `rules:` followed by `RULE: off|on|error|warning|note` lines")
            return configuration
        }
        for entry in entries {
            let key = entry.key.scalar?.text ?? ""
            guard key == "rules" else {
                configuration.problem(
                    "unknown key `\(key)` in a lint configuration", file: file, range: entry.key.range,
                    help: "the only key is `rules` (a mapping of rule ids to off, on, error, warning or note)")
                continue
            }
            if entry.value.isNull { continue }
            guard let rules = entry.value.mapping else {
                configuration.problem(
                    "`rules` must be a mapping of rule ids to off, on, error, warning or note", file: file,
                    range: entry.value.range, help: "for example `rules: {capture-unused: off}`")
                continue
            }
            for rule in rules {
                let id = rule.key.scalar?.text ?? ""
                guard LintRegistry.rule(id) != nil else {
                    configuration.diagnostics.append(
                        LintRegistry.unknownRuleDiagnostic(id, file: file.path, range: rule.key.range, where: "in the lint configuration"))
                    continue
                }
                guard let setting = RuleSetting(rule.value) else {
                    configuration.problem(
                        "`\(rule.value.scalar?.text ?? rule.value.kindDescription)` is not a setting of rule `\(id)`", file: file,
                        range: rule.value.range, help: "use one of: off, on, error, warning, note")
                    continue
                }
                configuration.settings[id] = setting
            }
        }
        return configuration
    }

    private mutating func problem(_ message: String, file: SourceFile, range: SourceRange, help: String) {
        diagnostics.append(LintRegistry.lintConfig.finding(message, file: file.path, range: range, help: help))
    }

    /// Applies `--enable` (on at the configured or default severity) and then `--disable`.
    public mutating func apply(enable: [String], disable: [String]) throws(LintUsageError) {
        for id in enable + disable where LintRegistry.rule(id) == nil {
            let close = Suggestions.closest(to: id, in: LintRegistry.rules.map(\.id))
            throw LintUsageError(
                message: "unknown lint rule `\(id)`",
                help: close.map { "did you mean `\($0)`?" } ?? "`orchestrator lint --list-rules` lists the rules")
        }
        for id in enable where settings[id] == .off { settings[id] = .on }
        for id in disable { settings[id] = .off }
    }
}

extension RuleSetting {
    init?(_ node: Node) {
        guard let scalar = node.scalar else { return nil }
        if case .bool(let flag) = scalar.value {
            self = flag ? .on : .off
            return
        }
        switch scalar.text {
        case "off": self = .off
        case "on": self = .on
        default:
            guard let severity = Severity(rawValue: scalar.text) else { return nil }
            self = .severity(severity)
        }
    }
}
