import Diagnostics

/// A syntax error or an exceeded limit, as a diagnostic positioned in the expression text
/// (rule `expr-syntax` or `expr-limit`).
public struct ExprSyntaxError: Error, Sendable, CustomStringConvertible {
    public var diagnostic: Diagnostic

    public init(diagnostic: Diagnostic) { self.diagnostic = diagnostic }

    public var description: String { diagnostic.description }
}

/// Rule ids of the expression layer's diagnostics.
public enum ExprRule {
    public static let syntax = "expr-syntax"
    public static let limit = "expr-limit"
    public static let unknownIdentifier = "expr-unknown-identifier"
    public static let unknownFunction = "expr-unknown-function"
    public static let type = "expr-type"
    public static let regex = "expr-regex"

    public static let all: [RuleDescription] = [
        RuleDescription(id: syntax, summary: "an expression must follow the grammar of grammar/expr.md", defaultSeverity: .error),
        RuleDescription(id: limit, summary: "an expression must stay within the length and nesting limits", defaultSeverity: .error),
        RuleDescription(id: unknownIdentifier, summary: "an expression may only read declared variables", defaultSeverity: .error),
        RuleDescription(id: unknownFunction, summary: "an expression may only call the functions of the language", defaultSeverity: .error),
        RuleDescription(id: type, summary: "operators and functions must be applied to values of the right types", defaultSeverity: .error),
        RuleDescription(id: regex, summary: "a `matches` pattern must be a valid regular expression", defaultSeverity: .error),
    ]
}

/// Parses expression text into a syntax tree (grammar/expr.md).
public enum ExprParser {
    /// Parses `text`; the first syntax error or exceeded limit is thrown.
    public static func parse(_ text: String, limits: ExprLimits = .standard) throws(ExprSyntaxError) -> Expression {
        let bytes = Array(text.utf8)
        let lines = LineMap(bytes: bytes)
        if bytes.count > limits.maxLength {
            throw ExprSyntaxError(diagnostic: .error(
                ExprRule.limit, "the expression is \(bytes.count) bytes long; the limit is \(limits.maxLength)",
                range: lines.range(0, bytes.count), help: "split the condition, or compute part of it in a step"))
        }
        let tokens: [LexedToken]
        do {
            tokens = try Lexer.tokenize(bytes)
        } catch {
            throw ExprSyntaxError(diagnostic: .error(ExprRule.syntax, error.message, range: lines.range(error.start, error.end), help: error.help))
        }
        var parser = Parser(tokens: tokens, lines: lines, limits: limits)
        let root = try parser.parseWhole()
        return Expression(text: text, root: root)
    }

    /// `parse` as a `Result`.
    public static func parseResult(_ text: String, limits: ExprLimits = .standard) -> Result<Expression, ExprSyntaxError> {
        do {
            return .success(try parse(text, limits: limits))
        } catch {
            return .failure(error)
        }
    }

    /// Words CEL reserves; they cannot name variables.
    static let reserved: Set<String> = [
        "as", "break", "const", "continue", "else", "for", "function", "if", "import", "let", "loop",
        "package", "namespace", "return", "var", "void", "while",
    ]
}

struct Parser {
    let tokens: [LexedToken]
    let lines: LineMap
    let limits: ExprLimits
    var position = 0
    var depth = 0

    init(tokens: [LexedToken], lines: LineMap, limits: ExprLimits) {
        self.tokens = tokens
        self.lines = lines
        self.limits = limits
    }

    var current: LexedToken { tokens[min(position, tokens.count - 1)] }

    func peekToken(_ ahead: Int) -> Token {
        tokens[min(position + ahead, tokens.count - 1)].token
    }

    mutating func advance() -> LexedToken {
        let token = current
        if position < tokens.count - 1 { position += 1 }
        return token
    }

    func isPunct(_ p: Punct) -> Bool { current.token == .punct(p) }

    func error(_ message: String, at token: LexedToken, help: String? = nil) -> ExprSyntaxError {
        ExprSyntaxError(diagnostic: .error(ExprRule.syntax, message, range: lines.range(token.start, token.end), help: help))
    }

    func range(_ start: Int, _ end: Int) -> SourceRange { lines.range(start, end) }

    /// Builds a node, enforcing the depth limit.
    func node(_ kind: ExprNode.Kind, _ start: Int, _ end: Int, children: [ExprNode]) throws(ExprSyntaxError) -> ExprNode {
        var height = 1
        for child in children where child.height + 1 > height { height = child.height + 1 }
        if height > limits.maxDepth { throw depthError(start, end) }
        return ExprNode(kind, range: range(start, end), height: height)
    }

    func depthError(_ start: Int, _ end: Int) -> ExprSyntaxError {
        ExprSyntaxError(diagnostic: .error(
            ExprRule.limit, "the expression nests deeper than \(limits.maxDepth) levels",
            range: range(start, end), help: "simplify the expression or split it"))
    }

