import CLI
import Dashboard
import Diagnostics
import Store

/// A bad command line: exit 2 with the message and a hint.
public struct DaemonUsageError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public var help: String?

    public init(_ message: String, help: String? = nil) {
        self.message = message
        self.help = help
    }

    public var description: String { help.map { "\(message)\n  help: \($0)" } ?? message }
}

/// `orchestratord [--foreground] [--workers N] [--data-dir DIR] [--drain-timeout S]`.
public struct DaemonOptions: Sendable, Equatable {
    public enum Mode: Sendable, Equatable {
        /// Serve the data directory (the default).
        case serve
        case help
        case version
        /// Send one request to the running daemon and print the answer (`--request VERB`).
        case request(verb: String, args: String?)
        /// `--check-start`: go through start-up as far as serving without serving (a rebuilt
        /// binary is tried this way before a restart in place).
        case checkStart
    }

    public var mode: Mode = .serve
    public var foreground = false
    public var workers = 1
    /// Absolute.
    public var dataDirectory: String
    public var drainTimeoutSeconds: Double = 30
    /// Retention, swept hourly (0: keep): events and step logs 30 days, finished tasks kept.
    public var eventRetentionDays = 30
    public var logRetentionDays = 30
    public var taskRetentionDays = 0
    /// `--webhook-bind ADDR:PORT`: where webhook triggers listen (nil: 127.0.0.1:8787, and only
    /// once a webhook Trigger is applied); `off`: never.
    public var webhookAddress: String?
    public var webhookPort: UInt16?
    public var webhookDisabled = false
    /// `--http ADDR:PORT`: where the web dashboard listens (a loopback address; nil: no dashboard).
    public var httpAddress: String?
    public var httpPort: UInt16?
    /// `--trigger-clock FILE`: the triggers' clock read from a file (seconds since the epoch), for
    /// tests and dry runs of schedules; nil: the system clock.
    public var triggerClockFile: String?
    /// `--store URL` (or `$ORCHESTRATOR_STORE`): a shared PostgreSQL store (docs/scale-out.md);
    /// nil: the SQLite database in the data directory.
    public var store: StoreLocation?
    /// `--lease-timeout S`: how long this daemon's claims last without a heartbeat.
    public var leaseSeconds: Double = LeaseRequest.defaultLeaseSeconds
    /// `--serve-workspace NAME` (repeatable): the workspaces whose tasks this daemon takes; empty: all.
    public var servedWorkspaces: [String] = []
    /// `--label k=v` (repeatable): what this daemon offers to tasks created with `--runs-on k=v`.
    public var labels: [(name: String, value: String)] = []

    public static func == (lhs: DaemonOptions, rhs: DaemonOptions) -> Bool {
        lhs.mode == rhs.mode && lhs.foreground == rhs.foreground && lhs.workers == rhs.workers && lhs.dataDirectory == rhs.dataDirectory
            && lhs.drainTimeoutSeconds == rhs.drainTimeoutSeconds && lhs.eventRetentionDays == rhs.eventRetentionDays
            && lhs.logRetentionDays == rhs.logRetentionDays && lhs.taskRetentionDays == rhs.taskRetentionDays
            && lhs.webhookAddress == rhs.webhookAddress && lhs.webhookPort == rhs.webhookPort && lhs.webhookDisabled == rhs.webhookDisabled
            && lhs.httpAddress == rhs.httpAddress && lhs.httpPort == rhs.httpPort && lhs.triggerClockFile == rhs.triggerClockFile
            && lhs.store == rhs.store && lhs.leaseSeconds == rhs.leaseSeconds && lhs.servedWorkspaces == rhs.servedWorkspaces
            && lhs.labels.map { $0.name + "=" + $0.value } == rhs.labels.map { $0.name + "=" + $0.value }
    }

    /// What this daemon registers its lease with.
    public var leaseRequest: LeaseRequest {
        LeaseRequest(kind: .daemon, dataDirectory: dataDirectory, workspaces: servedWorkspaces, labels: labels, leaseSeconds: leaseSeconds)
    }

    public static let defaultDataDirectory = ".orchestrator"
    public static let maxWorkers = 256

