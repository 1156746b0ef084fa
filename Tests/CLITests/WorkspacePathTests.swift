import CLI
import Foundation
import JSON
import Testing

/// Relative `root_path` values resolve against the directory the command runs in, as in the
/// replaced system, and a workspace that points at nothing is said, not silently run.
@Suite("Workspace paths")
struct WorkspacePathTests {
    /// The replaced system's guide, from the repository root of a copy of its self-bootstrap
    /// workspace: `apply -f docs/workflow/self-bootstrap.yaml --project self-bootstrap` with
    /// `root_path: "."` must mean the repository, so a task's items are its QA documents.
    @Test func theGuideAppliesTheRepositoryRoot() throws {
        guard let shared = sharedDirectory else {
            print("note: ../shared is absent; skipping the guide's root_path test")
            return
        }
        let box = try TaskSandbox("guide-root")
        let repository = box.workspace
        for name in ["self-bootstrap.yaml", "execution-profiles.yaml", "claude-secret.yaml"] {
            let text = try String(contentsOfFile: shared + "/corpus/anchor/docs/workflow/" + name, encoding: .utf8)
            try box.file("docs/workflow/" + name, text)
        }
        try box.file(
            "my-secrets.yaml",
            "apiVersion: orchestrator.dev/v2\nkind: SecretStore\nmetadata:\n  name: minimax\nspec:\n  data:\n    ANTHROPIC_API_KEY: \"sk-guide-test-0001\"\n")
        try box.file("docs/qa/01-login.md", "# login\n")
        try box.file("docs/qa/02-export.md", "# export\n")

        let commands: [[String]] = [
            ["init"],
            ["apply", "-f", "my-secrets.yaml", "--project", "self-bootstrap"],
            ["apply", "-f", "docs/workflow/claude-secret.yaml", "--project", "self-bootstrap"],
            ["apply", "-f", "docs/workflow/execution-profiles.yaml", "--project", "self-bootstrap"],
        ]
        for command in commands {
            let result = box.cli(command, in: repository)
            #expect(result.status == 0, "\(command): \(result.stderr)")
        }
        let apply = box.cli(["apply", "-f", "docs/workflow/self-bootstrap.yaml", "--project", "self-bootstrap"], in: repository)
        #expect(apply.status == 0, "\(apply.stderr)")
        // The apply line says where the workspace resolved to.
        #expect(apply.stdout.contains("Workspace/self created (project: self-bootstrap, root: \(repository))"), "\(apply.stdout)")

        let get = box.cli(["get", "workspaces", "--project", "self-bootstrap", "-o", "json"], in: repository)
        #expect(get.status == 0)
        #expect(get.stdout.contains("\"root_path\": \"\(repository)\""), "\(get.stdout)")

        let create = box.cli(
            ["task", "create", "-n", "guide", "-w", "self", "-W", "self-bootstrap", "--project", "self-bootstrap", "-g", "goal", "--no-start"],
            in: repository)
        #expect(create.status == 0, "\(create.stderr)")
        let task = TaskSandbox.taskID(in: create.stdout)
        let items = box.cli(["task", "items", task, "-o", "json"], in: repository)
        #expect(items.status == 0, "\(items.stderr)")
        let paths = (try JSONParser.parse(items.stdout).arrayValue ?? []).compactMap { $0["path"]?.stringValue }
        #expect(paths == ["docs/qa/01-login.md", "docs/qa/02-export.md"], "\(items.stdout)")
    }

    @Test func aRootThatDoesNotExistIsAPositionedWarning() throws {
        let box = try TaskSandbox("root-missing")
        let file = try box.file(
            "m.yaml",
            """
            apiVersion: orchestrator.dev/v2
            kind: Workspace
            metadata:
              name: lost
            spec:
              root_path: no/such/folder
              qa_targets: [docs/qa]

            """)
        let result = runInProcess(["validate", "-f", file], directory: box.workspace)
        #expect(result.status == 0, "a warning, not an error: \(result.stderr)")
        #expect(result.stderr.contains("m.yaml:6:14: warning: workspace `lost`: root_path `no/such/folder` resolves to \(box.workspace)/no/such/folder, which is not an existing directory [root-path-missing]"), "\(result.stderr)")
    }

    @Test func missingAndEmptyQATargetsAreWarnedAtTheirEntry() throws {
        let box = try TaskSandbox("qa-empty")
        try box.file("docs/notes/readme.txt", "not a QA document\n")
        try box.file("docs/qa/01.md", "# one\n")
        let file = try box.file(
            "m.yaml",
            """
            apiVersion: orchestrator.dev/v2
            kind: Workspace
            metadata:
              name: w
            spec:
              root_path: .
              qa_targets:
                - docs/qa
                - docs/notes
                - docs/missing

            """)
        for command in [["validate", "-f", file], ["lint", "-f", file], ["apply", "-f", file, "--data-dir", box.data]] {
            let result = runInProcess(command, directory: box.workspace)
            #expect(result.status == 0, "\(command): \(result.stderr)")
            #expect(result.stderr.contains("m.yaml:9:7: warning: workspace `w`: qa_targets entry `docs/notes` holds no *.md file"), "\(command): \(result.stderr)")
            #expect(result.stderr.contains("m.yaml:10:7: warning: workspace `w`: qa_targets entry `docs/missing` does not exist"), "\(command): \(result.stderr)")
            #expect(!result.stderr.contains("`docs/qa`"), "\(command): \(result.stderr)")
        }
    }
}
