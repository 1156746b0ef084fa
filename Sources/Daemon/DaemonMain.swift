import Automation
import CLI
import Control
import Dashboard
import JSON
import Platform
import Runner
import Store
import Triggers

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The `orchestratord` command: the executable only hands it the process's arguments.
public enum DaemonMain {
    /// How long a detached start waits for the daemon's socket.
    public static let startTimeoutSeconds = 30.0

    public static func main(_ arguments: [String]) -> Int32 {
        let options: DaemonOptions
        do throws(DaemonUsageError) {
            options = try DaemonOptions.parse(arguments, environment: processEnvironment(), currentDirectory: currentDirectory())
        } catch {
            printError("orchestratord: error: \(error)")
            return 2
        }
        switch options.mode {
        case .help:
            printOut(DaemonOptions.usage)
            return 0
        case .version:
            printOut("orchestratord \(DaemonRuntime.version) (protocol \(ControlProtocol.version))\n")
            return 0
        case .request(let verb, let args):
            return request(verb, args: args, dataDirectory: options.dataDirectory)
        case .checkStart:
            return checkStart(options)
        case .serve:
            break
        }
        // A restart in place: the previous incarnation of this process handed over its lock and
        // socket and is gone; this binary serves on (never detaching again: it already is).
        if let text = getenv(DaemonHandover.variable).map({ String(cString: $0) }) {
            unsetenv(DaemonHandover.variable)
            if let handover = DaemonHandover(text: text) {
                return serve(DaemonRuntime(options: options, logsToFile: !options.foreground, handover: handover), reporter: nil)
            }
            printError("orchestratord: warning: ignoring a malformed \(DaemonHandover.variable) (`\(text)`); starting afresh\n")
        }
        if options.foreground {
            return serve(DaemonRuntime(options: options, logsToFile: false), reporter: nil)
        }
        let role: Detach.Role
        do throws(ControlFailure) {
            role = try Detach.detach()
        } catch {
            printError("orchestratord: error: \(error)")
            return 3
        }
        switch role {
        case .daemon(let reporter):
            return serve(DaemonRuntime(options: options, logsToFile: true), reporter: reporter)
        case .launcher(let waiter):
            return awaitDaemon(waiter, options: options)
        }
    }

    /// Runs the daemon with its worker pool: the pool starts once the daemon holds the lock and
    /// serves, and drains when it stops.
    static func serve(_ runtime: DaemonRuntime, reporter: ReadinessReporter?) -> Int32 {
        let pool = WorkerPool(
            dataDirectory: runtime.options.dataDirectory, store: runtime.options.store, lease: runtime.options.leaseRequest,
            workers: runtime.options.workers, environment: processEnvironment(), say: { [runtime] in runtime.say($0) })
        pool.onLeaseLost = { [runtime] in runtime.requestStop("its lease on the store was lost", status: 3) }
        let sweeper = RetentionSweeper(options: runtime.options, say: { [runtime] in runtime.say($0) })
        let triggers = Locked<TriggerEngine?>(nil)
        let dashboard = Locked<DashboardService?>(nil)
        pool.onRestart = { [runtime] request, taskID in runtime.requestRestart(request, reason: "task \(taskID) rebuilt the daemon") }
        // `orchestrator daemon restart`: the same restart in place, asked for by hand.
        runtime.server.handle(DaemonVerb.restart.rawValue) { [runtime] request, peer throws(ControlError) in
            guard let executable = SelfRestartHost.currentExecutable() else {
                throw ControlError(.internalError, "the daemon cannot find its own executable (/proc/self/exe)")
            }
            var binary = executable
            switch request.args["binary"] {
            case nil, .null?: break
            case .string(let path)? where path.hasPrefix("/"): binary = path
            default: throw ControlError(.invalidArguments, "`binary` must be an absolute path", help: "see docs/protocol.md, verb `restart`")
            }
            let host = SelfRestartHost(executable: executable, stableDirectory: runtime.options.dataDirectory + "/bin")
            switch host.restartRequest(to: binary) {
            case .failure(let error):
                throw ControlError(.invalidArguments, error.message, help: "the daemon keeps running its current binary")
            case .success(let restart):
                let before = runtime.status.incarnation
                guard runtime.requestRestart(restart, reason: "a restart requested by PID \(peer.pid)") else {
                    throw ControlError(.shuttingDown, "the daemon is already stopping or restarting")
                }
                return .object([
                    ("restarting", .bool(true)), ("pid", .int(Int64(getpid()))), ("incarnation", .int(before)),
                    ("binary", .string(restart.binary)), ("previous_sha256", .string(restart.previousSHA256)),
                    ("new_sha256", .string(restart.newSHA256)), ("stable_copy", .string(restart.stableCopy)),
                ])
            }
        }
        // Commands forwarded by clients run here, in-process (docs/protocol.md, verb `command`).
        let host = DaemonHost(pid: getpid(), workers: runtime.options.workers, store: runtime.options.store)
        runtime.server.handleStream(DaemonVerb.command.rawValue) { request, _, stream throws(ControlError) in
            let command = try ForwardedCommand(json: request.args)
            let status = CommandForwarder.serve(command, host: host) { stream.send($0.json) }
            return ForwardedOutput.end(exitStatus: status.rawValue)
        }
        runtime.onServing = { [runtime] in
            guard let identity = pool.start(handover: runtime.handover, version: DaemonRuntime.version) else {
                // A daemon that runs no task must not look as if it served: it stops, exit 3
                // (under systemd, `Restart=on-failure` tries again, e.g. once the database is up).
                runtime.requestStop("the store cannot be opened", status: 3)
                return
            }
            runtime.setIdentity(incarnation: identity.incarnation, buildID: identity.buildID, runner: identity.runner)
            runtime.say("incarnation \(identity.incarnation), build \(identity.buildID.map { String($0.prefix(12)) } ?? "unknown")")
            sweeper.start()
            triggers.withLock { $0 = startTriggers(runtime) }
            dashboard.withLock { $0 = startDashboard(runtime) }
        }
        runtime.onPeerRefused = { peer in
            pool.record(.socketPeerRefused, .object([("uid", .int(Int64(peer.uid))), ("pid", .int(Int64(peer.pid)))]))
        }
        runtime.onRestartFallback = { reason in
            pool.record(.daemonRestartFallback, .object([("reason", .string(reason))]))
        }
        runtime.onDraining = { reason, restart in
            var payload: [(key: String, value: JSONValue)] = [
                ("reason", .string(reason)), ("drain_timeout_seconds", .double(runtime.options.drainTimeoutSeconds)),
            ]
            if let restart {
                payload.append(("restart_binary", .string(restart.binary)))
                payload.append(("new_sha", .string(restart.newSHA256)))
            }
            pool.record(.daemonDraining, .object(payload))
        }
        runtime.onDrain = {
            if let service = dashboard.withLock({ $0 }) {
                service.stop()
                DashboardAccess.remove(dataDirectory: runtime.options.dataDirectory)
            }
            sweeper.stop()
            triggers.withLock { $0 }?.stop()
            pool.drain(timeoutSeconds: $0)
        }
        return runtime.run(reporter: reporter)
    }

