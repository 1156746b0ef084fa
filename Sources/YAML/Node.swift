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

/// A node of a YAML document with its source range: a handle on its stream's `NodeTree`
/// (issue 20). Reading `content` builds the scalar or the list of children from the tree;
/// `scalar`, `mapping`, `sequence`, `isNull`, the key subscript and `kindDescription` read the
/// tree directly. Two nodes are equal when their contents and ranges are.
public struct Node: Sendable, Hashable {
    public enum Content: Sendable, Hashable {
        case scalar(Scalar)
        /// Entries in source order; duplicate keys are refused by the parser.
        case mapping([MappingEntry])
        case sequence([Node])
    }

    let tree: NodeTree
    let id: Int32

    init(tree: NodeTree, id: Int32) {
        self.tree = tree
        self.id = id
    }

    /// A node of its own (not parsed): its content copied into a tree of its own.
    public init(_ content: Content, range: SourceRange) {
        let tree = NodeTree()
        switch content {
        case .scalar(let scalar): self = tree.addScalar(scalar, range: range, explicit: true)
        case .mapping(let entries): self = tree.addMapping(entries, range: range, explicit: true)
        case .sequence(let items): self = tree.addSequence(items, range: range, explicit: true)
        }
    }

    public var content: Content {
        switch tree.kind(id) {
        case NodeTree.scalarKind: return .scalar(tree.scalar(id))
        case NodeTree.mappingKind: return .mapping(entries)
        default: return .sequence(items)
        }
    }

    /// From the first byte of the node (for quoted scalars, the opening quote; for block
    /// scalars, the indicator; for block collections, the first key or `-`) to just after
    /// its last byte.
    public var range: SourceRange { tree.range(id) }

    // The parts of `range` the parser reads, each without computing the rest.
    var startOffset: Int { tree.explicitRanges.isEmpty ? Int(tree.records[Int(id)].startOffset) : range.start.offset }
    var endOffset: Int { tree.explicitRanges.isEmpty ? Int(tree.records[Int(id)].endOffset) : range.end.offset }
    var startLocation: SourceLocation { tree.explicitRanges.isEmpty ? tree.startLocation(id) : range.start }
    var endLocation: SourceLocation { range.end }

    private var entries: [MappingEntry] {
        let count = tree.length(id)
        var result: [MappingEntry] = []
        result.reserveCapacity(count)
        for index in 0..<count {
            result.append(
                MappingEntry(key: Node(tree: tree, id: tree.child(id, 2 * index)), value: Node(tree: tree, id: tree.child(id, 2 * index + 1))))
        }
        return result
    }

    private var items: [Node] {
        let count = tree.length(id)
        var result: [Node] = []
        result.reserveCapacity(count)
        for index in 0..<count { result.append(Node(tree: tree, id: tree.child(id, index))) }
        return result
    }

    public var scalar: Scalar? {
        tree.kind(id) == NodeTree.scalarKind ? tree.scalar(id) : nil
    }

    /// A scalar's text, without resolving its value (what a mapping key is read as).
    public var scalarText: String? {
        tree.kind(id) == NodeTree.scalarKind ? tree.text(id) : nil
    }

    /// A scalar's text length in UTF-8 bytes (no String made); nil for a collection.
    public var scalarUTF8Count: Int? {
        tree.kind(id) == NodeTree.scalarKind ? tree.length(id) : nil
    }

    /// A scalar's text unless it is null (empty, `~` or `null` written plain), without resolving
    /// its value: what a string field reads (numbers and booleans keep their written text).
    public var nonNullScalarText: String? {
        tree.kind(id) == NodeTree.scalarKind && tree.valueCode(id) != 0 ? tree.text(id) : nil
    }

    public var mapping: [MappingEntry]? {
        tree.kind(id) == NodeTree.mappingKind ? entries : nil
    }

    public var sequence: [Node]? {
        tree.kind(id) == NodeTree.sequenceKind ? items : nil
    }

    /// True for an empty value, `~` or `null` written plain.
    public var isNull: Bool {
        tree.kind(id) == NodeTree.scalarKind && tree.valueCode(id) == 0
    }

    /// Whether this is a scalar whose text is `text` (no String is made).
    public func hasText(_ text: String) -> Bool {
        tree.kind(id) == NodeTree.scalarKind && tree.textEquals(id, text)
    }

    /// The value of the first entry whose key's text is `key`, for mappings.
    public subscript(key: String) -> Node? {
        guard tree.kind(id) == NodeTree.mappingKind else { return nil }
        let count = tree.length(id)
        for index in 0..<count {
            let keyID = tree.child(id, 2 * index)
            if tree.kind(keyID) == NodeTree.scalarKind, tree.textEquals(keyID, key) { return Node(tree: tree, id: tree.child(id, 2 * index + 1)) }
        }
        return nil
    }

    /// How many nodes this one holds, itself included.
    public var nodeCount: Int {
        guard tree.kind(id) != NodeTree.scalarKind else { return 1 }
        var total = 1
        let count = tree.length(id) * (tree.kind(id) == NodeTree.mappingKind ? 2 : 1)
        for index in 0..<count { total += Node(tree: tree, id: tree.child(id, index)).nodeCount }
        return total
    }

    /// What kind of node this is, in words users read in diagnostics
    /// ("a mapping", "a list", "a string", "an integer", ...).
    public var kindDescription: String {
        switch tree.kind(id) {
        case NodeTree.mappingKind: return "a mapping"
        case NodeTree.sequenceKind: return "a list"
        default:
            switch tree.valueCode(id) {
            case 0: return "an empty value"
            case 1, 2: return "a boolean"
            case 3: return "an integer"
            case 4: return "a number"
            default: return "a string"
            }
        }
    }

    /// The node as JSON, the way a conforming YAML loader would give it (used by `parse -o json`
    /// and the conformance tests). Mapping keys become their scalar text.
    public var json: JSONValue {
        switch tree.kind(id) {
        case NodeTree.scalarKind:
            switch tree.value(id) {
            case .null: return .null
            case .bool(let b): return .bool(b)
            case .int(let i): return .int(i)
            case .float(let d): return .double(d)
            case .string(let text): return .string(text)
            }
        case NodeTree.sequenceKind:
            let count = tree.length(id)
            var items: [JSONValue] = []
            items.reserveCapacity(count)
            for index in 0..<count { items.append(Node(tree: tree, id: tree.child(id, index)).json) }
            return .array(items)
        default:
            // Straight from the tree: no list of entries, no `Scalar` per key (an apply turns
            // every resource into JSON).
            let count = tree.length(id)
            var pairs: [(key: String, value: JSONValue)] = []
            pairs.reserveCapacity(count)
            for index in 0..<count {
                let keyID = tree.child(id, 2 * index)
                let key = tree.kind(keyID) == NodeTree.scalarKind ? tree.text(keyID) : ""
                pairs.append((key: key, value: Node(tree: tree, id: tree.child(id, 2 * index + 1)).json))
            }
            return .object(pairs)
        }
    }

    public static func == (lhs: Node, rhs: Node) -> Bool {
        if lhs.tree === rhs.tree && lhs.id == rhs.id { return true }
        return lhs.range == rhs.range && lhs.content == rhs.content
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(range)
        hasher.combine(tree.kind(id))
        if tree.kind(id) == NodeTree.scalarKind { hasher.combine(tree.text(id)) } else { hasher.combine(tree.length(id)) }
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
