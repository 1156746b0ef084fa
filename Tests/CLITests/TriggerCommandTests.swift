import Foundation
import JSON
import Testing

/// `trigger fire|suspend|resume|list` without a daemon (docs/triggers.md "Commands"): the same
/// fire rules as the daemon's, recorded in the same store.
@Suite struct TriggerCommandTests {
    static let manifest = """
        apiVersion: orchestrator.dev/v2
        kind: Workspace
        metadata: {name: ws}
        spec: {root_path: ., qa_targets: []}
        ---
        apiVersion: orchestrator.dev/v2
        kind: Workflow
        metadata: {name: wf}
        spec:
          steps:
            - {id: say, command: "echo ref={ref} by {trigger_name}"}
        ---
        apiVersion: orchestrator.dev/v2
        kind: Trigger
        metadata: {name: hook}
        spec:
          event: {source: webhook}
          action:
            workflow: wf
            workspace: ws
            args: {ref: ["{payload.ref}"]}
          concurrencyPolicy: Allow
        ---
        apiVersion: orchestrator.dev/v2
        kind: Trigger
        metadata: {name: slow-down}
        spec:
          event: {source: webhook}
          action: {workflow: wf, workspace: ws, start: false}
          concurrencyPolicy: Allow
          throttle: {minInterval: 3600}
        ---
        apiVersion: orchestrator.dev/v2
        kind: Trigger
        metadata: {name: keep-one}
        spec:
          event: {source: webhook}
          action: {workflow: wf, workspace: ws}
          concurrencyPolicy: Allow
          historyLimit: {successful: 1}
        """

    @Test func fireSuspendResumeAndThrottle() throws {
        let root = try makeTemporaryDirectory("trigger-commands")
        defer { try? FileManager.default.removeItem(atPath: root) }
        try Self.manifest.write(toFile: root + "/t.yaml", atomically: true, encoding: .utf8)
        func run(_ arguments: [String]) -> CommandResult { runInProcess(arguments + ["--data-dir", root + "/d"], directory: root) }
        #expect(run(["apply", "-f", "t.yaml"]).status == 0)

        // Without a daemon, start: true runs the task here; the payload reaches the args.
        let fired = run(["trigger", "fire", "hook", "--payload", #"{"ref": "main"}"#])
        #expect(fired.status == 0, "\(fired.stdout)\(fired.stderr)")
        #expect(fired.stdout.contains("trigger hook fired: task"), "\(fired.stdout)")
        #expect(fired.stderr.contains("runs in the foreground"))
        let id = String(fired.stdout.split(separator: " ")[4])
        let logs = run(["task", "logs", id])
        #expect(logs.stdout.contains("ref=main by hook"), "\(logs.stdout)")
        let info = run(["task", "info", id])
        #expect(info.stdout.contains("trigger:               hook (manual fire manual:") || info.stdout.contains("hook (manual fire"), "\(info.stdout)")

        #expect(run(["trigger", "suspend", "hook"]).status == 0)
        let suspended = run(["trigger", "fire", "hook"])
        #expect(suspended.status == 1)
        #expect(suspended.stdout.contains("trigger hook skipped: suspended (trigger suspend)"), "\(suspended.stdout)")
        let listed = run(["trigger", "list", "-o", "json"])
        let hook = (try JSONParser.parse(listed.stdout)).arrayValue?.first { $0["name"]?.stringValue == "hook" }
        #expect(hook?["suspended"] == .bool(true))
        #expect(hook?["last_fire"]?["outcome"]?.stringValue == "skipped")
        #expect(run(["trigger", "resume", "hook"]).status == 0)
        #expect(run(["trigger", "fire", "hook", "-q"]).status == 0)

        // throttle.minInterval: the second fire within the hour is skipped, and says why.
        let first = run(["trigger", "fire", "slow-down"])
        #expect(first.status == 0)
        #expect(first.stdout.contains("created"), "\(first.stdout)")
        let second = run(["trigger", "fire", "slow-down"])
        #expect(second.status == 1)
        #expect(second.stdout.contains("skipped: throttled: the last fire was"), "\(second.stdout)")
        #expect(second.stdout.contains("throttle.minInterval is 3600 s"))

        let events = run(["event", "list", "--daemon", "--type", "trigger_", "-o", "json"])
        let types = (try JSONParser.parse(events.stdout)).arrayValue?.compactMap { $0["type"]?.stringValue } ?? []
        #expect(types == ["trigger_fired", "trigger_suspended", "trigger_skipped", "trigger_resumed", "trigger_fired", "trigger_fired", "trigger_skipped"], "\(types)")
        // historyLimit: of three completed tasks of the trigger the newest stays, with its logs.
        var ids: [String] = []
        for _ in 0..<3 {
            let fired = run(["trigger", "fire", "keep-one", "-q"])
            #expect(fired.status == 0, "\(fired.stdout)\(fired.stderr)")
            ids.append(String(fired.stdout.split(separator: " ")[4]))
        }
        let remaining = (try JSONParser.parse(run(["task", "list", "-o", "json"]).stdout)).arrayValue?.compactMap { $0["id"]?.stringValue } ?? []
        #expect(remaining.contains(ids[2]) && !remaining.contains(ids[0]) && !remaining.contains(ids[1]), "\(ids) \(remaining)")
        #expect(!FileManager.default.fileExists(atPath: root + "/d/logs/" + ids[0]))
        #expect(FileManager.default.fileExists(atPath: root + "/d/logs/" + ids[2]))

        // An unknown trigger is bad usage with a suggestion.
        let unknown = run(["trigger", "fire", "hok"])
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains("did you mean `hook`?"), "\(unknown.stderr)")
    }
}
