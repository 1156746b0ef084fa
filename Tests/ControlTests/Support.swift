import Control
import Foundation
import JSON

/// The `orchestratord` binary built beside the test bundle (as CLITests find `orchestrator`).
let daemonExecutable: String = {
    var directory = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
    // On macOS the bundle is a directory (…/orchestratorPackageTests.xctest/Contents/MacOS).
    while directory.path.contains(".xctest"), directory.path != "/" { directory.deleteLastPathComponent() }
    return directory.appendingPathComponent("orchestratord").path
}()

/// ROOT/m.yaml: workspace `ws` at ROOT/ws (created here) and workflow `wf` of `steps` (list
/// lines indented four spaces), then `more` documents; returns its path.
func writeWorkflowManifest(root: String, steps: String, more: String = "") throws -> String {
    try FileManager.default.createDirectory(atPath: root + "/ws", withIntermediateDirectories: true)
    let manifest = """
        apiVersion: orchestrator.dev/v2
        kind: Workspace
        metadata: {name: ws}
        spec: {root_path: \(root)/ws, qa_targets: []}
        ---
        apiVersion: orchestrator.dev/v2
        kind: Workflow
        metadata: {name: wf}
        spec:
          steps:
        \(steps)
        \(more)
        """
    try manifest.write(toFile: root + "/m.yaml", atomically: true, encoding: .utf8)
    return root + "/m.yaml"
}

/// A fresh directory with a short path (Unix socket paths are limited to 107 bytes).
func scratchDirectory() throws -> String {
    let path = "/tmp/od-" + UUID().uuidString.prefix(8).lowercased()
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// Polls `condition` every 20 ms for at most `seconds`.
func eventually(_ seconds: Double, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        usleep(20_000)
    }
    return condition()
}

/// What a finished process printed.
struct Finished {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs a program to its end (stdin from /dev/null), collecting both streams.
func runToEnd(_ executable: String, _ arguments: [String], input: String? = nil, environment extra: [String: String] = [:]) throws -> Finished {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if !extra.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(extra) { $1 } }
    if let input {
        let pipe = Pipe()
        process.standardInput = pipe
        let bytes = Data(input.utf8)
        Thread {
            pipe.fileHandleForWriting.write(bytes)
            try? pipe.fileHandleForWriting.close()
        }.start()
    } else {
        process.standardInput = FileHandle.nullDevice
    }
    let output = Pipe(), errors = Pipe()
    process.standardOutput = output
    process.standardError = errors
    try process.run()
    nonisolated(unsafe) var errorBytes = Data()
    let reader = Thread { errorBytes = errors.fileHandleForReading.readDataToEndOfFile() }
    reader.start()
    let outputBytes = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    while !reader.isFinished { usleep(1_000) }
    return Finished(
        status: process.terminationStatus, stdout: String(decoding: outputBytes, as: UTF8.self),
        stderr: String(decoding: errorBytes, as: UTF8.self))
}

/// A foreground `orchestratord` started by a test, its stderr kept in `DATA/../stderr.log`.
final class ForegroundDaemon {
    let process = Process()
    let dataDirectory: String
    let stderrPath: String

    init(dataDirectory: String, extra: [String] = [], executable: String = daemonExecutable, environment: [String: String] = [:]) throws {
        self.dataDirectory = dataDirectory
        stderrPath = dataDirectory + "-stderr.log"
        _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["--foreground", "--data-dir", dataDirectory] + extra
        if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle(forWritingAtPath: stderrPath)
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }

    /// Waits until the socket answers and the worker pool has opened the store (the status
    /// names the binary's build id) (true), or the process ended / 10 s passed (false).
    func waitUntilServing() -> Bool {
        eventually(10) {
            guard process.isRunning else { return true }
            guard let answer = try? ControlClient(dataDirectory: dataDirectory, timeoutSeconds: 2).request("status") else { return false }
            return DaemonStatus(json: answer)?.binarySHA256 != nil
        } && process.isRunning
    }

    var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    /// Sends `signal` and waits for the end; the exit status, or nil after 15 s.
    func stop(_ signal: Int32 = SIGTERM) -> Int32? {
        if process.isRunning { kill(pid, signal) }
        guard eventually(15, { !process.isRunning }) else { return nil }
        return process.terminationStatus
    }

    deinit {
        if process.isRunning {
            kill(pid, SIGKILL)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: stderrPath)
    }
}

func isSocket(_ path: String) -> Bool {
    var info = stat()
    return lstat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFSOCK
}
