import Compiler
import Diagnostics
import JSON
import Manifest
import Runner
import Store

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `orchestrator task create|start|list|info|items|logs|watch|trace|pause|resume|delete`
public enum TaskCommand: Command {
    public static let name = "task"
    public static let summary = "create, run, inspect, pause, resume and delete tasks"
    public static let usage = """
        Usage: orchestrator task SUBCOMMAND [OPTIONS]

          task create -n NAME -g GOAL -W WF [-w WS] [--project P] [-t FILE]... [--set k=v]... [--step S]... [--no-start]
                               create a task for an applied workflow and run it in the foreground
                               (--no-start: only create it)
          task start ID        run a created task in the foreground
          task list [-o json]  every task
          task info ID [-o json]
          task items ID [-o json]
          task logs ID [--step S] [--tail N] [--follow]
          task watch ID        a live view (status, items, recent events) until the task stops
          task trace ID [-o json]
                               the executed events against the plan for the same graph; exit 1 on a deviation
          task pause ID        ask the runner to stop before its next step (a task that is not
                               running is paused at once)
          task resume ID       continue a paused or interrupted task from its last finished step
          task delete ID [--force]
                               delete the task, its items, runs, events and logs

        A task whose runner died (killed, power loss) is found by the next command and marked
        `interrupted`; `task resume` continues it without running finished steps again.
        ID may be a unique prefix. Exit codes: `create`/`start`/`resume` 0 iff the task completed;
        `trace` 1 on a deviation; others 0, 2 on bad usage (unknown task). See docs/runner.md.
        """
    public static let options: [OptionSpec] = [
        OptionSpec(["-n", "--name"], value: "NAME", help: "create: the task's name"),
        OptionSpec(["-g", "--goal"], value: "GOAL", help: "create: the goal"),
        OptionSpec(["-W", "--workflow"], value: "WF", help: "create: the applied workflow"),
        OptionSpec(["-w", "--workspace"], value: "WS", help: "create: the workspace (default: the project's only one)"),
        ApplyPreparation.projectOption,
        OptionSpec(["-t", "--target-file"], value: "FILE", help: "create: an item file (repeatable)"),
        OptionSpec(["--set"], value: "NAME=VALUE", help: "create: a pipeline variable (repeatable)"),
        OptionSpec(["--step"], value: "S", help: "create: run only this step (repeatable); logs: only this step's logs"),
        OptionSpec(["--no-start"], help: "create: only create the task"),
        OptionSpec(["-o", "--output"], value: "text|json", help: "list, info, items, trace: output format (default text)"),
        OptionSpec(["--tail"], value: "N", help: "logs: the last N lines of each log"),
        OptionSpec(["--follow"], help: "logs: keep printing logs as steps finish until the task stops"),
        OptionSpec(["--interval"], value: "MS", help: "watch/--follow: refresh interval in milliseconds (default 1000)"),
        OptionSpec(["--force"], help: "delete: also a task whose runner is alive"),
        OptionSpec(["-q", "--quiet"], help: "create/start/resume: no progress lines"),
        DataDirectory.option,
    ]

    enum Output: String, CaseIterable { case text, json }

