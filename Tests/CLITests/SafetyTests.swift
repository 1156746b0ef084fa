import Foundation
import JSON
import Testing

/// The safety settings on real git repositories (docs/safety.md): checkpoints, the rollback of a
/// failed self_test, invariants, and a kill -9 in the middle of a checkpoint.
@Suite(.serialized) struct SafetyTests {
    /// A git repository with `app.txt` (good) and `keep.txt` committed and `notes.txt` untracked.
    static func repository(_ root: String) throws -> String {
        let workspace = root + "/ws"
        try FileManager.default.createDirectory(atPath: workspace, withIntermediateDirectories: true)
        try "good\n".write(toFile: workspace + "/app.txt", atomically: true, encoding: .utf8)
        try "keep\n".write(toFile: workspace + "/keep.txt", atomically: true, encoding: .utf8)
        #expect(git(workspace, ["init", "-q"]).status == 0)
        #expect(git(workspace, ["add", "."]).status == 0)
        #expect(git(workspace, ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init"]).status == 0)
        try "mine, not committed\n".write(toFile: workspace + "/notes.txt", atomically: true, encoding: .utf8)
        return workspace
    }

    @discardableResult
    static func git(_ directory: String, _ arguments: [String]) -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["git", "-C", directory] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        do { try process.run() } catch { return (127, "\(error)") }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    static func manifest(implement: String, invariants: String = "", selfTest: String = "grep -q good app.txt") -> String {
        """
        apiVersion: orchestrator.dev/v2
        kind: Workspace
        metadata: {name: ws}
        spec:
          root_path: ws
          qa_targets: []
          self_test: ["\(selfTest)"]
        ---
        apiVersion: orchestrator.dev/v2
        kind: Workflow
        metadata: {name: wf}
        spec:
          steps:
            - {id: implement, command: "\(implement)"}
            - {id: self_test, builtin: self_test}
            - {id: look, command: "cat app.txt; ls"}
          loop: {mode: once}
          safety:
            auto_rollback: true
            checkpoint_strategy: git_tag
        \(invariants)
        """
    }

    /// The id in `task ID created: ...`.
    static func taskID(_ output: String) -> String {
        for line in output.split(separator: "\n") where line.hasPrefix("task ") && line.contains(" created") {
            return String(line.split(separator: " ")[1])
        }
        return "?"
    }

    static func events(_ root: String, _ id: String) throws -> [JSONValue] {
        let listed = runInProcess(["event", "list", id, "-o", "json", "--data-dir", root + "/d"], directory: root)
        return try JSONParser.parse(listed.stdout).arrayValue ?? []
    }

    @Test("a failing self_test rolls back what the agent broke; the broken state stays reachable on its ref")
    func failedSelfTestRollsBack() throws {
        let root = try makeTemporaryDirectory("safety")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let workspace = try Self.repository(root)
        let head = Self.git(workspace, ["rev-parse", "HEAD"]).output
        _ = try writeFile(root, "m.yaml", Self.manifest(implement: "echo broken > app.txt && echo new > added.txt && rm keep.txt"))
        let run = runInProcess(["run", "-f", "m.yaml", "-W", "wf", "--data-dir", root + "/d"], directory: root)
        #expect(run.status == 1, "\(run.stdout)\(run.stderr)")
        #expect(run.stdout.contains("rolled back to the checkpoint of cycle 1"), "\(run.stdout)")
        let id = Self.taskID(run.stdout)
        // The tree is the checkpoint's: the broken file restored, the added one gone, the
        // removed one back, the user's uncommitted file kept; HEAD where it was.
        #expect(try String(contentsOfFile: workspace + "/app.txt", encoding: .utf8) == "good\n")
        #expect(!FileManager.default.fileExists(atPath: workspace + "/added.txt"))
        #expect(FileManager.default.fileExists(atPath: workspace + "/keep.txt"))
        #expect(try String(contentsOfFile: workspace + "/notes.txt", encoding: .utf8) == "mine, not committed\n")
        #expect(Self.git(workspace, ["rev-parse", "HEAD"]).output == head)
        // The next step saw the restored tree.
        let logs = runInProcess(["task", "logs", id, "--step", "look", "--data-dir", root + "/d"], directory: root)
        #expect(logs.stdout.contains("good") && !logs.stdout.contains("added.txt"), "\(logs.stdout)")
        // The broken state is on its ref, whole.
        #expect(Self.git(workspace, ["show", "orchestrator/\(id)/failed-c1:app.txt"]).output == "broken\n")
        #expect(Self.git(workspace, ["show", "orchestrator/\(id)/failed-c1:added.txt"]).output == "new\n")
        #expect(Self.git(workspace, ["show", "orchestrator/\(id)/c1:notes.txt"]).output == "mine, not committed\n")
        #expect(Self.git(workspace, ["fsck", "--no-dangling"]).status == 0)
        let events = try Self.events(root, id)
        let checkpoint = events.first { $0["type"]?.stringValue == "checkpoint_created" }
        let rolled = events.first { $0["type"]?.stringValue == "rolled_back" }
        #expect(checkpoint?["payload"]?["ref"]?.stringValue == "refs/tags/orchestrator/\(id)/c1")
        #expect(rolled?["payload"]?["to"] == checkpoint?["payload"]?["commit"])
        #expect(rolled?["payload"]?["paths"]?.arrayValue?.compactMap(\.stringValue).sorted() == ["added.txt", "app.txt", "keep.txt"])
    }

