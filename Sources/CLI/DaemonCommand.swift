import Control
import JSON
import Store

import Platform

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `orchestrator daemon start|stop|status|maintenance`: the daemon that serves the data
/// directory (docs/daemon.md). These commands always run in the client.
enum DaemonCommand: CommandGroup {
    static let name = "daemon"
    static let summary = "start, stop and inspect the daemon of the data directory; maintenance mode"
    static let discussion = """
        `start` runs `orchestratord` (the executable next to this one) for the data directory:
        detached by default, attached with --foreground. While a daemon serves the data
        directory, every other command is sent to it and prints what it answers; without one,
        commands run embedded in this process. `--verbose` on any command says which.
        """
    static let subcommands: [any CommandEntry.Type] = [
        DaemonStartCommand.self, DaemonStopCommand.self, DaemonRestartCommand.self, DaemonStatusCommand.self, DaemonListCommand.self,
        DaemonMaintenanceCommand.self,
    ]

    /// The `orchestratord` executable: `$ORCHESTRATORD` when set, else the one beside the running
    /// `orchestrator` (resolved through /proc/self/exe, so a symlink on PATH still finds it).
    static func executable(context: CommandContext) -> String {
        if let chosen = context.environment["ORCHESTRATORD"], !chosen.isEmpty {
            return DataDirectory.absolute(chosen, base: context.absoluteDirectory)
        }
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        var running = count > 0
            ? String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            : DataDirectory.absolute(CommandLine.arguments.first ?? "orchestrator", base: DataDirectory.workingDirectory())
        if let slash = running.lastIndex(of: "/") { running = String(running[..<slash]) }
        return running + "/orchestratord"
    }

    /// `DATA (from ORIGIN)`, as every daemon command names the directory.
    static func describe(_ location: DataDirectory.Location) -> String {
        "\(location.path) (from \(location.origin.rawValue))"
    }
}

struct DaemonStartCommand: Command {
    static let name = "start"
    static let summary = "start orchestratord for the data directory; returns once it serves"
    static let usage = """
        Usage: orchestrator daemon start [--workers N] [--foreground] [--drain-timeout S] [--data-dir DIR]

        Runs the `orchestratord` beside this executable (or $ORCHESTRATORD) for the data directory.
        Detached, it returns once the daemon's socket accepts and prints its PID; with --foreground
        this process becomes the daemon (for services and terminals). Exit 2 when a daemon
        already serves the directory (its PID is named).
        """
    var workers: Int?
    var foreground = false
    var drainTimeout: String?
    var dataDirectory: String?

    static var options: [Option<Self>] {
        [
            .integer(\.workers, "--workers", value: "N", help: "tasks run at once, 1 to 256 (default 1)"),
            .flag(\.foreground, "--foreground", help: "stay attached and log to stderr instead of DATA/daemon.log"),
            .value(\.drainTimeout, "--drain-timeout", value: "S", help: "on stop, how long running work may finish: 30, 30s, 500ms (default 30s)"),
            .dataDirectory(\.dataDirectory),
        ]
    }

    func run(context: CommandContext) -> ExitStatus {
        let location = DataDirectory.locate(dataDirectory, context: context)
        let executable = DaemonCommand.executable(context: context)
        guard access(executable, X_OK) == 0 else {
            Orchestrator.reportUsage(
                UsageError(
                    "cannot run the daemon executable \(executable)",
                    help: "install `orchestratord` beside `orchestrator` (swift build builds both), or name it with $ORCHESTRATORD"),
                context: context)
            return .usage
        }
        var arguments: [String] = []
        if let workers { arguments += ["--workers", String(workers)] }
        if let drainTimeout { arguments += ["--drain-timeout", drainTimeout] }
        if foreground {
            // This process becomes the daemon: signals from a service manager reach it directly.
            let argv = [executable, "--foreground", "--data-dir", location.path] + arguments
            var pointers: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
            execv(executable, &pointers)
            let code = errno
            for pointer in pointers { free(pointer) }
            context.stderr.write("orchestrator: error: cannot run \(executable): \(errnoDescription(code))\n")
            return .internalError
        }
        switch DaemonControl.start(executable: executable, dataDirectory: location.path, arguments: arguments) {
        case .started(let status):
            context.stdout.write(
                "daemon started for \(location.path) (PID \(status.pid), incarnation \(status.incarnation), "
                    + "\(status.workers) worker\(status.workers == 1 ? "" : "s")); log: \(DaemonLog(dataDirectory: location.path).path)\n")
            return .success
        case .failed(let status, let message):
            context.stderr.write(message.hasSuffix("\n") ? message : message + "\n")
            return ExitStatus(rawValue: status) ?? .internalError
        }
    }
}

