import Compiler
import Expr
import JSON
import Manifest
import Store

import Platform

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Running one step (execution.md "Running a step"): choose what to run (agent command with its
// rendered prompt, the step's command, or a builtin), launch it in its own process group with
// the step's timeout and the profile's limits, then captures, output variables, post-actions,
// on_failure / on_success. The step_started and step_finished events are committed with the
// run's row in one transaction each.

/// What a step will run.
struct PreparedStep {
    var command: String?
    var standardInput: StandardInput = .null
    var environment: [String: String] = [:]
    var limits: ResourceLimits = .none
    var notices: [EnforcementNotice] = []
    var promptFile: String?
    var missing: [String] = []
    /// Why the step cannot run (it fails without a process).
    var refusal: String?
    /// A builtin that runs without a process: its output and exit code.
    var internalOutput: (text: String, exitCode: Int32)?
    var agent: String?
    /// A builtin that ran but did nothing (execution.md: a step that did nothing is not green):
    /// why, shown in the progress line, the step_finished event, `task info` and the trace.
    var didNothing: String?
    var extraStartPayload: [(key: String, value: JSONValue)] = []
    /// A `self_restart` build that no host can execute: why, once the build succeeded.
    var restartHostMissing: String?
    /// `item_select`: the winner.
    var selection: ItemSelection?
}

/// How a step ended.
struct StepResult {
    var exitCode: Int32
    var timedOut: Bool
    var durationMS: Int64
    var stdoutPath: String
    var stderrPath: String
    var error: String?
    var leftovers: Bool = false
    var notices: [EnforcementNotice] = []
    /// Terminated by an interruption of the runner: not a result, the step runs again on resume.
    var interrupted: Bool = false
    /// Set when the step ran without doing anything (see `PreparedStep.didNothing`).
    var didNothing: String?
    /// Bytes the process wrote (nil: no process ran).
    var outputBytes: (stdout: Int64, stderr: Int64)?
    /// The unmasked output (the process's in-memory window, or a builtin's text); nil when the
    /// step did not run.
    var rawOutput: RawOutput?
    /// The step's log could not be written (errno): the step has no result.
    var logWriteFailure: Int32?

    var success: Bool { exitCode == 0 && !timedOut && error == nil }
}

extension TaskRunner {
    static let defaultTimeoutSecs = 1800
    /// Set in every step's environment: the task's data directory and id.
    public static let dataDirectoryVariable = "ORCHESTRATOR_DATA_DIR"
    public static let taskIDVariable = "ORCHESTRATOR_TASK_ID"

    func logPaths(_ step: CompiledStep, cycle: Int, item: ItemState?) throws -> (stdout: String, stderr: String) {
        let directory = tasks.logDirectory(taskID) + "/cycle-\(cycle)"
        if !createdDirectories.withLock({ $0.contains(directory) }) {
            try makeDirectories(directory)
            // The cycle's folder must be a folder, not a symlink to somewhere else.
            var info = stat()
            if lstat(directory, &info) == 0, (info.st_mode & S_IFMT) != S_IFDIR {
                throw RunnerError("the log folder \(directory) is not a directory (a symlink?); the runner does not write through it")
            }
            createdDirectories.withLock { _ = $0.insert(directory) }
        }
        // A stable name per (step, item): the readable slug of the item's id, then the first 12 hex
        // digits of its SHA-256, so two items whose ids slug alike (`a/b.md`, `a_b.md`, `a b.md`)
        // never share a log (issue 23.2). The run row keeps the readable item id beside the path.
        let base = directory + "/" + fileNameSlug(step.id) + (item.map { "-" + fileNameSlug($0.id) + "-" + String(SHA256.hex($0.id).prefix(12)) } ?? "")
        return (base + ".stdout", base + ".stderr")
    }

    func execute(
        _ step: CompiledStep, cycle: Int, item: ItemState?, prehookEvent: NewEvent?, inputs: BoundStoreInputs = BoundStoreInputs()
    ) throws -> StepFlow {
        let paths = try logPaths(step, cycle: cycle, item: item)
        var prepared = prepare(step, cycle: cycle, item: item, paths: paths)
        if let refusal = inputs.refusal { prepared.refusal = refusal }
        let runID = try tasks.write { writer -> Int64 in
            if let prehookEvent { try writer.append(prehookEvent, task: taskID) }
            var payload: [(key: String, value: JSONValue)] = [("kind", .string(step.kind.name))]
            if let agent = prepared.agent { payload.append(("agent", .string(agent))) }
            if let command = prepared.command { payload.append(("command", .string(masker.mask(command)))) }
            if !prepared.missing.isEmpty { payload.append(("missing_placeholders", .array(prepared.missing.map { .string($0) }))) }
            if !prepared.notices.isEmpty {
                payload.append(("profile_notices", .array(prepared.notices.map { .string($0.description) })))
            }
            if let item { payload.append(("item_path", item.record.path.map { .string($0) } ?? .null)) }
            payload += prepared.extraStartPayload
            try writer.append(
                NewEvent(.stepStarted, cycle: cycle, step: step.id, item: item?.id, payload: masker.mask(.object(payload))),
                task: taskID)
            if let item, !item.markedRunning {
                try writer.setItemStatus(item.id, status: "running", task: taskID)
            }
            return try writer.startRun(
                task: taskID, cycle: cycle, step: step.id, item: item?.id, command: prepared.command.map { masker.mask($0) },
                stdout: paths.stdout, stderr: paths.stderr)
        }
        item?.markedRunning = true
        if let item, item.record.origin == Items.tasksJSONOrigin, !item.markedInProgress { markInProgress(item, cycle: cycle) }
        progress(.stepStarted, cycle: cycle, step: step.id, item: item?.id)

        var result = launch(step, prepared: &prepared, paths: paths, runID: runID, cycle: cycle, itemID: item?.id)
        prepared.notices += result.notices
        if let failure = result.logWriteFailure {
            // The log could not be written (ENOSPC: the disk is full): no result, the task
            // pauses with the reason, and the step runs again on resume (issue 23.6).
            let reason = failure == ENOSPC ? "no space left on device" : "cannot write the step's log: \(errnoDescription(failure))"
            pauseReason.withLock { $0 = $0 ?? reason }
            pauseFlag.withLock { $0 = true }
            progress(
                .note("\(step.id)\(item.map { " [\($0.id)]" } ?? ""): \(reason) (its log is cut at \(LogWriteFailure.keptBytes >> 20) MiB); it runs again on resume"),
                cycle: cycle)
            try tasks.write { try $0.markRunInterrupted(runID) }
            return .pause
        }
        if result.interrupted {
            try tasks.write { try $0.markRunInterrupted(runID) }
            progress(.note("\(step.id)\(item.map { " [\($0.id)]" } ?? ""): interrupted; it runs again on resume"), cycle: cycle)
            return .pause
        }

        // self_restart: the build succeeded; check the new binary and keep the running one.
        var restartPayload: [(key: String, value: JSONValue)] = []
        var pendingRestart: RestartRequest?
        if step.kind == .builtin(.self_restart), result.success, prepared.command != nil {
            if let missing = prepared.restartHostMissing {
                result.didNothing = missing
            } else if let host = options.selfRestart {
                switch SelfRestart.prepare(host: host, root: pinned.root, buildOutput: pinned.workspace.buildOutputDirectory) {
                case .restart(let request):
                    pendingRestart = request
                    restartPayload = [
                        ("binary", .string(request.binary)), ("previous_sha256", .string(request.previousSHA256)),
                        ("new_sha256", .string(request.newSHA256)), ("stable_copy", .string(request.stableCopy)),
                    ]
                case .unchanged(let sha):
                    result.didNothing = "the build left the same executable as the one running (SHA-256 \(sha.prefix(12))): nothing to restart"
                    restartPayload = [("previous_sha256", .string(sha)), ("new_sha256", .string(sha))]
                case .failed(let message):
                    result.exitCode = 1
                    result.error = message
                    appendToFile(paths.stderr, masker.mask("orchestrator: self_restart: \(message)\n"))
                }
            }
        }

        // Variables: output, exit code, captures, builtin variables.
        // What store_inputs bound is recorded with the step's variables (a resume restores them).
        var variables: [(key: String, value: JSONValue)] = inputs.variables
        var output = StepOutput(step: step.id, stdoutLogPath: paths.stdout)
        // `{step}_output` is what the step printed, not its masked log (issue 11.3).
        if let raw = result.rawOutput, !raw.stdoutTruncated, raw.stdout.count <= StepOutput.inlineLimit {
            output.inline = String(decoding: raw.stdout, as: UTF8.self)
        }
        variables.append((PrehookVariables.exitCodeVariable(step.id), .int(Int64(result.exitCode))))
        if let inline = output.inline { variables.append((output.outputVariable, .string(inline))) }
        variables.append((output.pathVariable, .string(output.path)))
        var captureProblems: [String] = []
        var generationFailures: [String] = []
        var outcome = RunOutcome()
        let needsFacts = !step.captures.isEmpty || step.kind == .builtin(.self_test)
        // Captures read the raw output (masking is for what is stored and shown).
        let facts =
            needsFacts ? (result.rawOutput.map { StepFacts(exitCode: result.exitCode, raw: $0) } ?? StepFacts(result: factsSource(result))) : nil
        if let facts {
            for captured in Captures.evaluate(step.captures.map { CaptureRule(variable: $0.variable, source: $0.source, jsonPath: $0.jsonPath) }, facts: facts) {
                variables.append((captured.variable, captured.value))
                if let problem = captured.problem { captureProblems.append("\(captured.variable): \(problem)") }
            }
        }
        if step.kind == .builtin(.self_test) {
            variables.append(("self_test_passed", .bool(result.success)))
            variables.append(("self_test_exit_code", .int(Int64(result.exitCode))))
            variables.append(("self_test_errors", .string(String((facts?.stderr ?? "").prefix(StepOutput.inlineLimit)))))
            variables.append(("self_test_errors_path", .string(paths.stderr)))
        }
        if step.kind == .builtin(.ticket_scan) {
            let record = item?.record ?? taskLevelRecord
            let tickets = Items.tickets(for: record, ticketDirectory: pinned.workspace.ticketDirectory, root: pinned.root)
            variables.append(("active_ticket_count", .int(Int64(tickets.count))))
            variables.append(("ticket_paths", .string(tickets.joined(separator: " "))))
        }
        if let winner = prepared.selection {
            variables.append((PrehookVariables.itemSelectWinner, .string(winner.itemID)))
            variables.append((PrehookVariables.itemSelectScore, .double(winner.score)))
            variables.append((PrehookVariables.itemSelectResult, winner.result))
        }
        // Apply now: later steps of this item (and post-actions) read them.
        let scopeVars = variables
        if let item {
            for (key, value) in scopeVars { item.vars[key] = value }
        } else {
            for (key, value) in scopeVars { ledger.taskVars[key] = value }
        }

        // store_outputs and store_put: a write that did not happen fails the step.
        if !step.storeOutputs.isEmpty || step.postActions.contains(where: { $0.storePut != nil }) || prepared.selection != nil {
            let problems = try writeStoreOutputs(step, cycle: cycle, item: item, raw: result.rawOutput, stepSucceeded: result.success)
            if !problems.isEmpty {
                let message = "store write failed: " + problems.joined(separator: "; ")
                result.error = masker.mask(message)
                appendToFile(paths.stderr, masker.mask("orchestrator: \(message)\n"))
            }
        }

        // generate_items (buffered; applied when the segment ends).
        if result.success {
            for action in step.postActions {
                guard let binding = action.generateItems else { continue }
                var source = item?.vars[binding.fromVariable] ?? ledger.taskVars[binding.fromVariable]
                if source == nil, binding.fromVariable == output.outputVariable, let raw = result.rawOutput {
                    // This step's own output, larger than the inline limit: its raw window.
                    source = .string(String(decoding: raw.stdout, as: UTF8.self))
                }
                if source == nil, binding.fromVariable.hasSuffix("_output") {
                    let pathVariable = binding.fromVariable + "_path"
                    if let path = (item?.vars[pathVariable] ?? ledger.taskVars[pathVariable])?.stringValue {
                        source = .string(String(decoding: readFileBytes(path) ?? [], as: UTF8.self))
                    }
                }
                let made = Items.generate(binding, source: source, root: pinned.root)
                if let problem = made.problem {
                    // A failed extraction never replaces the items (issue 11.2): the existing
                    // ones stay, and the failure is an event, a progress note and a trace note.
                    captureProblems.append(problem)
                    generationFailures.append(problem)
                    outcome.generationFailed = outcome.generationFailed ?? problem
                    continue
                }
                generated.withLock {
                    $0.append(GeneratedBatch(cycle: cycle, step: step.id, replace: binding.replace, items: made.items))
                }
                // A resume re-applies the step's first batch (when it was not applied yet).
                if outcome.generated == nil { outcome.generated = (binding.replace, made.items) }
            }
        }

        // spawn_task / spawn_tasks.
        if result.success, step.postActions.contains(where: { $0.spawn != nil }) {
            try spawnTasks(step, cycle: cycle, item: item, raw: result.rawOutput)
        }

        // auto_rollback: a failed self_test puts the workspace back to the cycle's checkpoint.
        if step.kind == .builtin(.self_test), !result.success, graph.safety.autoRollback {
            if item == nil {
                try rollBack(cycle, reason: "self_test failed (exit \(result.exitCode))", announce: false)
            } else {
                progress(.note("auto_rollback: self_test runs per item here; the shared workspace is not rolled back for one item"), cycle: cycle)
            }
        }

        // on_failure / on_success.
        var flow = StepFlow.next
        let state = item ?? ledger.taskItem
        state?.history.append((step.id, result.success))
        if !result.success && item == nil && ledger.taskItem == nil { ledger.taskFailedThisCycle = true }
        if result.success {
            if step.onSuccess.action == .set_status, let status = step.onSuccess.status {
                state?.statusOverride = status
                outcome.statusSet = status
            }
        } else {
            switch step.onFailure.action {
            case .continue: break
            case .set_status:
                if let status = step.onFailure.status {
                    state?.statusOverride = status
                    outcome.statusSet = status
                }
            case .early_return:
                flow = .stop
                outcome.earlyReturn = true
            }
            if step.kind == .builtin(.init_once) {
                let reason = "init_once failed (exit \(result.exitCode)): the workspace init script must pass"
                flow = .failTask(reason)
                outcome.failTask = reason
            }
        }
        if step.kind == .builtin(.init_once) && result.success { ledger.initDone = true }

        var finished: [(key: String, value: JSONValue)] = [
            ("exit_code", .int(Int64(result.exitCode))), ("success", .bool(result.success)),
            ("duration_ms", .int(result.durationMS)), ("timed_out", .bool(result.timedOut)),
        ]
        if let error = result.error { finished.append(("error", .string(error))) }
        if let bytes = result.outputBytes {
            finished.append(("stdout_bytes", .int(bytes.stdout)))
            finished.append(("stderr_bytes", .int(bytes.stderr)))
        }
        if let reason = result.didNothing {
            finished.append(("did_nothing", .string(reason)))
            outcome.didNothing = reason
        }
        // A step that exited 0 but failed afterwards (a store write) says why, not its own stderr.
        let failureLine = result.success ? nil : (result.exitCode == 0 ? result.error : nil) ?? firstLine(ofFile: paths.stderr) ?? result.error
        if let failureLine { finished.append(("stderr_first_line", .string(failureLine))) }
        finished += restartPayload
        if !captureProblems.isEmpty { finished.append(("capture_problems", .array(captureProblems.map { .string($0) }))) }
        if result.leftovers { finished.append(("terminated_leftover_processes", .bool(true))) }
        if !result.notices.isEmpty { finished.append(("profile_notices", .array(result.notices.map { .string($0.description) }))) }
        if !step.captures.isEmpty {
            let names = Set(step.captures.map(\.variable))
            finished.append(("captures", .object(variables.filter { names.contains($0.key) })))
        }
        if case .stop = flow { finished.append(("early_return", .bool(true))) }
        if let status = state?.statusOverride, outcome.statusSet != nil {
            finished.append(("status_set", .string(status)))
        }
        let maskedVariables = masker.mask(JSONValue.object(variables))
        let finishedPayload = masker.mask(JSONValue.object(finished))
        let outcomeValue = masker.mask(outcome.json)
        let keptItems = ledger.items.values.filter { $0.record.active && $0.record.origin != "task" }.count
        try tasks.write { writer in
            try writer.append(NewEvent(.stepFinished, cycle: cycle, step: step.id, item: item?.id, payload: finishedPayload), task: taskID)
            for problem in generationFailures {
                try writer.append(
                    NewEvent(
                        .itemsGenerationFailed, cycle: cycle, step: step.id, item: item?.id,
                        payload: masker.mask(.object([("problem", .string(problem)), ("kept_items", .int(Int64(keptItems)))]))),
                    task: taskID)
            }
            try writer.finishRun(
                runID, exitCode: Int(result.exitCode), success: result.success, timedOut: result.timedOut,
                durationMS: result.durationMS, variables: maskedVariables, outcome: outcomeValue)
            if pendingRestart != nil {
                try writer.append(NewEvent(.restartPending, cycle: cycle, step: step.id, item: item?.id, payload: .object(restartPayload)), task: taskID)
            }
        }
        if let pendingRestart {
            // The task stops at this step boundary, `restart_pending`; the host re-executes itself.
            restart.withLock { $0 = pendingRestart }
            pauseFlag.withLock { $0 = true }
        }
        progress(
            .stepFinished(exitCode: Int(result.exitCode), success: result.success, timedOut: result.timedOut, durationMS: result.durationMS),
            cycle: cycle, step: step.id, item: item?.id, didNothing: result.didNothing, failureLine: failureLine.map { masker.mask($0) })
        for problem in generationFailures {
            progress(
                .note("\(step.id): \(masker.mask(problem)); the \(keptItems) existing item\(keptItems == 1 ? " is" : "s are") kept"),
                cycle: cycle)
        }
        // A rollback after this step is said after the step's own line.
        if let note = rollBackNote.withLock({ note -> String? in defer { note = nil }; return note }) { progress(.note(note), cycle: cycle) }
        return flow
    }

    private func factsSource(_ result: StepResult) -> ProcessResult {
        ProcessResult(
            pid: 0, termination: .exited(result.exitCode), timedOut: result.timedOut, cancelled: false, durationMS: result.durationMS,
            stdoutLogPath: result.stdoutPath, stderrLogPath: result.stderrPath, stdoutBytes: 0, stderrBytes: 0,
            terminatedLeftoverProcesses: false, notices: [])
    }

    /// What the step runs.
    func prepare(_ step: CompiledStep, cycle: Int, item: ItemState?, paths: (stdout: String, stderr: String)) -> PreparedStep {
        var prepared = PreparedStep()
        switch step.kind {
        case .agent(let capability):
            guard let agent = step.agent else {
                prepared.refusal = "no enabled agent has the capability \(capability)"
                return prepared
            }
            prepared.agent = agent.name
            var command = agent.command
            for rule in agent.commandRules {
                let values = bindings(rule.when.variables, item: item ?? ledger.taskItem, cycle: cycle, taskScope: item == nil)
                if case .value(true) = rule.when.evaluate(values) {
                    command = rule.command
                    break
                }
            }
            let prompt = step.template?.prompt ?? ""
            let values = placeholderValues(for: [prompt, command], step: step, item: item, cycle: cycle)
            let rendered = Placeholders.renderPrompt(prompt, values: values)
            do {
                let directory = tasks.logDirectory(taskID) + "/cycle-\(cycle)"
                let invocation = try PromptDelivering.prepare(
                    command: command, prompt: rendered.text, delivery: agent.promptDelivery, values: values, promptDirectory: directory)
                prepared.command = invocation.command
                prepared.standardInput = invocation.standardInput
                prepared.environment = pinned.agentEnvironment(agent, environment: options.environment)
                for (key, value) in invocation.environment { prepared.environment[key] = value }
                prepared.promptFile = invocation.promptFilePath
                prepared.missing = rendered.missing + invocation.missing.filter { !rendered.missing.contains($0) }
                if !invocation.unsafe.isEmpty {
                    prepared.refusal = "unsafe placeholders: " + invocation.unsafe.map(\.description).joined(separator: "; ")
                }
            } catch {
                prepared.refusal = error.description
            }
            if let profile = step.profile {
                prepared.limits = ResourceLimits(
                    maxMemoryMB: profile.maxMemoryMB, maxCPUSeconds: profile.maxCPUSeconds, maxProcesses: profile.maxProcesses,
                    maxOpenFiles: profile.maxOpenFiles)
                if let spec = pinned.profiles[profile.name] { prepared.notices = ExecutionPolicy(profile: spec).notices }
            }
        case .command(let text):
            let values = placeholderValues(for: [text], step: step, item: item, cycle: cycle)
            let rendered = Placeholders.renderCommand(text, values: values)
            prepared.command = rendered.text
            prepared.missing = rendered.missing
            if !rendered.unsafe.isEmpty {
                prepared.refusal = "unsafe placeholders: " + rendered.unsafe.map(\.description).joined(separator: "; ")
            }
        case .builtin(let builtin):
            switch builtin {
            case .self_test:
                let commands = pinned.workspace.selfTest?.map(\.value) ?? []
                if commands.isEmpty {
                    prepared.internalOutput = ("no self_test commands are configured for workspace \(pinned.workspaceName)\n", 0)
                    prepared.didNothing = "no self_test commands configured (workspace \(pinned.workspaceName) has no self_test)"
                } else {
                    prepared.command = commands.map { "(\($0))" }.joined(separator: " && ")
                }
            case .init_once:
                if ledger.initDone {
                    prepared.internalOutput = ("the workspace init script already ran for this task\n", 0)
                } else if let script = pinned.workspace.initScript?.value {
                    prepared.command = script
                } else {
                    prepared.internalOutput = ("workspace \(pinned.workspaceName) has no init script\n", 0)
                    prepared.didNothing = "workspace \(pinned.workspaceName) has no init script"
                }
            case .self_restart:
                let build = pinned.workspace.buildCommand?.value
                prepared.extraStartPayload.append(("build_command", build.map { .string(masker.mask($0)) } ?? .null))
                if let build {
                    prepared.command = build
                    if options.selfRestart == nil {
                        prepared.restartHostMissing = "no daemon or foreground runner of this tool runs the task, so the rebuilt binary is not executed"
                    }
                } else {
                    prepared.internalOutput = ("self_restart: workspace \(pinned.workspaceName) has no build_command; nothing was rebuilt or restarted\n", 0)
                    prepared.didNothing = "workspace \(pinned.workspaceName) has no build_command, so nothing was rebuilt or restarted"
                }
                do {
                    try tasks.write { writer in
                        try writer.append(
                            NewEvent(
                                .selfRestartRequested, cycle: cycle, step: step.id, item: item?.id,
                                payload: .object([("build_command", build.map { .string(masker.mask($0)) } ?? .null)])),
                            task: taskID)
                    }
                } catch {
                    prepared.refusal = "cannot record the restart request: \(error)"
                }
            case .ticket_scan:
                let record = item?.record ?? taskLevelRecord
                let tickets = Items.tickets(for: record, ticketDirectory: pinned.workspace.ticketDirectory, root: pinned.root)
                prepared.internalOutput = (tickets.map { $0 + "\n" }.joined(), 0)
            case .item_select:
                guard let select = step.itemSelect else {
                    prepared.internalOutput = ("item_select has no item_select_config: nothing was selected\n", 0)
                    prepared.didNothing = "item_select has no item_select_config: nothing was selected"
                    break
                }
                switch selectItem(select) {
                case .success(let winner):
                    prepared.selection = winner
                    prepared.internalOutput = (JSONWriter().string(winner.result) + "\n", 0)
                case .failure(let reason):
                    prepared.internalOutput = (reason.message + "\n", 0)
                    prepared.didNothing = reason.message
                }
            case .loop_guard:
                prepared.internalOutput = ("loop_guard runs after the cycle's segments\n", 0)
            }
        case .chain:
            prepared.refusal = "a chain runs its children"
        }
        return prepared
    }

    /// Runs the prepared step and waits for it.
    func launch(
        _ step: CompiledStep, prepared: inout PreparedStep, paths: (stdout: String, stderr: String), runID: Int64, cycle: Int, itemID: String?
    ) -> StepResult {
        let begin = monotonicMilliseconds()
        defer { if let file = prepared.promptFile { unlink(file) } }
        // A shell the RuntimePolicy does not allow: the step fails before any process starts.
        if prepared.refusal == nil, prepared.internalOutput == nil, let refusal = pinned.runtime.refusal { prepared.refusal = refusal }
        if let refusal = prepared.refusal {
            writeTextFile(paths.stdout, "")
            writeTextFile(paths.stderr, masker.mask("orchestrator: step \(step.id) did not run: \(refusal)\n"))
            return StepResult(
                exitCode: 126, timedOut: false, durationMS: monotonicMilliseconds() - begin, stdoutPath: paths.stdout,
                stderrPath: paths.stderr, error: masker.mask(refusal))
        }
        if let output = prepared.internalOutput {
            writeTextFile(paths.stdout, masker.mask(output.text))
            unlink(paths.stderr)
            return StepResult(
                exitCode: output.exitCode, timedOut: false, durationMS: monotonicMilliseconds() - begin, stdoutPath: paths.stdout,
                stderrPath: paths.stderr, didNothing: prepared.didNothing, rawOutput: RawOutput(stdout: Array(output.text.utf8)))
        }
        let timeout = step.timeoutSecs ?? graph.safety.stepTimeoutSecs ?? TaskRunner.defaultTimeoutSecs
        // The logs are created on their first byte (many steps write nothing: an empty log
        // is created only when `{STEP_output_path}` is read); an earlier attempt's (before a
        // resume) must not remain.
        unlink(paths.stdout)
        unlink(paths.stderr)
        var request = ProcessRequest(
            command: prepared.command ?? "true", workingDirectory: itemID.flatMap { ledger.items[$0]?.workingDirectory } ?? pinned.root,
            environment: childEnvironment(adding: prepared.environment),
            standardInput: prepared.standardInput, stdoutLogPath: paths.stdout, stderrLogPath: paths.stderr,
            timeout: .seconds(timeout), terminationGracePeriod: options.terminationGrace, limits: prepared.limits, masker: masker)
        request.inheritedVariables = []
        request.shell = pinned.runtime.shell
        request.shellArgument = pinned.runtime.shellArgument
        request.createsEmptyLogs = false
        request.cancellation = interruption
        request.heartbeatInterval = options.heartbeatInterval
        let heartbeatStarted = monotonicMilliseconds()
        let stepID = step.id
        request.onHeartbeat = { [tasks, taskID] stdout, stderr in
            // Best effort, like the pid record: a heartbeat that cannot be written is skipped.
            _ = try? tasks.write { writer in
                try writer.append(
                    NewEvent(
                        .stepHeartbeat, cycle: cycle, step: stepID, item: itemID,
                        payload: .object([
                            ("stdout_bytes", .int(stdout)), ("stderr_bytes", .int(stderr)),
                            ("running_ms", .int(monotonicMilliseconds() - heartbeatStarted)),
                        ])), task: taskID)
            }
        }
        request.onStart = { [tasks] pid in
            // Best effort: if this write fails the step still runs; only orphan clean-up after a
            // crash would miss it.
            try? tasks.write { try $0.recordProcess(run: runID, pid: pid) }
        }
        do {
            let result = try ProcessLauncher.runBlocking(request)
            return StepResult(
                exitCode: result.exitCode, timedOut: result.timedOut, durationMS: result.durationMS, stdoutPath: paths.stdout,
                stderrPath: paths.stderr, leftovers: result.terminatedLeftoverProcesses, notices: result.notices,
                interrupted: result.cancelled, outputBytes: (Int64(result.stdoutBytes), Int64(result.stderrBytes)),
                rawOutput: result.rawOutput, logWriteFailure: result.logWriteFailure)
        } catch {
            let message = masker.mask(error.description)
            writeTextFile(paths.stdout, "")
            writeTextFile(paths.stderr, "orchestrator: step \(step.id) could not start: \(message)\n")
            return StepResult(
                exitCode: 127, timedOut: false, durationMS: monotonicMilliseconds() - begin, stdoutPath: paths.stdout,
                stderrPath: paths.stderr, error: message)
        }
    }

    /// A step process's environment: the variables of the RuntimePolicy's `env_allowlist`
    /// as the runner's environment (`RunnerOptions.environment`: the command's, or the daemon's)
    /// has them, then `extra` (the agent's own env). Nothing else reaches a step; the process
    /// environment of the runner is never read directly, so a runner serving another client's
    /// command passes that client's variables.
    func childEnvironment(adding extra: [String: String]) -> [String: String] {
        var result: [String: String] = [:]
        for name in pinned.runtime.environmentAllowlist { if let value = options.environment[name] { result[name] = value } }
        // Where the task lives (docs/stores.md): `orchestrator store put ...` in a step writes to
        // this task's data directory, whatever the step's working directory.
        result[TaskRunner.dataDirectoryVariable] = tasks.dataDirectory
        result[TaskRunner.taskIDVariable] = taskID
        for (name, value) in extra { result[name] = value }
        return result
    }

    /// The workspace `init` script before cycle 1 (when the workflow has no init_once step).
    func runImplicitInit() throws -> StepFlow {
        guard let script = pinned.workspace.initScript?.value else { return .next }
        let ran = try runScript(script, step: "init", cycle: 0)
        if ran.success {
            ledger.initDone = true
            return .next
        }
        return .failTask("the workspace init script failed (exit \(ran.exitCode)\(ran.timedOut ? ", timed out" : ""))")
    }

    /// The workspace's `init_script` (state-files.md): before the first cycle and after every
    /// resume, as pseudo-step `init_script` of the current cycle. False when it failed: the task
    /// is paused then, with `init_failed` and the script's output.
    func runSessionInit(resuming: Bool) throws -> Bool {
        guard let script = pinned.workspace.sessionInitScript?.value else { return true }
        let cycle = task.cycle
        let ran = try runScript(script, step: "init_script", cycle: cycle)
        if ran.success { return true }
        let output = [ran.paths.stdout, ran.paths.stderr].compactMap { readFileTail($0, limit: 2048)?.bytes }
            .map { String(decoding: $0, as: UTF8.self) }.joined()
        let first = output.split(separator: "\n").first.map(String.init) ?? ran.error ?? "no output"
        let reason = "init_failed: the workspace init_script `\(script)` exited \(ran.exitCode)\(ran.timedOut ? " (timed out)" : ""): \(first)"
        try tasks.write { writer in
            try writer.append(
                NewEvent(
                    .initFailed, cycle: cycle > 0 ? cycle : nil, step: "init_script",
                    payload: masker.mask(
                        .object([
                            ("script", .string(script)), ("exit_code", .int(Int64(ran.exitCode))), ("timed_out", .bool(ran.timedOut)),
                            ("when", .string(resuming ? "resume" : "start")), ("output", .string(output)),
                            ("stdout", .string(ran.paths.stdout)), ("stderr", .string(ran.paths.stderr)),
                        ]))), task: taskID)
        }
        pauseReason.withLock { $0 = masker.mask(reason) }
        try finishPaused()
        return false
    }

    /// Runs a workspace script as a pseudo-step (`init`, `init_script`) with its events, run row
    /// and logs under `cycle-N/`.
    func runScript(_ script: String, step: String, cycle: Int, item: String? = nil) throws
        -> (success: Bool, exitCode: Int32, timedOut: Bool, error: String?, paths: (stdout: String, stderr: String))
    {
        let directory = tasks.logDirectory(taskID) + "/cycle-\(cycle)"
        try makeDirectories(directory)
        let name = fileNameSlug(step) + (item.map { "-" + fileNameSlug($0) + "-" + String(SHA256.hex($0).prefix(12)) } ?? "")
        let paths = (stdout: directory + "/\(name).stdout", stderr: directory + "/\(name).stderr")
        let runID = try tasks.write { writer -> Int64 in
            try writer.append(
                NewEvent(.stepStarted, cycle: cycle, step: step, item: item, payload: .object([("kind", .string(step)), ("command", .string(masker.mask(script)))])),
                task: taskID)
            return try writer.startRun(task: taskID, cycle: cycle, step: step, item: item, command: masker.mask(script), stdout: paths.stdout, stderr: paths.stderr)
        }
        progress(.stepStarted, cycle: cycle, step: step)
        var request = ProcessRequest(
            command: script, workingDirectory: pinned.root, environment: childEnvironment(adding: [:]), stdoutLogPath: paths.stdout, stderrLogPath: paths.stderr,
            timeout: .seconds(graph.safety.stepTimeoutSecs ?? TaskRunner.defaultTimeoutSecs),
            terminationGracePeriod: options.terminationGrace, masker: masker)
        request.inheritedVariables = []
        request.shell = pinned.runtime.shell
        request.shellArgument = pinned.runtime.shellArgument
        var exitCode: Int32 = 127
        var timedOut = false
        var duration: Int64 = 0
        var error: String?
        if let refusal = pinned.runtime.refusal {
            exitCode = 126
            error = refusal
            writeTextFile(paths.stderr, masker.mask("orchestrator: the \(step) script did not run: \(refusal)\n"))
        } else {
            do {
                let result = try ProcessLauncher.runBlocking(request)
                exitCode = result.exitCode
                timedOut = result.timedOut
                duration = result.durationMS
            } catch let launch {
                error = masker.mask(launch.description)
            }
        }
        let success = exitCode == 0 && !timedOut && error == nil
        try tasks.write { writer in
            var payload: [(key: String, value: JSONValue)] = [
                ("exit_code", .int(Int64(exitCode))), ("success", .bool(success)), ("duration_ms", .int(duration)), ("timed_out", .bool(timedOut)),
            ]
            if let error { payload.append(("error", .string(error))) }
            try writer.append(NewEvent(.stepFinished, cycle: cycle, step: step, item: item, payload: .object(payload)), task: taskID)
            try writer.finishRun(runID, exitCode: Int(exitCode), success: success, timedOut: timedOut, durationMS: duration, variables: .object([]), outcome: RunOutcome().json)
        }
        progress(.stepFinished(exitCode: Int(exitCode), success: success, timedOut: timedOut, durationMS: duration), cycle: cycle, step: step, item: item)
        return (success, exitCode, timedOut, error, paths)
    }
}