    public static func run(_ arguments: ParsedArguments, context: CommandContext) -> ExitStatus {
        runStoreCommand(context) {
            guard let sub = arguments.positionals.first else {
                throw UsageError("`task` needs a subcommand", help: "one of: create, start, list, info, items, logs, watch, trace, pause, resume, delete")
            }
            let rest = Array(arguments.positionals.dropFirst())
            let known = ["create", "start", "list", "info", "items", "logs", "watch", "trace", "pause", "resume", "delete"]
            guard known.contains(sub) else {
                throw UsageError(
                    "unknown task subcommand `\(sub)`",
                    help: Suggestions.closest(to: sub, in: known).map { "did you mean `\($0)`?" } ?? "one of: " + known.joined(separator: ", "))
            }
            let store = try DataDirectory.open(arguments, context: context)
            let tasks = TaskStore(store)
            try tasks.recoverOrphanedTasks()
            func one() throws -> TaskRecord {
                guard rest.count == 1 else { throw UsageError("`task \(sub)` needs one task id") }
                guard let task = try tasks.findTask(rest[0]) else {
                    throw UsageError("no task \(rest[0])", help: "`orchestrator task list` shows the tasks")
                }
                return task
            }
            let output = try arguments.choice("--output", default: Output.text)
            switch sub {
            case "create": return try create(arguments, store: store, tasks: tasks, context: context)
            case "start":
                let task = try one()
                guard task.status == .created else {
                    throw UsageError("task \(task.id) is \(task.status.rawValue)", help: task.status.isResumable ? "use `task resume`" : nil)
                }
                return try ForegroundRun.run(task.id, store: store, tasks: tasks, context: context, quiet: arguments.flag("--quiet"))
            case "resume":
                let task = try one()
                guard task.status.isResumable else {
                    throw UsageError("task \(task.id) is \(task.status.rawValue); only a paused or interrupted task resumes")
                }
                return try ForegroundRun.run(task.id, store: store, tasks: tasks, context: context, quiet: arguments.flag("--quiet"))
            case "list":
                guard rest.isEmpty else { throw UsageError("`task list` takes no arguments") }
                let all = try tasks.tasks()
                if output == .json {
                    context.stdout.write(JSONWriter(pretty: true).string(.array(all.map(taskJSON))) + "\n")
                } else {
                    var rows = [["ID", "NAME", "WORKFLOW", "STATUS", "CYCLE", "CREATED"]]
                    for task in all {
                        rows.append([task.id, task.name, task.workflow, task.status.rawValue, String(task.cycle), task.createdAt])
                    }
                    context.stdout.write(table(rows))
                }
                return .success
            case "info":
                let task = try one()
                let items = try tasks.items(task.id)
                if output == .json {
                    var value = taskJSON(task)
                    if case .object(var pairs) = value {
                        pairs.append(("items", .array(items.map(itemJSON))))
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
                    ]
                    for (key, value) in pairs { text += ForegroundRun.pad(key + ":", 22) + value + "\n" }
                    var counts: [String: Int] = [:]
                    for item in items where item.active { counts[item.status, default: 0] += 1 }
                    text += ForegroundRun.pad("items:", 22)
                        + "\(items.filter(\.active).count) active"
                        + (counts.isEmpty ? "" : " (" + counts.keys.sorted().map { "\(counts[$0] ?? 0) \($0)" }.joined(separator: ", ") + ")") + "\n"
                    context.stdout.write(text)
                }
                return .success
            case "items":
                let task = try one()
                let items = try tasks.items(task.id)
                if output == .json {
                    context.stdout.write(JSONWriter(pretty: true).string(.array(items.map(itemJSON))) + "\n")
                } else {
                    var rows = [["ITEM", "STATUS", "ORIGIN", "ACTIVE", "PATH"]]
                    for item in items {
                        rows.append([item.itemID, item.status, item.origin, item.active ? "yes" : "no", item.path ?? "-"])
                    }
                    context.stdout.write(table(rows))
                }
                return .success
            case "logs":
                let task = try one()
                return try logs(task, arguments: arguments, tasks: tasks, context: context)
            case "watch":
                let task = try one()
                return try watch(task, arguments: arguments, tasks: tasks, context: context)
            case "trace":
                let task = try one()
                let trace = try TaskTrace.trace(task: task, events: try tasks.events(task.id))
                if output == .json {
                    let value: JSONValue = .object([
                        ("task", .string(task.id)), ("cycles", .int(Int64(trace.cycles))),
                        ("entries", .array(trace.entries.map { entry in
                            .object([
                                ("cycle", .int(Int64(entry.cycle))), ("step", .string(entry.step)), ("planned", .string(entry.planned)),
                                ("plannedReason", entry.plannedReason.map { .string($0) } ?? .null), ("executed", .string(entry.executed)),
                            ])
                        })),
                        ("deviations", .array(trace.deviations.map { .string($0) })),
                    ])
                    context.stdout.write(JSONWriter(pretty: true).string(value) + "\n")
                } else {
                    var text = "trace of task \(task.id) (workflow \(task.workflow), \(trace.cycles) cycle\(trace.cycles == 1 ? "" : "s"))\n"
                    var current = 0
                    for entry in trace.entries {
                        if entry.cycle != current {
                            current = entry.cycle
                            text += "cycle \(current)\n"
                        }
                        text += "  " + ForegroundRun.pad(entry.step, 18) + ForegroundRun.pad("plan " + entry.planned, 18) + entry.executed + "\n"
                    }
                    if trace.deviations.isEmpty {
                        text += "no deviation: the execution followed the plan\n"
                    } else {
                        text += "\(trace.deviations.count) deviation\(trace.deviations.count == 1 ? "" : "s"):\n"
                        for deviation in trace.deviations { text += "  " + deviation + "\n" }
                    }
                    context.stdout.write(text)
                }
                return trace.deviations.isEmpty ? .success : .findings
            case "pause":
                let task = try one()
                switch task.status {
                case .running:
                    try tasks.requestPause(task.id)
                    context.stdout.write("task \(task.id): pause requested; the runner stops before its next step\n")
                case .created, .interrupted:
                    try tasks.write { writer in
                        try writer.append(NewEvent("task_paused", cycle: task.cycle > 0 ? task.cycle : nil, payload: .object([("cycle", .int(Int64(task.cycle)))])), task: task.id)
                        try writer.updateTask(task.id, [("status", .text(TaskStatus.paused.rawValue))])
                    }
                    context.stdout.write("task \(task.id) paused\n")
                case .paused:
                    context.stdout.write("task \(task.id) is already paused\n")
                case .completed, .failed:
                    throw UsageError("task \(task.id) is \(task.status.rawValue); there is nothing to pause")
                }
                return .success
            case "delete":
                let task = try one()
                if task.status == .running && !arguments.flag("--force") {
                    throw UsageError("task \(task.id) is running", help: "pause it first, or pass --force")
                }
                try tasks.deleteTask(task.id)
                removeTree(tasks.logDirectory(task.id))
                context.stdout.write("task \(task.id) deleted\n")
                return .success
            default:
                throw UsageError(
                    "unknown task subcommand `\(sub)`",
                    help: "one of: create, start, list, info, items, logs, watch, trace, pause, resume, delete")
            }
        }
    }

