import Compiler
import Control
import Diagnostics
import JSON
import Manifest
import Runner
import Store

import Platform

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `orchestrator task create|start|list|info|items|logs|watch|trace|pause|resume|delete`: one
/// command type per subcommand (below), each with its own options.
enum TaskCommand: CommandGroup {
    static let name = "task"
    static let summary = "create, run, inspect, pause, resume and delete tasks"
    static let discussion = """
        A task whose runner died (killed, power loss) is found by the next command and marked
        `interrupted`; `task resume` continues it without running finished steps again.
        ID may be a unique prefix of an id or a unique task name. Exit codes: `create`/`start`/`resume` 0 iff the task completed;
        `trace` 1 on a deviation; others 0, 2 on bad usage (unknown task). See docs/runner.md.
        """
    static let subcommands: [any CommandEntry.Type] = [
        TaskCreateCommand.self, TaskStartCommand.self, TaskListCommand.self, TaskInfoCommand.self, TaskItemsCommand.self,
        TaskLogsCommand.self, TaskWatchCommand.self, TaskTraceCommand.self, TaskPauseCommand.self, TaskResumeCommand.self,
        TaskDeleteCommand.self,
    ]

    typealias Output = TextOrJSON

    /// What every task subcommand starts with: the store, with the tasks whose runner died
    /// marked `interrupted`.
    /// Only `task create` may create the data directory; every other subcommand reads tasks that
    /// must already be somewhere, so with no data directory it says where it looked.
    static func open(_ dataDirectory: String?, context: CommandContext, creating: Bool = false) throws -> (store: any ResourceStore, tasks: any TaskStore) {
        let store =
            creating
            ? try DataDirectory.open(dataDirectory, context: context) : try DataDirectory.openExisting(dataDirectory, context: context)
        let tasks = store.taskStore()
        try tasks.recoverOrphanedTasks()
        return (store, tasks)
    }

    /// With a daemon serving the data directory, the task is queued for its workers and the
    /// command returns at once (true); without one, it says that the task runs in the foreground
    /// here (false). control-plane.md "Processes and modes".
    static func queueIfDaemon(_ id: String, tasks: any TaskStore, dataDirectory: String?, context: CommandContext) throws -> Bool {
        if let shared = context.storeLocation, context.daemonHost == nil {
            // A shared store's queue is served by every daemon on it that holds a live lease.
            let daemons = try tasks.runners().filter { $0.kind == .daemon && $0.leaseAlive }
            guard !daemons.isEmpty else {
                context.stderr.write("note: no daemon serves the store \(shared.display): task \(id) runs in the foreground\n")
                return false
            }
            let position = try tasks.enqueue(id)
            let hosts = Set(daemons.map(\.host)).sorted().joined(separator: ", ")
            context.stdout.write(
                "task \(id) queued (position \(position)) on \(shared.display): \(daemons.count) daemon\(daemons.count == 1 ? "" : "s") (\(hosts)) take tasks from it; `orchestrator task watch \(id)` follows it\n")
            return true
        }
        let daemon: DaemonHost
        if let host = context.daemonHost {
            // Forwarded: this process is the daemon.
            daemon = host
        } else {
            let data = DataDirectory.path(dataDirectory, context: context)
            guard case .success(let status) = DaemonControl.status(dataDirectory: data, timeoutSeconds: 2) else {
                context.stderr.write("note: no daemon serves \(data): task \(id) runs in the foreground\n")
                return false
            }
            daemon = DaemonHost(pid: status.pid, workers: status.workers)
        }
        let position = try tasks.enqueue(id)
        context.stdout.write(
            "task \(id) queued (position \(position)): the daemon (pid \(daemon.pid), \(daemon.workers) worker\(daemon.workers == 1 ? "" : "s")) runs it; `orchestrator task watch \(id)` follows it\n")
        return true
    }

    /// `task start`/`task resume` of a task a runner owns: bad usage naming the owner. (The
    /// runner's claim decides races atomically; this is the message for the common case.)
    static func refuseIfRunning(_ task: TaskRecord) throws(UsageError) {
        guard task.status == .running else { return }
        throw UsageError(
            "task \(task.id) is already running" + task.ownerDescription,
            help: "watch it with `orchestrator task watch \(task.id)`; `task pause \(task.id)` stops it at its next step")
    }

    /// The one task the positional arguments name.
    static func one(_ ids: [String], tasks: any TaskStore, command: String) throws -> TaskRecord {
        guard ids.count == 1 else { throw UsageError("`task \(command)` needs one task id or name") }
        return try find(ids[0], tasks: tasks)
    }

    /// The task a word names: its id, a unique prefix of an id, or a unique task name (the
    /// replaced system's guide names tasks by the name given at `task create -n`). An ambiguous
    /// word is a usage error listing the candidates, never a guess.
    static func find(_ word: String, tasks: any TaskStore) throws -> TaskRecord {
        if let task = try tasks.findTask(word) { return task }
        let named = try tasks.tasks(named: word)
        if named.count == 1, let task = try tasks.task(named[0].id) { return task }
        func list(_ matches: [TaskSummary]) -> String {
            matches.prefix(10).map { "\($0.id) (\($0.name), \($0.status.rawValue))" }.joined(separator: ", ")
                + (matches.count > 10 ? " and \(matches.count - 10) more" : "")
        }
        if named.count > 1 {
            throw UsageError("\(named.count) tasks are named `\(word)`: \(list(named))", help: "name the task by its id (or a unique prefix of it)")
        }
        let prefixed = word.isEmpty ? [] : try tasks.tasks(withIDPrefix: word, limit: 11)
        if prefixed.count > 1 {
            throw UsageError(
                "`\(word)` is the start of \(prefixed.count > 10 ? "more than 10" : String(prefixed.count)) task ids: \(list(Array(prefixed.prefix(10))))",
                help: "give more of the id")
        }
        throw UsageError("no task \(word) (neither an id, a unique id prefix nor a task name)", help: "`orchestrator task list` shows the tasks")
    }
}

