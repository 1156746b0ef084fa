import CLI
import Foundation
import JSON
import Testing

/// The task and event commands, and the runner features they show: prompt delivery, profiles,
/// the workspace init script, chains, stagger.
@Suite("Task commands")
struct TaskCommandTests {
    @Test("task create --no-start, start, list, info, items, logs, watch, event list, delete")
    func taskLifecycleCommands() throws {
        let box = try TaskSandbox("commands")
        try box.file("qa/one.md", "1\n")
        try box.file("qa/two.md", "2\n")
        try box.manifest(
            """
            apiVersion: orchestrator.dev/v2
            kind: Workflow
            metadata: {name: wf}
            spec:
              steps:
                - {id: build, command: "printf 'line1\\nline2\\nline3\\n'"}
                - {id: qa, command: "echo checking {rel_path}; echo oops >&2"}
            """)
        #expect(box.cli(["apply", "-f", box.root + "/manifest.yaml"]).status == 0)
        let create = box.cli(["task", "create", "-n", "mine", "-g", "the goal", "-W", "wf", "--no-start"])
        #expect(create.status == 0, "\(create.stderr)")
        let task = TaskSandbox.taskID(in: create.stdout)
        #expect(try box.taskInfo(task)["status"]?.string == "created")
        #expect(try box.taskInfo(task)["name"]?.string == "mine")

        let start = box.cli(["task", "start", String(task.prefix(6))])
        #expect(start.status == 0, "\(start.stdout)\(start.stderr)")
        #expect(start.stdout.contains("cycle 1  qa [qa/one.md]"))
        #expect(box.cli(["task", "start", task]).status == 2)

        let list = box.cli(["task", "list"])
        #expect(list.stdout.contains("ID") && list.stdout.contains(task) && list.stdout.contains("completed"))
        let info = box.cli(["task", "info", task])
        #expect(info.stdout.contains("goal:") && info.stdout.contains("the goal") && info.stdout.contains("2 qa_passed"))
        let items = box.cli(["task", "items", task])
        #expect(items.stdout.contains("qa/one.md") && items.stdout.contains("qa_passed"))

        let logs = box.cli(["task", "logs", task, "--step", "build", "--tail", "2"])
        #expect(logs.status == 0)
        #expect(logs.stdout == "==> cycle 1 build stdout (exit 0) <==\nline2\nline3\n")
        let allLogs = box.cli(["task", "logs", task])
        #expect(allLogs.stdout.contains("checking qa/two.md") && allLogs.stdout.contains("oops"))
        let follow = box.cli(["task", "logs", task, "--follow", "--step", "qa", "--interval", "20ms"])
        #expect(follow.status == 0 && follow.stdout.contains("checking qa/one.md"))

        let watch = box.cli(["task", "watch", task, "--interval", "20ms"])
        #expect(watch.status == 0)
        #expect(watch.stdout.contains("task \(task) completed") && watch.stdout.contains("task_completed"))

        let started = box.cli(["event", "list", "--task", task, "--type", "step_started", "-o", "json"])
        let startedEvents = try JSONParser.parse(started.stdout).arrayValue ?? []
        #expect(startedEvents.count == 3)
        for event in startedEvents {
            guard case .object(let pairs) = event else { continue }
            #expect(pairs.map(\.key) == ["id", "task", "type", "cycle", "step", "item", "timestamp", "payload"])
        }
        let last = try JSONParser.parse(box.cli(["event", "list", "--task", task, "--limit", "1", "-o", "json"]).stdout).arrayValue
        #expect(last?.count == 1 && last?.first?["type"]?.string == "task_completed")
        #expect(box.cli(["event", "list", "--task", task]).stdout.contains("task_created"))
        #expect(box.cli(["event", "list", "--task", "nope"]).status == 2)

        // Logs: 0700 directories, 0600 files.
        let attributes = try FileManager.default.attributesOfItem(atPath: box.data + "/logs/" + task + "/cycle-1")
        #expect((attributes[.posixPermissions] as? Int) == 0o700)
        let logAttributes = try FileManager.default.attributesOfItem(atPath: box.data + "/logs/" + task + "/cycle-1/build.stdout")
        #expect((logAttributes[.posixPermissions] as? Int) == 0o600)

        let delete = box.cli(["task", "delete", task])
        #expect(delete.status == 0)
        #expect(box.cli(["task", "info", task]).status == 2)
        #expect(!FileManager.default.fileExists(atPath: box.data + "/logs/" + task))
    }

