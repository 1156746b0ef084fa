// Evaluation of a compiled program: values, errors and unknowns (for partial evaluation).

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
    mutating func strict(_ nodes: [ProgramNode]) -> Strict {
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
    mutating func strict2(_ a: ProgramNode, _ b: ProgramNode) -> Pair {
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
    mutating func eval(_ node: ProgramNode) -> Outcome {
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

    mutating func select(_ operand: ProgramNode, _ field: String) -> Outcome {
        switch eval(operand) {
        case .value(let v): return Evaluator.run { () throws(EvalError) in try Operations.select(v, field) }
        case let other: return other
        }
    }

    mutating func has(_ operand: ProgramNode, _ field: String) -> Outcome {
        switch eval(operand) {
        case .value(let v): return Evaluator.run { () throws(EvalError) in try Operations.has(v, field) }
        case let other: return other
        }
    }

    mutating func index(_ a: ProgramNode, _ b: ProgramNode) -> Outcome {
        switch strict2(a, b) {
        case .values(let x, let y): return Evaluator.run { () throws(EvalError) in try Operations.index(x, y) }
        case .stop(let outcome): return outcome
        }
    }

    mutating func not(_ operand: ProgramNode) -> Outcome {
        switch eval(operand) {
        case .value(.bool(let b)): return .value(.bool(!b))
        case .value(let v): return .error(.noOverload("!", v))
        case let other: return other
        }
    }

    mutating func negate(_ operand: ProgramNode) -> Outcome {
        switch eval(operand) {
        case .value(let v): return Evaluator.run { () throws(EvalError) in try Operations.negate(v) }
        case let other: return other
        }
    }

    mutating func binary(_ op: BinaryOperator, _ a: ProgramNode, _ b: ProgramNode) -> Outcome {
        switch strict2(a, b) {
        case .values(let x, let y): return Evaluator.run { () throws(EvalError) in try Operations.binary(op, x, y) }
        case .stop(let outcome): return outcome
        }
    }

    mutating func conditional(_ c: ProgramNode, _ t: ProgramNode, _ f: ProgramNode) -> Outcome {
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

    mutating func list(_ items: [ProgramNode]) -> Outcome {
        switch strict(items) {
        case .values(let values): return .value(.list(values))
        case .stop(let outcome): return outcome
        }
    }

    mutating func map(_ nodes: [ProgramNode]) -> Outcome {
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

    mutating func call1(_ function: Builtin, _ a: ProgramNode) -> Outcome {
        switch eval(a) {
        case .value(let v): return Evaluator.run { () throws(EvalError) in try Operations.call1(function, v) }
        case let other: return other
        }
    }

    mutating func call2(_ function: Builtin, _ a: ProgramNode, _ b: ProgramNode) -> Outcome {
        switch strict2(a, b) {
        case .values(let x, let y): return Evaluator.run { () throws(EvalError) in try Operations.call2(function, x, y) }
        case .stop(let outcome): return outcome
        }
    }

    mutating func matches(_ a: ProgramNode, _ regex: Regex) -> Outcome {
        switch eval(a) {
        case .value(.string(let s)): return .value(.bool(regex.matches(s)))
        case .value(let v): return .error(.noOverload("matches", v, .string(regex.pattern)))
        case let other: return other
        }
    }

    /// `&&` (decisive false) and `||` (decisive true) over any number of operands, commutative:
    /// a decisive value wins over errors and unknowns; then unknowns over errors.
    mutating func logical(_ operands: [ProgramNode], decisive: Bool, symbol: String) -> Outcome {
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
