import CLI
import Foundation
import JSON
import Testing

/// The typed command core: options belong to one command or subcommand, `--opt=value` works,
/// help comes from the declarations; and the command lines of the replaced system's guide.
@Suite("Command options")
struct CommandOptionTests {
    let demo = packageRoot + "/manifests/demo.yaml"

    @Test("an option of another subcommand is exit 2 naming the subcommand's own options")
    func optionOfAnotherSubcommand() throws {
        let data = try makeTemporaryDirectory("options") + "/data"
        let list = runInProcess(["task", "list", "--tail", "5", "--data-dir", data])
        #expect(list.status == 2)
        #expect(list.stderr.contains("unknown option `--tail` for `task list`"), "\(list.stderr)")
        #expect(list.stderr.contains("`task list` takes: --limit, --after, --tree, -o/--output, --data-dir, -h/--help"), "\(list.stderr)")
        #expect(list.stderr.contains("`--tail` is an option of `task logs`"), "\(list.stderr)")
        #expect(list.stdout.isEmpty)
        // Nothing ran: not even the data directory was created.
        #expect(!FileManager.default.fileExists(atPath: data))

        // The real binary, as a user types it.
        let validate = try runExecutable(["validate", "-f", "x.yaml", "--workflow"])
        #expect(validate.status == 2)
        #expect(validate.stderr.contains("unknown option `--workflow` for `validate`"), "\(validate.stderr)")
        #expect(validate.stderr.contains("`validate` takes: -f/--filename, -p/--project, --strict, --format, --color"), "\(validate.stderr)")
        #expect(validate.stderr.contains("`--workflow` is an option of `plan`, `run`, `task create`"), "\(validate.stderr)")
    }

    @Test("a typo gets the closest option of the command")
    func closestOption() {
        let result = runInProcess(["task", "logs", "abc", "--tial", "3"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("did you mean `--tail`?"), "\(result.stderr)")
        let plan = runInProcess(["plan", "-f", demo, "--cylces", "2"])
        #expect(plan.status == 2)
        #expect(plan.stderr.contains("did you mean `--cycles`?"), "\(plan.stderr)")
    }

    @Test("plan -p default -f manifests/demo.yaml works, and -p sets the project")
    func planWithShortProject() throws {
        let plan = try runExecutable(["plan", "-p", "default", "-f", demo])
        #expect(plan.status == 0, "\(plan.stderr)")
        #expect(plan.stdout.hasPrefix("workflow demo (project default, "), "\(plan.stdout)")
        let other = runInProcess(["plan", "-p", "other", "-f", demo])
        #expect(other.status == 0, "\(other.stderr)")
        #expect(other.stdout.hasPrefix("workflow demo (project other, "), "\(other.stdout)")
        #expect(runInProcess(["plan", "--project", "other", "-f", demo]).stdout == other.stdout)
    }

    @Test("-p on validate and lint is --project")
    func projectOnValidateAndLint() {
        for command in ["validate", "lint"] {
            let short = runInProcess([command, "-p", "elsewhere", "-f", demo])
            #expect(short.status == 0, "\(short.stderr)")
            #expect(short.stdout.contains("project elsewhere"), "\(command): \(short.stdout)")
            #expect(short.stdout == runInProcess([command, "--project=elsewhere", "-f", demo]).stdout)
            #expect(runInProcess([command, "-f", demo]).stdout.contains("project default"))
        }
    }

    @Test("-p on diff is --project")
    func projectOnDiff() throws {
        let data = try makeTemporaryDirectory("diff") + "/data"
        #expect(runInProcess(["apply", "-f", demo, "--data-dir", data]).status == 0)
        let same = runInProcess(["diff", "-p", "default", "-f", demo, "--data-dir", data])
        #expect(same.status == 0, "\(same.stdout)\(same.stderr)")
        let elsewhere = runInProcess(["diff", "-p", "elsewhere", "-f", demo, "--data-dir", data])
        #expect(elsewhere.status == 1)
        #expect(elsewhere.stdout.contains("Workflow/demo (project: elsewhere): would be created"), "\(elsewhere.stdout)")
    }

    @Test("--opt=value works for every option with a value; a flag takes none")
    func equalsForm() throws {
        let json = runInProcess(["plan", "--output=json", "--filename=" + demo, "--cycles=2"])
        #expect(json.status == 0, "\(json.stderr)")
        let plan = try JSONParser.parse(json.stdout)
        #expect(plan["workflow"]?.stringValue == "demo")
        #expect(runInProcess(["plan", "-o", "json", "-f", demo, "--cycles", "2"]).stdout == json.stdout)
        let sarif = runInProcess(["validate", "--format=sarif", "-f", demo])
        #expect(sarif.status == 0)
        #expect(sarif.stdout.contains("\"version\": \"2.1.0\"") || sarif.stdout.contains("\"version\":\"2.1.0\""), "\(sarif.stdout.prefix(200))")
        let flag = runInProcess(["apply", "--dry-run=yes", "-f", demo])
        #expect(flag.status == 2)
        #expect(flag.stderr.contains("option `--dry-run` takes no value"), "\(flag.stderr)")
        let bad = runInProcess(["plan", "--output=xml", "-f", demo])
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("`xml` is not a valid value for `--output`"), "\(bad.stderr)")
    }

