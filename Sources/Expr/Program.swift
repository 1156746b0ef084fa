/// The result of evaluating with every variable known.
public enum EvalResult: Sendable, Equatable, CustomStringConvertible {
    case value(Value)
    /// An evaluation error (division by zero, overflow, no such key, no matching overload...).
    case error(String)

    public var description: String {
        switch self {
        case .value(let v): return "value(\(v))"
        case .error(let message): return "error(\(message))"
        }
    }
}

/// The result of evaluating with some variables unknown.
public enum PartialResult: Sendable, Equatable, CustomStringConvertible {
    /// The value does not depend on the unknown variables.
    case value(Value)
    /// The value depends on these unknown variables (sorted, unique).
    case unknown([String])
    /// An error whatever the unknown variables hold.
    case error(String)

    public var description: String {
        switch self {
        case .value(let v): return "value(\(v))"
        case .unknown(let names): return "unknown(\(names.joined(separator: ", ")))"
        case .error(let message): return "error(\(message))"
        }
    }
}

/// Parses and evaluates in one step (slow path: prefer `Program` to evaluate many times).
public func evaluate(_ expression: Expression, bindings: [String: Value]) -> EvalResult {
    Program(expression).evaluate(bindings)
}

/// Partially evaluates in one step (see `Program.partialEvaluate`).
public func partialEvaluate(_ expression: Expression, bindings: [String: Value], unknown: Set<String>) -> PartialResult {
    Program(expression).partialEvaluate(bindings, unknown: unknown)
}

extension Expression {
    /// The expression compiled for repeated evaluation.
    public func compile(limits: ExprLimits = .standard) -> Program { Program(self, limits: limits) }
}

/// An expression compiled once for many evaluations: names resolved to slots, functions to
/// builtins, constant sub-expressions folded, literal `matches` patterns compiled.
/// Evaluation never traps: every failure is an `EvalResult.error`.
public struct Program: Sendable {
    public let expression: Expression
    public let limits: ExprLimits
    let root: Node
    /// A name per slot: variables and macro variables.
    let slotNames: [String]
    /// The slots of the free variables.
    let variableSlots: [Int]
    /// Every slot unbound: copied to start each evaluation.
    let emptySlots: [Slot]

    public init(_ expression: Expression, limits: ExprLimits = .standard) {
        self.expression = expression
        self.limits = limits
        let compiler = NodeCompiler()
        let root = compiler.compile(expression.root)
        self.root = root
        slotNames = compiler.slotNames
        variableSlots = compiler.variableSlots
        emptySlots = Array(repeating: .unbound, count: compiler.slotNames.count)
    }

    /// The free variables the program reads, in the order `evaluate(values:)` takes them.
    public var variables: [String] { variableSlots.map { slotNames[$0] } }

    /// Evaluates with `bindings`; a variable the expression reads but `bindings` lacks is an
    /// evaluation error (absorbed by `&&`/`||` like any error).
    public func evaluate(_ bindings: [String: Value]) -> EvalResult {
        var evaluator = Evaluator(names: slotNames, slots: emptySlots, budget: limits.maxIterations)
        for slot in variableSlots {
            if let value = bindings[slotNames[slot]] { evaluator.slots[slot] = .value(value) }
        }
        return Program.finish(evaluator.eval(root))
    }

    /// Evaluates with the variables' values given in the order of `variables` (nil: unbound).
    /// The fastest form, for callers that evaluate one program many times.
    public func evaluate(values: [Value?]) -> EvalResult {
        var evaluator = Evaluator(names: slotNames, slots: emptySlots, budget: limits.maxIterations)
        for (position, slot) in variableSlots.enumerated() where position < values.count {
            if let value = values[position] { evaluator.slots[slot] = .value(value) }
        }
        return Program.finish(evaluator.eval(root))
    }

    private static func finish(_ outcome: Outcome) -> EvalResult {
        switch outcome {
        case .value(let v): return .value(v)
        case .error(let e): return .error(e.message)
        case .unknown(let names): return .error("depends on unknown variables: " + names.joined(separator: ", "))
        }
    }

    /// Evaluates with the variables in `unknown` taken as unknown. `&&` and `||` absorb as CEL
    /// defines it (false && unknown = false, true || unknown = true, error && false = false,
    /// unknown && error = unknown); other operators and functions give an error when an
    /// operand is an error, else unknown when an operand is unknown. A variable neither bound
    /// nor unknown is an error.
    public func partialEvaluate(_ bindings: [String: Value], unknown: Set<String>) -> PartialResult {
        var evaluator = Evaluator(names: slotNames, slots: emptySlots, budget: limits.maxIterations)
        for slot in variableSlots {
            let name = slotNames[slot]
            if unknown.contains(name) {
                evaluator.slots[slot] = .unknown
            } else if let value = bindings[name] {
                evaluator.slots[slot] = .value(value)
            }
        }
        switch evaluator.eval(root) {
        case .value(let v): return .value(v)
        case .error(let e): return .error(e.message)
        case .unknown(let names): return .unknown(names)
        }
    }
}

