import Diagnostics

/// How the checker treats a read of an undeclared variable.
public enum UnknownIdentifierPolicy: Sendable {
    /// An `expr-unknown-identifier` error diagnostic.
    case error
    /// An `expr-unknown-identifier` warning diagnostic.
    case warning
    /// No diagnostic; the reads are only listed in `CheckResult.unknownIdentifiers` (for callers
    /// that report them in their own words).
    case ignore
}

/// What the checker found.
public struct CheckResult: Sendable {
    /// The static type of the whole expression (dyn when it depends on dyn values or on
    /// something that did not check).
    public var type: ExprType
    /// Diagnostics positioned in the expression text, in source order.
    public var diagnostics: [Diagnostic]
    /// Every read of an undeclared variable (whatever the policy), in source order.
    public var unknownIdentifiers: [VariableReference]

    /// True when a diagnostic is an error.
    public var hasErrors: Bool { diagnostics.contains { $0.severity == .error } }
}

/// The static checker: declared variables, known functions, CEL's typing rules.
public enum ExprChecker {
    /// Checks `expression` against the declared variables.
    public static func check(
        _ expression: Expression, declarations: [String: ExprType], unknownIdentifiers policy: UnknownIdentifierPolicy = .error
    ) -> CheckResult {
        let checker = Checker(declarations: declarations, policy: policy)
        let type = checker.type(of: expression.root)
        let sorted = checker.diagnostics.sorted { ($0.range?.start.offset ?? 0) < ($1.range?.start.offset ?? 0) }
        return CheckResult(type: type, diagnostics: sorted, unknownIdentifiers: checker.unknown)
    }
}

final class Checker {
    let declarations: [String: ExprType]
    let policy: UnknownIdentifierPolicy
    var scopes: [(name: String, type: ExprType)] = []
    var diagnostics: [Diagnostic] = []
    var unknown: [VariableReference] = []

    init(declarations: [String: ExprType], policy: UnknownIdentifierPolicy) {
        self.declarations = declarations
        self.policy = policy
    }

    func report(_ rule: String, _ message: String, _ range: SourceRange, help: String? = nil) {
        diagnostics.append(.error(rule, message, range: range, help: help))
    }

    func typeError(_ message: String, _ range: SourceRange, help: String? = nil) -> ExprType {
        report(ExprRule.type, message, range, help: help)
        return .dyn
    }

    static func operatorRange(_ node: ExprNode, width: Int = 1) -> SourceRange {
        var end = node.range.start
        end.column += width
        end.offset += width
        return SourceRange(start: node.range.start, end: end)
    }

    /// The type of a node. Each kind has its own function so that the recursion's stack frames
    /// stay small (expressions nest up to `ExprLimits.maxDepth`).
    func type(of node: ExprNode) -> ExprType {
        // Payloads are unpacked in the callee: the dispatcher's frame stays small.
        switch node.kind {
        case .literal(let value): return ExprType(of: value)
        case .identifier: return identifierType(node)
        case .select: return selectType(node)
        case .index: return indexType(node)
        case .unary: return unaryType(node)
        case .binary: return binaryType(node)
        case .logical: return logicalType(node)
        case .conditional: return conditionalType(node)
        case .list: return listType(node)
        case .map: return mapType(node)
        case .has: return hasType(node)
        case .call: return callType(node)
        case .comprehension: return comprehensionType(node)
        }
    }

    @inline(never)
    func identifierType(_ node: ExprNode) -> ExprType {
        guard case .identifier(let name) = node.kind else { return .dyn }
        let range = node.range
        if let local = scopes.last(where: { $0.name == name }) { return local.type }
        if let declared = declarations[name] { return declared }
        unknown.append(VariableReference(name: name, range: range))
        if policy != .ignore {
            let candidates = declarations.keys.sorted() + scopes.map(\.name)
            let suggestion = Suggestions.closest(to: name, in: candidates)
            let diagnostic = Diagnostic(
                severity: policy == .error ? .error : .warning, rule: ExprRule.unknownIdentifier,
                message: "unknown variable `\(name)`", range: range,
                help: suggestion.map { "did you mean `\($0)`?" })
            diagnostics.append(diagnostic)
        }
        return .dyn
    }

