// Runs `/bin/sh -c COMMAND` as its own process group with an exact environment, streams its
// output to log files (masked), enforces a timeout on the whole group, applies resource limits
// to the child only, and never leaves a zombie. See docs/runner-processes.md.

import Platform

import Store

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where a child's standard input comes from.
public enum StandardInput: Sendable, Equatable {
    /// `/dev/null`.
    case null
    /// These bytes, then end of file (held in an anonymous in-memory file, never on disk).
    case bytes([UInt8])
    /// A file, opened for reading.
    case file(String)

    public static func text(_ text: String) -> StandardInput { .bytes(Array(text.utf8)) }
}

/// One process to run.
public struct ProcessRequest: Sendable {
    /// Variables passed through from the runner's own environment when set there.
    public static let defaultInheritedVariables = ["PATH", "HOME", "USER", "LANG", "TERM"]

    /// The shell command, run as `SHELL SHELL_ARGUMENT COMMAND` (`/bin/sh -c COMMAND` by default).
    public var command: String
    /// The shell that runs `command` and its argument (a RuntimePolicy's `shell`, `shell_arg`).
    public var shell: String = "/bin/sh"
    public var shellArgument: String = "-c"
    /// The directory the command starts in (it must exist).
    public var workingDirectory: String
    /// Variables added to the environment (they win over inherited ones of the same name).
    public var environment: [String: String]
    /// Names taken from the runner's environment; nothing else of it reaches the child.
    public var inheritedVariables: [String]
    public var standardInput: StandardInput
    /// Where stdout and stderr are written while the process runs (created or truncated, mode 0600).
    public var stdoutLogPath: String
    public var stderrLogPath: String
    /// After this long the process group gets SIGTERM, then SIGKILL after `terminationGracePeriod`.
    public var timeout: Duration?
    public var terminationGracePeriod: Duration
    public var limits: ResourceLimits
    /// Applied to both streams before they reach the log files.
    public var masker: SecretMasker
    /// Checked while the process runs: when cancelled, the group is terminated as on a timeout.
    public var cancellation: ProcessCancellation?
    /// False: each log file is created only when the process writes to that stream (the task
    /// runner's steps: many write nothing, and every file created costs an inode).
    public var createsEmptyLogs: Bool = true
    /// Called with the child's pid (the leader of its process group) right after it is spawned,
    /// before the launcher waits for it: the runner records it, so a runner that dies can have its
    /// step's process group ended by whoever recovers the task.
    public var onStart: (@Sendable (Int32) -> Void)?
    /// Called every `heartbeatInterval` while the process runs, with the bytes written to each
    /// log so far: the runner records them, so a step that is alive but silent shows.
    public var heartbeatInterval: Duration?
    public var onHeartbeat: (@Sendable (_ stdoutBytes: Int64, _ stderrBytes: Int64) -> Void)?

    public init(
        command: String, workingDirectory: String, environment: [String: String] = [:],
        inheritedVariables: [String] = ProcessRequest.defaultInheritedVariables, standardInput: StandardInput = .null,
        stdoutLogPath: String, stderrLogPath: String, timeout: Duration? = nil,
        terminationGracePeriod: Duration = .seconds(5), limits: ResourceLimits = .none, masker: SecretMasker = .none,
        cancellation: ProcessCancellation? = nil
    ) {
        self.command = command
        self.workingDirectory = workingDirectory
        self.environment = environment
        self.inheritedVariables = inheritedVariables
        self.standardInput = standardInput
        self.stdoutLogPath = stdoutLogPath
        self.stderrLogPath = stderrLogPath
        self.timeout = timeout
        self.terminationGracePeriod = terminationGracePeriod
        self.limits = limits
        self.masker = masker
        self.cancellation = cancellation
    }
}

/// How the child (the process group leader) ended.
public enum Termination: Sendable, Equatable, CustomStringConvertible {
    case exited(Int32)
    case signaled(Int32)

    public var description: String {
        switch self {
        case .exited(let code): return "exited with \(code)"
        case .signaled(let signal): return "killed by signal \(signal)"
        }
    }
}