    @Test("-o table is -o text")
    func tableIsText() {
        let text = runInProcess(["plan", "-o", "text", "-f", demo])
        #expect(text.status == 0)
        #expect(runInProcess(["plan", "-o", "table", "-f", demo]).stdout == text.stdout)
        #expect(runInProcess(["plan", "-f", demo]).stdout == text.stdout)
    }

    @Test("help comes from the declarations, for commands, groups and subcommands")
    func generatedHelp() {
        let create = runInProcess(["task", "create", "--help"])
        #expect(create.status == 0)
        #expect(create.stdout.hasPrefix("Usage: orchestrator task create"))
        for option in ["-W, --workflow WF", "-t, --target-file FILE", "--no-start", "-p, --project P", "--data-dir DIR", "-h, --help"] {
            #expect(create.stdout.contains(option), "\(option) missing from\n\(create.stdout)")
        }
        #expect(!create.stdout.contains("--tail"))
        #expect(runInProcess(["help", "task", "create"]).stdout == create.stdout)
        let list = runInProcess(["task", "list", "--help"]).stdout
        #expect(list.contains("-o, --output text|json") && list.contains("(default text)") && !list.contains("--tail"), "\(list)")
        let group = runInProcess(["task", "--help"])
        #expect(group.status == 0)
        for sub in ["create", "start", "list", "info", "items", "logs", "watch", "trace", "pause", "resume", "delete"] {
            #expect(group.stdout.contains("\n  \(sub) "), "\(sub) missing from\n\(group.stdout)")
        }
        for command in ["validate", "lint", "plan", "diff", "apply", "get", "describe", "delete", "export", "run"] {
            #expect(runInProcess([command, "--help"]).stdout.contains("-p, --project P"), "\(command) --help has no -p")
        }
        let overview = runInProcess(["--help"]).stdout
        #expect(overview.contains("task") && overview.contains("event"))
    }

    @Test("every command and subcommand has help, and no spelling is declared twice in one command")
    func everyCommandsHelp() {
        func commandWords(_ help: String, after header: String) -> [String] {
            guard let section = help.components(separatedBy: header + "\n").dropFirst().first else { return [] }
            return section.split(separator: "\n").prefix { $0.hasPrefix("  ") }.compactMap { $0.split(separator: " ").first.map(String.init) }
        }
        let commands = commandWords(runInProcess(["--help"]).stdout, after: "Commands:")
        #expect(commands.count >= 15, "\(commands)")
        // Groups may hold groups (`secret key status`): expand until every path is a command.
        var paths: [[String]] = []
        var pending = commands.map { [$0] }
        while let path = pending.popLast() {
            let subcommands = commandWords(runInProcess(path + ["--help"]).stdout, after: "Subcommands:")
            if subcommands.isEmpty { paths.append(path) } else { pending += subcommands.map { path + [$0] } }
        }
        #expect(paths.contains(["task", "trace"]) && paths.contains(["event", "list"]) && paths.contains(["validate"]))
        #expect(paths.contains(["secret", "key", "rotate"]))
        for path in paths {
            let help = runInProcess(path + ["--help"])
            #expect(help.status == 0)
            #expect(help.stdout.hasPrefix("Usage: orchestrator " + path.joined(separator: " ")), "\(path)")
            let spellings = commandWords(help.stdout, after: "Options:").isEmpty ? [] : help.stdout
                .components(separatedBy: "Options:\n")[1].split(separator: "\n")
                .flatMap { line in line.split(separator: " ").prefix { $0.hasPrefix("-") }.map { $0.trimmingCharacters(in: [","]) } }
            #expect(spellings.contains("--help"), "\(path)")
            #expect(Set(spellings).count == spellings.count, "\(path): \(spellings)")
        }
    }

