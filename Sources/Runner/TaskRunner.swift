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

// The task runner: executes a task's pinned step graph by spec/execution.md. Cycles run the
// segments in order (task segments once, item segments per unresolved item with up to
// `max_parallel` items on their own threads), then finalize the items, run the guards and decide
// whether to continue. Every step decision is `StepDecision.decide` (the planner's rule) with
// full bindings. Every event is committed before the runner moves on, and every decision or
// execution is a row of `runs`, so a resume replays what was done and runs only the rest.
// See docs/runner.md.

/// What the foreground shows while a task runs.
public struct ProgressUpdate: Sendable {
    public enum Kind: Sendable {
        case cycleStarted
        case stepStarted
        case stepFinished(exitCode: Int, success: Bool, timedOut: Bool, durationMS: Int64)
        case stepSkipped(reason: String)
        case note(String)
    }

    public var kind: Kind
    public var cycle: Int
    public var step: String?
    public var item: String?
    /// Since this runner started the task.
    public var elapsedMS: Int64
    /// A finished step that ran but did nothing: why (it is shown as skipped, never as ok).
    public var didNothing: String?
    /// A failed step: the first line of its stderr (masked).
    public var failureLine: String?
}

/// Which daemon worker claims a task (recorded as `task_claimed`).
public struct RunnerClaim: Sendable, Equatable {
    public var worker: Int
    public var incarnation: Int64

    public init(worker: Int, incarnation: Int64) {
        self.worker = worker
        self.incarnation = incarnation
    }
}

public struct RunnerOptions: Sendable {
    /// The runner's environment (`fromEnv` store values read it).
    public var environment: [String: String]
    /// Who re-executes the runner after a `self_restart` step rebuilt this tool (the daemon, the
    /// foreground `run`); nil: the step rebuilds but restarts nothing, and says so.
    public var selfRestart: SelfRestartHost?
    /// The SHA-256 of the executable running the task, recorded in `task_started` and
    /// `task_resumed` (which binary ran which cycle); nil: not recorded.
    public var buildID: String?
    /// Set by the daemon's workers: the claim records `task_claimed {worker, incarnation}`.
    public var claim: RunnerClaim?
    public var progress: (@Sendable (ProgressUpdate) -> Void)?
    /// SIGTERM -> SIGKILL delay when a step times out.
    public var terminationGrace: Duration
    /// How often a running step's output is recorded (`step_heartbeat`); nil: never.
    public var heartbeatInterval: Duration? = .seconds(60)

    public init(
        environment: [String: String] = [:], progress: (@Sendable (ProgressUpdate) -> Void)? = nil,
        terminationGrace: Duration = .seconds(5)
    ) {
        self.environment = environment
        self.progress = progress
        self.terminationGrace = terminationGrace
    }
}

/// One item as the runner holds it. Touched by one worker at a time (its item's).
final class ItemState: @unchecked Sendable {
    var record: ItemRecord
    /// Pipeline variables set by this item's steps (and its generate_items mapping vars).
    var vars: [String: JSONValue] = [:]
    // This cycle:
    var history: [(step: String, success: Bool)] = []
    var statusOverride: String?
    var stopped = false
    var markedRunning = false
    /// A tasks.json item whose task was marked `in_progress` in the file by this runner.
    var markedInProgress = false
    /// With item isolation: the item's git worktree, where its steps run this segment.
    var workingDirectory: String?

    init(_ record: ItemRecord) {
        self.record = record
        if case .object(let pairs) = record.vars { for (key, value) in pairs { vars[key] = value } }
    }

    var id: String { record.itemID }

    func resetCycle() {
        history = []
        statusOverride = nil
        stopped = false
        markedRunning = false
    }
}

/// A step's effect on the flow.
enum StepFlow {
    case next
    /// `early_return`: the item's (or the cycle's) remaining steps do not run.
    case stop
    case pause
    case failTask(String)
}

