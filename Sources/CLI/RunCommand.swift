import Diagnostics
import Compiler
import JSON
import Manifest
import Runner
import Store

/// What `run`, `task create`, `task start` and `task resume` share: running a task in the
/// foreground with one progress line per step.
enum ForegroundRun {
    static func formatDuration(_ milliseconds: Int64) -> String {
        milliseconds < 10_000 ? "\(milliseconds)ms" : formatSeconds(milliseconds)
    }

    static func formatSeconds(_ milliseconds: Int64) -> String {
        let hundredths = milliseconds / 10
        let fraction = hundredths % 100
        return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)s"
    }

    static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }

    /// The line printed for one update: `[elapsed] cycle N  STEP [ITEM]  what`.
    static func line(_ update: ProgressUpdate) -> String? {
        let elapsed = "[" + formatSeconds(update.elapsedMS).leftPadded(7) + "]"
        let what = (update.step ?? "") + (update.item.map { " [\($0)]" } ?? "")
        switch update.kind {
        case .cycleStarted:
            return "\(elapsed) cycle \(update.cycle)\n"
        case .stepStarted:
            return nil
        case .stepFinished(let exitCode, let success, let timedOut, let duration):
            let verdict = success ? "ok" : (timedOut ? "TIMEOUT" : "FAILED")
            if success, let reason = update.didNothing {
                // A step that did nothing is not shown green (issue 11.6).
                return "\(elapsed) cycle \(update.cycle)  \(pad(what, 34))skipped: \(reason)\n"
            }
            let tail = success ? "" : update.failureLine.map { "  \($0)" } ?? ""
            return "\(elapsed) cycle \(update.cycle)  \(pad(what, 34))\(pad(verdict, 8))exit \(exitCode)  \(formatDuration(duration))\(tail)\n"
        case .stepSkipped(let reason):
            return "\(elapsed) cycle \(update.cycle)  \(pad(what, 34))skip    \(reason)\n"
        case .note(let text):
            return "\(elapsed) \(text)\n"
        }
    }

    /// Runs (starts or resumes) a task; exit 0 iff it completed.
    static func run(
        _ taskID: String, store: any ResourceStore, tasks: any TaskStore, context: CommandContext, quiet: Bool = false, pinned: PinnedWorkflow? = nil
    ) throws -> ExitStatus {
        let output = context.stdout
        let printer: @Sendable (ProgressUpdate) -> Void = { update in
            if let text = line(update) { output.write(text) }
        }
        var options = ForegroundRun.runnerOptions(context, progress: quiet ? nil : printer)
        if let executable = context.executable {
            options.selfRestart = SelfRestartHost(executable: executable, stableDirectory: tasks.dataDirectory + "/bin")
            // A runner that re-executed itself records which binary runs the rest of the task.
            if context.environment[SelfRestartExec.previousBuildVariable] != nil { options.buildID = BuildIdentity.current }
        }
        let runner = try TaskRunner(tasks: tasks, resources: store, taskID: taskID, options: options, pinned: pinned)
        // Ctrl-C / SIGTERM pause the task (running steps are stopped and run again on resume).
        let watcher = InterruptWatcher()
        watcher.start { signal in
            output.write("\norchestrator: signal \(signal): pausing task \(taskID); `orchestrator task resume \(taskID)` continues it\n")
            runner.interrupt()
        }
        defer { watcher.stop() }
        let final = try runner.run()
        let notes = TaskNote.notes(from: try tasks.events(final.id))
        let idle = notes.filter { $0.kind == .didNothing }.count
        let lost = notes.filter { $0.kind == .itemsGenerationFailed }.count
        if !quiet && (idle > 0 || lost > 0) {
            var parts: [String] = []
            if idle > 0 { parts.append("\(idle) step\(idle == 1 ? "" : "s") did nothing") }
            if lost > 0 { parts.append("\(lost) generate_items extraction\(lost == 1 ? "" : "s") failed") }
            output.write("note: \(parts.joined(separator: ", ")): `orchestrator task info \(final.id)` lists them\n")
        }
        switch final.status {
        case .completed:
            output.write("task \(final.id) completed\n")
            return try runSpawned(final, store: store, tasks: tasks, context: context, quiet: quiet) ? .success : .findings
        case .paused:
            output.write("task \(final.id) paused: `orchestrator task resume \(final.id)` continues it\n")
            return .findings
        case .restartPending:
            guard let request = runner.restartRequest, context.executable != nil else {
                output.write("task \(final.id) restart_pending: `orchestrator task resume \(final.id)` continues it\n")
                return .findings
            }
            watcher.stop()
            return SelfRestartExec.replaceProcess(request, taskID: final.id, dataDirectory: tasks.dataDirectory, quiet: quiet, context: context)
        default:
            output.write("task \(final.id) \(final.status.rawValue): \(final.reason ?? "")\n")
            if final.status == .failed { _ = try runSpawned(final, store: store, tasks: tasks, context: context, quiet: quiet) }
            return .findings
        }
    }

    /// Embedded, spawned tasks run after their parent (docs/stores.md "Spawned tasks"): the ones
    /// the parent spawned to start (`queue: true`, the default) and nobody has run yet, in spawn
    /// order, each followed by its own. True when every one of them completed.
    static func runSpawned(_ parent: TaskRecord, store: any ResourceStore, tasks: any TaskStore, context: CommandContext, quiet: Bool) throws -> Bool {
        let spawned = try tasks.events(parent.id, types: [.taskSpawned])
        var allCompleted = true
        for lineage in try tasks.spawnedTasks(of: parent.id) {
            let event = spawned.first { $0.payload["child"]?.stringValue == lineage.child }
            guard event?.payload["start"] != .bool(false), let child = try tasks.task(lineage.child), child.status == .created else { continue }
            context.stdout.write("running task \(child.id) spawned by \(parent.id) (workflow \(child.workflow), depth \(lineage.depth))\n")
            if try run(child.id, store: store, tasks: tasks, context: context, quiet: quiet) != .success { allCompleted = false }
        }
        return allCompleted
    }

    /// The runner's options for a command: its environment, the progress printer, and the
    /// heartbeat interval (`ORCHESTRATOR_HEARTBEAT`: a duration such as `30s` or `500ms`;
    /// default one minute).
    static func runnerOptions(_ context: CommandContext, progress: (@Sendable (ProgressUpdate) -> Void)?) -> RunnerOptions {
        var options = RunnerOptions(environment: context.environment, progress: progress)
        if let text = context.environment["ORCHESTRATOR_HEARTBEAT"], let every = DurationText(text), every.milliseconds >= 10 {
            options.heartbeatInterval = .milliseconds(every.milliseconds)
        }
        return options
    }

    /// `--set k=v` values (and `--runs-on k=v` labels: `option`, `example`).
    static func variables(
        _ entries: [String], option: String = "--set", example: String = "--set target=docs/qa/01.md"
    ) throws(UsageError) -> [(name: String, value: String)] {
        var result: [(name: String, value: String)] = []
        for entry in entries {
            guard let eq = entry.firstIndex(of: "="), eq != entry.startIndex else {
                throw UsageError("`\(option) \(entry)` is not NAME=VALUE", help: "e.g. \(example)")
            }
            result.append((String(entry[..<eq]), String(entry[entry.index(after: eq)...])))
        }
        return result
    }

    /// `-t` files made absolute against the working directory. A file that does not exist is a
    /// usage error, found before anything is applied or created.
    static func targets(_ files: [String], context: CommandContext) throws(UsageError) -> [String] {
        var result: [String] = []
        for file in files {
            let absolute = file.hasPrefix("/") ? file : ManifestRecords.absolutePath(file, base: context.currentDirectory)
            guard FileSystem.type(of: absolute) != .missing else {
                throw UsageError("-t \(file): no such file (\(absolute))", help: "an item file must exist; nothing was created")
            }
            result.append(absolute)
        }
        return result
    }
}

