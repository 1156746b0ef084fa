import Compiler
import Diagnostics
import Manifest
import Store

/// `orchestrator state init|status`: the cross-session state files init.sh, tasks.json and
/// progress.md (docs/state-files.md).
enum StateCommand: CommandGroup {
    static let name = "state"
    static let summary = "write and read the session state files: init.sh, tasks.json, progress.md"
    static let discussion = """
        The workspace is the current directory, --dir DIR, or with -w WS the root of an applied
        Workspace. `orchestrator lint --state tasks.json` checks tasks.json.
        """
    static let subcommands: [any CommandEntry.Type] = [StateInitCommand.self, StateStatusCommand.self]

    /// How long `state init` lets init.sh run.
    static let initTimeout: Duration = .seconds(600)
}

/// Which folder a `state` subcommand works on: -w WS (an applied workspace's root), --dir, or
/// the current directory.
struct StateFolderOptions: OptionGroup {
    var workspace: String?
    var project: String?
    var directory: String?
    var dataDirectory: String?

    static var options: [Option<Self>] {
        [
            .value(\.workspace, "-w", "--workspace", value: "WS", help: "an applied workspace: its root_path is the folder"),
            .project(\.project, help: "the project of the workspace (default `default`)"),
            .value(\.directory, "--dir", value: "DIR", help: "the folder (default: the current directory)"),
            .dataDirectory(\.dataDirectory),
        ]
    }

    func folder(context: CommandContext) throws -> String {
        if let workspace {
            guard directory == nil else { throw UsageError("give either -w or --dir, not both") }
            let project = self.project ?? Resource.defaultProject
            let store = try DataDirectory.openExisting(dataDirectory, context: context)
            guard let stored = try store.resources(kind: "Workspace", project: project, name: workspace).first else {
                let names = try store.resources(kind: "Workspace", project: project).map(\.key.name)
                throw UsageError(
                    "no workspace \(workspace) is applied in project \(project)",
                    help: names.isEmpty ? "apply it first with `orchestrator apply -f FILE`" : "applied: " + names.joined(separator: ", "))
            }
            guard let root = stored.spec["root_path"]?.stringValue else {
                throw UsageError("workspace \(workspace) has no root_path")
            }
            return root
        }
        return DataDirectory.absolute(directory ?? ".", base: context.absoluteDirectory)
    }
}

struct StateInitCommand: Command {
    static let name = "init"
    static let summary = "write init.sh, a tasks.json skeleton and a progress.md header; run init.sh once"
    static let usage = """
        Usage: orchestrator state init [-w WS | --dir DIR] [--force]

        Inspects the workspace (Package.swift, package.json, pyproject.toml, Cargo.toml, go.mod,
        Makefile, commands in AGENTS.md and README) and writes init.sh (set -e, the install, build
        and smoke-test commands found), a tasks.json skeleton and a progress.md header; an existing
        file is kept unless --force. Then runs init.sh once and reports. Exit 0 when init.sh passed
        and has a smoke test, 1 otherwise.
        """
    var folder = StateFolderOptions()
    var force = false

    static var options: [Option<Self>] { [.group(\.folder), .flag(\.force, "--force", help: "replace existing state files")] }

    func run(context: CommandContext) -> ExitStatus {
        runStoreCommand(context) { try StateCommand.initialize(root: try folder.folder(context: context), force: force, context: context) }
    }
}

struct StateStatusCommand: Command {
    static let name = "status"
    static let summary = "current focus, the next task, blocked tasks, the latest progress entry, recent commits"
    static let usage = """
        Usage: orchestrator state status [-w WS | --dir DIR]

        Current focus, the next task to take (high priority pending first), blocked tasks and why,
        the latest progress.md entry and the last 10 commits. Exit 1 when tasks.json is missing or
        unreadable.
        """
    var folder = StateFolderOptions()

    static var options: [Option<Self>] { [.group(\.folder)] }

    func run(context: CommandContext) -> ExitStatus {
        runStoreCommand(context) { try StateCommand.status(root: try folder.folder(context: context), context: context) }
    }
}