/// What happened.
public struct ProcessResult: Sendable, Equatable {
    public var pid: Int32
    public var termination: Termination
    /// The timeout elapsed and the group was terminated.
    public var timedOut: Bool
    /// The cancellation was requested and the group was terminated.
    public var cancelled: Bool
    public var durationMS: Int64
    public var stdoutLogPath: String
    public var stderrLogPath: String
    /// Bytes written to each log (after masking).
    public var stdoutBytes: Int64
    public var stderrBytes: Int64
    /// Processes of the group were still running when the leader ended, and were terminated.
    public var terminatedLeftoverProcesses: Bool
    /// Limits that could not be applied exactly as asked (for the caller to record).
    public var notices: [EnforcementNotice]
    /// The last `RawOutput.window` bytes of what the process wrote, before masking: what
    /// captures, output variables and decisions read (issue 11.3: masking applies to what is
    /// stored and shown, never to what the workflow computes with). Held in memory only.
    public var rawOutput: RawOutput = RawOutput()
    /// A log could not be written (errno; ENOSPC: the disk is full). The group was terminated
    /// as on a timeout, and the log is cut at `LogWriteFailure.keptBytes` to free space for the
    /// runner's records: the step has no result.
    public var logWriteFailure: Int32?

    /// The shell's convention: the exit status, or 128 + the signal number.
    public var exitCode: Int32 {
        switch termination {
        case .exited(let code): return code
        case .signaled(let signal): return 128 + signal
        }
    }

    /// Exit code 0 and neither timed out nor cancelled.
    public var succeeded: Bool { termination == .exited(0) && !timedOut && !cancelled }
}

/// Why a process could not be run.
public enum LaunchError: Error, Sendable, Equatable, CustomStringConvertible {
    case workingDirectoryMissing(String)
    case invalidCommand(String)
    case invalidEnvironment(String)
    case invalidLimit(name: String, value: Int)
    case cannotOpenLog(path: String, errno: Int32)
    case cannotOpenInput(path: String, errno: Int32)
    case spawnFailed(program: String, errno: Int32)
    case systemCall(name: String, errno: Int32)
    case cannotApplyLimit(name: String, errno: Int32)

    public var description: String {
        switch self {
        case .workingDirectoryMissing(let path):
            return "working directory \(path) does not exist or is not a directory"
        case .invalidCommand(let reason):
            return "invalid command: \(reason)"
        case .invalidEnvironment(let reason):
            return "invalid environment: \(reason)"
        case .invalidLimit(let name, let value):
            return "invalid resource limit \(name): \(value) (must be a positive number)"
        case .cannotOpenLog(let path, let code):
            return "cannot open log file \(path): \(errnoDescription(code))"
        case .cannotOpenInput(let path, let code):
            return "cannot open standard input file \(path): \(errnoDescription(code))"
        case .spawnFailed(let program, let code) where code == E2BIG:
            return
                "cannot start \(program): the command or the environment is too large (\(errnoDescription(code))); "
                + "Linux limits one argument or variable to 128 KiB: deliver a long prompt with promptDelivery stdin or file"
        case .spawnFailed(let program, let code):
            return "cannot start \(program): \(errnoDescription(code))"
        case .systemCall(let name, let code):
            return "\(name) failed: \(errnoDescription(code))"
        case .cannotApplyLimit(let name, let code):
            return "cannot apply resource limit \(name) to the child: \(errnoDescription(code))"
        }
    }
}

/// Runs shell commands as supervised child processes. Stateless: safe to use from any number of
/// threads and tasks at once.
public enum ProcessLauncher {
    /// Runs the request on a dedicated thread (never blocking Swift's cooperative pool). Cancelling
    /// the calling task terminates the process group as a timeout would (`cancelled` is set).
    public static func run(_ request: ProcessRequest) async throws(LaunchError) -> ProcessResult {
        // The task's own token, so that cancelling the task does not flip a token the caller shares.
        let taskCancellation = ProcessCancellation()
        let outcome = await withTaskCancellationHandler {
            await onDedicatedThread {
                Result<ProcessResult, LaunchError> { () throws(LaunchError) in
                    var supervisor = try Supervisor.start(request)
                    return supervisor.supervise(alsoCancelledBy: taskCancellation)
                }
            }
        } onCancel: {
            taskCancellation.cancel()
        }
        return try outcome.get()
    }

    /// Runs the request on the calling thread and returns when the process and every process of
    /// its group are gone (or, for processes that left the group, when the output pipes close).
    public static func runBlocking(_ request: ProcessRequest) throws(LaunchError) -> ProcessResult {
        var supervisor = try Supervisor.start(request)
        return supervisor.supervise(alsoCancelledBy: nil)
    }
}

// MARK: - Spawning

