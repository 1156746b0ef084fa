import Compiler
import Control
import Diagnostics
import JSON
import Platform
import Runner
import Store

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `orchestrator event list`
enum EventCommand: CommandGroup {
    static let name = "event"
    static let summary = "list, follow and clean up a task's events"
    static let discussion = "Events are what a task did, in order (ids are monotonic); the types are listed in docs/runner.md."
    static let subcommands: [any CommandEntry.Type] = [EventListCommand.self, EventCleanupCommand.self]
}

/// `event list --task ID` (or `event list ID`)
struct EventListCommand: Command {
    /// The event types `--type WORD` selects: the type, or every type it begins. A word that
    /// names none is bad usage, with the closest type and the families (never an empty success).
    static func types(_ word: String) throws(UsageError) -> [EventType] {
        let matches = EventType.matching(word)
        guard matches.isEmpty else { return matches }
        let names = EventType.allCases.map(\.rawValue)
        let close = Suggestions.closest(to: word, in: names).map { "did you mean `\($0)`? " } ?? ""
        throw UsageError(
            "no event type is or begins with `\(word)`",
            help: close + "the families are " + EventType.families.map { "`\($0)`" }.joined(separator: ", ") + " (docs/runner.md lists every type)")
    }

    static let name = "list"
    static let summary = "the events of a task, in order"
    static let usage = """
        Usage: orchestrator event list --task ID [--type TYPE] [--limit N] [--after EVENT] [--follow] [-o text|json]
               orchestrator event list ID [--type TYPE] [--limit N] [--after EVENT] [--follow] [-o text|json]
               orchestrator event list --daemon [--type TYPE] [--limit N] [-o text|json]

        The events of a task in order (ids are monotonic). --type keeps one type or every type
        it begins (`step_`, `self_restart`); an unknown one is bad usage. --limit keeps the
        last N; with --after EVENT (an event id) it pages forward instead: the first N events
        after that one. --follow keeps printing new events (one line each; with -o json one object per
        line) until the task stops running. -o json: an array of {"id", "task", "type", "cycle",
        "step", "item", "timestamp", "payload"}. The event types are listed in docs/runner.md.
        --daemon lists the daemon's own events instead (daemon_started, daemon_restarted,
        daemon_draining, socket_peer_refused): -o json gives {"id", "type", "incarnation",
        "timestamp", "payload"} (docs/daemon.md).
        """
    var task: String?
    var type: String?
    var limit: Int?
    var follow = false
    var after: Int?
    var daemon = false
    var interval: DurationText?
    var output = TaskCommand.Output.text
    var dataDirectory: String?
    var routing: DaemonRouting { follow ? .here : .daemon(dataDirectory: dataDirectory) }
    var ids: [String] = []

    static var options: [Option<Self>] {
        [
            .value(\.task, "--task", value: "ID", help: "the task (or give ID alone)"),
            .value(\.type, "--type", value: "TYPE", help: "only events of this type, or of the types it begins (`step_`)"),
            .integer(\.limit, "--limit", value: "N", help: "only the last N events (with --after: the first N after it)"),
            .integer(\.after, "--after", value: "EVENT", help: "only the events after this event id (paging forward)"),
            .flag(\.follow, "--follow", "-f", help: "keep printing new events until the task stops running"),
            .flag(\.daemon, "--daemon", help: "the daemon's own events (starts, restarts in place, drains, refused clients)"),
            .interval(\.interval), .output(\.output), .dataDirectory(\.dataDirectory),
        ]
    }
    static var positionals: Positionals<Self>? { Positionals(\.ids) }

    func run(context: CommandContext) -> ExitStatus {
        runStoreCommand(context) {
            if daemon {
                guard task == nil, ids.isEmpty, !follow else {
                    throw UsageError("`event list --daemon` takes no task and no --follow", help: "e.g. `orchestrator event list --daemon --limit 20`")
                }
                let (_, tasks) = try TaskCommand.open(dataDirectory, context: context)
                let types = try type.map(EventListCommand.types)
                var events = try tasks.daemonEvents(after: 0, limit: nil)
                if let types { events = events.filter { types.contains($0.type) } }
                if let limit { events = Array(events.suffix(max(0, limit))) }
                if output == .json {
                    context.stdout.write(JSONWriter(pretty: false).string(.array(events.map(\.json))) + "\n")
                } else {
                    for event in events {
                        let incarnation = event.incarnation.map { "incarnation \($0) " } ?? ""
                        context.stdout.write(
                            "\(event.id)  \(event.timestamp)  \(ForegroundRun.pad(event.type.rawValue, 24))\(incarnation)\(JSONWriter().string(event.payload))\n")
                    }
                }
                return .success
            }
            guard ids.count <= 1, task == nil || ids.isEmpty || ids == [task] else {
                throw UsageError("`event list` takes one task", help: "e.g. `orchestrator event list --task ID` or `orchestrator event list ID`")
            }
            guard let id = task ?? ids.first else { throw UsageError("`event list` needs --task ID (or the ID alone)") }
            let (_, tasks) = try TaskCommand.open(dataDirectory, context: context)
            let task = try TaskCommand.find(id, tasks: tasks)
            let types = try type.map(EventListCommand.types)
            let events: [EventRecord]
            if let after {
                let start = Int64(max(0, after))
                events = try limit.map { try tasks.events(task.id, types: types, after: start, first: $0) }
                    ?? tasks.events(task.id, types: types, after: start, limit: nil)
            } else {
                events = try tasks.events(task.id, types: types, limit: limit)
            }
            guard follow else {
                if output == .json {
                    context.stdout.write(JSONWriter(pretty: false).string(.array(events.map(\.json))) + "\n")
                } else {
                    for event in events { context.stdout.write(TaskCommand.eventLine(event)) }
                }
                return .success
            }
            // Follow: the events so far, then each new one as it is recorded, until the task
            // stops running (embedded: the store is polled every interval).
            func emit(_ event: EventRecord) {
                context.stdout.write(output == .json ? JSONWriter(pretty: false).string(event.json) + "\n" : TaskCommand.eventLine(event))
            }
            events.forEach(emit)
            var last = events.last?.id ?? 0
            let wait = TaskCommand.interval(interval)
            while true {
                try tasks.recoverOrphanedTasks()
                let status = try tasks.control(task.id)?.status
                let fresh = try tasks.events(task.id, types: types, after: last, limit: nil)
                fresh.forEach(emit)
                last = fresh.last?.id ?? last
                guard let status, status == .running || status == .created else { return .success }
                usleep(wait * 1000)
            }
        }
    }
}

