// The compiled form of a checked expression: slots for variables, constants folded.

// MARK: - Compiled form

indirect enum ProgramNode: Sendable {
    case constant(Value)
    case slot(Int)
    case select(ProgramNode, String)
    case has(ProgramNode, String)
    case index(ProgramNode, ProgramNode)
    case not(ProgramNode)
    case negate(ProgramNode)
    case binary(BinaryOperator, ProgramNode, ProgramNode)
    case and([ProgramNode])
    case or([ProgramNode])
    case conditional(ProgramNode, ProgramNode, ProgramNode)
    case list([ProgramNode])
    /// Keys and values alternating.
    case map([ProgramNode])
    case call1(Builtin, ProgramNode)
    case call2(Builtin, ProgramNode, ProgramNode)
    /// `text.matches(pattern)` with the pattern compiled ahead.
    case matches(ProgramNode, Regex)
    case comprehension(CompiledComprehension)
    /// A call that cannot succeed (unknown function, invalid literal pattern).
    case failure(String)
}

struct CompiledComprehension: Sendable {
    var macro: MacroKind
    var range: ProgramNode
    var slot: Int
    /// The predicate (exists, all, exists_one, filter, 3-argument map) or the transform.
    var body: ProgramNode
    /// The transform of a 3-argument map.
    var transform: ProgramNode?
}

final class ProgramCompiler {
    var slotNames: [String] = []
    var variableSlots: [Int] = []
    var variableSlotByName: [String: Int] = [:]
    var scopes: [(name: String, slot: Int)] = []

    func compile(_ node: ExprNode) -> ProgramNode {
        fold(build(node))
    }

    /// Each kind is built by its own small function (the recursion's frames stay small).
    func build(_ node: ExprNode) -> ProgramNode {
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

    func buildIdentifier(_ node: ExprNode) -> ProgramNode {
        guard case .identifier(let name) = node.kind else { return .failure("internal") }
        if let local = scopes.last(where: { $0.name == name }) { return .slot(local.slot) }
        if let slot = variableSlotByName[name] { return .slot(slot) }
        let slot = slotNames.count
        slotNames.append(name)
        variableSlots.append(slot)
        variableSlotByName[name] = slot
        return .slot(slot)
    }

    func buildOneOperand(_ node: ExprNode) -> ProgramNode {
        switch node.kind {
        case .select(let operand, let field, _): return .select(compile(operand), field)
        case .has(let operand, let field): return .has(compile(operand), field)
        case .unary(let op, let operand):
            let inner = compile(operand)
            return op == .not ? .not(inner) : .negate(inner)
        default: return .failure("internal")
        }
    }

    func buildTwoOperands(_ node: ExprNode) -> ProgramNode {
        switch node.kind {
        case .index(let operand, let index): return .index(compile(operand), compile(index))
        case .binary(let op, let lhs, let rhs, _): return .binary(op, compile(lhs), compile(rhs))
        default: return .failure("internal")
        }
    }

    func buildOperandList(_ node: ExprNode) -> ProgramNode {
        switch node.kind {
        case .logical(let op, let operands):
            var compiled: [ProgramNode] = []
            for operand in operands { compiled.append(compile(operand)) }
            return op == .and ? .and(compiled) : .or(compiled)
        case .list(let items):
            var compiled: [ProgramNode] = []
            for item in items { compiled.append(compile(item)) }
            return .list(compiled)
        default: return .failure("internal")
        }
    }

    func buildConditional(_ node: ExprNode) -> ProgramNode {
        guard case .conditional(let c, let t, let f) = node.kind else { return .failure("internal") }
        return .conditional(compile(c), compile(t), compile(f))
    }

    func buildMap(_ node: ExprNode) -> ProgramNode {
        guard case .map(let entries) = node.kind else { return .failure("internal") }
        var nodes: [ProgramNode] = []
        for entry in entries {
            nodes.append(compile(entry.key))
            nodes.append(compile(entry.value))
        }
        return .map(nodes)
    }

    func buildCall(_ node: ExprNode) -> ProgramNode {
        guard case .call(let call) = node.kind else { return .failure("internal") }
        do {
            var operands: [ProgramNode] = []
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

    func buildComprehension(_ node: ExprNode) -> ProgramNode {
        guard case .comprehension(let c) = node.kind else { return .failure("internal") }
        do {
            let range = compile(c.range)
            let slot = slotNames.count
            slotNames.append(c.variable)
            scopes.append((c.variable, slot))
            defer { scopes.removeLast() }
            guard let first = c.body.first else { return .failure("`\(c.macro.rawValue)` without a body") }
            let body = compile(first)
            let transform = c.body.count > 1 ? compile(c.body[1]) : nil
            return .comprehension(CompiledComprehension(macro: c.macro, range: range, slot: slot, body: body, transform: transform))
        }
    }

    /// Replaces a node whose operands are all constants by its value (when it has one).
    func fold(_ node: ProgramNode) -> ProgramNode {
        let operands: [ProgramNode]
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
