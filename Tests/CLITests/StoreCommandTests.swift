import CLI
import Foundation
import JSON
import Store
import Testing

/// A small project: a template, an agent with a secret, a workflow that uses both.
private let agentAndTemplate = """
    apiVersion: orchestrator.dev/v2
    kind: StepTemplate
    metadata:
      name: greet
    spec:
      prompt: "Say hello to {goal}"
    ---
    apiVersion: orchestrator.dev/v2
    kind: SecretStore
    metadata:
      name: keys
    spec:
      data:
        API_KEY: sk-test-SUPERSECRET-4242
    ---
    apiVersion: orchestrator.dev/v2
    kind: Agent
    metadata:
      name: echo
    spec:
      capabilities: [greet]
      command: echo "{prompt}"
      env:
        - fromRef: keys

    """

private let workflow = """
    apiVersion: orchestrator.dev/v2
    kind: Workflow
    metadata:
      name: hello
      labels:
        team: core
    spec:
      steps:
        - id: greet
          template: greet
      loop:
        mode: once

    """

private let secret = "sk-test-SUPERSECRET-4242"

/// A scratch directory with a data directory inside.
private struct Scratch {
    let root: String
    var data: String { root + "/data" }

    init() throws { root = try makeTemporaryDirectory("store") }

    func run(_ arguments: [String], stdin: String = "") -> CommandResult {
        runInProcess(arguments + ["--data-dir", data], stdin: stdin, directory: root)
    }

    func file(_ name: String, _ text: String) throws -> String { try writeFile(root, name, text) }

    func store() throws -> SQLResourceStore { try SQLResourceStore(dataDirectory: data) }
}

@Suite struct ApplyTests {
    @Test func createdThenUnchangedThenConfigured() throws {
        let scratch = try Scratch()
        let a = try scratch.file("a.yaml", agentAndTemplate)
        let w = try scratch.file("w.yaml", workflow)
        let first = scratch.run(["apply", "-f", a, "-f", w])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.contains("Workflow/hello created (project: default)"))
        #expect(first.stdout.contains("Agent/echo created (project: default)"))

        let again = scratch.run(["apply", "-f", a, "-f", w])
        #expect(again.status == 0)
        #expect(!again.stdout.contains("created") && !again.stdout.contains("configured"))
        #expect(again.stdout.split(separator: "\n").allSatisfy { $0.contains(" unchanged (project: default)") })
        let key = ResourceKey(kind: "Workflow", project: "default", name: "hello")
        #expect(try scratch.store().resource(key)?.generation == 1)

        // Reformatting and comments are not a change.
        try scratch.file("w.yaml", "# a comment\n" + workflow.replacingOccurrences(of: "mode: once", with: "mode:   once   # still once"))
        #expect(scratch.run(["apply", "-f", w]).stdout == "Workflow/hello unchanged (project: default)\n")

