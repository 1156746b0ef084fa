import Diagnostics

/// A parsed expression: the text, its syntax tree, and what the tree reads.
/// Every range is relative to `text`: line 1-based within the text, column 1-based counting
/// Unicode scalars, `offset` the UTF-8 byte offset in the text.
public struct Expression: Sendable {
    public let text: String
    public let root: ExprNode

    init(text: String, root: ExprNode) {
        self.text = text
        self.root = root
    }

    /// Every read of a variable, in source order (repeats included), excluding the variables
    /// macros bind (`x` in `list.exists(x, x > 0)`). `a.b.c` reads `a`.
    public var freeVariables: [VariableReference] {
        var found: [VariableReference] = []
        var bound: [String] = []
        ExprNode.collectFree(root, bound: &bound, into: &found)
        return found
    }

    /// The names of `freeVariables`, sorted and unique.
    public var freeVariableNames: [String] {
        Array(Set(freeVariables.map(\.name))).sorted()
    }
}

/// One read of a variable.
public struct VariableReference: Sendable, Hashable {
    public var name: String
    public var range: SourceRange

    public init(name: String, range: SourceRange) {
        self.name = name
        self.range = range
    }
}

public enum UnaryOperator: String, Sendable {
    case not = "!"
    case negate = "-"
}

public enum BinaryOperator: String, Sendable {
    case multiply = "*", divide = "/", remainder = "%"
    case add = "+", subtract = "-"
    case equal = "==", notEqual = "!=", less = "<", lessEqual = "<=", greater = ">", greaterEqual = ">="
    case isIn = "in"
}

public enum LogicalOperator: String, Sendable {
    case and = "&&"
    case or = "||"
}

/// The comprehension macros.
public enum MacroKind: String, Sendable {
    case exists, all, existsOne = "exists_one", map, filter
}

/// A node of the syntax tree with its range in the expression text.
public struct ExprNode: Sendable {
    public internal(set) var kind: Kind
    public internal(set) var range: SourceRange
    /// Height of the subtree (a leaf is 1); bounded by `ExprLimits.maxDepth`.
    public internal(set) var height: Int

    public indirect enum Kind: Sendable {
        case literal(Value)
        case identifier(String)
        /// `operand.field` (a map key look-up).
        case select(operand: ExprNode, field: String, fieldRange: SourceRange)
        /// `operand[index]`.
        case index(operand: ExprNode, index: ExprNode)
        case unary(UnaryOperator, ExprNode)
        case binary(BinaryOperator, ExprNode, ExprNode, operatorRange: SourceRange)
        /// A chain `a && b && c` (or `||`) as one node; evaluation is commutative.
        case logical(LogicalOperator, [ExprNode])
        case conditional(ExprNode, ExprNode, ExprNode)
        case list([ExprNode])
        case map([MapEntry])
        /// `name(args)` or `target.name(args)`.
        case call(Call)
        /// `has(operand.field)`: whether the map `operand` has the key `field`.
        case has(operand: ExprNode, field: String)
        /// `range.macro(variable, body...)`: exists, all, exists_one, filter and map take one
        /// body (the predicate or transform); `map(x, predicate, transform)` takes two.
        case comprehension(Comprehension)
    }

    public struct MapEntry: Sendable {
        public internal(set) var key: ExprNode
        public internal(set) var value: ExprNode
    }

    public struct Call: Sendable {
        public internal(set) var function: String
        public internal(set) var target: ExprNode?
        public internal(set) var arguments: [ExprNode]
        public internal(set) var nameRange: SourceRange
    }

    public struct Comprehension: Sendable {
        public internal(set) var macro: MacroKind
        public internal(set) var range: ExprNode
        public internal(set) var variable: String
        public internal(set) var variableRange: SourceRange
        public internal(set) var body: [ExprNode]
    }

    init(_ kind: Kind, range: SourceRange, height: Int) {
        self.kind = kind
        self.range = range
        self.height = height
    }

    /// The direct children, in source order.
    public var children: [ExprNode] {
        switch kind {
        case .literal, .identifier: return []
        case .select(let operand, _, _): return [operand]
        case .index(let operand, let index): return [operand, index]
        case .unary(_, let operand): return [operand]
        case .binary(_, let lhs, let rhs, _): return [lhs, rhs]
        case .logical(_, let operands): return operands
        case .conditional(let c, let t, let f): return [c, t, f]
        case .list(let items): return items
        case .map(let entries): return entries.flatMap { [$0.key, $0.value] }
        case .call(let call): return (call.target.map { [$0] } ?? []) + call.arguments
        case .has(let operand, _): return [operand]
        case .comprehension(let c): return [c.range] + c.body
        }
    }

    static func collectFree(_ node: ExprNode, bound: inout [String], into found: inout [VariableReference]) {
        switch node.kind {
        case .identifier(let name):
            if !bound.contains(name) { found.append(VariableReference(name: name, range: node.range)) }
        case .comprehension(let c):
            collectFree(c.range, bound: &bound, into: &found)
            bound.append(c.variable)
            for body in c.body { collectFree(body, bound: &bound, into: &found) }
            bound.removeLast()
        default:
            for child in node.children { collectFree(child, bound: &bound, into: &found) }
        }
    }
}

/// Limits on what the parser accepts (grammar/expr.md, "Limits").
public struct ExprLimits: Sendable, Equatable {
    /// Maximum length of the expression text in UTF-8 bytes.
    public var maxLength: Int
    /// Maximum nesting depth: the height of the syntax tree, and the nesting of parentheses,
    /// brackets, braces and argument lists.
    public var maxDepth: Int
    /// Maximum number of macro iterations (summed over all comprehensions) in one evaluation.
    public var maxIterations: Int

    public init(maxLength: Int = 16_384, maxDepth: Int = 64, maxIterations: Int = 1_000_000) {
        self.maxLength = maxLength
        self.maxDepth = maxDepth
        self.maxIterations = maxIterations
    }

    public static let standard = ExprLimits()
}

/// Maps byte offsets of an expression text to line/column locations, through the one
/// offset-to-position conversion of Diagnostics (`LineIndex`).
struct LineMap: Sendable {
    let count: Int
    private let bytes: [UInt8]
    private let index: LineIndex

    init(bytes: [UInt8]) {
        count = bytes.count
        self.bytes = bytes
        index = LineIndex(bytes)
    }

    func location(_ offset: Int) -> SourceLocation {
        let target = max(0, min(offset, count))
        return bytes.withUnsafeBufferPointer { index.location(ofOffset: target, in: $0) }
    }

    func range(_ start: Int, _ end: Int) -> SourceRange {
        SourceRange(start: location(start), end: location(max(start, end)))
    }
}
