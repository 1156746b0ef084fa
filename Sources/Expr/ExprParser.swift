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
        let parser = TokenParser(tokens: tokens, lines: lines, limits: limits)
        do {
            let root = try parser.parseWhole()
            return Expression(text: text, root: root)
        } catch {
            let diagnostic = parser.failure ?? .error(ExprRule.syntax, "invalid expression", range: lines.range(0, bytes.count))
            throw ExprSyntaxError(diagnostic: diagnostic)
        }
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

/// Thrown inside the parser; the diagnostic is in `TokenParser.failure`. (A large thrown type
/// would cost stack space at every call site of the recursive functions.)
struct ParseStop: Error {}

/// A recursive-descent parser with an operator-precedence loop for the binary operators, so
/// that one level of nesting (a parenthesis, a bracket, an argument list) costs only a few
/// small stack frames. Messages are built in separate functions for the same reason.
final class TokenParser {
    let tokens: [LexedToken]
    let kinds: [TokenKind]
    let lines: LineMap
    let limits: ExprLimits
    var position = 0
    var depth = 0
    var failure: Diagnostic?

    init(tokens: [LexedToken], lines: LineMap, limits: ExprLimits) {
        self.tokens = tokens
        self.kinds = tokens.map { $0.token.kind }
        self.lines = lines
        self.limits = limits
    }

    var kind: TokenKind { kinds[position] }

    func kind(ahead: Int) -> TokenKind { kinds[min(position + ahead, kinds.count - 1)] }

    func isPunct(_ p: Punct) -> Bool { kinds[position] == .punct(p) }

    /// Moves past the current token (never past the end token) and returns its index.
    @discardableResult
    func advance() -> Int {
        let index = position
        if position < tokens.count - 1 { position += 1 }
        return index
    }

    func start(_ index: Int) -> Int { tokens[index].start }
    func end(_ index: Int) -> Int { tokens[index].end }
    func range(_ start: Int, _ end: Int) -> SourceRange { lines.range(start, end) }

    // MARK: errors (kept out of the recursive frames)

    @inline(never)
    func error(_ message: String, at index: Int, help: String? = nil) -> ParseStop {
        failure = .error(ExprRule.syntax, message, range: lines.range(tokens[index].start, tokens[index].end), help: help)
        return ParseStop()
    }

    @inline(never)
    func error(_ message: String, range: SourceRange, help: String? = nil) -> ParseStop {
        failure = .error(ExprRule.syntax, message, range: range, help: help)
        return ParseStop()
    }

    /// "expected X to close the ( at column N, found Y" at the current token.
    @inline(never)
    func unclosed(_ expected: String, opening open: Int, help: String? = nil) -> ParseStop {
        let column = lines.location(tokens[open].start).column
        let opener: String
        if case .punct(let p) = tokens[open].token { opener = p.rawValue } else { opener = "(" }
        return error("expected \(expected) to close the `\(opener)` at column \(column), found \(tokens[position].token.display)",
                     at: position, help: help)
    }

    /// "expected X, found Y" at the current token.
    @inline(never)
    func expected(_ what: String, help: String? = nil) -> ParseStop {
        error("expected \(what), found \(tokens[position].token.display)", at: position, help: help)
    }

    @inline(never)
    func depthError(_ start: Int, _ end: Int) -> ParseStop {
        failure = .error(
            ExprRule.limit, "the expression nests deeper than \(limits.maxDepth) levels",
            range: range(start, end), help: "simplify the expression or split it")
        return ParseStop()
    }

    /// Builds a node, enforcing the depth limit.
    func node(_ kind: ExprNode.Kind, _ start: Int, _ end: Int, children: [ExprNode]) throws(ParseStop) -> ExprNode {
        var height = 1
        for child in children where child.height + 1 > height { height = child.height + 1 }
        if height > limits.maxDepth { throw depthError(start, end) }
        return ExprNode(kind, range: range(start, end), height: height)
    }

    // MARK: grammar

    func parseWhole() throws(ParseStop) -> ExprNode {
        if kind == .end {
            throw error("empty expression", at: position, help: "write a condition such as `cycle > 1`")
        }
        let root = try parseExpression()
        if kind != .end { throw trailing() }
        return root
    }

    @inline(never)
    func trailing() -> ParseStop {
        switch kind {
        case .punct(.rightParen), .punct(.rightBracket), .punct(.rightBrace):
            return error("unexpected \(tokens[position].token.bare): nothing to close", at: position,
                         help: "remove it or add the opening bracket")
        default:
            return error("unexpected \(tokens[position].token.bare) after a complete expression", at: position,
                         help: "join conditions with an operator such as `&&` or `||`")
        }
    }