    @Test("prompt delivery by stdin and file, agent env from an EnvStore, profile limits and notices")
    func agentsProfilesAndDelivery() throws {
        let box = try TaskSandbox("agents")
        try box.manifest(
            """
            apiVersion: orchestrator.dev/v2
            kind: EnvStore
            metadata: {name: settings}
            spec: {data: {GREETING: hello}}
            ---
            apiVersion: orchestrator.dev/v2
            kind: ExecutionProfile
            metadata: {name: tight}
            spec: {mode: sandbox, fs_mode: workspace_readonly, max_open_files: 37}
            ---
            apiVersion: orchestrator.dev/v2
            kind: StepTemplate
            metadata: {name: ask}
            spec: {prompt: "the goal is {goal}; it's \\"quoted\\" $(id)"}
            ---
            apiVersion: orchestrator.dev/v2
            kind: Agent
            metadata: {name: reader}
            spec:
              capabilities: [read]
              promptDelivery: stdin
              env: [{name: MODE, refValue: {name: settings, key: GREETING}}]
              command: "cat > stdin.txt; echo $MODE > env.txt; ulimit -n > limit.txt"
            ---
            apiVersion: orchestrator.dev/v2
            kind: Agent
            metadata: {name: filer}
            spec:
              capabilities: [file]
              promptDelivery: file
              command: "cp {prompt} file.txt"
            ---
            apiVersion: orchestrator.dev/v2
            kind: Workflow
            metadata: {name: agents}
            spec:
              steps:
                - {id: read, required_capability: read, template: ask, execution_profile: tight}
                - {id: file, required_capability: file, template: ask}
            """, workspaceSpec: "qa_targets: []")
        let run = box.run("agents", ["-g", "win; rm -rf ~"])
        #expect(run.result.status == 0, "\(run.result.stdout)\(run.result.stderr)")
        let prompt = "the goal is win; rm -rf ~; it's \"quoted\" $(id)"
        #expect(box.read("stdin.txt") == prompt)
        #expect(box.read("file.txt") == prompt)
        #expect(box.read("env.txt") == "hello\n")
        #expect(box.read("limit.txt") == "37\n")
        let started = ofType(try box.events(run.task), "step_started")
        let notices = started.first?["payload"]?["profile_notices"]?.arrayValue?.compactMap(\.string) ?? []
        #expect(notices.contains { $0.hasPrefix("mode: sandbox: not_enforced") })
        #expect(notices.contains { $0.hasPrefix("fs_mode: workspace_readonly: not_enforced") })
        // The prompt file is gone after the step.
        let cycle = (try? FileManager.default.contentsOfDirectory(atPath: box.data + "/logs/" + run.task + "/cycle-1")) ?? []
        #expect(!cycle.contains { $0.hasPrefix("prompt-") })
    }

    @Test("a failing workspace init script fails the task before cycle 1")
    func initScriptFailureFailsTheTask() throws {
        let box = try TaskSandbox("init")
        try box.manifest(
            """
            apiVersion: orchestrator.dev/v2
            kind: Workflow
            metadata: {name: guarded}
            spec:
              steps:
                - {id: work, command: "echo worked > worked"}
            """, workspaceSpec: "init: \"echo checking; exit 7\"")
        let run = box.run("guarded")
        #expect(run.result.status == 1)
        #expect(box.read("worked") == "")
        let events = try box.events(run.task)
        #expect(ofType(events, "cycle_started").isEmpty)
        #expect(ofType(events, "step_finished").first?["step"]?.string == "init")
        #expect(ofType(events, "task_failed").first?["payload"]?["reason"]?.string?.contains("init script") == true)
    }