/// `task create`
struct TaskCreateCommand: Command {
    static let name = "create"
    static let summary = "create a task for an applied workflow and run it in the foreground"
    static let usage = """
        Usage: orchestrator task create -n NAME -g GOAL -W WF [-w WS] [-p P] [-t FILE]... [--set k=v]... [--step S]... [--no-start]

        Creates a task for an applied workflow and runs it in the foreground, one line per step
        (--no-start: only create it; `task start ID` runs it). Items: the -t files (each must
        exist: a missing one is exit 2 and nothing is created), else every *.md under the
        workspace's qa_targets when a step is item-scoped, else one task-level item.
        Exit 0 iff the task completed (or was only created), 1 when it failed or was paused.
        """
    var newTask = NewTaskOptions()
    var project: String?
    var noStart = false
    var quiet = false
    var dataDirectory: String?
    var routing: DaemonRouting { .daemon(dataDirectory: dataDirectory) }

    static var options: [Option<Self>] {
        [
            .group(\.newTask), .project(\.project, help: "the project of the workflow (default `default`)"),
            .flag(\.noStart, "--no-start", help: "only create the task"), .quiet(\.quiet), .dataDirectory(\.dataDirectory),
        ]
    }

    func run(context: CommandContext) -> ExitStatus {
        runStoreCommand(context) {
            guard let workflow = newTask.workflow else {
                throw UsageError("`task create` needs the workflow: -W WF", help: "apply it first with `orchestrator apply -f FILE`")
            }
            if let refusal = DaemonCommand.maintenanceRefusal(DataDirectory.path(dataDirectory, context: context)) { throw refusal }
            let variables = try ForegroundRun.variables(newTask.variables)
            let targets = try ForegroundRun.targets(newTask.targetFiles, context: context)
            let (store, tasks) = try TaskCommand.open(dataDirectory, context: context, creating: true)
            let created: TaskCreation.Created
            do {
                created = try TaskCreation.create(
                    store: store, tasks: tasks, project: project ?? Resource.defaultProject,
                    workflow: workflow, workspace: newTask.workspace, goal: newTask.goal ?? "",
                    name: newTask.name,
                    options: try newTask.taskOptions(targets: targets, variables: variables))
            } catch let error as RunnerError {
                throw UsageError(error.message)
            }
            let task = created.task
            context.stdout.write("task \(task.id) created\n")
            if noStart { return .success }
            if try TaskCommand.queueIfDaemon(task.id, tasks: tasks, dataDirectory: dataDirectory, context: context) { return .success }
            return try ForegroundRun.run(task.id, store: store, tasks: tasks, context: context, quiet: quiet, pinned: created.pinned)
        }
    }
}

/// `task start ID`
struct TaskStartCommand: OneTaskCommand {
    static let name = "start"
    static let summary = "run a created task in the foreground"
    static let usage = """
        Usage: orchestrator task start ID

        Runs a task made with `task create --no-start` in the foreground. Exit 0 iff it completed.
        """
    var quiet = false
    var dataDirectory: String?
    var routing: DaemonRouting { .daemon(dataDirectory: dataDirectory) }
    var ids: [String] = []

    static var options: [Option<Self>] { [.quiet(\.quiet), .dataDirectory(\.dataDirectory)] }

    func run(_ task: TaskRecord, store: any ResourceStore, tasks: any TaskStore, context: CommandContext) throws -> ExitStatus {
        try TaskCommand.refuseIfRunning(task)
        guard task.status == .created else {
            throw UsageError("task \(task.id) is \(task.status.rawValue)", help: task.status.isResumable ? "use `task resume`" : nil)
        }
        if try TaskCommand.queueIfDaemon(task.id, tasks: tasks, dataDirectory: dataDirectory, context: context) { return .success }
        return try ForegroundRun.run(task.id, store: store, tasks: tasks, context: context, quiet: quiet)
    }
}

/// `task resume ID`
struct TaskResumeCommand: OneTaskCommand {
    static let name = "resume"
    static let summary = "continue a paused, interrupted or restart_pending task from its last finished step"
    static let usage = """
        Usage: orchestrator task resume ID [--foreground] [-q]

        Continues a paused task, one whose runner died (`interrupted`), or one that waits for a
        rebuilt runner (`restart_pending`) from its last finished step; finished steps do not run
        again. When a daemon serves the data directory the task is queued for its workers and the
        command returns; --foreground runs it here anyway. Exit 0 iff it completed (or was queued).
        """
    var quiet = false
    var foreground = false
    var dataDirectory: String?
    var routing: DaemonRouting { foreground ? .here : .daemon(dataDirectory: dataDirectory) }
    var ids: [String] = []