    @inline(never)
    func selectType(_ node: ExprNode) -> ExprType {
        guard case .select(let operand, let field, let fieldRange) = node.kind else { return .dyn }
        let operandType = type(of: operand)
        switch operandType {
        case .dyn: return .dyn
        case .map(let key, let value):
            if key == .string || key == .dyn { return value }
            return typeError("`.\(field)` selects a string key, but the map's keys are \(key)", fieldRange,
                             help: "index the map instead: `m[key]`")
        default:
            return typeError("`.\(field)` selects a field of a map, but the value is of type \(operandType)", fieldRange)
        }
    }

    @inline(never)
    func indexType(_ node: ExprNode) -> ExprType {
        guard case .index(let operand, let index) = node.kind else { return .dyn }
        let operandType = type(of: operand)
        let indexType = type(of: index)
        switch operandType {
        case .dyn: return .dyn
        case .list(let element):
            if indexType == .int || indexType == .dyn { return element }
            return typeError("a list index must be an int, not \(indexType)", index.range)
        case .map(let key, let value):
            if ExprType.compatible(key, indexType) { return value }
            return typeError("the map's keys are \(key), not \(indexType)", index.range)
        default:
            return typeError("values of type \(operandType) cannot be indexed; only lists and maps can", operand.range)
        }
    }

    @inline(never)
    func unaryType(_ node: ExprNode) -> ExprType {
        guard case .unary(let op, let operand) = node.kind else { return .dyn }
        let operandType = type(of: operand)
        switch op {
        case .not:
            if operandType == .bool || operandType == .dyn { return .bool }
            return typeError("`!` needs a bool, not \(operandType)", Checker.operatorRange(node))
        case .negate:
            if operandType == .int || operandType == .double || operandType == .dyn { return operandType }
            return typeError("`-` cannot negate a value of type \(operandType)", Checker.operatorRange(node),
                             help: operandType == .uint ? "uints have no negative values; convert with int(...) first" : nil)
        }
    }

    @inline(never)
    func binaryType(_ node: ExprNode) -> ExprType {
        guard case .binary(let op, let lhs, let rhs, let range) = node.kind else { return .dyn }
        let l = type(of: lhs)
        let r = type(of: rhs)
        return binaryResult(op, l, r, range)
    }

    @inline(never)
    func logicalType(_ node: ExprNode) -> ExprType {
        guard case .logical(let op, let operands) = node.kind else { return .dyn }
        for operand in operands {
            let operandType = type(of: operand)
            if operandType != .bool && operandType != .dyn {
                report(ExprRule.type, "`\(op.rawValue)` needs bool operands, not \(operandType)", operand.range,
                       help: operandType == .int || operandType == .uint ? "compare explicitly, e.g. `x > 0`" : nil)
            }
        }
        return .bool
    }

    @inline(never)
    func conditionalType(_ node: ExprNode) -> ExprType {
        guard case .conditional(let condition, let whenTrue, let whenFalse) = node.kind else { return .dyn }
        let range = node.range
        let c = type(of: condition)
        if c != .bool && c != .dyn {
            report(ExprRule.type, "the condition of `?:` must be a bool, not \(c)", condition.range)
        }
        let t = type(of: whenTrue)
        let f = type(of: whenFalse)
        if ExprType.compatible(t, f) { return ExprType.join(t, f) }
        return typeError("the branches of `?:` have different types: \(t) and \(f)", range,
                         help: "wrap one branch in dyn(...) if mixing types is intended")
    }

    @inline(never)
    func listType(_ node: ExprNode) -> ExprType {
        guard case .list(let items) = node.kind else { return .dyn }
        var types: [ExprType] = []
        for item in items { types.append(type(of: item)) }
        return .list(ExprType.common(types))
    }

