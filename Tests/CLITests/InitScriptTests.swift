import Foundation
import JSON
import Testing

/// A Workspace's `init_script` (state-files.md): run before the first cycle and after every
/// resume; a failure pauses the task with `init_failed` and the script's output.
@Suite("init_script") struct InitScriptTests {
    @Test("runs at start and after every resume; a failing script pauses the task with its output, no step runs")
    func runsAtStartAndResume() throws {
        let box = try TaskSandbox("init-script")
        try box.file("init.sh", "#!/bin/sh\necho init >> init.log\n[ -f broken ] && { echo 'database unreachable' >&2; exit 4; }\nexit 0\n")
        chmod(box.workspace + "/init.sh", 0o755)
        try box.file("broken", "")
        try box.manifest(
            """
            apiVersion: orchestrator.dev/v2
            kind: Workflow
            metadata: {name: wf}
            spec:
              steps:
                - {id: work, command: "echo work >> steps.log"}
            """, workspaceSpec: "qa_targets: []\n  init_script: ./init.sh")
        let applied = box.cli(["apply", "-f", box.root + "/manifest.yaml"])
        #expect(applied.status == 0, "\(applied.stderr)")
        let created = box.cli(["task", "create", "-n", "t", "-W", "wf", "-g", "g", "--no-start"])
        #expect(created.status == 0, "\(created.stderr)")
        // Start: the script fails, the task pauses before cycle 1 with the script's output.
        let started = box.cli(["task", "start", "t"])
        #expect(started.status == 1, "\(started.stdout)\(started.stderr)")
        #expect(started.stdout.contains("init_failed: the workspace init_script `./init.sh` exited 4: database unreachable"), "\(started.stdout)")
        #expect(box.read("init.log") == "init\n")
        #expect(box.read("steps.log").isEmpty, "a step ran after the failed init_script")
        var info = try box.taskInfo("t")
        #expect(info["status"]?.string == "paused")
        let id = info["id"]?.string ?? ""
        // Resume: the script runs again (still failing), the task stays paused.
        let again = box.cli(["task", "resume", "t", "--foreground"])
        #expect(again.status == 1, "\(again.stdout)\(again.stderr)")
        #expect(box.read("init.log") == "init\ninit\n")
        let failures = ofType(try box.events(id), "init_failed")
        #expect(failures.map { $0["payload"]?["when"]?.string } == ["start", "resume"])
        #expect(failures.last?["payload"]?["output"]?.string?.contains("database unreachable") == true)
        // Fixed: the next resume runs the script, it passes, the task completes.
        try FileManager.default.removeItem(atPath: box.workspace + "/broken")
        let fixed = box.cli(["task", "resume", "t", "--foreground"])
        #expect(fixed.status == 0, "\(fixed.stdout)\(fixed.stderr)")
        #expect(box.read("init.log") == "init\ninit\ninit\n")
        #expect(box.read("steps.log") == "work\n")
        info = try box.taskInfo("t")
        #expect(info["status"]?.string == "completed")
    }
}
