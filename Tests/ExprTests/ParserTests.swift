import Diagnostics
import Expr
import Testing

func syntaxError(_ text: String, limits: ExprLimits = .standard) -> Diagnostic? {
    if case .failure(let error) = ExprParser.parseResult(text, limits: limits) { return error.diagnostic }
    return nil
}

@Suite struct ParserTests {
    @Test func precedenceFollowsCEL() {
        #expect(value("1 + 2 * 3") == .int(7))
        #expect(value("(1 + 2) * 3") == .int(9))
        #expect(value("2 - 1 - 1") == .int(0))
        #expect(value("8 / 4 / 2") == .int(1))
        #expect(value("7 % 4 * 2") == .int(6))
        #expect(value("true || false && false") == .bool(true))
        #expect(value("(true || false) && false") == .bool(false))
        #expect(value("!true || true") == .bool(true))
        #expect(value("1 < 2 == true") == .bool(true))
        #expect(value("1 + 1 in [2]") == .bool(true))
        #expect(value("true ? 1 : false ? 2 : 3") == .int(1))
        #expect(value("false ? 1 : false ? 2 : 3") == .int(3))
        #expect(value("false || true ? 'a' : 'b'") == .string("a"))
        #expect(value("-x.y", ["x": Value(json: .object([("y", .int(2))]))]) == .int(-2))
        #expect(value("!{'a': 1}.exists(k, k == 'b')") == .bool(true))
        #expect(value("--1") == .int(1))
        #expect(value("- -1") == .int(1))
        #expect(value("!!true") == .bool(true))
        #expect(value("[1, 2, 3][1] * 10") == .int(20))
    }

    @Test func literals() {
        #expect(value("0x1F") == .int(31))
        #expect(value("-0x10") == .int(-16))
        #expect(value("0x10u") == .uint(16))
        #expect(value("18446744073709551615u") == .uint(UInt64.max))
        #expect(value("-9223372036854775808") == .int(Int64.min))
        #expect(value(".5") == .double(0.5))
        #expect(value("1e3") == .double(1000))
        #expect(value("2.5E-1") == .double(0.25))
        #expect(value("'a\\tb'") == .string("a\tb"))
        #expect(value("r'a\\tb'") == .string("a\\tb"))
        #expect(value("R\"\\d+\"") == .string("\\d+"))
        #expect(value("'''one\ntwo'''") == .string("one\ntwo"))
        #expect(value("\"\"\"say \"hi\" \"\"\"") == .string("say \"hi\" "))
        #expect(value("'\\u00e9\\U0001F431\\x41\\101\\''") == .string("\u{E9}\u{1F431}AA'"))
        #expect(value("b'\\xff\\000a'") == .bytes([0xFF, 0, 0x61]))
        #expect(value("B'é'") == .bytes([0xC3, 0xA9]))
        #expect(value("null") == .null)
        #expect(value("[1, 'a',]") == .list([.int(1), .string("a")]))
        #expect(value("{'a': 1, 'b': 2,}.b") == .int(2))
        #expect(value("1 + // a comment\n 2") == .int(3))
        #expect(value(".x", ["x": .int(4)]) == .int(4))
    }

    @Test func numberErrors() {
        #expect(syntaxError("9223372036854775808")?.message.contains("out of range") == true)
        #expect(syntaxError("-9223372036854775809")?.message.contains("out of range") == true)
        #expect(syntaxError("18446744073709551616u")?.message.contains("out of range") == true)
        #expect(syntaxError("0x")?.rule == ExprRule.syntax)
        #expect(syntaxError("1e")?.rule == ExprRule.syntax)
        #expect(syntaxError("12abc")?.message == "malformed number `12abc`")
    }

    @Test func unbalancedParenthesisColumns() throws {
        let missingClose = try #require(syntaxError("(a && b"))
        #expect(missingClose.rule == "expr-syntax")
        #expect(missingClose.range?.start.column == 8)
        #expect(missingClose.range?.start.offset == 7)
        #expect(missingClose.message == "expected `)` to close the `(` at column 1, found the end of the expression")

        let extraClose = try #require(syntaxError("a && b)"))
        #expect(extraClose.range?.start.column == 7)
        #expect(extraClose.message == "unexpected `)`: nothing to close")

        let nested = try #require(syntaxError("size(x.filter(y, y > 0) > 1"))
        #expect(nested.range?.start.column == 28)
        #expect(nested.message.contains("close the `(` at column 5"))

        let bracket = try #require(syntaxError("[1, 2"))
        #expect(bracket.range?.start.column == 6)
        #expect(bracket.message.contains("`,` or `]`"))
    }

    @Test func columnsCountScalarsAndOffsetsCountBytes() throws {
        // 'é' is one scalar but two UTF-8 bytes.
        let error = try #require(syntaxError("'é' + )"))
        #expect(error.range?.start.line == 1)
        #expect(error.range?.start.column == 7)
        #expect(error.range?.start.offset == 7)
        let multiline = try #require(syntaxError("a &&\n  b c"))
        #expect(multiline.range?.start.line == 2)
        #expect(multiline.range?.start.column == 5)
        #expect(multiline.range?.start.offset == 9)
    }

