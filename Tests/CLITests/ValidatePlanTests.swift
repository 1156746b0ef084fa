import CLI
import JSON
import Testing

/// Runs `orchestrator ARGS` in-process with `stdin`.
private func run(_ arguments: [String], stdin: String = "") -> (status: CLI.ExitStatus, stdout: String, stderr: String) {
    let context = CommandContext.captured(stdin: Array(stdin.utf8))
    let status = Orchestrator.main(arguments, context: context)
    return (status, context.stdout.text, context.stderr.text)
}

/// The 1-based line and column of the first occurrence of `marker` (after `after`, if given).
private func position(of marker: String, in text: String, after: String? = nil) -> (line: Int, column: Int)? {
    var searchFrom = text.startIndex
    if let after, let found = text[...].firstRange(of: after) { searchFrom = found.upperBound }
    guard let found = text[searchFrom...].firstRange(of: marker) else { return nil }
    var line = 1
    var column = 1
    for character in text[text.startIndex..<found.lowerBound] {
        if character == "\n" { line += 1; column = 1 } else { column += 1 }
    }
    return (line, column)
}


/// An agent serving `implement` and a template, used by the broken workflows below.
private let basis = """
    apiVersion: orchestrator.dev/v2
    kind: Agent
    metadata:
      name: coder
    spec:
      command: echo "{prompt}"
      capabilities:
        - implement
        - review
    ---
    apiVersion: orchestrator.dev/v2
    kind: StepTemplate
    metadata:
      name: implement
    spec:
      prompt: Implement {goal}.
    ---

    """

private func workflow(_ body: String, name: String = "wf") -> String {
    basis + "apiVersion: orchestrator.dev/v2\nkind: Workflow\nmetadata:\n  name: \(name)\nspec:\n" + body
}

/// One finding of `validate --format json`.
private struct Finding {
    var rule: String
    var severity: String
    var line: Int
    var column: Int
    var message: String
}

private func findings(_ json: String) -> [Finding] {
    guard let value = try? JSONParser.parse(json), let list = value["diagnostics"]?.arrayValue else { return [] }
    return list.compactMap { item in
        guard let rule = item["rule"]?.stringValue, let severity = item["severity"]?.stringValue,
            case .int(let line)? = item["line"], case .int(let column)? = item["column"]
        else { return nil }
        return Finding(rule: rule, severity: severity, line: Int(line), column: Int(column), message: item["message"]?.stringValue ?? "")
    }
}

@Suite struct ValidateCommandTests {
    /// One broken manifest per compiler diagnostic class: the rule, where, and the exit code.
    struct Case: Sendable, CustomTestStringConvertible {
        var rule: String
        var manifest: String
        /// Where the finding must point: the first occurrence of `marker` (after `after`).
        var marker: String
        var after: String?
        var exit: CLI.ExitStatus = .findings
        /// Run with `--strict` (a reference the files do not resolve is otherwise a warning).
        var strict = false
        var testDescription: String { rule }
    }