/// `event cleanup --older-than D [--archive DIR]`
struct EventCleanupCommand: Command {
    static let name = "cleanup"
    static let summary = "archive (JSON Lines) and delete events older than a duration"
    static let usage = """
        Usage: orchestrator event cleanup --older-than DURATION [--archive DIR] [--dry-run]

        Deletes every event recorded more than DURATION ago (`30d`, `12h`, `90m`; a bare number
        is days). With --archive, the events are first written to DIR/events-TIMESTAMP.jsonl
        (one JSON object per line, as `event list -o json` prints them) and the file is synced
        before anything is deleted, so a crash in between loses nothing. Tasks, runs and items
        stay: a task's remaining history still traces.
        """
    var olderThan: String?
    var archive: String?
    var dryRun = false
    var dataDirectory: String?
    var routing: DaemonRouting { .daemon(dataDirectory: dataDirectory) }

    static var options: [Option<Self>] {
        [
            .value(\.olderThan, "--older-than", value: "DURATION", help: "events recorded before now minus this (`30d`, `12h`; a bare number is days)"),
            .value(\.archive, "--archive", value: "DIR", help: "write the events to DIR/events-TIMESTAMP.jsonl before deleting them"),
            .flag(\.dryRun, "--dry-run", help: "say how many events would go, delete nothing"),
            .dataDirectory(\.dataDirectory),
        ]
    }

    func run(context: CommandContext) -> ExitStatus {
        runStoreCommand(context) {
            guard let olderThan else { throw UsageError("`event cleanup` needs --older-than DURATION", help: "e.g. `--older-than 30d`") }
            guard let age = DurationText(olderThan, bareUnit: .days)?.milliseconds else {
                throw UsageError("`--older-than \(olderThan)` is not a duration", help: "e.g. `30d`, `12h`, `90m`, or a number of days")
            }
            let (_, tasks) = try TaskCommand.open(dataDirectory, context: context)
            let cutoff = StoreClock.timestamp(epochMilliseconds: realtimeMilliseconds() - age)
            if dryRun {
                let count = try tasks.countEvents(before: cutoff)
                context.stdout.write("\(count) event\(count == 1 ? "" : "s") recorded before \(cutoff) would be deleted\n")
                return .success
            }
            var archived = 0
            var file: Int32 = -1
            var archivePath: String?
            defer { if file >= 0 { close(file) } }
            let deleted = try tasks.deleteEvents(recordedBefore: cutoff, keep: { batch in
                guard let archive else { return }
                if file < 0 {
                    try SQLResourceStore.createDirectory(archive, what: "archive directory")
                    let path = archive + "/events-" + String(cutoff.map { $0 == ":" ? "-" : $0 }) + ".jsonl"
                    file = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
                    guard file >= 0 else { throw UsageError("cannot write the archive \(path): \(errnoDescription(errno))") }
                    archivePath = path
                }
                var bytes: [UInt8] = []
                for event in batch { bytes += Array((JSONWriter(pretty: false).string(event.json) + "\n").utf8) }
                // Synced before the batch is deleted: a crash in between loses nothing.
                guard writeFully(file, bytes) == nil, fsync(file) == 0 else {
                    throw UsageError("cannot write the archive \(archivePath ?? archive): \(errnoDescription(errno)); nothing more was deleted")
                }
                archived += batch.count
            })
            let where_ = archivePath.map { ", archived to \($0) (\(archived))" } ?? ""
            context.stdout.write("\(deleted) event\(deleted == 1 ? "" : "s") recorded before \(cutoff) deleted\(where_)\n")
            return .success
        }
    }
}