/// `/bin/sh -c SCRIPT` that waits until the parent has applied the resource limits (it sends
/// "go" on fd 3; if the parent dies first, the read ends without it and the command never runs),
/// then runs the command exactly as `/bin/sh -c COMMAND` would. The command is an argument,
/// never part of the script text.
/// The shell and its argument come as `$2` and `$3` (the request's `shell`, `shellArgument`).
private let gatedScript = #"read -r _gate <&3; [ "$_gate" = go ] || exit 125; exec "$2" "$3" "$1" 3<&-"#
/// Like `gatedScript`, also changing directory first (for C libraries without addchdir).
private let gatedChdirScript =
    #"read -r _gate <&3; [ "$_gate" = go ] || exit 125; cd -- "$4" || exit 126; exec "$2" "$3" "$1" 3<&-"#
private let chdirScript = #"cd -- "$4" || exit 126; exec "$2" "$3" "$1""#

private struct Supervisor {
    let request: ProcessRequest
    let pid: pid_t
    var stdoutRead: Int32
    var stderrRead: Int32
    var stdoutLog: Int32
    var stderrLog: Int32
    var pidfd: Int32
    var notices: [EnforcementNotice]
    let started: ContinuousClock.Instant

    static func start(_ request: ProcessRequest) throws(LaunchError) -> Supervisor {
        let calls = LinuxCalls.shared
        if request.command.utf8.contains(0) { throw .invalidCommand("it contains a NUL byte") }
        guard fileExistsAsDirectory(request.workingDirectory) else {
            throw .workingDirectoryMissing(request.workingDirectory)
        }
        try validate(request.limits)
        let environment = try environmentStrings(request)

        // Everything the parent opens is close-on-exec, so concurrent spawns never inherit it.
        var fds = OpenFiles()
        do throws(LaunchError) {
            if request.createsEmptyLogs {
                fds.stdoutLog = try openLog(request.stdoutLogPath)
                fds.stderrLog = try openLog(request.stderrLogPath)
            }
            fds.stdin = try openInput(request.standardInput)
            (fds.stdoutRead, fds.stdoutWrite) = try pipe()
            (fds.stderrRead, fds.stderrWrite) = try pipe()
            let gated = !request.limits.isEmpty
            // A socket rather than a pipe: `send(MSG_NOSIGNAL)` cannot raise SIGPIPE in the runner.
            if gated { (fds.gateRead, fds.gateWrite) = try socketPair() }

            var arguments = ["/bin/sh", "-c"]
            let chdirInChild = calls.addChdir == nil
            let shell = [request.shell, request.shellArgument]
            switch (gated, chdirInChild) {
            case (false, false): arguments = shell + [request.command]
            case (true, false): arguments += [gatedScript, "orchestrator", request.command] + shell
            case (false, true): arguments += [chdirScript, "orchestrator", request.command] + shell + [request.workingDirectory]
            case (true, true): arguments += [gatedChdirScript, "orchestrator", request.command] + shell + [request.workingDirectory]
            }

            let pid = try spawn(arguments: arguments, environment: environment, fds: fds, request: request)
            let started = ContinuousClock.now
            request.onStart?(pid)
            // The parent's copies of the child's ends.
            closeFD(&fds.stdin)
            closeFD(&fds.stdoutWrite)
            closeFD(&fds.stderrWrite)
            closeFD(&fds.gateRead)

            var notices: [EnforcementNotice] = []
            if gated {
                do throws(LaunchError) {
                    notices = try applyLimits(request.limits, to: pid)
                } catch {
                    // The child is still waiting at the gate: it never ran the command.
                    kill(-pid, SIGKILL)
                    kill(pid, SIGKILL)
                    var status: Int32 = 0
                    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
                    fds.closeAll()
                    throw error
                }
                // Opens the gate. If the child is gone (killed from outside) the send fails
                // harmlessly and supervision reports how it ended.
                _ = send(fds.gateWrite, "go\n", 3, Int32(MSG_NOSIGNAL))
                closeFD(&fds.gateWrite)
            }
            var pidfd: Int32 = -1
            if let open = calls.pidfdOpen { pidfd = open(pid, 0) }
            if pidfd >= 0 { _ = fcntl(pidfd, F_SETFD, FD_CLOEXEC) }
            let supervisor = Supervisor(
                request: request, pid: pid, stdoutRead: fds.stdoutRead, stderrRead: fds.stderrRead,
                stdoutLog: fds.stdoutLog, stderrLog: fds.stderrLog, pidfd: pidfd, notices: notices, started: started)
            return supervisor
        } catch {
            fds.closeAll()
            throw error
        }
    }