    static func create(_ arguments: ParsedArguments, store: ResourceStore, tasks: TaskStore, context: CommandContext) throws -> ExitStatus {
        guard let workflow = arguments.value("--workflow") else {
            throw UsageError("`task create` needs the workflow: -W WF", help: "apply it first with `orchestrator apply -f FILE`")
        }
        let variables = try ForegroundRun.variables(arguments)
        let task: TaskRecord
        do {
            task = try TaskCreation.create(
                store: store, tasks: tasks, project: arguments.value(ApplyPreparation.projectOption.key) ?? Resource.defaultProject,
                workflow: workflow, workspace: arguments.value("--workspace"), goal: arguments.value("--goal") ?? "",
                name: arguments.value("--name"),
                options: TaskOptions(targets: ForegroundRun.targets(arguments, context: context), variables: variables, steps: arguments.all("--step")))
        } catch let error as RunnerError {
            throw UsageError(error.message)
        }
        context.stdout.write("task \(task.id) created\n")
        if arguments.flag("--no-start") { return .success }
        // No daemon: the task runs in the foreground.
        return try ForegroundRun.run(task.id, store: store, tasks: tasks, context: context, quiet: arguments.flag("--quiet"))
    }

    static func taskJSON(_ task: TaskRecord) -> JSONValue {
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

    static func interval(_ arguments: ParsedArguments) throws(UsageError) -> UInt32 {
        UInt32(min(max(try arguments.integer("--interval") ?? 1000, 10), 60_000))
    }

    // MARK: logs

    static func logs(_ task: TaskRecord, arguments: ParsedArguments, tasks: TaskStore, context: CommandContext) throws -> ExitStatus {
        let tail = try arguments.integer("--tail")
        let steps = arguments.all("--step")
        let follow = arguments.flag("--follow")
        let wait = try interval(arguments)
        var shown = Set<Int64>()
        while true {
            for run in try tasks.runs(task.id) where run.status == .finished && !shown.contains(run.id) {
                if !steps.isEmpty && !steps.contains(run.step) { continue }
                shown.insert(run.id)
                for (label, path) in [("stdout", run.stdoutPath), ("stderr", run.stderrPath)] {
                    guard let path else { continue }
                    let bytes = (try? FileSystem.readFile(path)) ?? []
                    if bytes.isEmpty && label == "stderr" { continue }
                    var text = String(decoding: bytes, as: UTF8.self)
                    if let tail {
                        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
                        if lines.last == "" { lines.removeLast() }
                        text = lines.suffix(tail).joined(separator: "\n") + (lines.isEmpty ? "" : "\n")
                    }
                    let item = run.item.map { " [\($0)]" } ?? ""
                    context.stdout.write("==> cycle \(run.cycle) \(run.step)\(item) \(label) (exit \(run.exitCode ?? -1)) <==\n")
                    context.stdout.write(text.isEmpty || text.hasSuffix("\n") ? text : text + "\n")
                }
            }
            guard follow else { return .success }
            guard let now = try tasks.task(task.id), now.status == .running || now.status == .created else { return .success }
            usleep(wait * 1000)
        }
    }

    // MARK: watch

    static func watch(_ task: TaskRecord, arguments: ParsedArguments, tasks: TaskStore, context: CommandContext) throws -> ExitStatus {
        let wait = try interval(arguments)
        let terminal = context.stdout.isTerminal
        var lastEvent: Int64 = 0
        while true {
            try tasks.recoverOrphanedTasks()
            guard let current = try tasks.task(task.id) else { throw UsageError("task \(task.id) was deleted") }
            let items = try tasks.items(task.id).filter(\.active)
            var counts: [String: Int] = [:]
            for item in items { counts[item.status, default: 0] += 1 }
            let summary =
                "task \(current.id) \(current.status.rawValue)  cycle \(current.cycle)  items: "
                + (counts.isEmpty ? "none" : counts.keys.sorted().map { "\(counts[$0] ?? 0) \($0)" }.joined(separator: ", "))
            if terminal {
                var screen = "\u{1B}[H\u{1B}[2J" + summary + "\n\n"
                for event in try tasks.events(task.id, limit: 15) { screen += eventLine(event) }
                context.stdout.write(screen)
            } else {
                let fresh = try tasks.events(task.id, after: lastEvent)
                if lastEvent == 0 || !fresh.isEmpty { context.stdout.write(summary + "\n") }
                for event in fresh { context.stdout.write(eventLine(event)) }
                lastEvent = fresh.last?.id ?? lastEvent
            }
            if current.status != .running { return .success }
            usleep(wait * 1000)
        }
    }

    static func eventLine(_ event: EventRecord) -> String {
        var where_ = ""
        if let cycle = event.cycle { where_ += "cycle \(cycle) " }
        if let step = event.step { where_ += step + " " }
        if let item = event.item { where_ += "[\(item)] " }
        return "\(event.id)  \(event.timestamp)  \(ForegroundRun.pad(event.type, 24))\(where_)\(JSONWriter().string(event.payload))\n"
    }

    static func removeTree(_ path: String) {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        if (info.st_mode & S_IFMT) == S_IFDIR {
            if let directory = opendir(path) {
                var names: [String] = []
                while let entry = readdir(directory) {
                    let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                        String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
                    }
                    if name != "." && name != ".." { names.append(name) }
                }
                closedir(directory)
                for name in names { removeTree(path + "/" + name) }
            }
            rmdir(path)
        } else {
            unlink(path)
        }
    }
}

