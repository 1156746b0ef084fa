import Diagnostics
import Expr

// The compiler layer's use of the expression language (Sources/Expr): check an expression
// against the declared variables, and evaluate a compiled condition fully (runner) or partially
// (planner). Everything that touches the Expr API is here.

/// A finding about an expression, positioned by UTF-8 byte offsets inside the expression text.
struct ExpressionProblem: Sendable {
    var severity: Severity
    var rule: String
    var message: String
    var help: String?
    var start: Int
    var end: Int
}

/// An identifier the expression reads that is not declared (its first read).
struct UndeclaredIdentifier: Sendable {
    var name: String
    var start: Int
    var end: Int
}

struct ExpressionCheck: Sendable {
    var problems: [ExpressionProblem]
    var undeclared: [UndeclaredIdentifier]
    /// Free variables in order of first appearance.
    var variables: [String]
    /// The compiled program; nil when the text does not parse.
    var program: Program?
}

/// How a condition turned out.
public enum PrehookOutcome: Sendable, Hashable {
    /// A definite value.
    case value(Bool)
    /// Depends on these variables' run-time values (in order of first appearance).
    case unknown([String])
    /// Evaluation failed (a type error at run time, a variable with no value, no parse).
    case error(String)
}

extension VariableType {
    var exprType: ExprType {
        switch self {
        case .int: return .int
        case .bool: return .bool
        case .string: return .string
        case .list: return .list(.dyn)
        case .dyn: return .dyn
        }
    }
}

/// The variables an expression may read, typed for the checker.
struct Declarations: Sendable {
    var types: [String: ExprType] = [:]

    static let builtins: Declarations = {
        var declared = Declarations()
        for variable in PrehookVariables.builtins { declared.types[variable.name] = variable.type.exprType }
        return declared
    }()

    func contains(_ name: String) -> Bool { types[name] != nil }

    /// Declares `name` unless it is declared already (`overriding`: always).
    mutating func declare(_ name: String, _ type: VariableType, overriding: Bool = false) {
        if overriding || types[name] == nil { types[name] = type.exprType }
    }

    var names: [String] { types.keys.sorted() }
}

enum ExpressionEngine {
    /// Parses and type-checks `text` against `declared`; a condition must be a bool.
    static func check(_ text: String, declared: Declarations) -> ExpressionCheck {
        let expression: Expression
        switch ExprParser.parseResult(text) {
        case .failure(let error):
            return ExpressionCheck(problems: [problem(error.diagnostic)], undeclared: [], variables: [], program: nil)
        case .success(let parsed):
            expression = parsed
        }
        let result = ExprChecker.check(expression, declarations: declared.types, unknownIdentifiers: .ignore)
        var problems = result.diagnostics.map(problem)
        if !result.hasErrors, result.type != .bool, result.type != .dyn {
            problems.append(
                ExpressionProblem(
                    severity: .error, rule: ExprRule.type, message: "a condition must be a bool, this is \(result.type)",
                    help: "compare it, e.g. `... > 0` or `... == \"value\"`", start: expression.root.range.start.offset,
                    end: expression.root.range.end.offset))
        }
        var undeclared: [UndeclaredIdentifier] = []
        for reference in result.unknownIdentifiers where !undeclared.contains(where: { $0.name == reference.name }) {
            undeclared.append(UndeclaredIdentifier(name: reference.name, start: reference.range.start.offset, end: reference.range.end.offset))
        }
        var variables: [String] = []
        for reference in expression.freeVariables where !variables.contains(reference.name) { variables.append(reference.name) }
        return ExpressionCheck(problems: problems, undeclared: undeclared, variables: variables, program: expression.compile())
    }

    private static func problem(_ diagnostic: Diagnostic) -> ExpressionProblem {
        ExpressionProblem(
            severity: diagnostic.severity, rule: diagnostic.rule, message: diagnostic.message, help: diagnostic.help,
            start: diagnostic.range?.start.offset ?? 0, end: diagnostic.range?.end.offset ?? 0)
    }
}

extension CompiledExpression {
    /// Evaluates with every variable the caller has in `bindings` (the runner). A variable the
    /// expression reads that has no binding is an error unless `&&`/`||` make it irrelevant.
    public func evaluate(_ bindings: [String: Value]) -> PrehookOutcome {
        guard let program else { return .error("the expression does not parse") }
        switch program.evaluate(bindings) {
        case .value(let value): return ExpressionEngine.condition(value)
        case .error(let message): return .error(message)
        }
    }

    /// Evaluates with `known` values; every other variable it reads is unknown (the planner).
    public func partiallyEvaluate(_ known: [String: Value]) -> PrehookOutcome {
        guard let program else { return .error("the expression does not parse") }
        let unknown = Set(variables.filter { known[$0] == nil })
        switch program.partialEvaluate(known, unknown: unknown) {
        case .value(let value): return ExpressionEngine.condition(value)
        case .error(let message): return .error(message)
        case .unknown(let names):
            // In the order the expression reads them.
            let set = Set(names)
            return .unknown(variables.filter { set.contains($0) } + names.filter { !variables.contains($0) })
        }
    }
}

extension ExpressionEngine {
    static func condition(_ value: Value) -> PrehookOutcome {
        if let flag = value.boolValue { return .value(flag) }
        return .error("the condition is \(value.typeName) \(value), not a bool")
    }
}
