import JSON

import Platform

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The `status` verb's answer (docs/protocol.md). Written by the daemon, read by clients.
public struct DaemonStatus: Sendable, Equatable {
    public enum State: String, Sendable {
        case serving
        case draining
        /// Draining before re-executing itself in place.
        case restarting
    }

    public var pid: Int32
    /// How many times the daemon has re-executed itself in place, plus one (1 until self-restart exists).
    public var incarnation: Int64
    public var dataDirectory: String
    public var uptimeSeconds: Double
    public var workers: Int
    public var version: String
    public var state: State
    public var connections: Int
    /// Clients refused for running under another user id since the daemon started.
    public var peersRefused: Int
    /// Whether maintenance mode is on (new tasks refused).
    public var maintenance = false
    /// Forwarded commands running now.
    public var commandsRunning = 0
    /// SHA-256 (hex) of the binary this incarnation runs; nil while it is still being computed.
    public var binarySHA256: String?
    /// SHA-256 of the binary of the previous incarnation, after a restart in place.
    public var previousBinarySHA256: String?
    /// The shared store it serves, without a password (nil: the data directory's SQLite file).
    public var store: String?
    /// Its runner id on the store and the host it registered as (docs/scale-out.md).
    public var runner: String?
    public var host: String?

    public init(
        pid: Int32, incarnation: Int64, dataDirectory: String, uptimeSeconds: Double, workers: Int, version: String,
        state: State, connections: Int, peersRefused: Int
    ) {
        self.pid = pid
        self.incarnation = incarnation
        self.dataDirectory = dataDirectory
        self.uptimeSeconds = uptimeSeconds
        self.workers = workers
        self.version = version
        self.state = state
        self.connections = connections
        self.peersRefused = peersRefused
    }

    public var json: JSONValue {
        .object([
            ("pid", .int(Int64(pid))), ("incarnation", .int(incarnation)), ("data_dir", .string(dataDirectory)),
            ("uptime_seconds", .double(uptimeSeconds)), ("workers", .int(Int64(workers))), ("version", .string(version)),
            ("protocol", .int(ControlProtocol.version)), ("state", .string(state.rawValue)),
            ("connections", .int(Int64(connections))), ("peers_refused", .int(Int64(peersRefused))),
            ("maintenance", .bool(maintenance)), ("commands_running", .int(Int64(commandsRunning))),
            ("binary_sha256", binarySHA256.map { .string($0) } ?? .null),
            ("previous_binary_sha256", previousBinarySHA256.map { .string($0) } ?? .null),
            ("store", store.map { .string($0) } ?? .null), ("runner", runner.map { .string($0) } ?? .null),
            ("host", host.map { .string($0) } ?? .null),
        ])
    }

    public init?(json: JSONValue) {
        guard case .int(let pid)? = json["pid"], case .int(let incarnation)? = json["incarnation"],
            let directory = json["data_dir"]?.stringValue, case .int(let workers)? = json["workers"],
            let version = json["version"]?.stringValue, let state = json["state"]?.stringValue.flatMap(State.init(rawValue:)),
            case .int(let connections)? = json["connections"], case .int(let refused)? = json["peers_refused"]
        else { return nil }
        let uptime: Double
        switch json["uptime_seconds"] {
        case .double(let value)?: uptime = value
        case .int(let value)?: uptime = Double(value)
        default: return nil
        }
        self.init(
            pid: Int32(clamping: pid), incarnation: incarnation, dataDirectory: directory, uptimeSeconds: uptime,
            workers: Int(workers), version: version, state: state, connections: Int(connections), peersRefused: Int(refused))
        maintenance = json["maintenance"] == .bool(true)
        if case .int(let running)? = json["commands_running"] { commandsRunning = Int(running) }
        binarySHA256 = json["binary_sha256"]?.stringValue
        previousBinarySHA256 = json["previous_binary_sha256"]?.stringValue
        store = json["store"]?.stringValue
        runner = json["runner"]?.stringValue
        host = json["host"]?.stringValue
    }
}

/// What `orchestrator daemon start|stop|status` needs, over the socket and the daemon executable.
public enum DaemonControl {
    /// The result of `start`.
    public enum StartOutcome: Sendable, Equatable {
        case started(DaemonStatus)
        /// The launcher refused or failed: its exit status and what it printed on stderr.
        case failed(status: Int32, message: String)
    }

    /// The result of `stop`.
    public enum StopOutcome: Sendable, Equatable {
        case notRunning
        /// Stopped after the `shutdown` request (`bySignal` false) or after SIGTERM.
        case stopped(pid: Int32, bySignal: Bool)
        /// Still alive after the request, SIGTERM and both waits.
        case stillRunning(pid: Int32)
    }

    /// The daemon's `status`; `.noDaemon` when none serves `dataDirectory`.
    public static func status(dataDirectory: String, timeoutSeconds: Double = 10) -> Result<DaemonStatus, ControlClientError> {
        do throws(ControlClientError) {
            let client = try ControlClient(dataDirectory: dataDirectory, timeoutSeconds: timeoutSeconds)
            let value = try client.request(DaemonVerb.status.rawValue)
            guard let status = DaemonStatus(json: value) else {
                return .failure(.malformedReply("the daemon's status answer lacks fields: \(JSONWriter().string(value))"))
            }
            return .success(status)
        } catch {
            return .failure(error)
        }
    }