    static var options: [Option<Self>] {
        [
            .quiet(\.quiet), .flag(\.foreground, "--foreground", help: "run the task in this process even when a daemon serves the data directory"),
            .dataDirectory(\.dataDirectory),
        ]
    }

    func run(_ task: TaskRecord, store: any ResourceStore, tasks: any TaskStore, context: CommandContext) throws -> ExitStatus {
        try TaskCommand.refuseIfRunning(task)
        guard task.status.isResumable else {
            throw UsageError("task \(task.id) is \(task.status.rawValue); only a paused, interrupted or restart_pending task resumes")
        }
        if !foreground, try TaskCommand.queueIfDaemon(task.id, tasks: tasks, dataDirectory: dataDirectory, context: context) { return .success }
        return try ForegroundRun.run(task.id, store: store, tasks: tasks, context: context, quiet: quiet)
    }
}

/// `task list`
struct TaskListCommand: Command {
    static let name = "list"
    static let summary = "every task"
    static let usage = """
        Usage: orchestrator task list [--limit N] [--after ID] [--tree] [-o text|json]

        Every task, oldest first: id, name, workflow, status, cycle, creation time. --limit N
        shows the first N (a page); --after ID continues after the task ID (the text output's
        last line says how to get the next page). --tree puts each spawned task under the task
        that spawned it (-o json: `parent` and `spawnDepth` on every task).
        """
    var output = TaskCommand.Output.text
    var limit: Int?
    var after: String?
    var tree = false
    var dataDirectory: String?
    var routing: DaemonRouting { .daemon(dataDirectory: dataDirectory) }

    static var options: [Option<Self>] {
        [
            .integer(\.limit, "--limit", value: "N", help: "at most N tasks (a page)"),
            .value(\.after, "--after", value: "ID", help: "the tasks created after the task ID (the next page)"),
            .flag(\.tree, "--tree", help: "spawned tasks under their parents"),
            .output(\.output), .dataDirectory(\.dataDirectory),
        ]
    }

    func run(context: CommandContext) -> ExitStatus {
        runStoreCommand(context) {
            let (_, tasks) = try TaskCommand.open(dataDirectory, context: context)
            var all: [TaskSummary]
            var more = false
            if limit != nil || after != nil {
                let cursor = try after.map { try TaskCommand.find($0, tasks: tasks).id }
                // One more than asked: whether a next page exists.
                guard let page = try tasks.taskSummaries(after: cursor, limit: (limit ?? Int(Int32.max) - 1) + 1) else {
                    throw UsageError("no task \(after ?? "") to continue after", help: "`--after` takes the last id of the previous page")
                }
                all = page
                if let limit, all.count > limit {
                    all.removeLast(all.count - limit)
                    more = true
                }
            } else {
                all = try tasks.taskSummaries()
            }
            // A task waiting for a daemon's worker shows its place in the queue.
            let positions = try tasks.queuePositions()
            var parents: [String: TaskLineage] = [:]
            if tree { for link in try tasks.allLineage() { parents[link.child] = link } }
            if output == .json {
                let values = all.map { task -> JSONValue in
                    guard case .object(var pairs) = TaskCommand.taskJSON(task) else { return TaskCommand.taskJSON(task) }
                    pairs.append(("queuePosition", positions[task.id].map { .int(Int64($0)) } ?? .null))
                    if tree {
                        pairs.append(("parent", parents[task.id].map { .string($0.parent) } ?? .null))
                        pairs.append(("spawnDepth", .int(Int64(parents[task.id]?.depth ?? 0))))
                    }
                    return .object(pairs)
                }
                context.stdout.write(JSONWriter(pretty: true).string(.array(values)) + "\n")
            } else {
                var rows = [["ID", "NAME", "WORKFLOW", "STATUS", "CYCLE", "CREATED"]]
                // --tree: depth first from the tasks whose parent is not on the page.
                var ordered: [(task: TaskSummary, depth: Int)] = all.map { ($0, 0) }
                if tree {
                    let onPage = Set(all.map(\.id))
                    var children: [String: [TaskSummary]] = [:]
                    for task in all { if let parent = parents[task.id]?.parent, onPage.contains(parent) { children[parent, default: []].append(task) } }
                    ordered = []
                    func visit(_ task: TaskSummary, _ depth: Int) {
                        ordered.append((task, depth))
                        for child in children[task.id] ?? [] { visit(child, depth + 1) }
                    }
                    for task in all where !(parents[task.id].map { onPage.contains($0.parent) } ?? false) { visit(task, 0) }
                }
                for (task, depth) in ordered {
                    let status = positions[task.id].map { "queued (\($0))" } ?? task.status.rawValue
                    let id = depth == 0 ? task.id : String(repeating: "  ", count: depth - 1) + "└─ " + task.id
                    rows.append([id, task.name, task.workflow, status, String(task.cycle), task.createdAt])
                }
                context.stdout.write(TaskCommand.table(rows))
                if more, let last = all.last {
                    context.stdout.write("more: orchestrator task list --after \(last.id) --limit \(limit ?? all.count)\n")
                }
            }
            return .success
        }
    }
}

/// `task info ID`
struct TaskInfoCommand: OneTaskCommand {
    static let name = "info"
    static let summary = "one task: status, cycle, graph, times, item counts"
    static let usage = """
        Usage: orchestrator task info ID [-o text|json]

        The task's fields, where its logs are, and its active items by status (-o json: the task
        with its items).
        """
    var output = TaskCommand.Output.text
    var dataDirectory: String?
    var routing: DaemonRouting { .daemon(dataDirectory: dataDirectory) }
    var ids: [String] = []

