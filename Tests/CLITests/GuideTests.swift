import CLI
import Foundation
import JSON
import Testing

/// The replaced system's operating guide (../shared/spec/guide-commands.md), command line by
/// command line, unchanged, embedded (no daemon), from the repository root of a copy of its
/// self-bootstrap workspace, with a shell script standing in for `claude`.
@Suite("The replaced system's guide")
struct GuideTests {
    @Test func theGuideRunsVerbatim() throws {
        guard let shared = sharedDirectory else {
            print("note: ../shared is absent; skipping the guide test")
            return
        }
        let box = try TaskSandbox("guide")
        let repository = box.workspace
        for name in ["self-bootstrap.yaml", "execution-profiles.yaml", "claude-secret.yaml"] {
            try box.file("docs/workflow/" + name, try String(contentsOfFile: shared + "/corpus/anchor/docs/workflow/" + name, encoding: .utf8))
        }
        try box.file(
            "your-secrets.yaml",
            "apiVersion: orchestrator.dev/v2\nkind: SecretStore\nmetadata:\n  name: minimax\nspec:\n  data:\n    MINIMAX_API_KEY: \"mm-guide-test-0001\"\n")
        try box.file("docs/qa/01-login.md", "# login\n")
        try box.file("docs/qa/02-export.md", "# export\n")
        try box.file("docs/qa/03-import.md", "# import\n")
        // The agent: prints one stream-json line, as `claude -p ... --output-format stream-json` does.
        let bin = box.root + "/bin"
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        FileManager.default.createFile(
            atPath: bin + "/claude", contents: Data("#!/bin/sh\necho '{\"type\":\"result\",\"result\":\"done\"}'\n".utf8),
            attributes: [.posixPermissions: 0o755])
        let environment = ["PATH": bin + ":/usr/local/bin:/usr/bin:/bin", "HOME": box.root]
        func guide(_ line: String) -> CommandResult {
            // The guide's line as written, split on blanks (its quoted goal is one word here).
            var words: [String] = []
            var current = ""
            var quoted = false
            for character in line {
                if character == "\"" {
                    quoted.toggle()
                } else if character == " " && !quoted {
                    if !current.isEmpty { words.append(current) }
                    current = ""
                } else {
                    current.append(character)
                }
            }
            if !current.isEmpty { words.append(current) }
            #expect(words.first == "orchestrator")
            return runInProcess(Array(words.dropFirst()) + ["--data-dir", box.data], environment: environment, directory: repository)
        }

        // 2. Initialise and load resources.
        for line in [
            "orchestrator delete project/self-bootstrap --force",
            "orchestrator init",
            "orchestrator apply -f your-secrets.yaml --project self-bootstrap",
            "orchestrator apply -f docs/workflow/claude-secret.yaml --project self-bootstrap",
            "orchestrator apply -f docs/workflow/execution-profiles.yaml --project self-bootstrap",
            "orchestrator apply -f docs/workflow/self-bootstrap.yaml --project self-bootstrap",
        ] {
            let result = guide(line)
            #expect(result.status == 0, "\(line): \(result.stderr)")
        }
        // 3. Check what was loaded.
        let workspaces = guide("orchestrator get workspaces --project self-bootstrap -o json")
        #expect(workspaces.stdout.contains("\"root_path\": \"\(repository)\""), "\(workspaces.stdout)")
        let agents = try JSONParser.parse(guide("orchestrator get agents --project self-bootstrap -o json").stdout).arrayValue ?? []
        #expect(agents.count == 4)

        // 4. Create the task, with -t and without.
        let targeted = guide(
            "orchestrator task create -n \"targeted\" -w self -W self-bootstrap --project self-bootstrap -g \"improve the login flow\" -t docs/qa/01-login.md -t docs/qa/02-export.md")
        #expect(targeted.status == 0, "\(targeted.stdout)\(targeted.stderr)")
        #expect(targeted.stderr.contains("runs in the foreground"))
        let first = TaskSandbox.taskID(in: targeted.stdout)
        let all = guide("orchestrator task create -n \"all\" -w self -W self-bootstrap --project self-bootstrap -g \"improve everything\"")
        #expect(all.status == 0, "\(all.stdout)\(all.stderr)")
        let second = TaskSandbox.taskID(in: all.stdout)
        func itemPaths(_ task: String) throws -> [String] {
            (try JSONParser.parse(guide("orchestrator task items \(task) -o json").stdout).arrayValue ?? [])
                .filter { $0["origin"]?.string != "task" }.compactMap { $0["path"]?.string }.sorted()
        }
        // The items are the workspace's QA documents: the -t ones, else every one under qa_targets.
        #expect(try itemPaths(first) == ["docs/qa/01-login.md", "docs/qa/02-export.md"])
        #expect(try itemPaths(second) == ["docs/qa/01-login.md", "docs/qa/02-export.md", "docs/qa/03-import.md"])

        // 5. Monitor, and 6. record.
        for task in [first, second] {
            for line in [
                "orchestrator task list",
                "orchestrator task info \(task)",
                "orchestrator task trace \(task)",
                "orchestrator task trace \(task) --json",
                "orchestrator task watch \(task)",
                "orchestrator task logs --tail 100 \(task)",
                "orchestrator task logs --tail 200 \(task)",
                "orchestrator event list --task \(task) --limit 20",
                "orchestrator event list --task \(task) --type self_restart --limit 10",
            ] {
                let result = guide(line)
                #expect(result.status == 0, "\(line): \(result.stdout)\(result.stderr)")
            }
            let info = guide("orchestrator task info \(task)").stdout
            #expect(info.contains("status:               completed"), "\(info)")
            // What did not happen is said: no self_test commands, nothing restarted.
            #expect(info.contains("self_test (cycles 1, 2): did nothing"), "\(info)")
            let restarts = guide("orchestrator event list --task \(task) --type self_restart --limit 10").stdout
            #expect(restarts.contains("self_restart_requested"), "\(restarts)")
            let trace = try JSONParser.parse(guide("orchestrator task trace \(task) --json").stdout)
            #expect(trace["deviations"]?.arrayValue?.isEmpty == true, "\(trace)")
            // cycle 2 ran qa_testing for each QA document.
            let events = try box.events(task)
            let qa = ofType(events, "step_started").filter { $0["step"]?.string == "qa_testing" }.compactMap { $0["item"]?.string }
            #expect(qa.sorted() == (try itemPaths(task)), "\(qa)")
        }
    }
}
