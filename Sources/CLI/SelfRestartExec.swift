import Platform
import Runner

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A foreground runner after a `self_restart` step (control-plane.md "Self-restart": "without a
/// daemon, `self_restart` re-execs the foreground runner the same way"): the process becomes
/// the rebuilt `orchestrator` (same PID, same terminal), which resumes the task at the next step.
enum SelfRestartExec {
    /// Set for the re-executed runner: the SHA-256 of the executable it replaced.
    static let previousBuildVariable = "ORCHESTRATOR_RESTARTED_FROM"

    /// Executes `request.binary` as `task resume ID --foreground`; returns only when that fails
    /// (the task stays `restart_pending` and `task resume` continues it).
    static func replaceProcess(_ request: RestartRequest, taskID: String, dataDirectory: String, quiet: Bool, context: CommandContext) -> ExitStatus {
        var arguments = [request.binary, "task", "resume", taskID, "--foreground", "--data-dir", dataDirectory]
        if quiet { arguments.append("--quiet") }
        var environment = context.environment
        environment[previousBuildVariable] = request.previousSHA256
        context.stdout.write(
            "self_restart: executing \(request.binary) (SHA-256 \(request.newSHA256.prefix(12)), was \(request.previousSHA256.prefix(12))) in this process (PID \(getpid()))\n")
        let failure = Platform.replaceProcess(arguments, environment: environment)
        context.stderr.write(
            "error: cannot execute \(request.binary): \(errnoDescription(failure)); task \(taskID) waits restart_pending: `orchestrator task resume \(taskID)` continues it\n")
        return .internalError
    }
}
