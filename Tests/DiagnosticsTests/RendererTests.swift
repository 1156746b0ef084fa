import Diagnostics
import JSON
import Testing

@Suite struct RendererTests {
    let source = SourceFile(path: "wf.yaml", text: "kind: Workflow\nspec:\n  capture: x\n")
    var finding: Diagnostic {
        Diagnostic.error(
            "unknown-key", "unknown key `capture` in a step", file: "wf.yaml",
            range: SourceRange(
                start: SourceLocation(line: 3, column: 3, offset: 23), end: SourceLocation(line: 3, column: 10, offset: 30)),
            help: "did you mean `behavior.captures`?")
    }

    @Test func textShowsLineCaretAndHelp() {
        let text = DiagnosticRenderer(sources: [source]).render([finding], format: .text, files: 1)
        #expect(text == """
            wf.yaml:3:3: error: unknown key `capture` in a step [unknown-key]
                3 |   capture: x
                  |   ^~~~~~~
                  = help: did you mean `behavior.captures`?
            1 error, 0 warnings in 1 file

            """)
    }

    @Test func jsonHasTheContractShape() throws {
        let text = DiagnosticRenderer().render([finding], format: .json, files: 2)
        let value = try JSONParser.parse(text)
        let first = value["diagnostics"]?.arrayValue?.first
        #expect(first?["line"] == .int(3))
        #expect(first?["column"] == .int(3))
        #expect(first?["endColumn"] == .int(10))
        #expect(first?["rule"] == .string("unknown-key"))
        #expect(value["summary"]?["errors"] == .int(1))
        #expect(value["summary"]?["files"] == .int(2))
    }

    @Test func githubEscapesAndPositions() {
        var diagnostic = finding
        diagnostic.message = "bad: 100%\nnext"
        let text = DiagnosticRenderer().render([diagnostic], format: .github, files: 1)
        #expect(text.hasPrefix("::error file=wf.yaml,line=3,col=3,"))
        #expect(text.contains("title=unknown-key::bad: 100%25%0Anext"))
    }

    @Test func sarifListsRulesAndRegions() throws {
        let rules = [RuleDescription(id: "unknown-key", summary: "keys must be known", defaultSeverity: .error)]
        let text = DiagnosticRenderer(rules: rules).render([finding], format: .sarif, files: 1)
        let log = try JSONParser.parse(text)
        #expect(log["version"] == .string("2.1.0"))
        let run = log["runs"]?.arrayValue?.first
        #expect(run?["tool"]?["driver"]?["rules"]?.arrayValue?.first?["shortDescription"]?["text"] == .string("keys must be known"))
        let region = run?["results"]?.arrayValue?.first?["locations"]?.arrayValue?.first?["physicalLocation"]?["region"]
        #expect(region?["startLine"] == .int(3))
        #expect(region?["startColumn"] == .int(3))
    }

    @Test func sortedByFileLineColumn() {
        let a = Diagnostic.warning("x", "later", file: "a.yaml", range: SourceRange(at: SourceLocation(line: 5, column: 1, offset: 40)))
        let b = Diagnostic.error("y", "earlier", file: "a.yaml", range: SourceRange(at: SourceLocation(line: 2, column: 4, offset: 10)))
        let c = Diagnostic.error("z", "other file", file: "0.yaml", range: SourceRange(at: SourceLocation(line: 9, column: 1, offset: 90)))
        let text = DiagnosticRenderer().render([a, b, c], format: .github, files: 2)
        let order = text.split(separator: "\n").map { String($0.split(separator: "::").last ?? "") }
        #expect(order == ["other file", "earlier", "later"])
    }

    @Test func locationOfOffsetCountsScalars() {
        let file = SourceFile(path: "u.yaml", text: "a: é\nb: ü x\n")
        let location = file.location(ofOffset: Array("a: é\nb: ü ".utf8).count)
        #expect(location.line == 2)
        #expect(location.column == 6)
    }

    @Test func suggestionsFindCloseWords() {
        #expect(Suggestions.closest(to: "Workspce", in: ["Workspace", "Workflow", "Agent"]) == "Workspace")
        #expect(Suggestions.closest(to: "zzz", in: ["Workspace", "Agent"]) == nil)
    }
}

@Suite struct JSONTests {
    @Test func roundTripKeepsKeyOrderAndTypes() throws {
        let text = #"{"b":1,"a":[true,null,1.5,"x\n\u00e9"],"c":{}}"#
        let value = try JSONParser.parse(text)
        #expect(JSONWriter().string(value) == #"{"b":1,"a":[true,null,1.5,"x\né"],"c":{}}"#)
    }

    @Test func rejectsBadInputWithOffset() {
        #expect(throws: JSONParseError.self) { try JSONParser.parse("[1, 2") }
        #expect(throws: JSONParseError.self) { try JSONParser.parse("{\"a\" 1}") }
        #expect(throws: JSONParseError.self) { try JSONParser.parse(String(repeating: "[", count: 10_000)) }
    }

    @Test func parsesBackToBackValues() throws {
        let values = try JSONParser.parseSequence(Array("{\"a\":1}\n[2]\n\"s\"".utf8))
        #expect(values.count == 3)
    }

    @Test func semanticEqualityComparesNumbersByValue() throws {
        #expect(JSONValue.int(1).semanticallyEquals(.double(1.0)))
        #expect(try JSONParser.parse(#"{"a":1,"b":2}"#).semanticallyEquals(try JSONParser.parse(#"{"b":2,"a":1}"#)))
    }
}