    /// The trigger engine on its own connection to the store (docs/triggers.md); nil when the
    /// store cannot be opened (said in the log).
    static func startTriggers(_ runtime: DaemonRuntime) -> TriggerEngine? {
        let options = runtime.options
        let store: SQLResourceStore
        do {
            store = try SQLResourceStore.connect(store: options.store, dataDirectory: options.dataDirectory)
        } catch {
            runtime.say("error: the trigger engine cannot open the store: \(error); no trigger will fire")
            return nil
        }
        let clock: any TriggerClock = options.triggerClockFile.map { FileClock(path: $0) } ?? SystemClock()
        if let file = options.triggerClockFile { runtime.say("triggers: the clock is read from \(file) (--trigger-clock)") }
        let engine = TriggerEngine(
            store: store,
            options: TriggerEngine.Options(
                clock: clock, webhookAddress: options.webhookAddress ?? "127.0.0.1", webhookPort: options.webhookPort,
                webhookDisabled: options.webhookDisabled),
            incarnation: { [runtime] in runtime.status.incarnation }, say: { [runtime] in runtime.say($0) })
        engine.start()
        return engine
    }

    /// The web dashboard (`--http`, docs/dashboard.md): its address and token go to the log and
    /// to DATA/dashboard.json (mode 0600) for `orchestrator dashboard`; nil without `--http` or
    /// when it cannot listen (said in the log; the daemon serves on without it).
    static func startDashboard(_ runtime: DaemonRuntime) -> DashboardService? {
        let options = runtime.options
        guard let address = options.httpAddress, let port = options.httpPort else { return nil }
        let service: DashboardService
        do throws(DashboardStartError) {
            service = try DashboardService(dataDirectory: options.dataDirectory, store: options.store, address: address, port: port)
        } catch {
            runtime.say("error: \(error); the daemon serves on without a dashboard")
            return nil
        }
        // Logged before the file is written: whoever finds the file finds the line in the log.
        runtime.say("dashboard: \(service.access.urlWithToken)")
        do throws(AtomicWriteError) {
            try service.access.write(dataDirectory: options.dataDirectory)
        } catch {
            runtime.say("warning: \(error); `orchestrator dashboard` will not find the address")
        }
        return service
    }