struct GeneratedBatch: Sendable {
    var cycle: Int
    var step: String
    var replace: Bool
    var items: [GeneratedItem]
}

/// Everything a runner changes while it runs a task (see `TaskRunner.ledger`).
struct RunnerState {
    /// Task-level pipeline variables (`--set`, task steps' captures and outputs, self_test).
    var taskVars: [String: JSONValue] = [:]
    var items: [String: ItemState] = [:]
    var itemOrder: [String] = []
    /// (cycle|step|item) -> the recorded decision or execution, for the current cycle.
    var done: [String: RunRecord] = [:]
    var taskItem: ItemState?
    var taskFailedThisCycle = false
    var taskStopped = false
    var initDone = false
    var lastReportedDrift: String?
    /// The count of consecutive cycles with something unresolved after the cycle that just ended.
    var pendingConsecutiveFailures: Int?
    /// (cycle|step|) of generate_items batches already applied (an items_generated event exists).
    var appliedGenerations = Set<String>()
    /// The digests of invariants' protected files when this runner began.
    var protectedBaseline: [String: String]?
    /// With item isolation: the snapshot the running segment's worktrees were made from.
    var isolationBase: String?
}

public final class TaskRunner: @unchecked Sendable {
    let tasks: any TaskStore
    let resources: any ResourceStore
    let taskID: String
    let options: RunnerOptions
    var task: TaskRecord
    var pinned: PinnedWorkflow
    var graph: WorkflowGraph { pinned.graph }
    var masker: SecretMasker
    let started = monotonicMilliseconds()

    /// The runner's mutable state (its ledger): one value, owned by the thread that runs the loop
    /// (`run()`).
    /// Item workers touch only their own `ItemState` (a reference inside it) and the `Locked`
    /// boxes below; task-level fields are read-only while an item segment runs.
    var ledger = RunnerState()

    let pauseFlag = Locked(false)
    /// Why the runner pauses when it was not asked to (a full disk); nil for a requested pause.
    let pauseReason = Locked<String?>(nil)
    /// Set by a `self_restart` step that left a new executable: the task stops `restart_pending`.
    let restart = Locked<RestartRequest?>(nil)

    /// What the host must execute after `run` returned with the task `restart_pending`.
    public var restartRequest: RestartRequest? { restart.withLock { $0 } }
    /// Set by `interrupt()`: running steps are terminated (and run again on resume).
    let interruption = ProcessCancellation()
    let createdDirectories = Locked(Set<String>())
    let failure = Locked<String?>(nil)
    let generated = Locked<[GeneratedBatch]>([])
    /// A rollback's progress line, said after the line of the step that caused it.
    let rollBackNote = Locked<String?>(nil)

    /// Loads the task and its pinned graph: `pinned` when the caller has it (the task was just
    /// created in this process) and it is the task's graph, else compiled from the snapshot.
    public init(
        tasks: any TaskStore, resources: any ResourceStore, taskID: String, options: RunnerOptions = RunnerOptions(), pinned given: PinnedWorkflow? = nil
    ) throws {
        self.tasks = tasks
        self.resources = resources
        self.taskID = taskID
        self.options = options
        guard let task = try tasks.task(taskID) else { throw RunnerError("no task \(taskID)") }
        self.task = task
        if let given, given.graph.contentHash == task.graphHash {
            pinned = given
        } else {
            pinned = try PinnedWorkflow.compile(
                snapshot: task.snapshot, project: task.project, workflow: task.workflow, workspace: task.workspace, secrets: resources.secrets)
        }
        masker = pinned.masker(environment: options.environment)
    }

    // MARK: - Running

    /// Pauses the task as soon as possible (SIGINT/SIGTERM in the foreground): running steps'
    /// process groups are terminated, their runs left unfinished, so `task resume` runs them again.
    public func interrupt() {
        pauseFlag.withLock { $0 = true }
        interruption.cancel()
    }