    private static func validate(_ limits: ResourceLimits) throws(LaunchError) {
        let all: [(String, Int?)] = [
            ("max_memory_mb", limits.maxMemoryMB), ("max_cpu_seconds", limits.maxCPUSeconds),
            ("max_processes", limits.maxProcesses), ("max_open_files", limits.maxOpenFiles),
        ]
        for (name, value) in all {
            if let value, value <= 0 { throw .invalidLimit(name: name, value: value) }
        }
    }

    /// `NAME=value` strings: the inherited allowlist from this process, then the extra variables.
    private static func environmentStrings(_ request: ProcessRequest) throws(LaunchError) -> [String] {
        var merged: [(String, String)] = []
        for name in request.inheritedVariables where request.environment[name] == nil {
            if let value = getenv(name) { merged.append((name, String(cString: value))) }
        }
        for name in request.environment.keys.sorted() {
            if let value = request.environment[name] { merged.append((name, value)) }
        }
        var result: [String] = []
        for (name, value) in merged {
            if name.isEmpty || name.contains("=") || name.utf8.contains(0) {
                throw .invalidEnvironment("variable name \"\(name)\" is empty or contains '=' or a NUL byte")
            }
            if value.utf8.contains(0) { throw .invalidEnvironment("the value of \(name) contains a NUL byte") }
            result.append("\(name)=\(value)")
        }
        return result
    }

