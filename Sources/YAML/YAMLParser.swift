import Diagnostics

/// Entry point of the YAML layer. (Placeholder until the parser lands; see grammar/yaml-subset.md.)
public enum YAMLParser {
    public static func parse(_ bytes: [UInt8]) throws(YAMLError) -> [Document] {
        throw YAMLError(rule: "yaml-unsupported", message: "the YAML parser is not built yet", range: SourceRange(at: .start))
    }
}