    @Test("an invariant violation pauses the task with the invariant's output; resume checks it again")
    func invariantViolationPauses() throws {
        let root = try makeTemporaryDirectory("safety")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let workspace = try Self.repository(root)
        let invariants = """
                invariants:
                  - name: keep-file
                    command: "test -f keep.txt || { echo 'keep.txt is gone'; exit 3; }"
                    check_at: [after_implement]
                    on_violation: halt
                  - name: app-protected
                    protected_files: [app.txt]
                    check_at: [before_complete]
                    on_violation: warn
            """
        _ = try writeFile(root, "m.yaml", Self.manifest(implement: "rm -f keep.txt", invariants: invariants))
        let run = runInProcess(["run", "-f", "m.yaml", "-W", "wf", "--data-dir", root + "/d"], directory: root)
        #expect(run.status == 1)
        let id = Self.taskID(run.stdout)
        let info = runInProcess(["task", "info", id, "-o", "json", "--data-dir", root + "/d"], directory: root)
        let task = try JSONParser.parse(info.stdout)
        #expect(task["status"]?.stringValue == "paused")
        #expect(task["reason"]?.stringValue?.contains("invariant keep-file violated (after_implement)") == true, "\(info.stdout)")
        #expect(task["reason"]?.stringValue?.contains("keep.txt is gone") == true)
        let violated = try Self.events(root, id).filter { $0["type"]?.stringValue == "invariant_violated" }
        #expect(violated.count == 1)
        #expect(violated.first?["payload"]?["reason"]?.stringValue?.contains("exited 3, expected 0") == true)
        // Fixed by hand, the task resumes; the warn invariant only notes that app.txt changed.
        try "keep\n".write(toFile: workspace + "/keep.txt", atomically: true, encoding: .utf8)
        try "good, and changed\n".write(toFile: workspace + "/app.txt", atomically: true, encoding: .utf8)
        let resumed = runInProcess(["task", "resume", id, "--data-dir", root + "/d"], directory: root)
        #expect(resumed.stdout.contains("invariant app-protected violated (before_complete): protected file changed: app.txt"), "\(resumed.stdout)")
    }

