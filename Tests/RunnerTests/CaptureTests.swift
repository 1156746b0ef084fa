import Foundation
import JSON
import Manifest
import Runner
import Testing

private func json(_ text: String) -> JSONValue {
    (try? JSONParser.parse(text)) ?? .string("<invalid test JSON>")
}

@Suite struct JSONPathTests {
    let document = json(#"{"a": {"b": [10, 20, 30]}, "regression_targets": [{"id": "x.md", "n": 1}, {"id": "y.md"}, {"name": "no id"}], "k.e y": true}"#)

    @Test func pathsResolve() throws {
        #expect(try JSONPath("$").evaluate(document) == document)
        #expect(try JSONPath("$.a.b[0]").evaluate(document) == .int(10))
        #expect(try JSONPath("$.a.b[-1]").evaluate(document) == .int(30))
        #expect(try JSONPath("$['k.e y']").evaluate(document) == .bool(true))
        #expect(try JSONPath("$.regression_targets[*].id").evaluate(document) == json(#"["x.md", "y.md"]"#))
        #expect(try JSONPath("$.regression_targets[*]").evaluate(document) == document["regression_targets"])
        #expect(try JSONPath("$.a.*").evaluate(document) == json("[[10, 20, 30]]"))
        #expect(try JSONPath("$.a.b[*]").evaluate(json(#"{"a": {"b": []}}"#)) == .array([]))
    }

    @Test func pathsThatDoNotResolve() throws {
        #expect(try JSONPath("$.missing").evaluate(document) == nil)
        #expect(try JSONPath("$.a.b[3]").evaluate(document) == nil)
        #expect(try JSONPath("$.a.b.c").evaluate(document) == nil)
        #expect(try JSONPath("$.a[0]").evaluate(document) == nil)
        #expect(try JSONPath("$.missing[*].id").evaluate(document) == nil)
        #expect(try JSONPath("$.a.b[0][*]").evaluate(document) == nil)
    }

    @Test func invalidPaths() {
        for bad in ["a.b", "$.", "$[", "$[x]", "$.a[0", "$a", "$['open]"] {
            #expect(throws: JSONPathError.self, "\(bad)") { try JSONPath(bad) }
        }
        #expect(throws: JSONPathError(path: "a.b", offset: 0, message: "a JSON path starts with `$`")) { try JSONPath("a.b") }
    }
}

@Suite struct JSONOutputTests {
    @Test func wholeOutput() {
        #expect(JSONOutput.extract(from: "  {\"a\": 1}\n") == json(#"{"a": 1}"#))
        #expect(JSONOutput.extract(from: "[1, 2]") == json("[1, 2]"))
    }

    @Test func lastJSONLineAfterLogNoise() {
        let output = "Compiling...\n{\"type\": \"progress\"}\nwarning: x\n{\"type\": \"result\", \"score\": 3}\ndone.\n"
        #expect(JSONOutput.extract(from: output) == json(#"{"type": "result", "score": 3}"#))
    }

    @Test func fencedBlock() throws {
        // The output of a real fixture (qa83-s2-fenced-block).
        let output =
            "Here are the regression targets:\n\n```json\n{\n  \"regression_targets\": [\n    {\"id\": \"doc-a\", \"name\": \"Doc A\"},\n    {\"id\": \"doc-b\", \"name\": \"Doc B\"}\n  ]\n}\n```"
        let value = JSONOutput.extract(from: output)
        #expect(try JSONPath("$.regression_targets[*].id").evaluate(value ?? .null) == json(#"["doc-a", "doc-b"]"#))
    }

    @Test func noJSON() {
        #expect(JSONOutput.extract(from: "all good\n") == nil)
        #expect(JSONOutput.extract(from: "") == nil)
        #expect(JSONOutput.extract(from: "{not json}\n") == nil)
    }
}

@Suite struct CaptureTests {
    let facts = StepFacts(
        exitCode: 2,
        stdout: "log line\n{\"total_score\": 0.75, \"regression_targets\": [{\"id\": \"a.md\"}, {\"id\": \"b.md\"}], \"ok\": true, \"summary\": \"done\"}\n",
        stderr: "42\n")

    @Test func sources() {
        let values = Captures.evaluate(
            [
                CaptureRule(variable: "code", source: .exit_code), CaptureRule(variable: "failed", source: .failed_flag),
                CaptureRule(variable: "passed", source: .success_flag), CaptureRule(variable: "err", source: .stderr),
            ], facts: facts)
        #expect(values.map(\.value) == [.int(2), .bool(true), .bool(false), .int(42)])
        #expect(values.map(\.text) == ["2", "true", "false", "42"])
        #expect(values.allSatisfy { $0.problem == nil })
        let success = Captures.evaluate(CaptureRule(variable: "s", source: .success_flag), facts: StepFacts(exitCode: 0, stdout: "", stderr: ""))
        #expect(success.value == .bool(true))
    }