    static let cases: [Case] = [
        Case(
            rule: "unresolved-reference",
            manifest: workflow("  steps:\n    - id: implement\n      template: implemnt\n"),
            marker: "implemnt", strict: true),
        Case(
            rule: "capability-not-served",
            manifest: workflow("  steps:\n    - id: deploy\n      required_capability: deploy\n"),
            marker: "deploy", after: "required_capability: ", strict: true),
        Case(
            rule: "duplicate-step-id",
            manifest: workflow("  steps:\n    - id: implement\n    - id: implement\n"),
            marker: "implement", after: "- id: implement\n    - id: "),
        Case(
            rule: "duplicate-resource",
            manifest: basis + "apiVersion: orchestrator.dev/v2\nkind: StepTemplate\nmetadata:\n  name: implement\nspec:\n  prompt: again\n",
            marker: "implement", after: "prompt: Implement {goal}."),
        Case(
            rule: "profile-on-non-agent-step",
            manifest: workflow("  steps:\n    - id: build\n      command: make\n      execution_profile: host\n"),
            marker: "host", after: "execution_profile: "),
        Case(
            rule: "profile-fs-mode-needs-sandbox",
            manifest: "apiVersion: orchestrator.dev/v2\nkind: ExecutionProfile\nmetadata:\n  name: p\nspec:\n  fs_mode: workspace_readonly\n",
            marker: "workspace_readonly"),
        Case(
            rule: "profile-empty-allowlist",
            manifest: "apiVersion: orchestrator.dev/v2\nkind: ExecutionProfile\nmetadata:\n  name: p\nspec:\n  mode: sandbox\n  network_mode: allowlist\n",
            marker: "allowlist"),
        Case(
            rule: "expr-syntax",
            manifest: workflow("  steps:\n    - id: implement\n      prehook:\n        when: \"cycle > && is_last_cycle\"\n"),
            marker: "&&"),
        Case(
            rule: "expr-type",
            manifest: workflow("  steps:\n    - id: implement\n      prehook:\n        when: cycle + 1\n"),
            marker: "cycle + 1"),
        Case(
            rule: "undefined-variable",
            manifest: workflow("  steps:\n    - id: implement\n      prehook:\n        when: is_last_cycle && ticket_count > 0\n"),
            marker: "ticket_count", exit: .success),
        Case(
            rule: "fixed-loop-without-max-cycles",
            manifest: workflow("  steps:\n    - id: implement\n  loop:\n    mode: fixed\n"),
            marker: "fixed"),
        Case(
            rule: "max-cycles-not-positive",
            manifest: workflow("  steps:\n    - id: implement\n  loop:\n    mode: fixed\n    max_cycles: 0\n"),
            marker: "0", after: "max_cycles: "),
        Case(
            rule: "loop-cannot-end",
            manifest: workflow("  steps:\n    - id: implement\n  loop:\n    mode: infinite\n"),
            marker: "infinite"),
        Case(
            rule: "self-referential-unsafe",
            manifest: "apiVersion: orchestrator.dev/v2\nkind: Workspace\nmetadata:\n  name: self\nspec:\n  root_path: .\n  self_referential: true\n---\n"
                + workflow("  steps:\n    - id: implement\n      builtin: self_test\n  safety:\n    auto_rollback: false\n    checkpoint_strategy: git_tag\n"),
            marker: "false", after: "auto_rollback: "),
    ]

    @Test(arguments: cases)
    func brokenManifest(_ test: Case) throws {
        let result = run(["validate", "-f", "-", "--format", "json"] + (test.strict ? ["--strict"] : []), stdin: test.manifest)
        #expect(result.status == test.exit, "\(result.stdout)\(result.stderr)")
        let found = findings(result.stdout).filter { $0.rule == test.rule }
        let expected = try #require(position(of: test.marker, in: test.manifest, after: test.after))
        #expect(found.count == 1, "\(result.stdout)")
        let first = try #require(found.first)
        #expect(first.line == expected.line && first.column == expected.column, "\(first) expected \(expected)")
        // Nothing else is wrong with these manifests.
        let others = findings(result.stdout).filter { $0.rule != test.rule && $0.severity == "error" }
        #expect(others.isEmpty, "\(others)")
    }