    static var options: [Option<Self>] { [.output(\.output), .dataDirectory(\.dataDirectory)] }

    func run(_ task: TaskRecord, store: any ResourceStore, tasks: any TaskStore, context: CommandContext) throws -> ExitStatus {
        let items = try tasks.items(task.id)
        let notes = TaskNote.notes(from: try tasks.events(task.id))
        // The runtime policy the task runs under: its pinned project's RuntimePolicy, or the defaults.
        let runtime = Result { () throws(RunnerError) -> RuntimePolicy in
            try RuntimePolicy.of(PinnedWorkflow.resources(from: task.snapshot, project: task.project), project: task.project)
        }
        // What started it: the trigger fire that created it, if one did.
        let origin = try tasks.fire(ofTask: task.id)
        // `--set` and trigger variables, masked as the runner masks what it records (a webhook's
        // payload may carry a secret); hidden when the snapshot no longer compiles.
        let variables: [(name: String, value: String)]
        if task.options.variables.isEmpty {
            variables = []
        } else if let pinned = try? PinnedWorkflow.compile(
            snapshot: task.snapshot, project: task.project, workflow: task.workflow, workspace: task.workspace, secrets: store.secrets)
        {
            let masker = pinned.masker(environment: processEnvironment())
            variables = task.options.variables.map { ($0.name, masker.mask($0.value)) }
        } else {
            variables = task.options.variables.map { ($0.name, "(hidden: the task's workflow does not compile to mask it)") }
        }
        if output == .json {
            var value = TaskCommand.taskJSON(task.summary)
            if case .object(var pairs) = value {
                pairs.append(("variables", .object(variables.map { ($0.name, .string($0.value)) })))
                pairs.append(("trigger", origin?.json ?? .null))
                // Who runs it (or has taken it from the queue): docs/scale-out.md.
                pairs.append((
                    "runner",
                    task.runnerID == nil && task.runnerPID == nil
                        ? .null
                        : .object([
                            ("pid", task.runnerPID.map { .int(Int64($0)) } ?? .null), ("host", task.runnerHost.map { .string($0) } ?? .null),
                            ("id", task.runnerID.map { .string($0) } ?? .null),
                        ])))
                if !task.options.runsOn.isEmpty {
                    pairs.append(("runs_on", .object(task.options.runsOn.map { ($0.name, .string($0.value)) })))
                }
                switch runtime {
                case .success(let policy): pairs.append(("runtime", policy.json))
                case .failure(let error): pairs.append(("runtime", .object([("error", .string(error.message))])))
                }
                pairs.append(("items", .array(items.map(TaskCommand.itemJSON))))
                pairs.append(("notes", .array(notes.map(\.json))))
                value = .object(pairs)
            }
            context.stdout.write(JSONWriter(pretty: true).string(value) + "\n")
        } else {
            var text = ""
            let pairs: [(String, String)] = [
                ("id", task.id), ("name", task.name), ("project", task.project), ("workflow", task.workflow),
                ("workspace", task.workspace), ("goal", task.goal), ("status", task.status.rawValue),
                ("reason", task.reason ?? ""), ("cycle", String(task.cycle)),
                ("consecutive failures", String(task.consecutiveFailures)), ("graph", "sha256:" + task.graphHash),
                ("created", task.createdAt), ("started", task.startedAt ?? ""), ("finished", task.finishedAt ?? ""),
                ("logs", tasks.logDirectory(task.id)),
                ("runtime", (try? runtime.get())?.summary ?? "\(runtime)"),
            ]
                + (origin.map { [("trigger", "\($0.trigger.name) (\($0.source) fire \($0.key))")] } ?? [])
                + TaskCommand.placement(task)
                + (variables.isEmpty ? [] : [("variables", variables.map { "\($0.name)=\($0.value)" }.joined(separator: " "))])
            for (key, value) in pairs { text += ForegroundRun.pad(key + ":", 22) + value + "\n" }
            var counts: [String: Int] = [:]
            for item in items where item.active { counts[item.status, default: 0] += 1 }
            text += ForegroundRun.pad("items:", 22)
                + "\(items.filter(\.active).count) active"
                + (counts.isEmpty ? "" : " (" + counts.keys.sorted().map { "\(counts[$0] ?? 0) \($0)" }.joined(separator: ", ") + ")") + "\n"
            if !notes.isEmpty {
                // What did not happen: steps that did nothing, failed extractions, failures.
                text += "notes:\n" + notes.map { "  " + $0.line + "\n" }.joined()
            }
            context.stdout.write(text)
        }
        return .success
    }
}

/// `task items ID`
struct TaskItemsCommand: OneTaskCommand {
    static let name = "items"
    static let summary = "a task's items: status, origin, whether active"
    static let usage = """
        Usage: orchestrator task items ID [-o text|json]

        Every item of the task (static, generated, retired), in order.
        """
    var output = TaskCommand.Output.text
    var dataDirectory: String?
    var routing: DaemonRouting { .daemon(dataDirectory: dataDirectory) }
    var ids: [String] = []

    static var options: [Option<Self>] { [.output(\.output), .dataDirectory(\.dataDirectory)] }