    @Test("a group needs its subcommand first")
    func subcommandFirst() {
        let none = runInProcess(["task"])
        #expect(none.status == 2)
        #expect(none.stderr.contains("one of: create, start, list"), "\(none.stderr)")
        let optionFirst = runInProcess(["task", "-o", "json", "list"])
        #expect(optionFirst.status == 2)
        #expect(optionFirst.stderr.contains("needs its subcommand before any option"), "\(optionFirst.stderr)")
        let typo = runInProcess(["event", "lsit"])
        #expect(typo.status == 2)
        #expect(typo.stderr.contains("did you mean `list`?"), "\(typo.stderr)")
        let stray = runInProcess(["task", "list", "extra"])
        #expect(stray.status == 2)
        #expect(stray.stderr.contains("`task list` takes no arguments, got `extra`"), "\(stray.stderr)")
    }
}

/// The command lines of the replaced system's guide that need a task or a store.
@Suite("Guide command lines")
struct GuideCommandLineTests {
    /// A sandbox with one QA document and a two-step workflow `wf` (not applied).
    func sandbox(_ label: String) throws -> TaskSandbox {
        let box = try TaskSandbox(label)
        try box.file("qa/one.md", "1\n")
        try box.manifest(
            """
            apiVersion: orchestrator.dev/v2
            kind: Workflow
            metadata: {name: wf}
            spec:
              steps:
                - {id: build, command: "echo built"}
                - {id: qa, command: "echo checking {rel_path}"}
            """)
        return box
    }

    /// A sandbox with a completed task of `wf`.
    func completedTask() throws -> (TaskSandbox, String) {
        let box = try sandbox("guide")
        let run = box.run("wf")
        #expect(run.result.status == 0, "\(run.result.stdout)\(run.result.stderr)")
        return (box, run.task)
    }

    @Test("task trace ID --json is -o json; -o table is -o text for task and event commands")
    func traceJSONAndTable() throws {
        let (box, task) = try completedTask()
        let json = box.cli(["task", "trace", task, "--json"])
        #expect(json.status == 0, "\(json.stderr)")
        #expect(try JSONParser.parse(json.stdout)["task"]?.stringValue == task)
        #expect(json.stdout == box.cli(["task", "trace", task, "-o", "json"]).stdout)
        for command in [["task", "trace", task], ["task", "list"], ["task", "info", task], ["task", "items", task], ["event", "list", task]] {
            let text = box.cli(command + ["-o", "text"])
            #expect(text.status == 0, "\(command): \(text.stderr)")
            #expect(!text.stdout.isEmpty)
            #expect(box.cli(command + ["-o", "table"]).stdout == text.stdout, "\(command)")
        }
    }

    @Test("event list ID is event list --task ID")
    func eventListBareID() throws {
        let (box, task) = try completedTask()
        let byOption = box.cli(["event", "list", "--task", task, "--limit", "3", "-o", "json"])
        #expect(byOption.status == 0, "\(byOption.stderr)")
        #expect(try JSONParser.parse(byOption.stdout).arrayValue?.count == 3)
        let bare = box.cli(["event", "list", String(task.prefix(6)), "--limit", "3", "-o", "json"])
        #expect(bare.status == 0, "\(bare.stderr)")
        #expect(bare.stdout == byOption.stdout)
        #expect(box.cli(["event", "list"]).status == 2)
        #expect(box.cli(["event", "list", task, "other"]).status == 2)
        #expect(box.cli(["event", "list", "nope"]).status == 2)
    }

    @Test("delete project/NAME --force on a missing project exits 0 and says nothing was there")
    func deleteMissingProject() throws {
        let data = try makeTemporaryDirectory("guide") + "/data"
        // The guide runs this first, under `set -e`.
        let delete = try runExecutable(["delete", "project/self-bootstrap", "--force", "--data-dir", data])
        #expect(delete.status == 0, "\(delete.stderr)")
        #expect(delete.stdout.contains("project/self-bootstrap: nothing to delete, the project does not exist"), "\(delete.stdout)")
        let dry = runInProcess(["delete", "project/self-bootstrap", "--dry-run", "--data-dir", data])
        #expect(dry.status == 0)
        #expect(dry.stdout.contains("nothing to delete"))
        // Still an error: no --force, and a missing resource of another kind.
        #expect(runInProcess(["delete", "project/self-bootstrap", "--data-dir", data]).status == 2)
        #expect(runInProcess(["delete", "workflow/nope", "--force", "--data-dir", data]).status == 2)
        #expect(try runExecutable(["init", "--data-dir", data]).status == 0)
    }