    /// `--check-start`: the data directory is usable and its database's schema is one this build
    /// knows (nothing is written: a rebuilt binary that fails here is never executed in place).
    static func checkStart(_ options: DaemonOptions) -> Int32 {
        let path = options.dataDirectory + "/" + SQLResourceStore.databaseFileName
        var info = stat()
        guard stat(options.dataDirectory, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else {
            printError("orchestratord: start check failed: \(options.dataDirectory) is not a directory")
            return 3
        }
        // The schema version of the store the daemon would open, when there is one yet.
        let database: (version: () throws -> Int, name: String)?
        if let location = options.store {
            database = ({ try PostgresSchema.version(try PostgresConnection(location.connectionString)) }, "the database at \(location.display)")
        } else if access(path, F_OK) == 0 {
            database = ({ try Database(path: path).schemaVersion() }, "the database")
        } else {
            database = nil
        }
        if let database {
            do {
                let version = try database.version()
                let newest = Schema.migrations.last?.version ?? 0
                guard version <= newest else {
                    printError("orchestratord: start check failed: \(database.name) has schema \(version), this build knows up to \(newest)")
                    return 3
                }
            } catch {
                printError("orchestratord: start check failed: \(error)")
                return 3
            }
        }
        printOut("orchestratord: start check passed on \(options.dataDirectory)\n")
        return 0
    }

    /// The launcher's side of a detached start: report what the daemon said, once its socket
    /// accepts a `ping`.
    static func awaitDaemon(_ waiter: ReadinessWaiter, options: DaemonOptions) -> Int32 {
        let logPath = DaemonLog(dataDirectory: options.dataDirectory).path
        switch waiter.wait(timeoutSeconds: startTimeoutSeconds) {
        case .ready(let pid):
            do throws(ControlClientError) {
                _ = try ControlClient(dataDirectory: options.dataDirectory, timeoutSeconds: 10).request(DaemonVerb.ping.rawValue)
            } catch {
                printError("orchestratord: error: the daemon (PID \(pid)) reported ready but its socket does not answer: \(error); see \(logPath)\n")
                return 3
            }
            // Ready means its workers take tasks: the worker pool has opened the store (and, on a
            // shared store, holds its lease), so a `task create` right after this sees it.
            let deadline = monotonicSeconds() + 30
            while true {
                if let answer = try? ControlClient(dataDirectory: options.dataDirectory, timeoutSeconds: 2).request(DaemonVerb.status.rawValue),
                    DaemonStatus(json: answer)?.binarySHA256 != nil
                {
                    break
                }
                guard kill(pid, 0) == 0 else {
                    printError("orchestratord: error: the daemon (PID \(pid)) stopped before its workers could open the store; see \(logPath)\n")
                    return 3
                }
                guard monotonicSeconds() < deadline else {
                    printError("orchestratord: warning: the daemon (PID \(pid)) serves, but its workers have not opened the store within 30 s; see \(logPath)\n")
                    break
                }
                usleep(20_000)
            }
            printOut("orchestratord: serving \(options.dataDirectory) (PID \(pid)); log: \(logPath)\n")
            return 0
        case .failed(let status, let message):
            printError(message + "\n")
            return status
        case .vanished:
            printError("orchestratord: error: the daemon ended before its socket accepted; see \(logPath)\n")
            return 3
        case .timedOut:
            printError("orchestratord: error: the daemon's socket did not accept within \(Int(startTimeoutSeconds)) s; see \(logPath)\n")
            return 3
        }
    }

    /// `--request VERB [--args JSON]`: prints every answer line as JSON.
    static func request(_ verb: String, args: String?, dataDirectory: String) -> Int32 {
        var argsValue = JSONValue.object([])
        if let args {
            guard let parsed = try? JSONParser.parse(args), case .object = parsed else {
                printError("orchestratord: error: `--args` must be a JSON object, e.g. '{}'\n")
                return 2
            }
            argsValue = parsed
        }
        do throws(ControlClientError) {
            let client = try ControlClient(dataDirectory: dataDirectory, timeoutSeconds: nil)
            let id = try client.send(verb, args: argsValue)
            while true {
                let (replyID, reply) = try client.readReply()
                guard replyID == id || replyID == .null else { continue }
                printOut(String(decoding: client.lastLine, as: UTF8.self) + "\n")
                if reply.isFinal {
                    if case .error = reply { return 1 }
                    return 0
                }
            }
        } catch {
            printError("orchestratord: \(error)\n")
            return 1
        }
    }

    static func currentDirectory() -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard getcwd(&buffer, buffer.count) != nil else { return "/" }
        return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func printOut(_ text: String) { writeText(1, text) }
    static func printError(_ text: String) { writeText(2, text.hasSuffix("\n") ? text : text + "\n") }

    private static func writeText(_ fd: Int32, _ text: String) {
        writeFully(fd, Array(text.utf8))
    }
}