struct DaemonStopCommand: Command {
    static let name = "stop"
    static let summary = "stop the daemon: it drains running work, then exits"
    static let usage = """
        Usage: orchestrator daemon stop [--timeout S] [--data-dir DIR]

        Asks the daemon to stop (it stops accepting, lets running work finish up to its drain
        timeout, removes its socket) and waits for its process to end; after --timeout it sends
        SIGTERM and waits 10 s more. Exit 0 when it stopped or none was running, 1 when it is
        still running.
        """
    var timeout: DurationText?
    var dataDirectory: String?

    static var options: [Option<Self>] {
        [
            .duration(\.timeout, "--timeout", help: "how long to wait before SIGTERM; more than the daemon's drain timeout (default 40s)"),
            .dataDirectory(\.dataDirectory),
        ]
    }

    func run(context: CommandContext) -> ExitStatus {
        let location = DataDirectory.locate(dataDirectory, context: context)
        let seconds = timeout?.seconds ?? 40
        switch DaemonControl.stop(dataDirectory: location.path, timeoutSeconds: seconds) {
        case .notRunning:
            context.stdout.write("no daemon is running for \(location.path)\n")
            return .success
        case .stopped(let pid, let bySignal):
            context.stdout.write("daemon stopped (PID \(pid)\(bySignal ? ", after SIGTERM" : ""))\n")
            return .success
        case .stillRunning(let pid):
            context.stderr.write(
                "orchestrator: error: the daemon (PID \(pid)) is still running after the stop request and SIGTERM\n"
                    + "  = help: look at \(DaemonLog(dataDirectory: location.path).path); `kill -9 \(pid)` loses nothing the store recorded\n")
            return .findings
        }
    }

}

struct DaemonRestartCommand: Command {
    static let name = "restart"
    static let summary = "re-execute the daemon in place (same PID, lock and socket), e.g. after a rebuild"
    static let usage = """
        Usage: orchestrator daemon restart [--binary PATH] [--timeout S] [--data-dir DIR]

        The daemon checks the new binary (its own executable's path, or --binary) with `--help`,
        keeps the running one as DATA/bin/orchestratord.stable, lets running tasks reach a step
        boundary (they pause and the new incarnation resumes them), and executes it in place:
        the same PID, lock and socket, incarnation + 1 (docs/daemon.md, "Self-restart in place").
        Waits until the new incarnation serves (--timeout, default 90s). Exit 0 when it does, 1
        when the daemon refused (the binary failed its check) or did not come back in time.
        """
    var binary: String?
    var timeout: DurationText?
    var dataDirectory: String?

    static var options: [Option<Self>] {
        [
            .value(\.binary, "--binary", value: "PATH", help: "the executable to run (default: the daemon's own path, rebuilt or not)"),
            .duration(\.timeout, "--timeout", help: "how long to wait for the new incarnation (default 90s)"),
            .dataDirectory(\.dataDirectory),
        ]
    }

    func run(context: CommandContext) -> ExitStatus {
        let location = DataDirectory.locate(dataDirectory, context: context)
        let seconds = timeout?.seconds ?? 90
        var args: [(key: String, value: JSONValue)] = []
        if let binary { args.append(("binary", .string(DataDirectory.absolute(binary, base: context.absoluteDirectory)))) }
        let answer: JSONValue
        do throws(ControlClientError) {
            answer = try ControlClient(dataDirectory: location.path, timeoutSeconds: 120).request(DaemonVerb.restart.rawValue, args: .object(args))
        } catch {
            if case .noDaemon = error {
                context.stderr.write("orchestrator: error: no daemon is running for \(location.path); nothing to restart\n  = help: `orchestrator daemon start`\n")
            } else {
                context.stderr.write("orchestrator: error: the daemon did not restart: \(error)\n")
            }
            return .findings
        }
        let before = answer["incarnation"]?.intValue ?? 0
        let pid = answer["pid"]?.intValue ?? 0
        let deadline = monotonicMilliseconds() + Int64(seconds * 1000)
        while monotonicMilliseconds() < deadline {
            if case .success(let status) = DaemonControl.status(dataDirectory: location.path, timeoutSeconds: 2), status.incarnation > before,
                status.binarySHA256 != nil
            {
                let old = answer["previous_sha256"]?.stringValue ?? ""
                let new = status.binarySHA256 ?? ""
                context.stdout.write(
                    "daemon restarted in place (PID \(status.pid)\(Int64(status.pid) == pid ? "" : ", was \(pid)"), incarnation \(before) -> \(status.incarnation)); binary \(new.prefix(12))\(old == new ? " (unchanged)" : ", was \(old.prefix(12))")\n")
                return .success
            }
            usleep(100_000)
        }
        context.stderr.write(
            "orchestrator: error: the daemon (PID \(pid)) did not serve again within \(Int(seconds)) s\n  = help: see \(DaemonLog(dataDirectory: location.path).path)\n")
        return .findings
    }
}