    /// Pauses the task at its next step boundary: running steps finish first (a daemon's drain).
    public func requestPause() {
        pauseFlag.withLock { $0 = true }
    }

    /// Starts (created) or resumes (paused, interrupted) the task and runs it in the calling
    /// thread until it completes, fails or is paused. Returns its final record.
    @discardableResult
    public func run() throws -> TaskRecord {
        let me = RunnerIdentity.current
        // One transaction claims the task and records the start: of two runners started at once,
        // exactly one wins (issue 23.1); the other is told who runs it.
        var resuming = false
        let outcome = try tasks.claim(taskID, allowed: TaskStatus.claimable, runner: me) { writer, task in
            resuming = task.status != .created
            if let claim = options.claim {
                try writer.append(
                    NewEvent(
                        .taskClaimed, cycle: task.cycle > 0 ? task.cycle : nil,
                        payload: .object([
                            ("worker", .int(Int64(claim.worker))), ("incarnation", .int(claim.incarnation)), ("pid", .int(Int64(me.pid))),
                            ("build_id", options.buildID.map { .string($0) } ?? .null),
                        ])),
                    task: taskID)
            }
            if resuming {
                try writer.append(
                    NewEvent(
                        .taskResumed, cycle: task.cycle > 0 ? task.cycle : nil,
                        payload: .object(
                            [("from", .string(task.status.rawValue)), ("cycle", .int(Int64(task.cycle)))]
                                + (options.buildID.map { [("build_id", JSONValue.string($0))] } ?? []))),
                    task: taskID)
            } else {
                try writer.append(
                    NewEvent(
                        .taskStarted,
                        payload: .object([
                            ("graph_hash", .string(task.graphHash)), ("workspace_root", .string(pinned.root)),
                            ("runner_pid", .int(Int64(me.pid))),
                            // How often this process compiled manifests before the first step
                            // (`run` compiles its workflow once: its apply's graph is reused).
                            ("process_compilations", .int(Int64(Compiler.compilations))),
                            ("not_executed", .array(pinned.graph.settingsNotExecuted.map { .string($0) })),
                            ("runtime", pinned.runtime.json),
                            ("unmasked_secrets", .array(pinned.unmaskedSecrets(environment: options.environment).map { .string($0) })),
                        ] + (options.buildID.map { [("build_id", JSONValue.string($0))] } ?? []))), task: taskID)
            }
        }
        switch outcome {
        case .claimed(let previous):
            task = previous
            task.status = .running
        case .alreadyRunning(let pid):
            // pid 0: another daemon has taken it from the queue and is about to start it.
            throw TaskClaimRefused(
                "task \(taskID) is " + (pid == 0 ? "taken by another runner" : "already running (pid \(pid))"),
                help: "watch it with `orchestrator task watch \(taskID)`")
        case .notRunnable(let status):
            throw TaskClaimRefused(
                "task \(taskID) is \(status.rawValue); only a created, paused, interrupted or restart_pending task can run",
                help: status == .running ? "it is running in this process" : "`orchestrator task info \(taskID)` shows why it ended")
        }
        if !resuming {
            for note in pinned.graph.settingsNotExecuted { progress(.note("not executed by this runner: \(note)"), cycle: 0) }
            for name in pinned.unmaskedSecrets(environment: options.environment) {
                progress(.note("secret \(name) is shorter than \(SecretMasker.minimumLength) characters and is not masked in logs or events"), cycle: 0)
            }
        }
        do {
            try loadState()
            // Worktrees a killed runner left behind.
            removeWorktrees(reason: nil)
            // Protected files are compared with the task's start: take (or read back) their digests now.
            if graph.safety.invariants.contains(where: { !$0.protectedFiles.isEmpty }) { _ = protectedBaseline() }
            // The workspace's init_script: before the first cycle and after every resume.
            guard try runSessionInit(resuming: resuming) else { return try tasks.task(taskID) ?? task }
            try runLoop()
        } catch let error as StoreError {
            // The store failed (a lost connection, a full disk): the task did nothing wrong. It
            // is left interrupted, to resume at the step that was cut off (a daemon queues it
            // again), never failed for it.
            let message = masker.mask("the store failed: \(error)")
            try? tasks.write { writer in try writer.interrupt(task: taskID, reason: message) }
            throw error
        } catch {
            let message = masker.mask("runner error: \(error)")
            try? finish(.failed, reason: message, payload: [("error", .string(message))])
            throw error
        }
        return try tasks.task(taskID) ?? task
    }