    public init(dataDirectory: String) {
        self.dataDirectory = dataDirectory
    }

    /// The words the daemon was started with that matter to a new incarnation (self-restart).
    public var serveArguments: [String] {
        var words = [
            "--data-dir", dataDirectory, "--workers", String(workers), "--drain-timeout", DaemonOptions.format(drainTimeoutSeconds),
            "--event-retention-days", String(eventRetentionDays), "--log-retention-days", String(logRetentionDays),
            "--task-retention-days", String(taskRetentionDays),
        ]
        if foreground { words.insert("--foreground", at: 0) }
        if webhookDisabled {
            words += ["--webhook-bind", "off"]
        } else if let webhookPort {
            words += ["--webhook-bind", "\(webhookAddress ?? "127.0.0.1"):\(webhookPort)"]
        }
        if let triggerClockFile { words += ["--trigger-clock", triggerClockFile] }
        if let httpAddress, let httpPort { words += ["--http", "\(httpAddress):\(httpPort)"] }
        // (`--store` is left out: a URI may hold a password, never put on a command line here.)
        if leaseSeconds != LeaseRequest.defaultLeaseSeconds { words += ["--lease-timeout", DaemonOptions.format(leaseSeconds)] }
        for workspace in servedWorkspaces { words += ["--serve-workspace", workspace] }
        for label in labels { words += ["--label", label.name + "=" + label.value] }
        return words
    }

    public static let usage = """
        usage: orchestratord [--foreground] [--workers N] [--data-dir DIR] [--drain-timeout S]
                             [--event-retention-days D] [--log-retention-days D] [--task-retention-days D]
                             [--webhook-bind ADDR:PORT|off] [--trigger-clock FILE] [--http ADDR:PORT]
                             [--store postgres://USER@HOST:PORT/DB] [--lease-timeout S]
                             [--serve-workspace NAME]... [--label K=V]...
               orchestratord --request VERB [--args JSON] [--data-dir DIR]

        Serves one data directory on DATA/orchestrator.sock (docs/daemon.md, docs/protocol.md).

          --foreground        stay attached: log to stderr, stop on SIGTERM/SIGINT (for services and tests);
                              without it the daemon detaches, logs to DATA/daemon.log and this command
                              returns once the socket accepts
          --workers N         tasks run at once (default 1)
          --data-dir DIR      the data directory (default $ORCHESTRATOR_DATA_DIR, else ./.orchestrator)
          --drain-timeout S   on stop, how long running steps may finish: 30, 30s, 500ms (default 30s)
          --event-retention-days D   delete events older than D days, hourly (default 30; 0 keeps them)
          --log-retention-days D     delete the step logs of tasks finished D days ago (default 30; 0 keeps)
          --task-retention-days D    delete tasks finished D days ago with their history (default 0: keep)
          --webhook-bind ADDR:PORT   where webhook Triggers listen (default 127.0.0.1:8787, started only
                              once a webhook Trigger is applied; port 0 picks a free one; `off`: never)
          --http ADDR:PORT    serve the read-only web dashboard on this loopback address (127.0.0.1:8080;
                              port 0 picks a free one): a token is printed and written to DATA/dashboard.json
                              (docs/dashboard.md); off by default, other addresses are refused
          --trigger-clock FILE       read the triggers' clock from FILE (seconds since the epoch) instead
                              of the system clock: for tests and dry runs of schedules
          --store URL         share a PostgreSQL database with other daemons (default $ORCHESTRATOR_STORE,
                              else the SQLite database in DIR); docs/scale-out.md
          --lease-timeout S   how long this daemon's claims on tasks last without a heartbeat (default 30s);
                              another daemon takes the tasks of one silent for longer
          --serve-workspace NAME     take only tasks of this workspace (repeatable; default: every workspace)
          --label K=V         a label this daemon offers (repeatable): a task created with --runs-on K=V
                              is taken only by a daemon with every such label
          --check-start       check that this binary can start on DIR (options, data directory, database
                              schema) and exit: what a restart in place tries before it executes it
          --request VERB      send one request to the running daemon and print the answer lines
          --args JSON         the request's args object (with --request)
          --help, --version

        Exit status: 0 ok, 1 the daemon answered with an error or none runs (--request),
        2 usage error or another daemon already serves DIR, 3 internal error.

        """

