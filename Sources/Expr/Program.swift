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
    let root: ProgramNode
    /// A name per slot: variables and macro variables.
    let slotNames: [String]
    /// The slots of the free variables.
    let variableSlots: [Int]
    /// Every slot unbound: copied to start each evaluation.
    let emptySlots: [Slot]

    public init(_ expression: Expression, limits: ExprLimits = .standard) {
        self.expression = expression
        self.limits = limits
        let compiler = ProgramCompiler()
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
