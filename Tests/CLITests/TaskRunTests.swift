import CLI
import Foundation
import JSON
import Testing

/// The runner end to end through `orchestrator run`, with shell-command agents, real processes,
/// real files and the real database (docs/runner.md).
@Suite("Task runner")
struct TaskRunTests {
    // MARK: self-bootstrap against its plan

    @Test("self-bootstrap runs two cycles exactly as `plan -o json` schedules them")
    func selfBootstrapFollowsThePlan() throws {
        let box = try TaskSandbox("selfboot")
        // A temporary copy of a workspace: run from its root, the manifest's root_path `.` is the sandbox's ws/.
        let manifest = try String(contentsOfFile: packageRoot + "/manifests/self-bootstrap.yaml", encoding: .utf8)
        try box.file("manifests/self-bootstrap.yaml", manifest)
        try box.file("Package.swift", "// swift-tools-version: 6.0\n")
        try box.file("Sources/.keep", "")
        try box.file("docs/qa/01-validate.md", try String(contentsOfFile: packageRoot + "/docs/qa/01-validate.md", encoding: .utf8))
        // The tester files a ticket for this one, so ticket_fix runs for it (and only for it).
        try box.file(
            "docs/qa/02-plan.md", try String(contentsOfFile: packageRoot + "/docs/qa/02-plan.md", encoding: .utf8) + "\nsimulate: fail\n")
        let file = box.workspace + "/manifests/self-bootstrap.yaml"
        let run = box.cli(["run", "-f", file, "-W", "self-bootstrap", "-g", "add a feature"], in: box.workspace)
        #expect(run.status == 0, "\(run.stdout)\n\(run.stderr)")
        let task = TaskSandbox.taskID(in: run.stdout)
        let events = try box.events(task)

        // The schedule of spec: cycle 1 builds, cycle 2 validates.
        #expect(
            started(events) == [
                "1:plan", "1:qa_doc_gen", "1:implement", "1:self_test", "1:self_restart", "1:loop_guard",
                "2:implement", "2:self_test",
            ] + started(events).filter { $0.hasPrefix("2:qa_testing") || $0.hasPrefix("2:ticket_fix") }
                + ["2:align_tests", "2:doc_governance", "2:loop_guard"])
        let items = started(events).filter { $0.hasPrefix("2:qa_testing") || $0.hasPrefix("2:ticket_fix") }.sorted()
        #expect(
            items == [
                "2:qa_testing[docs/qa/01-validate.md]", "2:qa_testing[docs/qa/02-plan.md]", "2:ticket_fix[docs/qa/02-plan.md]",
            ])
        #expect(ofType(events, "loop_guard_decision").map { $0["cycle"]?.int } == [1, 2])
        #expect(ofType(events, "items_generated").count == 1)
        #expect(ofType(events, "self_restart_requested").count == 1)
        #expect(ofType(events, "task_completed").count == 1)
        // The ticket was filed by qa_testing and removed by ticket_fix.
        #expect(FileManager.default.fileExists(atPath: box.workspace + "/docs/ticket") == true)
        #expect((try FileManager.default.contentsOfDirectory(atPath: box.workspace + "/docs/ticket")).isEmpty)

        // Every decision of `plan -o json` for the same inputs holds in the execution.
        let plan = runInProcess(["plan", "-f", file, "-o", "json"], directory: box.root)
        #expect(plan.status == 0, "\(plan.stderr)")
        let cycles = try JSONParser.parse(plan.stdout)["cycles"]?.arrayValue ?? []
        #expect(cycles.count == 2)
        for planned in cycles {
            let cycle = planned["cycle"]?.int ?? 0
            for step in planned["steps"]?.arrayValue ?? [] {
                let id = step["id"]?.string ?? ""
                let ran = ofType(events, "step_started").filter { $0["cycle"]?.int == cycle && $0["step"]?.string == id }
                let skipped = ofType(events, "step_skipped").filter { $0["cycle"]?.int == cycle && $0["step"]?.string == id }
                switch step["decision"]?.string {
                case "run": #expect(!ran.isEmpty && skipped.isEmpty, "cycle \(cycle) \(id) should run")
                case "skip": #expect(ran.isEmpty && !skipped.isEmpty, "cycle \(cycle) \(id) should be skipped")
                default: #expect(!ran.isEmpty || !skipped.isEmpty, "cycle \(cycle) \(id) has no record")
                }
            }
        }
        // And `task trace` agrees.
        let trace = box.cli(["task", "trace", task])
        #expect(trace.status == 0, "\(trace.stdout)")
        #expect(trace.stdout.contains("no deviation"))
    }

    // MARK: on_failure

    @Test("on_failure continue, set_status and early_return (item and task segments)")
    func onFailureActions() throws {
        let box = try TaskSandbox("onfailure")
        try box.file("qa/a.md", "a\n")
        try box.manifest(
            """
            apiVersion: orchestrator.dev/v2
            kind: Workflow
            metadata: {name: cont}
            spec:
              steps:
                - {id: check, scope: item, command: "echo check >> trail; exit 3"}
                - {id: after, scope: item, command: "echo after >> trail"}
            ---
            apiVersion: orchestrator.dev/v2
            kind: Workflow
            metadata: {name: status}
            spec:
              steps:
                - id: check
                  scope: item
                  command: "exit 4"
                  behavior: {on_failure: {action: set_status, status: blocked}}
                - {id: after, scope: item, command: "echo after-status >> trail"}
            ---
            apiVersion: orchestrator.dev/v2
            kind: Workflow
            metadata: {name: early}
            spec:
              steps:
                - id: check
                  scope: item
                  command: "exit 5"
                  behavior: {on_failure: {action: early_return}}
                - {id: after, scope: item, command: "echo after-early >> trail"}
            ---
            apiVersion: orchestrator.dev/v2
            kind: Workflow
            metadata: {name: taskearly}
            spec:
              steps:
                - id: build
                  command: "exit 6"
                  behavior: {on_failure: {action: early_return}}
                - {id: deploy, command: "echo deploy >> trail"}
                - {id: check, scope: item, command: "echo item >> trail"}
            """)
        // continue: the next step runs, the failure leaves the item unresolved, the task fails.
        let cont = box.run("cont")
        #expect(cont.result.status == 1)
        #expect(box.read("trail") == "check\nafter\n")
        let contItems = box.cli(["task", "items", cont.task, "-o", "json"])
        #expect(try JSONParser.parse(contItems.stdout).arrayValue?.first?["status"]?.string == "unresolved")
        let contEvents = try box.events(cont.task)
        #expect(ofType(contEvents, "step_finished").first?["payload"]?["exit_code"]?.int == 3)
        #expect(ofType(contEvents, "task_failed").count == 1)

        // set_status: the item gets the status, the next step still runs.
        let status = box.run("status")
        #expect(box.read("trail").hasSuffix("after-status\n"))
        let statusItems = box.cli(["task", "items", status.task, "-o", "json"])
        #expect(try JSONParser.parse(statusItems.stdout).arrayValue?.first?["status"]?.string == "blocked")
        #expect(ofType(try box.events(status.task), "item_finalized").first?["payload"]?["status"]?.string == "blocked")

        // early_return: the item's remaining steps do not run.
        let early = box.run("early")
        #expect(early.result.status == 1)
        #expect(!box.read("trail").contains("after-early"))
        let earlyEvents = try box.events(early.task)
        #expect(ofType(earlyEvents, "step_skipped").map { $0["payload"]?["reason"]?.string } == ["early_return"])

        // early_return in a task segment stops the rest of the cycle (later segments too).
        let taskEarly = box.run("taskearly")
        #expect(taskEarly.result.status == 1)
        #expect(!box.read("trail").contains("deploy") && !box.read("trail").contains("item"))
        let skipped = ofType(try box.events(taskEarly.task), "step_skipped").map { $0["step"]?.string ?? "" }
        #expect(skipped == ["deploy", "check"])
    }

    // MARK: timeout

    @Test("a step timeout kills the whole process tree")
    func timeoutKillsTheProcessTree() throws {
        let box = try TaskSandbox("timeout")
        try box.manifest(
            """
            apiVersion: orchestrator.dev/v2
            kind: Workflow
            metadata: {name: slow}
            spec:
              safety: {step_timeout_secs: 1}
              steps:
                - id: slow
                  command: "sh -c 'sleep 30 & echo $! > grandchild.pid; wait' & echo $! > child.pid; sleep 30"
            """, workspaceSpec: "qa_targets: []")
        let begin = Date()
        let run = box.run("slow")
        #expect(run.result.status == 1)
        #expect(Date().timeIntervalSince(begin) < 60)  // the 100 s sleeps were not awaited (room for a loaded machine)
        let finished = ofType(try box.events(run.task), "step_finished")
        #expect(finished.first?["payload"]?["timed_out"]?.bool == true)
        #expect(finished.first?["payload"]?["success"]?.bool == false)
        for name in ["child.pid", "grandchild.pid"] {
            let text = box.read(name).trimmingCharacters(in: .whitespacesAndNewlines)
            let pid = Int32(text) ?? 0
            #expect(pid > 0, "\(name) was not written")
            #expect(!isAliveProcess(pid), "\(name) \(pid) still runs")
        }
    }

    // MARK: prehook per item

    @Test("a prehook skips a step for some items and runs it for others")
    func prehookPerItem() throws {
        let box = try TaskSandbox("prehook")
        try box.file("qa/a.md", "a\n")
        try box.file("qa/b.md", "b\n")
        try box.manifest(
            """
            apiVersion: orchestrator.dev/v2
            kind: Workflow
            metadata: {name: pick}
            spec:
              steps:
                - id: qa
                  command: "echo {item_id} >> ran"
                  prehook: {engine: cel, when: "qa_file_path.endsWith('a.md')"}
            """)
        let run = box.run("pick")
        #expect(run.result.status == 0, "\(run.result.stdout)")
        #expect(box.read("ran") == "qa/a.md\n")
        let events = try box.events(run.task)
        let evaluated = ofType(events, "step_prehook_evaluated").map { "\($0["item"]?.string ?? ""):\($0["payload"]?["decision"]?.string ?? "")" }
        #expect(evaluated.sorted() == ["qa/a.md:run", "qa/b.md:skip"])
        #expect(ofType(events, "step_skipped").first?["item"]?.string == "qa/b.md")
        #expect(ofType(events, "step_skipped").first?["payload"]?["reason"]?.string == "prehook_false")
    }

    // MARK: max_parallel

    @Test("max_parallel: 4 runs four items at once, never more")
    func maxParallelRunsFourAtOnce() throws {
        let box = try TaskSandbox("parallel")
        for index in 1...8 { try box.file("qa/\(index).md", "\(index)\n") }
        try box.manifest(
            """
            apiVersion: orchestrator.dev/v2
            kind: Workflow
            metadata: {name: wide}
            spec:
              max_parallel: 4
              steps:
                - {id: qa, command: "sleep 0.4"}
            """)
        let begin = Date()
        let run = box.run("wide")
        #expect(run.result.status == 0, "\(run.result.stdout)")
        let elapsed = Date().timeIntervalSince(begin)
        // Eight 0.4 s steps, four at once: two waves (about 0.8 s); one at a time would take at
        // least 3.2 s. The events below are the proof; the time only has to beat the serial floor.
        #expect(elapsed < 3.2)
        var running = 0
        var peak = 0
        for event in try box.events(run.task) {
            if event["type"]?.string == "step_started" { running += 1 }
            if event["type"]?.string == "step_finished" { running -= 1 }
            peak = max(peak, running)
        }
        #expect(peak == 4)
    }

    // MARK: generate_items

    @Test("generate_items with replace: the generated items replace the static ones")
    func generateItemsReplace() throws {
        let box = try TaskSandbox("generate")
        try box.file("qa/static.md", "s\n")
        try box.file("docs/x.md", "x\n")
        try box.manifest(
            """
            apiVersion: orchestrator.dev/v2
            kind: Workflow
            metadata: {name: gen}
            spec:
              steps:
                - id: pick
                  scope: task
                  command: |
                    echo 'Here is the list:'
                    echo '```json'
                    echo '{"targets": [{"id": "docs/x.md", "name": "X", "level": 2}, {"id": "virtual", "name": "V", "level": 5}]}'
                    echo '```'
                  behavior:
                    post_actions:
                      - type: generate_items
                        from_var: pick_output
                        json_path: "$.targets"
                        mapping: {item_id: "$.id", label: "$.name", vars: {level: "$.level"}}
                        replace: true
                - {id: qa, scope: item, command: "echo {item_id}:{level}:{qa_file_path} >> ran"}
            """)
        let run = box.run("gen")
        #expect(run.result.status == 0, "\(run.result.stdout)\(run.result.stderr)")
        #expect(box.read("ran").split(separator: "\n").sorted() == ["docs/x.md:2:docs/x.md", "virtual:5:"])
        let items = try JSONParser.parse(box.cli(["task", "items", run.task, "-o", "json"]).stdout).arrayValue ?? []
        let active = items.filter { $0["active"]?.bool == true }.compactMap { $0["id"]?.string }
        #expect(active == ["docs/x.md", "virtual"])
        #expect(items.first { $0["id"]?.string == "qa/static.md" }?["active"]?.bool == false)
        let generated = ofType(try box.events(run.task), "items_generated")
        #expect(generated.count == 1)
        #expect(generated.first?["payload"]?["replace"]?.bool == true)
    }

    @Test("a generate_items extraction that fails keeps the items, and says so in the progress line, task info and the trace")
    func failedGenerationKeepsItems() throws {
        let box = try TaskSandbox("genfail")
        try box.file("qa/a.md", "a\n")
        try box.file("qa/b.md", "b\n")
        // Each way an extraction fails: no JSON at all, a path that matches nothing, not a list.
        for (name, output, path) in [
            ("nojson", "echo 'I could not decide which targets to run.'", "$.targets"),
            ("nomatch", "echo '{\"other\": []}'", "$.targets"),
            ("notalist", "echo '{\"targets\": \"docs/x.md\"}'", "$.targets"),
        ] {
            try box.manifest(
                """
                apiVersion: orchestrator.dev/v2
                kind: Workflow
                metadata: {name: \(name)}
                spec:
                  steps:
                    - id: pick
                      scope: task
                      command: "\(output.replacingOccurrences(of: "\"", with: "\\\""))"
                      behavior:
                        post_actions:
                          - {type: generate_items, from_var: pick_output, json_path: "\(path)", replace: true}
                    - {id: qa, scope: item, command: "echo {item_id} >> ran-\(name)"}
                """)
            let run = box.runShowingProgress(name)
            #expect(run.result.status == 0, "\(run.result.stdout)\(run.result.stderr)")
            // Both static items ran: nothing was wiped.
            #expect(box.read("ran-\(name)").split(separator: "\n").sorted() == ["qa/a.md", "qa/b.md"], "\(name)")
            #expect(run.result.stdout.contains("pick: generate_items:"), "\(name): \(run.result.stdout)")
            #expect(run.result.stdout.contains("the 2 existing items are kept"), "\(name): \(run.result.stdout)")
            #expect(run.result.stdout.contains("1 generate_items extraction failed"), "\(name): \(run.result.stdout)")
            let events = try box.events(run.task)
            #expect(ofType(events, "items_generated").isEmpty, "\(name)")
            let failed = ofType(events, "items_generation_failed")
            #expect(failed.count == 1, "\(name)")
            #expect(failed.first?["payload"]?["kept_items"]?.int == 2, "\(name)")
            let info = box.cli(["task", "info", run.task])
            #expect(info.stdout.contains("notes:\n  pick (cycle 1): generate_items:"), "\(name): \(info.stdout)")
            let json = try JSONParser.parse(box.cli(["task", "info", run.task, "-o", "json"]).stdout)
            #expect(json["notes"]?.arrayValue?.first?["kind"]?.string == "items_generation_failed", "\(name)")
            let trace = box.cli(["task", "trace", run.task])
            #expect(trace.stdout.contains("1 note (what did not happen or failed):"), "\(name): \(trace.stdout)")
        }
    }

    @Test("an empty list that parses replaces the items with none, and the progress line says so")
    func emptyGenerationReplacesAndSaysSo() throws {
        let box = try TaskSandbox("genempty")
        try box.file("qa/a.md", "a\n")
        try box.manifest(
            """
            apiVersion: orchestrator.dev/v2
            kind: Workflow
            metadata: {name: empty}
            spec:
              steps:
                - id: pick
                  scope: task
                  command: "echo '{\\"targets\\": []}'"
                  behavior:
                    post_actions:
                      - {type: generate_items, from_var: pick_output, json_path: "$.targets", replace: true}
                - {id: qa, scope: item, command: "echo {item_id} >> ran"}
            """)
        let run = box.runShowingProgress("empty")
        #expect(run.result.status == 0, "\(run.result.stdout)\(run.result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: box.workspace + "/ran"))
        #expect(run.result.stdout.contains("pick: generate_items gave an empty list"), "\(run.result.stdout)")
        #expect(ofType(try box.events(run.task), "items_generation_failed").isEmpty)
    }

    @Test("task create without a daemon says the task runs in the foreground, and where no daemon serves")
    func createWithoutDaemonSaysForeground() throws {
        let box = try TaskSandbox("nodaemon")
        try box.manifest(
            """
            apiVersion: orchestrator.dev/v2
            kind: Workflow
            metadata: {name: one}
            spec:
              steps:
                - {id: work, scope: task, command: "echo done"}
            """)
        #expect(box.cli(["apply", "-f", box.root + "/manifest.yaml"]).status == 0)
        let created = box.cli(["task", "create", "-n", "first", "-W", "one", "-g", "a goal", "-q"])
        #expect(created.status == 0, "\(created.stderr)")
        #expect(created.stderr.contains("note: no daemon serves \(box.data): task "), "\(created.stderr)")
        #expect(created.stderr.contains("runs in the foreground"), "\(created.stderr)")
        let later = box.cli(["task", "create", "-n", "second", "-W", "one", "-g", "a goal", "--no-start"])
        #expect(later.status == 0)
        #expect(!later.stderr.contains("foreground"), "only a task that runs now is announced")
    }

    @Test("a task is named by id, unique id prefix or unique name; an ambiguous word lists the candidates")
    func tasksByNameOrPrefix() throws {
        let box = try TaskSandbox("names")
        try box.manifest(
            """
            apiVersion: orchestrator.dev/v2
            kind: Workflow
            metadata: {name: one}
            spec:
              steps:
                - {id: work, scope: task, command: "echo done"}
            """)
        #expect(box.cli(["apply", "-f", box.root + "/manifest.yaml"]).status == 0)
        var ids: [String] = []
        for name in ["solo", "twin", "twin"] {
            let created = box.cli(["task", "create", "-n", name, "-W", "one", "-g", "g", "--no-start"])
            #expect(created.status == 0, "\(created.stderr)")
            ids.append(TaskSandbox.taskID(in: created.stdout))
        }
        let byName = box.cli(["task", "info", "solo", "-o", "json"])
        #expect(byName.status == 0, "\(byName.stderr)")
        #expect(try JSONParser.parse(byName.stdout)["id"]?.string == ids[0])
        #expect(box.cli(["event", "list", "solo"]).status == 0)
        #expect(box.cli(["task", "info", String(ids[1].prefix(8))]).status == 0)
        let twins = box.cli(["task", "info", "twin"])
        #expect(twins.status == 2)
        #expect(twins.stderr.contains("2 tasks are named `twin`"), "\(twins.stderr)")
        #expect(twins.stderr.contains(ids[1]) && twins.stderr.contains(ids[2]), "\(twins.stderr)")
        let unknown = box.cli(["task", "info", "nobody"])
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains("no task nobody"), "\(unknown.stderr)")
    }

    // MARK: steps that did nothing

    @Test("a builtin that did nothing is shown skipped, with its reason, in the progress line, task info and the trace")
    func didNothingIsNotGreen() throws {
        let box = try TaskSandbox("idle")
        try box.manifest(
            """
            apiVersion: orchestrator.dev/v2
            kind: Workflow
            metadata: {name: idle}
            spec:
              steps:
                - {id: self_test, builtin: self_test}
                - {id: self_restart, builtin: self_restart}
                - {id: work, scope: task, command: "echo done"}
            """)
        let run = box.runShowingProgress("idle")
        #expect(run.result.status == 0, "\(run.result.stdout)\(run.result.stderr)")
        let lines = run.result.stdout.split(separator: "\n").map(String.init)
        let selfTest = lines.first { $0.contains(" self_test ") } ?? ""
        #expect(selfTest.contains("skipped: no self_test commands configured"), "\(selfTest)")
        #expect(!selfTest.contains(" ok "), "\(selfTest)")
        let restart = lines.first { $0.contains(" self_restart ") } ?? ""
        #expect(restart.contains("skipped: workspace ws has no build_command"), "\(restart)")
        #expect(lines.first { $0.contains(" work ") }?.contains(" ok ") == true)
        #expect(run.result.stdout.contains("note: 2 steps did nothing"), "\(run.result.stdout)")
        let finished = ofType(try box.events(run.task), "step_finished")
        #expect(finished.first { $0["step"]?.string == "self_test" }?["payload"]?["did_nothing"]?.string != nil)
        #expect(finished.first { $0["step"]?.string == "work" }?["payload"]?["did_nothing"] == nil)
        let info = box.cli(["task", "info", run.task]).stdout
        #expect(info.contains("self_test (cycle 1): did nothing: no self_test commands configured"), "\(info)")
        #expect(info.contains("self_restart (cycle 1): did nothing:"), "\(info)")
        let trace = box.cli(["task", "trace", run.task]).stdout
        #expect(trace.contains("ran, did nothing"), "\(trace)")
    }

    @Test("a step whose command is not found fails with the first line of its stderr in the progress line and task info")
    func commandNotFoundShowsStderr() throws {
        let box = try TaskSandbox("notfound")
        try box.manifest(
            """
            apiVersion: orchestrator.dev/v2
            kind: Workflow
            metadata: {name: missing}
            spec:
              steps:
                - {id: agent, scope: task, command: "no-such-agent-binary -p hello"}
            """)
        let run = box.runShowingProgress("missing")
        #expect(run.result.status != 0)
        let line = run.result.stdout.split(separator: "\n").first { $0.contains(" agent ") }.map(String.init) ?? ""
        #expect(line.contains("FAILED"), "\(line)")
        #expect(line.contains("exit 127"), "\(line)")
        #expect(line.contains("no-such-agent-binary"), "\(line)")
        #expect(line.contains("not found"), "\(line)")
        let info = box.cli(["task", "info", run.task]).stdout
        #expect(info.contains("agent (cycle 1): failed (exit 127):"), "\(info)")
    }

    // MARK: loops

    @Test("an infinite loop is stopped by loop_guard once nothing is unresolved")
    func loopGuardStopsInfiniteLoop() throws {
        let box = try TaskSandbox("guard")
        try box.file("qa/a.md", "a\n")
        try box.manifest(
            """
            apiVersion: orchestrator.dev/v2
            kind: Workflow
            metadata: {name: forever}
            spec:
              loop: {mode: infinite}
              safety: {max_consecutive_failures: 10}
              steps:
                - {id: qa, command: "echo x >> count; test $(wc -l < count) -ge 3"}
                - {id: loop_guard, builtin: loop_guard}
            """)
        let run = box.run("forever")
        #expect(run.result.status == 0, "\(run.result.stdout)")
        let decisions = ofType(try box.events(run.task), "loop_guard_decision")
        #expect(decisions.map { $0["payload"]?["continue"]?.bool } == [true, true, false])
        #expect(decisions.last?["payload"]?["reason"]?.string == "no item is unresolved")
        #expect(box.read("count").split(separator: "\n").count == 3)
    }

    @Test("an infinite loop is stopped by convergence_expr")
    func convergenceStopsInfiniteLoop() throws {
        let box = try TaskSandbox("converge")
        try box.manifest(
            """
            apiVersion: orchestrator.dev/v2
            kind: Workflow
            metadata: {name: converge}
            spec:
              loop:
                mode: infinite
                stop_when_no_unresolved: false
                convergence_expr:
                  - {engine: cel, when: "score >= 3", reason: "good enough"}
              steps:
                - id: measure
                  command: "echo x >> count; wc -l < count"
                  behavior: {captures: [{var: score, source: stdout}]}
                - {id: loop_guard, builtin: loop_guard}
            """, workspaceSpec: "qa_targets: []")
        let run = box.run("converge")
        #expect(run.result.status == 0, "\(run.result.stdout)")
        let decisions = ofType(try box.events(run.task), "loop_guard_decision")
        #expect(decisions.count == 3)
        #expect(decisions.last?["payload"]?["continue"]?.bool == false)
        #expect(decisions.last?["payload"]?["reason"]?.string?.contains("good enough") == true)
    }

    @Test("max_consecutive_failures fails the task")
    func consecutiveFailuresFailTheTask() throws {
        let box = try TaskSandbox("failures")
        try box.file("qa/a.md", "a\n")
        try box.manifest(
            """
            apiVersion: orchestrator.dev/v2
            kind: Workflow
            metadata: {name: hopeless}
            spec:
              loop: {mode: infinite, max_cycles: 10}
              safety: {max_consecutive_failures: 2}
              steps:
                - {id: qa, command: "echo x >> count; false"}
                - {id: loop_guard, builtin: loop_guard}
            """)
        let run = box.run("hopeless")
        #expect(run.result.status == 1)
        #expect(box.read("count") == "x\nx\n")
        let failed = ofType(try box.events(run.task), "task_failed")
        #expect(failed.count == 1)
        #expect(failed.first?["payload"]?["reason"]?.string?.contains("max_consecutive_failures") == true)
        #expect(try box.taskInfo(run.task)["status"]?.string == "failed")
    }

    // MARK: captures

    @Test("captures with json_path, exit_code and flags reach later steps")
    func capturesWithJSONPath() throws {
        let box = try TaskSandbox("captures")
        try box.manifest(
            """
            apiVersion: orchestrator.dev/v2
            kind: Workflow
            metadata: {name: cap}
            spec:
              steps:
                - id: produce
                  command: |
                    echo 'thinking...'
                    echo '{"a": {"b": [10, 20, 30]}, "name": "x y", "list": [{"id": "p"}, {"id": "q"}]}'
                  behavior:
                    captures:
                      - {var: second, source: stdout, json_path: "$.a.b[1]"}
                      - {var: ids, source: stdout, json_path: "$.list[*].id"}
                      - {var: name, source: stdout, json_path: "$.name"}
                      - {var: missing, source: stdout, json_path: "$.nope"}
                      - {var: code, source: exit_code}
                      - {var: ok, source: success_flag}
                - id: use
                  command: "printf '%s|%s|%s|%s|%s\\n' {second} {ids} {name} {code} {ok} > used"
                  prehook: {engine: cel, when: "second == 20 && size(ids) == 2 && 'q' in ids && ok"}
            """, workspaceSpec: "qa_targets: []")
        let run = box.run("cap")
        #expect(run.result.status == 0, "\(run.result.stdout)")
        #expect(box.read("used") == "20|[\"p\",\"q\"]|x y|0|true\n")
        let finished = ofType(try box.events(run.task), "step_finished").first
        #expect(finished?["payload"]?["captures"]?["second"]?.int == 20)
        #expect(finished?["payload"]?["captures"]?["missing"]?.string == "")
        let problems = finished?["payload"]?["capture_problems"]?.arrayValue ?? []
        #expect(problems.count == 1)
    }

    // MARK: secrets

    @Test("a secret never appears in logs, events or outputs")
    func secretsAreMasked() throws {
        let box = try TaskSandbox("secrets")
        let secret = "s3cr3t-Value-4242"
        try box.manifest(
            """
            apiVersion: orchestrator.dev/v2
            kind: SecretStore
            metadata: {name: keys}
            spec:
              data: {API_TOKEN: "\(secret)"}
            ---
            apiVersion: orchestrator.dev/v2
            kind: StepTemplate
            metadata: {name: leak}
            spec: {prompt: "use the token"}
            ---
            apiVersion: orchestrator.dev/v2
            kind: Agent
            metadata: {name: leaker}
            spec:
              capabilities: [leak]
              env: [{fromRef: keys}]
              command: >-
                echo "token=$API_TOKEN"; echo "err $API_TOKEN" >&2; printf '{"t": "%s"}\\n' "$API_TOKEN"; exit 1
            ---
            apiVersion: orchestrator.dev/v2
            kind: Workflow
            metadata: {name: leaky}
            spec:
              steps:
                - id: leak
                  required_capability: leak
                  template: leak
                  behavior:
                    captures:
                      - {var: token, source: stdout, json_path: "$.t"}
                      - {var: all, source: stderr}
                - {id: echo, command: "echo {token} {all} {leak_output}"}
            """, workspaceSpec: "qa_targets: []")
        let run = box.cli(["run", "-f", box.root + "/manifest.yaml", "-W", "leaky"])
        let task = TaskSandbox.taskID(in: run.stdout)
        #expect(!task.isEmpty)
        #expect(run.stdout.contains("FAILED"))
        var everything = run.stdout + run.stderr
        everything += box.cli(["event", "list", "--task", task, "-o", "json"]).stdout
        everything += box.cli(["event", "list", "--task", task]).stdout
        let logs = box.cli(["task", "logs", task]).stdout
        everything += logs
        everything += box.cli(["task", "info", task, "-o", "json"]).stdout
        #expect(logs.contains("token=***"))
        #expect(logs.contains("err ***"))
        // Every log file on disk.
        let logDirectory = box.data + "/logs/" + task
        let enumerator = FileManager.default.enumerator(atPath: logDirectory)
        var files = 0
        while let name = enumerator?.nextObject() as? String {
            if let text = try? String(contentsOfFile: logDirectory + "/" + name, encoding: .utf8) {
                everything += text
                files += 1
            }
        }
        #expect(files >= 3)  // leak: stdout and stderr; echo: stdout
        #expect(!everything.contains(secret))
        #expect(everything.contains("***"))
    }

    @Test("captures and output variables read the raw output: a secret that is also a JSON key does not empty a capture")
    func capturesReadRawOutput() throws {
        let box = try TaskSandbox("raw-captures")
        // The secret is the word `name`: masking turns `{"name": ...}` into `{"***": ...}` in the
        // logs, which must not change what the workflow captures.
        try box.manifest(
            """
            apiVersion: orchestrator.dev/v2
            kind: SecretStore
            metadata: {name: keys}
            spec:
              data: {WORD: "name"}
            ---
            apiVersion: orchestrator.dev/v2
            kind: StepTemplate
            metadata: {name: emit}
            spec: {prompt: "emit"}
            ---
            apiVersion: orchestrator.dev/v2
            kind: Agent
            metadata: {name: emitter}
            spec:
              capabilities: [emit]
              env: [{fromRef: keys}]
              command: >-
                printf '{"name": "alpha", "count": 2}\\n'
            ---
            apiVersion: orchestrator.dev/v2
            kind: Workflow
            metadata: {name: raw}
            spec:
              steps:
                - id: emit
                  required_capability: emit
                  template: emit
                  behavior:
                    captures:
                      - {var: who, source: stdout, json_path: "$.name"}
                      - {var: count, source: stdout, json_path: "$.count"}
                - {id: use, command: "printf '%s %s' {who} {count} > got.txt"}
            """, workspaceSpec: "qa_targets: []")
        let run = box.run("raw")
        #expect(run.result.status == 0, "\(run.result.stdout)\(run.result.stderr)")
        #expect(box.read("got.txt") == "alpha 2")
        // What is stored and shown is masked.
        let logs = box.cli(["task", "logs", run.task]).stdout
        #expect(logs.contains("{\"***\": \"alpha\""), "\(logs)")
        let finished = ofType(try box.events(run.task), "step_finished").first { $0["step"]?.string == "emit" }
        #expect(finished?["payload"]?["capture_problems"] == nil, "\(String(describing: finished))")
        #expect(finished?["payload"]?["captures"]?["who"]?.string == "alpha")
    }
}

func isAliveProcess(_ pid: Int32) -> Bool {
    guard kill(pid, 0) == 0 else { return false }
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else {
        return false
    }
    let state = stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).prefix(1)
    return state != "Z" && state != "X"
}
