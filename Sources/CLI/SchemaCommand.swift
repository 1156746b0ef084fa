import JSON
import Manifest

/// `orchestrator schema [KIND] [-o json]`: the JSON Schema (draft 2020-12) of the manifests,
/// generated from the decoder's field tables (`SchemaExport`), for yaml-language-server and
/// check-jsonschema.
struct SchemaCommand: Command {
    static let name = "schema"
    static let summary = "print the JSON Schema (draft 2020-12) of every kind, or of one"
    static let usage = """
        Usage: orchestrator schema [KIND] [-o json]

        Prints a JSON Schema (draft 2020-12) of manifest documents, generated from the tables the
        decoder reads: of one KIND (workflow, agent, runtimepolicy, crd, ...), or without KIND of
        every kind (a document matches the schema of its `kind`; a kind no table defines is a
        custom resource). Unknown keys are refused (`additionalProperties: false`) where the
        replaced system refused them; elsewhere `validate` warns about them. Use it with
        yaml-language-server (`# yaml-language-server: $schema=FILE`) or check-jsonschema.
        Exit 0, 2 on bad usage.
        """
    enum Output: String, OptionChoice { case json }

    var output = Output.json
    var words: [String] = []

    static var options: [Option<Self>] { [.output(\.output, help: "output format (only json)")] }
    static var positionals: Positionals<Self>? { Positionals(\.words) }

    func run(context: CommandContext) -> ExitStatus {
        do throws(UsageError) {
            guard words.count <= 1 else {
                throw UsageError("`schema` takes at most one KIND", help: "e.g. `orchestrator schema workflow`")
            }
            var kind: ResourceKind?
            if let word = words.first {
                let name = try KindName.resolve(word)
                guard let found = ResourceKind(rawValue: name), found != .custom else {
                    throw UsageError("`\(word)` is no built-in kind", help: "a custom resource's schema is in its CustomResourceDefinition")
                }
                kind = found
            }
            context.stdout.write(JSONWriter(pretty: true).string(SchemaExport.schema(for: kind)) + "\n")
            return .success
        } catch {
            Orchestrator.reportUsage(error, context: context)
            return .usage
        }
    }
}