        try scratch.file("w.yaml", workflow.replacingOccurrences(of: "mode: once", with: "mode: fixed\n    max_cycles: 2"))
        let changed = scratch.run(["apply", "-f", w])
        #expect(changed.stdout == "Workflow/hello configured (project: default)\n", "\(changed.stderr)")
        let store = try scratch.store()
        #expect(try store.resource(key)?.generation == 2)
        #expect(try store.revisions(key).map(\.change) == ["configured", "created"])
    }

    @Test func oneInvalidDocumentStoresNothing() throws {
        let scratch = try Scratch()
        let broken = agentAndTemplate + "---\n" + workflow.replacingOccurrences(of: "mode: once", with: "mode: twice")
        let path = try scratch.file("broken.yaml", broken)
        let result = scratch.run(["apply", "-f", path])
        #expect(result.status == 1)
        let line = broken.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0.contains("mode: twice") }.map { $0 + 1 } ?? 0
        #expect(result.stderr.contains("broken.yaml:\(line):11: error: `twice` is not a valid value for `mode`"), "\(result.stderr)")
        #expect(result.stderr.contains("[invalid-value]"))
        #expect(result.stdout.isEmpty)
        let rows = try scratch.store().database.query("SELECT COUNT(*) FROM resources")
        #expect(rows.first?.first == .integer(0))
    }

    @Test func sameResourceInTwoFilesIsRefused() throws {
        let scratch = try Scratch()
        let a = try scratch.file("a.yaml", agentAndTemplate)
        let b = try scratch.file("b.yaml", agentAndTemplate.replacingOccurrences(of: "Say hello", with: "Greet"))
        let result = scratch.run(["apply", "-f", a, "-f", b])
        #expect(result.status == 1)
        #expect(result.stderr.contains("b.yaml:4:9: error: StepTemplate `greet` (project `default`) is also defined in"), "\(result.stderr)")
        #expect(try scratch.store().resources().isEmpty)
        // In different projects they are different resources.
        let c = try scratch.file("c.yaml", agentAndTemplate.replacingOccurrences(of: "metadata:\n", with: "metadata:\n  project: other\n"))
        #expect(scratch.run(["apply", "-f", a, "-f", c]).status == 0)
    }

    @Test func dryRunWritesNothing() throws {
        let scratch = try Scratch()
        let a = try scratch.file("a.yaml", agentAndTemplate)
        let result = scratch.run(["apply", "--dry-run", "-f", a])
        #expect(result.status == 0)
        #expect(result.stdout.contains("Agent/echo would be created (project: default)"))
        #expect(!FileManager.default.fileExists(atPath: scratch.data), "dry-run created the data directory")
        // Against an existing store too: no row changes.
        #expect(scratch.run(["apply", "-f", a]).status == 0)
        try scratch.file("a.yaml", agentAndTemplate.replacingOccurrences(of: "Say hello", with: "Say hi"))
        let dry = scratch.run(["apply", "--dry-run", "-f", a])
        #expect(dry.stdout.contains("StepTemplate/greet would be configured"))
        #expect(try scratch.store().resource(ResourceKey(kind: "StepTemplate", project: "default", name: "greet"))?.generation == 1)
    }

    @Test func pruneDeletesWhatFilesNoLongerHold() throws {
        let scratch = try Scratch()
        let a = try scratch.file("a.yaml", agentAndTemplate + "---\n" + agentAndTemplate
            .components(separatedBy: "---\n")[0].replacingOccurrences(of: "name: greet", with: "name: spare"))
        #expect(scratch.run(["apply", "-f", a]).status == 0)
        try scratch.file("a.yaml", agentAndTemplate)
        let pruned = scratch.run(["apply", "--prune", "-f", a])
        #expect(pruned.status == 0, "\(pruned.stderr)")
        #expect(pruned.stdout.contains("StepTemplate/spare deleted (project: default)"))
        #expect(try scratch.store().resources(kind: "StepTemplate").map(\.key.name) == ["greet"])
    }

    @Test func referenceToEarlierApplyResolvesAndDanglingIsRefused() throws {
        let scratch = try Scratch()
        let w = try scratch.file("w.yaml", workflow)
        let dangling = scratch.run(["apply", "-f", w])
        #expect(dangling.status == 1)
        #expect(dangling.stderr.contains("[unresolved-reference]") || dangling.stderr.contains("[capability-not-served]"))
        #expect(try scratch.store().resources().isEmpty)

        let a = try scratch.file("a.yaml", agentAndTemplate)
        #expect(scratch.run(["apply", "-f", a]).status == 0)
        let resolved = scratch.run(["apply", "-f", w])
        #expect(resolved.status == 0, "\(resolved.stderr)")
        #expect(resolved.stdout == "Workflow/hello created (project: default)\n")
    }

    @Test func deleteRefusesWhatIsReferenced() throws {
        let scratch = try Scratch()
        let a = try scratch.file("a.yaml", agentAndTemplate)
        let w = try scratch.file("w.yaml", workflow)
        #expect(scratch.run(["apply", "-f", a, "-f", w]).status == 0)
        let refused = scratch.run(["delete", "template/greet", "--force"])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("Workflow/hello"))
        let describe = scratch.run(["describe", "steptemplate", "greet"])
        #expect(describe.stdout.contains("Referenced by:\n  Workflow/hello"))
        #expect(scratch.run(["delete", "wf/hello", "--force"]).stdout == "Workflow/hello deleted (project: default)\n")
        #expect(scratch.run(["delete", "template/greet", "--force"]).status == 0)
        #expect(scratch.run(["delete", "template/greet"]).status == 2)
    }
}

