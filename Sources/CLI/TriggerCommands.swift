import Automation
import Diagnostics
import JSON
import Manifest
import Store
import Triggers

/// `orchestrator trigger list|next|suspend|resume|fire` (docs/triggers.md "Commands").
enum TriggerCommand: CommandGroup {
    static let name = "trigger"
    static let summary = "list, preview, suspend, resume and fire the applied Triggers"
    static let discussion = """
        A daemon (orchestratord) fires Triggers: cron schedules, task ends, webhooks and file
        changes. Every fire, skip and failure is a daemon event (`orchestrator event list --daemon`).
        """
    static let subcommands: [any CommandEntry.Type] = [
        TriggerListCommand.self, TriggerNextCommand.self, TriggerSuspendCommand.self, TriggerResumeCommand.self, TriggerFireCommand.self,
    ]

    /// The applied triggers, or the one `name` names.
    static func load(_ store: any ResourceStore, name: String?, project: String?) throws -> [ArmedTrigger] {
        let all = try TriggerCatalog.load(store).filter { project == nil || $0.key.project == project }
        guard let name else { return all }
        switch TriggerCatalog.find(name, project: project, in: all) {
        case .success(let trigger): return [trigger]
        case .failure(let error): throw UsageError(error.description, help: error.help)
        }
    }

    /// What starts it, in a few words.
    static func what(_ trigger: ArmedTrigger) -> String {
        let definition = trigger.definition
        switch definition.source {
        case .cron: return "cron `\(definition.cron?.schedule.value ?? "")` \(definition.cron?.zoneName ?? "UTC")"
        case .taskCompleted, .taskFailed:
            return "\(definition.source.rawValue)" + (definition.filterWorkflow.map { " of \($0.value)" } ?? "")
                + (definition.condition.map { " if \($0.text)" } ?? "")
        case .webhook: return "POST /webhook/\(trigger.key.project)/\(trigger.key.name)"
        case .filesystem: return "changes of " + (definition.filesystem?.paths.map(\.value).joined(separator: ", ") ?? "")
        }
    }

    static func json(_ trigger: ArmedTrigger, tasks: any TaskStore, now: Instant) -> JSONValue {
        let (suspended, by) = trigger.suspension(tasks: tasks)
        let last = (try? tasks.triggerFires(trigger.key, limit: 1))?.first
        let next = trigger.nextFires(after: now, count: 1).first
        return .object([
            ("name", .string(trigger.key.name)), ("project", .string(trigger.key.project)),
            ("source", .string(trigger.definition.source.rawValue)), ("what", .string(what(trigger))),
            ("workflow", .string(trigger.definition.action.workflow.value)), ("workspace", .string(trigger.definition.action.workspace.value)),
            ("concurrency_policy", .string(trigger.definition.concurrency.rawValue)), ("suspended", .bool(suspended)),
            ("suspended_by", .string(by)), ("generation", .int(Int64(trigger.generation))),
            ("problem", trigger.problem.map { .string($0) } ?? .null), ("last_fire", last?.json ?? .null),
            ("next_fire", next.map { .string(trigger.format($0)) } ?? .null),
        ])
    }

    /// `trigger list` and `get triggers`: NAME PROJECT SOURCE WORKFLOW SUSPENDED LAST NEXT.
    static func table(_ triggers: [ArmedTrigger], tasks: any TaskStore, now: Instant) -> String {
        var rows: [[String]] = [["NAME", "PROJECT", "WHEN", "WORKFLOW", "SUSPENDED", "LAST", "NEXT"]]
        for trigger in triggers {
            let (suspended, by) = trigger.suspension(tasks: tasks)
            var lastText = "never"
            if let last = (try? tasks.triggerFires(trigger.key, limit: 5))?.first(where: { $0.outcome != .armed }) {
                let at = trigger.format(Instant(secondsSinceEpoch: last.firedAt))
                switch last.outcome {
                case .fired: lastText = "\(at) task \(last.taskID ?? "?")"
                case .skipped, .failed: lastText = "\(at) \(last.outcome.rawValue): \(last.reason ?? "")"
                case .armed: break
                }
            }
            let next: String
            if let problem = trigger.problem {
                next = "cannot fire: \(problem)"
            } else if trigger.definition.source == .cron {
                next = trigger.nextFires(after: now, count: 1).first.map { trigger.format($0) } ?? "never"
            } else if trigger.refusesEveryWebhook {
                next = "never by webhook: no secret.fromRef (every request gets 401); `trigger fire` works"
            } else {
                next = "on event"
            }
            rows.append([
                trigger.key.name, trigger.key.project, what(trigger), trigger.definition.action.workflow.value,
                suspended ? "yes (\(by))" : "no", lastText, next,
            ])
        }
        return TextTable.render(rows)
    }