    /// A log opened on first output (-1 when it cannot be: the output is dropped, as a full disk would).
    /// Log files are never opened through a symlink (an agent may plant one in the logs folder).
    static func openLogLazily(_ path: String) -> Int32 {
        open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o600)
    }

    private static func openLog(_ path: String) throws(LaunchError) -> Int32 {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o600)
        if fd < 0 { throw .cannotOpenLog(path: path, errno: errno) }
        return fd
    }

    private static func openInput(_ input: StandardInput) throws(LaunchError) -> Int32 {
        switch input {
        case .null:
            let fd = open("/dev/null", O_RDONLY | O_CLOEXEC)
            if fd < 0 { throw .cannotOpenInput(path: "/dev/null", errno: errno) }
            return fd
        case .file(let path):
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            if fd < 0 { throw .cannotOpenInput(path: path, errno: errno) }
            return fd
        case .bytes(let bytes):
            // An anonymous memory file: no pipe to feed (so no deadlock and no SIGPIPE), nothing on disk.
            var fd: Int32 = -1
            if let memfd = LinuxCalls.shared.memfdCreate { fd = memfd("orchestrator-stdin", 1 /* MFD_CLOEXEC */) }
            if fd < 0 {
                // Fallback: an unlinked temporary file.
                var template = Array("/tmp/orchestrator-stdin-XXXXXX".utf8CString)
                fd = template.withUnsafeMutableBufferPointer { buffer -> Int32 in
                    guard let base = buffer.baseAddress else { return -1 }
                    let made = mkstemp(base)
                    if made >= 0 {
                        unlink(base)
                        _ = fcntl(made, F_SETFD, FD_CLOEXEC)
                    }
                    return made
                }
                if fd < 0 { throw .systemCall(name: "memfd_create/mkstemp", errno: errno) }
            }
            if let code = writeAll(fd, bytes) {
                close(fd)
                throw .systemCall(name: "write (standard input)", errno: code)
            }
            if lseek(fd, 0, SEEK_SET) < 0 {
                let code = errno
                close(fd)
                throw .systemCall(name: "lseek", errno: code)
            }
            return fd
        }
    }

    private static func pipe() throws(LaunchError) -> (Int32, Int32) {
        switch LinuxCalls.shared.makePipe() {
        case .success(let ends): return (ends.read, ends.write)
        case .failure(let failure): throw .systemCall(name: failure.call, errno: failure.code)
        }
    }

    private static func socketPair() throws(LaunchError) -> (Int32, Int32) {
        var ends: [Int32] = [-1, -1]
        let rc = ends.withUnsafeMutableBufferPointer { buffer -> Int32 in
            guard let base = buffer.baseAddress else { return -1 }
            return socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, base)
        }
        if rc != 0 { throw .systemCall(name: "socketpair", errno: errno) }
        return (ends[0], ends[1])
    }

    private static func spawn(
        arguments: [String], environment: [String], fds: OpenFiles, request: ProcessRequest
    ) throws(LaunchError) -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, fds.stdin, 0)
        posix_spawn_file_actions_adddup2(&actions, fds.stdoutWrite, 1)
        posix_spawn_file_actions_adddup2(&actions, fds.stderrWrite, 2)
        if fds.gateRead >= 0 { posix_spawn_file_actions_adddup2(&actions, fds.gateRead, 3) }
        // Nothing else: descriptors the runner inherited without close-on-exec must not reach
        // the step either.
        let firstClosed: Int32 = fds.gateRead >= 0 ? 4 : 3
        if let addCloseFrom = LinuxCalls.shared.addCloseFrom {
            let rc = addCloseFrom(&actions, firstClosed)
            if rc != 0 { throw .systemCall(name: "posix_spawn_file_actions_addclosefrom_np", errno: rc) }
        } else {
            for fd in openDescriptors() where fd >= firstClosed {
                posix_spawn_file_actions_addclose(&actions, fd)
            }
        }
        if let addChdir = LinuxCalls.shared.addChdir {
            let rc = request.workingDirectory.withCString { addChdir(&actions, $0) }
            if rc != 0 { throw .systemCall(name: "posix_spawn_file_actions_addchdir_np", errno: rc) }
        }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // Its own process group (so a timeout can kill the whole tree), no blocked signals, and
        // every signal back to its default action (the runner's handlers and ignores do not leak).
        posix_spawnattr_setpgroup(&attributes, 0)
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setflags(
            &attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) }
        var envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup($0) }
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        if argv.contains(where: { $0 == nil }) || envp.contains(where: { $0 == nil }) {
            throw .systemCall(name: "strdup", errno: ENOMEM)
        }
        argv.append(nil)
        envp.append(nil)
        var pid: pid_t = 0
        let program = arguments.first ?? "/bin/sh"
        let rc = posix_spawn(&pid, program, &actions, &attributes, argv, envp)
        if rc != 0 { throw .spawnFailed(program: program, errno: rc) }
        return pid
    }

    /// Sets each limit as soft and hard limit of the waiting child. A value above the hard limit
    /// that cannot be raised (no privilege) is clamped to the hard limit and reported.
    private static func applyLimits(_ limits: ResourceLimits, to pid: pid_t) throws(LaunchError) -> [EnforcementNotice] {
        guard let prlimit = LinuxCalls.shared.prlimit else {
            throw .cannotApplyLimit(name: "all", errno: ENOSYS)
        }
        var notices: [EnforcementNotice] = []
        let wanted: [(String, Int32, Int?, UInt64)] = [
            ("max_memory_mb", Int32(RLIMIT_AS.rawValue), limits.maxMemoryMB, 1024 * 1024),
            ("max_cpu_seconds", Int32(RLIMIT_CPU.rawValue), limits.maxCPUSeconds, 1),
            ("max_processes", 6 /* RLIMIT_NPROC on Linux; not exported by the Glibc module */, limits.maxProcesses, 1),
            ("max_open_files", Int32(RLIMIT_NOFILE.rawValue), limits.maxOpenFiles, 1),
        ]
        for (name, resource, value, unit) in wanted {
            guard let value else { continue }
            let (product, overflow) = UInt64(value).multipliedReportingOverflow(by: unit)
            let amount = overflow ? UInt64.max : product
            var limit = rlimit(rlim_cur: rlim_t(amount), rlim_max: rlim_t(amount))
            if prlimit(pid, resource, &limit, nil) == 0 { continue }
            let code = errno
            guard code == EPERM else { throw .cannotApplyLimit(name: name, errno: code) }
            var current = rlimit()
            guard prlimit(pid, resource, nil, &current) == 0 else { throw .cannotApplyLimit(name: name, errno: errno) }
            var clamped = rlimit(rlim_cur: current.rlim_max, rlim_max: current.rlim_max)
            guard prlimit(pid, resource, &clamped, nil) == 0 else { throw .cannotApplyLimit(name: name, errno: errno) }
            let applied = UInt64(current.rlim_max) / unit
            notices.append(
                EnforcementNotice(
                    setting: name, value: String(value), level: .partiallyEnforced,
                    message: "above the hard limit the runner may set; \(applied) applied instead"))
        }
        if limits.maxProcesses != nil && geteuid() == 0 {
            notices.append(
                EnforcementNotice(
                    setting: "max_processes", value: String(limits.maxProcesses ?? 0), level: .notEnforced,
                    message: "the runner runs as root, and the kernel does not enforce RLIMIT_NPROC for root"))
        }
        return notices
    }

    // MARK: Supervision

    private var timedOut = false
    private var cancelled = false
    private var terminateSentAt: ContinuousClock.Instant?
    private var killSentAt: ContinuousClock.Instant?
    private var leaderStatus: Int32?
    private var leaderExitedAt: ContinuousClock.Instant?
    private var leftovers = false
    private var groupGone = false
    private var lastGroupCheck: ContinuousClock.Instant?
    private var stdoutBytes: Int64 = 0
    private var stderrBytes: Int64 = 0
    private var logWriteFailure: Int32?
    private var rawStdout = TailWindow(limit: RawOutput.window)
    private var rawStderr = TailWindow(limit: RawOutput.window)

    init(
        request: ProcessRequest, pid: pid_t, stdoutRead: Int32, stderrRead: Int32, stdoutLog: Int32, stderrLog: Int32,
        pidfd: Int32, notices: [EnforcementNotice], started: ContinuousClock.Instant
    ) {
        self.request = request
        self.pid = pid
        self.stdoutRead = stdoutRead
        self.stderrRead = stderrRead
        self.stdoutLog = stdoutLog
        self.stderrLog = stderrLog
        self.pidfd = pidfd
        self.notices = notices
        self.started = started
    }

    private mutating func signalGroup(_ signal: Int32) {
        // The group id is the leader's pid. Until the leader is reaped its pid (and so the group
        // id) cannot be reused; after that the group exists only while members remain.
        kill(-pid, signal)
    }

    private mutating func beginTermination(_ now: ContinuousClock.Instant) {
        guard terminateSentAt == nil else { return }
        signalGroup(SIGTERM)
        terminateSentAt = now
    }

    private mutating func reapLeaderIfExited(_ now: ContinuousClock.Instant) {
        guard leaderStatus == nil else { return }
        var status: Int32 = 0
        let rc = waitpid(pid, &status, WNOHANG)
        if rc == pid {
            leaderStatus = status
            leaderExitedAt = now
            // Anything left in the group is a leftover of the step: it ends with the step.
            if processGroupHasLiveMembers(pid) {
                leftovers = true
                beginTermination(now)
            }
        } else if rc < 0 && errno == ECHILD {
            // Someone else reaped it (a waitpid(-1) elsewhere in the process): report a failure.
            leaderStatus = 127 << 8
            leaderExitedAt = now
        }
    }

    /// Whether the group (after the leader has been reaped) still has live members: once gone it
    /// stays gone; while it lives, /proc is looked at no more than every 20 ms.
    private mutating func groupHasLiveMembers(_ now: ContinuousClock.Instant) -> Bool {
        if groupGone { return false }
        if let last = lastGroupCheck, now < last + .milliseconds(20) { return true }
        lastGroupCheck = now
        groupGone = !processGroupHasLiveMembers(pid)
        return !groupGone
    }

    mutating func supervise(alsoCancelledBy taskCancellation: ProcessCancellation?) -> ProcessResult {
        let clock = ContinuousClock()
        var stdoutMasking = request.masker.stream()
        var stderrMasking = request.masker.stream()
        // Not zero-filled (every process's supervision makes one): only bytes read are used.
        var buffer = [UInt8](unsafeUninitializedCapacity: 65536) { _, count in count = 65536 }
        let deadline = request.timeout.map { started + $0 }
        let grace = request.terminationGracePeriod
        let tick = Duration.milliseconds(50)
        var nextHeartbeat = request.heartbeatInterval.map { started + $0 }

        while true {
            let now = clock.now
            if let due = nextHeartbeat, let interval = request.heartbeatInterval, now >= due, leaderStatus == nil {
                request.onHeartbeat?(stdoutBytes, stderrBytes)
                nextHeartbeat = due + interval
            }
            reapLeaderIfExited(now)
            if leaderStatus == nil {
                if let deadline, now >= deadline, !timedOut, !cancelled {
                    timedOut = true
                    beginTermination(now)
                }
                let cancelRequested =
                    (request.cancellation?.isCancelled ?? false) || (taskCancellation?.isCancelled ?? false)
                if cancelRequested, !timedOut, !cancelled {
                    cancelled = true
                    beginTermination(now)
                }
            }
            if let sent = terminateSentAt, killSentAt == nil, now >= sent + grace {
                signalGroup(SIGKILL)
                killSentAt = now
            }
            if let exitedAt = leaderExitedAt {
                let groupAlive = groupHasLiveMembers(now)
                let pipesOpen = stdoutRead >= 0 || stderrRead >= 0
                if !groupAlive && !pipesOpen { break }
                // A process that left the group may still hold the pipes: read what it wrote
                // until the group is gone, then give up on the pipes shortly after.
                if !groupAlive && now >= exitedAt + .milliseconds(200) && (killSentAt.map { now >= $0 + .milliseconds(200) } ?? true) {
                    break
                }
                // Unkillable (uninterruptible sleep): stop waiting a while after SIGKILL.
                if let killed = killSentAt, now >= killed + .seconds(2) { break }
            }

            // Wait for output, the leader's exit (pidfd) or the next moment something is due.
            var wait = tick
            if leaderStatus == nil, let deadline, !timedOut { wait = min(wait, max(.zero, deadline - now)) }
            if let sent = terminateSentAt, killSentAt == nil { wait = min(wait, max(.zero, sent + grace - now)) }
            if leaderExitedAt != nil { wait = min(wait, .milliseconds(20)) }
            var pollSet: [pollfd] = []
            if stdoutRead >= 0 { pollSet.append(pollfd(fd: stdoutRead, events: Int16(POLLIN), revents: 0)) }
            if stderrRead >= 0 { pollSet.append(pollfd(fd: stderrRead, events: Int16(POLLIN), revents: 0)) }
            if pidfd >= 0 && leaderStatus == nil { pollSet.append(pollfd(fd: pidfd, events: Int16(POLLIN), revents: 0)) }
            let (seconds, attoseconds) = wait.components
            let milliseconds = Int32(clamping: seconds * 1000 + attoseconds / 1_000_000_000_000_000 + (attoseconds % 1_000_000_000_000_000 > 0 ? 1 : 0))
            let ready = poll(&pollSet, nfds_t(pollSet.count), milliseconds)
            if ready < 0 && errno != EINTR { usleep(10_000) }
            if ready <= 0 { continue }
            for entry in pollSet where entry.revents != 0 {
                if entry.fd == pidfd { continue }
                let isStdout = entry.fd == stdoutRead
                let count = buffer.withUnsafeMutableBytes { raw -> Int in
                    guard let base = raw.baseAddress else { return -1 }
                    return read(entry.fd, base, raw.count)
                }
                if count < 0 && (errno == EINTR || errno == EAGAIN) { continue }
                if count <= 0 {
                    if isStdout { closeFD(&stdoutRead) } else { closeFD(&stderrRead) }
                    continue
                }
                let chunk = Array(buffer[0..<count])
                if isStdout { rawStdout.append(chunk) } else { rawStderr.append(chunk) }
                var failure: Int32?
                if isStdout {
                    let masked = stdoutMasking.feed(chunk)
                    if stdoutLog < 0 && !masked.isEmpty { stdoutLog = Supervisor.openLogLazily(request.stdoutLogPath) }
                    if logWriteFailure == nil, !masked.isEmpty { failure = stdoutLog < 0 ? errno : writeAll(stdoutLog, masked) }
                    stdoutBytes += Int64(masked.count)
                } else {
                    let masked = stderrMasking.feed(chunk)
                    if stderrLog < 0 && !masked.isEmpty { stderrLog = Supervisor.openLogLazily(request.stderrLogPath) }
                    if logWriteFailure == nil, !masked.isEmpty { failure = stderrLog < 0 ? errno : writeAll(stderrLog, masked) }
                    stderrBytes += Int64(masked.count)
                }
                if let failure, logWriteFailure == nil {
                    // Nothing is lost silently: the step stops, and says why (ENOSPC: a full disk).
                    logWriteFailure = failure
                    for fd in [stdoutLog, stderrLog] where fd >= 0 && lseek(fd, 0, SEEK_END) > off_t(LogWriteFailure.keptBytes) {
                        _ = ftruncate(fd, off_t(LogWriteFailure.keptBytes))
                        _ = lseek(fd, off_t(LogWriteFailure.keptBytes), SEEK_SET)
                    }
                    if !timedOut, !cancelled {
                        cancelled = true
                        beginTermination(clock.now)
                    }
                }
            }
        }

        // Reap the leader if the loop ended before it (cannot happen unless SIGKILL did not take).
        if leaderStatus == nil {
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            leaderStatus = status
        }
        let stdoutRest = stdoutMasking.finish()
        if stdoutLog < 0 && !stdoutRest.isEmpty { stdoutLog = Supervisor.openLogLazily(request.stdoutLogPath) }
        writeAll(stdoutLog, stdoutRest)
        stdoutBytes += Int64(stdoutRest.count)
        let stderrRest = stderrMasking.finish()
        if stderrLog < 0 && !stderrRest.isEmpty { stderrLog = Supervisor.openLogLazily(request.stderrLogPath) }
        writeAll(stderrLog, stderrRest)
        stderrBytes += Int64(stderrRest.count)
        closeFD(&stdoutRead)
        closeFD(&stderrRead)
        closeFD(&stdoutLog)
        closeFD(&stderrLog)
        closeFD(&pidfd)

        let ended = leaderExitedAt ?? clock.now
        let elapsed = ended - started
        let status = leaderStatus ?? 0
        let termination: Termination =
            (status & 0x7f) == 0 ? .exited((status >> 8) & 0xff) : .signaled(status & 0x7f)
        return ProcessResult(
            pid: pid, termination: termination, timedOut: timedOut, cancelled: cancelled,
            durationMS: elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000,
            stdoutLogPath: request.stdoutLogPath, stderrLogPath: request.stderrLogPath,
            stdoutBytes: stdoutBytes, stderrBytes: stderrBytes, terminatedLeftoverProcesses: leftovers,
            notices: notices,
            rawOutput: RawOutput(
                stdout: rawStdout.window, stderr: rawStderr.window, stdoutTruncated: rawStdout.dropped || rawStdout.bytes.count > RawOutput.window,
                stderrTruncated: rawStderr.dropped || rawStderr.bytes.count > RawOutput.window),
            logWriteFailure: logWriteFailure)
    }
}