@Suite struct DiffAndExportTests {
    @Test func diffExitCodesAndText() throws {
        let scratch = try Scratch()
        let a = try scratch.file("a.yaml", agentAndTemplate)
        // Without a data directory there is nothing to compare with: a usage error that says where
        // it looked, and nothing is created (docs/cli.md, Data directory).
        let none = scratch.run(["diff", "-f", a])
        #expect(none.status == 2)
        #expect(none.stderr.contains("no data directory at"), "\(none.stderr)")
        #expect(scratch.run(["init"]).status == 0)
        let before = scratch.run(["diff", "-f", a])
        #expect(before.status == 1)
        #expect(before.stdout.contains("3 to create, 0 to change, 0 unchanged"))
        #expect(scratch.run(["apply", "-f", a]).status == 0)
        let same = scratch.run(["diff", "-f", a])
        #expect(same.status == 0, "\(same.stdout)\(same.stderr)")
        #expect(same.stdout.hasSuffix("0 to create, 0 to change, 3 unchanged\n"))
        try scratch.file("a.yaml", agentAndTemplate.replacingOccurrences(of: "Say hello", with: "Say hi"))
        let changed = scratch.run(["diff", "-f", a])
        #expect(changed.status == 1)
        #expect(changed.stdout.contains("--- stored/StepTemplate/greet\n+++ files/StepTemplate/greet\n"))
        #expect(changed.stdout.contains("-  prompt: \"Say hello to {goal}\"\n+  prompt: \"Say hi to {goal}\"\n"), "\(changed.stdout)")
        #expect(changed.stdout.contains("0 to create, 1 to change, 2 unchanged"))
    }

    @Test func exportThenApplyIsUnchanged() throws {
        let scratch = try Scratch()
        let a = try scratch.file("a.yaml", agentAndTemplate)
        let w = try scratch.file("w.yaml", workflow)
        #expect(scratch.run(["apply", "-f", a, "-f", w]).status == 0)
        let exported = scratch.run(["export"])
        #expect(exported.status == 0)
        #expect(!exported.stdout.contains(secret))
        #expect(exported.stdout.contains("API_KEY: \"***\""))
        let reapplied = scratch.run(["apply", "-f", "-"], stdin: exported.stdout)
        #expect(reapplied.status == 0, "\(reapplied.stderr)")
        let lines = reapplied.stdout.split(separator: "\n")
        #expect(lines.count == 4)
        #expect(lines.allSatisfy { $0.hasSuffix("unchanged (project: default)") }, "\(reapplied.stdout)")
    }

    @Test func getFormats() throws {
        let scratch = try Scratch()
        let a = try scratch.file("a.yaml", agentAndTemplate)
        let w = try scratch.file("w.yaml", workflow)
        #expect(scratch.run(["apply", "-f", a, "-f", w, "--project", "p1"]).status == 0)
        let table = scratch.run(["get", "workflows"])
        #expect(table.stdout.hasPrefix("NAME "))
        #expect(table.stdout.contains("hello   p1"))
        let json = try JSONParser.parse(scratch.run(["get", "wf", "hello", "-o", "json"]).stdout)
        #expect(json["metadata"]?["project"] == .string("p1"))
        #expect(scratch.run(["get", "workflows", "-l", "team=core", "-o", "json"]).stdout.contains("hello"))
        #expect(!scratch.run(["get", "workflows", "-l", "team=other", "-o", "json"]).stdout.contains("hello"))
        #expect(scratch.run(["get", "wrkflows"]).stderr.contains("did you mean `workflows`"))
    }
}