/// `daemon list`: every runner registered on the store (daemons, and foreground runners of a
/// shared store), with its lease (docs/scale-out.md).
struct DaemonListCommand: Command {
    static let name = "list"
    static let summary = "the daemons (and foreground runners) on the store, their hosts and leases"
    static let usage = """
        Usage: orchestrator daemon list [-o text|json] [--data-dir DIR] [--store URL]

        Every runner registered on the store: its id, kind (daemon or foreground), host, pid,
        the workspaces and labels it serves, its last heartbeat and whether its lease holds. On a
        shared PostgreSQL store (--store, $ORCHESTRATOR_STORE) these are the daemons of every
        machine. A runner whose lease has expired is gone; its tasks go to the others. Exit 0.
        """
    var output = TextOrJSON.text
    var dataDirectory: String?

    static var options: [Option<Self>] { [.output(\.output), .dataDirectory(\.dataDirectory)] }

    func run(context: CommandContext) -> ExitStatus {
        runStoreCommand(context) {
            let runners = try DataDirectory.openExisting(dataDirectory, context: context).taskStore().runners()
            if output == .json {
                let rows: [JSONValue] = runners.map { runner in
                    .object([
                        ("id", .string(runner.id)), ("kind", .string(runner.kind.rawValue)), ("host", .string(runner.host)),
                        ("pid", .int(Int64(runner.pid))), ("data_dir", .string(runner.dataDirectory)),
                        ("workspaces", .array(runner.workspaces.map { .string($0) })),
                        ("labels", .object(runner.labels.map { ($0.name, .string($0.value)) })), ("started_at", .string(runner.startedAt)),
                        ("heartbeat_age_ms", .int(runner.heartbeatAgeMilliseconds)), ("lease_alive", .bool(runner.leaseAlive)),
                    ])
                }
                context.stdout.write(JSONWriter().string(.array(rows)) + "\n")
                return .success
            }
            guard !runners.isEmpty else {
                context.stdout.write("no runner is registered on the store (no daemon runs, and no task runs in the foreground)\n")
                return .success
            }
            var rows = [["RUNNER", "KIND", "HOST", "PID", "SERVES", "HEARTBEAT", "LEASE"]]
            for runner in runners {
                let serves = (runner.workspaces.isEmpty ? ["every workspace"] : runner.workspaces)
                    + runner.labels.map { $0.name + "=" + $0.value }
                rows.append([
                    runner.id, runner.kind.rawValue, runner.host, String(runner.pid), serves.joined(separator: " "),
                    "\(runner.heartbeatAgeMilliseconds / 1000) s ago", runner.leaseAlive ? "holds" : "expired",
                ])
            }
            context.stdout.write(TaskCommand.table(rows))
            return .success
        }
    }
}

struct DaemonStatusCommand: Command {
    static let name = "status"
    static let summary = "which mode commands run in: the daemon (PID, incarnation, workers) or embedded"
    static let usage = """
        Usage: orchestrator daemon status [-o text|json] [--data-dir DIR]

        Says which data directory is in use and whether a daemon serves it (its PID, incarnation,
        workers, binary) or commands run embedded. Exit 0 either way.
        """
    var output = TextOrJSON.text
    var dataDirectory: String?

    static var options: [Option<Self>] { [.output(\.output), .dataDirectory(\.dataDirectory)] }