/// What is left of a log whose write failed: its first bytes (the rest is cut to free space).
public enum LogWriteFailure {
    public static let keptBytes = 1 << 20
}

/// The unmasked tail of a process's two streams (see `ProcessResult.rawOutput`).
public struct RawOutput: Sendable, Equatable {
    /// How many bytes of each stream are kept: the window captures read (docs/runner.md).
    public static let window = 4 * 1024 * 1024

    public var stdout: [UInt8]
    public var stderr: [UInt8]
    /// Whether bytes before the window were dropped.
    public var stdoutTruncated: Bool
    public var stderrTruncated: Bool

    public init(stdout: [UInt8] = [], stderr: [UInt8] = [], stdoutTruncated: Bool = false, stderrTruncated: Bool = false) {
        self.stdout = stdout
        self.stderr = stderr
        self.stdoutTruncated = stdoutTruncated
        self.stderrTruncated = stderrTruncated
    }
}

/// The last `limit` bytes appended, in bounded memory (at most twice the limit between trims).
struct TailWindow {
    let limit: Int
    private(set) var bytes: [UInt8] = []
    private(set) var dropped = false

    init(limit: Int) {
        self.limit = limit
    }

    mutating func append(_ chunk: [UInt8]) {
        bytes.append(contentsOf: chunk)
        if bytes.count > 2 * limit {
            bytes.removeFirst(bytes.count - limit)
            dropped = true
        }
    }

    /// The window itself (the last `limit` bytes).
    var window: [UInt8] {
        guard bytes.count > limit else { return bytes }
        return Array(bytes[(bytes.count - limit)...])
    }
}

/// The descriptors of a launch in progress (closed on any failure).
private struct OpenFiles {
    var stdoutLog: Int32 = -1
    var stderrLog: Int32 = -1
    var stdin: Int32 = -1
    var stdoutRead: Int32 = -1
    var stdoutWrite: Int32 = -1
    var stderrRead: Int32 = -1
    var stderrWrite: Int32 = -1
    var gateRead: Int32 = -1
    var gateWrite: Int32 = -1

    mutating func closeAll() {
        closeFD(&stdoutLog)
        closeFD(&stderrLog)
        closeFD(&stdin)
        closeFD(&stdoutRead)
        closeFD(&stdoutWrite)
        closeFD(&stderrRead)
        closeFD(&stderrWrite)
        closeFD(&gateRead)
        closeFD(&gateWrite)
    }
}
