import JSON
import Manifest

/// `orchestrator schema [KIND] [-o json]`: the JSON Schema (draft 2020-12) of the manifests,
/// generated from the decoder's field tables (`SchemaExport`), for yaml-language-server and
/// check-jsonschema.
public enum SchemaCommand: Command {
    public static let name = "schema"
    public static let summary = "print the JSON Schema (draft 2020-12) of every kind, or of one"
    public static let usage = """
        Usage: orchestrator schema [KIND] [-o json]

        Prints a JSON Schema (draft 2020-12) of manifest documents, generated from the tables the
        decoder reads: of one KIND (workflow, agent, runtimepolicy, crd, ...), or without KIND of
        every kind (a document matches the schema of its `kind`; a kind no table defines is a
        custom resource). Unknown keys are refused (`additionalProperties: false`) where the
        replaced system refused them; elsewhere `validate` warns about them. Use it with
        yaml-language-server (`# yaml-language-server: $schema=FILE`) or check-jsonschema.
        Exit 0, 2 on bad usage.
        """
    public static let options: [OptionSpec] = [
        OptionSpec(["-o", "--output"], value: "json", help: "output format (only json)"),
    ]

    public enum Output: String, CaseIterable { case json }

    public static func run(_ arguments: ParsedArguments, context: CommandContext) -> ExitStatus {
        do throws(UsageError) {
            _ = try arguments.choice("--output", default: Output.json)
            guard arguments.positionals.count <= 1 else {
                throw UsageError("`schema` takes at most one KIND", help: "e.g. `orchestrator schema workflow`")
            }
            var kind: ResourceKind?
            if let word = arguments.positionals.first {
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
