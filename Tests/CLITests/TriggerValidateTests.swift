import Foundation
import Testing

/// What the daemon would refuse when it arms a Trigger, said by `validate` at the exact place
/// (docs/triggers.md): schedules, zones, conditions, references, watched paths, unsigned webhooks.
@Suite struct TriggerValidateTests {
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
            - {id: a, command: "true"}
        ---
        apiVersion: orchestrator.dev/v2
        kind: Trigger
        metadata: {name: bad-cron}
        spec:
          cron: {schedule: "0 25 * * *", timezone: Mars/Olympus}
          action: {workflow: wff, workspace: ws}
        ---
        apiVersion: orchestrator.dev/v2
        kind: Trigger
        metadata: {name: bad-condition}
        spec:
          event:
            source: task_failed
            filter: {condition: "task_stauts == 'failed'"}
          action: {workflow: wf, workspace: ws}
        ---
        apiVersion: orchestrator.dev/v2
        kind: Trigger
        metadata: {name: outside}
        spec:
          event:
            source: filesystem
            filesystem: {paths: [../etc]}
          action: {workflow: wf, workspace: ws}
        ---
        apiVersion: orchestrator.dev/v2
        kind: Trigger
        metadata: {name: open-hook}
        spec:
          event: {source: webhook}
          action: {workflow: wf, workspace: ws}
        ---
        apiVersion: orchestrator.dev/v2
        kind: Trigger
        metadata:
          name: allowed-hook
          annotations: {orchestrator.dev/webhook-allow-unsigned: "true"}
        spec:
          event: {source: webhook}
          action: {workflow: wf, workspace: ws}
        """

    @Test func findingsArePositioned() throws {
        let root = try makeTemporaryDirectory("trigger-validate")
        defer { try? FileManager.default.removeItem(atPath: root) }
        try Self.manifest.write(toFile: root + "/t.yaml", atomically: true, encoding: .utf8)
        let result = runInProcess(["validate", "-f", "t.yaml"], directory: root)
        #expect(result.status == 1)
        let out = result.stderr
        #expect(out.contains("t.yaml:17:23: error: trigger `bad-cron`: 25 is out of range for the hour field (0-23) [cron-schedule]"), "\(out)")
        #expect(out.contains("t.yaml:17:44: error: trigger `bad-cron`: invalid timezone 'Mars/Olympus'"), "\(out)")
        #expect(out.contains("t.yaml:18:22: warning: trigger `bad-cron` starts workflow `wff`, which is no Workflow of project `default` [unresolved-reference]"))
        #expect(out.contains("did you mean `wf`?"))
        #expect(out.contains("t.yaml:26:26: error: trigger `bad-condition` condition reads `task_stauts`, which a task_failed trigger does not have"), "\(out)")
        #expect(out.contains("did you mean `task_status`?"))
        #expect(out.contains("t.yaml:35:26: error: trigger `outside` watches `../etc`, which is not inside the workspace [trigger-path-outside-workspace]"))
        #expect(out.contains("t.yaml:40:18: warning: webhook trigger `open-hook` has no `event.webhook.secret.fromRef`"), "\(out)")
        #expect(!out.contains("`allowed-hook` has no"))
        #expect(out.hasSuffix("4 errors, 3 warnings in 1 file\n"), "\(out)")
    }
}