    @Test func helpfulMessages() throws {
        #expect(syntaxError("a = b")?.help == "use `==` to compare")
        #expect(syntaxError("a & b")?.help == "use `&&` for logical and")
        #expect(syntaxError("a b")?.message == "unexpected `b` after a complete expression")
        #expect(syntaxError("")?.message == "empty expression")
        #expect(syntaxError("if")?.message == "`if` is a reserved word and cannot be used as a name")
        #expect(syntaxError("x.exists(y)")?.message.contains("takes 2 arguments") == true)
        #expect(syntaxError("x.all(1, true)")?.message == "the first argument of `all` must be a variable name")
        #expect(syntaxError("has(x)")?.message.contains("field selection") == true)
        #expect(syntaxError("exists(x, y)")?.message.contains("is a method") == true)
        #expect(syntaxError("'abc")?.message == "unterminated string literal")
        #expect(syntaxError("'a\nb'")?.message == "line break in a string literal")
        #expect(syntaxError("'\\q'")?.message == "invalid escape sequence `\\q`")
        #expect(syntaxError("'\\uD800'")?.message == "escape denotes an invalid code point")
        #expect(syntaxError("Foo{a: 1}")?.message.contains("message construction") == true)
        #expect(syntaxError("a ? b")?.message.contains("`:`") == true)
        #expect(syntaxError("x.")?.message.contains("after `.`") == true)
        #expect(syntaxError("1 +")?.range?.start.column == 4)
    }

    @Test func lengthLimit() throws {
        let long = Array(repeating: "a", count: 9000).joined(separator: "+")
        let error = try #require(syntaxError(long))
        #expect(error.rule == "expr-limit")
        #expect(error.message.contains("limit is 16384"))
        #expect(syntaxError("1 + 1", limits: ExprLimits(maxLength: 4))?.rule == "expr-limit")
    }

    @Test func depthLimit() throws {
        let limit = ExprLimits.standard.maxDepth
        func parens(_ n: Int) -> String { String(repeating: "(", count: n) + "1" + String(repeating: ")", count: n) }
        func lists(_ n: Int) -> String { String(repeating: "[", count: n) + "1" + String(repeating: "]", count: n) }
        func nots(_ n: Int) -> String { String(repeating: "!", count: n) + "true" }
        func sums(_ n: Int) -> String { Array(repeating: "1", count: n).joined(separator: " + ") }
        // At the limit: parses, checks and evaluates.
        #expect(value(parens(limit - 1)) == .int(1))
        #expect(value(nots(limit - 1)) == .bool(false))
        #expect(value(sums(limit)) == .int(Int64(limit)))
        #expect(value(lists(limit - 1)) != nil)
        // Beyond: a clear error, never a crash.
        for text in [parens(limit + 1), lists(limit + 1), nots(limit + 1), sums(limit + 2), parens(5000), nots(5000), lists(3000)] {
            let error = try #require(syntaxError(text))
            #expect(error.rule == "expr-limit")
            #expect(error.message == "the expression nests deeper than \(limit) levels")
        }
        // && and || chains are one level however long.
        let chain = Array(repeating: "true", count: 500).joined(separator: " && ")
        #expect(value(chain) == .bool(true))
    }

    @Test func freeVariablesExcludeMacroVariables() throws {
        let expression = try ExprParser.parse("a.b + c[0] + [1].filter(x, x > y).size() + size(a)")
        let names = expression.freeVariables.map(\.name)
        #expect(names == ["a", "c", "y", "a"])
        #expect(expression.freeVariableNames == ["a", "c", "y"])
        let columns = expression.freeVariables.map { $0.range.start.column }
        #expect(columns == [1, 7, 32, 49])
        // A macro variable shadows a free variable only inside its macro.
        let shadow = try ExprParser.parse("x + [1].map(x, x)[0]")
        #expect(shadow.freeVariables.map(\.name) == ["x"])
    }

    @Test func astRangesAndShape() throws {
        let expression = try ExprParser.parse("a && b && c || d")
        guard case .logical(.or, let operands) = expression.root.kind, case .logical(.and, let inner) = operands[0].kind else {
            Issue.record("expected (a && b && c) || d")
            return
        }
        #expect(inner.count == 3)
        #expect(expression.root.range.start.column == 1)
        #expect(expression.root.range.end.column == 17)
        #expect(operands[1].range.start.column == 16)
    }
}

@Suite struct LexerEdgeTests {
    @Test func numbersFollowedBySelections() {
        #expect(value("1.5.size()", [:]) == nil)  // parses; size(double) is a type error
        #expect(run("dyn(1.5).f", check: false) == .error("cannot select field `f` of a value of type double; only maps have fields"))
        #expect(syntaxError("1.5.f") == nil)
        #expect(syntaxError("1e3.f") == nil)
        #expect(syntaxError("1.5.3")?.message == "unexpected number `0.3` after a complete expression")
    }
}