    @inline(never)
    func mapType(_ node: ExprNode) -> ExprType {
        guard case .map(let entries) = node.kind else { return .dyn }
        var keys: [ExprType] = []
        var values: [ExprType] = []
        for entry in entries {
            let keyType = type(of: entry.key)
            switch keyType {
            case .int, .uint, .bool, .string, .dyn: break
            default: report(ExprRule.type, "map keys must be int, uint, bool or string, not \(keyType)", entry.key.range)
            }
            keys.append(keyType)
            values.append(type(of: entry.value))
        }
        return .map(ExprType.common(keys), ExprType.common(values))
    }

    @inline(never)
    func hasType(_ node: ExprNode) -> ExprType {
        guard case .has(let operand, let field) = node.kind else { return .dyn }
        let operandType = type(of: operand)
        switch operandType {
        case .map, .dyn: return .bool
        default:
            return typeError("has() tests a key of a map, but the value before `.\(field)` is of type \(operandType)", operand.range)
        }
    }

    func binaryResult(_ op: BinaryOperator, _ l: ExprType, _ r: ExprType, _ range: SourceRange) -> ExprType {
        let symbol = op.rawValue
        func mismatch() -> ExprType {
            var help: String?
            if l.isNumeric && r.isNumeric {
                help = "int, uint and double do not mix in arithmetic; convert one side, e.g. double(x)"
            }
            if op == .equal || op == .notEqual, l.isNumeric && r.isNumeric {
                help = "convert one side so both have the same type, e.g. double(x) \(symbol) y"
            }
            return typeError("`\(symbol)` cannot be applied to \(l) and \(r)", range, help: help)
        }
        switch op {
        case .add, .subtract, .multiply, .divide, .remainder:
            func allowed(_ t: ExprType) -> Bool {
                switch op {
                case .add:
                    switch t {
                    case .int, .uint, .double, .string, .bytes, .list: return true
                    default: return false
                    }
                case .remainder: return t == .int || t == .uint
                default: return t.isNumeric
                }
            }
            if l == .dyn && r == .dyn { return .dyn }
            if l == .dyn { return allowed(r) ? r : mismatch() }
            if r == .dyn { return allowed(l) ? l : mismatch() }
            if case .list(let x) = l, case .list(let y) = r, op == .add { return .list(ExprType.join(x, y)) }
            if l == r && allowed(l) { return l }
            return mismatch()
        case .equal, .notEqual:
            return ExprType.compatible(l, r) ? .bool : mismatch()
        case .less, .lessEqual, .greater, .greaterEqual:
            func orderable(_ t: ExprType) -> Bool {
                switch t {
                case .int, .uint, .double, .string, .bytes, .bool, .dyn: return true
                default: return false
                }
            }
            if l == .dyn || r == .dyn { return orderable(l) && orderable(r) ? .bool : mismatch() }
            if l.isNumeric && r.isNumeric { return .bool }
            if l == r && orderable(l) { return .bool }
            return mismatch()
        case .isIn:
            switch r {
            case .dyn: return .bool
            case .list(let element):
                if ExprType.compatible(l, element) { return .bool }
                return typeError("`in` looks for a \(l) in a list of \(element)", range)
            case .map(let key, _):
                if ExprType.compatible(l, key) { return .bool }
                return typeError("`in` looks for a \(l) key in a map with \(key) keys", range)
            default:
                return typeError("`in` needs a list or a map on its right, not \(r)", range)
            }
        }
    }