    /// Expr = ConditionalOr ["?" ConditionalOr ":" Expr]
    func parseExpression() throws(ParseStop) -> ExprNode {
        depth += 1
        defer { depth -= 1 }
        if depth > limits.maxDepth { throw depthError(start(position), end(position)) }
        let condition = try parseBinary()
        guard isPunct(.question) else { return condition }
        advance()
        let whenTrue = try parseBinary()
        guard isPunct(.colon) else { throw expected("`:` in the conditional `?:`") }
        advance()
        let whenFalse = try parseExpression()
        return try node(.conditional(condition, whenTrue, whenFalse), condition.range.start.offset, whenFalse.range.end.offset,
                        children: [condition, whenTrue, whenFalse])
    }

    /// Precedence of a binary operator token: || 1, && 2, relations 3, + - 4, * / % 5.
    static func precedence(_ kind: TokenKind) -> Int {
        switch kind {
        case .punct(.or): return 1
        case .punct(.and): return 2
        case .punct(.equal), .punct(.notEqual), .punct(.less), .punct(.lessEqual), .punct(.greater), .punct(.greaterEqual), .punct(.inKeyword):
            return 3
        case .punct(.plus), .punct(.minus): return 4
        case .punct(.star), .punct(.slash), .punct(.percent): return 5
        default: return 0
        }
    }

    /// The binary operators, all left-associative, by precedence climbing with explicit
    /// stacks (no recursion per operator).
    func parseBinary() throws(ParseStop) -> ExprNode {
        var operands: [ExprNode] = [try parseUnary()]
        var operators: [(index: Int, precedence: Int)] = []
        while true {
            let precedence = TokenParser.precedence(kind)
            if precedence == 0 { break }
            while let top = operators.last, top.precedence >= precedence {
                operators.removeLast()
                try reduce(top.index, &operands)
            }
            operators.append((advance(), precedence))
            operands.append(try parseUnary())
        }
        while let top = operators.popLast() {
            try reduce(top.index, &operands)
        }
        return operands[0]
    }

    /// Combines the last two operands with the operator token at `index`.
    func reduce(_ index: Int, _ operands: inout [ExprNode]) throws(ParseStop) {
        guard operands.count >= 2, let rhs = operands.popLast(), let lhs = operands.popLast() else { return }
        let start = lhs.range.start.offset, end = rhs.range.end.offset
        let combined: ExprNode
        switch kinds[index] {
        case .punct(.and), .punct(.or):
            let op: LogicalOperator = kinds[index] == .punct(.and) ? .and : .or
            // Chains are one node: `a && b && c` has three operands.
            var items: [ExprNode]
            if case .logical(op, let existing) = lhs.kind { items = existing } else { items = [lhs] }
            items.append(rhs)
            combined = try node(.logical(op, items), start, end, children: items)
        default:
            let op = TokenParser.binaryOperator(kinds[index])
            combined = try node(.binary(op, lhs, rhs, operatorRange: range(tokens[index].start, tokens[index].end)),
                                start, end, children: [lhs, rhs])
        }
        operands.append(combined)
    }

    static func binaryOperator(_ kind: TokenKind) -> BinaryOperator {
        switch kind {
        case .punct(.equal): return .equal
        case .punct(.notEqual): return .notEqual
        case .punct(.less): return .less
        case .punct(.lessEqual): return .lessEqual
        case .punct(.greater): return .greater
        case .punct(.greaterEqual): return .greaterEqual
        case .punct(.inKeyword): return .isIn
        case .punct(.plus): return .add
        case .punct(.minus): return .subtract
        case .punct(.star): return .multiply
        case .punct(.slash): return .divide
        default: return .remainder
        }
    }

    /// A minus directly before a number literal makes a negative literal, not an operator.
    func minusStartsLiteral() -> Bool {
        guard isPunct(.minus) else { return false }
        let next = kind(ahead: 1)
        return next == .intLiteral || next == .doubleLiteral
    }

    func parseUnary() throws(ParseStop) -> ExprNode {
        var operators: [Int] = []
        while isPunct(.bang) || (isPunct(.minus) && !minusStartsLiteral()) {
            operators.append(advance())
            if operators.count > limits.maxDepth { throw depthError(start(position), end(position)) }
        }
        var operand = try parseMember()
        while let index = operators.popLast() {
            let op: UnaryOperator = kinds[index] == .punct(.bang) ? .not : .negate
            operand = try node(.unary(op, operand), start(index), operand.range.end.offset, children: [operand])
        }
        return operand
    }

    func parseMember() throws(ParseStop) -> ExprNode {
        var operand = try parsePrimary()
        while true {
            if isPunct(.dot) {
                operand = try parseSelection(operand)
            } else if isPunct(.leftBracket) {
                operand = try parseIndex(operand)
            } else if isPunct(.leftBrace), case .identifier = operand.kind {
                throw messageConstruction(operand)
            } else {
                return operand
            }
        }
    }

