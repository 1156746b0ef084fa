import JSON

/// A static type of the checker. `dyn` stands for "any type, checked at run time".
public indirect enum ExprType: Sendable, Hashable, CustomStringConvertible {
    case int
    case uint
    case double
    case string
    case bytes
    case bool
    case null
    case dyn
    case list(ExprType)
    case map(ExprType, ExprType)

    public var description: String {
        switch self {
        case .int: return "int"
        case .uint: return "uint"
        case .double: return "double"
        case .string: return "string"
        case .bytes: return "bytes"
        case .bool: return "bool"
        case .null: return "null"
        case .dyn: return "dyn"
        case .list(let element): return "list(\(element))"
        case .map(let key, let value): return "map(\(key), \(value))"
        }
    }

    /// Parses the spelling `description` produces: `int`, `list(string)`, `map(string, dyn)`.
    public init?(parsing text: String) {
        var parser = TypeParser(scalars: Array(text.unicodeScalars))
        guard let type = parser.parse(), parser.atEnd else { return nil }
        self = type
    }

    /// The most precise type of a value: a list whose elements all have one type is a list of
    /// that type, otherwise of dyn (likewise map keys and values); an empty list is list(dyn).
    public init(of value: Value) {
        switch value {
        case .int: self = .int
        case .uint: self = .uint
        case .double: self = .double
        case .string: self = .string
        case .bytes: self = .bytes
        case .bool: self = .bool
        case .null: self = .null
        case .list(let items): self = .list(ExprType.common(items.map(ExprType.init(of:))))
        case .map(let map):
            self = .map(
                ExprType.common(map.entries.map { ExprType(of: $0.key) }),
                ExprType.common(map.entries.map { ExprType(of: $0.value) }))
        }
    }

    /// The type of a JSON value bound as a variable (see `Value(json:)`).
    public init(ofJSON json: JSONValue) {
        self.init(of: Value(json: json))
    }

    /// One type for all of `types` when they agree, else dyn (dyn for none).
    static func common(_ types: [ExprType]) -> ExprType {
        guard var result = types.first else { return .dyn }
        for type in types.dropFirst() { result = join(result, type) }
        return result
    }

    /// The least general type covering both: equal types stay, lists and maps join their
    /// parameters, anything else is dyn.
    static func join(_ a: ExprType, _ b: ExprType) -> ExprType {
        if a == b { return a }
        switch (a, b) {
        case let (.list(x), .list(y)): return .list(join(x, y))
        case let (.map(k1, v1), .map(k2, v2)): return .map(join(k1, k2), join(v1, v2))
        default: return .dyn
        }
    }

    /// True when a value of one type may meet a value of the other at run time (dyn meets
    /// everything; lists and maps when their parameters may meet).
    static func compatible(_ a: ExprType, _ b: ExprType) -> Bool {
        switch (a, b) {
        case (.dyn, _), (_, .dyn): return true
        case let (.list(x), .list(y)): return compatible(x, y)
        case let (.map(k1, v1), .map(k2, v2)): return compatible(k1, k2) && compatible(v1, v2)
        default: return a == b
        }
    }

    var isNumeric: Bool { self == .int || self == .uint || self == .double }
    var isDyn: Bool { self == .dyn }
}

private struct TypeParser {
    let scalars: [Unicode.Scalar]
    var index = 0

    var atEnd: Bool {
        mutating get {
            skipSpace()
            return index == scalars.count
        }
    }

    mutating func skipSpace() {
        while index < scalars.count, scalars[index] == " " { index += 1 }
    }

    mutating func word() -> String {
        skipSpace()
        var out = ""
        while index < scalars.count, scalars[index].properties.isAlphabetic || scalars[index] == "_" {
            out.unicodeScalars.append(scalars[index])
            index += 1
        }
        return out
    }

    mutating func expect(_ scalar: Unicode.Scalar) -> Bool {
        skipSpace()
        guard index < scalars.count, scalars[index] == scalar else { return false }
        index += 1
        return true
    }

    mutating func parse() -> ExprType? {
        switch word() {
        case "int": return .int
        case "uint": return .uint
        case "double": return .double
        case "string": return .string
        case "bytes": return .bytes
        case "bool": return .bool
        case "null", "null_type": return .null
        case "dyn", "any": return .dyn
        case "list":
            guard expect("("), let element = parse(), expect(")") else { return nil }
            return .list(element)
        case "map":
            guard expect("("), let key = parse(), expect(","), let value = parse(), expect(")") else { return nil }
            return .map(key, value)
        default: return nil
        }
    }
}
