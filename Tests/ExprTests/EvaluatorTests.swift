import Expr
import JSON
import Testing

func errorMessage(_ text: String, _ bindings: [String: Value] = [:], check: Bool = true) -> String? {
    if case .error(let message) = run(text, bindings, check: check) { return message }
    return nil
}

@Suite struct EvaluatorTests {
    @Test func runtimeErrorsAreValues() {
        #expect(errorMessage("9223372036854775807 + 1") == "integer overflow in `+`")
        #expect(errorMessage("-9223372036854775808 - 1") == "integer overflow in `-`")
        #expect(errorMessage("5000000000 * 5000000000") == "integer overflow in `*`")
        #expect(errorMessage("-9223372036854775808 / -1") == "integer overflow in `/`")
        #expect(errorMessage("-9223372036854775808 % -1") == "integer overflow in `%`")
        #expect(errorMessage("-(-9223372036854775808)") == "integer overflow in `-`")
        #expect(errorMessage("0u - 1u") == "integer overflow in `-`")
        #expect(errorMessage("18446744073709551615u * 2u") == "integer overflow in `*`")
        #expect(errorMessage("1 / 0") == "division by zero")
        #expect(errorMessage("1 % 0") == "modulus by zero")
        #expect(errorMessage("1u / 0u") == "division by zero")
        #expect(value("1.0 / 0.0") == .double(.infinity))
        #expect(errorMessage("{'a': 1}.b") == "no such key: `b`")
        #expect(errorMessage("{'a': 1}['b']") == "no such key: \"b\"")
        #expect(errorMessage("[1, 2][2]") == "index 2 out of range for a list of size 2")
        #expect(errorMessage("[1, 2][-1]") == "index -1 out of range for a list of size 2")
        #expect(errorMessage("dyn('a') + 1", check: false) == "no matching overload for `+` applied to (string, int)")
        #expect(errorMessage("dyn(1) < 'a'", check: false) == "no matching overload for `<` applied to (int, string)")
        #expect(errorMessage("x > 1", [:], check: false) == "no value for variable `x`")
        #expect(errorMessage("f(1)", check: false) == "unbound function `f`")
        #expect(errorMessage("{'a': 1, 'a': 2}") == "repeated key \"a\" in a map literal")
        #expect(errorMessage("int('12x')") == "cannot convert \"12x\" to int")
        #expect(errorMessage("int(1e19)") == "range error: 1e+19 does not fit an int")
        #expect(errorMessage("uint(-1)") == "range error: -1 does not fit a uint")
        #expect(errorMessage("string(b'\\xff')") == "invalid UTF-8 in bytes converted to string")
        #expect(errorMessage("dyn(1).a", check: false) == "cannot select field `a` of a value of type int; only maps have fields")
        #expect(errorMessage("dyn('abc').matches('(')", check: false)?.hasPrefix("invalid regular expression") == true)
        #expect(errorMessage("dyn('abc').matches(dyn('('))", check: false)?.hasPrefix("invalid regular expression") == true)
        #expect(errorMessage("dyn(1) ? 1 : 2", check: false) == "the condition of `?:` must be a bool, not int")
    }

    @Test func logicalOperatorsAbsorbErrorsCommutatively() {
        #expect(value("false && 1 / 0 > 0") == .bool(false))
        #expect(value("1 / 0 > 0 && false") == .bool(false))
        #expect(value("true || 1 / 0 > 0") == .bool(true))
        #expect(value("1 / 0 > 0 || true") == .bool(true))
        #expect(errorMessage("1 / 0 > 0 && true") == "division by zero")
        #expect(errorMessage("false || 1 / 0 > 0") == "division by zero")
        #expect(run("missing || true", check: false) == .value(.bool(true)))
        #expect(run("true && missing", check: false) == .error("no value for variable `missing`"))
        #expect(run("dyn('s') && false", check: false) == .value(.bool(false)))
        #expect(run("dyn('s') || dyn(1)", check: false) == .error("no matching overload for `||` applied to (string)"))
        // The first error (in source order) is the one reported.
        #expect(errorMessage("1 / 0 > 0 && [][0] == 1") == "division by zero")
    }

    @Test func stringsCompareByCodePoints() {
        #expect(value("'\\u00e9' == 'e\\u0301'") == .bool(false))
        #expect(value("'e\\u0301'.startsWith('e')") == .bool(true))
        #expect(value("'ae\\u0301'.contains('e')") == .bool(true))
        #expect(value("size('e\\u0301')") == .int(2))
        #expect(value("'\\u00e9' in {'e\\u0301': 1}") == .bool(false))
        #expect(value("'a' < 'b' && 'B' < 'a' && 'z' < '\\u00e9'") == .bool(true))
        #expect(value("'🐱' + 'x'") == .string("🐱x"))
    }

    @Test func collections() {
        #expect(value("[1, 2] + [3]") == .list([.int(1), .int(2), .int(3)]))
        #expect(value("2 in [1, 2.0]") == .bool(true))
        #expect(value("'k' in {'k': 1}") == .bool(true))
        #expect(value("{1: 'a'}[dyn(1u)]") == .string("a"))
        #expect(value("{1: 'a'}[dyn(1.0)]") == .string("a"))
        #expect(value("[[1], [2]] == [[1], [2.0]]") == .bool(true))
        #expect(run("{'a': [1]} == {'a': [1u]}", check: false) == .value(.bool(true)))
        #expect(value("has({'a': 1}.a) && !has({'a': 1}.b)") == .bool(true))
        #expect(value("has(m.a.b)", ["m": Value(json: .object([("a", .object([("b", .null)]))]))]) == .bool(true))
        #expect(value("size({'a': 1, 'b': 2})") == .int(2))
        #expect(value("b'ab'.size()") == .int(2))
        let big = (0..<20).map { "'k\($0)': \($0)" }.joined(separator: ", ")
        #expect(value("{\(big)}.k17 + {\(big)}['k3']") == .int(20))
    }

