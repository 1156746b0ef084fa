import Platform
import Store

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// The `self_restart` builtin (control-plane.md "Self-restart"): the step runs the workspace's
// `build_command`; when it succeeds, the new executable is verified (`--help` exits 0), both
// executables are hashed, the running one is copied to `DATA/bin/NAME.stable`, and the task
// stops `restart_pending` at the step boundary. Whoever runs the runner (the daemon, or the
// foreground `run`) then re-executes itself from the new binary, same PID, and resumes the task
// at the next step. A runner without a host (a library caller) records the request only.

/// The process that can re-execute itself after a `self_restart` step rebuilt this tool.
public struct SelfRestartHost: Sendable {
    /// The executable running now (absolute): the new one has the same file name, in the
    /// workspace's `build_output` folder.
    public var executable: String
    /// Where the running executable is copied before the restart (`DATA/bin`).
    public var stableDirectory: String
    /// Where the bytes of the running executable are read (hashed, kept as `.stable`): the
    /// kernel's view of this process's image, right even when a build has already replaced the
    /// file at `executable` (the self-bootstrap case: the build writes where the daemon runs from).
    public var runningImage: String = "/proc/self/exe"

    public init(executable: String, stableDirectory: String) {
        self.executable = executable
        self.stableDirectory = stableDirectory
    }

    /// The path the running process's executable was started from (`/proc/self/exe`); nil where
    /// it cannot be read. A file replaced since reads as "PATH (deleted)": the path is kept.
    public static func currentExecutable() -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard count > 0 else { return nil }
        let path = String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return path.hasSuffix(" (deleted)") ? String(path.dropLast(" (deleted)".count)) : path
    }

    /// A restart asked for by hand (`orchestrator daemon restart`): `binary` is checked with
    /// `--help`, both images are hashed and the running one is kept as `.stable`, as for a
    /// `self_restart` step; an identical binary is restarted too (the operator asked).
    public func restartRequest(to binary: String) -> Result<RestartRequest, RunnerError> {
        switch SelfRestart.verified(binary: binary, host: self, root: "/") {
        case .failed(let message): return .failure(RunnerError(message))
        case .unchanged(let sha):
            let stable = stableDirectory + "/" + executableName + ".stable"
            if let problem = SelfRestart.copyExecutable(from: runningImage, to: stable) {
                return .failure(RunnerError("cannot keep a copy of the running executable for rollback: \(problem)"))
            }
            return .success(RestartRequest(binary: binary, previousSHA256: sha, newSHA256: sha, stableCopy: stable))
        case .restart(let request): return .success(request)
        }
    }

    /// The file name of the running executable (`orchestratord`, `orchestrator`).
    public var executableName: String { String(executable.split(separator: "/").last ?? Substring(executable)) }
}

/// What a successful `self_restart` step leaves for its host: the binary to execute next.
public struct RestartRequest: Sendable, Equatable {
    /// The new executable (absolute).
    public var binary: String
    /// SHA-256 (hex) of the executable that ran the step, and of the new one.
    public var previousSHA256: String
    public var newSHA256: String
    /// The copy of the previous executable, kept for rollback.
    public var stableCopy: String

    public init(binary: String, previousSHA256: String, newSHA256: String, stableCopy: String) {
        self.binary = binary
        self.previousSHA256 = previousSHA256
        self.newSHA256 = newSHA256
        self.stableCopy = stableCopy
    }
}

/// SHA-256 of an executable, the "build id" a runner records (`task_claimed`, `daemon_restarted`).
public enum BuildIdentity {
    /// The running executable's SHA-256 (of the process's image), computed once per process.
    public static let current: String? = FileDigest.sha256(ofFile: "/proc/self/exe")
}

enum SelfRestart {
    /// How long the new executable may take to answer `--help`.
    static let verifyTimeout: Duration = .seconds(60)

    enum Prepared {
        /// The new executable is ready: the host re-executes itself from it.
        case restart(RestartRequest)
        /// The build left the same executable as the one running: nothing to restart.
        case unchanged(sha256: String)
        /// The step fails with this message (the workflow's on_failure decides what follows).
        case failed(String)
    }