    @Test("a chain runs its children in order; stagger_delay_ms spaces item starts")
    func chainsAndStagger() throws {
        let box = try TaskSandbox("chain")
        for index in 1...3 { try box.file("qa/\(index).md", "\(index)\n") }
        try box.manifest(
            """
            apiVersion: orchestrator.dev/v2
            kind: Workflow
            metadata: {name: chained}
            spec:
              max_parallel: 3
              stagger_delay_ms: 150
              steps:
                - id: prepare
                  chain_steps:
                    - {id: one, command: "echo one >> order"}
                    - {id: two, command: "echo two >> order"}
                - {id: qa, command: "date +%s%N >> starts"}
            """)
        let run = box.run("chained")
        #expect(run.result.status == 0, "\(run.result.stdout)\(run.result.stderr)")
        #expect(box.read("order") == "one\ntwo\n")
        #expect(started(try box.events(run.task)).prefix(3) == ["1:prepare", "1:one", "1:two"])
        let starts = box.read("starts").split(separator: "\n").compactMap { Double($0) }.sorted()
        #expect(starts.count == 3)
        if starts.count == 3 {
            #expect((starts[1] - starts[0]) / 1e6 >= 120)
            #expect((starts[2] - starts[1]) / 1e6 >= 120)
        }
    }
    @Test("-t targets, --set variables and --step selection")
    func targetsVariablesAndSteps() throws {
        let box = try TaskSandbox("targets")
        try box.file("qa/a.md", "a\n")
        try box.file("qa/b.md", "b\n")
        try box.file("other/c.md", "c\n")
        try box.manifest(
            """
            apiVersion: orchestrator.dev/v2
            kind: Workflow
            metadata: {name: sel}
            spec:
              steps:
                - {id: prep, command: "echo prep >> ran"}
                - id: qa
                  command: "echo {item_id} {flavour} >> ran"
                  prehook: {engine: cel, when: "level > 2"}
            """)
        let run = box.run("sel", ["-t", "ws/other/c.md", "--set", "flavour=mint", "--set", "level=3", "--step", "qa"])
        #expect(run.result.status == 0, "\(run.result.stdout)\(run.result.stderr)")
        #expect(box.read("ran") == "other/c.md mint\n")
        let skipped = ofType(try box.events(run.task), "step_skipped")
        #expect(skipped.map { $0["step"]?.string } == ["prep"])
        #expect(skipped.first?["payload"]?["reason"]?.string == "not_selected")
        #expect(box.cli(["run", "-f", box.root + "/manifest.yaml", "-W", "sel", "--step", "nope"]).status == 2)
        #expect(box.cli(["run", "-f", box.root + "/manifest.yaml", "-W", "sel", "--set", "novalue"]).status == 2)
        #expect(box.cli(["run", "-f", box.root + "/manifest.yaml"]).status == 2)
    }

    @Test("task trace reports a deviation (exit 1): a step that ran where the adopted graph says skip")
    func traceReportsDeviations() throws {
        let box = try TaskSandbox("trace")
        func workflow(_ enabled: Bool) -> String {
            """
            apiVersion: orchestrator.dev/v2
            kind: Workflow
            metadata: {name: traced}
            spec:
              loop: {mode: fixed, max_cycles: 2}
              safety: {on_drift: adopt}
              steps:
                - {id: gate, command: "touch waiting; while [ ! -f go ]; do sleep 0.02; done"}
                - {id: extra, command: "echo extra >> ran", enabled: \(enabled)}
            """
        }
        try box.manifest(workflow(true), workspaceSpec: "qa_targets: []")
        try box.manifest(workflow(false), name: "changed.yaml", workspaceSpec: "qa_targets: []")
        let background = TaskRecoveryTests.Background(box, ["run", "-f", box.root + "/manifest.yaml", "-W", "traced"])
        #expect(TaskRecoveryTests.waitFor(20) { FileManager.default.fileExists(atPath: box.workspace + "/waiting") })
        #expect(box.cli(["apply", "-f", box.root + "/changed.yaml"]).status == 0)
        try box.file("go", "")
        let run = background.wait()
        #expect(run.status == 0, "\(run.stdout)")
        #expect(box.read("ran") == "extra\n")
        let task = TaskSandbox.taskID(in: run.stdout)
        let trace = box.cli(["task", "trace", task])
        #expect(trace.status == 1, "\(trace.stdout)")
        #expect(trace.stdout.contains("cycle 1: extra ran, but the plan says skip (disabled)"))
        let json = try JSONParser.parse(box.cli(["task", "trace", task, "-o", "json"]).stdout)
        #expect(json["deviations"]?.arrayValue?.count == 1)
    }
    @Test("ticket_scan counts an item's tickets; ticket_fix runs only where there are some")
    func ticketScan() throws {
        let box = try TaskSandbox("tickets")
        try box.file("qa/01-login.md", "login\n")
        try box.file("qa/02-logout.md", "logout\n")
        try box.file("tickets/01-login-scenario-2.md", "failed\n")
        try box.file("tickets/other.md", "about qa/01-login.md\n")
        try box.manifest(
            """
            apiVersion: orchestrator.dev/v2
            kind: Workflow
            metadata: {name: tix}
            spec:
              steps:
                - {id: ticket_scan, builtin: ticket_scan}
                - id: ticket_fix
                  command: "echo {item_id}: {ticket_paths} >> fixed"
                  prehook: {engine: cel, when: "active_ticket_count > 0"}
            """)
        let run = box.run("tix")
        #expect(run.result.status == 0, "\(run.result.stdout)")
        #expect(box.read("fixed") == "qa/01-login.md: tickets/01-login-scenario-2.md tickets/other.md\n")
        let finished = ofType(try box.events(run.task), "step_finished").filter { $0["step"]?.string == "ticket_scan" }
        #expect(finished.count == 2)
    }
}
