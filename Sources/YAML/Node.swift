import Diagnostics
import JSON

/// How a scalar was written in the source.
public enum ScalarStyle: String, Sendable, Hashable {
    case plain
    case singleQuoted
    case doubleQuoted
    /// `|` block scalar.
    case literal
    /// `>` block scalar.
    case folded
}

/// A scalar's value resolved by the YAML 1.2 core schema. Only plain scalars resolve to
/// anything but `.string`; quoted and block scalars are always strings.
public enum ScalarValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case int(Int64)
    case float(Double)
    case string(String)
}

public struct Scalar: Sendable, Hashable {
    /// The scalar's content after escapes, folding and chomping (for `null` plain scalars, the
    /// original text such as `~` or `null`, or "" when empty).
    public var text: String
    public var style: ScalarStyle
    public var value: ScalarValue

    public init(text: String, style: ScalarStyle, value: ScalarValue) {
        self.text = text
        self.style = style
        self.value = value
    }
}

/// One key/value pair of a mapping. Keys are always scalars in the accepted subset.
public struct MappingEntry: Sendable, Hashable {
    public var key: Node
    public var value: Node

    public init(key: Node, value: Node) {
        self.key = key
        self.value = value
    }
}

/// A node of a YAML document with its source range.
public struct Node: Sendable, Hashable {
    public indirect enum Content: Sendable, Hashable {
        case scalar(Scalar)
        /// Entries in source order; duplicate keys are refused by the parser.
        case mapping([MappingEntry])
        case sequence([Node])
    }

    public var content: Content
    /// From the first byte of the node (for quoted scalars, the opening quote; for block
    /// scalars, the indicator; for block collections, the first key or `-`) to just after
    /// its last byte.
    public var range: SourceRange

    public init(_ content: Content, range: SourceRange) {
        self.content = content
        self.range = range
    }

    public var scalar: Scalar? {
        if case .scalar(let s) = content { return s }
        return nil
    }

    public var mapping: [MappingEntry]? {
        if case .mapping(let m) = content { return m }
        return nil
    }

    public var sequence: [Node]? {
        if case .sequence(let s) = content { return s }
        return nil
    }

    /// True for an empty value, `~` or `null` written plain.
    public var isNull: Bool {
        if case .scalar(let s) = content, s.value == .null { return true }
        return false
    }

    /// The value of the first entry whose key's text is `key`, for mappings.
    public subscript(key: String) -> Node? {
        guard case .mapping(let entries) = content else { return nil }
        return entries.first(where: { $0.key.scalar?.text == key })?.value
    }

    /// What kind of node this is, in words users read in diagnostics
    /// ("a mapping", "a list", "a string", "an integer", ...).
    public var kindDescription: String {
        switch content {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .scalar(let s):
            switch s.value {
            case .null: return "an empty value"
            case .bool: return "a boolean"
            case .int: return "an integer"
            case .float: return "a number"
            case .string: return "a string"
            }
        }
    }

    /// The node as JSON, the way a conforming YAML loader would give it (used by `parse -o json`
    /// and the conformance tests). Mapping keys become their scalar text.
    public var json: JSONValue {
        switch content {
        case .scalar(let s):
            switch s.value {
            case .null: return .null
            case .bool(let b): return .bool(b)
            case .int(let i): return .int(i)
            case .float(let d): return .double(d)
            case .string(let text): return .string(text)
            }
        case .sequence(let items):
            return .array(items.map(\.json))
        case .mapping(let entries):
            return .object(entries.map { (key: $0.key.scalar?.text ?? "", value: $0.value.json) })
        }
    }
}

/// One document of a stream. `root` is nil for an empty document (`---` followed by nothing).
public struct Document: Sendable, Hashable {
    public var root: Node?
    /// From the document's first byte (its `---` if any) to its end.
    public var range: SourceRange

    public init(root: Node?, range: SourceRange) {
        self.root = root
        self.range = range
    }
}

/// A refused input: where, what, and what to do. Convertible to the shared `Diagnostic`.
public struct YAMLError: Error, Sendable, Hashable, CustomStringConvertible {
    /// `yaml-syntax` for malformed input, `yaml-unsupported` for valid YAML outside the subset,
    /// `yaml-limit` for input beyond the documented limits, `yaml-encoding` for invalid UTF-8.
    public var rule: String
    public var message: String
    public var range: SourceRange
    public var help: String?

    public init(rule: String, message: String, range: SourceRange, help: String? = nil) {
        self.rule = rule
        self.message = message
        self.range = range
        self.help = help
    }

    public func diagnostic(file: String?) -> Diagnostic {
        Diagnostic(severity: .error, rule: rule, message: message, file: file, range: range, help: help)
    }

    public var description: String { "\(range.start): \(message) [\(rule)]" }
}
