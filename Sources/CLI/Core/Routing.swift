import Control
import JSON
import Platform
import Store

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Where a command runs (control-plane.md "Processes and modes"): a command that reads or changes
// the store runs in the daemon when one serves its data directory (the `command` verb of
// docs/protocol.md: the daemon runs it in-process and streams what it writes back), and here,
// embedded, when none does. The rest (parsing, linting, planning, foreground runs, live panels,
// the daemon's own commands) always runs in the client.

/// Where a parsed command runs when a daemon serves its data directory.
public enum DaemonRouting: Sendable, Equatable {
    /// In this process, whatever serves the data directory.
    case here
    /// In the daemon serving this data directory (`--data-dir` as given, nil: the default), else here.
    case daemon(dataDirectory: String?)
}

/// The daemon a command runs inside of (a forwarded command), for the messages that name it.
public struct DaemonHost: Sendable, Equatable {
    public var pid: Int32
    public var workers: Int
    /// The store the daemon serves (nil: its data directory's SQLite database): forwarded
    /// commands use it.
    public var store: StoreLocation?

    public init(pid: Int32, workers: Int, store: StoreLocation? = nil) {
        self.pid = pid
        self.workers = workers
        self.store = store
    }
}

public enum CommandForwarder {
    /// Set to `1` to run every command embedded, even when a daemon serves the data directory.
    static let embeddedVariable = "ORCHESTRATOR_EMBEDDED"

    /// Runs `words` (the command's path and its arguments) in the daemon serving the data
    /// directory; nil when none serves it (the caller runs the command here). `context` may
    /// have its standard input replaced by what was read for forwarding.
    static func forward(_ words: [String], dataDirectory: String?, context: inout CommandContext) -> ExitStatus? {
        guard context.daemonHost == nil, context.environment[embeddedVariable] != "1" else { return nil }
        // A shared store (PostgreSQL) is the same wherever the command runs, and its queue is
        // served by every daemon on it: the command runs here (docs/scale-out.md).
        if context.storeLocation != nil { return nil }
        let data = DataDirectory.path(dataDirectory, context: context)
        // The common embedded case costs one stat: no socket file, no daemon.
        guard access(ControlClient.socketPath(dataDirectory: data), F_OK) == 0 else { return nil }
        let client: ControlClient
        do throws(ControlClientError) {
            client = try ControlClient(dataDirectory: data, timeoutSeconds: nil)
        } catch {
            return nil
        }
        defer { client.close() }
        var arguments = words
        if context.verbose && !arguments.contains("--verbose") { arguments.insert("--verbose", at: 0) }
        var input: String?
        if ForwardedCommand.readsStandardInput(words) {
            let bytes = context.readStandardInput()
            // Read once: the command sees the same bytes wherever it runs.
            context.readStandardInput = { bytes }
            guard bytes.count <= ForwardedCommand.maxForwardedInputBytes, let text = String(validating: bytes, as: UTF8.self) else {
                return nil
            }
            input = text
        }
        let request = ForwardedCommand(
            arguments: arguments, currentDirectory: context.absoluteDirectory, environment: context.environment, standardInput: input,
            stdoutIsTerminal: context.stdout.isTerminal, stderrIsTerminal: context.stderr.isTerminal, columns: context.stdout.columns)
        let output = (context.stdout, context.stderr)
        do throws(ControlClientError) {
            let end = try client.stream(DaemonVerb.command.rawValue, args: request.json) { item in
                if let piece = ForwardedOutput(json: item) {
                    (piece.stream == .stdout ? output.0 : output.1).write(piece.text)
                }
                return true
            }
            guard let end, let code = ForwardedOutput.exitStatus(ofEnd: end), let status = ExitStatus(rawValue: code) else {
                context.stderr.write("orchestrator: error: the daemon serving \(data) ended the command without an exit status; see DATA/daemon.log\n")
                return .internalError
            }
            return status
        } catch {
            if case .refused(let refusal) = error, refusal.code == .unknownVerb {
                // A daemon of an older version: it serves the queue, the command runs here.
                return nil
            }
            context.stderr.write(
                "orchestrator: error: the daemon serving \(data) could not run the command: \(error)\n"
                    + "  = help: `orchestrator daemon status` shows the daemon; \(embeddedVariable)=1 runs the command here instead\n")
            return .internalError
        }
    }

    /// The daemon's side of the `command` verb: runs one forwarded command line in this process
    /// and streams what it writes; the exit status is the `end` payload.
    public static func serve(_ command: ForwardedCommand, host: DaemonHost, send: @escaping @Sendable (ForwardedOutput) -> Void) -> ExitStatus {
        let stdout = OutputStream(isTerminal: command.stdoutIsTerminal) { send(ForwardedOutput(stream: .stdout, text: String(decoding: $0, as: UTF8.self))) }
        let stderr = OutputStream(isTerminal: command.stderrIsTerminal) { send(ForwardedOutput(stream: .stderr, text: String(decoding: $0, as: UTF8.self))) }
        let input = Array((command.standardInput ?? "").utf8)
        var context = CommandContext(
            stdout: stdout, stderr: stderr, readStandardInput: { input }, environment: command.environment,
            currentDirectory: command.currentDirectory)
        context.daemonHost = host
        context.storeLocation = host.store
        return Orchestrator.main(command.arguments, context: context)
    }
}
