import CLI
import Foundation
import JSON
import Testing

private let loopForever = """
    apiVersion: orchestrator.dev/v2
    kind: Workflow
    metadata:
      name: forever
    spec:
      loop:
        mode: infinite
      steps:
        - id: build
          command: make
          max_parallel: 2

    """

private let clean = """
    apiVersion: orchestrator.dev/v2
    kind: Workflow
    metadata:
      name: build
    spec:
      steps:
        - id: build
          command: make

    """

/// `rule line:column` of each finding of `lint --format json` output.
private func findings(_ json: String) -> [String] {
    guard let value = try? JSONParser.parse(json), let list = value["diagnostics"]?.arrayValue else { return ["<no json>"] }
    return list.map { item in
        let rule = item["rule"]?.stringValue ?? "?"
        guard case .int(let line)? = item["line"], case .int(let column)? = item["column"] else { return rule }
        return "\(rule) \(line):\(column)"
    }
}

/// `(id, severity, summary)` of every lint rule, from `lint --list-rules`.
private let lintRules: [(id: String, severity: String, summary: String)] = {
    runInProcess(["lint", "--list-rules"]).stdout.split(separator: "\n").compactMap { line in
        let words = line.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard words.count == 2 else { return nil }
        let rest = words[1].drop(while: { $0 == " " })
        let parts = rest.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2 else { return nil }
        return (String(words[0]), String(parts[0]), String(parts[1].drop(while: { $0 == " " })))
    }
}()

@Suite struct LintCommandTests {
    @Test func cleanFilesExitZero() {
        let result = runInProcess(["lint", "-f", "-"], stdin: clean)
        #expect(result.status == 0)
        #expect(result.stdout == "lint: 1 resource (1 workflow) in 1 file, project default; 0 warnings\n")
        #expect(result.stderr.isEmpty)
    }

    @Test func errorsExitOneWarningsDoNot() {
        let result = runInProcess(["lint", "-f", "-", "--format", "json"], stdin: loopForever)
        #expect(result.status == 1)
        #expect(findings(result.stdout) == ["loop-cannot-end 7:11", "no-effect 11:21"])

        let warningOnly = runInProcess(["lint", "-f", "-", "--disable", "loop-cannot-end"], stdin: loopForever)
        #expect(warningOnly.status == 0)
        #expect(warningOnly.stderr.contains("<stdin>:11:21: warning: `max_parallel` has no effect on step `build`"))
        #expect(warningOnly.stderr.hasSuffix("0 errors, 1 warning in 1 file\n"))
    }

    @Test func validateFindingsAreReportedToo() {
        let text = clean.replacingOccurrences(of: "command: make", with: "comand: make")
        let result = runInProcess(["lint", "-f", "-", "--format", "json"], stdin: text)
        #expect(result.status == 1)
        #expect(findings(result.stdout).contains("unknown-key 8:7"))
    }

    @Test func sarifListsEveryRuleWithItsDescription() throws {
        let result = runInProcess(["lint", "-f", "-", "--format", "sarif"], stdin: loopForever)
        let log = try JSONParser.parse(result.stdout)
        let run = try #require(log["runs"]?.arrayValue?.first)
        let rules = try #require(run["tool"]?["driver"]?["rules"]?.arrayValue)
        var described: [String: String] = [:]
        var explained: [String: String] = [:]
        for rule in rules {
            if let id = rule["id"]?.stringValue {
                described[id] = rule["shortDescription"]?["text"]?.stringValue
                explained[id] = rule["fullDescription"]?["text"]?.stringValue
            }
        }
        #expect(lintRules.count >= 14)
        for rule in lintRules {
            #expect(described[rule.id] == rule.summary, "\(rule.id) is missing or undescribed in tool.driver.rules")
            #expect((explained[rule.id] ?? "").count > 40, "\(rule.id) has no rationale in tool.driver.rules")
        }
        #expect(described["unknown-key"] != nil)
        #expect(rules.count == described.count, "a rule is listed twice")
        let results = try #require(run["results"]?.arrayValue)
        #expect(results.compactMap { $0["ruleId"]?.stringValue } == ["loop-cannot-end", "no-effect"])
        if let index = results.first?["ruleIndex"], case .int(let position) = index {
            #expect(rules[Int(position)]["id"]?.stringValue == "loop-cannot-end")
        }
    }

    @Test func githubFormat() {
        let result = runInProcess(["lint", "-f", "-", "--format", "github"], stdin: loopForever)
        #expect(result.stdout.hasPrefix("::error file=<stdin>,line=7,col=11,"))
        #expect(result.stdout.contains("title=loop-cannot-end::"))
    }

    @Test func inlineSuppression() {
        let text = loopForever.replacingOccurrences(of: "max_parallel: 2", with: "max_parallel: 2  # orchestrator-lint: disable=no-effect")
        let result = runInProcess(["lint", "-f", "-", "--format", "json"], stdin: text)
        #expect(findings(result.stdout) == ["loop-cannot-end 7:11"])
    }

