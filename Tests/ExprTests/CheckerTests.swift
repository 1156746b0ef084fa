import Diagnostics
import Expr
import JSON
import Testing

/// The prehook variables of spec/execution.md with the types the runner gives them.
let prehookDeclarations: [String: ExprType] = [
    "cycle": .int, "max_cycles": .int, "is_last_cycle": .bool, "task_id": .string, "item_id": .string,
    "qa_file_path": .string, "item_status": .string, "active_ticket_count": .int, "self_test_passed": .bool,
    "self_test_exit_code": .int, "self_referential_safe": .bool,
    "self_referential_safe_scenarios": .list(.string), "regression_target_ids": .list(.string),
]

func check(_ text: String, _ declarations: [String: ExprType] = prehookDeclarations,
           policy: UnknownIdentifierPolicy = .error) throws -> CheckResult {
    ExprChecker.check(try ExprParser.parse(text), declarations: declarations, unknownIdentifiers: policy)
}

@Suite struct CheckerTests {
    @Test func unknownIdentifierHasItsColumnAndASuggestion() throws {
        let result = try check("is_last_cycle && qa_file_pth.startsWith(\"docs/qa/\")")
        #expect(result.diagnostics.count == 1)
        let diagnostic = try #require(result.diagnostics.first)
        #expect(diagnostic.rule == "expr-unknown-identifier")
        #expect(diagnostic.severity == .error)
        #expect(diagnostic.message == "unknown variable `qa_file_pth`")
        #expect(diagnostic.range?.start.column == 18)
        #expect(diagnostic.range?.end.column == 29)
        #expect(diagnostic.range?.start.offset == 17)
        #expect(diagnostic.help == "did you mean `qa_file_path`?")
        #expect(result.unknownIdentifiers.map(\.name) == ["qa_file_pth"])
    }

    @Test func unknownIdentifierPolicies() throws {
        let ignored = try check("missing > 1 && cycle > 0", policy: .ignore)
        #expect(ignored.diagnostics.isEmpty)
        #expect(ignored.unknownIdentifiers.map(\.name) == ["missing"])
        #expect(ignored.unknownIdentifiers.first?.range.start.column == 1)
        #expect(!ignored.hasErrors)
        let warned = try check("missing > 1", policy: .warning)
        #expect(warned.diagnostics.first?.severity == .warning)
        #expect(!warned.hasErrors)
    }

    @Test func wrongArgumentTypeHasTheArgumentsColumn() throws {
        let result = try check("qa_file_path.startsWith(1)")
        let diagnostic = try #require(result.diagnostics.first)
        #expect(diagnostic.rule == "expr-type")
        #expect(diagnostic.message == "`startsWith` must be given a string, not int")
        #expect(diagnostic.range?.start.column == 25)
        #expect(diagnostic.range?.end.column == 26)

        let size = try #require(try check("size(cycle) > 0").diagnostics.first)
        #expect(size.rule == "expr-type")
        #expect(size.message == "size() takes a string, bytes, list or map, not int")
        #expect(size.range?.start.column == 6)

        let receiver = try #require(try check("cycle.endsWith('x')").diagnostics.first)
        #expect(receiver.message == "`endsWith` must be called on a string, not int")
        #expect(receiver.range?.start.column == 1)

        let conversion = try #require(try check("bool(cycle)").diagnostics.first)
        #expect(conversion.message == "bool() cannot convert a value of type int")
        #expect(conversion.range?.start.column == 6)
    }

    @Test func operatorTypeErrorsPointAtTheOperator() throws {
        let mixed = try #require(try check("cycle + 1.5 > 2.0").diagnostics.first)
        #expect(mixed.message == "`+` cannot be applied to int and double")
        #expect(mixed.range?.start.column == 7)
        #expect(mixed.help?.contains("double(x)") == true)
        let logical = try #require(try check("cycle && is_last_cycle").diagnostics.first)
        #expect(logical.message == "`&&` needs bool operands, not int")
        #expect(logical.range?.start.column == 1)
        let inList = try #require(try check("cycle in regression_target_ids").diagnostics.first)
        #expect(inList.message == "`in` looks for a int in a list of string")
        #expect(inList.range?.start.column == 7)
        let not = try #require(try check("!cycle").diagnostics.first)
        #expect(not.range?.start.column == 1)
    }