/// What `run` and `task create` take to make a task: the workflow, where and on what it runs.
struct NewTaskOptions: OptionGroup {
    var workflow: String?
    var workspace: String?
    var goal: String?
    var targetFiles: [String] = []
    var variables: [String] = []
    var steps: [String] = []
    var name: String?
    var runsOn: [String] = []

    /// The stored options of the new task.
    func taskOptions(targets: [String], variables: [(name: String, value: String)]) throws(UsageError) -> TaskOptions {
        TaskOptions(
            targets: targets, variables: variables, steps: steps,
            runsOn: try ForegroundRun.variables(runsOn, option: "--runs-on", example: "--runs-on gpu=true"))
    }

    static var options: [Option<Self>] {
        [
            .value(\.workflow, "-W", "--workflow", value: "WF", help: "the workflow (applied, or in the -f files for run)"),
            .value(\.workspace, "-w", "--workspace", value: "WS", help: "the workspace (default: the project's only one)"),
            .value(\.goal, "-g", "--goal", value: "GOAL", help: "the goal ({goal} in prompts and commands)"),
            .values(\.targetFiles, "-t", "--target-file", value: "FILE", help: "an item file; replaces the qa_targets scan"),
            .values(\.variables, "--set", value: "NAME=VALUE", help: "a pipeline variable"),
            .values(\.steps, "--step", value: "S", help: "run only this step"),
            .value(\.name, "-n", "--name", value: "NAME", help: "the task's name (default WORKFLOW-ID)"),
            .values(
                \.runsOn, "--runs-on", value: "K=V",
                help: "only a daemon started with --label K=V takes the task from the queue (docs/scale-out.md)"),
        ]
    }
}

extension Option {
    /// `-q/--quiet`: no progress lines (run, task create, start, resume).
    static func quiet(_ path: WritableKeyPath<Root, Bool>) -> Option {
        flag(path, "-q", "--quiet", help: "no progress lines")
    }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}