@Suite struct SecretHandlingTests {
    @Test func noSecretInAnyOutputAndDatabaseIsOwnerOnly() throws {
        let scratch = try Scratch()
        let a = try scratch.file("a.yaml", agentAndTemplate)
        let broken = try scratch.file("b.yaml", agentAndTemplate.replacingOccurrences(of: "capabilities: [greet]", with: "capabilites: [greet]"))
        var outputs: [CommandResult] = []
        outputs.append(scratch.run(["apply", "-f", a]))
        outputs.append(scratch.run(["apply", "-f", a, "--dry-run"]))
        outputs.append(scratch.run(["apply", "-f", broken]))
        outputs.append(scratch.run(["diff", "-f", a]))
        try scratch.file("a2.yaml", agentAndTemplate.replacingOccurrences(of: secret, with: "rotated-\(secret)"))
        outputs.append(scratch.run(["diff", "-f", scratch.root + "/a2.yaml"]))
        for format in ["table", "json", "yaml"] { outputs.append(scratch.run(["get", "secretstores", "-o", format])) }
        outputs.append(scratch.run(["get", "secretstore", "keys", "-o", "yaml"]))
        outputs.append(scratch.run(["describe", "secretstore/keys"]))
        outputs.append(scratch.run(["export"]))
        outputs.append(scratch.run(["delete", "secretstore/keys", "--force"]))
        for output in outputs {
            #expect(!output.stdout.contains("SUPERSECRET"), "secret in stdout: \(output.stdout)")
            #expect(!output.stderr.contains("SUPERSECRET"), "secret in stderr: \(output.stderr)")
        }
        #expect(outputs[4].stdout.contains("SecretStore/keys (project: default): would be configured\n  (only secret values differ"))
        var info = stat()
        #expect(stat(scratch.data + "/orchestrator.db", &info) == 0)
        #expect(info.st_mode & 0o777 == 0o600)
        #expect(stat(scratch.data, &info) == 0)
        #expect(info.st_mode & 0o777 == 0o700)
    }
}

@Suite struct InUseTests {
    @Test func workflowOfAnUnfinishedTaskCannotBeDeletedButCanChange() throws {
        let scratch = try Scratch()
        let workspace = try scratch.file("ws.yaml", """
            apiVersion: orchestrator.dev/v2
            kind: Workspace
            metadata:
              name: ws
            spec:
              root_path: .

            """)
        let a = try scratch.file("a.yaml", agentAndTemplate)
        let w = try scratch.file("w.yaml", workflow)
        #expect(scratch.run(["apply", "-f", workspace, "-f", a, "-f", w]).status == 0)
        let created = scratch.run(["task", "create", "-n", "t", "-g", "hello", "-W", "hello", "-w", "ws", "--no-start"])
        #expect(created.status == 0, "\(created.stderr)")

        let delete = scratch.run(["delete", "workflow/hello", "--force"])
        #expect(delete.status == 1)
        #expect(delete.stderr.contains("is used by unfinished task"), "\(delete.stderr)")
        let deleteWorkspace = scratch.run(["delete", "ws/ws", "--force"])
        #expect(deleteWorkspace.status == 1)
        // Pruning it away is refused the same way, with --dry-run too, and nothing is written.
        let other = try scratch.file("other.yaml", workflow.replacingOccurrences(of: "name: hello", with: "name: other"))
        for extra in [["--dry-run"], []] {
            let prune = scratch.run(["apply", "--prune", "-f", a, "-f", other] + extra)
            #expect(prune.status == 1, "\(prune.stdout)")
            #expect(prune.stderr.contains("Workflow/hello (project: default) is used by unfinished task"), "\(prune.stderr)")
        }
        #expect(try scratch.store().resource(ResourceKey(kind: "Workflow", project: "default", name: "other")) == nil)
        #expect(try scratch.store().resource(ResourceKey(kind: "Workflow", project: "default", name: "hello")) != nil)
        // Changing it is allowed (the runner reports drift).
        try scratch.file("w.yaml", workflow.replacingOccurrences(of: "mode: once", with: "mode: fixed\n    max_cycles: 2"))
        #expect(scratch.run(["apply", "-f", w]).stdout.contains("Workflow/hello configured"))
        // Once the task is gone, the workflow can be deleted.
        let taskID = try #require(created.stdout.split(separator: " ").dropFirst().first.map(String.init))
        #expect(scratch.run(["task", "delete", taskID]).status == 0)
        #expect(scratch.run(["delete", "workflow/hello", "--force"]).status == 0)
    }
}