    @Test func celTyping() throws {
        // Arithmetic does not mix int and double; comparisons across numeric types are allowed.
        #expect(try check("1 + 1.0").hasErrors)
        #expect(try check("1u + 1").hasErrors)
        #expect(try !check("cycle < 2.5 && cycle >= 1u").hasErrors)
        // Equality needs the same type (or dyn), as CEL's checker wants.
        #expect(try check("cycle == 1.0").hasErrors)
        #expect(try !check("dyn(cycle) == 1.0").hasErrors)
        #expect(try !check("[1, 'a'] == [1, 2]").hasErrors)
        #expect(try check("'a' == null").hasErrors)
        #expect(try check("-1u").hasErrors)
        #expect(try check("1.5 % 2.0").hasErrors)
        #expect(try check("true ? 'a' : 1").hasErrors)
        #expect(try !check("true ? dyn('a') : 1").hasErrors)
        #expect(try check("{1.5: 'a'}").hasErrors)
        #expect(try check("[1][0u]").hasErrors)
        #expect(try check("'abc'[0]").hasErrors)
        #expect(try check("cycle.f").hasErrors)
        #expect(try check("[1].exists(x, x)").hasErrors)
        #expect(try check("has(cycle.f)").hasErrors)
    }

    @Test func resultTypes() throws {
        #expect(try check("size(regression_target_ids) == 0 || qa_file_path in regression_target_ids").type == .bool)
        #expect(try check("[1, 2].map(x, x * 2)").type == .list(.int))
        #expect(try check("regression_target_ids.filter(x, x.startsWith('a'))").type == .list(.string))
        #expect(try check("{'a': [1]}").type == .map(.string, .list(.int)))
        #expect(try check("[1, 'a']").type == .list(.dyn))
        #expect(try check("dyn(1) + 1").type == .int)
        #expect(try check("cycle > 0 ? 'a' : 'b'").type == .string)
        #expect(try check("{'a': 1}.a").type == .int)
        #expect(ExprType(parsing: "map(string, list(dyn))") == .map(.string, .list(.dyn)))
        #expect(ExprType(parsing: "list(") == nil)
        #expect(ExprType(ofJSON: .array([.int(1), .int(2)])) == .list(.int))
    }

    @Test func unknownFunctionsAndMisuse() throws {
        let len = try #require(try check("len(regression_target_ids) > 0").diagnostics.first)
        #expect(len.rule == "expr-unknown-function")
        #expect(len.message == "unknown function `len`")
        #expect(len.range?.start.column == 1)
        #expect(len.help == "did you mean `size`?")
        let typo = try #require(try check("qa_file_path.startswith('a')").diagnostics.first)
        #expect(typo.help == "did you mean `startsWith`?")
        #expect(typo.range?.start.column == 14)
        let misuse = try #require(try check("startsWith(qa_file_path, 'a')").diagnostics.first)
        #expect(misuse.message.contains("text.startsWith"))
    }

    @Test func macroVariablesAreScoped() throws {
        let result = try check("regression_target_ids.all(id, id.endsWith('.md')) && [1].exists(n, n > cycle)")
        #expect(result.diagnostics.isEmpty)
        let leaked = try check("[1].exists(n, n > 0) && n > 0")
        #expect(leaked.unknownIdentifiers.map(\.name) == ["n"])
        #expect(leaked.unknownIdentifiers.first?.range.start.column == 25)
    }

    @Test func invalidLiteralPatternIsReported() throws {
        let result = try check("qa_file_path.matches('a(b')")
        let diagnostic = try #require(result.diagnostics.first)
        #expect(diagnostic.rule == "expr-regex")
        #expect(diagnostic.range?.start.column == 22)
    }

    @Test func diagnosticsAreInSourceOrder() throws {
        let result = try check("nope1 + size(1) + nope2")
        #expect(result.diagnostics.map { $0.range?.start.column ?? 0 } == [1, 14, 19])
    }
}