// MARK: - Compiled form

indirect enum Node: Sendable {
    case constant(Value)
    case slot(Int)
    case select(Node, String)
    case has(Node, String)
    case index(Node, Node)
    case not(Node)
    case negate(Node)
    case binary(BinaryOperator, Node, Node)
    case and([Node])
    case or([Node])
    case conditional(Node, Node, Node)
    case list([Node])
    /// Keys and values alternating.
    case map([Node])
    case call1(Builtin, Node)
    case call2(Builtin, Node, Node)
    /// `text.matches(pattern)` with the pattern compiled ahead.
    case matches(Node, Regex)
    case comprehension(CompiledComprehension)
    /// A call that cannot succeed (unknown function, invalid literal pattern).
    case failure(String)
}

struct CompiledComprehension: Sendable {
    var macro: MacroKind
    var range: Node
    var slot: Int
    /// The predicate (exists, all, exists_one, filter, 3-argument map) or the transform.
    var body: Node
    /// The transform of a 3-argument map.
    var transform: Node?
}

final class NodeCompiler {
    var slotNames: [String] = []
    var variableSlots: [Int] = []
    var variableSlotByName: [String: Int] = [:]
    var scopes: [(name: String, slot: Int)] = []

    func compile(_ node: ExprNode) -> Node {
        fold(build(node))
    }

    /// Each kind is built by its own small function (the recursion's frames stay small).
    func build(_ node: ExprNode) -> Node {
        switch node.kind {
        case .literal(let value): return .constant(value)
        case .identifier: return buildIdentifier(node)
        case .select, .has, .unary: return buildOneOperand(node)
        case .index, .binary: return buildTwoOperands(node)
        case .logical, .list: return buildOperandList(node)
        case .conditional: return buildConditional(node)
        case .call: return buildCall(node)
        case .comprehension: return buildComprehension(node)
        case .map: return buildMap(node)
        }
    }

    func buildIdentifier(_ node: ExprNode) -> Node {
        guard case .identifier(let name) = node.kind else { return .failure("internal") }
        if let local = scopes.last(where: { $0.name == name }) { return .slot(local.slot) }
        if let slot = variableSlotByName[name] { return .slot(slot) }
        let slot = slotNames.count
        slotNames.append(name)
        variableSlots.append(slot)
        variableSlotByName[name] = slot
        return .slot(slot)
    }

    func buildOneOperand(_ node: ExprNode) -> Node {
        switch node.kind {
        case .select(let operand, let field, _): return .select(compile(operand), field)
        case .has(let operand, let field): return .has(compile(operand), field)
        case .unary(let op, let operand):
            let inner = compile(operand)
            return op == .not ? .not(inner) : .negate(inner)
        default: return .failure("internal")
        }
    }

    func buildTwoOperands(_ node: ExprNode) -> Node {
        switch node.kind {
        case .index(let operand, let index): return .index(compile(operand), compile(index))
        case .binary(let op, let lhs, let rhs, _): return .binary(op, compile(lhs), compile(rhs))
        default: return .failure("internal")
        }
    }

    func buildOperandList(_ node: ExprNode) -> Node {
        switch node.kind {
        case .logical(let op, let operands):
            var compiled: [Node] = []
            for operand in operands { compiled.append(compile(operand)) }
            return op == .and ? .and(compiled) : .or(compiled)
        case .list(let items):
            var compiled: [Node] = []
            for item in items { compiled.append(compile(item)) }
            return .list(compiled)
        default: return .failure("internal")
        }
    }

    func buildConditional(_ node: ExprNode) -> Node {
        guard case .conditional(let c, let t, let f) = node.kind else { return .failure("internal") }
        return .conditional(compile(c), compile(t), compile(f))
    }

    func buildMap(_ node: ExprNode) -> Node {
        guard case .map(let entries) = node.kind else { return .failure("internal") }
        var nodes: [Node] = []
        for entry in entries {
            nodes.append(compile(entry.key))
            nodes.append(compile(entry.value))
        }
        return .map(nodes)
    }

