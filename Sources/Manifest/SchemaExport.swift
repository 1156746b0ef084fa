import JSON

// The field tables (SchemaFields.swift) as a JSON Schema (draft 2020-12) for editors and
// check-jsonschema, and as the field reference of docs/manifests.md. Both come from the tables
// the decoder reads, so they cannot drift from it.

public enum SchemaExport {
    public static let dialect = "https://json-schema.org/draft/2020-12/schema"

    /// The spec level of each kind that a manifest names.
    public static func specLevel(_ kind: ResourceKind) -> SchemaLevel? {
        kind == .custom ? nil : ManifestDecoder.specLevel(kind)
    }

    /// A JSON Schema of one kind's documents, or of every kind (`oneOf` by `kind`) when `kind` is nil.
    public static func schema(for kind: ResourceKind?) -> JSONValue {
        let kinds = kind.map { [$0] } ?? ResourceKind.builtin
        var levels: [SchemaLevel] = []
        for kind in kinds { collect(specLevel(kind) ?? .document, into: &levels) }
        collect(.document, into: &levels)
        var defs: [(key: String, value: JSONValue)] = levels.map { ($0.rawValue, object($0)) }
        for kind in kinds { defs.append(("kind." + kind.rawValue, document(kind))) }
        var root: [(key: String, value: JSONValue)] = [
            ("$schema", .string(dialect)),
            ("$id", .string("https://orchestrator.dev/schema/" + (kind?.rawValue ?? "manifest") + ".json")),
            ("title", .string(kind.map { "orchestrator \($0.rawValue) manifest" } ?? "orchestrator manifest (every kind)")),
        ]
        if let kind {
            root.append(("$ref", .string("#/$defs/kind." + kind.rawValue)))
        } else {
            // A custom resource: any other kind, with an apiVersion other than ours.
            let custom: JSONValue = .object([
                ("type", .string("object")), ("required", .array(["apiVersion", "kind", "metadata"].map { .string($0) })),
                ("properties", .object([
                    ("kind", .object([("not", .object([("enum", .array(ResourceKind.builtin.map { .string($0.rawValue) }))]))])),
                    ("metadata", .object([("$ref", .string("#/$defs/metadata"))])),
                ])),
            ])
            root.append(("oneOf", .array(kinds.map { .object([("$ref", .string("#/$defs/kind." + $0.rawValue))]) } + [custom])))
        }
        root.append(("$defs", .object(defs)))
        return .object(root)
    }

    static func collect(_ level: SchemaLevel, into levels: inout [SchemaLevel]) {
        guard !levels.contains(level) else { return }
        levels.append(level)
        for field in level.fields {
            switch field.type {
            case .object(let child), .objects(let child), .objectOrObjects(let child): collect(child, into: &levels)
            case .storeData: collect(.storeValue, into: &levels)
            default: break
            }
        }
    }

    static func document(_ kind: ResourceKind) -> JSONValue {
        var properties: [(key: String, value: JSONValue)] = []
        properties.append(("apiVersion", kind == .customResourceDefinition ? .object([("type", .string("string"))]) : .object([("const", .string(ManifestDecoder.apiVersion))])))
        properties.append(("kind", .object([("const", .string(kind.rawValue))])))
        properties.append(("metadata", .object([("$ref", .string("#/$defs/metadata"))])))
        if let level = specLevel(kind) { properties.append(("spec", .object([("$ref", .string("#/$defs/" + level.rawValue))]))) }
        return .object([
            ("type", .string("object")), ("required", .array(["apiVersion", "kind", "metadata", "spec"].map { .string($0) })),
            ("properties", .object(properties)),
        ])
    }

    static func object(_ level: SchemaLevel) -> JSONValue {
        var pairs: [(key: String, value: JSONValue)] = [("type", .string("object"))]
        pairs.append(("description", .string(level.place + "; unknown keys: " + level.unknownKeys.rawValue)))
        let required = level.fields.filter(\.required).map { JSONValue.string($0.key) }
        if !required.isEmpty { pairs.append(("required", .array(required))) }
        pairs.append(("properties", .object(level.fields.map { ($0.key, property($0)) })))
        if level.unknownKeys == .refused { pairs.append(("additionalProperties", .bool(false))) }
        return .object(pairs)
    }