    mutating func parseWhole() throws(ExprSyntaxError) -> ExprNode {
        if current.token == .end {
            throw error("empty expression", at: current, help: "write a condition such as `cycle > 1`")
        }
        let root = try parseExpression()
        if current.token != .end {
            let token = current
            if token.token == .punct(.rightParen) || token.token == .punct(.rightBracket) || token.token == .punct(.rightBrace) {
                throw error("unexpected \(token.token.display): nothing to close", at: token, help: "remove it or add the opening bracket")
            }
            throw error("unexpected \(token.token.display) after a complete expression", at: token,
                        help: "join conditions with an operator such as `&&` or `||`")
        }
        return root
    }

    /// Expr = ConditionalOr ["?" ConditionalOr ":" Expr]
    mutating func parseExpression() throws(ExprSyntaxError) -> ExprNode {
        depth += 1
        defer { depth -= 1 }
        if depth > limits.maxDepth { throw depthError(current.start, current.end) }
        let condition = try parseOr()
        guard isPunct(.question) else { return condition }
        _ = advance()
        let whenTrue = try parseOr()
        guard isPunct(.colon) else {
            throw error("expected `:` in the conditional `?:`, found \(current.token.display)", at: current)
        }
        _ = advance()
        let whenFalse = try parseExpression()
        return try node(.conditional(condition, whenTrue, whenFalse), condition.range.start.offset, whenFalse.range.end.offset,
                        children: [condition, whenTrue, whenFalse])
    }

    mutating func parseOr() throws(ExprSyntaxError) -> ExprNode {
        var operands = [try parseAnd()]
        while isPunct(.or) {
            _ = advance()
            operands.append(try parseAnd())
        }
        guard operands.count > 1, let first = operands.first, let last = operands.last else { return operands[0] }
        return try node(.logical(.or, operands), first.range.start.offset, last.range.end.offset, children: operands)
    }

    mutating func parseAnd() throws(ExprSyntaxError) -> ExprNode {
        var operands = [try parseRelation()]
        while isPunct(.and) {
            _ = advance()
            operands.append(try parseRelation())
        }
        guard operands.count > 1, let first = operands.first, let last = operands.last else { return operands[0] }
        return try node(.logical(.and, operands), first.range.start.offset, last.range.end.offset, children: operands)
    }

    static func relation(_ token: Token) -> BinaryOperator? {
        switch token {
        case .punct(.equal): return .equal
        case .punct(.notEqual): return .notEqual
        case .punct(.less): return .less
        case .punct(.lessEqual): return .lessEqual
        case .punct(.greater): return .greater
        case .punct(.greaterEqual): return .greaterEqual
        case .punct(.inKeyword): return .isIn
        default: return nil
        }
    }

    mutating func parseRelation() throws(ExprSyntaxError) -> ExprNode {
        var lhs = try parseAddition()
        while let op = Parser.relation(current.token) {
            let opToken = advance()
            let rhs = try parseAddition()
            lhs = try node(.binary(op, lhs, rhs, operatorRange: range(opToken.start, opToken.end)),
                           lhs.range.start.offset, rhs.range.end.offset, children: [lhs, rhs])
        }
        return lhs
    }

    mutating func parseAddition() throws(ExprSyntaxError) -> ExprNode {
        var lhs = try parseMultiplication()
        while isPunct(.plus) || isPunct(.minus) {
            let opToken = advance()
            let op: BinaryOperator = opToken.token == .punct(.plus) ? .add : .subtract
            let rhs = try parseMultiplication()
            lhs = try node(.binary(op, lhs, rhs, operatorRange: range(opToken.start, opToken.end)),
                           lhs.range.start.offset, rhs.range.end.offset, children: [lhs, rhs])
        }
        return lhs
    }

    mutating func parseMultiplication() throws(ExprSyntaxError) -> ExprNode {
        var lhs = try parseUnary()
        while isPunct(.star) || isPunct(.slash) || isPunct(.percent) {
            let opToken = advance()
            let op: BinaryOperator
            switch opToken.token {
            case .punct(.star): op = .multiply
            case .punct(.slash): op = .divide
            default: op = .remainder
            }
            let rhs = try parseUnary()
            lhs = try node(.binary(op, lhs, rhs, operatorRange: range(opToken.start, opToken.end)),
                           lhs.range.start.offset, rhs.range.end.offset, children: [lhs, rhs])
        }
        return lhs
    }

    /// A minus directly before a number literal makes a negative literal, not an operator.
    func minusStartsLiteral() -> Bool {
        guard isPunct(.minus) else { return false }
        switch peekToken(1) {
        case .intLiteral, .doubleLiteral: return true
        default: return false
        }
    }