    func buildCall(_ node: ExprNode) -> Node {
        guard case .call(let call) = node.kind else { return .failure("internal") }
        do {
            var operands: [Node] = []
            if let target = call.target { operands.append(compile(target)) }
            for argument in call.arguments { operands.append(compile(argument)) }
            guard let builtin = Builtin.resolve(call.function, isMethod: call.target != nil, argumentCount: operands.count) else {
                if Builtin(rawValue: call.function) != nil {
                    return .failure("no matching overload for `\(call.function)` with \(operands.count) argument\(operands.count == 1 ? "" : "s")")
                }
                return .failure("unbound function `\(call.function)`")
            }
            if operands.count == 1 { return .call1(builtin, operands[0]) }
            if builtin == .matches, case .constant(.string(let pattern)) = operands[1] {
                do {
                    return .matches(operands[0], try Regex(pattern))
                } catch {
                    return .failure("invalid regular expression \(quoteLiteral(pattern)): \(error.message)")
                }
            }
            return .call2(builtin, operands[0], operands[1])
        }
    }

    func buildComprehension(_ node: ExprNode) -> Node {
        guard case .comprehension(let c) = node.kind else { return .failure("internal") }
        do {
            let range = compile(c.range)
            let slot = slotNames.count
            slotNames.append(c.variable)
            scopes.append((c.variable, slot))
            defer { scopes.removeLast() }
            let body = compile(c.body[0])
            let transform = c.body.count > 1 ? compile(c.body[1]) : nil
            return .comprehension(CompiledComprehension(macro: c.macro, range: range, slot: slot, body: body, transform: transform))
        }
    }

    /// Replaces a node whose operands are all constants by its value (when it has one).
    func fold(_ node: Node) -> Node {
        let operands: [Node]
        switch node {
        case .constant, .slot, .comprehension, .failure: return node
        case .select(let a, _), .has(let a, _), .not(let a), .negate(let a), .call1(_, let a), .matches(let a, _): operands = [a]
        case .index(let a, let b), .binary(_, let a, let b), .call2(_, let a, let b): operands = [a, b]
        case .and(let items), .or(let items), .list(let items), .map(let items): operands = items
        case .conditional(let a, let b, let c): operands = [a, b, c]
        }
        for operand in operands {
            guard case .constant = operand else { return node }
        }
        var evaluator = Evaluator(names: [], slots: [], budget: 0)
        if case .value(let value) = evaluator.eval(node) { return .constant(value) }
        return node
    }
}

// MARK: - Evaluation

enum Outcome {
    case value(Value)
    case error(EvalError)
    case unknown([String])
}

enum Slot {
    case unbound
    case unknown
    case value(Value)
}

/// Sorted union of two sorted, unique name lists.
func mergeNames(_ a: [String], _ b: [String]) -> [String] {
    if a.isEmpty { return b }
    if b.isEmpty || a == b { return a }
    var out: [String] = []
    out.reserveCapacity(a.count + b.count)
    var i = 0, j = 0
    while i < a.count, j < b.count {
        if a[i] == b[j] {
            out.append(a[i]); i += 1; j += 1
        } else if a[i] < b[j] {
            out.append(a[i]); i += 1
        } else {
            out.append(b[j]); j += 1
        }
    }
    out += a[i...]
    out += b[j...]
    return out
}

struct Evaluator {
    let names: [String]
    var slots: [Slot]
    var budget: Int
    let maxIterations: Int

    init(names: [String], slots: [Slot], budget: Int) {
        self.names = names
        self.slots = slots
        self.budget = budget
        self.maxIterations = budget
    }

    enum Strict {
        case values([Value])
        case stop(Outcome)
    }

    /// Evaluates operands of a strict operation: the first error wins (the operation fails
    /// whatever the unknowns hold), else the union of the unknowns.
    mutating func strict(_ nodes: [Node]) -> Strict {
        var values: [Value] = []
        values.reserveCapacity(nodes.count)
        var unknowns: [String]?
        for node in nodes {
            switch eval(node) {
            case .value(let v): if unknowns == nil { values.append(v) }
            case .error(let e): return .stop(.error(e))
            case .unknown(let names): unknowns = mergeNames(unknowns ?? [], names)
            }
        }
        if let unknowns { return .stop(.unknown(unknowns)) }
        return .values(values)
    }

    enum Pair {
        case values(Value, Value)
        case stop(Outcome)
    }

    /// The two operands of a strict operation (see `strict`), each evaluated once.
    @inline(__always)
    mutating func strict2(_ a: Node, _ b: Node) -> Pair {
        let first = eval(a)
        switch first {
        case .value(let x):
            switch eval(b) {
            case .value(let y): return .values(x, y)
            case let other: return .stop(other)
            }
        case .error:
            return .stop(first)
        case .unknown(let names):
            switch eval(b) {
            case .value: return .stop(first)
            case .error(let e): return .stop(.error(e))
            case .unknown(let more): return .stop(.unknown(mergeNames(names, more)))
            }
        }
    }