/// `orchestrator run -f ... -W WF [-w WS] [-g GOAL] [-t FILE]... [--set k=v]... [--step S]...`
struct RunCommand: Command {
    static let name = "run"
    static let summary = "apply, create a task and run it in the foreground; exit 0 iff it completed"
    static let usage = """
        Usage: orchestrator run -f FILE|DIR|- ... -W WORKFLOW [-w WORKSPACE] [-p P] [-g GOAL] [-t FILE]... [--set k=v]... [--step S]... [--detach]

        Applies the files (as `apply` does; nothing runs when they have errors), creates a task for
        the workflow in the workspace (-w may be left out when the project has one workspace),
        and runs it in the foreground: one line per step (cycle, step, item, outcome, elapsed).
        Items: the -t files, else every *.md under the workspace's qa_targets when a step is
        item-scoped, else one task-level item. --set NAME=VALUE sets a pipeline variable;
        --step S runs only the named steps (the others are skipped as not selected).
        --detach queues the task for the daemon serving the data directory and returns at once
        (exit 0: queued); without a daemon it says so and runs the task here.
        Exit 0 when the task completed, 1 when it failed or was paused (or the files have
        errors), 2 on bad usage, 3 on internal errors. See docs/runner.md.
        """
    var files: [String] = []
    var project: String?
    var newTask = NewTaskOptions()
    var quiet = false
    var detach = false
    var report = DiagnosticOptions()
    var dataDirectory: String?

    static var options: [Option<Self>] {
        [
            .filename(\.files), .project(\.project), .group(\.newTask), .quiet(\.quiet),
            .flag(\.detach, "--detach", help: "queue the task for the daemon and return (runs here when no daemon serves the data directory)"),
            .group(\.report), .dataDirectory(\.dataDirectory),
        ]
    }

    func run(context: CommandContext) -> ExitStatus {
        runStoreCommand(context) {
            guard let workflow = newTask.workflow else {
                throw UsageError("`run` needs the workflow: -W WORKFLOW", help: "e.g. `orchestrator run -f manifests/demo.yaml -W demo`")
            }
            if let refusal = DaemonCommand.maintenanceRefusal(DataDirectory.path(dataDirectory, context: context)) { throw refusal }
            let variables = try ForegroundRun.variables(newTask.variables)
            let targets = try ForegroundRun.targets(newTask.targetFiles, context: context)
            let (prepared, store) = try ApplyPreparation.prepareAndReport(
                files: files, project: project, prune: false, report: report,
                openStore: { try DataDirectory.open(dataDirectory, context: context) }, context: context, command: Self.name)
            let tasks = store.taskStore()
            try tasks.recoverOrphanedTasks()
            if prepared.hasErrors {
                context.stderr.write("nothing applied, nothing run: fix the errors above\n")
                return .findings
            }
            let project =
                self.project
                ?? prepared.desired.first(where: { $0.key.kind == ResourceKind.workflow.rawValue && $0.key.name == workflow })?.key.project
                ?? Resource.defaultProject
            // A workflow that is neither in the files nor stored: say so before applying anything.
            let workflowKind = ResourceKind.workflow.rawValue
            let inFiles = prepared.desired.contains { $0.key.kind == workflowKind && $0.key.name == workflow && $0.key.project == project }
            if !inFiles, try store.resource(ResourceKey(kind: workflowKind, project: project, name: workflow)) == nil {
                let known = prepared.desired.filter { $0.key.kind == workflowKind && $0.key.project == project }.map(\.key.name)
                    + (try store.resources(kind: workflowKind, project: project).map(\.key.name))
                throw UsageError(
                    "no workflow `\(workflow)` in the files or the store (project \(project)); nothing applied",
                    help: Suggestions.closest(to: workflow, in: known).map { "did you mean `\($0)`?" }
                        ?? (known.isEmpty ? "the files define no workflow" : "workflows: \(Set(known).sorted().joined(separator: ", "))"))
            }
            for outcome in try store.apply(prepared.desired) { context.stdout.write(prepared.line(for: outcome, dryRun: false)) }
            let created: TaskCreation.Created
            do {
                // The workflow as this apply compiled it (when it came with the files): it is
                // not compiled again for the task or its runner.
                let compiled = inFiles ? prepared.compilation.workflows(named: workflow).last(where: { $0.project == project }) : nil
                created = try TaskCreation.create(
                    store: store, tasks: tasks, project: project, workflow: workflow, workspace: newTask.workspace,
                    goal: newTask.goal ?? "", name: newTask.name,
                    options: try newTask.taskOptions(targets: targets, variables: variables), compiled: compiled)
            } catch let error as RunnerError {
                throw UsageError(error.message)
            }
            let task = created.task
            let itemCount = try tasks.items(task.id).count
            context.stdout.write(
                "task \(task.id) created: workflow \(workflow), workspace \(task.workspace), \(itemCount) item\(itemCount == 1 ? "" : "s"), graph \(task.graphHash.prefix(12))\n"
            )
            if detach, try TaskCommand.queueIfDaemon(task.id, tasks: tasks, dataDirectory: dataDirectory, context: context) { return .success }
            return try ForegroundRun.run(task.id, store: store, tasks: tasks, context: context, quiet: quiet, pinned: created.pinned)
        }
    }
}