    @Test func configurationFile() throws {
        let directory = try makeTemporaryDirectory("lint")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try writeFile(directory, "wf.yaml", loopForever)
        try writeFile(directory, "lint.yaml", "rules:\n  loop-cannot-end: warning\n  no-effect: off\n")
        let quiet = runInProcess(["lint", "-f", "wf.yaml", "--config", "lint.yaml", "--format", "json"], directory: directory)
        #expect(quiet.status == 0)
        #expect(findings(quiet.stdout) == ["loop-cannot-end 7:11"])
        #expect(quiet.stdout.contains("\"severity\": \"warning\""))

        // --enable wins over the file.
        let enabled = runInProcess(
            ["lint", "-f", "wf.yaml", "--config", "lint.yaml", "--enable", "no-effect", "--format", "json"], directory: directory)
        #expect(findings(enabled.stdout) == ["loop-cannot-end 7:11", "no-effect 11:21"])

        // Mistakes in the file are findings in the file.
        try writeFile(directory, "bad.yaml", "rules:\n  no-efect: off\n")
        let bad = runInProcess(["lint", "-f", "wf.yaml", "--config", "bad.yaml"], directory: directory)
        #expect(bad.status == 1)
        #expect(bad.stderr.contains("bad.yaml:2:3: error: unknown lint rule `no-efect` in the lint configuration [lint-config]"))
        #expect(bad.stderr.contains("  no-efect: off"))
        #expect(bad.stderr.contains("= help: did you mean `no-effect`?"))
    }

    @Test func usageErrors() {
        let unknown = runInProcess(["lint", "-f", "-", "--disable", "no-efect"], stdin: clean)
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains("unknown lint rule `no-efect`"))
        #expect(unknown.stderr.contains("did you mean `no-effect`?"))
        let missing = runInProcess(["lint", "-f", "-", "--config", "/nonexistent/lint.yaml"], stdin: clean)
        #expect(missing.status == 2)
        let nothing = runInProcess(["lint"])
        #expect(nothing.status == 2)
    }

    @Test func listRules() {
        let result = runInProcess(["lint", "--list-rules"])
        #expect(result.status == 0)
        let ids = lintRules.map(\.id)
        for id in ["loop-cannot-end", "guard-not-last", "step-never-runs", "prehook-constant", "undefined-variable", "capture-unused",
            "unknown-placeholder", "prompt-not-delivered", "unused-resource", "secret-in-plain-text", "ignored-gate-failure",
            "self-referential-unsafe", "item-steps-without-items", "no-effect"] {
            #expect(ids.contains(id))
        }
        #expect(Set(lintRules.map(\.severity)).isSubset(of: ["error", "warning", "note"]))
    }

    /// docs/lint.md holds exactly what `lint --rules-markdown` prints, between its markers.
    @Test func docsAreUpToDate() throws {
        let path = packageRoot + "/docs/lint.md"
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let generated = runInProcess(["lint", "--rules-markdown"]).stdout
        guard let begin = text.range(of: "<!-- BEGIN RULES"), let end = text.range(of: "<!-- END RULES -->") else {
            Issue.record("docs/lint.md has no generated rules section")
            return
        }
        let section = String(text[begin.lowerBound..<end.upperBound]) + "\n"
        #expect(section == generated, "docs/lint.md is out of date: replace its rules section with `orchestrator lint --rules-markdown`")
    }

    @Test func ourManifestsAreClean() {
        // From the repository root, as README runs them: relative root paths resolve there.
        let result = runInProcess(["lint", "-f", packageRoot + "/manifests"], directory: packageRoot)
        #expect(result.status == 0)
        #expect(result.stderr.isEmpty, "\(result.stderr)")
    }

    /// The real manifests: no lint rule reports an error (the corpus's errors are validate's, see
    /// docs/compatibility.md).
    @Test func corpusHasNoLintErrors() throws {
        guard let shared = sharedDirectory else {
            print("note: ../shared is absent; skipping the corpus lint test")
            return
        }
        let result = runInProcess(["lint", "-f", shared + "/corpus/anchor", "--format", "json"])
        let value = try JSONParser.parse(result.stdout)
        let list = try #require(value["diagnostics"]?.arrayValue)
        // The compiler's own errors (loop-cannot-end, self-referential-unsafe) are validate's too.
        let lintIDs = Set(lintRules.map(\.id)).subtracting(["loop-cannot-end", "self-referential-unsafe"])
        let lintErrors = list.filter { item in
            item["severity"]?.stringValue == "error" && lintIDs.contains(item["rule"]?.stringValue ?? "")
        }
        #expect(lintErrors.isEmpty)
    }
}