    func run(context: CommandContext) -> ExitStatus {
        let location = DataDirectory.locate(dataDirectory, context: context)
        let maintenance = MaintenanceMode.enabledSince(dataDirectory: location.path)
        switch DaemonControl.status(dataDirectory: location.path) {
        case .success(let status):
            if output == .json {
                context.stdout.write(JSONWriter().string(.object([
                    ("mode", .string("daemon")), ("data_dir", .string(location.path)), ("data_dir_origin", .string(location.origin.rawValue)),
                    ("daemon", status.json),
                ])) + "\n")
                return .success
            }
            var text = "data directory: \(DaemonCommand.describe(location))\n"
            text += "mode: daemon (PID \(status.pid), incarnation \(status.incarnation), \(status.workers) worker\(status.workers == 1 ? "" : "s"), \(status.state.rawValue))\n"
            text += "version: orchestratord \(status.version), up \(Int(status.uptimeSeconds)) s\n"
            text += "maintenance: " + (status.maintenance ? "on (since \(maintenance ?? "now"))" : "off") + "\n"
            if let sha = status.binarySHA256 { text += "binary sha256: \(sha)\n" }
            if let previous = status.previousBinarySHA256 { text += "previous binary sha256: \(previous)\n" }
            if let store = status.store { text += "store: \(store) (shared: docs/scale-out.md)\n" }
            if let runner = status.runner { text += "runner: \(runner) on \(status.host ?? "this host")\n" }
            context.stdout.write(text)
            return .success
        case .failure(let error):
            let reason: String
            if case .noDaemon = error {
                reason = "no daemon is running for \(location.path); commands run embedded"
            } else {
                reason = "the daemon of \(location.path) does not answer (\(error)); commands run embedded"
            }
            if output == .json {
                context.stdout.write(JSONWriter().string(.object([
                    ("mode", .string("embedded")), ("data_dir", .string(location.path)), ("data_dir_origin", .string(location.origin.rawValue)),
                    ("reason", .string(reason)), ("maintenance", .bool(maintenance != nil)),
                ])) + "\n")
                return .success
            }
            context.stdout.write(
                "data directory: \(DaemonCommand.describe(location))\nmode: embedded: \(reason)\n"
                    + "maintenance: " + (maintenance.map { "on (since \($0))" } ?? "off") + "\n")
            return .success
        }
    }
}

struct DaemonMaintenanceCommand: Command {
    static let name = "maintenance"
    static let summary = "refuse new tasks while running ones continue (--enable/--disable)"
    static let usage = """
        Usage: orchestrator daemon maintenance [--enable|--disable] [--data-dir DIR]

        While maintenance mode is on, commands that create tasks (`task create`, `run`) are
        refused with an error naming it; running tasks continue. The mode is kept in
        DATA/maintenance.json, so it holds across daemon restarts and in embedded mode. Without
        --enable or --disable, prints whether it is on.
        """
    enum Change: String, Sendable { case show, enable, disable }
    var change = Change.show
    var dataDirectory: String?

    static var options: [Option<Self>] {
        [
            .set(\.change, to: .enable, "--enable", help: "turn maintenance mode on"),
            .set(\.change, to: .disable, "--disable", help: "turn maintenance mode off"),
            .dataDirectory(\.dataDirectory),
        ]
    }

    func run(context: CommandContext) -> ExitStatus {
        let location = DataDirectory.locate(dataDirectory, context: context)
        if change != .show {
            let enable = change == .enable
            // The file is the truth: the daemon reads it, so it holds with or without one.
            let done = false
            if !done {
                guard DataDirectory.isDirectory(location.path) else {
                    Orchestrator.reportUsage(DataDirectory.missing(location), context: context)
                    return .usage
                }
                do throws(ControlFailure) {
                    try MaintenanceMode.set(enable, dataDirectory: location.path)
                } catch {
                    context.stderr.write("orchestrator: error: \(error)\n")
                    return .internalError
                }
            }
        }
        let since = MaintenanceMode.enabledSince(dataDirectory: location.path)
        context.stdout.write(
            "maintenance mode: " + (since.map { "on since \($0): new tasks are refused, running ones continue" } ?? "off")
                + " (\(location.path))\n")
        return .success
    }
}

extension DaemonCommand {
    /// The usage error of a command that would create a task while maintenance mode is on; nil when off.
    static func maintenanceRefusal(_ dataDirectory: String) -> UsageError? {
        guard let since = MaintenanceMode.enabledSince(dataDirectory: dataDirectory) else { return nil }
        return UsageError(MaintenanceMode.refusal(dataDirectory: dataDirectory, since: since), help: MaintenanceMode.refusalHelp)
    }
}