    @Test func macros() {
        #expect(value("[1, 2, 3].exists(x, x > 2)") == .bool(true))
        #expect(value("[1, 2, 3].all(x, x > 0)") == .bool(true))
        #expect(value("[1, 2, 3].exists_one(x, x > 1)") == .bool(false))
        #expect(value("[1, 2, 3].map(x, x * x)") == .list([.int(1), .int(4), .int(9)]))
        #expect(value("[1, 2, 3].map(x, x > 1, x * 10)") == .list([.int(20), .int(30)]))
        #expect(value("[1, 2, 3].filter(x, x % 2 == 1)") == .list([.int(1), .int(3)]))
        #expect(value("{'a': 1, 'b': 2}.map(k, k)") == .list([.string("a"), .string("b")]))
        #expect(value("[[1, 2], [3]].exists(l, l.exists(x, x == 3))") == .bool(true))
        #expect(value("[1, 0].exists(x, 1 / x == 1)") == .bool(true))
        #expect(errorMessage("[0, 1].all(x, 1 / x == 1)") == "division by zero")
        #expect(value("[0, 2].all(x, 1 / x == 1)") == .bool(false))
        #expect(errorMessage("dyn(1).all(x, true)", check: false) == "`all` iterates over a list or a map, not int")
    }

    @Test func iterationBudgetStopsRunawayMacros() throws {
        let expression = try ExprParser.parse("l.all(a, l.all(b, l.all(c, true)))")
        let list = Value.list((0..<200).map { .int($0) })
        let program = Program(expression, limits: ExprLimits(maxIterations: 100_000))
        #expect(program.evaluate(["l": list]) == .error("the evaluation exceeded 100000 macro iterations"))
        let small = Program(expression, limits: ExprLimits(maxIterations: 100_000))
        #expect(small.evaluate(["l": .list([.int(1), .int(2)])]) == .value(.bool(true)))
    }

    @Test func conversions() {
        #expect(value("string(1.5) + string(100000.0) + ' ' + string(1000000.0) + ' ' + string(0.0001) + ' ' + string(0.00001)")
            == .string("1.5100000 1e+06 0.0001 1e-05"))
        #expect(value("string(-0.0) + string(123456789.0) + string(1.0/0.0)") == .string("-01.23456789e+08+Inf"))
        #expect(value("string(true) + string(12u) + string(-3)") == .string("true12-3"))
        #expect(value("double('2.5e1') + double(3u)") == .double(28))
        #expect(value("int('-12') + int(2.9) + int(-2.9) + int(7u)") == .int(-5))
        #expect(value("uint('42')") == .uint(42))
        #expect(errorMessage("uint('+42')") != nil)
        #expect(value("bool('true') && !bool('F')") == .bool(true))
        #expect(value("bytes('é')") == .bytes([0xC3, 0xA9]))
        #expect(value("dyn([1])") == .list([.int(1)]))
    }

    @Test func programsAreReusable() throws {
        let program = Program(try ExprParser.parse("cycle > 1 && name.startsWith('docs/')"))
        #expect(program.variables == ["cycle", "name"])
        #expect(program.evaluate(["cycle": .int(2), "name": .string("docs/a")]) == .value(.bool(true)))
        #expect(program.evaluate(["cycle": .int(1), "name": .string("docs/a")]) == .value(.bool(false)))
        #expect(program.evaluate(values: [.int(3), .string("src/a")]) == .value(.bool(false)))
        #expect(program.evaluate(values: [.int(3), nil]) == .error("no value for variable `name`"))
        #expect(evaluate(try ExprParser.parse("1 + 1"), bindings: [:]) == .value(.int(2)))
    }

    @Test func valuesFromAndToJSON() throws {
        let json = try JSONParser.parse(#"{"n": 1, "d": 1.5, "e": 1e2, "s": "x", "b": true, "z": null, "l": [1, "a"], "m": {"k": [2]}}"#)
        let value = Value(json: json)
        guard case .map(let map) = value else {
            Issue.record("expected a map")
            return
        }
        #expect(map[string: "n"] == .int(1))
        #expect(map[string: "d"] == .double(1.5))
        #expect(map[string: "e"] == .double(100))
        #expect(map[string: "z"] == .null)
        #expect(map.keyList.map(\.description) == ["\"n\"", "\"d\"", "\"e\"", "\"s\"", "\"b\"", "\"z\"", "\"l\"", "\"m\""])
        #expect(value.jsonValue == json)
        #expect(value.typeName == "map")
        #expect(Value.uint(UInt64.max).jsonText == "18446744073709551615")
        #expect(Value.bytes([0xFF, 0x00]).jsonText == "\"/wA=\"")
        #expect(Value.map(ValueMap([(.int(1), .bool(true))])).jsonText == "{\"1\":true}")
        #expect(Value.double(.nan).jsonText == "\".nan\"")
        #expect(Value.double(2).jsonText == "2.0")
    }

    @Test func structuralAndCELEquality() {
        #expect(Value.int(1) != Value.double(1))
        #expect(Value.int(1).celEquals(.double(1)))
        #expect(Value.double(.nan) == Value.double(.nan))
        #expect(!Value.double(.nan).celEquals(.double(.nan)))
        #expect(Value.string("\u{E9}") != Value.string("e\u{301}"))
        #expect(Value.map(ValueMap([(.string("a"), .int(1)), (.string("b"), .int(2))]))
            == Value.map(ValueMap([(.string("b"), .int(2)), (.string("a"), .int(1))])))
    }
}
