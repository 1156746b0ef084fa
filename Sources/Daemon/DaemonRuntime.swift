import Control
import JSON
import Platform
import Runner
import Store

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One daemon serving one data directory: the lock, the socket, the core verbs, signals and the
/// drain. Task verbs and the worker pool plug in through `server` and `onDrain`.
public final class DaemonRuntime: @unchecked Sendable {
    public static let version = "0.1.0"

    public let options: DaemonOptions
    public let server: ControlServer
    /// Called once the daemon stops accepting, with the drain timeout; returns when running work
    /// has reached a safe point (the worker pool plugs in here). Runs before the socket is removed.
    public var onDrain: @Sendable (_ timeoutSeconds: Double) -> Void = { _ in }
    /// Called once the daemon holds the lock and its socket accepts (the worker pool starts here).
    public var onServing: @Sendable () -> Void = {}
    /// Called for every client refused for its user id (after the log line; the event goes here).
    public var onPeerRefused: @Sendable (PeerCredentials) -> Void = { _ in }
    /// Called when the daemon begins to drain (a stop, or a restart in place when `restart` is set).
    public var onDraining: @Sendable (_ reason: String, _ restart: RestartRequest?) -> Void = { _, _ in }
    /// Called when a rebuilt binary failed its start check twice: the daemon goes on with its
    /// kept `.stable` copy (the event records why).
    public var onRestartFallback: @Sendable (_ reason: String) -> Void = { _ in }
    /// What the previous incarnation handed over across `execve` (nil: a fresh start).
    public let handover: DaemonHandover?

    private let startedAt = monotonicSeconds()
    private let state = Locked(RuntimeState())
    /// Whether stdout/stderr go to DATA/daemon.log (detached) rather than a terminal.
    private let logsToFile: Bool

    private struct RuntimeState {
        var stopReason: String?
        /// The exit status of the stop (0; 3 when it stops because it cannot go on safely).
        var stopStatus: Int32 = 0
        /// The runner id of this daemon's lease on the store.
        var runner: String?
        var draining = false
        var peersRefused = 0
        /// Set by a task's `self_restart`: the daemon drains and re-executes this binary.
        var restart: RestartRequest?
        var incarnation: Int64 = 1
        var buildID: String?
    }

    public init(options: DaemonOptions, logsToFile: Bool, handover: DaemonHandover? = nil) {
        self.options = options
        self.logsToFile = logsToFile
        self.handover = handover
        server = ControlServer(socketPath: ControlClient.socketPath(dataDirectory: options.dataDirectory))
        server.onPeerRefused { [unowned self] in peerRefused($0) }
        registerCoreVerbs()
    }

    public var log: DaemonLog { DaemonLog(dataDirectory: options.dataDirectory) }

