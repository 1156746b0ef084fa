import Compiler
import Expr
import JSON
import Manifest
import Store
import Platform

// The end of a cycle: finalize the items, run the guard steps (loop_guard, convergence_expr),
// count consecutive failing cycles, decide whether another cycle runs, and the drift check at
// the boundary. Then how a task ends (completed, failed, paused).

enum CycleEnding {
    case continueLoop
    case end(TaskStatus, reason: String, unresolved: Int)
}

extension TaskRunner {
    /// Step ids (or capabilities) that count as a fix: a failure followed by their success in
    /// the same cycle makes the item `verified` under the default rules.
    static let fixSteps: Set<String> = ["fix", "ticket_fix", "retest", "qa_fix"]

    func endCycle(_ cycle: Int) throws -> CycleEnding {
        try finalize(cycle)
        var unresolved = activeItems().filter { Items.isUnresolved($0.record.status) }.count
        if ledger.taskFailedThisCycle && ledger.taskItem == nil { unresolved += 1 }

        // Guards.
        var stop: (reason: String, by: String)?
        var loopGuardRan = false
        for step in graph.guards {
            let key = slotKey(cycle, step.id, nil)
            if let recorded = ledger.done[key] {
                if let verdict = RunOutcome(json: recorded.outcome).guardVerdict, !verdict.continueLoop {
                    stop = (verdict.reason, step.id)
                }
                if step.kind == .builtin(.loop_guard) { loopGuardRan = true }
                continue
            }
            let extra: [String: Value] = ["unresolved_items": .int(Int64(unresolved))]
            let decision = StepDecision.decide(
                step, cycle: cycle,
                evaluatePrehook: { prehook in
                    prehook.when.evaluate(self.bindings(prehook.when.variables, item: self.ledger.taskItem, cycle: cycle, taskScope: true, extra: extra))
                })
            var prehookEvent: NewEvent?
            if let prehook = step.prehook, step.enabled, decision.skipReason != .not_repeatable {
                prehookEvent = NewEvent(
                    .stepPrehookEvaluated, cycle: cycle, step: step.id,
                    payload: masker.mask(
                        .object([
                            ("decision", .string(decision.verdict.rawValue)), ("when", .string(prehook.when.text)),
                            ("reason", decision.reason.map { .string($0) } ?? .null),
                        ])))
            }
            guard decision.verdict == .run else {
                try recordSkip(
                    step, cycle: cycle, item: nil, reason: decision.skipReason?.rawValue ?? "prehook_error",
                    explanation: decision.explanation, prehookEvent: prehookEvent)
                continue
            }
            if step.kind == .builtin(.loop_guard) {
                loopGuardRan = true
                let verdict = loopGuardVerdict(cycle: cycle, unresolved: unresolved)
                try recordGuard(step, cycle: cycle, verdict: verdict, unresolved: unresolved, prehookEvent: prehookEvent)
                if !verdict.continueLoop { stop = (verdict.reason, step.id) }
            } else {
                // A guard command: it stops the loop when it succeeds and its output's last line
                // is `stop` (or a JSON object with "stop": true / "should_stop": true).
                _ = try execute(step, cycle: cycle, item: nil, prehookEvent: prehookEvent)
                let output = (ledger.taskVars[PrehookVariables.outputVariable(step.id)]?.stringValue ?? "")
                let exit = ledger.taskVars[PrehookVariables.exitCodeVariable(step.id)]
                let lastLine = output.split(separator: "\n").last.map { String($0).trimmingCharacters(in: " \t\r") } ?? ""
                var stops = false
                if exit == .int(0) {
                    if lastLine == "stop" {
                        stops = true
                    } else if let json = JSONOutput.extract(from: output), json["stop"] == .bool(true) || json["should_stop"] == .bool(true) {
                        stops = true
                    }
                }
                let reason = stops ? "guard \(step.id) asked to stop" : "guard \(step.id) did not ask to stop"
                try tasks.write { writer in
                    try writer.append(
                        NewEvent(
                            .loopGuardDecision, cycle: cycle, step: step.id,
                            payload: .object([
                                ("cycle", .int(Int64(cycle))), ("continue", .bool(!stops)), ("reason", .string(reason)),
                                ("unresolved_items", .int(Int64(unresolved))),
                            ])), task: taskID)
                }
                if stops { stop = (reason, step.id) }
            }
        }
        // convergence_expr without a loop_guard step still ends the loop.
        if !loopGuardRan, stop == nil, !graph.loop.convergence.isEmpty, ledger.done[slotKey(cycle, "convergence_expr", nil)] == nil {
            if let rule = convergenceHolds(cycle: cycle, unresolved: unresolved) {
                let reason = "convergence_expr `\(rule.when.text)` holds" + (rule.reason.map { ": \($0)" } ?? "")
                try tasks.write { writer in
                    try writer.append(
                        NewEvent(
                            .loopGuardDecision, cycle: cycle,
                            payload: .object([
                                ("cycle", .int(Int64(cycle))), ("continue", .bool(false)), ("reason", .string(reason)),
                                ("unresolved_items", .int(Int64(unresolved))),
                            ])), task: taskID)
                    try writer.skipRun(
                        task: taskID, cycle: cycle, step: "convergence_expr", item: nil,
                        outcome: RunOutcome.verdict(continueLoop: false, reason: reason).json)
                }
                stop = (reason, "convergence_expr")
            }
        }

        // Stored with the next cycle_started (or the task's end), so a resume between here and
        // there counts this cycle once.
        let consecutive = unresolved > 0 ? task.consecutiveFailures + 1 : 0
        ledger.pendingConsecutiveFailures = consecutive
        if let stop {
            return .end(.completed, reason: "the loop was stopped by \(stop.by): \(stop.reason)", unresolved: unresolved)
        }
        if consecutive >= graph.safety.maxConsecutiveFailures {
            return .end(
                .failed,
                reason: "\(consecutive) consecutive cycle\(consecutive == 1 ? "" : "s") with unresolved items (safety.max_consecutive_failures: \(graph.safety.maxConsecutiveFailures))",
                unresolved: unresolved)
        }
        if let limit = graph.loop.cycleLimit, cycle >= limit {
            if unresolved == 0 {
                return .end(.completed, reason: "the loop ended after \(cycle) cycle\(cycle == 1 ? "" : "s") with nothing unresolved", unresolved: 0)
            }
            return .end(
                .failed, reason: "the loop ended after \(cycle) cycle\(cycle == 1 ? "" : "s") with \(unresolved) unresolved item\(unresolved == 1 ? "" : "s")",
                unresolved: unresolved)
        }
        return .continueLoop
    }

