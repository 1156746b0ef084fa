import Diagnostics
import YAML

/// The JSON Schema subset CRDs use (type, enum, minLength, maxLength, pattern, minimum, maximum,
/// required, properties, additionalProperties, items, minItems, maxItems), for any document:
/// the schemas we publish in docs/ (`task trace -o json`) are checked against our own output
/// with the same validator.
public enum JSONSchemaCheck {
    /// The violations of `instance` against `schema` (both parsed YAML/JSON nodes), each naming
    /// the path and the keyword; empty when the instance conforms.
    public static func violations(of instance: Node, against schema: Node, file: String, owner: String = "the schema") -> [Diagnostic] {
        var validator = SchemaValidator(file: file, owner: owner)
        validator.validate(instance, schema: schema, path: "$")
        return validator.diagnostics
    }
}
