import CLI
import Foundation

/// What a command printed and how it ended.
struct CommandResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs a command line in-process with captured streams.
func runInProcess(
    _ arguments: [String], stdin: String = "", environment: [String: String] = [:], directory: String = "."
) -> CommandResult {
    var environment = environment
    if environment["XDG_CONFIG_HOME"] == nil { environment["XDG_CONFIG_HOME"] = testConfigurationHome }
    let context = CommandContext.captured(stdin: Array(stdin.utf8), environment: environment, currentDirectory: directory)
    let status = Orchestrator.main(arguments, context: context)
    return CommandResult(status: status.rawValue, stdout: context.stdout.text, stderr: context.stderr.text)
}

/// The configuration directory of in-process commands that name none, so that the secret key
/// file the tests create is never the user's own (~/.config/orchestrator/secret.key).
let testConfigurationHome: String = NSTemporaryDirectory() + "orchestrator-tests-config-\(getpid())"

/// The package root (this file is Tests/CLITests/Support.swift).
let packageRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.path
}()

/// ../shared beside the package, when present.
let sharedDirectory: String? = {
    let path = URL(fileURLWithPath: packageRoot).deletingLastPathComponent().appendingPathComponent("shared").path
    return FileManager.default.fileExists(atPath: path) ? path : nil
}()

/// The `orchestrator` executable built next to the test bundle.
let orchestratorExecutable: String = {
    let me = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
    var directory = me.deletingLastPathComponent()
    // The test bundle may be a directory (…/orchestratorPackageTests.xctest on macOS).
    if directory.lastPathComponent.hasSuffix(".xctest") || directory.path.contains(".xctest/") {
        while directory.lastPathComponent != "debug" && directory.lastPathComponent != "release" && directory.path != "/" {
            directory.deleteLastPathComponent()
        }
    }
    return directory.appendingPathComponent("orchestrator").path
}()

/// Runs the real executable as a child process.
func runExecutable(
    _ arguments: [String], stdin: String = "", environment: [String: String]? = nil, directory: String? = nil
) throws -> CommandResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: orchestratorExecutable)
    process.arguments = arguments
    if let environment { process.environment = environment }
    if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
    let input = Pipe(), output = Pipe(), error = Pipe()
    process.standardInput = input
    process.standardOutput = output
    process.standardError = error
    try process.run()
    input.fileHandleForWriting.write(Data(stdin.utf8))
    try input.fileHandleForWriting.close()
    // Read both pipes to the end before waiting, so a large output cannot block the child.
    nonisolated(unsafe) var errorData = Data()
    let errorReader = Thread { errorData = error.fileHandleForReading.readDataToEndOfFile() }
    errorReader.start()
    let outputData = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    while !errorReader.isFinished { usleep(1000) }
    return CommandResult(
        status: process.terminationStatus, stdout: String(decoding: outputData, as: UTF8.self),
        stderr: String(decoding: errorData, as: UTF8.self))
}

/// A new empty directory under the system's temporary directory.
func makeTemporaryDirectory(_ label: String = "cli") throws -> String {
    let path = NSTemporaryDirectory() + "orchestrator-\(label)-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// Writes `text` to `directory/name` and returns the path.
@discardableResult
func writeFile(_ directory: String, _ name: String, _ text: String) throws -> String {
    let path = directory + "/" + name
    try FileManager.default.createDirectory(
        atPath: URL(fileURLWithPath: path).deletingLastPathComponent().path, withIntermediateDirectories: true)
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}