    @inline(never)
    func messageConstruction(_ operand: ExprNode) -> ParseStop {
        var name = ""
        if case .identifier(let n) = operand.kind { name = n }
        return error("message construction `\(name){...}` is not supported", at: position,
                     help: "guards work with maps: write a map literal `{key: value}`")
    }

    /// `.name` or `.name(args)` after `operand`.
    func parseSelection(_ operand: ExprNode) throws(ParseStop) -> ExprNode {
        advance()
        guard case .identifier(let name) = tokens[position].token else { throw expected("a field or method name after `.`") }
        let nameIndex = advance()
        if isPunct(.leftParen) {
            let open = advance()
            let arguments = try parseArguments(open: open)
            return try memberCall(target: operand, name: name, nameIndex: nameIndex, arguments: arguments)
        }
        return try node(.select(operand: operand, field: name, fieldRange: range(start(nameIndex), end(nameIndex))),
                        operand.range.start.offset, end(nameIndex), children: [operand])
    }

    /// `[index]` after `operand`.
    func parseIndex(_ operand: ExprNode) throws(ParseStop) -> ExprNode {
        let open = advance()
        let index = try parseExpression()
        guard isPunct(.rightBracket) else { throw unclosed("`]`", opening: open) }
        let close = advance()
        return try node(.index(operand: operand, index: index), operand.range.start.offset, end(close), children: [operand, index])
    }

    /// After `(`: `[Expr {"," Expr}] ")"`.
    func parseArguments(open: Int) throws(ParseStop) -> [ExprNode] {
        var arguments: [ExprNode] = []
        if isPunct(.rightParen) {
            advance()
            return arguments
        }
        while true {
            arguments.append(try parseExpression())
            if isPunct(.comma) {
                advance()
                continue
            }
            if isPunct(.rightParen) {
                advance()
                return arguments
            }
            throw unclosed("`,` or `)`", opening: open)
        }
    }

    func memberCall(target: ExprNode, name: String, nameIndex: Int, arguments: [ExprNode]) throws(ParseStop) -> ExprNode {
        let callEnd = end(position - 1)
        if let macro = MacroKind(rawValue: name) {
            return try macroCall(macro, target: target, nameIndex: nameIndex, arguments: arguments, end: callEnd)
        }
        let call = ExprNode.Call(function: name, target: target, arguments: arguments, nameRange: range(start(nameIndex), end(nameIndex)))
        return try node(.call(call), target.range.start.offset, callEnd, children: [target] + arguments)
    }

    func macroCall(_ macro: MacroKind, target: ExprNode, nameIndex: Int, arguments: [ExprNode], end: Int) throws(ParseStop) -> ExprNode {
        let countOK = macro == .map ? (arguments.count == 2 || arguments.count == 3) : arguments.count == 2
        guard countOK else { throw macroArity(macro, nameIndex: nameIndex, count: arguments.count) }
        guard case .identifier(let variable) = arguments[0].kind else {
            throw macroVariable(macro, arguments[0].range)
        }
        let comprehension = ExprNode.Comprehension(
            macro: macro, range: target, variable: variable, variableRange: arguments[0].range, body: Array(arguments.dropFirst()))
        return try node(.comprehension(comprehension), target.range.start.offset, end, children: [target] + arguments)
    }

    @inline(never)
    func macroArity(_ macro: MacroKind, nameIndex: Int, count: Int) -> ParseStop {
        let name = macro.rawValue
        let expected = macro == .map ? "2 or 3" : "2"
        return error("`\(name)` takes \(expected) arguments: a variable name and \(macro == .map ? "an expression" : "a predicate"), got \(count)",
                     at: nameIndex, help: "for example `items.\(name)(x, \(macro == .map ? "x * 2" : "x > 0"))`")
    }

    @inline(never)
    func macroVariable(_ macro: MacroKind, _ range: SourceRange) -> ParseStop {
        error("the first argument of `\(macro.rawValue)` must be a variable name", range: range,
              help: "for example `items.\(macro.rawValue)(x, ...)`")
    }

    func parsePrimary() throws(ParseStop) -> ExprNode {
        switch kind {
        case .intLiteral, .uintLiteral, .doubleLiteral, .stringLiteral, .bytesLiteral, .trueKeyword, .falseKeyword, .nullKeyword:
            return try parseLiteral()
        case .punct(.minus):
            return try parseNegativeLiteral()
        case .punct(.dot):
            // A leading dot names a variable in the root scope: `.x` is `x`.
            let dot = advance()
            guard kind == .identifier else { throw expected("a name after the leading `.`") }
            return try identifierOrCall(start: start(dot))
        case .identifier:
            return try identifierOrCall(start: start(position))
        case .punct(.leftParen):
            let open = advance()
            let inner = try parseExpression()
            guard isPunct(.rightParen) else { throw unclosed("`)`", opening: open, help: "add the missing `)`") }
            advance()
            return inner
        case .punct(.leftBracket):
            return try parseList()
        case .punct(.leftBrace):
            return try parseMap()
        default:
            throw expected("a value")
        }
    }