/// `orchestrator event list --task ID [--type T] [--limit N] [-o json]`
public enum EventCommand: Command {
    public static let name = "event"
    public static let summary = "list a task's events"
    public static let usage = """
        Usage: orchestrator event list --task ID [--type T] [--limit N] [-o text|json]

        The events of a task in order (ids are monotonic). --type keeps one type, --limit the
        last N. -o json: an array of {"id", "task", "type", "cycle", "step", "item", "timestamp",
        "payload"}. The event types are listed in docs/runner.md.
        """
    public static let options: [OptionSpec] = [
        OptionSpec(["--task"], value: "ID", help: "the task"),
        OptionSpec(["--type"], value: "T", help: "only events of this type"),
        OptionSpec(["--limit"], value: "N", help: "only the last N events"),
        OptionSpec(["-o", "--output"], value: "text|json", help: "output format (default text)"),
        DataDirectory.option,
    ]

    public static func run(_ arguments: ParsedArguments, context: CommandContext) -> ExitStatus {
        runStoreCommand(context) {
            guard arguments.positionals == ["list"] else {
                throw UsageError("`event` needs the subcommand `list`", help: "e.g. `orchestrator event list --task ID`")
            }
            guard let id = arguments.value("--task") else { throw UsageError("`event list` needs --task ID") }
            let output = try arguments.choice("--output", default: TaskCommand.Output.text)
            let limit = try arguments.integer("--limit")
            let store = try DataDirectory.open(arguments, context: context)
            let tasks = TaskStore(store)
            try tasks.recoverOrphanedTasks()
            guard let task = try tasks.findTask(id) else { throw UsageError("no task \(id)", help: "`orchestrator task list` shows the tasks") }
            let events = try tasks.events(task.id, type: arguments.value("--type"), limit: limit)
            if output == .json {
                context.stdout.write(JSONWriter(pretty: false).string(.array(events.map(\.json))) + "\n")
            } else {
                for event in events { context.stdout.write(TaskCommand.eventLine(event)) }
            }
            return .success
        }
    }
}