    @inline(__always)
    static func run(_ body: () throws(EvalError) -> Value) -> Outcome {
        do {
            return .value(try body())
        } catch {
            return .error(error)
        }
    }

    /// Evaluates a node. Each kind has its own function so that the recursion's stack frames
    /// stay small in unoptimised builds too.
    mutating func eval(_ node: Node) -> Outcome {
        switch node {
        case .constant(let value): return .value(value)
        case .slot(let index): return slot(index)
        case .select(let operand, let field): return select(operand, field)
        case .has(let operand, let field): return has(operand, field)
        case .index(let a, let b): return index(a, b)
        case .not(let operand): return not(operand)
        case .negate(let operand): return negate(operand)
        case .binary(let op, let a, let b): return binary(op, a, b)
        case .and(let operands): return logical(operands, decisive: false, symbol: "&&")
        case .or(let operands): return logical(operands, decisive: true, symbol: "||")
        case .conditional(let c, let t, let f): return conditional(c, t, f)
        case .list(let items): return list(items)
        case .map(let nodes): return map(nodes)
        case .call1(let function, let a): return call1(function, a)
        case .call2(let function, let a, let b): return call2(function, a, b)
        case .matches(let a, let regex): return matches(a, regex)
        case .comprehension(let c): return comprehension(c)
        case .failure(let message): return .error(EvalError(message))
        }
    }

    func slot(_ index: Int) -> Outcome {
        switch slots[index] {
        case .value(let value): return .value(value)
        case .unknown: return .unknown([names[index]])
        case .unbound: return .error(EvalError("no value for variable `\(names[index])`"))
        }
    }

    mutating func select(_ operand: Node, _ field: String) -> Outcome {
        switch eval(operand) {
        case .value(let v): return Evaluator.run { () throws(EvalError) in try Operations.select(v, field) }
        case let other: return other
        }
    }

    mutating func has(_ operand: Node, _ field: String) -> Outcome {
        switch eval(operand) {
        case .value(let v): return Evaluator.run { () throws(EvalError) in try Operations.has(v, field) }
        case let other: return other
        }
    }

    mutating func index(_ a: Node, _ b: Node) -> Outcome {
        switch strict2(a, b) {
        case .values(let x, let y): return Evaluator.run { () throws(EvalError) in try Operations.index(x, y) }
        case .stop(let outcome): return outcome
        }
    }

    mutating func not(_ operand: Node) -> Outcome {
        switch eval(operand) {
        case .value(.bool(let b)): return .value(.bool(!b))
        case .value(let v): return .error(.noOverload("!", v))
        case let other: return other
        }
    }

    mutating func negate(_ operand: Node) -> Outcome {
        switch eval(operand) {
        case .value(let v): return Evaluator.run { () throws(EvalError) in try Operations.negate(v) }
        case let other: return other
        }
    }

    mutating func binary(_ op: BinaryOperator, _ a: Node, _ b: Node) -> Outcome {
        switch strict2(a, b) {
        case .values(let x, let y): return Evaluator.run { () throws(EvalError) in try Operations.binary(op, x, y) }
        case .stop(let outcome): return outcome
        }
    }

    mutating func conditional(_ c: Node, _ t: Node, _ f: Node) -> Outcome {
        switch eval(c) {
        case .value(.bool(true)): return eval(t)
        case .value(.bool(false)): return eval(f)
        case .value(let v): return .error(EvalError("the condition of `?:` must be a bool, not \(v.typeName)"))
        case .error(let e): return .error(e)
        case .unknown(var names):
            // Unknown condition: unknown, naming what either branch depends on too.
            if case .unknown(let more) = eval(t) { names = mergeNames(names, more) }
            if case .unknown(let more) = eval(f) { names = mergeNames(names, more) }
            return .unknown(names)
        }
    }

    mutating func list(_ items: [Node]) -> Outcome {
        switch strict(items) {
        case .values(let values): return .value(.list(values))
        case .stop(let outcome): return outcome
        }
    }

    mutating func map(_ nodes: [Node]) -> Outcome {
        switch strict(nodes) {
        case .stop(let outcome): return outcome
        case .values(let values):
            var map = ValueMap()
            var index = 0
            while index + 1 < values.count {
                switch map.insertNew(values[index], values[index + 1]) {
                case .inserted: break
                case .duplicate: return .error(EvalError("repeated key \(values[index]) in a map literal"))
                case .invalidKey: return .error(EvalError("a map key cannot be of type \(values[index].typeName)"))
                }
                index += 2
            }
            return .value(.map(map))
        }
    }