    /// Serves until SIGTERM, SIGINT or a `shutdown` request; the exit status of the process.
    /// `reporter` (detached mode) hears `ready` once the socket accepts, or why it will not.
    public func run(reporter: ReadinessReporter?) -> Int32 {
        func fail(_ status: Int32, _ message: String) -> Int32 {
            // Detached, the launcher prints it (the log may belong to the daemon that holds the lock).
            if let reporter {
                reporter.failed(status: status, message: "orchestratord: error: " + message)
            } else {
                say("error: " + message)
            }
            return status
        }
        if let problem = prepareDirectory() { return fail(2, problem) }
        let lock: DaemonLock
        let locking = handover.map { DaemonLock.adopt(fd: $0.lockDescriptor, dataDirectory: options.dataDirectory) }
            ?? DaemonLock.acquire(dataDirectory: options.dataDirectory)
        switch locking {
        case .success(let held): lock = held
        case .failure(let failure):
            if case .held = failure { return fail(2, "\(failure); stop it first (`orchestratord --request shutdown --data-dir \(options.dataDirectory)`)") }
            return fail(3, failure.description)
        }
        defer { lock.release() }
        if logsToFile {
            do throws(ControlFailure) {
                log.rotateIfNeeded()
                try log.redirectStandardStreams()
            } catch {
                return fail(3, error.description)
            }
        }
        // Signals are taken synchronously by this thread: block them before any thread starts,
        // so every server thread inherits the mask.
        var signals = sigset_t()
        sigemptyset(&signals)
        for signal in [SIGTERM, SIGINT, SIGHUP] { sigaddset(&signals, signal) }
        pthread_sigmask(SIG_BLOCK, &signals, nil)
        signal(SIGPIPE, SIG_IGN)
        do throws(ControlFailure) {
            try server.start(inheriting: handover?.socketDescriptor)
        } catch {
            return fail(2, error.description)
        }
        if handover != nil { say("restarted in place: this is the new binary, serving the same socket") }
        say("serving \(options.dataDirectory) on \(server.socketPath) (PID \(getpid()), \(options.workers) worker\(options.workers == 1 ? "" : "s"), protocol \(ControlProtocol.version))")
        reporter?.ready()
        onServing()

        var lastRotationCheck = monotonicSeconds()
        var timeout = timespec(tv_sec: 0, tv_nsec: 200_000_000)
        while state.withLock({ $0.stopReason }) == nil {
            let received = sigtimedwait(&signals, nil, &timeout)
            if received > 0 {
                if received == SIGHUP {
                    say("SIGHUP ignored (stop with SIGTERM or the shutdown verb)")
                } else {
                    requestStop(received == SIGTERM ? "SIGTERM" : "SIGINT")
                }
            }
            if logsToFile && monotonicSeconds() - lastRotationCheck >= 60 {
                lastRotationCheck = monotonicSeconds()
                try? log.rotateAndReopenIfNeeded()
            }
        }
        let (reason, restart) = state.withLock { ($0.stopReason ?? "a stop request", $0.restart) }
        state.withLock { $0.draining = true }
        onDraining(reason, restart)
        if let restart {
            say("restarting in place (\(reason)): draining for up to \(DaemonOptions.format(options.drainTimeoutSeconds)), then executing \(restart.binary)")
            let listener = server.handOverListener()
            onDrain(options.drainTimeoutSeconds)
            server.closeConnections()
            // The new binary must start (twice tried) before this process becomes it; else the
            // kept copy of the running one is executed instead, and the event says why.
            var binaries = [restart.binary, restart.stableCopy]
            if let failure = startCheckFailure(restart.binary) {
                say("the new binary \(restart.binary) failed its start check twice (\(failure)); continuing with the kept copy \(restart.stableCopy)")
                onRestartFallback("the new binary \(restart.binary) failed its start check twice: \(failure); executing the kept copy \(restart.stableCopy)")
                binaries = [restart.stableCopy]
            }
            let handover = DaemonHandover(lockDescriptor: lock.handOver(), socketDescriptor: listener, previousBuildID: restart.previousSHA256)
            for binary in binaries {
                let failure = reexecute(binary, handover: handover)
                say("error: cannot execute \(binary): \(errnoDescription(failure))" + (binary == restart.binary ? "; trying the kept copy of the running binary" : ""))
            }
            say("stopped: neither binary could be executed; the tasks waiting restart_pending resume at the next start")
            if let listener { close(listener) }
            server.removeSocket()
            return 3
        }
        say("stopping (\(reason)): no new connections; draining for up to \(DaemonOptions.format(options.drainTimeoutSeconds))")
        server.stopAccepting()
        onDrain(options.drainTimeoutSeconds)
        server.closeConnections()
        server.removeSocket()
        let status = state.withLock { $0.stopStatus }
        say(status == 0 ? "stopped" : "stopped (exit \(status): \(reason))")
        return status
    }

    /// Ends `run` (as SIGTERM does).
    public func requestStop(_ reason: String, status: Int32 = 0) {
        state.withLock {
            if $0.stopReason == nil {
                $0.stopReason = reason
                $0.stopStatus = status
            }
        }
    }

    /// Ends `run` with a restart in place: drain, then `execve` the rebuilt binary (same PID).
    /// False when a stop or another restart is under way already.
    @discardableResult
    public func requestRestart(_ request: RestartRequest, reason: String) -> Bool {
        state.withLock { state in
            guard state.stopReason == nil else { return false }
            state.restart = request
            state.stopReason = reason
            return true
        }
    }

    /// Records which incarnation this is and which binary it runs (the worker pool reads the store).
    public func setIdentity(incarnation: Int64, buildID: String?, runner: String? = nil) {
        state.withLock {
            $0.incarnation = incarnation
            $0.buildID = buildID
            $0.runner = runner
        }
    }

    /// Runs `binary --check-start` (at most twice); nil when it passed, else what it said.
    private func startCheckFailure(_ binary: String) -> String? {
        var last = ""
        for _ in 0..<2 {
            let request = ProcessRequest(
                command: ShellQuoting.singleQuoted(binary) + " --check-start --data-dir " + ShellQuoting.singleQuoted(options.dataDirectory),
                workingDirectory: "/", stdoutLogPath: "/dev/null", stderrLogPath: options.dataDirectory + "/.start-check.stderr",
                timeout: .seconds(60), terminationGracePeriod: .seconds(2))
            guard let result = try? ProcessLauncher.runBlocking(request) else {
                last = "it could not be run"
                continue
            }
            if result.succeeded { return nil }
            let stderr = String(decoding: readFileBytes(options.dataDirectory + "/.start-check.stderr", limit: 2048) ?? [], as: UTF8.self)
            last = (result.timedOut ? "timed out" : "\(result.termination)") + (stderr.isEmpty ? "" : ": " + stderr.split(separator: "\n").prefix(3).joined(separator: " "))
        }
        return last
    }