    /// `--after`: seconds since the epoch, or `YYYY-MM-DDTHH:MM:SSZ`.
    static func instant(_ text: String) throws(UsageError) -> Instant {
        if let seconds = Int64(text) { return Instant(secondsSinceEpoch: seconds) }
        let parts = text.split(whereSeparator: { "-T:Z".contains($0) }).compactMap { Int($0) }
        guard text.hasSuffix("Z"), parts.count == 6, (1...12).contains(parts[1]), (1...31).contains(parts[2]), (0...23).contains(parts[3]),
            (0...59).contains(parts[4]), (0...59).contains(parts[5])
        else {
            throw UsageError("`--after` takes seconds since the epoch or a UTC time like 2026-03-29T00:00:00Z, not `\(text)`")
        }
        return Instant(utc: CivilTime(year: parts[0], month: parts[1], day: parts[2], hour: parts[3], minute: parts[4], second: parts[5]))
    }
}

/// `trigger list`
struct TriggerListCommand: Command {
    static let name = "list"
    static let summary = "the applied Triggers with their last and next fire"
    static let usage = """
        Usage: orchestrator trigger list [-p P] [-o table|json]

        Every applied Trigger: what starts it, its workflow, whether it is suspended (by the
        manifest or by `trigger suspend`), its last fire (the task it created, or why it was
        skipped or failed) and its next scheduled fire (cron). A Trigger that cannot fire (a bad
        schedule, a webhook without a key) says why in NEXT.
        """
    var project: String?
    var output = TaskCommand.Output.text
    var dataDirectory: String?
    var routing: DaemonRouting { .daemon(dataDirectory: dataDirectory) }

    static var options: [Option<Self>] {
        [.project(\.project, help: "only this project (default: every project)"), .output(\.output), .dataDirectory(\.dataDirectory)]
    }

    func run(context: CommandContext) -> ExitStatus {
        runStoreCommand(context) {
            let store = try DataDirectory.openExisting(dataDirectory, context: context)
            let tasks = store.taskStore()
            let triggers = try TriggerCommand.load(store, name: nil, project: project)
            let now = SystemClock().now()
            switch output {
            case .json:
                context.stdout.write(JSONWriter(pretty: true).string(.array(triggers.map { TriggerCommand.json($0, tasks: tasks, now: now) })) + "\n")
            case .text:
                if triggers.isEmpty {
                    context.stderr.write("no Triggers\(project.map { " in project \($0)" } ?? ""); apply one with `orchestrator apply -f FILE`\n")
                    return .success
                }
                context.stdout.write(TriggerCommand.table(triggers, tasks: tasks, now: now))
            }
            return .success
        }
    }
}

/// `trigger next NAME`
struct TriggerNextCommand: Command {
    static let name = "next"
    static let summary = "the next fire times of a cron Trigger"
    static let usage = """
        Usage: orchestrator trigger next NAME [-n N] [--after TIME] [-p P] [-o text|json]

        The next N (default 5) instants a cron Trigger fires, in its time zone, after now (or
        after --after: seconds since the epoch or a UTC time like 2026-03-29T00:00:00Z).
        Daylight-saving gaps and repeats are handled as docs/triggers.md says: a skipped wall
        time fires once at the end of the gap, a repeated one once at its first occurrence.
        """
    var count: Int?
    var after: String?
    var project: String?
    var output = TaskCommand.Output.text
    var dataDirectory: String?
    var names: [String] = []
    var routing: DaemonRouting { .daemon(dataDirectory: dataDirectory) }

    static var options: [Option<Self>] {
        [
            .integer(\.count, "-n", "--count", value: "N", help: "how many fire times (default 5, at most 1000)"),
            .value(\.after, "--after", value: "TIME", help: "from this instant instead of now"),
            .project(\.project, help: "the Trigger's project (needed when several have one of that name)"), .output(\.output),
            .dataDirectory(\.dataDirectory),
        ]
    }
    static var positionals: Positionals<Self>? { Positionals(\.names) }