    func convergenceHolds(cycle: Int, unresolved: Int) -> ConvergenceBinding? {
        for rule in graph.loop.convergence {
            let values = bindings(
                rule.when.variables, item: ledger.taskItem, cycle: cycle, taskScope: true, extra: ["unresolved_items": .int(Int64(unresolved))])
            if case .value(true) = rule.when.evaluate(values) { return rule }
        }
        return nil
    }

    func loopGuardVerdict(cycle: Int, unresolved: Int) -> (continueLoop: Bool, reason: String) {
        if graph.loop.stopWhenNoUnresolved && unresolved == 0 { return (false, "no item is unresolved") }
        if let rule = convergenceHolds(cycle: cycle, unresolved: unresolved) {
            return (false, "convergence_expr `\(rule.when.text)` holds" + (rule.reason.map { ": \($0)" } ?? ""))
        }
        if !graph.loop.stopWhenNoUnresolved && graph.loop.convergence.isEmpty {
            return (true, "cannot stop the loop (stop_when_no_unresolved is false and there is no convergence_expr)")
        }
        return (true, "\(unresolved) unresolved item\(unresolved == 1 ? "" : "s")")
    }

    func recordGuard(
        _ step: CompiledStep, cycle: Int, verdict: (continueLoop: Bool, reason: String), unresolved: Int, prehookEvent: NewEvent?
    ) throws {
        let paths = try logPaths(step, cycle: cycle, item: nil)
        writeTextFile(paths.stdout, "continue: \(verdict.continueLoop)\nreason: \(verdict.reason)\nunresolved items: \(unresolved)\n")
        let begin = monotonicMilliseconds()
        let runID = try tasks.write { writer -> Int64 in
            if let prehookEvent { try writer.append(prehookEvent, task: taskID) }
            try writer.append(
                NewEvent(.stepStarted, cycle: cycle, step: step.id, payload: .object([("kind", .string("builtin"))])), task: taskID)
            return try writer.startRun(task: taskID, cycle: cycle, step: step.id, item: nil, command: nil, stdout: paths.stdout, stderr: paths.stderr)
        }
        progress(.stepStarted, cycle: cycle, step: step.id)
        let duration = monotonicMilliseconds() - begin
        try tasks.write { writer in
            try writer.append(
                NewEvent(
                    .loopGuardDecision, cycle: cycle, step: step.id,
                    payload: .object([
                        ("cycle", .int(Int64(cycle))), ("continue", .bool(verdict.continueLoop)), ("reason", .string(verdict.reason)),
                        ("unresolved_items", .int(Int64(unresolved))),
                    ])), task: taskID)
            try writer.append(
                NewEvent(
                    .stepFinished, cycle: cycle, step: step.id,
                    payload: .object([
                        ("exit_code", .int(0)), ("success", .bool(true)), ("duration_ms", .int(duration)), ("timed_out", .bool(false)),
                    ])), task: taskID)
            try writer.finishRun(
                runID, exitCode: 0, success: true, timedOut: false, durationMS: duration,
                variables: .object([(PrehookVariables.exitCodeVariable(step.id), .int(0))]),
                outcome: RunOutcome.verdict(continueLoop: verdict.continueLoop, reason: verdict.reason).json)
        }
        progress(.stepFinished(exitCode: 0, success: true, timedOut: false, durationMS: duration), cycle: cycle, step: step.id)
    }

