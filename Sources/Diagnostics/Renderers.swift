import JSON

/// A rule's id and what it is about, listed by the SARIF renderer in `tool.driver.rules`.
public struct RuleDescription: Sendable, Hashable {
    public var id: String
    public var summary: String
    public var defaultSeverity: Severity
    /// Why the rule exists (a paragraph), for SARIF's `fullDescription`; nil when the summary
    /// says it all.
    public var rationale: String?

    public init(id: String, summary: String, defaultSeverity: Severity, rationale: String? = nil) {
        self.id = id
        self.summary = summary
        self.defaultSeverity = defaultSeverity
        self.rationale = rationale
    }
}

/// The output formats of every command that reports findings (spec/cli.md, Diagnostics).
public enum DiagnosticFormat: String, Sendable, CaseIterable {
    case text
    case json
    case sarif
    case github
}

/// Renders a set of findings in one of the formats. All formats render the same findings in
/// the same order (by file, line, column).
public struct DiagnosticRenderer: Sendable {
    public var sources: [String: SourceFile]
    public var color: Bool
    public var toolName: String
    public var toolVersion: String
    public var rules: [RuleDescription]
    /// Per file, the byte ranges never shown (a SecretStore's data, `SecretScan`).
    public var hidden: [String: [Range<Int>]]
    /// Secret values masked in every format: those of the sources' SecretStores and `secrets`.
    public var secrets: SecretValues

    /// `secrets`: further secret values known to the caller (a store's secrets), masked wherever
    /// they appear in a snippet, a message or a help text.
    public init(
        sources: [SourceFile] = [], color: Bool = false, toolName: String = "orchestrator",
        toolVersion: String = "0.1.0", rules: [RuleDescription] = [], secrets: [String] = []
    ) {
        var byPath: [String: SourceFile] = [:]
        var hidden: [String: [Range<Int>]] = [:]
        var values = secrets
        for source in sources {
            byPath[source.path] = source
            let scan = SecretScan(source.bytes)
            if !scan.spans.isEmpty { hidden[source.path] = scan.spans }
            values += scan.values
        }
        self.sources = byPath
        self.hidden = hidden
        self.secrets = SecretValues(values)
        self.color = color
        self.toolName = toolName
        self.toolVersion = toolVersion
        self.rules = rules
    }

    /// Renders findings; messages and help texts are made printable and secret-free first
    /// (`Printable`), so every format shows the same safe text.
    /// `skipped`: findings left out by the run's limit (`DiagnosticLimit`), said in every format.
    public func render(_ diagnostics: [Diagnostic], format: DiagnosticFormat, files: Int, skipped: Int = 0) -> String {
        let sorted = diagnostics.map(printable).sorted(by: Diagnostic.sortKey)
        let summary = DiagnosticSummary(diagnostics: sorted, files: files, skipped: skipped)
        switch format {
        case .text: return text(sorted, summary: summary)
        case .json: return json(sorted, summary: summary)
        case .sarif: return sarif(sorted, summary: summary)
        case .github: return github(sorted, summary: summary)
        }
    }

    /// `diagnostic` with its message and help escaped, shortened and masked.
    public func printable(_ diagnostic: Diagnostic) -> Diagnostic {
        var copy = diagnostic
        copy.message = Printable.text(diagnostic.message, secrets: secrets)
        copy.help = diagnostic.help.map { Printable.text($0, secrets: secrets) }
        return copy
    }

    // MARK: text

    private func paint(_ text: String, _ code: String) -> String {
        color ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text
    }

    /// One finding: header line, the source line with a caret under the column, and `= help:`.
    public func text(_ diagnostic: Diagnostic) -> String {
        var out = ""
        var location = ""
        if let file = diagnostic.file { location += file + ":" }
        if let range = diagnostic.range { location += "\(range.start.line):\(range.start.column):" }
        if !location.isEmpty { out += paint(location, "1") + " " }
        let severityColor: String
        switch diagnostic.severity {
        case .error: severityColor = "1;31"
        case .warning: severityColor = "1;33"
        case .note: severityColor = "1;36"
        }
        out += paint(diagnostic.severity.rawValue + ":", severityColor)
        out += " " + diagnostic.message + " " + paint("[\(diagnostic.rule)]", "2") + "\n"
        if let file = diagnostic.file, let range = diagnostic.range, let source = sources[file],
            let snippet = Snippet(source: source, range: range, hidden: hidden[file] ?? [], secrets: secrets)
        {
            let number = String(range.start.line)
            let gutter = String(repeating: " ", count: max(5, number.count + 1))
            let padded = String(repeating: " ", count: gutter.count - number.count) + number
            out += "\(padded) | \(snippet.text)\n"
            let caret = "^" + String(repeating: "~", count: snippet.caretWidth - 1)
            out += "\(gutter) | " + String(repeating: " ", count: snippet.caretColumn - 1) + paint(caret, "1;32") + "\n"
            if let help = diagnostic.help { out += "\(gutter) = help: \(help)\n" }
        } else if let help = diagnostic.help {
            out += "      = help: \(help)\n"
        }
        return out
    }