    /// Runs after the build command succeeded: finds, verifies, hashes and snapshots.
    static func prepare(host: SelfRestartHost, root: String, buildOutput: String) -> Prepared {
        let folder = buildOutput.hasPrefix("/") ? buildOutput : root + "/" + buildOutput
        return verified(binary: folder + "/" + host.executableName, host: host, root: root)
    }

    /// Checks `binary` with `--help`, hashes it and the running image, keeps the running one.
    static func verified(binary: String, host: SelfRestartHost, root: String) -> Prepared {
        guard access(binary, X_OK) == 0 else {
            return .failed(
                "the build left no executable \(binary) (\(errnoDescription(errno))); set the workspace's `build_output` to the folder the build writes `\(host.executableName)` to")
        }
        let verify = ProcessRequest(
            command: ShellQuoting.singleQuoted(binary) + " --help", workingDirectory: root, stdoutLogPath: "/dev/null",
            stderrLogPath: "/dev/null", timeout: verifyTimeout, terminationGracePeriod: .seconds(2))
        do throws(LaunchError) {
            let result = try ProcessLauncher.runBlocking(verify)
            guard result.succeeded else {
                let how = result.timedOut ? "did not answer within \(verifyTimeout)" : "exited \(result.exitCode)"
                return .failed("the new executable \(binary) failed its check: `--help` \(how); the running one stays")
            }
        } catch {
            return .failed("cannot run the new executable \(binary) to check it: \(error)")
        }
        guard let previous = FileDigest.sha256(ofFile: host.runningImage) else {
            return .failed("cannot read the running executable (\(host.runningImage)) to hash it: \(errnoDescription(errno))")
        }
        guard let new = FileDigest.sha256(ofFile: binary) else {
            return .failed("cannot read the new executable \(binary) to hash it: \(errnoDescription(errno))")
        }
        if previous == new { return .unchanged(sha256: new) }
        let stable = host.stableDirectory + "/" + host.executableName + ".stable"
        if let problem = copyExecutable(from: host.runningImage, to: stable) {
            return .failed("cannot keep a copy of the running executable for rollback: \(problem)")
        }
        return .restart(RestartRequest(binary: binary, previousSHA256: previous, newSHA256: new, stableCopy: stable))
    }

    /// Copies an executable all-or-nothing: a temporary file in the target folder, synced, then
    /// renamed over the target (mode 0755). Returns what went wrong.
    static func copyExecutable(from source: String, to target: String) -> String? {
        let folder = String(target[..<(target.lastIndex(of: "/") ?? target.startIndex)])
        if mkdir(folder, 0o700) != 0 && errno != EEXIST { return "cannot create \(folder): \(errnoDescription(errno))" }
        let input = open(source, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { return "cannot read \(source): \(errnoDescription(errno))" }
        defer { close(input) }
        let temporary = target + ".partial"
        let output = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o755)
        guard output >= 0 else { return "cannot write \(temporary): \(errnoDescription(errno))" }
        var block = [UInt8](repeating: 0, count: 1 << 20)
        var failure: String?
        while true {
            let count = block.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                failure = "cannot read \(source): \(errnoDescription(errno))"
                break
            }
            if count == 0 { break }
            if let code = writeFully(output, Array(block[..<count])) {
                failure = "cannot write \(temporary): \(errnoDescription(code))"
                break
            }
        }
        if failure == nil, fsync(output) != 0 { failure = "cannot sync \(temporary): \(errnoDescription(errno))" }
        close(output)
        if failure == nil, rename(temporary, target) != 0 { failure = "cannot rename \(temporary) to \(target): \(errnoDescription(errno))" }
        if failure != nil { unlink(temporary) }
        return failure
    }
}

/// Appends `text` to a log file (created 0600 when missing); best effort, like the log itself.
func appendToFile(_ path: String, _ text: String) {
    let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
    guard fd >= 0 else { return }
    defer { close(fd) }
    writeFully(fd, Array(text.utf8))
}