    /// Reads the command line. Relative data directories are taken from `currentDirectory`.
    public static func parse(
        _ arguments: [String], environment: [String: String], currentDirectory: String
    ) throws(DaemonUsageError) -> DaemonOptions {
        var options = DaemonOptions(dataDirectory: "")
        var dataDirectory: String?
        var requestVerb: String?
        var requestArgs: String?
        var index = 0
        let known = [
            "--foreground", "--workers", "--data-dir", "--drain-timeout", "--event-retention-days", "--log-retention-days",
            "--task-retention-days", "--webhook-bind", "--trigger-clock", "--http", "--request", "--args", "--check-start", "--help", "--version",
            "--store", "--lease-timeout", "--serve-workspace", "--label",
        ]

        func value(_ flag: String, inline: String?) throws(DaemonUsageError) -> String {
            if let inline { return inline }
            index += 1
            guard index < arguments.count else { throw DaemonUsageError("`\(flag)` needs a value", help: "see `orchestratord --help`") }
            return arguments[index]
        }

        while index < arguments.count {
            let word = arguments[index]
            var flag = word
            var inline: String?
            if word.hasPrefix("--"), let equals = word.firstIndex(of: "=") {
                flag = String(word[..<equals])
                inline = String(word[word.index(after: equals)...])
            }
            switch flag {
            case "--foreground" where inline == nil: options.foreground = true
            case "--help", "-h": options.mode = .help
            case "--version": options.mode = .version
            case "--check-start" where inline == nil: options.mode = .checkStart
            case "--workers":
                let text = try value(flag, inline: inline)
                guard let count = Int(text), (1...maxWorkers).contains(count) else {
                    throw DaemonUsageError("`--workers` takes a whole number from 1 to \(maxWorkers), not `\(text)`", help: "e.g. --workers 2")
                }
                options.workers = count
            case "--data-dir":
                let text = try value(flag, inline: inline)
                guard !text.isEmpty else { throw DaemonUsageError("`--data-dir` needs a directory", help: "e.g. --data-dir .orchestrator") }
                dataDirectory = text
            case "--drain-timeout":
                let text = try value(flag, inline: inline)
                guard let seconds = duration(text) else {
                    throw DaemonUsageError("`--drain-timeout` takes a duration such as 30, 30s or 500ms, not `\(text)`")
                }
                options.drainTimeoutSeconds = seconds
            case "--event-retention-days", "--log-retention-days", "--task-retention-days":
                let text = try value(flag, inline: inline)
                guard let days = Int(text), (0...36_500).contains(days) else {
                    throw DaemonUsageError("`\(flag)` takes a number of days from 0 (keep) to 36500, not `\(text)`", help: "e.g. \(flag) 30")
                }
                switch flag {
                case "--event-retention-days": options.eventRetentionDays = days
                case "--log-retention-days": options.logRetentionDays = days
                default: options.taskRetentionDays = days
                }
            case "--webhook-bind":
                let text = try value(flag, inline: inline)
                if text == "off" {
                    options.webhookDisabled = true
                    options.webhookPort = nil
                } else {
                    guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]),
                        text[..<colon] == "127.0.0.1" || text[..<colon] == "localhost"
                    else {
                        throw DaemonUsageError(
                            "`--webhook-bind` takes 127.0.0.1:PORT or `off`, not `\(text)`",
                            help: "webhooks listen on the loopback interface only; put a reverse proxy in front to receive from outside")
                    }
                    options.webhookAddress = "127.0.0.1"
                    options.webhookPort = port
                    options.webhookDisabled = false
                }
            case "--http":
                let text = try value(flag, inline: inline)
                guard let (address, port) = DashboardAccess.loopback(text) else {
                    throw DaemonUsageError(
                        "`--http` takes a loopback address and port such as 127.0.0.1:8080, not `\(text)`",
                        help: "the dashboard is served on the loopback interface only (127.0.0.0/8 or localhost); reach it from elsewhere through an SSH tunnel")
                }
                options.httpAddress = address
                options.httpPort = port
            case "--trigger-clock":
                let text = try value(flag, inline: inline)
                guard !text.isEmpty else { throw DaemonUsageError("`--trigger-clock` needs a file") }
                options.triggerClockFile = text.hasPrefix("/") ? text : currentDirectory + "/" + text
            case "--store":
                let text = try value(flag, inline: inline)
                guard let location = StoreLocation(text) else {
                    throw DaemonUsageError(
                        "`--store` takes a PostgreSQL URI such as postgres://orchestrator@db.example:5432/orchestrator, not `\(PostgresConnection.redacted(text))`",
                        help: "without --store the SQLite database in the data directory is used")
                }
                options.store = location
            case "--lease-timeout":
                let text = try value(flag, inline: inline)
                guard let seconds = duration(text), seconds >= 0.3 else {
                    throw DaemonUsageError("`--lease-timeout` takes a duration of at least 300ms such as 30s, not `\(text)`")
                }
                options.leaseSeconds = seconds
            case "--serve-workspace":
                let text = try value(flag, inline: inline)
                guard !text.isEmpty else { throw DaemonUsageError("`--serve-workspace` needs a workspace name") }
                options.servedWorkspaces.append(text)
            case "--label":
                let text = try value(flag, inline: inline)
                guard let equals = text.firstIndex(of: "="), equals != text.startIndex else {
                    throw DaemonUsageError("`--label` takes KEY=VALUE, not `\(text)`", help: "e.g. --label gpu=true")
                }
                options.labels.append((String(text[..<equals]), String(text[text.index(after: equals)...])))
            case "--request": requestVerb = try value(flag, inline: inline)
            case "--args": requestArgs = try value(flag, inline: inline)
            default:
                if word.hasPrefix("-") {
                    let suggestion = Suggestions.closest(to: flag, in: known)
                    throw DaemonUsageError(
                        "unknown option `\(word)`", help: suggestion.map { "did you mean `\($0)`?" } ?? "see `orchestratord --help`")
                }
                throw DaemonUsageError("orchestratord takes no arguments, but was given `\(word)`", help: "see `orchestratord --help`")
            }
            index += 1
        }
        if let requestVerb {
            if options.mode == .serve { options.mode = .request(verb: requestVerb, args: requestArgs) }
        } else if requestArgs != nil {
            throw DaemonUsageError("`--args` goes with `--request VERB`", help: "e.g. orchestratord --request status --args '{}'")
        }
        if options.store == nil, let chosen = environment[StoreLocation.environmentVariable], !chosen.isEmpty {
            guard let location = StoreLocation(chosen) else {
                throw DaemonUsageError(
                    "$\(StoreLocation.environmentVariable) must be a PostgreSQL URI such as postgres://orchestrator@db.example:5432/orchestrator, not `\(PostgresConnection.redacted(chosen))`")
            }
            options.store = location
        }
        let chosen = dataDirectory ?? environment["ORCHESTRATOR_DATA_DIR"].flatMap { $0.isEmpty ? nil : $0 } ?? defaultDataDirectory
        options.dataDirectory = normalize(chosen.hasPrefix("/") ? chosen : currentDirectory + "/" + chosen)
        return options
    }

    /// `30`, `30s`, `1.5s`, `500ms`, `2m` → seconds; nil for anything else (negative included).
    /// A duration as `--drain-timeout` takes it (the CLI's one parser; a bare number is seconds).
    public static func duration(_ text: String) -> Double? { DurationText(text)?.seconds }

    static func format(_ seconds: Double) -> String {
        seconds == seconds.rounded() ? "\(Int(seconds))s" : "\(Int((seconds * 1000).rounded()))ms"
    }

    /// Removes `.` and empty components and resolves `..` lexically, so the socket path is short
    /// and the same daemon is recognised whichever way the directory was spelt.
    static func normalize(_ path: String) -> String {
        var parts: [Substring] = []
        for part in path.split(separator: "/") {
            if part == "." { continue }
            if part == ".." {
                if !parts.isEmpty { parts.removeLast() }
                continue
            }
            parts.append(part)
        }
        return "/" + parts.joined(separator: "/")
    }
}
