import CLI
import Compiler
import Diagnostics
import Foundation
import JSON
import Testing

/// A finding as `lint --format json` prints it.
struct StateFinding: Equatable, CustomStringConvertible {
    var rule: String
    var line: Int
    var column: Int
    var severity: String
    var message: String
    var description: String { "\(line):\(column) \(rule): \(message)" }
}

/// Writes `files` into a new directory and returns it.
func makeWorkspace(_ label: String, _ files: [(path: String, content: String)]) throws -> String {
    let root = try makeTemporaryDirectory(label)
    for file in files {
        let path = root + "/" + file.path
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try file.content.write(toFile: path, atomically: true, encoding: .utf8)
        if file.path.hasSuffix(".sh") { try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path) }
    }
    return root
}

/// `orchestrator lint --state ROOT/tasks.json --format json`, run in ROOT with this process's PATH.
func lintState(_ root: String, extra: [String] = []) -> (status: Int32, findings: [StateFinding], result: CommandResult) {
    let result = runInProcess(
        ["lint", "--state", "tasks.json", "--format", "json"] + extra,
        environment: ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"], directory: root)
    var findings: [StateFinding] = []
    if let value = try? JSONParser.parse(result.stdout), let list = value["diagnostics"]?.arrayValue {
        for item in list {
            guard case .int(let line) = item["line"] ?? .null, case .int(let column) = item["column"] ?? .null else { continue }
            findings.append(
                StateFinding(
                    rule: item["rule"]?.stringValue ?? "", line: Int(line), column: Int(column),
                    severity: item["severity"]?.stringValue ?? "", message: item["message"]?.stringValue ?? ""))
        }
    }
    return (result.status, findings, result)
}

struct StateExampleCase: CustomTestStringConvertible, Sendable {
    var rule: StateRuleID
    var index: Int
    var example: StateExample
    var testDescription: String { "\(rule.rawValue) #\(index + 1) (\(example.triggers ? "reported" : "not reported")): \(example.title)" }
}

let allStateExamples: [StateExampleCase] = StateRegistry.rules.flatMap { rule in
    rule.examples.enumerated().map { StateExampleCase(rule: rule.id, index: $0.offset, example: $0.element) }
}

@Suite struct StateLintTests {
    @Test func everyRuleIsDocumentedAndExemplified() {
        #expect(Set(StateRegistry.rules.map(\.id)) == Set(StateRuleID.allCases))
        #expect(StateRegistry.rules.count == StateRuleID.allCases.count)
        for rule in StateRegistry.rules {
            #expect(!rule.summary.isEmpty && rule.rationale.count > 80, "\(rule.id.rawValue) needs a summary and a rationale")
            #expect(rule.examples.contains { $0.triggers && !$0.expectedPositions.isEmpty }, "\(rule.id.rawValue) has no triggering example")
            #expect(rule.examples.contains { !$0.triggers && $0.expectedPositions.isEmpty }, "\(rule.id.rawValue) has no clean example")
        }
    }

    /// Each example, in a workspace of its own files, through `lint --state`: its rule reports
    /// exactly at the marked positions and no other rule reports anything.
    @Test(arguments: allStateExamples)
    func example(_ case_: StateExampleCase) throws {
        let readme = ("README.md", "# todo-api\n\nAnswers 404 and 400; the router; login; the store.\n")
        let root = try makeWorkspace("state-example", [("tasks.json", case_.example.json), readme] + case_.example.files)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let (status, findings, result) = lintState(root)
        let own = findings.filter { $0.rule == case_.rule.rawValue }
        let found = own.map { "\($0.line):\($0.column)" }.sorted()
        let expected = case_.example.expectedPositions.map { "\($0.line):\($0.column)" }.sorted()
        #expect(found == expected, "\(case_.testDescription):\n\(own.map(\.description).joined(separator: "\n"))\n\(result.stderr)")
        let others = findings.filter { $0.rule != case_.rule.rawValue }
        #expect(others.isEmpty, "\(case_.testDescription): other findings:\n\(others.map(\.description).joined(separator: "\n"))")
        #expect(status == (case_.example.triggers ? 1 : 0))
    }

    /// docs/lint.md holds exactly what `lint --state-rules-markdown` prints, between its markers.
    @Test func docsAreUpToDate() throws {
        let text = try String(contentsOfFile: packageRoot + "/docs/lint.md", encoding: .utf8)
        let generated = runInProcess(["lint", "--state-rules-markdown"]).stdout
        guard let begin = text.range(of: "<!-- BEGIN STATE RULES"), let end = text.range(of: StateDocumentation.endMarker) else {
            Issue.record("docs/lint.md has no generated tasks.json rules section")
            return
        }
        #expect(String(text[begin.lowerBound..<end.upperBound]) + "\n" == generated,
            "docs/lint.md is out of date: replace its tasks.json rules section with `orchestrator lint --state-rules-markdown`")
    }

    /// The recipe's schema with its placeholders filled in (a session's real list): what its own
    /// rules imply is found, and nothing else.
    @Test func theRecipesExample() throws {
        let tasks = """
            {"project": "todo-api", "last_updated": "2026-12-02", "current_focus": "Make the todo API safe to expose publicly.",
             "tasks": [{"id": "AUTH-01", "title": "Add token authentication to every endpoint",
                        "description": "Requests without a valid bearer token get 401. Tokens come from the TOKENS environment variable.",
                        "status": "done", "priority": "high",
                        "verify": "sh -c 'test -f README.md'",
                        "requires_eval": true},
                       {"id": "API-02", "title": "Fix the 500 on an unknown todo id",
                        "description": "GET /todos/ID answers 404 for an id that does not exist.",
                        "status": "in_progress", "priority": "high",
                        "verify": "grep -q 404 README.md",
                        "requires_eval": false},
                       {"id": "API-03", "title": "Restructure the handlers into one file per resource",
                        "description": "The router file is 900 lines; split it.",
                        "status": "pending", "priority": "medium",
                        "verify": "confirm it works",
                        "requires_eval": false},
                       {"id": "DB-01", "title": "Move storage to SQLite",
                        "description": "Replace the JSON file store.",
                        "status": "blocked", "blocked_by": "waiting for the hosting decision (DB-00 in the roadmap)", "priority": "low",
                        "verify": ["sqlite3 --version", "grep -q sqlite README.md"],
                        "requires_eval": true}]}
            """
        let sprint = "# Sprint output\n\n- AUTH-01 evaluator: changes requested, tokens are compared with ==\n"
        let root = try makeWorkspace("state-recipe", [("tasks.json", tasks), ("README.md", "404 sqlite\n"), ("sprint_output.md", sprint)])
        defer { try? FileManager.default.removeItem(atPath: root) }
        let (status, findings, result) = lintState(root)
        let hasSQLite = ProcessInfo.processInfo.environment["PATH"].map { path in
            path.split(separator: ":").contains { FileManager.default.isExecutableFile(atPath: "\($0)/sqlite3") }
        } ?? false
        var expected = [
            // AUTH-01 done with only a rejection on record.
            "4:23 tasks-done-without-evaluation",
            // API-03 "confirm it works", and a restructuring marked false.
            "15:23 tasks-verify-not-executable",
            "16:30 tasks-requires-eval",
        ]
        // DB-01's `sqlite3 --version` runs only where sqlite3 is installed.
        if !hasSQLite { expected.append("20:23 tasks-verify-not-executable") }
        #expect(findings.map { "\($0.line):\($0.column) \($0.rule)" } == expected, "\(findings)\n\(result.stderr)")
        #expect(findings.first { $0.rule == "tasks-requires-eval" }?.message.contains("restructur") == true)
        #expect(findings.first { $0.rule == "tasks-done-without-evaluation" }?.message.contains("line 3") == true)
        #expect(status == 1)
    }

    @Test func badJSONIsAPositionedErrorNeverACrash() throws {
        let cases: [(String, String)] = [
            ("{\n  \"project\": \"x\",\n  // a comment\n}", "3:3"),
            ("{\"project\": 'x'}", "1:13"),
            ("[1, 2]", "1:1"),
            ("", "1:1"),
            ("{\"a\": \"\u{1}\"}", "1:8"),
            ("\u{FEFF}{}", "1:1"),
            ("{\"a\": 1} {\"b\": 2}", "1:10"),
            (String(repeating: "[", count: 600), "1:513"),
        ]
        for (text, position) in cases {
            let root = try makeWorkspace("state-bad", [("tasks.json", text)])
            defer { try? FileManager.default.removeItem(atPath: root) }
            let (status, findings, result) = lintState(root)
            #expect(status == 1, "\(text.prefix(40)): \(result.stderr)")
            #expect(findings.map { "\($0.line):\($0.column) \($0.rule)" } == ["\(position) tasks-json-syntax"], "\(text.prefix(40)): \(findings)")
        }
    }

    /// Every prefix of a valid file, and the file with any one byte replaced: read, or one
    /// positioned `tasks-json-syntax` finding; never a crash.
    @Test func truncatedAndDamagedFilesNeverCrash() throws {
        let valid = Array(allStateExamples[2].example.json.utf8)
        let environment = StateEnvironment(isRunnable: { _ in true }, sprintOutput: nil)
        var refused = 0
        for cut in 0..<valid.count {
            let prefix = SourceFile(path: "tasks.json", bytes: Array(valid[..<cut]))
            let findings = StateLinter.lint(prefix, environment: environment)
            if case .failure = TasksFileReader.read(prefix) {
                refused += 1
                #expect(findings.count == 1 && findings[0].rule == StateRuleID.jsonSyntax.rawValue && findings[0].range != nil)
            }
        }
        // Only the prefix that lacks just the final newline is complete JSON.
        #expect(valid.last == 0x0A && refused == valid.count - 1)
        for (index, replacement) in zip(stride(from: 0, to: valid.count, by: 3), [UInt8]([0x00, 0x22, 0x7B, 0x5D, 0x2C, 0xFF, 0x5C, 0x0A]).cycled()) {
            var damaged = valid
            damaged[index] = replacement
            let findings = StateLinter.lint(SourceFile(path: "tasks.json", bytes: damaged), environment: environment)
            #expect(findings.allSatisfy { $0.range != nil })
        }
    }

    @Test func readerGivesTheTypedModel() throws {
        let text = """
            {"project": "p", "last_updated": "2026-01-31", "current_focus": "f",
             "tasks": [{"id": "A-01", "title": "t", "description": "d", "status": "in_progress", "priority": "low",
                        "verify": ["make test", "echo ok"], "requires_eval": true},
                       {"id": "A-02", "title": "t2", "description": "d2", "status": "bogus", "priority": "high",
                        "verify": "sh x", "requires_eval": false, "blocked_by": "y"}]}
            """
        guard case .success(let file) = TasksFileReader.read(.init(path: "tasks.json", text: text)) else {
            Issue.record("not read")
            return
        }
        #expect(file.project?.value == "p" && file.lastUpdated?.value == "2026-01-31" && file.currentFocus?.value == "f")
        #expect(file.tasks.count == 2)
        #expect(file.tasks[0].status?.value == .inProgress && file.tasks[0].priority?.value == .low)
        #expect(file.tasks[0].verify?.value == ["make test", "echo ok"] && file.tasks[0].requiresEval?.value == true)
        #expect(file.tasks[0].status?.range.start.line == 2 && file.tasks[0].status?.range.start.column == 71)
        #expect(file.tasks[1].status == nil && file.tasks[1].priority?.value == .high && file.tasks[1].blockedBy?.value == "y")
    }

    /// A tasks.json among -f inputs is routed to the tasks.json rules, the manifests to lint's;
    /// a tasks.json rule can be disabled.
    @Test func lintRoutesTasksJSONAmongManifests() throws {
        let root = try makeWorkspace(
            "state-route",
            [("tasks.json", "{\"project\": \"p\", \"last_updated\": \"2026-13-01\", \"current_focus\": \"f\", \"tasks\": []}\n")])
        defer { try? FileManager.default.removeItem(atPath: root) }
        let both = runInProcess(["lint", "-f", "tasks.json", "-f", packageRoot + "/manifests", "--color", "never"], directory: root)
        #expect(both.status == 1)
        #expect(both.stderr.contains("tasks.json:1:34: error: `last_updated` is `2026-13-01`"), "\(both.stderr)")
        #expect(!both.stderr.contains("yaml-syntax"))
        let clean = runInProcess(["lint", "-f", root + "/tasks.json", "-f", packageRoot + "/manifests", "--disable", "tasks-date"], directory: packageRoot)
        #expect(clean.status == 0, "\(clean.stderr)")
        #expect(clean.stdout.contains("lint: ") && clean.stdout.contains("; 0 tasks in 1 state file"), "\(clean.stdout)")
        let alone = runInProcess(["lint", "-f", "tasks.json", "--disable", "tasks-date"], directory: root)
        #expect(alone.status == 0 && alone.stdout == "lint: 0 tasks in 1 state file; 0 warnings\n", "\(alone.stdout)\(alone.stderr)")
        let sarif = runInProcess(["lint", "--state", "tasks.json", "--format", "sarif"], directory: root)
        #expect(sarif.status == 1 && sarif.stdout.contains("\"tasks-date\""))
        let listed = runInProcess(["lint", "--list-rules"]).stdout
        for id in StateRuleID.allCases { #expect(listed.contains(id.rawValue)) }
    }
}

@Suite struct TasksSchemaTests {
    /// docs/tasks.schema.json names the fields and values the model reads.
    @Test func schemaMatchesTheModel() throws {
        let bytes = try Data(contentsOf: URL(fileURLWithPath: packageRoot + "/docs/tasks.schema.json"))
        let schema = try JSONParser.parse([UInt8](bytes))
        func strings(_ value: JSONValue?) -> [String] { value?.arrayValue?.compactMap(\.stringValue) ?? [] }
        #expect(strings(schema["required"]) == TasksField.topLevel.map(\.rawValue))
        let task = schema["$defs"]?["task"]
        #expect(strings(task?["required"]) == TasksField.task.filter(\.isRequired).map(\.rawValue))
        #expect(Set(task?["properties"].map { value -> [String] in
            if case .object(let pairs) = value { return pairs.map(\.key) }
            return []
        } ?? []) == Set(TasksField.task.map(\.rawValue)))
        #expect(strings(task?["properties"]?["status"]?["enum"]) == TaskState.allCases.map(\.rawValue))
        #expect(strings(task?["properties"]?["priority"]?["enum"]) == TaskPriority.allCases.map(\.rawValue))
    }
}

extension Array {
    /// The elements repeated without end.
    func cycled() -> AnySequence<Element> {
        AnySequence { () -> AnyIterator<Element> in
            var index = 0
            return AnyIterator {
                guard !self.isEmpty else { return nil }
                defer { index = (index + 1) % self.count }
                return self[index]
            }
        }
    }
}