    // MARK: finalize

    /// Every active unresolved item gets its status: a `set_status` of this cycle, else the first
    /// `finalize.rules` entry whose `when` holds, else the default rules (a failure not followed
    /// by a successful fix -> `unresolved`; a fixed failure -> `verified`; no failure ->
    /// `qa_passed`). An item none of whose steps ran this cycle keeps its status.
    func finalize(_ cycle: Int) throws {
        guard task.finalizedCycle < cycle else { return }
        var changes: [(ItemState, String, String, String?)] = []
        for item in activeItems() where !Items.isResolved(item.record.status) || item.statusOverride != nil {
            var status: String
            var reason: String
            var rule: String?
            if item.record.origin == Items.tasksJSONOrigin, item.statusOverride == nil, !item.history.isEmpty {
                // A tasks.json task: its verify and its evaluation decide (state-files.md).
                (status, reason) = try tasksJSONGate(item, cycle: cycle)
                rule = "tasks_json"
            } else if let override = item.statusOverride {
                status = override
                reason = "set_status"
            } else if item.history.isEmpty {
                status = Items.openStatuses.contains(item.record.status) ? "skipped" : item.record.status
                reason = "no step ran for the item in this cycle"
            } else if let matched = matchingRule(item, cycle: cycle) {
                status = matched.status
                reason = matched.reason ?? "finalize rule"
                rule = matched.id ?? matched.when.text
            } else {
                (status, reason) = defaultStatus(item)
            }
            if status == "running" { status = "pending" }
            changes.append((item, status, reason, rule))
        }
        try tasks.write { writer in
            for (item, status, reason, rule) in changes {
                try writer.setItemStatus(item.id, status: status, task: taskID)
                try writer.append(
                    NewEvent(
                        .itemFinalized, cycle: cycle, item: item.id,
                        payload: masker.mask(
                            .object([
                                ("status", .string(status)), ("previous", .string(item.record.status == "running" ? "pending" : item.record.status)),
                                ("reason", .string(reason)), ("rule", rule.map { .string($0) } ?? .null),
                                ("failed_steps", .array(item.history.filter { !$0.success }.map { .string($0.step) })),
                            ]))), task: taskID)
            }
            try writer.finalizeCycle(task: taskID, cycle: cycle)
        }
        for (item, status, _, _) in changes { item.record.status = status }
        task.finalizedCycle = cycle
    }