    @inline(never)
    func callType(_ node: ExprNode) -> ExprType {
        guard case .call(let call) = node.kind else { return .dyn }
        var operands: [ExprNode] = []
        if let target = call.target { operands.append(target) }
        operands += call.arguments
        var types: [ExprType] = []
        for operand in operands { types.append(type(of: operand)) }
        let isMethod = call.target != nil
        guard let builtin = Builtin.resolve(call.function, isMethod: isMethod, argumentCount: operands.count) else {
            if let known = Builtin(rawValue: call.function) {
                return typeError("`\(call.function)` is called as \(known.usage)", call.nameRange)
            }
            var help: String?
            let aliases = ["len": "size", "length": "size", "count": "size", "startswith": "startsWith", "endswith": "endsWith",
                           "includes": "contains", "match": "matches", "str": "string", "float": "double"]
            if let alias = aliases[call.function] ?? Suggestions.closest(to: call.function, in: Builtin.names) {
                help = "did you mean `\(alias)`?"
            } else {
                help = "the functions are: " + Builtin.names.joined(separator: ", ") + ", and the macros exists, all, exists_one, map, filter"
            }
            report(ExprRule.unknownFunction, "unknown function `\(call.function)`", call.nameRange, help: help)
            return .dyn
        }
        switch builtin {
        case .size:
            switch types[0] {
            case .string, .bytes, .list, .map, .dyn: return .int
            default: return typeError("size() takes a string, bytes, list or map, not \(types[0])", operands[0].range)
            }
        case .startsWith, .endsWith, .contains, .matches:
            for (position, t) in types.enumerated() where t != .string && t != .dyn {
                let role = position == 0 ? (isMethod ? "called on" : "applied to") : "given"
                return typeError("`\(call.function)` must be \(role) a string, not \(t)", operands[position].range,
                                 help: t.isNumeric || t == .bool ? "convert with string(...)" : nil)
            }
            if builtin == .matches, case .literal(.string(let pattern)) = operands[1].kind {
                do {
                    _ = try Regex(pattern)
                } catch {
                    report(ExprRule.regex, "invalid regular expression: \(error.message)", operands[1].range)
                }
            }
            return .bool
        case .toDyn:
            return .dyn
        default:
            let t = types[0]
            let accepted: [ExprType]
            let result: ExprType
            switch builtin {
            case .toInt: accepted = [.int, .uint, .double, .string]; result = .int
            case .toUInt: accepted = [.int, .uint, .double, .string]; result = .uint
            case .toDouble: accepted = [.int, .uint, .double, .string]; result = .double
            case .toString: accepted = [.int, .uint, .double, .string, .bytes, .bool]; result = .string
            case .toBool: accepted = [.bool, .string]; result = .bool
            default: accepted = [.bytes, .string]; result = .bytes
            }
            if t == .dyn || accepted.contains(t) { return result }
            return typeError("\(call.function)() cannot convert a value of type \(t)", operands[0].range)
        }
    }

    @inline(never)
    func comprehensionType(_ node: ExprNode) -> ExprType {
        guard case .comprehension(let c) = node.kind else { return .dyn }
        let rangeType = type(of: c.range)
        let variableType: ExprType
        switch rangeType {
        case .list(let element): variableType = element
        case .map(let key, _): variableType = key
        case .dyn: variableType = .dyn
        default:
            report(ExprRule.type, "`\(c.macro.rawValue)` iterates over a list or a map, not \(rangeType)", c.range.range)
            variableType = .dyn
        }
        scopes.append((c.variable, variableType))
        defer { scopes.removeLast() }
        var bodyTypes: [ExprType] = []
        for body in c.body { bodyTypes.append(type(of: body)) }
        func requireBool(_ position: Int) {
            let t = bodyTypes[position]
            if t != .bool && t != .dyn {
                report(ExprRule.type, "the predicate of `\(c.macro.rawValue)` must be a bool, not \(t)", c.body[position].range)
            }
        }
        switch c.macro {
        case .exists, .all, .existsOne:
            requireBool(0)
            return .bool
        case .filter:
            requireBool(0)
            return .list(variableType)
        case .map:
            if c.body.count == 2 {
                requireBool(0)
                return .list(bodyTypes[1])
            }
            return .list(bodyTypes[0])
        }
    }
}