    func runLoop() throws {
        var cycle = max(task.cycle, 1)
        var cycleStarted = task.cycle >= 1
        if task.cycle == 0, !ledger.initDone, pinned.workspace.initScript != nil,
            !graph.steps.contains(where: { $0.enabled && $0.kind == .builtin(.init_once) })
        {
            if case .failTask(let reason) = try runImplicitInit() {
                try finish(.failed, reason: reason)
                return
            }
        }
        while true {
            if !cycleStarted {
                let open = activeItems().filter { !Items.isResolved($0.record.status) }.count
                if let pending = ledger.pendingConsecutiveFailures { task.consecutiveFailures = pending }
                ledger.pendingConsecutiveFailures = nil
                try tasks.write { writer in
                    try writer.startCycle(task: taskID, cycle: cycle, consecutiveFailures: task.consecutiveFailures)
                    try writer.append(
                        NewEvent(
                            .cycleStarted, cycle: cycle,
                            payload: .object([
                                ("cycle", .int(Int64(cycle))),
                                ("max_cycles", graph.loop.cycleLimit.map { .int(Int64($0)) } ?? .null),
                                ("open_items", .int(Int64(open))), ("graph_hash", .string(graph.contentHash)),
                            ])), task: taskID)
                }
                task.cycle = cycle
                ledger.done = [:]
                for state in ledger.items.values { state.resetCycle() }
                ledger.taskFailedThisCycle = false
                ledger.taskStopped = false
                progress(.cycleStarted, cycle: cycle)
            }
            let newCycle = !cycleStarted
            cycleStarted = false
            // The checkpoint before the cycle's first step (a resume takes it when it is missing),
            // then the invariants checked before each cycle.
            if case .failTask(let reason) = try ensureCheckpoint(cycle) {
                try finish(.failed, reason: reason)
                return
            }
            if newCycle, case .pause = try checkInvariants(.beforeCycle, cycle: cycle) {
                try finishPaused()
                return
            }
            switch try runCycle(cycle) {
            case .pause:
                try finishPaused()
                return
            case .failTask(let reason):
                try finish(.failed, reason: reason)
                return
            case .next, .stop:
                break
            }
            let ending = try endCycle(cycle)
            switch ending {
            case .continueLoop:
                if let minimum = graph.safety.minCycleIntervalSecs, minimum > 0 {
                    let elapsed = monotonicMilliseconds() - cycleStartedAt
                    let wait = Int64(minimum) * 1000 - elapsed
                    if wait > 0 { usleep(UInt32(min(wait, 600_000)) * 1000) }
                }
                if let reason = try checkDrift(cycle) {
                    try finish(.failed, reason: reason)
                    return
                }
                if try pauseRequested() {
                    try finishPaused()
                    return
                }
                cycle += 1
                cycleStartedAt = monotonicMilliseconds()
            case .end(let status, let reason, let unresolved):
                if status == .completed, case .pause = try checkInvariants(.beforeComplete, cycle: cycle) {
                    try finishPaused()
                    return
                }
                try finish(status, reason: reason, payload: [("cycles", .int(Int64(cycle))), ("unresolved_items", .int(Int64(unresolved)))])
                return
            }
        }
    }

    var cycleStartedAt = monotonicMilliseconds()

    // MARK: - A cycle

    func activeItems() -> [ItemState] {
        ledger.itemOrder.compactMap { ledger.items[$0] }.filter { $0.record.active }
    }