    func matchingRule(_ item: ItemState, cycle: Int) -> FinalizeRuleBinding? {
        for rule in graph.finalizeRules ?? [] {
            let values = bindings(rule.when.variables, item: item, cycle: cycle, taskScope: false, extra: itemFacts(item))
            if case .value(true) = rule.when.evaluate(values) { return rule }
        }
        return nil
    }

    /// Extra variables finalize rules may read about the item's cycle.
    func itemFacts(_ item: ItemState) -> [String: Value] {
        let failed = item.history.filter { !$0.success }.map(\.step)
        return [
            "item_failed": .bool(!failed.isEmpty),
            "failed_steps": .list(failed.map { .string($0) }),
        ]
    }

    func defaultStatus(_ item: ItemState) -> (String, String) {
        guard let lastFailure = item.history.lastIndex(where: { !$0.success }) else {
            return ("qa_passed", "every step of the item succeeded")
        }
        let fixedLater = item.history[(lastFailure + 1)...].contains { entry in
            entry.success && (TaskRunner.fixSteps.contains(entry.step) || graph.step(entry.step)?.capability.map { TaskRunner.fixSteps.contains($0) } == true)
        }
        if fixedLater { return ("verified", "\(item.history[lastFailure].step) failed and a fix step succeeded after it") }
        return ("unresolved", "\(item.history[lastFailure].step) failed")
    }

    // MARK: endings

    func finish(_ status: TaskStatus, reason: String, payload extra: [(key: String, value: JSONValue)] = []) throws {
        if graph.itemIsolation?.removeWhenDone == true { removeWorktrees(reason: "cleanup: after_workflow") }
        let type: EventType = status == .completed ? .taskCompleted : .taskFailed
        try tasks.write { writer in
            try writer.append(
                NewEvent(type, cycle: task.cycle > 0 ? task.cycle : nil, payload: masker.mask(.object([("reason", .string(reason))] + extra))),
                task: taskID)
            try writer.finish(
                task: taskID, status: status, reason: masker.mask(reason), consecutiveFailures: ledger.pendingConsecutiveFailures)
        }
        task.status = status
        progress(.note("task \(status.rawValue): \(masker.mask(reason))"), cycle: task.cycle)
    }

    func finishPaused() throws {
        if let request = restart.withLock({ $0 }) {
            try finishAwaitingRestart(request)
            return
        }
        let reason = pauseReason.withLock { $0 }
        do {
            try tasks.write { writer in
                var payload: [(key: String, value: JSONValue)] = [("cycle", .int(Int64(task.cycle)))]
                if let reason { payload.append(("reason", .string(reason))) }
                try writer.append(NewEvent(.taskPaused, cycle: task.cycle, payload: .object(payload)), task: taskID)
                try writer.pause(task: taskID, reason: reason)
            }
        } catch {
            // The store could not record the pause (a full disk fills the database too): the
            // runner stops anyway; the next command finds the task interrupted, and resume works.
            progress(.note("task paused: \(reason ?? "stopped"); the pause could not be recorded (\(error)); `orchestrator task resume \(taskID)` continues it once the store can be written"), cycle: task.cycle)
            throw error
        }
        task.status = .paused
        task.reason = reason
        if let reason {
            progress(.note("task paused: \(reason); `orchestrator task resume \(taskID)` continues it"), cycle: task.cycle)
        } else {
            progress(.note("task paused in cycle \(task.cycle); `orchestrator task resume \(taskID)` continues it"), cycle: task.cycle)
        }
    }

    /// Stops at the step boundary after a `self_restart` step: the task waits `restart_pending`
    /// for the re-executed runner (the step after `self_restart` runs next).
    func finishAwaitingRestart(_ request: RestartRequest) throws {
        let reason = "restart pending: \(request.binary) (SHA-256 \(request.newSHA256.prefix(12))) replaces the running executable"
        try tasks.write { writer in try writer.awaitRestart(task: taskID, reason: reason) }
        task.status = .restartPending
        task.reason = reason
        progress(.note("self_restart: the task waits for the rebuilt executable, then continues at the next step"), cycle: task.cycle)
    }

    // MARK: tasks.json items (items_from)

