import Store
import Runner
import Diagnostics

import Platform

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Exit codes of spec/cli.md.
public enum ExitStatus: Int32, Sendable {
    /// Success, nothing found.
    case success = 0
    /// Findings: an invalid manifest, a lint error, a failed task, drift found by `diff`.
    case findings = 1
    /// Bad usage: a bad flag, a missing file.
    case usage = 2
    /// An internal error.
    case internalError = 3
}

/// Where a command writes. Real runs write to the process's streams; tests capture them.
public final class OutputStream: @unchecked Sendable {
    /// What was written (captured streams only), behind the lock every write holds.
    private let buffer = Locked<[UInt8]>([])
    private let fileDescriptor: Int32?
    /// Where written bytes go instead (a command run for a daemon client streams them back).
    private let sink: (@Sendable ([UInt8]) -> Void)?
    public let isTerminal: Bool

    /// The terminal's width in columns, when this stream is a terminal that reports one.
    public var columns: Int? {
        guard isTerminal, let fileDescriptor else { return nil }
        var size = winsize()
        guard ioctl(fileDescriptor, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return nil }
        return Int(size.ws_col)
    }

    /// A stream that writes straight to a file descriptor (1 or 2).
    public init(fileDescriptor: Int32) {
        self.fileDescriptor = fileDescriptor
        self.sink = nil
        self.isTerminal = isatty(fileDescriptor) == 1
    }

    /// A stream that keeps what is written (for tests).
    public init() {
        self.fileDescriptor = nil
        self.sink = nil
        self.isTerminal = false
    }

    /// A stream that hands every write to `sink`, in order (the daemon runs a client's command
    /// with these; `isTerminal` is what the client's stream is).
    public init(isTerminal: Bool, sink: @escaping @Sendable ([UInt8]) -> Void) {
        self.fileDescriptor = nil
        self.sink = sink
        self.isTerminal = isTerminal
    }

    public func write(_ text: String) {
        write(Array(text.utf8))
    }

    public func write(_ bytes: [UInt8]) {
        buffer.withLock { buffer in
            if let sink {
                if !bytes.isEmpty { sink(bytes) }
            } else if let fd = fileDescriptor {
                var offset = 0
                while offset < bytes.count {
                    let written = bytes[offset...].withUnsafeBytes { raw in
                        #if canImport(Glibc)
                        Glibc.write(fd, raw.baseAddress, raw.count)
                        #else
                        Darwin.write(fd, raw.baseAddress, raw.count)
                        #endif
                    }
                    if written < 0 {
                        if errno == EINTR { continue }
                        return
                    }
                    offset += written
                }
            } else {
                buffer.append(contentsOf: bytes)
            }
        }
    }

    /// What was written, for captured streams.
    public var text: String { buffer.withLock { String(decoding: $0, as: UTF8.self) } }
}

/// Everything a command may touch of its surroundings, so tests can run commands in-process.
public struct CommandContext: Sendable {
    public var stdout: OutputStream
    public var stderr: OutputStream
    /// Reads standard input (called at most once, for `-`); the process reads at most one byte more
    /// than `FileSystem.inputLimit`, so an endless stream is refused with bounded memory.
    public var readStandardInput: @Sendable () -> [UInt8]
    public var environment: [String: String]
    public var currentDirectory: String
    /// `--verbose`: commands say which data directory they use and in which mode.
    public var verbose = false
    /// The `orchestrator` executable this process runs, when the process is the CLI itself: a
    /// foreground runner re-executes it after a `self_restart` step (nil: the CLI runs inside
    /// another program, which cannot be replaced).
    public var executable: String?
    /// Set when the command runs inside the daemon (forwarded by a client over the socket).
    public var daemonHost: DaemonHost?
    /// The shared store: `--store URL`, else `$ORCHESTRATOR_STORE`; in the daemon, the daemon's.
    /// Nil: the SQLite database of the data directory.
    public var storeLocation: StoreLocation?

    public init(
        stdout: OutputStream, stderr: OutputStream, readStandardInput: @escaping @Sendable () -> [UInt8],
        environment: [String: String], currentDirectory: String
    ) {
        self.stdout = stdout
        self.stderr = stderr
        self.readStandardInput = readStandardInput
        self.environment = environment
        self.currentDirectory = currentDirectory
    }

    /// The context of the running process (the `orchestrator` executable).
    public static func process() -> CommandContext {
        let environment = processEnvironment()
        var cwd = [CChar](repeating: 0, count: 4096)
        let directory = getcwd(&cwd, cwd.count).map { _ in String(decoding: cwd.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self) } ?? "."
        var context = CommandContext(
            stdout: OutputStream(fileDescriptor: 1), stderr: OutputStream(fileDescriptor: 2),
            readStandardInput: { FileSystem.readAll(fileDescriptor: 0, limit: FileSystem.inputLimit + 1) },
            environment: environment, currentDirectory: directory)
        context.executable = SelfRestartHost.currentExecutable()
        return context
    }

    /// A context whose output is captured (for tests); `stdin` is what standard input holds.
    public static func captured(stdin: [UInt8] = [], environment: [String: String] = [:], currentDirectory: String = ".") -> CommandContext {
        CommandContext(
            stdout: OutputStream(), stderr: OutputStream(), readStandardInput: { stdin },
            environment: environment, currentDirectory: currentDirectory)
    }
}