    /// Starts a detached daemon by running `executable` (the `orchestratord` binary) with
    /// `--data-dir DIR` and `arguments` (e.g. `["--workers", "2"]`) and returns once its socket
    /// accepts. The executable detaches by itself, so the calling process needs no fork.
    public static func start(
        executable: String, dataDirectory: String, arguments: [String] = [], timeoutSeconds: Double = 30
    ) -> StartOutcome {
        let launched = runToEnd(executable, [executable, "--data-dir", dataDirectory] + arguments, timeoutSeconds: timeoutSeconds)
        guard launched.status == 0 else {
            let text = launched.stderr.isEmpty ? launched.stdout : launched.stderr
            return .failed(status: launched.status, message: text.trimmingTrailingNewlines())
        }
        switch status(dataDirectory: dataDirectory) {
        case .success(let status): return .started(status)
        case .failure(let error):
            return .failed(status: 3, message: "the daemon reported ready but does not answer: \(error)")
        }
    }

    /// Asks the daemon to stop (`shutdown`: it stops accepting, drains, removes its socket) and
    /// waits up to `timeoutSeconds` for its process to end; then sends SIGTERM and waits
    /// `signalGraceSeconds` more. The wait should exceed the daemon's `--drain-timeout`.
    public static func stop(dataDirectory: String, timeoutSeconds: Double = 40, signalGraceSeconds: Double = 10) -> StopOutcome {
        let pid: Int32
        switch status(dataDirectory: dataDirectory, timeoutSeconds: min(timeoutSeconds, 10)) {
        case .success(let status): pid = status.pid
        case .failure(.noDaemon): return .notRunning
        case .failure:
            // Something answers badly: the lock file names the holder.
            guard let holder = DaemonLock.holderPID(path: DaemonLock.path(dataDirectory: dataDirectory)), isAlive(holder) else {
                return .notRunning
            }
            pid = holder
        }
        if let client = try? ControlClient(dataDirectory: dataDirectory, timeoutSeconds: min(timeoutSeconds, 10)) {
            _ = try? client.request(DaemonVerb.shutdown.rawValue)
        }
        if waitForExit(pid, seconds: timeoutSeconds) { return .stopped(pid: pid, bySignal: false) }
        kill(pid, SIGTERM)
        if waitForExit(pid, seconds: signalGraceSeconds) { return .stopped(pid: pid, bySignal: true) }
        return .stillRunning(pid: pid)
    }

    /// Whether `pid` runs. A zombie counts as ended: a detached daemon's parent is init (or a
    /// container's reaper), which may take seconds to reap it.
    public static func isAlive(_ pid: Int32) -> Bool {
        guard kill(pid, 0) == 0 || errno == EPERM else { return false }
        let fd = open("/proc/\(pid)/stat", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return true }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 512)
        let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        // "pid (comm) S ...": the state follows the last ')'.
        guard count > 0, let close = buffer[..<count].lastIndex(of: UInt8(ascii: ")")), close + 2 < count else { return true }
        let state = buffer[close + 2]
        return state != UInt8(ascii: "Z") && state != UInt8(ascii: "X")
    }

    /// Waits until `pid` is gone; true when it is.
    public static func waitForExit(_ pid: Int32, seconds: Double) -> Bool {
        let deadline = monotonicMilliseconds() + Int64(seconds * 1000)
        while isAlive(pid) {
            if monotonicMilliseconds() >= deadline { return false }
            usleep(20_000)
        }
        return true
    }

    /// Runs a program and collects its output, for at most `timeoutSeconds` (then it is killed).
    static func runToEnd(_ path: String, _ argv: [String], timeoutSeconds: Double) -> (status: Int32, stdout: String, stderr: String) {
        var out: [Int32] = [-1, -1], err: [Int32] = [-1, -1]
        guard pipe(&out) == 0, pipe(&err) == 0 else { return (3, "", "cannot create a pipe: \(errnoDescription(errno))") }
        for fd in [out[0], err[0]] { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, out[1], 1)
        posix_spawn_file_actions_adddup2(&actions, err[1], 2)
        posix_spawn_file_actions_addclose(&actions, out[1])
        posix_spawn_file_actions_addclose(&actions, err[1])
        var cArguments: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { for pointer in cArguments { free(pointer) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, path, &actions, nil, &cArguments, environ)
        close(out[1])
        close(err[1])
        defer {
            close(out[0])
            close(err[0])
        }
        guard rc == 0 else { return (3, "", "cannot run \(path): \(errnoDescription(rc))") }
        var collected: [[UInt8]] = [[], []]
        var open = [true, true]
        let deadline = monotonicMilliseconds() + Int64(timeoutSeconds * 1000)
        while open[0] || open[1] {
            let left = deadline - monotonicMilliseconds()
            if left <= 0 {
                kill(pid, SIGKILL)
                break
            }
            var entries = [out[0], err[0]].map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            for index in 0..<2 where !open[index] { entries[index].fd = -1 }
            let ready = poll(&entries, 2, Int32(clamping: left))
            if ready < 0 && errno == EINTR { continue }
            for index in 0..<2 where open[index] && entries[index].revents != 0 {
                var chunk = [UInt8](repeating: 0, count: 4096)
                let count = chunk.withUnsafeMutableBytes { read(entries[index].fd, $0.baseAddress, $0.count) }
                if count <= 0 {
                    if count < 0 && errno == EINTR { continue }
                    open[index] = false
                } else {
                    collected[index] += chunk[..<count]
                }
            }
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let exitStatus: Int32 = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return (exitStatus, String(decoding: collected[0], as: UTF8.self), String(decoding: collected[1], as: UTF8.self))
    }
}

extension String {
    func trimmingTrailingNewlines() -> String {
        var text = self
        while text.last == "\n" || text.last == "\r" { text.removeLast() }
        return text
    }
}