    func runCycle(_ cycle: Int) throws -> StepFlow {
        for segment in graph.segments {
            let steps = segment.stepIDs.compactMap { graph.step($0) }
            if segment.scope == .task {
                for step in steps {
                    if ledger.taskStopped {
                        try recordSkip(step, cycle: cycle, item: nil, reason: "early_return", explanation: "an earlier step returned early")
                        continue
                    }
                    let flow = try process(step, cycle: cycle, item: nil)
                    switch flow {
                    case .next: continue
                    case .stop: ledger.taskStopped = true
                    case .pause, .failTask: return flow
                    }
                }
            } else {
                let worklist = activeItems().filter { !Items.isResolved($0.record.status) && !Items.isSettledBlocked($0.record) }
                if ledger.taskStopped {
                    for step in steps {
                        try recordSkip(step, cycle: cycle, item: nil, reason: "early_return", explanation: "an earlier step returned early")
                    }
                    continue
                }
                if case .failTask(let reason) = try prepareWorktrees(worklist, cycle: cycle, segment: segment.index) { return .failTask(reason) }
                let errors = Locked<[String]>([])
                Workers.run(count: worklist.count, limit: segment.maxParallel, staggerMs: segment.staggerDelayMs) { [self] index in
                    let item = worklist[index]
                    do {
                        for step in steps {
                            if failure.withLock({ $0 }) != nil || pauseFlag.withLock({ $0 }) { return }
                            if item.stopped {
                                try recordSkip(
                                    step, cycle: cycle, item: item, reason: "early_return", explanation: "an earlier step of the item returned early")
                                continue
                            }
                            switch try process(step, cycle: cycle, item: item) {
                            case .next: continue
                            case .stop: item.stopped = true
                            case .pause: pauseFlag.withLock { $0 = true }
                            case .failTask(let reason): failure.withLock { $0 = $0 ?? reason }
                            }
                        }
                    } catch {
                        errors.withLock { $0.append("\(error)") }
                        failure.withLock { $0 = $0 ?? "runner error: \(error)" }
                    }
                }
                // Each item's work lands in the workspace (also before a pause: its finished steps
                // do not run again on resume).
                try mergeWorktrees(worklist, cycle: cycle)
                if let error = errors.withLock({ $0.first }) { throw RunnerError(error) }
            }
            if let reason = failure.withLock({ $0 }) { return .failTask(reason) }
            if pauseFlag.withLock({ $0 }) { return .pause }
            try applyGenerated(cycle: cycle, segment: segment)
            // after_implement: once the segment holding an implement step has run.
            if steps.contains(where: { $0.isImplementStep }), case .pause = try checkInvariants(.afterImplement, cycle: cycle) { return .pause }
        }
        return .next
    }

    /// Applies the generate_items batches buffered while the segment ran.
    func applyGenerated(cycle: Int, segment: Segment) throws {
        let batches = generated.withLock { all -> [GeneratedBatch] in
            let mine = all.filter { segment.stepIDs.contains($0.step) || graph.step($0.step) == nil }
            all.removeAll { batch in mine.contains { $0.step == batch.step && $0.cycle == batch.cycle } }
            return mine
        }
        for batch in batches {
            var ordinal = (ledger.items.values.map(\.record.ordinal).max() ?? -1) + 1
            var added: [ItemRecord] = []
            for entry in batch.items where ledger.items[entry.id] == nil || batch.replace {
                if let existing = ledger.items[entry.id] {
                    // Replacing with an item of the same id: it stays, active, as generated.
                    existing.record.active = true
                    continue
                }
                added.append(
                    ItemRecord(
                        ordinal: ordinal, itemID: entry.id, path: entry.path, label: entry.label, vars: entry.vars, origin: "generated",
                        generatedCycle: batch.cycle, generatedStep: batch.step))
                ordinal += 1
            }
            let keep = Set(batch.items.map(\.id))
            try tasks.write { writer in
                for item in added { try writer.insertItem(item, task: taskID) }
                if batch.replace { try writer.deactivateItems(except: keep, task: taskID) }
                try writer.append(
                    NewEvent(
                        .itemsGenerated, cycle: cycle, step: batch.step,
                        payload: masker.mask(
                            .object([
                                ("count", .int(Int64(batch.items.count))), ("added", .int(Int64(added.count))),
                                ("replace", .bool(batch.replace)), ("items", .array(batch.items.map { .string($0.id) })),
                            ]))), task: taskID)
            }
            for item in added {
                let state = ItemState(item)
                ledger.items[item.itemID] = state
                ledger.itemOrder.append(item.itemID)
            }
            if batch.replace {
                for state in ledger.items.values { state.record.active = keep.contains(state.id) }
                if batch.items.isEmpty {
                    progress(
                        .note("\(batch.step): generate_items gave an empty list: it replaces every item, so item steps have nothing to run"),
                        cycle: cycle)
                }
            }
        }
    }

