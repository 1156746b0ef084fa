import Control
import JSON

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
        DaemonStartCommand.self, DaemonStopCommand.self, DaemonStatusCommand.self, DaemonMaintenanceCommand.self,
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
    var timeout: String?
    var dataDirectory: String?

    static var options: [Option<Self>] {
        [
            .value(\.timeout, "--timeout", value: "S", help: "how long to wait before SIGTERM; more than the daemon's drain timeout (default 40s)"),
            .dataDirectory(\.dataDirectory),
        ]
    }

    func run(context: CommandContext) -> ExitStatus {
        let location = DataDirectory.locate(dataDirectory, context: context)
        var seconds = 40.0
        if let timeout {
            guard let parsed = Self.seconds(timeout) else {
                Orchestrator.reportUsage(UsageError("`--timeout` takes a duration such as 40, 40s or 2m, not `\(timeout)`"), context: context)
                return .usage
            }
            seconds = parsed
        }
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

    /// `40`, `40s`, `500ms`, `2m` → seconds.
    static func seconds(_ text: String) -> Double? {
        for (suffix, scale) in [("ms", 0.001), ("s", 1.0), ("m", 60.0)] where text.hasSuffix(suffix) {
            guard let number = Double(text.dropLast(suffix.count)), number.isFinite, number >= 0 else { return nil }
            return number * scale
        }
        guard let number = Double(text), number.isFinite, number >= 0 else { return nil }
        return number
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
