import CLI
import JSON
import Testing

@Suite struct ExprCommandTests {
    @Test func valueWithTypedVariables() throws {
        let result = runInProcess(["expr", "x + 1 == 42 && name.startsWith(\"do\")", "--var", "x=41", "--var", "name=\"docs\""])
        #expect(result.status == 0)
        #expect(try JSONParser.parse(result.stdout) == .object([("value", .bool(true)), ("type", .string("bool"))]))
        let double = runInProcess(["expr", "x * 2.0", "--var", "x=1.5"])
        #expect(try JSONParser.parse(double.stdout)["type"] == .string("double"))
        let list = runInProcess(["expr", "size(items)", "--var", "items=[1,2,3]"])
        #expect(try JSONParser.parse(list.stdout)["value"] == .int(3))
    }

    @Test func unknownNamesTheVariables() throws {
        let guardText = "is_last_cycle && qa_file_path.startsWith(\"docs/qa/\")"
        let surelyFalse = runInProcess(["expr", guardText, "--var", "is_last_cycle=false", "--unknown", "qa_file_path"])
        #expect(try JSONParser.parse(surelyFalse.stdout)["value"] == .bool(false))
        let depends = runInProcess(["expr", guardText, "--var", "is_last_cycle=true", "--unknown", "qa_file_path"])
        #expect(depends.status == 0)
        #expect(try JSONParser.parse(depends.stdout) == .object([("unknown", .array([.string("qa_file_path")]))]))
    }

    @Test func evaluationErrorIsExitOne() throws {
        let result = runInProcess(["expr", "1 / 0"])
        #expect(result.status == 1)
        #expect(try JSONParser.parse(result.stdout)["error"] != nil)
    }

    @Test func checkDiagnosticNamesTheColumn() {
        let result = runInProcess(["expr", "size(foo) > 1 && bar"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("<expr>:1:6: error:"), "\(result.stderr)")
        #expect(result.stderr.contains("foo"))
    }

    @Test func badVariableIsUsageError() {
        let result = runInProcess(["expr", "cycle > 1", "--var", "cycle"])
        #expect(result.status == 2)
    }
}

@Suite struct NegativeValueArgumentTests {
    @Test func aLeadingMinusNumberIsAnExpressionNotAnOption() throws {
        let result = runInProcess(["expr", "-1 + 3"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try JSONParser.parse(result.stdout)["value"] == .int(2))
        #expect(runInProcess(["expr", "-x"]).status == 2)
    }
}