    // MARK: - One step

    /// Decides and (maybe) runs one step for one item (nil: task scope).
    func process(_ step: CompiledStep, cycle: Int, item: ItemState?) throws -> StepFlow {
        if try pauseRequested() { return .pause }
        let key = slotKey(cycle, step.id, item?.id)
        if let recorded = ledger.done[key] {
            let outcome = RunOutcome(json: recorded.outcome)
            if outcome.earlyReturn { return .stop }
            if let reason = outcome.failTask { return .failTask(reason) }
            return .next
        }
        // store_inputs first: the prehook and the command read them.
        let inputs = step.enabled ? try bindStoreInputs(step, cycle: cycle, item: item) : BoundStoreInputs()
        let scopeItem = item ?? ledger.taskItem
        var decision = StepDecision.decide(
            step, cycle: cycle,
            evaluatePrehook: { prehook in
                prehook.when.evaluate(self.bindings(prehook.when.variables, item: scopeItem, cycle: cycle, taskScope: item == nil))
            },
            describeKnown: { prehook in
                self.describe(prehook.when, item: scopeItem, cycle: cycle, taskScope: item == nil)
            })
        var prehookEvent: NewEvent?
        if let prehook = step.prehook, step.enabled, decision.skipReason != .not_repeatable {
            prehookEvent = NewEvent(
                .stepPrehookEvaluated, cycle: cycle, step: step.id, item: item?.id,
                payload: masker.mask(
                    .object([
                        ("decision", .string(decision.verdict.rawValue)), ("when", .string(prehook.when.text)),
                        ("reason", decision.reason.map { .string($0) } ?? .null),
                    ])))
        }
        if decision.verdict == .run, !task.options.steps.isEmpty, !task.options.steps.contains(step.id) {
            decision = StepDecision(verdict: .skip, explanation: "not selected with --step")
        }
        if decision.verdict != .run {
            let reason = decision.skipReason?.rawValue ?? (decision.verdict == .conditional ? "prehook_error" : "not_selected")
            try recordSkip(step, cycle: cycle, item: item, reason: reason, explanation: decision.explanation, prehookEvent: prehookEvent)
            return .next
        }
        if case .chain = step.kind {
            return try runChain(step, cycle: cycle, item: item, prehookEvent: prehookEvent)
        }
        if step.kind == .builtin(.self_restart), case .pause = try checkInvariants(.beforeRestart, cycle: cycle) { return .pause }
        return try execute(step, cycle: cycle, item: item, prehookEvent: prehookEvent, inputs: inputs)
    }

