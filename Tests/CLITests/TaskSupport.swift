import CLI
import Foundation
import JSON
import Testing

/// A temporary directory with a workspace (`ws/`), a data directory (`data/`) and manifests,
/// for running tasks in-process (or through the real executable).
final class TaskSandbox: @unchecked Sendable {
    let root: String
    var workspace: String { root + "/ws" }
    var data: String { root + "/data" }

    init(_ label: String) throws {
        root = try makeTemporaryDirectory(label)
        try FileManager.default.createDirectory(atPath: root + "/ws", withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }

    /// Writes a file under the workspace.
    @discardableResult
    func file(_ relative: String, _ text: String) throws -> String {
        try writeFile(workspace, relative, text)
    }

    /// Writes `manifest.yaml` with a Workspace `ws` (root: the workspace) in front of `documents`.
    @discardableResult
    func manifest(_ documents: String, name: String = "manifest.yaml", workspaceSpec: String = "qa_targets: [qa]") throws -> String {
        let text = """
            apiVersion: orchestrator.dev/v2
            kind: Workspace
            metadata:
              name: ws
            spec:
              root_path: ws
              \(workspaceSpec)
            ---

            """ + documents
        return try writeFile(root, name, text)
    }

    /// `orchestrator ARGS --data-dir DATA` in-process, in the sandbox directory (or `directory`).
    func cli(_ arguments: [String], in directory: String? = nil) -> CommandResult {
        runInProcess(arguments + ["--data-dir", data], directory: directory ?? root)
    }

    /// `run -f manifest.yaml -W WF ARGS`: the result and the task id.
    func run(_ workflow: String, _ extra: [String] = [], manifest: String = "manifest.yaml") -> (result: CommandResult, task: String) {
        let result = cli(["run", "-f", root + "/" + manifest, "-W", workflow, "-q"] + extra)
        return (result, Self.taskID(in: result.stdout))
    }

    /// `run` as `run(_:)` but with the progress lines (no `-q`).
    func runShowingProgress(_ workflow: String, manifest: String = "manifest.yaml") -> (result: CommandResult, task: String) {
        let result = cli(["run", "-f", root + "/" + manifest, "-W", workflow])
        return (result, Self.taskID(in: result.stdout))
    }

    static func taskID(in output: String) -> String {
        for line in output.split(separator: "\n") where line.hasPrefix("task ") && line.contains(" created") {
            let words = line.split(separator: " ")
            if words.count > 1 { return String(words[1]).replacingOccurrences(of: ":", with: "") }
        }
        return ""
    }

    /// The task's events (`event list -o json`).
    func events(_ task: String) throws -> [JSONValue] {
        let result = cli(["event", "list", "--task", task, "-o", "json"])
        #expect(result.status == 0, "\(result.stderr)")
        return try JSONParser.parse(result.stdout).arrayValue ?? []
    }

    func taskInfo(_ task: String) throws -> JSONValue {
        let result = cli(["task", "info", task, "-o", "json"])
        #expect(result.status == 0, "\(result.stderr)")
        return try JSONParser.parse(result.stdout)
    }

    func read(_ relative: String) -> String {
        (try? String(contentsOfFile: workspace + "/" + relative, encoding: .utf8)) ?? ""
    }
}

extension JSONValue {
    var string: String? { stringValue }
    var int: Int? {
        if case .int(let value) = self { return Int(value) }
        return nil
    }
    var bool: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }
}

/// Events of a type.
func ofType(_ events: [JSONValue], _ type: String) -> [JSONValue] {
    events.filter { $0["type"]?.string == type }
}

/// `cycle:step[item]` of every step_started event, in order.
func started(_ events: [JSONValue]) -> [String] {
    ofType(events, "step_started").map { event in
        let item = event["item"]?.string.map { "[\($0)]" } ?? ""
        return "\(event["cycle"]?.int ?? -1):\(event["step"]?.string ?? "?")\(item)"
    }
}
