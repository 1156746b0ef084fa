import Control
import Foundation
import JSON
import Store
import Testing

/// Self-restart in place (control-plane.md "Self-restart") with the real `orchestratord`: a
/// workflow's `self_restart` step builds a new daemon executable, the daemon drains and executes
/// it with the same PID, and the task goes on into cycle 2 under the new binary.
@Suite(.serialized) struct SelfRestartTests {
    static func sha256(_ path: String) throws -> String {
        try #require(FileDigest.sha256(ofFile: path), "cannot read \(path)")
    }

    /// A workspace whose build "compiles" a new daemon: a copy of the test's own executable with
    /// bytes appended (a different file, so a different SHA-256, that runs the same code).
    static func setUp(build: String? = nil, output: String = "out", root given: String? = nil) throws -> (root: String, data: String) {
        let root = try given ?? scratchDirectory()
        try FileManager.default.createDirectory(atPath: root + "/ws", withIntermediateDirectories: true)
        let command = build ?? "mkdir -p out && cp \(daemonExecutable) out/next && printf 'build-2' >> out/next && mv out/next out/orchestratord"
        let manifest = """
            apiVersion: orchestrator.dev/v2
            kind: Workspace
            metadata: {name: ws}
            spec:
              root_path: \(root)/ws
              build_command: "\(command)"
              build_output: \(output)
            ---
            apiVersion: orchestrator.dev/v2
            kind: Workflow
            metadata: {name: wf}
            spec:
              loop: {mode: fixed, max_cycles: 2}
              steps:
                - {id: work, command: "echo cycle {cycle} >> runs"}
                - {id: self_restart, builtin: self_restart, repeatable: false, behavior: {on_failure: {action: continue}}}
                - {id: after, command: "echo after {cycle} >> runs"}
            """
        try manifest.write(toFile: root + "/m.yaml", atomically: true, encoding: .utf8)
        let applied = try QueueTests.cli(["apply", "-f", root + "/m.yaml"], data: root + "/d")
        #expect(applied.status == 0, "\(applied.stderr)")
        return (root, root + "/d")
    }

    @Test("self-restart: same PID, incarnation 2, daemon_restarted carries both SHA-256s, cycle 2 runs under the new binary")
    func restartInPlace() throws {
        let (root, data) = try Self.setUp()
        let daemon = try ForegroundDaemon(dataDirectory: data, extra: ["--workers", "2"])
        #expect(daemon.waitUntilServing(), "\(daemon.stderr)")
        let before = try #require(DaemonStatus(json: try ControlClient(dataDirectory: data).request("status")))
        #expect(before.incarnation == 1)
        let oldSHA = try Self.sha256(daemonExecutable)
        let id = try QueueTests.create("boot", data: data)
        #expect(eventually(60) { QueueTests.taskStatus(id, data: data) == "completed" }, "\(daemon.stderr)")
        let newSHA = try Self.sha256(root + "/ws/out/orchestratord")
        #expect(oldSHA != newSHA)

        // The same process serves on, as incarnation 2, from the new binary.
        let after = try #require(DaemonStatus(json: try ControlClient(dataDirectory: data).request("status")), "\(daemon.stderr)")
        #expect(after.pid == daemon.pid && daemon.process.isRunning)
        #expect(after.incarnation == 2)
        #expect(after.binarySHA256 == newSHA)
        #expect(after.previousBinarySHA256 == oldSHA)
        // The running binary was kept for rollback.
        #expect(try Self.sha256(data + "/bin/orchestratord.stable") == oldSHA)

        let events = QueueTests.events(id, data: data)
        let types = events.compactMap { $0["type"]?.stringValue }
        let pending = try #require(events.first { $0["type"]?.stringValue == "restart_pending" }, "\(types)")
        #expect(pending["payload"]?["previous_sha256"]?.stringValue == oldSHA)
        #expect(pending["payload"]?["new_sha256"]?.stringValue == newSHA)
        let restarted = try #require(events.first { $0["type"]?.stringValue == "daemon_restarted" }, "\(types)")
        #expect(restarted["payload"]?["old_sha"]?.stringValue == oldSHA)
        #expect(restarted["payload"]?["new_sha"]?.stringValue == newSHA)
        #expect(restarted["payload"]?["incarnation"] == .int(2))
        #expect(restarted["payload"]?["pid"] == .int(Int64(daemon.pid)))
        // Claimed by incarnation 1 under the old binary, then by incarnation 2 under the new one,
        // which resumed the task at the step after self_restart.
        let claims = events.filter { $0["type"]?.stringValue == "task_claimed" }
        #expect(claims.map { $0["payload"]?["incarnation"] } == [.int(1), .int(2)], "\(types)")
        #expect(claims.map { $0["payload"]?["build_id"]?.stringValue } == [oldSHA, newSHA])
        let resumed = try #require(events.first { $0["type"]?.stringValue == "task_resumed" })
        #expect(resumed["payload"]?["from"]?.stringValue == "restart_pending")
        #expect(resumed["payload"]?["build_id"]?.stringValue == newSHA)
        let cycleTwo = events.filter { $0["type"]?.stringValue == "step_started" && $0["cycle"] == .int(2) }
        #expect(!cycleTwo.isEmpty, "\(types)")
        if let resumedID = resumed["id"]?.intValue, let firstOfCycleTwo = cycleTwo.first?["id"]?.intValue {
            #expect(resumedID < firstOfCycleTwo, "cycle 2 began after the new binary resumed the task")
        }
        // No finished step ran twice: self_restart ran once, everything else once per cycle.
        let runs = (try? String(contentsOfFile: root + "/ws/runs", encoding: .utf8)) ?? ""
        #expect(runs == "cycle 1\nafter 1\ncycle 2\nafter 2\n", "\(runs)")
        let restartSteps = events.filter { $0["type"]?.stringValue == "step_started" && $0["step"]?.stringValue == "self_restart" }
        #expect(restartSteps.count == 1)

        // The daemon's own journal: started (1), draining for the restart, restarted and started (2).
        let journal = try QueueTests.cli(["event", "list", "--daemon", "-o", "json"], data: data)
        #expect(journal.status == 0, "\(journal.stderr)")
        let daemonTypes = (try? JSONParser.parse(journal.stdout))?.arrayValue?.compactMap { $0["type"]?.stringValue } ?? []
        #expect(daemonTypes == ["daemon_started", "daemon_draining", "daemon_restarted", "daemon_started"], "\(journal.stdout)")
        #expect(daemon.stop() == 0, "\(daemon.stderr)")
    }