    @Test("kill -9 during a checkpoint leaves the repository consistent, and resume continues")
    func killDuringCheckpoint() throws {
        // A `git` that takes 0.2 s for every command, first on PATH: each command of the
        // checkpoint can be caught and killed (resolve, is-repository, head, read-tree, add,
        // write-tree, commit-tree, update-ref).
        let wrappers = try makeTemporaryDirectory("slow-git")
        defer { try? FileManager.default.removeItem(atPath: wrappers) }
        let searchPath = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        let realGit = searchPath.split(separator: ":").map { "\($0)/git" }.first { FileManager.default.isExecutableFile(atPath: $0) } ?? "/usr/bin/git"
        _ = try writeFile(wrappers, "git", "#!/bin/sh\nsleep 0.2\nexec \(realGit) \"$@\"\n")
        chmod(wrappers + "/git", 0o755)
        let path = wrappers + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        for killAt in [3, 5, 7, 8] {
            let root = try makeTemporaryDirectory("safety-kill")
            defer { try? FileManager.default.removeItem(atPath: root) }
            let workspace = try Self.repository(root)
            // Enough files that `git add` takes a moment.
            try FileManager.default.createDirectory(atPath: workspace + "/bulk", withIntermediateDirectories: true)
            for index in 0..<1500 { try String(repeating: "line \(index)\n", count: 40).write(toFile: workspace + "/bulk/f\(index).txt", atomically: false, encoding: .utf8) }
            let head = Self.git(workspace, ["rev-parse", "HEAD"]).output
            _ = try writeFile(root, "m.yaml", Self.manifest(implement: "echo fine >> keep.txt"))
            let applied = runInProcess(["apply", "-f", "m.yaml", "--data-dir", root + "/d"], directory: root)
            #expect(applied.status == 0)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: orchestratorExecutable)
            process.arguments = ["task", "create", "-W", "wf", "-g", "g", "--data-dir", root + "/d"]
            process.currentDirectoryURL = URL(fileURLWithPath: root)
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            process.environment = ProcessInfo.processInfo.environment.merging(["ORCHESTRATOR_EMBEDDED": "1", "PATH": path]) { $1 }
            try process.run()
            // Kill the runner and its git child when the killAt-th git command of the checkpoint runs.
            var seen = Set<Int32>()
            let deadline = Date().addingTimeInterval(30)
            while process.isRunning, Date() < deadline {
                for child in Self.children(of: process.processIdentifier) where Self.command(child).contains("git") { seen.insert(child) }
                // Kill while the killAt-th command runs (it sleeps first: caught before it acts).
                if seen.count >= killAt {
                    kill(process.processIdentifier, SIGKILL)
                    for child in seen { kill(-child, SIGKILL); kill(child, SIGKILL) }
                    break
                }
                usleep(200)
            }
            process.waitUntilExit()
            // The repository is consistent and the user's HEAD and files untouched.
            #expect(Self.git(workspace, ["fsck", "--no-dangling"]).status == 0, "kill at git command \(killAt)")
            #expect(Self.git(workspace, ["rev-parse", "HEAD"]).output == head)
            #expect(try String(contentsOfFile: workspace + "/notes.txt", encoding: .utf8) == "mine, not committed\n")
            let tags = Self.git(workspace, ["tag"]).output
            // Either no checkpoint or a whole one.
            for tag in tags.split(separator: "\n") { #expect(Self.git(workspace, ["cat-file", "-e", String(tag) + "^{tree}"]).status == 0) }
            #expect(seen.count >= killAt, "the run ended before git command \(killAt) of its checkpoint")
            // Resume continues from where it was.
            let listed = runInProcess(["task", "list", "-o", "json", "--data-dir", root + "/d"], directory: root)
            guard let id = (try JSONParser.parse(listed.stdout)).arrayValue?.first?["id"]?.stringValue else {
                Issue.record("no task after the kill at git command \(killAt): \(listed.stdout)")
                continue
            }
            let resumed = runInProcess(["task", "resume", id, "--data-dir", root + "/d"], environment: ["ORCHESTRATOR_EMBEDDED": "1"], directory: root)
            #expect(resumed.status == 0, "kill at \(killAt): \(resumed.stdout)\(resumed.stderr) \(listed.stdout)")
            #expect(Self.git(workspace, ["cat-file", "-e", "orchestrator/\(id)/c1^{tree}"]).status == 0)
            #expect(Self.git(workspace, ["show", "orchestrator/\(id)/c1:notes.txt"]).output == "mine, not committed\n")
            #expect(Self.git(workspace, ["fsck", "--no-dangling"]).status == 0)
        }
    }

    static let isolated = """
        apiVersion: orchestrator.dev/v2
        kind: Workspace
        metadata: {name: ws}
        spec:
          root_path: ws
          qa_targets: [docs]
        ---
        apiVersion: orchestrator.dev/v2
        kind: Workflow
        metadata: {name: wf}
        spec:
          steps:
            - id: edit
              type: qa_testing
              scope: item
              command: "cat app.txt > seen-$(basename {qa_file_path}).txt; ls > files-$(basename {qa_file_path}).txt; sleep SLEEP; echo changed-by-$(basename {qa_file_path}) > app.txt"
          max_parallel: 2
          loop: {mode: once}
          item_isolation: {strategy: git_worktree}
        """

    static func documents(_ workspace: String) throws {
        try FileManager.default.createDirectory(atPath: workspace + "/docs", withIntermediateDirectories: true)
        try "# a\n".write(toFile: workspace + "/docs/a.md", atomically: true, encoding: .utf8)
        try "# b\n".write(toFile: workspace + "/docs/b.md", atomically: true, encoding: .utf8)
        Self.git(workspace, ["add", "docs"])
        Self.git(workspace, ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "docs"])
    }

