import Diagnostics
import JSON
import YAML

/// `orchestrator parse [-o json|summary] FILE...`: the YAML layer alone.
struct ParseCommand: Command {
    static let name = "parse"
    static let summary = "parse YAML files and print their documents as JSON (or counts)"
    static let usage = """
        Usage: orchestrator parse [-o json|summary] FILE...

        Parses each FILE (`-` reads standard input) with the YAML subset of grammar/yaml-subset.md.
        -o json (default) prints each file's document stream as one JSON array, documents in order,
        an empty document as null, mapping keys in source order (one array per file, one per line).
        -o summary prints the counts only: documents, nodes, bytes.
        Exit 0 when every file parses, 1 on a parse error (the diagnostic goes to stderr), 2 on bad usage.
        """
    var output = Output.json
    var color = ColorChoice.auto
    var maxErrors: Int?
    var files: [String] = []

    static var options: [Option<Self>] { [.output(\.output), .color(\.color), .maxErrors(\.maxErrors)] }
    static var positionals: Positionals<Self>? { Positionals(\.files) }

    enum Output: String, OptionChoice { case json, summary }

    func run(context: CommandContext) -> ExitStatus {
        do throws(UsageError) {
            guard !files.isEmpty else {
                throw UsageError("`parse` needs at least one FILE", help: "pass a path, or `-` to read standard input")
            }
            let sources: [SourceFile]
            do {
                sources = try FileSystem.readInputs(files, context: context)
            } catch {
                throw UsageError(error.description)
            }
            var diagnostics: [Diagnostic] = []
            var totals = (documents: 0, nodes: 0, bytes: 0)
            for source in sources {
                do {
                    let documents = try YAMLParser.parse(source)
                    switch output {
                    case .json:
                        let value = JSONValue.array(documents.map { $0.root?.json ?? .null })
                        context.stdout.write(JSONWriter().string(value) + "\n")
                    case .summary:
                        totals.documents += documents.count
                        totals.nodes += documents.reduce(0) { $0 + ($1.root?.nodeCount ?? 0) }
                        totals.bytes += source.bytes.count
                    }
                } catch {
                    diagnostics.append(error.diagnostic(file: source.path))
                }
            }
            if output == .summary {
                context.stdout.write("documents: \(totals.documents), nodes: \(totals.nodes), bytes: \(totals.bytes)\n")
            }
            if !diagnostics.isEmpty {
                DiagnosticOptions(color: color, maxErrors: maxErrors).emit(diagnostics, sources: sources, files: sources.count, context: context)
                return .findings
            }
            return .success
        } catch {
            Orchestrator.reportUsage(error, context: context)
            return .usage
        }
    }

}