    func run(_ task: TaskRecord, store: any ResourceStore, tasks: any TaskStore, context: CommandContext) throws -> ExitStatus {
        let items = try tasks.items(task.id)
        if output == .json {
            context.stdout.write(JSONWriter(pretty: true).string(.array(items.map(TaskCommand.itemJSON))) + "\n")
        } else {
            var rows = [["ITEM", "STATUS", "ORIGIN", "ACTIVE", "PATH"]]
            for item in items {
                rows.append([item.itemID, item.status, item.origin, item.active ? "yes" : "no", item.path ?? "-"])
            }
            context.stdout.write(TaskCommand.table(rows))
        }
        return .success
    }
}

/// `task logs ID`
struct TaskLogsCommand: OneTaskCommand {
    static let name = "logs"
    static let summary = "the output of a task's finished steps"
    static let usage = """
        Usage: orchestrator task logs ID [--step S]... [--tail N] [--follow] [--timestamps] [--interval DURATION]

        Every finished run's stdout and stderr, in order, under a `==> cycle N STEP [ITEM] ... <==`
        header. --follow keeps printing runs as they finish until the task stops. --timestamps puts
        each run's start and end times in its header (a log is the step's byte stream: its lines
        carry no times of their own).
        """
    var steps: [String] = []
    var tail: Int?
    var follow = false
    var timestamps = false
    var interval: DurationText?
    var dataDirectory: String?
    var routing: DaemonRouting { follow ? .here : .daemon(dataDirectory: dataDirectory) }
    var ids: [String] = []

    static var options: [Option<Self>] {
        [
            .values(\.steps, "--step", value: "S", help: "only this step's logs"),
            .integer(\.tail, "--tail", value: "N", help: "the last N lines of each log"),
            .flag(\.follow, "--follow", help: "keep printing logs as steps finish until the task stops"),
            .flag(\.timestamps, "--timestamps", help: "each run's start and end times in its header"),
            .interval(\.interval), .dataDirectory(\.dataDirectory),
        ]
    }

    func run(_ task: TaskRecord, store: any ResourceStore, tasks: any TaskStore, context: CommandContext) throws -> ExitStatus {
        return try TaskCommand.logs(task, options: self, tasks: tasks, context: context)
    }
}

/// `task watch ID`
struct TaskWatchCommand: OneTaskCommand {
    static let name = "watch"
    static let summary = "a live view (status, items, recent events) until the task stops"
    static let usage = """
        Usage: orchestrator task watch ID [--interval DURATION] [--timeout DURATION]

        A task that has not started yet is watched until it has run. On a terminal, a panel
        redrawn in place when it changes (at most once per interval):
        status, cycle k of n, the steps running now, items as a progress bar, this cycle's step
        durations and the last events, one line each cut to the terminal's width. Otherwise, the
        status line when it changes and each new event as one line. Returns when the task is no
        longer running (exit 0) or when --timeout passes first (exit 1). Durations: `2` or `2s`,
        `500ms`, `1m`.
        """
    var interval: DurationText?
    var timeout: DurationText?
    var dataDirectory: String?
    var ids: [String] = []

    static var options: [Option<Self>] {
        [
            .interval(\.interval), .duration(\.timeout, "--timeout", help: "stop watching after this long (exit 1)"),
            .dataDirectory(\.dataDirectory),
        ]
    }

    func run(_ task: TaskRecord, store: any ResourceStore, tasks: any TaskStore, context: CommandContext) throws -> ExitStatus {
        return try TaskCommand.watch(task, interval: interval, timeout: timeout, tasks: tasks, context: context)
    }
}

/// `task trace ID`
struct TaskTraceCommand: OneTaskCommand {
    static let name = "trace"
    static let summary = "the run against the plan, and anomaly findings by rule; exit 1 on a finding of severity error"
    static let usage = """
        Usage: orchestrator task trace ID [-o text|json] [--json] [--verbose]
               orchestrator task trace --rules-markdown

        For every cycle, each step's planned decision (for the task's pinned graph) beside what
        ran; then the findings of the trace rules (docs/trace.md), each with its severity and
        escalation (notice, attention, intervene), and the notes (what did nothing or failed).
        --verbose adds the timeline: each step run or skip with its item, start, duration, exit,
        decision and reason. Exit 1 when a finding has severity error (a plan deviation, a second
        runner, overlapping steps or cycles), else 0. -o json follows docs/trace.schema.json.
        """
    var output = TaskCommand.Output.text
    var verbose = false
    var rulesMarkdown = false
    var dataDirectory: String?
    var routing: DaemonRouting { .daemon(dataDirectory: dataDirectory) }
    var ids: [String] = []

    static var options: [Option<Self>] {
        [
            .output(\.output), .set(\.output, to: .json, "--json", help: "the same as -o json"),
            .flag(\.verbose, "--verbose", "-v", help: "also print the timeline of every step run and skip"),
            .flag(\.rulesMarkdown, "--rules-markdown", help: "print the rule reference of docs/trace.md (Markdown) and exit"),
            .dataDirectory(\.dataDirectory),
        ]
    }

    func run(context: CommandContext) -> ExitStatus {
        if rulesMarkdown {
            context.stdout.write(TraceDocumentation.rulesMarkdown())
            return .success
        }
        return runOnTask(context: context)
    }