    @Test("two items editing one file in isolated worktrees do not see each other's edits; the conflict names the path and the other item")
    func isolatedItemsConflict() throws {
        let root = try makeTemporaryDirectory("safety-isolation")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let workspace = try Self.repository(root)
        try Self.documents(workspace)
        _ = try writeFile(root, "m.yaml", Self.isolated.replacingOccurrences(of: "SLEEP", with: "0.3"))
        let run = runInProcess(["run", "-f", "m.yaml", "-W", "wf", "--data-dir", root + "/d"], directory: root)
        #expect(run.status == 1, "\(run.stdout)\(run.stderr)")
        let id = Self.taskID(run.stdout)
        // Each item saw the workspace as it was, not the other's edit.
        #expect(try String(contentsOfFile: workspace + "/seen-a.md.txt", encoding: .utf8) == "good\n")
        let files = try String(contentsOfFile: workspace + "/files-a.md.txt", encoding: .utf8)
        #expect(!files.contains("seen-b") && !files.contains("files-b"), "\(files)")
        #expect(Self.git(workspace, ["show", "orchestrator/\(id)/docs_b.md:seen-b.md.txt"]).output == "good\n")
        // The first item's work is merged; the second's conflicts on app.txt with the first.
        #expect(try String(contentsOfFile: workspace + "/app.txt", encoding: .utf8) == "changed-by-a.md\n")
        #expect(run.stdout.contains("docs/b.md: merge conflict: app.txt (also changed by item docs/a.md); the item's work stays on branch orchestrator/\(id)/docs_b.md"), "\(run.stdout)")
        let merged = try Self.events(root, id).filter { $0["type"]?.stringValue == "item_merged" }
        let conflict = merged.first { $0["item"]?.stringValue == "docs/b.md" }?["payload"]?["conflict"]
        #expect(conflict?["paths"] == .array([.string("app.txt")]))
        #expect(conflict?["with_items"] == .array([.string("docs/a.md")]))
        let items = runInProcess(["task", "items", id, "-o", "json", "--data-dir", root + "/d"], directory: root)
        let statuses = (try JSONParser.parse(items.stdout)).arrayValue?.map { ($0["item_id"]?.stringValue ?? $0["id"]?.stringValue ?? "", $0["status"]?.stringValue ?? "") }
        #expect(statuses?.first { $0.0 == "docs/b.md" }?.1 == "unresolved", "\(items.stdout)")
        // The worktrees are gone, the branches stay.
        #expect(Self.git(workspace, ["worktree", "list"]).output.split(separator: "\n").count == 1)
        #expect(!FileManager.default.fileExists(atPath: root + "/d/worktrees/" + id))
    }

    @Test("worktrees a killed runner left are removed when the task resumes, and it completes")
    func staleWorktreesAfterKill() throws {
        let root = try makeTemporaryDirectory("safety-isolation-kill")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let workspace = try Self.repository(root)
        try Self.documents(workspace)
        let manifest = Self.isolated.replacingOccurrences(of: "SLEEP", with: "3").replacingOccurrences(of: "max_parallel: 2", with: "max_parallel: 1")
        _ = try writeFile(root, "m.yaml", manifest)
        #expect(runInProcess(["apply", "-f", "m.yaml", "--data-dir", root + "/d"], directory: root).status == 0)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: orchestratorExecutable)
        process.arguments = ["task", "create", "-W", "wf", "-g", "g", "--data-dir", root + "/d"]
        process.currentDirectoryURL = URL(fileURLWithPath: root)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        process.environment = ProcessInfo.processInfo.environment.merging(["ORCHESTRATOR_EMBEDDED": "1"]) { $1 }
        try process.run()
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline, Self.git(workspace, ["worktree", "list"]).output.split(separator: "\n").count < 3 { usleep(50_000) }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(Self.git(workspace, ["worktree", "list"]).output.split(separator: "\n").count == 3, "the worktrees exist after the kill")
        let listed = runInProcess(["task", "list", "-o", "json", "--data-dir", root + "/d"], directory: root)
        let id = (try JSONParser.parse(listed.stdout)).arrayValue?.first?["id"]?.stringValue ?? "?"
        // Resume: the stale worktrees go, new ones come and go.
        let resumed = runInProcess(["task", "resume", id, "--data-dir", root + "/d"], environment: ["ORCHESTRATOR_EMBEDDED": "1"], directory: root)
        #expect(resumed.stdout.contains("item worktrees removed (cleanup: after_workflow)"), "\(resumed.stdout)\(resumed.stderr)")
        #expect(Self.git(workspace, ["worktree", "list"]).output.split(separator: "\n").count == 1)
        #expect(!FileManager.default.fileExists(atPath: root + "/d/worktrees/" + id))
        #expect(Self.git(workspace, ["fsck", "--no-dangling"]).status == 0)
    }

    /// The pids whose parent is `pid` (from /proc).
    static func children(of pid: Int32) -> [Int32] {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        return entries.compactMap { Int32($0) }.filter { candidate in
            guard let stat = try? String(contentsOfFile: "/proc/\(candidate)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { return false }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 2 && Int32(fields[1]) == pid
        }
    }

    static func command(_ pid: Int32) -> String {
        let bytes = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline"))) ?? Data()
        return String(decoding: bytes.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self)
    }
}