extension StateCommand {
    static func initialize(root: String, force: Bool, context: CommandContext) throws -> ExitStatus {
        guard FileSystem.type(of: root) == .directory else {
            throw UsageError("\(root) is not a directory", help: "run it in the repository, or pass --dir or -w")
        }
        let plan = StateInit.inspect(root: root)
        let date = StateInit.today()
        let files: [(name: String, text: String, mode: UInt32)] = [
            ("init.sh", StateInit.initScript(plan), 0o755),
            ("tasks.json", StateInit.tasksSkeleton(project: plan.project, date: date), 0o644),
            ("progress.md", StateInit.progressHeader(project: plan.project, date: date, plan: plan), 0o644),
        ]
        var out = "state init in \(root)\n"
        for phase in StateInit.Phase.allCases {
            let found = plan.commands[phase].map { "`\($0.command)` (\($0.source))" } ?? "none found"
            out += "  " + ForegroundRun.pad(phase.rawValue + ":", 13) + found + "\n"
        }
        for note in plan.notes { out += "  note: \(note)\n" }
        for file in files {
            let outcome: StateInit.WriteOutcome
            do {
                outcome = try StateInit.write(file.text, to: root + "/" + file.name, mode: file.mode, force: force)
            } catch let error as StateCommandError {
                context.stdout.write(out)
                context.stderr.write("orchestrator: error: \(error.description)\n")
                return .findings
            }
            switch outcome {
            case .written: out += "  wrote \(file.name)\n"
            case .replaced: out += "  replaced \(file.name) (--force)\n"
            case .kept: out += "  kept the existing \(file.name) (--force replaces it)\n"
            }
        }
        context.stdout.write(out + "running ./init.sh ...\n")
        let result = try StateProcess.run("./init.sh", in: root, context: context, timeout: initTimeout)
        context.stdout.write(result.stdout)
        if !result.stderr.isEmpty { context.stderr.write(result.stderr) }
        let seconds = "\(result.durationMS / 1000).\(result.durationMS % 1000 / 100) s"
        guard result.succeeded else {
            context.stderr.write("orchestrator: error: init.sh failed (\(result.exitDescription)) after \(seconds); fix it or the environment, then run ./init.sh\n")
            return .findings
        }
        if plan.commands[.smoke] == nil {
            context.stderr.write(
                "orchestrator: warning: init.sh passed in \(seconds) but has no smoke test: it proves only that the tools are there; add the project's fastest test to init.sh\n")
            return .findings
        }
        context.stdout.write("init.sh passed in \(seconds)\n")
        return .success
    }

    static func status(root: String, context: CommandContext) throws -> ExitStatus {
        let path = root + "/tasks.json"
        guard FileSystem.type(of: path) == .file, let bytes = try? FileSystem.readFile(path) else {
            context.stderr.write("orchestrator: error: no tasks.json in \(root)\n  = help: `orchestrator state init` writes one\n")
            return .findings
        }
        let source = SourceFile(path: path, bytes: bytes)
        let file: TasksFile
        switch TasksFileReader.read(source) {
        case .failure(let error):
            context.stderr.write(DiagnosticRenderer(sources: [source], color: false, toolVersion: Orchestrator.version).render([error.diagnostic], format: .text, files: 1))
            return .findings
        case .success(let read): file = read
        }
        let findings = StateLinter.lint(source, environment: StateFiles.environment(workspace: root, context: context))
        let progress = (try? FileSystem.readFile(root + "/progress.md")).map { String(decoding: $0, as: UTF8.self) }
        let git = try StateProcess.run("git rev-parse --is-inside-work-tree >/dev/null 2>&1 || exit 3; git log --oneline -10 2>/dev/null || true", in: root, context: context, timeout: .seconds(30))
        let commits = git.succeeded ? git.stdout : nil
        context.stdout.write(StateStatus.render(root: root, file: file, findings: findings, progress: progress, commits: commits))
        return .success
    }
}