    @Test("delete --dry-run refuses exactly what delete refuses")
    func dryRunRefusesLikeDelete() throws {
        let box = try TaskSandbox("dry-delete")
        try box.file("qa/one.md", "1\n")
        try box.manifest(
            """
            apiVersion: orchestrator.dev/v2
            kind: StepTemplate
            metadata: {name: greet}
            spec: {prompt: "hello"}
            ---
            apiVersion: orchestrator.dev/v2
            kind: Agent
            metadata: {name: echo}
            spec: {capabilities: [greet], command: "echo {prompt}"}
            ---
            apiVersion: orchestrator.dev/v2
            kind: Workflow
            metadata: {name: wf, project: p}
            spec:
              steps:
                - {id: hello, command: "echo hi"}
            ---
            apiVersion: orchestrator.dev/v2
            kind: Workspace
            metadata: {name: ws, project: p}
            spec: {root_path: ws}
            """)
        #expect(box.cli(["apply", "-f", box.root + "/manifest.yaml"]).status == 0)
        let created = box.cli(["task", "create", "-p", "p", "-W", "wf", "--no-start"])
        #expect(created.status == 0, "\(created.stderr)")
        // A project with an unfinished task, and an agent nothing references (deletable).
        for target in ["project/p", "workflow/wf", "agent/echo"] {
            let extra = target == "workflow/wf" ? ["-p", "p"] : []
            let dry = box.cli(["delete", target, "--dry-run"] + extra)
            let real = box.cli(["delete", target, "--force"] + extra)
            #expect(dry.status == real.status, "\(target): dry \(dry.status) \(dry.stderr), real \(real.status) \(real.stderr)")
            #expect(dry.stderr == real.stderr, "\(target)")
        }
        #expect(box.cli(["delete", "project/p", "--dry-run"]).status == 1)
        #expect(box.cli(["get", "workflows", "-p", "p"]).stdout.contains("wf"))
        // A template an agent still references: both refuse with exit 1.
        try box.manifest(
            """
            apiVersion: orchestrator.dev/v2
            kind: Agent
            metadata: {name: echo}
            spec: {capabilities: [greet], command: "echo {prompt}"}
            ---
            apiVersion: orchestrator.dev/v2
            kind: StepTemplate
            metadata: {name: greet}
            spec: {prompt: "hello"}
            ---
            apiVersion: orchestrator.dev/v2
            kind: Workflow
            metadata: {name: uses}
            spec:
              steps:
                - {id: greet, template: greet}
            """, name: "more.yaml")
        #expect(box.cli(["apply", "-f", box.root + "/more.yaml"]).status == 0)
        let dry = box.cli(["delete", "template/greet", "--dry-run"])
        let real = box.cli(["delete", "template/greet", "--force"])
        #expect(dry.status == 1 && real.status == 1, "\(dry.stderr)\(real.stderr)")
        #expect(dry.stderr == real.stderr)
    }

    @Test("task create -t FILE with a missing file is exit 2 before anything is created")
    func missingTargetFile() throws {
        let box = try sandbox("missing-target")
        // Before any store exists: nothing is created, not even the data directory.
        let first = box.cli(["task", "create", "-W", "wf", "-t", "ws/qa/missing.md", "--no-start"])
        #expect(first.status == 2)
        #expect(first.stderr.contains("-t ws/qa/missing.md: no such file"), "\(first.stderr)")
        #expect(!FileManager.default.fileExists(atPath: box.data))
        let run = box.cli(["run", "-f", box.root + "/manifest.yaml", "-W", "wf", "-t", "ws/qa/missing.md"])
        #expect(run.status == 2)
        #expect(run.stdout.isEmpty, "\(run.stdout)")
        #expect(!FileManager.default.fileExists(atPath: box.data))

        #expect(box.cli(["apply", "-f", box.root + "/manifest.yaml"]).status == 0)
        let create = box.cli(["task", "create", "-W", "wf", "-t", "ws/qa/one.md", "-t", "ws/qa/missing.md", "--no-start"])
        #expect(create.status == 2)
        #expect(try JSONParser.parse(box.cli(["task", "list", "-o", "json"]).stdout).arrayValue?.isEmpty == true)
        let good = box.cli(["task", "create", "-W", "wf", "-t", "ws/qa/one.md", "--no-start"])
        #expect(good.status == 0, "\(good.stderr)")
    }
}