    public func text(_ diagnostics: [Diagnostic], summary: DiagnosticSummary) -> String {
        var out = ""
        for diagnostic in diagnostics { out += text(diagnostic) }
        out += summary.line + "\n"
        return out
    }

    // MARK: json

    public static func jsonValue(_ diagnostic: Diagnostic) -> JSONValue {
        let range = diagnostic.range
        return .object([
            ("file", diagnostic.file.map(JSONValue.string) ?? .null),
            ("line", range.map { .int(Int64($0.start.line)) } ?? .null),
            ("column", range.map { .int(Int64($0.start.column)) } ?? .null),
            ("endLine", range.map { .int(Int64($0.end.line)) } ?? .null),
            ("endColumn", range.map { .int(Int64($0.end.column)) } ?? .null),
            ("severity", .string(diagnostic.severity.rawValue)),
            ("rule", .string(diagnostic.rule)),
            ("message", .string(diagnostic.message)),
            ("help", diagnostic.help.map(JSONValue.string) ?? .null),
        ])
    }

    /// The summary's `skipped` key is there only when the limit left findings out.
    public func json(_ diagnostics: [Diagnostic], summary: DiagnosticSummary) -> String {
        var counts: [(key: String, value: JSONValue)] = [
            ("errors", .int(Int64(summary.errors))),
            ("warnings", .int(Int64(summary.warnings))),
            ("files", .int(Int64(summary.files))),
        ]
        if summary.skipped > 0 { counts.append(("skipped", .int(Int64(summary.skipped)))) }
        let value: JSONValue = .object([
            ("diagnostics", .array(diagnostics.map(DiagnosticRenderer.jsonValue))),
            ("summary", .object(counts)),
        ])
        return JSONWriter(pretty: true).string(value) + "\n"
    }

    // MARK: sarif

    private static func sarifLevel(_ severity: Severity) -> String {
        switch severity {
        case .error: return "error"
        case .warning: return "warning"
        case .note: return "note"
        }
    }