    @Test("a build that fails, or leaves a binary that fails --help, fails the step; the loop goes on under the old binary")
    func failedBuildKeepsRunning() throws {
        let (root, data) = try Self.setUp(build: "mkdir -p out && printf '#!/bin/sh\\\\nexit 3\\\\n' > out/orchestratord && chmod +x out/orchestratord")
        let daemon = try ForegroundDaemon(dataDirectory: data)
        #expect(daemon.waitUntilServing(), "\(daemon.stderr)")
        let id = try QueueTests.create("broken", data: data)
        #expect(eventually(30) { QueueTests.taskStatus(id, data: data) == "completed" }, "\(daemon.stderr)")
        let events = QueueTests.events(id, data: data)
        let finished = try #require(events.first { $0["type"]?.stringValue == "step_finished" && $0["step"]?.stringValue == "self_restart" })
        #expect(finished["payload"]?["success"] == .bool(false))
        #expect(finished["payload"]?["error"]?.stringValue?.contains("--help` exited 3") == true, "\(finished)")
        #expect(!events.contains { $0["type"]?.stringValue == "restart_pending" })
        let status = try #require(DaemonStatus(json: try ControlClient(dataDirectory: data).request("status")))
        #expect(status.incarnation == 1 && status.pid == daemon.pid)
        let runs = (try? String(contentsOfFile: root + "/ws/runs", encoding: .utf8)) ?? ""
        #expect(runs == "cycle 1\nafter 1\ncycle 2\nafter 2\n", "\(runs)")
        #expect(daemon.stop() == 0)
    }