    mutating func parseUnary() throws(ExprSyntaxError) -> ExprNode {
        var operators: [(UnaryOperator, Int)] = []
        while isPunct(.bang) || (isPunct(.minus) && !minusStartsLiteral()) {
            let token = advance()
            operators.append((token.token == .punct(.bang) ? .not : .negate, token.start))
            if operators.count > limits.maxDepth { throw depthError(token.start, token.end) }
        }
        var operand = try parseMember()
        for (op, start) in operators.reversed() {
            operand = try node(.unary(op, operand), start, operand.range.end.offset, children: [operand])
        }
        return operand
    }

    mutating func parseMember() throws(ExprSyntaxError) -> ExprNode {
        var operand = try parsePrimary()
        while true {
            if isPunct(.dot) {
                _ = advance()
                let nameToken = advance()
                guard case .identifier(let name) = nameToken.token else {
                    throw error("expected a field or method name after `.`, found \(nameToken.token.display)", at: nameToken)
                }
                if isPunct(.leftParen) {
                    let open = advance()
                    let arguments = try parseArguments(open: open)
                    let end = tokens[position - 1].end
                    operand = try memberCall(target: operand, name: name, nameToken: nameToken, arguments: arguments, end: end)
                } else {
                    operand = try node(.select(operand: operand, field: name, fieldRange: range(nameToken.start, nameToken.end)),
                                       operand.range.start.offset, nameToken.end, children: [operand])
                }
            } else if isPunct(.leftBracket) {
                let open = advance()
                let index = try parseExpression()
                guard isPunct(.rightBracket) else {
                    throw error("expected `]` to close the `[` at column \(lines.location(open.start).column), found \(current.token.display)", at: current)
                }
                let close = advance()
                operand = try node(.index(operand: operand, index: index), operand.range.start.offset, close.end, children: [operand, index])
            } else if isPunct(.leftBrace), case .identifier(let name) = operand.kind {
                throw error("message construction `\(name){...}` is not supported", at: current,
                            help: "guards work with maps: write a map literal `{key: value}`")
            } else {
                return operand
            }
        }
    }

    /// `(` already consumed; parses `[Expr {"," Expr}] ")"`.
    mutating func parseArguments(open: LexedToken) throws(ExprSyntaxError) -> [ExprNode] {
        var arguments: [ExprNode] = []
        if isPunct(.rightParen) {
            _ = advance()
            return arguments
        }
        while true {
            arguments.append(try parseExpression())
            if isPunct(.comma) {
                _ = advance()
                continue
            }
            if isPunct(.rightParen) {
                _ = advance()
                return arguments
            }
            throw error("expected `,` or `)` to close the `(` at column \(lines.location(open.start).column), found \(current.token.display)", at: current)
        }
    }

    mutating func memberCall(target: ExprNode, name: String, nameToken: LexedToken, arguments: [ExprNode], end: Int) throws(ExprSyntaxError) -> ExprNode {
        let start = target.range.start.offset
        if let macro = MacroKind(rawValue: name) {
            let expected = macro == .map ? "2 or 3" : "2"
            let countOK = macro == .map ? (arguments.count == 2 || arguments.count == 3) : arguments.count == 2
            guard countOK else {
                throw error("`\(name)` takes \(expected) arguments: a variable name and \(macro == .map ? "an expression" : "a predicate"), got \(arguments.count)",
                            at: nameToken, help: "for example `items.\(name)(x, \(macro == .map ? "x * 2" : "x > 0"))`")
            }
            guard case .identifier(let variable) = arguments[0].kind else {
                throw ExprSyntaxError(diagnostic: .error(
                    ExprRule.syntax, "the first argument of `\(name)` must be a variable name", range: arguments[0].range,
                    help: "for example `items.\(name)(x, ...)`"))
            }
            let comprehension = ExprNode.Comprehension(
                macro: macro, range: target, variable: variable, variableRange: arguments[0].range, body: Array(arguments.dropFirst()))
            return try node(.comprehension(comprehension), start, end, children: [target] + arguments)
        }
        let call = ExprNode.Call(function: name, target: target, arguments: arguments, nameRange: range(nameToken.start, nameToken.end))
        return try node(.call(call), start, end, children: [target] + arguments)
    }