    func run(context: CommandContext) -> ExitStatus {
        runStoreCommand(context) {
            guard names.count == 1, let name = names.first else { throw UsageError("`trigger next` needs one Trigger NAME") }
            let wanted = count ?? 5
            guard (1...1000).contains(wanted) else { throw UsageError("`-n` takes 1 to 1000, not \(wanted)") }
            let start = try after.map { (text) throws(UsageError) in try TriggerCommand.instant(text) } ?? SystemClock().now()
            let store = try DataDirectory.openExisting(dataDirectory, context: context)
            guard let trigger = try TriggerCommand.load(store, name: name, project: project).first else { return .usage }
            guard trigger.definition.source == .cron else {
                throw UsageError(
                    "trigger `\(name)` fires on \(trigger.definition.source.rawValue), not on a schedule",
                    help: "`trigger next` previews cron Triggers; `trigger list` shows this one's last fire")
            }
            if let problem = trigger.problem { throw UsageError("trigger `\(name)` cannot fire: \(problem)", help: "fix the manifest and apply it again") }
            let fires = trigger.nextFires(after: start, count: wanted)
            switch output {
            case .json:
                context.stdout.write(
                    JSONWriter(pretty: true).string(
                        .object([
                            ("trigger", .string(name)), ("project", .string(trigger.key.project)), ("timezone", .string(trigger.definition.cron?.zoneName ?? "UTC")),
                            ("fires", .array(fires.map { .object([("local", .string(trigger.format($0))), ("utc", .string($0.description))]) })),
                        ])) + "\n")
            case .text:
                for fire in fires { context.stdout.write("\(trigger.format(fire))  (\(fire))\n") }
                if fires.count < wanted { context.stdout.write("(no further fires: the schedule ends)\n") }
            }
            return .success
        }
    }
}

/// `trigger suspend NAME` and `trigger resume NAME`: one body.
protocol TriggerSuspension: Command {
    var suspend: Bool { get }
    var project: String? { get }
    var dataDirectory: String? { get }
    var names: [String] { get }
}

extension TriggerSuspension {
    func run(context: CommandContext) -> ExitStatus {
        runStoreCommand(context) {
            guard !names.isEmpty else { throw UsageError("`trigger \(suspend ? "suspend" : "resume")` needs a Trigger NAME") }
            let store = try DataDirectory.openExisting(dataDirectory, context: context)
            let tasks = store.taskStore()
            for name in names {
                guard let trigger = try TriggerCommand.load(store, name: name, project: project).first else { continue }
                try tasks.setTriggerOverride(trigger.key, suspended: suspend, generation: trigger.generation)
                try tasks.appendDaemonEvent(
                    suspend ? .triggerSuspended : .triggerResumed, incarnation: nil,
                    payload: .object([
                        ("trigger", .string(trigger.key.name)), ("project", .string(trigger.key.project)),
                        ("reason", .string(suspend ? "suspended by `trigger suspend`" : "resumed by `trigger resume`")),
                    ]))
                context.stdout.write(
                    "trigger \(trigger.key.name) \(suspend ? "suspended" : "resumed")"
                        + " (until it is applied with a change; the manifest says suspend: \(trigger.definition.suspend))\n")
            }
            return .success
        }
    }
}

struct TriggerSuspendCommand: TriggerSuspension {
    static let name = "suspend"
    static let summary = "stop a Trigger from firing"
    static let usage = """
        Usage: orchestrator trigger suspend NAME... [-p P]

        A suspended Trigger does not fire; each fire it would have made is recorded as skipped.
        It holds until `trigger resume`, or until the Trigger is applied with a change (then its
        manifest's `suspend` counts again).
        """
    var project: String?
    var dataDirectory: String?
    var names: [String] = []
    var suspend: Bool { true }
    var routing: DaemonRouting { .daemon(dataDirectory: dataDirectory) }
    static var options: [Option<Self>] { [.project(\.project, help: "the Trigger's project"), .dataDirectory(\.dataDirectory)] }
    static var positionals: Positionals<Self>? { Positionals(\.names) }
}

