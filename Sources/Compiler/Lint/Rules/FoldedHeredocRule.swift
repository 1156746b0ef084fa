import Diagnostics
import Manifest
import YAML

extension LintRule {
    static let foldedHeredoc = LintRule(
        id: "folded-heredoc", severity: .warning,
        summary: "a here-document in a command written as a folded (`>`) scalar: its end marker never starts a line",
        rationale: """
            A folded block scalar (`>` or `>-`) joins lines of the same indentation with spaces, so a \
            command written with one turns a here-document's lines into one long line: the end marker \
            (`EOF`) is never alone on a line, the shell reads to the end of the command, and the step \
            fails (bash says `here-document delimited by end-of-file`). The replaced system's \
            promotion example has this bug in its `save_drafts` step. Write such a command as a \
            literal block scalar (`|`), which keeps the lines.
            """,
        examples: [
            LintExample(
                "a here-document folded into one line", triggers: true,
                """
                apiVersion: orchestrator.dev/v2
                kind: Workflow
                metadata:
                  name: drafts
                spec:
                  steps:
                    - id: save
                #         ^ expect
                      command: >-
                        cat > draft.json << 'EOF'
                        {generate_output}
                        EOF
                """),
            LintExample(
                "the same command as a literal block", triggers: false,
                """
                apiVersion: orchestrator.dev/v2
                kind: Workflow
                metadata:
                  name: drafts
                spec:
                  steps:
                    - id: save
                      command: |
                        cat > draft.json << 'EOF'
                        {generate_output}
                        EOF
                """),
        ],
        check: FoldedHeredoc.check)
}

private enum FoldedHeredoc {
    static func check(_ context: LintContext) -> [Diagnostic] {
        var findings: [Diagnostic] = []
        // The finding points at the step's id (or the agent's name): a position inside the block
        // scalar itself would be on one of the lines it folds.
        func inspect(_ command: Node?, file: String, owner: String, at range: SourceRange) {
            guard let command, let scalar = command.scalar, scalar.style == .folded, let marker = unterminatedMarker(scalar.text) else { return }
            findings.append(
                LintRule.foldedHeredoc.finding(
                    "the here-document `<< \(marker)` in \(owner) never ends: its command is a folded scalar (`>`), which joins the lines, so `\(marker)` never starts a line",
                    file: file, range: range, help: "write the command as a literal block scalar (`command: |`)"))
        }
        func visit(_ steps: [Node], file: String) {
            for step in steps {
                if let id = step["id"] {
                    inspect(step["command"], file: file, owner: "the command of step `\(id.scalar?.text ?? "?")`", at: id.range)
                }
                visit(step["chain_steps"]?.sequence ?? [], file: file)
            }
        }
        for resource in context.resources {
            switch resource.kind {
            case .workflow: visit(resource.node["spec"]?["steps"]?.sequence ?? [], file: resource.file)
            case .agent:
                inspect(resource.node["spec"]?["command"], file: resource.file, owner: "the command of agent `\(resource.name)`", at: resource.metadata.name.range)
            default: break
            }
        }
        return findings
    }

    /// The marker of the first here-document of `text` whose marker is not alone on a line.
    static func unterminatedMarker(_ text: String) -> String? {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { $0.drop(while: { $0 == "\t" }) }
        var rest = Substring(text)
        while let found = rest.firstRange(of: "<<") {
            var after = rest[found.upperBound...]
            if after.first == "<" {  // `<<<` is a here-string
                rest = after.dropFirst()
                continue
            }
            if after.first == "-" { after = after.dropFirst() }
            after = after.drop(while: { $0 == " " })
            if let quote = after.first, quote == "'" || quote == "\"" { after = after.dropFirst() }
            let marker = after.prefix(while: { $0.isLetter || $0.isNumber || $0 == "_" })
            rest = after
            guard !marker.isEmpty else { continue }
            if !lines.contains(where: { $0 == marker }) { return String(marker) }
        }
        return nil
    }
}