    func recordSkip(
        _ step: CompiledStep, cycle: Int, item: ItemState?, reason: String, explanation: String?, prehookEvent: NewEvent? = nil
    ) throws {
        let key = slotKey(cycle, step.id, item?.id)
        if ledger.done[key] != nil { return }
        let outcome = RunOutcome.skipped(reason)
        try tasks.write { writer in
            if let prehookEvent { try writer.append(prehookEvent, task: taskID) }
            try writer.append(
                NewEvent(
                    .stepSkipped, cycle: cycle, step: step.id, item: item?.id,
                    payload: masker.mask(.object([("reason", .string(reason)), ("explanation", explanation.map { .string($0) } ?? .null)]))),
                task: taskID)
            try writer.skipRun(task: taskID, cycle: cycle, step: step.id, item: item?.id, outcome: outcome.json)
        }
        progress(.stepSkipped(reason: explanation.map { "\(reason): \($0)" } ?? reason), cycle: cycle, step: step.id, item: item?.id)
    }

    func runChain(_ step: CompiledStep, cycle: Int, item: ItemState?, prehookEvent: NewEvent?) throws -> StepFlow {
        let clock = monotonicMilliseconds()
        let runID = try tasks.write { writer -> Int64 in
            if let prehookEvent { try writer.append(prehookEvent, task: taskID) }
            try writer.append(
                NewEvent(
                    .stepStarted, cycle: cycle, step: step.id, item: item?.id,
                    payload: .object([("kind", .string("chain")), ("children", .array(step.children.map { .string($0.id) }))])),
                task: taskID)
            return try writer.startRun(task: taskID, cycle: cycle, step: step.id, item: item?.id, command: nil, stdout: nil, stderr: nil)
        }
        progress(.stepStarted, cycle: cycle, step: step.id, item: item?.id)
        var flow = StepFlow.next
        var failed = false
        let state = item ?? ledger.taskItem
        let before = state?.history.count ?? 0
        for child in step.children {
            let childFlow = try process(child, cycle: cycle, item: item)
            if let state, state.history.count > before, state.history[(before)...].contains(where: { !$0.success }) { failed = true }
            if case .next = childFlow { continue }
            flow = childFlow
            break
        }
        if state == nil && ledger.taskFailedThisCycle { failed = true }
        let duration = monotonicMilliseconds() - clock
        try tasks.write { writer in
            try writer.append(
                NewEvent(
                    .stepFinished, cycle: cycle, step: step.id, item: item?.id,
                    payload: .object([
                        ("exit_code", .int(failed ? 1 : 0)), ("success", .bool(!failed)), ("duration_ms", .int(duration)),
                        ("timed_out", .bool(false)),
                    ])), task: taskID)
            try writer.finishRun(
                runID, exitCode: failed ? 1 : 0, success: !failed, timedOut: false, durationMS: duration, variables: .object([]),
                outcome: RunOutcome.ran(earlyReturn: flow.isStop).json)
        }
        progress(.stepFinished(exitCode: failed ? 1 : 0, success: !failed, timedOut: false, durationMS: duration), cycle: cycle, step: step.id, item: item?.id)
        return flow
    }

    func pauseRequested() throws -> Bool {
        if pauseFlag.withLock({ $0 }) { return true }
        if let control = try tasks.control(taskID), control.pauseRequested {
            pauseFlag.withLock { $0 = true }
            return true
        }
        return false
    }

    func progress(
        _ kind: ProgressUpdate.Kind, cycle: Int, step: String? = nil, item: String? = nil, didNothing: String? = nil, failureLine: String? = nil
    ) {
        options.progress?(
            ProgressUpdate(
                kind: kind, cycle: cycle, step: step, item: item, elapsedMS: monotonicMilliseconds() - started, didNothing: didNothing,
                failureLine: failureLine))
    }
}

extension StepFlow {
    var isStop: Bool {
        if case .stop = self { return true }
        return false
    }
}

extension Value {
    /// How a built-in value reads in a placeholder.
    var placeholderText: String {
        switch self {
        case .string(let text): return text
        case .int(let number): return String(number)
        case .uint(let number): return String(number)
        case .bool(let flag): return flag ? "true" : "false"
        default: return "\(self)"
        }
    }
}