    /// The tasks.json this task's items come from (absolute).
    var tasksJSONPath: String? {
        graph.itemsFrom.map { $0.tasksJSON.hasPrefix("/") ? $0.tasksJSON : pinned.root + "/" + $0.tasksJSON }
    }

    /// Marks the item's task `in_progress` in tasks.json when its first step starts.
    func markInProgress(_ item: ItemState, cycle: Int) {
        item.markedInProgress = true
        guard let path = tasksJSONPath, item.record.vars["status"]?.stringValue != "in_progress" else { return }
        if let problem = StateFiles.setStatus(path: path, taskID: item.id, status: "in_progress", blockedBy: nil) {
            progress(.note("\(item.id): tasks.json not updated: \(problem)"), cycle: cycle)
        }
    }

    /// Runs the item's `verify` (the gate), reads its evaluation when `requires_eval`, writes the
    /// outcome to tasks.json and progress.md, and returns the item's status and why.
    func tasksJSONGate(_ item: ItemState, cycle: Int) throws -> (String, String) {
        let vars = item.record.vars
        let title = vars["title"]?.stringValue ?? item.id
        let verify = vars["verify"]?.stringValue ?? ""
        let commands = verify.split(separator: "\n").map(String.init).filter { !$0.allSatisfy { $0 == " " || $0 == "\t" } }
        let failedSteps = item.history.filter { !$0.success }.map(\.step)
        var verdict: (file: String, item: String, reason: String, blockedBy: String?)
        var verifyNote = "no verify"
        if commands.isEmpty {
            verdict = ("blocked", "blocked", "the task has no verify: never done without running it", "no verify commands in tasks.json")
        } else {
            let script = commands.map { "(\($0))" }.joined(separator: " && ")
            let ran = try runScript(script, step: "verify", cycle: cycle, item: item.id)
            verifyNote = "verify exit \(ran.exitCode)"
            if !ran.success {
                let output = [ran.paths.stderr, ran.paths.stdout].compactMap { readFileTail($0, limit: 2048)?.bytes }
                    .map { String(decoding: $0, as: UTF8.self) }.joined()
                let first = output.split(separator: "\n").first.map(String.init) ?? ran.error ?? "no output"
                let why = masker.mask("verify failed (exit \(ran.exitCode)): \(first)")
                verdict = ("blocked", "blocked", why, why)
            } else if vars["requires_eval"] == .bool(true) {
                let evaluations = item.history.filter { graph.step($0.step)?.capability == "evaluate" }
                if let last = evaluations.last, last.success {
                    verdict = ("done", "done", "verify passed and the evaluator (\(last.step)) approved", nil)
                } else if let last = evaluations.last {
                    verdict = ("in_progress", "unresolved", "verify passed but the evaluator (\(last.step)) rejected it: it is worked on again", nil)
                } else {
                    verdict = ("in_progress", "unresolved", "requires_eval and no evaluator step (capability `evaluate`) ran for it", nil)
                }
            } else if !failedSteps.isEmpty {
                verdict = ("done", "done", "verify passed (steps that failed on the way: \(failedSteps.joined(separator: ", ")))", nil)
            } else {
                verdict = ("done", "done", "verify passed", nil)
            }
        }
        if let path = tasksJSONPath {
            if let problem = StateFiles.setStatus(path: path, taskID: item.id, status: verdict.file, blockedBy: verdict.blockedBy) {
                progress(.note("\(item.id): tasks.json not updated: \(problem)"), cycle: cycle)
            }
            do {
                // progress.md lives next to tasks.json.
                let folder = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
                let entry = """
                    ## \(StateFiles.today()) \(item.id) \(title)
                    - \(verdict.file): \(verdict.reason)
                    - \(verifyNote); orchestrator task \(taskID), cycle \(cycle)

                    """
                if let problem = StateFiles.prependProgress(path: folder + "/progress.md", entry: masker.mask(entry)) {
                    progress(.note("\(item.id): progress.md not updated: \(problem)"), cycle: cycle)
                }
            }
        }
        progress(.note("\(item.id): \(verdict.file): \(verdict.reason)"), cycle: cycle)
        return (verdict.item, verdict.reason)
    }
}