    @Test func jsonPathsAreTyped() {
        func capture(_ path: String) -> CapturedValue {
            Captures.evaluate(CaptureRule(variable: "v", source: .stdout, jsonPath: path), facts: facts)
        }
        #expect(capture("$.total_score").value == .double(0.75))
        #expect(capture("$.ok").value == .bool(true))
        #expect(capture("$.summary").value == .string("done"))
        let ids = capture("$.regression_targets[*].id")
        #expect(ids.value == json(#"["a.md", "b.md"]"#))
        #expect(ids.text == #"["a.md","b.md"]"#)
        #expect(ids.problem == nil)
    }

    @Test func unresolvedPathsAreEmptyAndReported() {
        let missing = Captures.evaluate(CaptureRule(variable: "v", source: .stdout, jsonPath: "$.nope"), facts: facts)
        #expect(missing.value == .string("") && missing.text == "")
        #expect(missing.problem == "json_path $.nope does not resolve in the JSON of stdout")
        let notJSON = Captures.evaluate(
            CaptureRule(variable: "v", source: .stdout, jsonPath: "$.a"), facts: StepFacts(exitCode: 0, stdout: "plain", stderr: ""))
        #expect(notJSON.value == .string(""))
        #expect(notJSON.problem == "stdout holds no JSON, so json_path $.a does not resolve")
        let invalid = Captures.evaluate(CaptureRule(variable: "v", source: .stdout, jsonPath: "total"), facts: facts)
        #expect(invalid.value == .string("") && invalid.problem != nil)
    }

    @Test func plainTextIsTypedLikePipelineVariables() {
        #expect(PipelineValue.typed("[1, \"a\"]") == json(#"[1, "a"]"#))
        #expect(PipelineValue.typed("3") == .int(3))
        #expect(PipelineValue.typed("-2.5") == .double(-2.5))
        #expect(PipelineValue.typed("true") == .bool(true))
        #expect(PipelineValue.typed("{\"a\": 1}") == .string("{\"a\": 1}"))
        #expect(PipelineValue.typed("3 apples") == .string("3 apples"))
        #expect(PipelineValue.typed("") == .string(""))
        let text = Captures.evaluate(CaptureRule(variable: "v", source: .stdout), facts: StepFacts(exitCode: 0, stdout: "hello\n\n", stderr: ""))
        #expect(text.value == .string("hello"))
    }

    @Test func fromARealProcessAndTheManifestModel() async throws {
        let dir = TemporaryDirectory("capture")
        let result = try await ProcessLauncher.run(
            dir.request(#"echo "building..."; echo '{"targets": [{"id": "s1"}, {"id": "s2"}]}'; exit 1"#))
        let rule = CaptureRule(
            Capture(
                variable: Located("ids", range: .init(at: .start)), source: Located(.stdout, range: .init(at: .start)),
                jsonPath: Located("$.targets[*].id", range: .init(at: .start))))
        let facts = StepFacts(result: result)
        #expect(facts.exitCode == 1)
        #expect(Captures.evaluate(rule, facts: facts).value == json(#"["s1", "s2"]"#))
        #expect(Captures.evaluate(CaptureRule(variable: "f", source: .failed_flag), facts: facts).value == .bool(true))

        let tail = StepFacts(result: result, readLimit: 10)
        #expect(tail.stdoutTruncated)
        #expect(tail.stdout == ": \"s2\"}]}\n")
    }
}

@Suite struct StepOutputTests {
    @Test func smallOutputIsInlineAndLargeOutputIsAPath() async throws {
        let dir = TemporaryDirectory("output")
        let small = try await ProcessLauncher.run(dir.request("printf 'plan: ok\\n'", name: "small"))
        let inline = StepOutput(step: "plan", stdoutLogPath: small.stdoutLogPath)
        #expect(inline.variables == ["plan_output": "plan: ok\n", "plan_output_path": small.stdoutLogPath])

        let exact = try await ProcessLauncher.run(dir.request("head -c 4096 /dev/zero | tr '\\0' a", name: "exact"))
        #expect(StepOutput(step: "s", stdoutLogPath: exact.stdoutLogPath).inline?.utf8.count == 4096)

        let large = try await ProcessLauncher.run(dir.request("head -c 4097 /dev/zero | tr '\\0' b", name: "large"))
        let spilled = StepOutput(step: "qa_doc_gen", stdoutLogPath: large.stdoutLogPath)
        #expect(spilled.inline == nil)
        #expect(spilled.size == 4097)
        #expect(spilled.variables == ["qa_doc_gen_output_path": large.stdoutLogPath])
        #expect(spilled.fullText() == String(repeating: "b", count: 4097))
    }
}