    @Test func cleanManifestPrintsOneLineSummary() {
        let manifest = workflow("  steps:\n    - id: implement\n      template: implement\n")
        let result = run(["validate", "-f", "-"], stdin: manifest)
        #expect(result.status == .success)
        #expect(result.stderr.isEmpty)
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.count == 1)
        #expect(result.stdout.hasPrefix("valid: 3 resources (1 workflow) in 1 file"))
    }

    @Test func errorsExitOne() {
        let result = run(["validate", "-f", "-", "--strict"], stdin: workflow("  steps:\n    - id: deploy\n"))
        #expect(result.status == .findings)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.contains("[capability-not-served]"))
        #expect(result.stderr.contains("1 error, 0 warnings in 1 file"))
    }

    @Test func everyFormatRendersTheSameFindings() throws {
        let manifest = workflow(
            "  steps:\n    - id: implement\n      template: implemnt\n      prehook:\n        when: is_last_cycle && ticket_count > 0\n    - id: deploy\n")
        let json = run(["validate", "-f", "-", "--format", "json", "--strict"], stdin: manifest)
        let text = run(["validate", "-f", "-", "--format", "text", "--strict"], stdin: manifest)
        let sarif = run(["validate", "-f", "-", "--format", "sarif", "--strict"], stdin: manifest)
        let github = run(["validate", "-f", "-", "--format", "github", "--strict"], stdin: manifest)
        for result in [json, text, sarif, github] { #expect(result.status == .findings) }
        let reference = findings(json.stdout).map { "\($0.rule)@\($0.line):\($0.column)" }
        #expect(reference.count == 3)

        // text: `PATH:LINE:COL: severity: MESSAGE [RULE]`
        let textFindings = text.stderr.split(separator: "\n").compactMap { line -> String? in
            guard line.hasPrefix("<stdin>:"), let open = line.lastIndex(of: "["), line.hasSuffix("]") else { return nil }
            let parts = line.split(separator: ":")
            let rule = line[line.index(after: open)..<line.index(before: line.endIndex)]
            return "\(rule)@\(parts[1]):\(parts[2])"
        }
        #expect(textFindings == reference)

        // github: `::error file=PATH,line=L,col=C,...,title=RULE::MESSAGE`
        let githubFindings = github.stdout.split(separator: "\n").compactMap { line -> String? in
            var properties: [String: String] = [:]
            let header = line.split(separator: "::")[0].split(separator: " ").dropFirst().joined(separator: " ")
            for property in header.split(separator: ",") {
                let pair = property.split(separator: "=", maxSplits: 1).map(String.init)
                if pair.count == 2 { properties[pair[0]] = pair[1] }
            }
            guard let rule = properties["title"], let l = properties["line"], let c = properties["col"] else { return nil }
            return "\(rule)@\(l):\(c)"
        }
        #expect(githubFindings == reference)

        // sarif: runs[0].results[].{ruleId, locations[0].physicalLocation.region}
        let log = try JSONParser.parse(sarif.stdout)
        let results = try #require(log["runs"]?.arrayValue?.first?["results"]?.arrayValue)
        let sarifFindings = results.compactMap { result -> String? in
            guard let rule = result["ruleId"]?.stringValue,
                let region = result["locations"]?.arrayValue?.first?["physicalLocation"]?["region"],
                case .int(let l)? = region["startLine"], case .int(let c)? = region["startColumn"]
            else { return nil }
            return "\(rule)@\(l):\(c)"
        }
        #expect(sarifFindings == reference)
    }

    @Test func sarifIsSARIF210() throws {
        let manifest = workflow("  steps:\n    - id: implement\n      template: implemnt\n")
        let result = run(["validate", "-f", "-", "--format", "sarif", "--strict"], stdin: manifest)
        let log = try JSONParser.parse(result.stdout)
        #expect(log["version"]?.stringValue == "2.1.0")
        #expect(log["$schema"]?.stringValue?.contains("sarif-2.1.0") == true)
        let runs = try #require(log["runs"]?.arrayValue)
        #expect(runs.count == 1)
        let driver = try #require(runs[0]["tool"]?["driver"])
        #expect(driver["name"]?.stringValue == "orchestrator")
        let rules = try #require(driver["rules"]?.arrayValue)
        let ruleIDs = rules.compactMap { $0["id"]?.stringValue }
        #expect(Set(ruleIDs).count == ruleIDs.count, "rule ids are listed once")
        #expect(ruleIDs.contains("unresolved-reference"))
        #expect(ruleIDs.contains("expr-syntax"))
        #expect(ruleIDs.contains("loop-cannot-end"))
        for rule in rules { #expect(rule["shortDescription"]?["text"]?.stringValue != nil) }
        let results = try #require(runs[0]["results"]?.arrayValue)
        #expect(results.count == 1)
        for result in results {
            let rule = try #require(result["ruleId"]?.stringValue)
            guard case .int(let index)? = result["ruleIndex"] else {
                Issue.record("ruleIndex missing")
                continue
            }
            #expect(ruleIDs[Int(index)] == rule)
            #expect(["error", "warning", "note", "none"].contains(result["level"]?.stringValue ?? ""))
            #expect(result["message"]?["text"]?.stringValue != nil)
            let location = result["locations"]?.arrayValue?.first?["physicalLocation"]
            #expect(location?["artifactLocation"]?["uri"]?.stringValue == "<stdin>")
        }
    }

    @Test func usageErrors() {
        #expect(run(["validate"]).status == .usage)
        #expect(run(["validate", "x.yaml"]).status == .usage)
        #expect(run(["validate", "-f", "/nonexistent.yaml"]).status == .usage)
        #expect(run(["validate", "-f", "-", "--format", "xml"], stdin: basis).status == .usage)
    }

    @Test func deploymentReferencesMissingFromTheFilesAreWarnings() {
        let manifest = basis.replacingFirst("  capabilities:", with: "  env:\n    - fromRef: secrets\n  capabilities:")
            + "apiVersion: orchestrator.dev/v2\nkind: Workflow\nmetadata:\n  name: wf\nspec:\n  steps:\n    - id: implement\n      execution_profile: sandbox_write\n"
        let result = run(["validate", "-f", "-", "--format", "json"], stdin: manifest)
        #expect(result.status == .success)
        let found = findings(result.stdout)
        #expect(found.map(\.rule) == ["unresolved-reference", "unresolved-reference"])
        #expect(found.allSatisfy { $0.severity == "warning" })
    }

    @Test func corpusValidatesWithoutCrash() throws {
        guard let shared = sharedDirectory else {
            print("skipped: ../shared/corpus/anchor is not present")
            return
        }
        let result = run(["validate", "-f", shared + "/corpus/anchor", "--format", "json"])
        #expect(result.status == .findings || result.status == .success)
        let value = try JSONParser.parse(result.stdout)
        #expect(value["summary"]?["files"] == .int(62))
    }
}

extension Substring {
    /// The first range where `target` occurs (no Foundation).
    fileprivate func firstRange(of target: String) -> Range<Substring.Index>? {
        guard !target.isEmpty else { return nil }
        var index = startIndex
        while index < endIndex {
            if self[index...].hasPrefix(target) {
                return index..<self.index(index, offsetBy: target.count)
            }
            index = self.index(after: index)
        }
        return nil
    }
}

extension String {
    fileprivate func replacingFirst(_ target: String, with replacement: String) -> String {
        guard let found = self[...].firstRange(of: target) else { return self }
        return String(self[..<found.lowerBound]) + replacement + String(self[found.upperBound...])
    }
}

@Suite struct PlanCommandTests {
    static let selfBootstrap = sharedDirectory.map { $0 + "/corpus/anchor/docs/workflow/self-bootstrap.yaml" }

    private func decisions(_ cycle: JSONValue) -> [String: String] {
        var out: [String: String] = [:]
        for step in cycle["steps"]?.arrayValue ?? [] {
            if let id = step["id"]?.stringValue, let decision = step["decision"]?.stringValue { out[id] = decision }
        }
        return out
    }

    private func step(_ cycle: JSONValue, _ id: String) -> JSONValue? {
        cycle["steps"]?.arrayValue?.first { $0["id"]?.stringValue == id }
    }

    /// Theirs (the corpus, when present) and ours (manifests/self-bootstrap.yaml) plan alike.
    static let selfBootstrapCases: [(path: String?, qaUnknowns: [String])] = [
        (selfBootstrap, ["qa_file_path", "self_referential_safe", "self_referential_safe_scenarios", "regression_target_ids"]),
        (packageRoot + "/manifests/self-bootstrap.yaml", ["qa_file_path", "regression_target_ids"]),
    ]

    @Test(arguments: selfBootstrapCases)
    func selfBootstrapPlan(path: String?, expectedQAUnknowns: [String]) throws {
        guard let path else {
            print("skipped: ../shared/corpus/anchor is not present")
            return
        }
        let result = run(["plan", "-f", path, "-o", "json"])
        #expect(result.status == .success, "\(result.stderr)")
        let plan = try JSONParser.parse(result.stdout)
        #expect(plan["workflow"]?.stringValue == "self-bootstrap")
        #expect(plan["loop"]?["mode"]?.stringValue == "fixed")
        #expect(plan["loop"]?["maxCycles"] == .int(2))
        let cycles = try #require(plan["cycles"]?.arrayValue)
        #expect(cycles.count == 2)

        #expect(
            decisions(cycles[0]) == [
                "plan": "run", "qa_doc_gen": "run", "implement": "run", "self_test": "run", "self_restart": "run",
                "qa_testing": "skip", "ticket_fix": "skip", "align_tests": "skip", "doc_governance": "skip",
                "loop_guard": "run",
            ])
        for id in ["qa_testing", "ticket_fix", "align_tests", "doc_governance"] {
            #expect(step(cycles[0], id)?["reason"]?.stringValue == "prehook_false: is_last_cycle is false", "cycle 1 \(id)")
        }
        #expect(
            decisions(cycles[1]) == [
                "plan": "skip", "qa_doc_gen": "skip", "implement": "run", "self_test": "run", "self_restart": "skip",
                "qa_testing": "conditional", "ticket_fix": "conditional", "align_tests": "run", "doc_governance": "run",
                "loop_guard": "run",
            ])
        for id in ["plan", "qa_doc_gen", "self_restart"] {
            #expect(step(cycles[1], id)?["reason"]?.stringValue == "not_repeatable: runs in cycle 1 only", "cycle 2 \(id)")
        }
        let qaUnknowns = step(cycles[1], "qa_testing")?["unknowns"]?.arrayValue?.compactMap(\.stringValue)
        #expect(qaUnknowns == expectedQAUnknowns)
        let fixUnknowns = step(cycles[1], "ticket_fix")?["unknowns"]?.arrayValue?.compactMap(\.stringValue)
        #expect(fixUnknowns == ["qa_file_path", "active_ticket_count"])
        // In cycle 1 nothing is conditional; where cycle 2 runs a step no variable is unknown.
        for cycle in cycles {
            for planned in cycle["steps"]?.arrayValue ?? [] where planned["decision"]?.stringValue != "conditional" {
                #expect(planned["unknowns"] == .array([]))
            }
        }

        let steps = try #require(plan["steps"]?.arrayValue)
        let guards = steps.filter { $0["guard"] == .bool(true) }.compactMap { $0["id"]?.stringValue }
        #expect(guards == ["loop_guard"])
        let loopGuard = try #require(steps.first { $0["id"]?.stringValue == "loop_guard" })
        #expect(loopGuard["kind"]?.stringValue == "builtin")
        #expect(loopGuard["segment"] == .null)
        let segments = try #require(plan["segments"]?.arrayValue)
        #expect(segments.map { $0["scope"]?.stringValue ?? "" } == ["task", "item", "task"])
        #expect(segments[1]["steps"]?.arrayValue?.compactMap(\.stringValue) == ["qa_testing", "ticket_fix"])
        #expect(segments[1]["maxParallel"] == .int(2))
        let planStep = try #require(steps.first { $0["id"]?.stringValue == "plan" })
        #expect(planStep["agent"]?.stringValue == "architect")
        #expect(planStep["template"]?.stringValue == "plan")
    }

    @Test func jsonHasExactlyTheSpecKeys() throws {
        let manifest = workflow("  steps:\n    - id: implement\n      template: implement\n")
        let result = run(["plan", "-f", "-", "-o", "json"], stdin: manifest)
        #expect(result.status == .success, "\(result.stderr)")
        let plan = try JSONParser.parse(result.stdout)
        func keys(_ value: JSONValue?) -> [String] {
            if case .object(let pairs)? = value { return pairs.map(\.key) }
            return []
        }
        #expect(keys(plan) == ["workflow", "project", "loop", "steps", "segments", "cycles"])
        #expect(keys(plan["loop"]) == ["mode", "maxCycles"])
        #expect(
            keys(plan["steps"]?.arrayValue?.first)
                == ["id", "kind", "scope", "segment", "repeatable", "guard", "capability", "agent", "template", "onFailure", "prehook"])
        #expect(keys(plan["segments"]?.arrayValue?.first) == ["index", "scope", "steps", "maxParallel"])
        #expect(keys(plan["cycles"]?.arrayValue?.first) == ["cycle", "steps"])
        #expect(keys(plan["cycles"]?.arrayValue?.first?["steps"]?.arrayValue?.first) == ["id", "decision", "reason", "unknowns"])
    }

    @Test func infiniteLoopWithoutMaxCyclesUnrollsCyclesOption() throws {
        let manifest = workflow(
            "  steps:\n    - id: implement\n    - id: loop_guard\n      builtin: loop_guard\n  loop:\n    mode: infinite\n")
        let defaultRun = run(["plan", "-f", "-", "-o", "json"], stdin: manifest)
        #expect(defaultRun.status == .success, "\(defaultRun.stderr)")
        let plan = try JSONParser.parse(defaultRun.stdout)
        #expect(plan["cycles"]?.arrayValue?.count == 3)
        #expect(plan["loop"]?["maxCycles"] == .null)
        let five = try JSONParser.parse(run(["plan", "-f", "-", "-o", "json", "--cycles", "5"], stdin: manifest).stdout)
        #expect(five["cycles"]?.arrayValue?.count == 5)
        let text = run(["plan", "-f", "-"], stdin: manifest)
        #expect(text.stdout.contains("the plan shows the first 3 cycles"))
        // For a bounded loop --cycles caps what is shown.
        let fixed = manifest.replacingFirst("mode: infinite", with: "mode: fixed\n    max_cycles: 10")
        let capped = try JSONParser.parse(run(["plan", "-f", "-", "-o", "json", "--cycles", "2"], stdin: fixed).stdout)
        #expect(capped["cycles"]?.arrayValue?.count == 2)
        #expect(capped["loop"]?["maxCycles"] == .int(10))
    }

    @Test func aHugeCycleLimitIsSummarisedNotUnrolled() throws {
        let steps = "  steps:\n    - id: implement\n    - id: review\n      prehook:\n        when: is_last_cycle\n"
        for mode in ["fixed", "infinite"] {
            let manifest = workflow(steps + "  loop:\n    mode: \(mode)\n    max_cycles: 4294967295\n")
            let result = run(["plan", "-f", "-", "-o", "json"], stdin: manifest)
            #expect(result.status == .success, "\(result.stderr)")
            // Bounded output (and so bounded memory): four cycles and the range they stand for.
            #expect(result.stdout.utf8.count < 20_000, "\(result.stdout.utf8.count) bytes")
            let plan = try JSONParser.parse(result.stdout)
            #expect(plan["cycles"]?.arrayValue?.map { $0["cycle"] } == [.int(1), .int(2), .int(3), .int(4_294_967_295)])
            #expect(plan["repeatedCycles"]?["first"] == .int(4))
            #expect(plan["repeatedCycles"]?["last"] == .int(4_294_967_294))
            #expect(plan["repeatedCycles"]?["sameAs"] == .int(3))
            // The last cycle is really planned: `review` runs there only.
            let last = plan["cycles"]?.arrayValue?.last
            #expect(last?["steps"]?.arrayValue?.last?["decision"] == .string("run"))
            #expect(plan["cycles"]?.arrayValue?[2]["steps"]?.arrayValue?.last?["decision"] == .string("skip"))
            let text = run(["plan", "-f", "-"], stdin: manifest)
            #expect(text.stdout.contains("cycles 4-4294967294: as cycle 3"), "\(text.stdout)")
        }
    }

    @Test func aHugeLoopWhosePrehookReadsTheCycleShowsABoundedPrefix() throws {
        let manifest = workflow(
            "  steps:\n    - id: implement\n      prehook:\n        when: cycle % 2 == 0\n  loop:\n    mode: fixed\n    max_cycles: 2147483648\n")
        let result = run(["plan", "-f", "-", "-o", "json"], stdin: manifest)
        #expect(result.status == .success, "\(result.stderr)")
        let plan = try JSONParser.parse(result.stdout)
        #expect(plan["cycles"]?.arrayValue?.count == 1_000)
        #expect(plan["repeatedCycles"] == nil)
        #expect(run(["plan", "-f", "-"], stdin: manifest).stdout.contains("the plan shows the first 1000 cycles"))
    }

    @Test func severalWorkflowsGiveAnArray() throws {
        let manifest = workflow("  steps:\n    - id: implement\n", name: "one")
            + "---\napiVersion: orchestrator.dev/v2\nkind: Workflow\nmetadata:\n  name: two\nspec:\n  steps:\n    - id: implement\n"
        let all = try JSONParser.parse(run(["plan", "-f", "-", "-o", "json"], stdin: manifest).stdout)
        #expect(all.arrayValue?.compactMap { $0["workflow"]?.stringValue } == ["one", "two"])
        let one = try JSONParser.parse(run(["plan", "-f", "-", "-o", "json", "--workflow", "two"], stdin: manifest).stdout)
        #expect(one["workflow"]?.stringValue == "two")
        let missing = run(["plan", "-f", "-", "--workflow", "tow"], stdin: manifest)
        #expect(missing.status == .usage)
        #expect(missing.stderr.contains("did you mean `two`"))
    }

    @Test func planWithErrorsExitsOne() {
        let result = run(["plan", "-f", "-", "--strict"], stdin: workflow("  steps:\n    - id: deploy\n"))
        #expect(result.status == .findings)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.contains("[capability-not-served]"))
    }

    @Test func textAndGraphOutputs() throws {
        guard let path = PlanCommandTests.selfBootstrap else {
            print("skipped: ../shared/corpus/anchor is not present")
            return
        }
        let text = run(["plan", "-f", path])
        #expect(text.status == .success)
        #expect(text.stdout.contains("cycle 1 of 2"))
        #expect(text.stdout.contains("prehook_false: is_last_cycle is false"))
        #expect(text.stdout.contains("not_repeatable"))
        let dot = run(["plan", "-f", path, "-o", "dot"])
        #expect(dot.stdout.hasPrefix("digraph \"self-bootstrap\" {"))
        #expect(dot.stdout.contains("subgraph cluster_2"))
        #expect(dot.stdout.contains("\"step:loop_guard\" -> \"step:plan\" [style=dashed"))
        #expect(dot.stdout.contains("c1 skip (prehook_false)"))
        let mermaid = run(["plan", "-f", path, "-o", "mermaid"])
        #expect(mermaid.stdout.contains("flowchart LR"))
        #expect(mermaid.stdout.contains("s_loop_guard -. next cycle .-> s_plan"))
        #expect(mermaid.stdout.contains("c2 conditional"))
    }
}