    mutating func call1(_ function: Builtin, _ a: Node) -> Outcome {
        switch eval(a) {
        case .value(let v): return Evaluator.run { () throws(EvalError) in try Operations.call1(function, v) }
        case let other: return other
        }
    }

    mutating func call2(_ function: Builtin, _ a: Node, _ b: Node) -> Outcome {
        switch strict2(a, b) {
        case .values(let x, let y): return Evaluator.run { () throws(EvalError) in try Operations.call2(function, x, y) }
        case .stop(let outcome): return outcome
        }
    }

    mutating func matches(_ a: Node, _ regex: Regex) -> Outcome {
        switch eval(a) {
        case .value(.string(let s)): return .value(.bool(regex.matches(s)))
        case .value(let v): return .error(.noOverload("matches", v, .string(regex.pattern)))
        case let other: return other
        }
    }

    /// `&&` (decisive false) and `||` (decisive true) over any number of operands, commutative:
    /// a decisive value wins over errors and unknowns; then unknowns over errors.
    mutating func logical(_ operands: [Node], decisive: Bool, symbol: String) -> Outcome {
        var unknowns: [String]?
        var firstError: EvalError?
        for operand in operands {
            switch eval(operand) {
            case .value(.bool(let b)):
                if b == decisive { return .value(.bool(decisive)) }
            case .value(let v):
                if firstError == nil { firstError = .noOverload(symbol, v) }
            case .error(let e):
                if firstError == nil { firstError = e }
            case .unknown(let names):
                unknowns = mergeNames(unknowns ?? [], names)
            }
        }
        if let unknowns { return .unknown(unknowns) }
        if let firstError { return .error(firstError) }
        return .value(.bool(!decisive))
    }

    mutating func comprehension(_ c: CompiledComprehension) -> Outcome {
        let elements: [Value]
        switch eval(c.range) {
        case .value(.list(let items)): elements = items
        case .value(.map(let map)): elements = map.keyList
        case .value(let v): return .error(EvalError("`\(c.macro.rawValue)` iterates over a list or a map, not \(v.typeName)"))
        case let other: return other
        }
        let saved = slots[c.slot]
        defer { slots[c.slot] = saved }
        var unknowns: [String]?
        var firstError: EvalError?
        var results: [Value] = []
        var trueCount = 0
        let decisive = c.macro == .exists
        for element in elements {
            budget -= 1
            if budget < 0 {
                return .error(EvalError("the evaluation exceeded \(maxIterations) macro iterations"))
            }
            slots[c.slot] = .value(element)
            let outcome = eval(c.body)
            switch c.macro {
            case .exists, .all:
                // Logical folds: like `||` (exists) and `&&` (all) over the elements.
                switch outcome {
                case .value(.bool(let b)):
                    if b == decisive { return .value(.bool(decisive)) }
                case .value(let v):
                    if firstError == nil { firstError = EvalError("the predicate of `\(c.macro.rawValue)` must give a bool, not \(v.typeName)") }
                case .error(let e):
                    if firstError == nil { firstError = e }
                case .unknown(let names):
                    unknowns = mergeNames(unknowns ?? [], names)
                }
            case .existsOne, .filter, .map:
                // Strict folds: an error decides; unknowns accumulate.
                switch outcome {
                case .error(let e): return .error(e)
                case .unknown(let names): unknowns = mergeNames(unknowns ?? [], names)
                case .value(let v):
                    if c.macro == .map && c.transform == nil {
                        results.append(v)
                        continue
                    }
                    guard case .bool(let keep) = v else {
                        return .error(EvalError("the predicate of `\(c.macro.rawValue)` must give a bool, not \(v.typeName)"))
                    }
                    guard keep else { continue }
                    switch c.macro {
                    case .existsOne: trueCount += 1
                    case .filter: results.append(element)
                    default:
                        if let transform = c.transform {
                            switch eval(transform) {
                            case .value(let t): results.append(t)
                            case .error(let e): return .error(e)
                            case .unknown(let names): unknowns = mergeNames(unknowns ?? [], names)
                            }
                        }
                    }
                }
            }
        }
        if let unknowns { return .unknown(unknowns) }
        if let firstError { return .error(firstError) }
        switch c.macro {
        case .exists, .all: return .value(.bool(!decisive))
        case .existsOne: return .value(.bool(trueCount == 1))
        case .filter, .map: return .value(.list(results))
        }
    }
}