struct TriggerResumeCommand: TriggerSuspension {
    static let name = "resume"
    static let summary = "let a suspended Trigger fire again"
    static let usage = """
        Usage: orchestrator trigger resume NAME... [-p P]

        Overrides `suspend: true` of the manifest too, until the Trigger is applied with a change.
        Fires missed while suspended are not made up.
        """
    var project: String?
    var dataDirectory: String?
    var names: [String] = []
    var suspend: Bool { false }
    var routing: DaemonRouting { .daemon(dataDirectory: dataDirectory) }
    static var options: [Option<Self>] { [.project(\.project, help: "the Trigger's project"), .dataDirectory(\.dataDirectory)] }
    static var positionals: Positionals<Self>? { Positionals(\.names) }
}

/// `trigger fire NAME`
struct TriggerFireCommand: Command {
    static let name = "fire"
    static let summary = "fire a Trigger now, by hand"
    static let usage = """
        Usage: orchestrator trigger fire NAME [--payload JSON] [-p P] [-q]

        Fires the Trigger as its source would: suspended, throttle and concurrencyPolicy apply,
        and the fire is recorded. --payload is the JSON a webhook would carry (`{payload.PATH}`
        in action.args reads it). With a daemon the task is queued for its workers; without one
        it runs here in the foreground when the Trigger's action.start is true.
        Exit 0 when a task was created (and, run here, completed), 1 when the fire was skipped
        or failed or the task failed.
        """
    var payload: String?
    var project: String?
    var quiet = false
    var dataDirectory: String?
    var names: [String] = []
    var routing: DaemonRouting { .daemon(dataDirectory: dataDirectory) }

    static var options: [Option<Self>] {
        [
            .value(\.payload, "--payload", value: "JSON", help: "the payload, as a webhook would deliver it"),
            .project(\.project, help: "the Trigger's project"), .quiet(\.quiet), .dataDirectory(\.dataDirectory),
        ]
    }
    static var positionals: Positionals<Self>? { Positionals(\.names) }

    func run(context: CommandContext) -> ExitStatus {
        runStoreCommand(context) {
            guard names.count == 1, let name = names.first else { throw UsageError("`trigger fire` needs one Trigger NAME") }
            var body: JSONValue?
            if let payload {
                do {
                    body = try JSONParser.parse(Array(payload.utf8))
                } catch {
                    throw UsageError("`--payload` is not JSON: \(error)", help: #"e.g. --payload '{"ref": "main"}'"#)
                }
            }
            if let refusal = DaemonCommand.maintenanceRefusal(DataDirectory.path(dataDirectory, context: context)) { throw refusal }
            let (store, tasks) = try TaskCommand.open(dataDirectory, context: context)
            guard let trigger = try TriggerCommand.load(store, name: name, project: project).first else { return .usage }
            let inDaemon = context.daemonHost != nil
            let now = SystemClock().now()
            let request = FireRequest(
                source: "manual", key: "manual:\(now.secondsSinceEpoch):\(FireToken.random())", firedAt: now,
                payload: body, details: [("by", .string("trigger fire"))])
            let firing = TriggerFiring(store: store, tasks: tasks, incarnation: nil, queueTasks: inDaemon)
            let result = firing.fire(trigger, request)
            switch result {
            case .fired(let id, let position):
                if let position {
                    context.stdout.write("trigger \(name) fired: task \(id) queued (position \(position)); `orchestrator task watch \(id)` follows it\n")
                    return .success
                }
                context.stdout.write("trigger \(name) fired: task \(id) created\n")
                guard trigger.definition.action.start, !inDaemon else { return .success }
                context.stderr.write("note: no daemon serves \(DataDirectory.path(dataDirectory, context: context)): task \(id) runs in the foreground\n")
                let status = try ForegroundRun.run(id, store: store, tasks: tasks, context: context, quiet: quiet)
                firing.prune(trigger)  // historyLimit, now that this task ended too
                return status
            case .skipped(let reason):
                context.stdout.write("trigger \(name) skipped: \(reason)\n")
                return .findings
            case .failed(let reason):
                context.stderr.write("orchestrator: error: trigger \(name) failed: \(reason)\n")
                return .findings
            case .duplicate:
                context.stdout.write("trigger \(name): this fire was claimed already\n")
                return .findings
            }
        }
    }
}
