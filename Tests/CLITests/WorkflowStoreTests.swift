import Foundation
import JSON
import Store
import Testing

/// Workflow stores and spawned tasks (issue 17, docs/stores.md): the corpus's store-io, spawn
/// and promotion workflows run, limits refuse with events, a kill -9 in the middle of spawning
/// neither loses nor duplicates a child, retention prunes, schemas refuse, providers run.
@Suite struct WorkflowStoreTests {
    static let corpus = (sharedDirectory ?? "") + "/corpus/anchor"

    /// The process environment with `extra` first on PATH.
    static func environment(path extra: String? = nil) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["ORCHESTRATOR_EMBEDDED"] = "1"
        if let extra { environment["PATH"] = extra + ":" + (environment["PATH"] ?? "/usr/bin:/bin") }
        return environment
    }

    static func json(_ result: CommandResult) -> JSONValue { (try? JSONParser.parse(result.stdout)) ?? .null }

    @Test(.enabled(if: sharedDirectory != nil, "../shared not found beside the package: corpus store fixtures skipped"))
    func corpusStoreIOFixturesRun() throws {
        let root = try makeTemporaryDirectory("store-io")
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root + "/fixtures/wp05-qa", withIntermediateDirectories: true)
        func cli(_ arguments: [String]) -> CommandResult { runInProcess(arguments + ["--data-dir", root + "/d"], directory: root) }
        #expect(cli(["apply", "-f", Self.corpus + "/fixtures/manifests/bundles/qa50-store-io-test.yaml"]).status == 0)

        // S3: store_outputs writes the key of the step's JSON output; S4: store_put writes its object.
        #expect(cli(["task", "create", "-W", "qa50-store-outputs", "-q"]).status == 0)
        #expect(cli(["store", "get", "metrics", "qa_result"]).stdout == "passed:98%\n")
        #expect(cli(["task", "create", "-W", "qa50-store-put-action", "-q"]).status == 0)
        let bench = Self.json(cli(["store", "get", "benchmarks", "latest_run", "-o", "json"]))
        #expect(bench["value"]?["test_count"]?.int == 1419)
        #expect(bench["version"]?.int == 1)

        // S1: an optional key without value: the step runs and says the variable is unset.
        let optional = cli(["task", "create", "-W", "qa50-store-inputs-optional"])
        #expect(optional.status == 0, "\(optional.stdout)")
        #expect(optional.stdout.contains("store_inputs: metrics/baseline_score holds no value; `prev_score` is not set"), "\(optional.stdout)")
        // ... and once a task wrote it, the next task reads it.
        #expect(cli(["store", "put", "metrics", "baseline_score", "0.91"]).status == 0)
        let second = cli(["task", "create", "-W", "qa50-store-inputs-optional", "-q"])
        let secondID = TaskSandbox.taskID(in: second.stdout)
        let reads = ofType(Self.json(cli(["event", "list", "--task", secondID, "-o", "json"])).arrayValue ?? [], "store_read")
        #expect(reads.first?["payload"]?["found"]?.bool == true)
        #expect(reads.first?["payload"]?["as_var"]?.string == "prev_score")

        // S2: a required key without value fails the step without running it.
        let required = cli(["task", "create", "-W", "qa50-store-inputs-required"])
        #expect(required.status == 1)
        #expect(required.stdout.contains("plan                              FAILED  exit 126"), "\(required.stdout)")
        #expect(required.stdout.contains("store_inputs: the required key mandatory_config of store results holds no value"), "\(required.stdout)")
    }

    @Test(.enabled(if: sharedDirectory != nil, "../shared not found beside the package: corpus spawn fixture skipped"))
    func corpusSpawnFixtureRunsTheChildAfterItsParent() throws {
        let root = try makeTemporaryDirectory("store-spawn")
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root + "/fixtures/wp05-qa", withIntermediateDirectories: true)
        func cli(_ arguments: [String]) -> CommandResult { runInProcess(arguments + ["--data-dir", root + "/d"], directory: root) }
        let run = cli(["run", "-f", Self.corpus + "/fixtures/manifests/bundles/wp05-store-spawn.yaml", "-W", "wp05-store-spawn-parent"])
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        let tasks = Self.json(cli(["task", "list", "--tree", "-o", "json"])).arrayValue ?? []
        #expect(tasks.count == 2)
        let parent = tasks.first { $0["parent"] == .null }
        let child = tasks.first { $0["parent"] != .null }
        #expect(child?["parent"]?.string == parent?["id"]?.string)
        #expect(child?["spawnDepth"]?.int == 1)
        #expect(child?["status"]?.string == "completed")
        // The child read what its parent stored.
        let childEvents = Self.json(cli(["event", "list", "--task", child?["id"]?.string ?? "", "-o", "json"])).arrayValue ?? []
        let read = ofType(childEvents, "store_read").first?["payload"]
        #expect(read?["store"]?.string == "context")
        #expect(read?["found"]?.bool == true)
        let started = ofType(childEvents, "task_created").first?["payload"]?["origin"]
        #expect(started?["parent"]?.string == parent?["id"]?.string)
        let tree = cli(["task", "list", "--tree"]).stdout
        #expect(tree.contains("└─ \(child?["id"]?.string ?? "?")"), "\(tree)")
        // plan shows the read, the write and the spawn point.
        let plan = runInProcess(["plan", "-f", Self.corpus + "/fixtures/manifests/bundles/wp05-store-spawn.yaml", "-W", "wp05-store-spawn-parent"], directory: root).stdout
        #expect(plan.contains("writes  context/parent_finding <- plan_output (after the step succeeds)"), "\(plan)")
        #expect(plan.contains("spawns  a task of wp05-store-spawn-child (children to depth 3, at most 5 per task)"), "\(plan)")
    }

    /// A fake `claude` that answers the promotion workflow's two prompts.
    static let fakeClaude = #"""
        #!/bin/sh
        prompt="$2"
        case "$prompt" in
          *"generating content for platform:"*)
            platform=$(printf '%s' "$prompt" | sed -n 's/.*generating content for platform: \([A-Za-z.]*\).*/\1/p' | head -n 1)
            printf '{"platform":"%s","title":"Update","body":"Body","metadata":{},"filename":"draft-%s.json"}\n' "$platform" "$platform"
            ;;
          *"identify 1-3 update angles"*)
            printf '%s\n' '{"summary":"Two changes","highlights":[],"platforms":[{"id":"devto","name":"Dev.to","content_type":"blog_post","api_publishable":true,"priority":5},{"id":"twitter","name":"Twitter","content_type":"tweet_thread","api_publishable":false,"priority":3}]}'
            ;;
          *) echo "unexpected prompt" >&2; exit 3 ;;
        esac
        """#

    @Test(.enabled(if: sharedDirectory != nil, "../shared not found beside the package: promotion workflow skipped"))
    func promotionRunsEndToEndAndTheNextTaskReadsWhatItStored() throws {
        let root = try makeTemporaryDirectory("promotion")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let bin = root + "/bin", workspace = root + "/ws"
        try writeFile(bin, "claude", Self.fakeClaude)
        chmod(bin + "/claude", 0o755)
        try FileManager.default.createSymbolicLink(atPath: bin + "/orchestrator", withDestinationPath: orchestratorExecutable)
        try FileManager.default.createDirectory(atPath: workspace, withIntermediateDirectories: true)
        let environment = Self.environment(path: bin)
        @discardableResult
        func sh(_ command: String) -> String {
            let process = Process()
            let output = Pipe()
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", command]
            process.currentDirectoryURL = URL(fileURLWithPath: workspace)
            process.environment = environment
            process.standardOutput = output
            try? process.run()
            let data = output.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        sh("git init -q && git config user.email t@example.com && git config user.name t && echo a > a.txt && git add . && git commit -qm first && echo b > b.txt && git add . && git commit -qm second")
        // The replaced system's command lines, verbatim, from the workspace.
        for file in ["promotion-secrets.yaml", "promotion.yaml"] {
            let applied = try runExecutable(["apply", "-f", Self.corpus + "/docs/workflow/" + file, "--project", "promotion"], environment: environment, directory: workspace)
            #expect(applied.status == 0, "\(applied.stderr)")
        }
        let first = try runExecutable(["task", "create", "-W", "promotion", "-p", "promotion"], environment: environment, directory: workspace)
        // Every step ran; save_drafts fails on the manifest's own folded here-document (docs/stores.md).
        for line in [
            "gather_updates                    ok", "analyze_highlights                ok", "generate_content [devto]          ok",
            "generate_content [twitter]        ok", "publish [devto]                   ok",
            "publish [twitter]                 skip    prehook_false: api_publishable is \"false\"", "track_results                     ok",
        ] {
            #expect(first.stdout.contains(line), "\(line)\n\(first.stdout)")
        }
        // The example's own bug (lint `folded-heredoc`): bash reads its here-document to the end.
        #expect(first.stdout.contains("save_drafts [devto]               FAILED"), "\(first.stdout)")
        #expect(first.stdout.contains("delimited by end-of-file (wanted `DRAFT_EOF')"), "\(first.stdout)")
        let sha = Self.json(try runExecutable(["store", "get", "promotion", "last_published_sha", "-p", "promotion", "-o", "json"], environment: environment, directory: workspace))
        #expect(sha["value"]?.string == sh("git rev-parse HEAD"))
        #expect(sha["value"]?.string?.count == 40)
        // The second task reads it: its gather_updates command has the SHA where the first had the placeholder.
        sh("echo c > c.txt && git add . && git commit -qm third")
        let second = try runExecutable(["task", "create", "-W", "promotion", "-p", "promotion", "-q"], environment: environment, directory: workspace)
        let listed = Self.json(try runExecutable(["task", "list", "-o", "json"], environment: environment, directory: workspace)).arrayValue ?? []
        #expect(listed.count == 2, "\(second.stdout)")
        let secondID = listed.last?["id"]?.string ?? ""
        let events = Self.json(try runExecutable(["event", "list", "--task", secondID, "-o", "json"], environment: environment, directory: workspace)).arrayValue ?? []
        let read = ofType(events, "store_read").first?["payload"]
        #expect(read?["found"]?.bool == true)
        #expect(read?["version"]?.int == 1)
        let gather = ofType(events, "step_started").first { $0["step"]?.string == "gather_updates" }
        #expect(gather?["payload"]?["command"]?.string?.contains("LAST_SHA=\"\(sha["value"]?.string ?? "?")\"") == true)
        // Its own track_results wrote the key again: version 2.
        let again = Self.json(try runExecutable(["store", "get", "promotion", "last_published_sha", "-p", "promotion", "-o", "json"], environment: environment, directory: workspace))
        #expect(again["version"]?.int == 2)
    }

    static let chain = """
        apiVersion: orchestrator.dev/v2
        kind: Workflow
        metadata: {name: chain}
        spec:
          steps:
            - id: work
              scope: task
              command: "echo {goal} >> ran.txt"
              behavior:
                post_actions:
                  - {type: spawn_task, goal: "deeper than {goal}", workflow: chain}
          safety:
            max_spawn_depth: 2
        """

    @Test("a chain of spawns stops at max_spawn_depth with a spawn_refused event")
    func spawnChainStopsAtMaxDepth() throws {
        let box = try TaskSandbox("spawn-depth")
        try box.manifest(Self.chain, workspaceSpec: "qa_targets: []")
        let run = box.cli(["run", "-f", box.root + "/manifest.yaml", "-W", "chain", "-g", "root"])
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        // The root and two generations, each run once, in order.
        #expect(box.read("ran.txt") == "root\ndeeper than root\ndeeper than deeper than root\n")
        let tasks = Self.json(box.cli(["task", "list", "--tree", "-o", "json"])).arrayValue ?? []
        #expect(tasks.map { $0["spawnDepth"]?.int ?? -1 } == [0, 1, 2])
        let deepest = tasks.last?["id"]?.string ?? ""
        let refused = ofType(try box.events(deepest), "spawn_refused")
        #expect(refused.count == 1)
        #expect(refused.first?["payload"]?["limit"]?.string == "max_spawn_depth")
        #expect(refused.first?["payload"]?["depth"]?.int == 3)
        #expect(run.stdout.contains("spawn refused: the child would be at depth 3, beyond safety.max_spawn_depth 2"), "\(run.stdout)")
        let tree = box.cli(["task", "list", "--tree"]).stdout.split(separator: "\n")
        #expect(tree.count == 4)
        #expect(tree.count == 4 && tree[2].hasPrefix("└─ ") && tree[3].hasPrefix("  └─ "), "\(tree)")
    }

    /// Workflow `fan`: `list` prints jobs `goals` and spawns a `leaf` task per job (each appends its
    /// goal to leaves.txt); `after` follows.
    static func fan(_ goals: [String], maxTasks: Int, safety: String = "") -> String {
        let jobs = goals.map { "{\\\"g\\\": \\\"\($0)\\\"}" }.joined(separator: ", ")
        return """
            apiVersion: orchestrator.dev/v2
            kind: Workflow
            metadata: {name: fan}
            spec:
              steps:
                - id: list
                  scope: task
                  command: "echo '{\\"jobs\\": [\(jobs)]}'"
                  behavior:
                    post_actions:
                      - {type: spawn_tasks, from_var: list_output, json_path: "$.jobs", mapping: {goal: "$.g", workflow: leaf}, max_tasks: \(maxTasks)}
                - {id: after, scope: task, command: "echo after >> after.txt"}
            \(safety)
            ---
            apiVersion: orchestrator.dev/v2
            kind: Workflow
            metadata: {name: leaf}
            spec:
              steps:
                - {id: do, scope: task, command: "echo {goal} >> leaves.txt"}
            """
    }

    @Test("max_spawned_tasks and max_tasks bound spawn_tasks, each refusal an event")
    func spawnCountLimits() throws {
        let box = try TaskSandbox("spawn-count")
        try box.manifest(Self.fan(["a", "b", "c", "d"], maxTasks: 3, safety: "  safety:\n    max_spawned_tasks: 2"), workspaceSpec: "qa_targets: []")
        let run = box.cli(["run", "-f", box.root + "/manifest.yaml", "-W", "fan"])
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        #expect(box.read("leaves.txt") == "a\nb\n")
        let parent = TaskSandbox.taskID(in: run.stdout)
        let events = try box.events(parent)
        #expect(ofType(events, "task_spawned").count == 2)
        let limits = ofType(events, "spawn_refused").compactMap { $0["payload"]?["limit"]?.string }
        #expect(limits.sorted() == ["max_spawned_tasks", "max_tasks"])
    }

    @Test("kill -9 while a step spawns its tasks: resume creates the missing children once, loses and repeats none")
    func killWhileSpawningNeitherLosesNorDuplicates() throws {
        for attempt in 1...5 {
            let box = try TaskSandbox("spawn-kill")
            try box.manifest(Self.fan((1...6).map { "job\($0)" }, maxTasks: 6), workspaceSpec: "qa_targets: []")
            #expect(box.cli(["apply", "-f", box.root + "/manifest.yaml"]).status == 0)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: orchestratorExecutable)
            process.arguments = ["task", "create", "-W", "fan", "--data-dir", box.data]
            process.currentDirectoryURL = URL(fileURLWithPath: box.root)
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            process.environment = Self.environment()
            try process.run()
            // As soon as the first child is linked, hold the database's write lock: the runner
            // blocks in the middle of its spawns (or at the step's end), and is killed there.
            let reader = try Database(path: box.data + "/orchestrator.db")
            let locker = try Database(path: box.data + "/orchestrator.db")
            let deadline = Date().addingTimeInterval(20)
            var linked = 0
            while process.isRunning, Date() < deadline {
                linked = Int((try? reader.query("SELECT COUNT(*) FROM task_spawns").first?.first?.integer) ?? 0)
                if linked > 0 { break }
                usleep(100)
            }
            try locker.execute("BEGIN IMMEDIATE")
            let atKill = Int((try? reader.query("SELECT COUNT(*) FROM task_spawns").first?.first?.integer) ?? 0)
            let stepFinished = Int((try? reader.query("SELECT COUNT(*) FROM events WHERE type = 'step_finished' AND step = 'list'").first?.first?.integer) ?? 0)
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            try locker.execute("ROLLBACK")
            #expect(linked > 0, "no child was spawned before the deadline")
            // Resume: the spawning step runs again; the children it made are found by their spawn key.
            let tasks = Self.json(box.cli(["task", "list", "--tree", "-o", "json"])).arrayValue ?? []
            let parent = tasks.first { $0["parent"] == .null }?["id"]?.string ?? ""
            let resumed = box.cli(["task", "resume", parent])
            #expect(resumed.status == 0, "\(resumed.stdout)\(resumed.stderr)")
            let after = Self.json(box.cli(["task", "list", "--tree", "-o", "json"])).arrayValue ?? []
            let children = after.filter { $0["parent"]?.string == parent }
            #expect(children.count == 6, "attempt \(attempt): \(children.count) children after resume (\(atKill) at the kill)")
            #expect(children.allSatisfy { $0["status"]?.string == "completed" })
            #expect(box.read("leaves.txt").split(separator: "\n").sorted() == (1...6).map { "job\($0)" }.map { Substring($0) })
            #expect(box.read("after.txt") == "after\n")
            // Killed before the step's end, with some children missing: the case this test is for.
            if atKill < 6 && stepFinished == 0 { return }
        }
        Issue.record("the kill never landed while the step was still spawning (five attempts)")
    }

    @Test("retention: max_entries keeps the newest; ttl_days prunes old files of a file store")
    func retentionPrunes() throws {
        let box = try TaskSandbox("store-retention")
        try box.manifest(
            """
            apiVersion: orchestrator.dev/v2
            kind: WorkflowStore
            metadata: {name: recent}
            spec:
              retention: {max_entries: 2}
            ---
            apiVersion: orchestrator.dev/v2
            kind: WorkflowStore
            metadata: {name: files}
            spec:
              provider: file
              base_path: files-store
              retention: {ttl_days: 5}
            """, workspaceSpec: "qa_targets: []")
        #expect(box.cli(["apply", "-f", box.root + "/manifest.yaml"]).status == 0)
        for key in ["a", "b"] { #expect(box.cli(["store", "put", "recent", key, key + "-value"]).status == 0) }
        let third = box.cli(["store", "put", "recent", "c", "c-value"])
        #expect(third.stdout == "recent/c written (version 1); retention removed 1: a\n", "\(third.stdout)\(third.stderr)")
        let keys = (Self.json(box.cli(["store", "list", "recent", "-o", "json"]))["entries"]?.arrayValue ?? []).compactMap { $0["key"]?.string }
        #expect(keys == ["b", "c"])
        // A file store: one JSON file per key; a file older than ttl_days is pruned.
        #expect(box.cli(["store", "put", "files", "old/one", "1", "--json"]).status == 0)
        #expect(box.cli(["store", "put", "files", "new", "2", "--json"]).status == 0)
        let old = box.data + "/files-store/old%2Fone.json"
        #expect(FileManager.default.fileExists(atPath: old))
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(-10 * 86_400)], ofItemAtPath: old)
        let pruned = box.cli(["store", "prune", "files"])
        #expect(pruned.stdout == "old/one\n", "\(pruned.stdout)\(pruned.stderr)")
        let none = Self.json(box.cli(["store", "prune", "files", "-o", "json"]))
        #expect(none["pruned"]?.arrayValue?.isEmpty == true)
        #expect(none["retention"]?.string == "5 days")
        #expect(!FileManager.default.fileExists(atPath: old))
        #expect(box.cli(["store", "get", "files", "new"]).stdout == "2\n")
    }

    @Test("store commands: schema refusals name the WorkflowStore, bad keys name the argument, exit codes as cli.md")
    func storeCommandsAndSchema() throws {
        let box = try TaskSandbox("store-commands")
        let manifest = try box.manifest(
            """
            apiVersion: orchestrator.dev/v2
            kind: WorkflowStore
            metadata: {name: typed}
            spec:
              schema:
                type: object
                properties:
                  value: {type: string}
            """, workspaceSpec: "qa_targets: []")
        #expect(box.cli(["apply", "-f", manifest]).status == 0)
        let refused = box.cli(["store", "put", "typed", "k", "{\"a\": 1}", "--json"])
        #expect(refused.status == 1)
        #expect(
            refused.stderr.contains(
                "key k breaks the schema of WorkflowStore typed (it describes the entry {key, value}): `$.value`: expected string, found object (schema keyword `type` of WorkflowStore `typed`)"),
            "\(refused.stderr)")
        #expect(box.cli(["store", "get", "typed", "k"]).status == 1)
        #expect(box.cli(["store", "put", "typed", "k", "one"]).stdout == "typed/k written (version 1)\n")
        let second = Self.json(box.cli(["store", "put", "typed", "k", "two", "-o", "json"]))
        #expect(second["version"]?.int == 2)
        #expect(second["key"]?.string == "k")
        let entry = Self.json(box.cli(["store", "get", "typed", "k", "-o", "json"]))
        #expect(entry["value"]?.string == "two")
        #expect(entry["version"]?.int == 2)
        let bad = box.cli(["store", "get", "typed", ""])
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("argument 2 (``): the key is empty"), "\(bad.stderr)")
        let count = box.cli(["store", "get", "typed"])
        #expect(count.status == 2)
        #expect(count.stderr.contains("expected 2 arguments, found 1"), "\(count.stderr)")
        #expect(Self.json(box.cli(["store", "delete", "typed", "k", "-o", "json"]))["deleted"] == .bool(true))
        #expect(box.cli(["store", "delete", "typed", "k"]).status == 1)
        // Another project sees none of it.
        #expect(box.cli(["store", "put", "typed", "k", "mine"]).status == 0)
        #expect(box.cli(["store", "get", "typed", "k", "-p", "other"]).status == 1)
    }

    @Test("a StoreBackendProvider's commands: put, get, list, delete, and a step reading through it")
    func commandProvider() throws {
        let box = try TaskSandbox("store-provider")
        let folder = box.root + "/kv"
        try box.manifest(
            """
            apiVersion: orchestrator.dev/v2
            kind: StoreBackendProvider
            metadata: {name: shelf}
            spec:
              commands:
                get: 'test -f \(folder)/$ORCHESTRATOR_KEY || exit 2; cat \(folder)/$ORCHESTRATOR_KEY'
                put: 'mkdir -p \(folder) && cat > \(folder)/$ORCHESTRATOR_KEY'
                delete: 'test -f \(folder)/$ORCHESTRATOR_KEY || exit 2; rm \(folder)/$ORCHESTRATOR_KEY'
                list: 'ls \(folder)'
            ---
            apiVersion: orchestrator.dev/v2
            kind: WorkflowStore
            metadata: {name: remote}
            spec:
              provider: shelf
            ---
            apiVersion: orchestrator.dev/v2
            kind: Workflow
            metadata: {name: reader}
            spec:
              steps:
                - id: use
                  scope: task
                  command: "echo got {greeting} > got.txt"
                  store_inputs:
                    - {store: remote, key: greeting, as_var: greeting, required: true}
            """, workspaceSpec: "qa_targets: []")
        #expect(box.cli(["apply", "-f", box.root + "/manifest.yaml"]).status == 0)
        #expect(box.cli(["store", "put", "remote", "greeting", "hello"]).status == 0)
        #expect((try? String(contentsOfFile: folder + "/greeting", encoding: .utf8)) == "\"hello\"")
        #expect(box.cli(["store", "get", "remote", "greeting"]).stdout == "hello\n")
        #expect(box.cli(["store", "get", "remote", "missing"]).status == 1)
        let listed = Self.json(box.cli(["store", "list", "remote", "-o", "json"]))
        #expect(listed["provider"]?.string == "commands of StoreBackendProvider shelf")
        #expect((listed["entries"]?.arrayValue ?? []).compactMap { $0["key"]?.string } == ["greeting"])
        let run = box.run("reader")
        #expect(run.result.status == 0, "\(run.result.stdout)\(run.result.stderr)")
        #expect(box.read("got.txt") == "got hello\n")
        #expect(box.cli(["store", "delete", "remote", "greeting"]).status == 0)
        let failed = box.run("reader")
        #expect(failed.result.status == 1)
    }
}