    mutating func parsePrimary() throws(ExprSyntaxError) -> ExprNode {
        let token = current
        switch token.token {
        case .intLiteral(let magnitude):
            _ = advance()
            guard magnitude <= UInt64(Int64.max) else {
                throw error("integer literal \(magnitude) is out of range for int", at: token, help: "add the suffix `u` for a uint, or `.0` for a double")
            }
            return try node(.literal(.int(Int64(magnitude))), token.start, token.end, children: [])
        case .uintLiteral(let value):
            _ = advance()
            return try node(.literal(.uint(value)), token.start, token.end, children: [])
        case .doubleLiteral(let value):
            _ = advance()
            return try node(.literal(.double(value)), token.start, token.end, children: [])
        case .stringLiteral(let value):
            _ = advance()
            return try node(.literal(.string(value)), token.start, token.end, children: [])
        case .bytesLiteral(let value):
            _ = advance()
            return try node(.literal(.bytes(value)), token.start, token.end, children: [])
        case .trueKeyword, .falseKeyword, .nullKeyword:
            _ = advance()
            let value: Value = token.token == .nullKeyword ? .null : .bool(token.token == .trueKeyword)
            return try node(.literal(value), token.start, token.end, children: [])
        case .punct(.minus):
            // A negative number literal (see minusStartsLiteral).
            _ = advance()
            let number = advance()
            switch number.token {
            case .intLiteral(let magnitude):
                guard magnitude <= UInt64(Int64.max) + 1 else {
                    throw error("integer literal -\(magnitude) is out of range for int", at: number)
                }
                let value = magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude)
                return try node(.literal(.int(value)), token.start, number.end, children: [])
            case .doubleLiteral(let value):
                return try node(.literal(.double(-value)), token.start, number.end, children: [])
            default:
                throw error("expected a number after `-`", at: number)
            }
        case .punct(.dot):
            // A leading dot names a variable in the root scope: `.x` is `x`.
            _ = advance()
            let name = advance()
            guard case .identifier = name.token else {
                throw error("expected a name after the leading `.`, found \(name.token.display)", at: name)
            }
            position -= 1
            return try identifierOrCall(start: token.start)
        case .identifier:
            return try identifierOrCall(start: token.start)
        case .punct(.leftParen):
            let open = advance()
            let inner = try parseExpression()
            guard isPunct(.rightParen) else {
                throw error("expected `)` to close the `(` at column \(lines.location(open.start).column), found \(current.token.display)", at: current,
                            help: "add the missing `)`")
            }
            _ = advance()
            return inner
        case .punct(.leftBracket):
            let open = advance()
            var items: [ExprNode] = []
            while !isPunct(.rightBracket) {
                items.append(try parseExpression())
                if isPunct(.comma) {
                    _ = advance()
                    continue
                }
                guard isPunct(.rightBracket) else {
                    throw error("expected `,` or `]` to close the `[` at column \(lines.location(open.start).column), found \(current.token.display)", at: current)
                }
            }
            let close = advance()
            return try node(.list(items), open.start, close.end, children: items)
        case .punct(.leftBrace):
            let open = advance()
            var entries: [ExprNode.MapEntry] = []
            while !isPunct(.rightBrace) {
                let key = try parseExpression()
                guard isPunct(.colon) else {
                    throw error("expected `:` after a map key, found \(current.token.display)", at: current)
                }
                _ = advance()
                let value = try parseExpression()
                entries.append(ExprNode.MapEntry(key: key, value: value))
                if isPunct(.comma) {
                    _ = advance()
                    continue
                }
                guard isPunct(.rightBrace) else {
                    throw error("expected `,` or `}` to close the `{` at column \(lines.location(open.start).column), found \(current.token.display)", at: current)
                }
            }
            let close = advance()
            return try node(.map(entries), open.start, close.end, children: entries.flatMap { [$0.key, $0.value] })
        case .end:
            throw error("unexpected end of the expression; expected a value", at: token)
        default:
            throw error("unexpected \(token.token.display); expected a value", at: token)
        }
    }

    mutating func identifierOrCall(start: Int) throws(ExprSyntaxError) -> ExprNode {
        let nameToken = advance()
        guard case .identifier(let name) = nameToken.token else {
            throw error("expected a name", at: nameToken)
        }
        if ExprParser.reserved.contains(name) {
            throw error("`\(name)` is a reserved word and cannot be used as a name", at: nameToken)
        }
        guard isPunct(.leftParen) else {
            return try node(.identifier(name), start, nameToken.end, children: [])
        }
        let open = advance()
        let arguments = try parseArguments(open: open)
        let end = tokens[position - 1].end
        if name == "has" {
            guard arguments.count == 1, case .select(let operand, let field, _) = arguments[0].kind else {
                throw error("`has` takes one field selection, like `has(map.key)`", at: nameToken,
                            help: "to test a key held in a variable, write `key in map`")
            }
            return try node(.has(operand: operand, field: field), start, end, children: [operand])
        }
        if MacroKind(rawValue: name) != nil {
            throw error("`\(name)` is a method: write `list.\(name)(x, ...)`", at: nameToken)
        }
        let call = ExprNode.Call(function: name, target: nil, arguments: arguments, nameRange: range(nameToken.start, nameToken.end))
        return try node(.call(call), start, end, children: arguments)
    }
}