    func parseLiteral() throws(ParseStop) -> ExprNode {
        let index = advance()
        let value: Value
        switch tokens[index].token {
        case .intLiteral(let magnitude):
            guard magnitude <= UInt64(Int64.max) else { throw intRange(index, negative: false) }
            value = .int(Int64(magnitude))
        case .uintLiteral(let u): value = .uint(u)
        case .doubleLiteral(let d): value = .double(d)
        case .stringLiteral(let s): value = .string(s)
        case .bytesLiteral(let b): value = .bytes(b)
        case .trueKeyword: value = .bool(true)
        case .falseKeyword: value = .bool(false)
        default: value = .null
        }
        return try node(.literal(value), start(index), end(index), children: [])
    }

    @inline(never)
    func intRange(_ index: Int, negative: Bool) -> ParseStop {
        var magnitude: UInt64 = 0
        if case .intLiteral(let m) = tokens[index].token { magnitude = m }
        return error("integer literal \(negative ? "-" : "")\(magnitude) is out of range for int", at: index,
                     help: negative ? nil : "add the suffix `u` for a uint, or `.0` for a double")
    }

    /// A negative number literal (see minusStartsLiteral).
    func parseNegativeLiteral() throws(ParseStop) -> ExprNode {
        let minus = advance()
        let number = advance()
        let value: Value
        switch tokens[number].token {
        case .intLiteral(let magnitude):
            guard magnitude <= UInt64(Int64.max) + 1 else { throw intRange(number, negative: true) }
            value = .int(magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude))
        case .doubleLiteral(let d):
            value = .double(-d)
        default:
            throw error("expected a number after `-`", at: number)
        }
        return try node(.literal(value), start(minus), end(number), children: [])
    }

    func parseList() throws(ParseStop) -> ExprNode {
        let open = advance()
        var items: [ExprNode] = []
        while !isPunct(.rightBracket) {
            items.append(try parseExpression())
            if isPunct(.comma) {
                advance()
                continue
            }
            guard isPunct(.rightBracket) else { throw unclosed("`,` or `]`", opening: open) }
        }
        let close = advance()
        return try node(.list(items), start(open), end(close), children: items)
    }

    func parseMap() throws(ParseStop) -> ExprNode {
        let open = advance()
        var entries: [ExprNode.MapEntry] = []
        var children: [ExprNode] = []
        while !isPunct(.rightBrace) {
            let key = try parseExpression()
            guard isPunct(.colon) else { throw expected("`:` after a map key") }
            advance()
            let value = try parseExpression()
            entries.append(ExprNode.MapEntry(key: key, value: value))
            children.append(key)
            children.append(value)
            if isPunct(.comma) {
                advance()
                continue
            }
            guard isPunct(.rightBrace) else { throw unclosed("`,` or `}`", opening: open) }
        }
        let close = advance()
        return try node(.map(entries), start(open), end(close), children: children)
    }

    func identifierOrCall(start: Int) throws(ParseStop) -> ExprNode {
        guard case .identifier(let name) = tokens[position].token else { throw expected("a name") }
        let nameIndex = advance()
        if ExprParser.reserved.contains(name) { throw reservedWord(nameIndex) }
        guard isPunct(.leftParen) else {
            return try node(.identifier(name), start, end(nameIndex), children: [])
        }
        let open = advance()
        let arguments = try parseArguments(open: open)
        let callEnd = end(position - 1)
        if name == "has" {
            guard arguments.count == 1, case .select(let operand, let field, _) = arguments[0].kind else {
                throw error("`has` takes one field selection, like `has(map.key)`", at: nameIndex,
                            help: "to test a key held in a variable, write `key in map`")
            }
            return try node(.has(operand: operand, field: field), start, callEnd, children: [operand])
        }
        if MacroKind(rawValue: name) != nil { throw globalMacro(nameIndex) }
        let call = ExprNode.Call(function: name, target: nil, arguments: arguments, nameRange: range(self.start(nameIndex), end(nameIndex)))
        return try node(.call(call), start, callEnd, children: arguments)
    }

    @inline(never)
    func reservedWord(_ index: Int) -> ParseStop {
        var name = ""
        if case .identifier(let n) = tokens[index].token { name = n }
        return error("`\(name)` is a reserved word and cannot be used as a name", at: index)
    }

    @inline(never)
    func globalMacro(_ index: Int) -> ParseStop {
        var name = ""
        if case .identifier(let n) = tokens[index].token { name = n }
        return error("`\(name)` is a method: write `list.\(name)(x, ...)`", at: index)
    }
}