    /// Skipped findings are said in the run's `invocations[0].toolExecutionNotifications`.
    public func sarif(_ diagnostics: [Diagnostic], summary: DiagnosticSummary) -> String {
        // Every rule that fired is listed, described when we know it.
        var ruleList = rules
        var known = Set(rules.map(\.id))
        for diagnostic in diagnostics where !known.contains(diagnostic.rule) {
            known.insert(diagnostic.rule)
            ruleList.append(RuleDescription(id: diagnostic.rule, summary: diagnostic.rule, defaultSeverity: diagnostic.severity))
        }
        var ruleIndex: [String: Int] = [:]
        for (index, rule) in ruleList.enumerated() { ruleIndex[rule.id] = index }
        let rulesJSON: [JSONValue] = ruleList.map { rule in
            var fields: [(key: String, value: JSONValue)] = [
                ("id", .string(rule.id)),
                ("shortDescription", .object([("text", .string(rule.summary))])),
            ]
            if let rationale = rule.rationale { fields.append(("fullDescription", .object([("text", .string(rationale))]))) }
            fields.append(("defaultConfiguration", .object([("level", .string(DiagnosticRenderer.sarifLevel(rule.defaultSeverity)))])))
            return .object(fields)
        }
        let results: [JSONValue] = diagnostics.map { diagnostic in
            var message = diagnostic.message
            if let help = diagnostic.help { message += " (help: \(help))" }
            var result: [(key: String, value: JSONValue)] = [
                ("ruleId", .string(diagnostic.rule)),
                ("ruleIndex", .int(Int64(ruleIndex[diagnostic.rule] ?? 0))),
                ("level", .string(DiagnosticRenderer.sarifLevel(diagnostic.severity))),
                ("message", .object([("text", .string(message))])),
            ]
            if let file = diagnostic.file {
                var physical: [(key: String, value: JSONValue)] = [
                    ("artifactLocation", .object([("uri", .string(file))]))
                ]
                if let range = diagnostic.range {
                    physical.append(("region", .object([
                        ("startLine", .int(Int64(range.start.line))),
                        ("startColumn", .int(Int64(range.start.column))),
                        ("endLine", .int(Int64(range.end.line))),
                        ("endColumn", .int(Int64(max(range.end.column, range.start.column)))),
                    ])))
                }
                result.append(("locations", .array([.object([("physicalLocation", .object(physical))])])))
            }
            return .object(result)
        }
        let log: JSONValue = .object([
            ("$schema", .string("https://json.schemastore.org/sarif-2.1.0.json")),
            ("version", .string("2.1.0")),
            ("runs", .array([.object([
                ("tool", .object([("driver", .object([
                    ("name", .string(toolName)),
                    ("version", .string(toolVersion)),
                    ("informationUri", .string("https://github.com/orchestrator-dev/orchestrator")),
                    ("rules", .array(rulesJSON)),
                ]))])),
                ("results", .array(results)),
            ] + (summary.skipped > 0 ? [("invocations", JSONValue.array([.object([
                ("executionSuccessful", .bool(true)),
                ("toolExecutionNotifications", .array([.object([
                    ("level", .string("warning")),
                    ("message", .object([("text", .string(summary.skippedText))])),
                ])])),
            ])]))] : []))])),
        ])
        return JSONWriter(pretty: true).string(log) + "\n"
    }

    // MARK: github

    /// Escapes a workflow-command property or message as GitHub Actions requires.
    private static func escapeGitHub(_ text: String, property: Bool) -> String {
        var out = text.replacingOccurrences("%", "%25")
        out = out.replacingOccurrences("\r", "%0D").replacingOccurrences("\n", "%0A")
        if property { out = out.replacingOccurrences(":", "%3A").replacingOccurrences(",", "%2C") }
        return out
    }

    /// Skipped findings are said in a last `::warning` line.
    public func github(_ diagnostics: [Diagnostic], summary: DiagnosticSummary) -> String {
        var out = ""
        for diagnostic in diagnostics {
            let command: String
            switch diagnostic.severity {
            case .error: command = "error"
            case .warning: command = "warning"
            case .note: command = "notice"
            }
            var properties: [String] = []
            if let file = diagnostic.file { properties.append("file=" + DiagnosticRenderer.escapeGitHub(file, property: true)) }
            if let range = diagnostic.range {
                properties.append("line=\(range.start.line)")
                properties.append("col=\(range.start.column)")
                if range.end.line >= range.start.line {
                    properties.append("endLine=\(range.end.line)")
                }
            }
            properties.append("title=" + DiagnosticRenderer.escapeGitHub(diagnostic.rule, property: true))
            var message = diagnostic.message
            if let help = diagnostic.help { message += " (help: \(help))" }
            out += "::\(command) \(properties.joined(separator: ","))::\(DiagnosticRenderer.escapeGitHub(message, property: false))\n"
        }
        if summary.skipped > 0 { out += "::warning title=max-errors::\(DiagnosticRenderer.escapeGitHub(summary.skippedText, property: false))\n" }
        return out
    }
}

extension String {
    /// Replaces every occurrence of `target` (no Foundation needed).
    func replacingOccurrences(_ target: String, _ replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var result = ""
        var remainder = Substring(self)
        while let found = remainder.range(of: target) {
            result += remainder[remainder.startIndex..<found.lowerBound]
            result += replacement
            remainder = remainder[found.upperBound...]
        }
        result += remainder
        return result
    }
}

extension Substring {
    fileprivate func range(of target: String) -> Range<Substring.Index>? {
        let needle = Array(target.utf8)
        let hay = self.utf8
        guard needle.count <= hay.count else { return nil }
        var index = hay.startIndex
        while index != hay.endIndex {
            var candidate = index
            var matched = 0
            while matched < needle.count, candidate != hay.endIndex, hay[candidate] == needle[matched] {
                matched += 1
                candidate = hay.index(after: candidate)
            }
            if matched == needle.count { return index..<candidate }
            index = hay.index(after: index)
        }
        return nil
    }
}