    func run(_ task: TaskRecord, store: any ResourceStore, tasks: any TaskStore, context: CommandContext) throws -> ExitStatus {
        let trace = try TaskTrace.trace(task: task, events: try tasks.events(task.id), now: realtimeMilliseconds())
        if output == .json {
            var counts: [(key: String, value: JSONValue)] = []
            for severity in TraceSeverity.allCases.reversed() {
                counts.append((severity.rawValue, .int(Int64(trace.findings.filter { $0.severity == severity }.count))))
            }
            let value: JSONValue = .object([
                ("task", .string(task.id)), ("status", .string(task.status.rawValue)), ("cycles", .int(Int64(trace.cycles))),
                ("entries", .array(trace.entries.map { entry in
                    .object([
                        ("cycle", .int(Int64(entry.cycle))), ("step", .string(entry.step)), ("planned", .string(entry.planned)),
                        ("plannedReason", entry.plannedReason.map { .string($0) } ?? .null), ("executed", .string(entry.executed)),
                    ])
                })),
                ("deviations", .array(trace.deviations.map { .string($0) })),
                ("history_starts_at", trace.historyStartsAt.map { .int($0) } ?? .null),
                ("findings", .array(trace.findings.map(\.json))),
                ("summary", .object(counts)),
                ("notes", .array(trace.notes.map(\.json))),
                ("timeline", .array(trace.timeline.map(\.json))),
            ])
            context.stdout.write(JSONWriter(pretty: true).string(value) + "\n")
        } else {
            var text = "trace of task \(task.id) (workflow \(task.workflow), \(trace.cycles) cycle\(trace.cycles == 1 ? "" : "s"), \(task.status.rawValue))\n"
            var current = 0
            for entry in trace.entries {
                if entry.cycle != current {
                    current = entry.cycle
                    text += "cycle \(current)\n"
                }
                text += "  " + ForegroundRun.pad(entry.step, 18) + ForegroundRun.pad("plan " + entry.planned, 18) + entry.executed + "\n"
            }
            if verbose {
                text += "timeline:\n"
                for row in trace.timeline {
                    let start = row.start.map { $0.count >= 23 ? String($0.dropFirst(11).prefix(12)) : $0 } ?? "-"
                    let duration = row.durationMS.map { Timestamps.short($0) } ?? "-"
                    let exit = row.exitCode.map { "exit \($0)" } ?? ""
                    let why = row.reason.map { " (\($0))" } ?? ""
                    text +=
                        "  cycle \(row.cycle)  \(start)  " + ForegroundRun.pad(row.step + (row.item.map { " [\($0)]" } ?? ""), 30)
                        + ForegroundRun.pad(row.outcome.rawValue, 12) + ForegroundRun.pad(duration, 9) + ForegroundRun.pad(exit, 9)
                        + (row.decision ?? "") + why + "\n"
                }
            }
            if let first = trace.historyStartsAt {
                text += first == 0
                    ? "the task's events were cleaned up (event cleanup): nothing is left to trace\n"
                    : "the task's events before event \(first) were cleaned up (event cleanup): the trace covers what remains\n"
            }
            if trace.deviations.isEmpty {
                text += "no deviation: the execution followed the plan\n"
            } else {
                text += "\(trace.deviations.count) deviation\(trace.deviations.count == 1 ? "" : "s") from the plan (plan_deviation, error):\n"
                for deviation in trace.deviations { text += "  " + deviation + "\n" }
            }
            let findings = trace.findings.filter { $0.rule != .planDeviation }
            if findings.isEmpty {
                text += "no finding of the other trace rules\n"
            } else {
                text += "\(findings.count) finding\(findings.count == 1 ? "" : "s") (severity, escalation, rule):\n"
                for finding in findings {
                    let place = [finding.cycle.map { "cycle \($0)" }, finding.step, finding.item.map { "[\($0)]" }].compactMap { $0 }
                        .joined(separator: " ")
                    text +=
                        "  " + ForegroundRun.pad(finding.severity.rawValue, 8) + ForegroundRun.pad(finding.escalation.rawValue, 10)
                        + "[\(finding.rule.rawValue)] " + (place.isEmpty ? "" : place + ": ") + finding.message + "\n"
                }
            }
            if !trace.notes.isEmpty {
                text += "\(trace.notes.count) note\(trace.notes.count == 1 ? "" : "s") (what did not happen or failed):\n"
                for note in trace.notes { text += "  " + note.line + "\n" }
            }
            context.stdout.write(text)
        }
        return trace.worst == .error ? .findings : .success
    }
}

/// `task pause ID`
struct TaskPauseCommand: OneTaskCommand {
    static let name = "pause"
    static let summary = "ask the runner to stop before its next step (a task not running is paused at once)"
    static let usage = """
        Usage: orchestrator task pause ID

        A running task stops before its next step (its runner sees the request); a created or
        interrupted task is paused at once. `task resume ID` continues it.
        """
    var dataDirectory: String?
    var routing: DaemonRouting { .daemon(dataDirectory: dataDirectory) }
    var ids: [String] = []

    static var options: [Option<Self>] { [.dataDirectory(\.dataDirectory)] }