    @Test("without a daemon, self_restart re-executes the foreground runner: same PID, cycle 2 under the new binary")
    func foregroundRunnerReexecutes() throws {
        let cli = QueueTests.cli
        let (root, data) = try Self.setUp(
            build: "mkdir -p out && cp \(cli) out/next && printf 'build-2' >> out/next && mv out/next out/orchestrator")
        let oldSHA = try Self.sha256(cli)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: cli)
        process.arguments = ["run", "-f", root + "/m.yaml", "-W", "wf", "-g", "g", "--data-dir", data]
        let outputPath = root + "/run.out"
        _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
        process.standardOutput = FileHandle(forWritingAtPath: outputPath)
        process.standardError = FileHandle(forWritingAtPath: outputPath)
        try process.run()
        let pid = process.processIdentifier
        process.waitUntilExit()
        let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        #expect(process.terminationStatus == 0, "\(output)")
        #expect(output.contains("self_restart: executing \(root)/ws/out/orchestrator"), "\(output)")
        #expect(output.contains("in this process (PID \(pid))"), "\(output)")
        let newSHA = try Self.sha256(root + "/ws/out/orchestrator")
        #expect(try Self.sha256(data + "/bin/orchestrator.stable") == oldSHA)
        let listed = try QueueTests.cli(["task", "list", "-o", "json"], data: data)
        let id = try #require((try? JSONParser.parse(listed.stdout))?.arrayValue?.first?["id"]?.stringValue, "\(listed.stdout)")
        let events = QueueTests.events(id, data: data)
        let resumed = try #require(events.first { $0["type"]?.stringValue == "task_resumed" }, "\(events)")
        #expect(resumed["payload"]?["from"]?.stringValue == "restart_pending")
        #expect(resumed["payload"]?["build_id"]?.stringValue == newSHA)
        #expect(events.last?["type"]?.stringValue == "task_completed")
        let runs = (try? String(contentsOfFile: root + "/ws/runs", encoding: .utf8)) ?? ""
        #expect(runs == "cycle 1\nafter 1\ncycle 2\nafter 2\n", "\(runs)")
    }

    @Test("a build that replaces the very file the daemon runs from still restarts it: the old image is read from the process")
    func buildOverwritesTheRunningBinary() throws {
        let root = try scratchDirectory()
        let bin = root + "/bin"
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: daemonExecutable, toPath: bin + "/orchestratord")
        // `swift build` writes where the daemon runs from: a new file renamed over the old path.
        let (_, data) = try Self.setUp(
            build: "cp \(daemonExecutable) \(bin)/next && printf 'build-3' >> \(bin)/next && mv \(bin)/next \(bin)/orchestratord",
            output: bin, root: root)
        let daemon = try ForegroundDaemon(dataDirectory: data, executable: bin + "/orchestratord")
        #expect(daemon.waitUntilServing(), "\(daemon.stderr)")
        let oldSHA = try Self.sha256(daemonExecutable)
        let id = try QueueTests.create("inplace", data: data)
        #expect(eventually(60) { QueueTests.taskStatus(id, data: data) == "completed" }, "\(daemon.stderr)")
        let status = try #require(DaemonStatus(json: try ControlClient(dataDirectory: data).request("status")))
        #expect(status.pid == daemon.pid && status.incarnation == 2, "\(daemon.stderr)")
        #expect(status.previousBinarySHA256 == oldSHA)
        #expect(status.binarySHA256 == (try Self.sha256(bin + "/orchestratord")))
        #expect(try Self.sha256(data + "/bin/orchestratord.stable") == oldSHA, "the kept copy is the old image, not the new file")
        #expect(daemon.stop() == 0)
    }

    @Test("orchestrator daemon restart: the same restart in place by hand; a binary that fails its check is refused")
    func restartByHand() throws {
        let root = try scratchDirectory()
        let data = root + "/d"
        let daemon = try ForegroundDaemon(dataDirectory: data)
        #expect(daemon.waitUntilServing(), "\(daemon.stderr)")
        let restarted = try QueueTests.cli(["daemon", "restart"], data: data)
        #expect(restarted.status == 0, "\(restarted.stdout)\(restarted.stderr)\(daemon.stderr)")
        #expect(restarted.stdout.contains("daemon restarted in place (PID \(daemon.pid), incarnation 1 -> 2)"), "\(restarted.stdout)")
        let status = try #require(DaemonStatus(json: try ControlClient(dataDirectory: data).request("status")))
        #expect(status.pid == daemon.pid && status.incarnation == 2)
        // A binary that does not answer --help: refused, the daemon keeps serving as it was.
        try "#!/bin/sh\nexit 9\n".write(toFile: root + "/broken", atomically: true, encoding: .utf8)
        chmod(root + "/broken", 0o755)
        let refused = try QueueTests.cli(["daemon", "restart", "--binary", root + "/broken"], data: data)
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("`--help` exited 9"), "\(refused.stderr)")
        let after = try #require(DaemonStatus(json: try ControlClient(dataDirectory: data).request("status")))
        #expect(after.incarnation == 2 && after.state == .serving)
        #expect(daemon.stop() == 0)
    }

    @Test("a rebuilt binary that passes --help but fails its start check twice is not executed: the daemon goes on from its .stable copy and records why")
    func startCheckFailureFallsBackToStable() throws {
        let root = try scratchDirectory()
        let data = root + "/d"
        let daemon = try ForegroundDaemon(dataDirectory: data)
        #expect(daemon.waitUntilServing(), "\(daemon.stderr)")
        let before = try #require(DaemonStatus(json: try ControlClient(dataDirectory: data).request("status")))
        // Answers --help, crashes at start (any other invocation).
        try "#!/bin/sh\ncase \"$1\" in --help) exit 0;; esac\necho 'segmentation fault' >&2\nexit 139\n".write(
            toFile: root + "/crashes", atomically: true, encoding: .utf8)
        chmod(root + "/crashes", 0o755)
        let restarted = try QueueTests.cli(["daemon", "restart", "--binary", root + "/crashes"], data: data)
        #expect(restarted.status == 0, "\(restarted.stdout)\(restarted.stderr)")
        #expect(eventually(20) {
            (try? ControlClient(dataDirectory: data, timeoutSeconds: 2).request("status")).flatMap(DaemonStatus.init(json:))?.incarnation == 2
        }, "\(daemon.stderr)")
        let after = try #require(DaemonStatus(json: try ControlClient(dataDirectory: data).request("status")))
        #expect(after.pid == daemon.pid)
        // The same build as before: the kept copy of the running binary, not the crashing one.
        #expect(after.binarySHA256 == before.binarySHA256)
        let events = try QueueTests.cli(["event", "list", "--daemon", "--type", "daemon_restart_fallback", "-o", "json"], data: data)
        let fallback = (try JSONParser.parse(events.stdout)).arrayValue?.first
        #expect(fallback?["payload"]?["reason"]?.stringValue?.contains("failed its start check twice") == true, "\(events.stdout)")
        #expect(fallback?["payload"]?["reason"]?.stringValue?.contains("segmentation fault") == true)
        #expect(daemon.stderr.contains("continuing with the kept copy"))
        #expect(daemon.stop() == 0)
    }
}