@Suite struct StoredCompilationTests {
    /// Resources read back from the store come from no common file: a self-referential workspace
    /// applied from one file does not make every stored workflow of the project "its" workflow.
    @Test func storedResourcesAreNotPairedAsOneFile() throws {
        let scratch = try Scratch()
        let selfWorkspace = try scratch.file("self.yaml", """
            apiVersion: orchestrator.dev/v2
            kind: Workspace
            metadata:
              name: self
            spec:
              root_path: .
              self_referential: true
            ---
            apiVersion: orchestrator.dev/v2
            kind: Workspace
            metadata:
              name: plain
            spec:
              root_path: .

            """)
        let a = try scratch.file("a.yaml", agentAndTemplate)
        let w = try scratch.file("w.yaml", workflow)
        #expect(scratch.run(["apply", "-f", selfWorkspace, "-f", a, "-f", w]).status == 0)
        let created = scratch.run(["task", "create", "-n", "t", "-g", "x", "-W", "hello", "-w", "plain", "--no-start"])
        #expect(created.status == 0, "\(created.stderr)")

        // The pair a task names is checked: this workflow has no rollback, checkpoint or self test.
        let refused = scratch.run(["task", "create", "-n", "t", "-g", "x", "-W", "hello", "-w", "self", "--no-start"])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("may not run in self-referential workspace self"), "\(refused.stderr)")

        // An export is one stream with both workspaces: nothing pairs them, it re-applies unchanged.
        let exported = scratch.run(["export"])
        let again = scratch.run(["apply", "-f", "-"], stdin: exported.stdout)
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stdout.split(separator: "\n").allSatisfy { $0.contains(" unchanged (project: ") }, "\(again.stdout)")
    }
}

@Suite struct RunUsageTests {
    @Test func unknownWorkflowAppliesNothing() throws {
        let scratch = try Scratch()
        let a = try scratch.file("a.yaml", agentAndTemplate)
        let w = try scratch.file("w.yaml", workflow)
        let result = scratch.run(["run", "-f", a, "-f", w, "-W", "helo"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("no workflow `helo`"))
        #expect(result.stderr.contains("did you mean `hello`?"))
        #expect(try scratch.store().resources().isEmpty)
    }
}

@Suite struct NotExecutedSettingsTests {
    /// A safety setting the runner does not act on is said in the plan and recorded when a task
    /// starts, never silently ignored.
    @Test func planAndTaskSayWhatIsNotExecuted() throws {
        let scratch = try Scratch()
        let a = try scratch.file("a.yaml", agentAndTemplate.replacingOccurrences(of: "command: echo \"{prompt}\"", with: "command: \"true\""))
        let ws = try scratch.file("ws.yaml", "apiVersion: orchestrator.dev/v2\nkind: Workspace\nmetadata:\n  name: ws\nspec:\n  root_path: .\n")
        // auto_rollback without a checkpoint strategy has nothing to roll back to (docs/safety.md).
        let w = try scratch.file("w.yaml", workflow + "  safety:\n    auto_rollback: true\n")
        let plan = runInProcess(["plan", "-f", a, "-f", w])
        #expect(plan.stdout.contains("note   not executed by this runner: safety.auto_rollback without a checkpoint_strategy"), "\(plan.stdout)\(plan.stderr)")
        let run = scratch.run(["run", "-f", ws, "-f", a, "-f", w, "-W", "hello"])
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        #expect(run.stdout.contains("not executed by this runner: safety.auto_rollback without a checkpoint_strategy"))
        let taskID = try #require(run.stdout.split(separator: "\n").first { $0.hasPrefix("task ") }?.split(separator: " ").dropFirst().first)
        let events = try JSONParser.parse(scratch.run(["event", "list", "--task", String(taskID), "--type", "task_started", "-o", "json"]).stdout)
        let notes = events.arrayValue?.first?["payload"]?["not_executed"]?.arrayValue?.compactMap(\.stringValue) ?? []
        #expect(notes.contains { $0.hasPrefix("safety.auto_rollback without a checkpoint_strategy") }, "\(events)")
    }
}