    /// Replaces this process with `binary`, same arguments, the handover in its environment;
    /// returns errno when `execve` fails.
    private func reexecute(_ binary: String, handover: DaemonHandover) -> Int32 {
        var environment = processEnvironment()
        environment[DaemonHandover.variable] = handover.text
        say("executing \(binary) in place (PID \(getpid()))")
        return replaceProcess([binary] + CommandLine.arguments.dropFirst(), environment: environment)
    }

    public var status: DaemonStatus {
        let current = state.withLock { $0 }
        var status = DaemonStatus(
            pid: getpid(), incarnation: current.incarnation, dataDirectory: options.dataDirectory,
            uptimeSeconds: ((monotonicSeconds() - startedAt) * 1000).rounded() / 1000, workers: options.workers,
            version: DaemonRuntime.version, state: current.restart != nil ? .restarting : current.draining ? .draining : .serving,
            connections: server.connectionCount, peersRefused: current.peersRefused)
        status.maintenance = MaintenanceMode.isEnabled(dataDirectory: options.dataDirectory)
        status.binarySHA256 = current.buildID
        status.previousBinarySHA256 = handover?.previousBuildID
        status.store = options.store?.display
        status.runner = current.runner
        status.host = current.runner == nil ? nil : RunnerHost.current
        return status
    }

    // MARK: - Verbs

    private func registerCoreVerbs() {
        server.handle(DaemonVerb.ping.rawValue) { _, _ in
            .object([("pong", .bool(true)), ("pid", .int(Int64(getpid())))])
        }
        server.handle(DaemonVerb.version.rawValue) { _, _ in
            .object([
                ("daemon", .string("orchestratord")), ("version", .string(DaemonRuntime.version)),
                ("protocol", .int(ControlProtocol.version)),
                ("supported", .array(ControlProtocol.supportedVersions.map { .int($0) })),
            ])
        }
        server.handle(DaemonVerb.status.rawValue) { [unowned self] _, _ in status.json }
        server.handle(DaemonVerb.shutdown.rawValue) { [unowned self] _, peer in
            requestStop("shutdown requested by PID \(peer.pid)")
            return .object([
                ("stopping", .bool(true)), ("pid", .int(Int64(getpid()))),
                ("drain_timeout_seconds", .double(options.drainTimeoutSeconds)),
            ])
        }
    }

    private func peerRefused(_ peer: PeerCredentials) {
        state.withLock { $0.peersRefused += 1 }
        say("refused a client running as user id \(peer.uid) (PID \(peer.pid)): only user id \(server.allowedUID) may connect")
        onPeerRefused(peer)
    }

    // MARK: - Helpers

    /// Creates the data directory (0700) or tightens an existing one to 0700; a problem otherwise.
    private func prepareDirectory() -> String? {
        let path = options.dataDirectory
        var info = stat()
        if stat(path, &info) != 0 {
            var built = ""
            for part in path.split(separator: "/") {
                built += "/" + part
                if mkdir(built, 0o700) != 0 && errno != EEXIST {
                    return "cannot create the data directory \(built): \(errnoDescription(errno))"
                }
            }
            guard stat(path, &info) == 0 else { return "cannot read the data directory \(path): \(errnoDescription(errno))" }
        }
        guard (info.st_mode & S_IFMT) == S_IFDIR else { return "\(path) is not a directory" }
        guard info.st_uid == getuid() else {
            return "the data directory \(path) belongs to user id \(info.st_uid), not to this user (\(getuid()))"
        }
        if info.st_mode & 0o077 != 0 {
            guard chmod(path, 0o700) == 0 else { return "cannot set the mode of \(path) to 0700: \(errnoDescription(errno))" }
            say("set the mode of \(path) to 0700 (it holds the daemon's socket)")
        }
        return nil
    }

    /// A line on stderr (the log file when detached), with a UTC timestamp.
    func say(_ text: String) {
        var now = time(nil)
        var parts = tm()
        gmtime_r(&now, &parts)
        var buffer = [CChar](repeating: 0, count: 32)
        strftime(&buffer, buffer.count, "%Y-%m-%dT%H:%M:%SZ", &parts)
        let stamp = String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        writeFully(2, Array("\(stamp) orchestratord[\(getpid())]: \(text)\n".utf8))
    }
}

func monotonicSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}
