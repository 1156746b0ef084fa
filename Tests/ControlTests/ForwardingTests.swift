import Control
import Foundation
import JSON
import Testing

/// Commands that read or change the store run in the daemon when one serves the data directory
/// (the `command` verb), and embedded when none does, with the same output and exit status.
@Suite(.serialized) struct ForwardingTests {
    static let manifest = """
        apiVersion: orchestrator.dev/v2
        kind: Workspace
        metadata: {name: ws}
        spec: {root_path: ./ws, qa_targets: []}
        ---
        apiVersion: orchestrator.dev/v2
        kind: Workflow
        metadata: {name: wf}
        spec:
          steps:
            - {id: hello, command: "echo hello {goal}"}
        """

    static func cli(_ arguments: [String], in directory: String, input: String? = nil, embedded: Bool = false) throws -> Finished {
        // Relative paths (`./ws`, the data directory) resolve against the client's directory,
        // wherever the command runs: the daemon gets the client's working directory.
        try runToEnd(
            "/bin/sh", ["-c", "cd \"$0\" && exec \"$@\"", directory, QueueTests.cli] + arguments, input: input,
            environment: embedded ? ["ORCHESTRATOR_EMBEDDED": "1"] : [:])
    }

    @Test("with a daemon, store commands run in it: same output and exit status as embedded; stdin is forwarded")
    func storeCommandsRunInTheDaemon() throws {
        let root = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root + "/ws", withIntermediateDirectories: true)
        let data = root + "/.orchestrator"
        let daemon = try ForegroundDaemon(dataDirectory: data, extra: ["--workers", "2"])
        #expect(daemon.waitUntilServing(), "\(daemon.stderr)")

        // `apply -f -`: the manifest travels on the request; `./ws` resolves in the client's directory.
        let applied = try Self.cli(["apply", "-f", "-", "--verbose"], in: root, input: Self.manifest)
        #expect(applied.status == 0, "\(applied.stderr)")
        #expect(applied.stderr.contains("daemon mode: the command runs in orchestratord (pid \(daemon.pid), 2 workers)"), "\(applied.stderr)")
        #expect(applied.stdout.contains("Workspace/ws created (project: default, root: \(root)/ws)"), "\(applied.stdout)")

        let created = try Self.cli(["task", "create", "-n", "one", "-W", "wf", "-g", "world"], in: root)
        #expect(created.status == 0 && created.stdout.contains("queued (position 1)"), "\(created.stdout)\(created.stderr)")
        #expect(eventually(10) { QueueTests.taskStatus("one", data: data) == "completed" }, "\(daemon.stderr)")

        for words in [["task", "list", "-o", "json"], ["task", "info", "one"], ["get", "workflows"], ["event", "list", "one", "--type", "step_"]] {
            let forwarded = try Self.cli(words, in: root)
            let embedded = try Self.cli(words, in: root, embedded: true)
            #expect(forwarded.status == 0 && forwarded.stdout == embedded.stdout, "\(words): \(forwarded.stdout) vs \(embedded.stdout)")
            #expect(forwarded.stderr == embedded.stderr, "\(words)")
        }
        // Findings and usage errors keep their exit status (a usage error is found before forwarding).
        let unknown = try Self.cli(["task", "info", "nosuchtask"], in: root)
        let unknownHere = try Self.cli(["task", "info", "nosuchtask"], in: root, embedded: true)
        #expect(unknown.status == unknownHere.status && unknown.status != 0 && unknown.stderr == unknownHere.stderr, "\(unknown.stderr)")
        let badFlag = try Self.cli(["task", "list", "--tail", "3"], in: root)
        #expect(badFlag.status == 2)
        let drift = try Self.cli(["diff", "-f", "-"], in: root, input: Self.manifest.replacingOccurrences(of: "hello", with: "bye"))
        #expect(drift.status == 1, "\(drift.stdout)\(drift.stderr)")
        #expect(daemon.stop() == 0)
    }

    @Test("the command verb: a client-side command is refused in the daemon, a bad request is a structured error")
    func commandVerbRefusals() throws {
        let root = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let data = root + "/d"
        let daemon = try ForegroundDaemon(dataDirectory: data)
        #expect(daemon.waitUntilServing(), "\(daemon.stderr)")
        let client = try ControlClient(dataDirectory: data)
        var errors = ""
        let end = try client.stream(
            "command", args: ForwardedCommand(arguments: ["task", "watch", "x", "--data-dir", data], currentDirectory: root, environment: [:]).json
        ) { item in
            if let piece = ForwardedOutput(json: item), piece.stream == .stderr { errors += piece.text }
            return true
        }
        #expect(end.flatMap(ForwardedOutput.exitStatus(ofEnd:)) == 2)
        #expect(errors.contains("`task watch` runs in the client, not in the daemon"), "\(errors)")
        do {
            _ = try client.request("command", args: .object([("argv", .string("task list"))]))
            Issue.record("a malformed command request was accepted")
        } catch {
            guard case .refused(let refusal) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(refusal.code == .invalidArguments)
        }
        #expect(daemon.stop() == 0)
    }

    @Test("run --detach queues the task for the daemon and returns; without a daemon it says so and runs here")
    func runDetach() throws {
        let root = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root + "/ws", withIntermediateDirectories: true)
        try Self.manifest.replacingOccurrences(of: "echo hello {goal}", with: "sleep 2; echo hello {goal}")
            .write(toFile: root + "/m.yaml", atomically: true, encoding: .utf8)
        let alone = try Self.cli(["run", "-f", "m.yaml", "-W", "wf", "-g", "here", "--detach"], in: root)
        #expect(alone.status == 0, "\(alone.stderr)")
        #expect(alone.stderr.contains("no daemon serves \(root)/.orchestrator: task"), "\(alone.stderr)")
        #expect(alone.stdout.contains("completed"), "\(alone.stdout)")

        let daemon = try ForegroundDaemon(dataDirectory: root + "/.orchestrator")
        #expect(daemon.waitUntilServing(), "\(daemon.stderr)")
        let detached = try Self.cli(["run", "-f", "m.yaml", "-W", "wf", "-g", "there", "--detach", "-n", "bg"], in: root)
        #expect(detached.status == 0 && detached.stdout.contains("queued (position 1)"), "\(detached.stdout)\(detached.stderr)")
        // It returned without waiting for the task (whose one step takes 2 s).
        #expect(QueueTests.taskStatus("bg", data: root + "/.orchestrator") != "completed")
        #expect(eventually(10) { QueueTests.taskStatus("bg", data: root + "/.orchestrator") == "completed" }, "\(daemon.stderr)")
        #expect(daemon.stop() == 0)
    }
}