    func run(_ task: TaskRecord, store: any ResourceStore, tasks: any TaskStore, context: CommandContext) throws -> ExitStatus {
        switch try tasks.pause(task.id) {
        case .requested:
            context.stdout.write("task \(task.id): pause requested; the runner stops before its next step\n")
        case .paused:
            context.stdout.write("task \(task.id) paused\n")
        case .alreadyPaused:
            context.stdout.write("task \(task.id) is already paused\n")
        case .finished(let status):
            throw UsageError("task \(task.id) is \(status.rawValue); there is nothing to pause")
        }
        return .success
    }
}

/// `task delete ID`
struct TaskDeleteCommand: OneTaskCommand {
    static let name = "delete"
    static let summary = "delete the task, its items, runs, events and logs"
    static let usage = """
        Usage: orchestrator task delete ID [--force]

        Deletes the task with its items, runs, events and log files. A running task is refused
        unless --force, which first stops its runner (SIGTERM: the runner pauses the task and ends
        its steps' process groups, as Ctrl-C does) and waits for it, then deletes; a runner that
        does not stop within 30 s is not deleted under (exit 1).
        """
    var force = false
    var dataDirectory: String?
    var routing: DaemonRouting { .daemon(dataDirectory: dataDirectory) }
    var ids: [String] = []

    static var options: [Option<Self>] {
        [.flag(\.force, "--force", help: "also a task whose runner is alive"), .dataDirectory(\.dataDirectory)]
    }

    func run(_ task: TaskRecord, store: any ResourceStore, tasks: any TaskStore, context: CommandContext) throws -> ExitStatus {
        if task.status == .running {
            guard force else {
                throw UsageError(
                    "task \(task.id) is running" + task.ownerDescription,
                    help: "pause it first (`orchestrator task pause \(task.id)`), or pass --force to stop its runner and delete it")
            }
            // A runner on another machine cannot be signalled from here (its pid means nothing
            // on this one): it is asked to pause, and the task deleted once it has.
            if let host = task.runnerHost, host != RunnerHost.current {
                throw UsageError(
                    "task \(task.id) runs on \(host), not on this machine: its runner cannot be stopped from here",
                    help: "`orchestrator task pause \(task.id)` stops it at its next step; delete it once it is paused")
            }
            // Never delete under a live runner: stop it the way Ctrl-C does, then wait.
            if let pid = task.runnerPID, RunnerIdentity.isAlive(pid: pid, start: task.runnerStart) {
                context.stderr.write("stopping the runner of task \(task.id) (pid \(pid))\n")
                kill(pid, SIGTERM)
                var waited = 0
                while RunnerIdentity.isAlive(pid: pid, start: task.runnerStart), waited < 30_000 {
                    usleep(50_000)
                    waited += 50
                }
                if RunnerIdentity.isAlive(pid: pid, start: task.runnerStart) {
                    context.stderr.write("orchestrator: error: the runner of task \(task.id) (pid \(pid)) did not stop within 30 s; nothing deleted\n")
                    return .findings
                }
            }
            try tasks.recoverOrphanedTasks()
        }
        try tasks.deleteTask(task.id)
        removeTree(tasks.logDirectory(task.id))
        context.stdout.write("task \(task.id) deleted\n")
        return .success
    }
}

/// A task subcommand about one task (`task info ID`): the store is opened, the task found, and
/// its body gets them.
protocol OneTaskCommand: Command {
    var dataDirectory: String? { get set }
    var ids: [String] { get set }
    func run(_ task: TaskRecord, store: any ResourceStore, tasks: any TaskStore, context: CommandContext) throws -> ExitStatus
}

extension OneTaskCommand {
    static var positionals: Positionals<Self>? { Positionals(\.ids) }

    func run(context: CommandContext) -> ExitStatus { runOnTask(context: context) }

    /// Opens the store, finds the one task the positional arguments name, and runs on it.
    func runOnTask(context: CommandContext) -> ExitStatus {
        runStoreCommand(context) {
            let (store, tasks) = try TaskCommand.open(dataDirectory, context: context)
            let task = try TaskCommand.one(ids, tasks: tasks, command: Self.name)
            return try run(task, store: store, tasks: tasks, context: context)
        }
    }
}

extension Option {
    /// `--interval DURATION`: how often `task watch` and `task logs --follow` look again.
    static func interval(_ path: WritableKeyPath<Root, DurationText?>) -> Option {
        duration(path, "--interval", help: "how often to look again: `2` or `2s`, `500ms` (default 2s)")
    }
}

extension TaskCommand {
    /// `task info`'s lines on where the task runs: its runner (pid and host) and `--runs-on`.
    static func placement(_ task: TaskRecord) -> [(String, String)] {
        var lines: [(String, String)] = []
        if let host = task.runnerHost {
            let who: String = task.runnerPID.map { "pid \($0)" } ?? "taken from the queue by a runner"
            lines.append(("runner", who + " on " + host))
        }
        if !task.options.runsOn.isEmpty {
            lines.append(("runs on", task.options.runsOn.map { $0.name + "=" + $0.value }.joined(separator: " ")))
        }
        return lines
    }

    static func taskJSON(_ task: TaskSummary) -> JSONValue {
        .object([
            ("id", .string(task.id)), ("name", .string(task.name)), ("project", .string(task.project)),
            ("workflow", .string(task.workflow)), ("workspace", .string(task.workspace)), ("goal", .string(task.goal)),
            ("status", .string(task.status.rawValue)), ("reason", task.reason.map { .string($0) } ?? .null),
            ("cycle", .int(Int64(task.cycle))), ("consecutiveFailures", .int(Int64(task.consecutiveFailures))),
            ("graphHash", .string(task.graphHash)), ("createdAt", .string(task.createdAt)),
            ("startedAt", task.startedAt.map { .string($0) } ?? .null), ("finishedAt", task.finishedAt.map { .string($0) } ?? .null),
        ])
    }