    static func property(_ field: Field) -> JSONValue {
        guard case .object(var pairs) = type(field.type) else { return type(field.type) }
        // An integer's maximum is the one `validate` checks (IntegerRanges).
        if case .integer = field.type { pairs.append(("maximum", .int(Int64(IntegerRanges.maximum(for: field.key).value)))) }
        var notes = field.doc
        if case .notExecuted(let why) = field.status { notes += (notes.isEmpty ? "" : "; ") + "not executed: " + why }
        if field.status == .ours { notes += (notes.isEmpty ? "" : "; ") + "our extension" }
        if !notes.isEmpty { pairs.append(("description", .string(notes))) }
        if let value = field.defaultValue { pairs.append(("default", defaultJSON(value, field.type))) }
        return .object(pairs)
    }

    static func defaultJSON(_ text: String, _ type: FieldType) -> JSONValue {
        switch type {
        case .bool: return .bool(text == "true")
        case .integer: return Int64(text).map(JSONValue.int) ?? .string(text)
        case .number: return Double(text).map(JSONValue.double) ?? .string(text)
        default: return .string(text)
        }
    }

    /// The decoder reads numbers and booleans in string fields as their text.
    static let scalarTypes: JSONValue = .array(["string", "number", "boolean"].map { .string($0) })

    static func type(_ type: FieldType) -> JSONValue {
        switch type {
        case .string: return .object([("type", scalarTypes)])
        case .bool: return .object([("type", .string("boolean"))])
        case .integer(let minimum):
            return minimum == Int.min ? .object([("type", .string("integer"))]) : .object([("type", .string("integer")), ("minimum", .int(Int64(minimum)))])
        case .number: return .object([("type", .string("number"))])
        case .strings: return .object([("type", .string("array")), ("items", .object([("type", scalarTypes)]))])
        case .stringMap: return .object([("type", .string("object")), ("additionalProperties", .object([("type", scalarTypes)]))])
        case .stringListMap:
            return .object([("type", .string("object")), ("additionalProperties", .object([("type", .string("array")), ("items", .object([("type", scalarTypes)]))]))])
        case .numberMap: return .object([("type", .string("object")), ("additionalProperties", .object([("type", .string("number"))]))])
        case .values(let values): return .object([("enum", .array(values.map { .string($0) }))])
        case .object(let level): return .object([("$ref", .string("#/$defs/" + level.rawValue))])
        case .objects(let level): return .object([("type", .string("array")), ("items", .object([("$ref", .string("#/$defs/" + level.rawValue))]))])
        case .objectOrObjects(let level):
            let ref: JSONValue = .object([("$ref", .string("#/$defs/" + level.rawValue))])
            return .object([("anyOf", .array([ref, .object([("type", .string("array")), ("items", ref)])]))])
        case .storeData:
            let fromEnv: JSONValue = .object([("$ref", .string("#/$defs/" + SchemaLevel.storeValue.rawValue))])
            return .object([("type", .string("object")), ("additionalProperties", .object([("anyOf", .array([.object([("type", scalarTypes)]), fromEnv]))]))])
        case .any: return .object([])
        }
    }

    // MARK: - docs/manifests.md

    /// The field reference of docs/manifests.md: one table per kind, every field path with its
    /// type, default, whether it is required, what unknown keys beside it do, and its status.
    public static func markdown() -> String {
        var out = ""
        for kind in ResourceKind.builtin {
            guard let spec = specLevel(kind) else { continue }
            out += "### \(kind.rawValue)\n\n"
            out += "| field | type | default | required | unknown keys beside it | executed |\n|---|---|---|---|---|---|\n"
            var visited: [SchemaLevel] = []
            rows(spec, prefix: "spec", visited: &visited, into: &out)
            out += "\n"
        }
        return out
    }

    static func rows(_ level: SchemaLevel, prefix: String, visited: inout [SchemaLevel], into out: inout String) {
        guard !visited.contains(level) else { return }
        visited.append(level)
        for field in level.fields {
            let path = prefix + "." + field.key
            let status: String
            switch field.status {
            case .executed: status = "yes"
            case .ours: status = "yes (our extension)"
            case .notExecuted(let why): status = "**not-executed**: " + why
            }
            out += "| `\(path)` | \(field.type.words) | \(field.defaultValue.map { "`\($0)`" } ?? "") | \(field.required ? "yes" : "") | \(level.unknownKeys.rawValue) | \(status) |\n"
            switch field.type {
            case .object(let child): rows(child, prefix: path, visited: &visited, into: &out)
            case .objects(let child), .objectOrObjects(let child): rows(child, prefix: path + "[]", visited: &visited, into: &out)
            default: break
            }
        }
    }
}