    static func itemJSON(_ item: ItemRecord) -> JSONValue {
        .object([
            ("id", .string(item.itemID)), ("path", item.path.map { .string($0) } ?? .null), ("label", item.label.map { .string($0) } ?? .null),
            ("status", .string(item.status)), ("origin", .string(item.origin)), ("active", .bool(item.active)),
        ])
    }

    static func table(_ rows: [[String]]) -> String {
        guard let first = rows.first else { return "" }
        var widths = Array(repeating: 0, count: first.count)
        for row in rows { for (index, cell) in row.enumerated() where index < widths.count { widths[index] = max(widths[index], cell.count) } }
        var out = ""
        for row in rows {
            var line = ""
            for (index, cell) in row.enumerated() {
                line += index == row.count - 1 ? cell : ForegroundRun.pad(cell, widths[index] + 2)
            }
            out += line + "\n"
        }
        return out
    }

    static func interval(_ duration: DurationText?) -> UInt32 {
        UInt32(min(max(duration?.milliseconds ?? 2000, 10), 3_600_000))
    }

    // MARK: logs

    static func logs(_ task: TaskRecord, options: TaskLogsCommand, tasks: any TaskStore, context: CommandContext) throws -> ExitStatus {
        let tail = options.tail
        let steps = options.steps
        let follow = options.follow
        let wait = interval(options.interval)
        var shown = Set<Int64>()
        while true {
            // The sizes of the logs, from the runs' `step_finished` events (a log on another
            // machine is described by them).
            var sizes: [String: JSONValue] = [:]
            if try tasks.runs(task.id).contains(where: { $0.host.map { $0 != RunnerHost.current } ?? false }) {
                for event in try tasks.events(task.id, types: [.stepFinished]) {
                    sizes["\(event.cycle ?? 0)/\(event.step ?? "")/\(event.item ?? "")"] = event.payload
                }
            }
            for run in try tasks.runs(task.id) where run.status == .finished && !shown.contains(run.id) {
                if !steps.isEmpty && !steps.contains(run.step) { continue }
                shown.insert(run.id)
                for (label, path) in [("stdout", run.stdoutPath), ("stderr", run.stderrPath)] {
                    guard let path else { continue }
                    let item = run.item.map { " [\($0)]" } ?? ""
                    // A step that wrote nothing leaves no file here. One that ran on another
                    // machine (a shared store) left its log there: never shown as empty.
                    if let host = run.host, host != RunnerHost.current, FileSystem.type(of: path) == .missing {
                        let size = sizes["\(run.cycle)/\(run.step)/\(run.item ?? "")"]?[label + "_bytes"]
                        if size == .int(0) { continue }
                        let bytes = size.flatMap { if case .int(let count) = $0 { " (\(count) bytes)" } else { nil } } ?? ""
                        context.stdout.write(
                            "==> cycle \(run.cycle) \(run.step)\(item) \(label) (exit \(run.exitCode ?? -1)) <==\n"
                                + "(the log\(bytes) is on \(host), not on this machine (\(RunnerHost.current)): \(path); read it there, e.g. `ssh \(host) cat \(path)`)\n")
                        continue
                    }
                    let bytes = (try? FileSystem.readFile(path)) ?? []
                    if bytes.isEmpty && label == "stderr" { continue }
                    var text = String(decoding: bytes, as: UTF8.self)
                    if let tail {
                        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
                        if lines.last == "" { lines.removeLast() }
                        text = lines.suffix(tail).joined(separator: "\n") + (lines.isEmpty ? "" : "\n")
                    }
                    let times = options.timestamps ? ", \(run.startedAt ?? "?") to \(run.finishedAt ?? "?")" : ""
                    context.stdout.write("==> cycle \(run.cycle) \(run.step)\(item) \(label) (exit \(run.exitCode ?? -1)\(times)) <==\n")
                    context.stdout.write(text.isEmpty || text.hasSuffix("\n") ? text : text + "\n")
                }
            }
            guard follow else { return .success }
            guard let now = try tasks.task(task.id), now.status == .running || now.status == .created else { return .success }
            usleep(wait * 1000)
        }
    }

    static func eventLine(_ event: EventRecord) -> String {
        var where_ = ""
        if let cycle = event.cycle { where_ += "cycle \(cycle) " }
        if let step = event.step { where_ += step + " " }
        if let item = event.item { where_ += "[\(item)] " }
        return "\(event.id)  \(event.timestamp)  \(ForegroundRun.pad(event.type.rawValue, 24))\(where_)\(JSONWriter().string(event.payload))\n"
    }
}

extension TaskRecord {
    /// ` (pid N)` for a runner on this machine, ` (pid N on HOST)` for one elsewhere (a shared
    /// store), empty when no runner is recorded: how messages name a task's runner.
    var ownerDescription: String {
        guard let pid = runnerPID else { return "" }
        if let host = runnerHost, host != RunnerHost.current { return " (pid \(pid) on \(host))" }
        return " (pid \(pid))"
    }
}
