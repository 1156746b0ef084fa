import JSON

// The task side of the store (docs/architecture.md "Adding a store operation"): one interface
// with named operations, so that the runner, the CLI and the daemon never see an engine. The
// embedded SQLite engine implements it (`SQLTaskStore`); the PostgreSQL engine of scale-out
// implements the same protocols and passes the same tests.

/// What `pause` did.
public enum TaskPauseOutcome: Sendable, Equatable {
    /// The task runs: its runner stops before its next step.
    case requested
    /// The task did not run: it is paused now (a `task_paused` event is recorded).
    case paused
    case alreadyPaused
    /// Completed or failed: nothing to pause.
    case finished(TaskStatus)
}

/// What `claim` found.
public enum TaskClaimOutcome: Sendable {
    /// This runner owns the task now; `previous` is the task as it was before the claim.
    case claimed(previous: TaskRecord)
    /// Another live runner owns it.
    case alreadyRunning(pid: Int32)
    /// Its status does not allow running it (completed, failed, or not what the caller wanted).
    case notRunnable(TaskStatus)
}

/// Tasks, items, runs and events. Every method is safe to call from several threads; every
/// write is one transaction (`write`), committed before the call returns.
public protocol TaskStore: AnyObject, Sendable {
    /// The data directory (logs live under it).
    var dataDirectory: String { get }

    /// Runs `body` in one transaction: all of its writes are committed together, or none.
    @discardableResult
    func write<T>(_ body: (any TaskWriter) throws -> T) throws -> T

    func task(_ id: String) throws -> TaskRecord?
    /// Every task, oldest first.
    func tasks() throws -> [TaskRecord]
    /// Every task without its snapshot, oldest first (lists, lookups by name or prefix).
    func taskSummaries() throws -> [TaskSummary]
    /// A page of `taskSummaries`: at most `limit` tasks created after the task `after` (nil: from
    /// the first). Nil when the task `after` does not exist.
    func taskSummaries(after: String?, limit: Int) throws -> [TaskSummary]?
    /// The newest `limit` tasks (of `status`, nil: any), newest first, and how many there are in
    /// all: the dashboard's list, read through the creation-order index rather than whole.
    func latestTaskSummaries(status: TaskStatus?, limit: Int) throws -> (tasks: [TaskSummary], total: Int)
    /// Tasks whose name is `name`, oldest first.
    func tasks(named name: String) throws -> [TaskSummary]
    /// Tasks whose id begins with `prefix`, at most `limit`, in id order.
    func tasks(withIDPrefix prefix: String, limit: Int) throws -> [TaskSummary]
    /// The first `count` events of a task after the event `after` (paging forward).
    func events(_ taskID: String, types: [EventType]?, after: Int64, first count: Int) throws -> [EventRecord]
    /// `EXPLAIN QUERY PLAN` of the queries behind the paged and indexed reads above, by name:
    /// a test checks that none reads a whole table or sorts one.
    func queryPlans() throws -> [String: String]
    /// The queue's order: each queued task's position (1: next), by task id.
    func queuePositions() throws -> [String: Int]
    /// A task by id, or by a unique prefix of its id.
    func findTask(_ idOrPrefix: String) throws -> TaskRecord?
    /// The task's status and pause flag only (cheap; read between steps).
    func control(_ id: String) throws -> (status: TaskStatus, pauseRequested: Bool)?
    func items(_ taskID: String) throws -> [ItemRecord]
    func runs(_ taskID: String) throws -> [RunRecord]
    /// Events of a task in id order: of some types (nil: all), after an id, the last `limit`.
    func events(_ taskID: String, types: [EventType]?, after: Int64, limit: Int?) throws -> [EventRecord]
    /// Deletes a task with its items, runs and events.
    func deleteTask(_ id: String) throws
    /// Pauses a task in one transaction with the read of its status.
    func pause(_ id: String) throws -> TaskPauseOutcome
    /// Claims a task for a runner in one transaction (see `SQLTaskStore.claim`); `then` runs in
    /// the same transaction.
    func claim(
        _ id: String, allowed: Set<TaskStatus>, runner: (pid: Int32, start: String?), then: (any TaskWriter, TaskRecord) throws -> Void
    ) throws -> TaskClaimOutcome
    /// The daemon's queue: marks a task (created, paused or interrupted) as waiting for a worker
    /// and records `task_queued`; returns its position (1: next).
    func enqueue(_ id: String) throws -> Int
    /// The oldest queued task this store's runner may run (its workspace served, its `runs_on`
    /// labels held), leaving out `excluding`, reserved for the runner in the same transaction
    /// (other daemons on a shared store pass over it); nil when none waits. Needs `holdLease`.
    func reserveNextQueued(excluding: Set<String>) throws -> TaskRecord?
    /// Hands a reservation back to the queue (the task could not start here).
    func releaseReservation(_ id: String) throws

    // Runners and leases (Leases.swift, docs/scale-out.md).
    /// Registers this process as a runner and renews its lease from a thread until
    /// `releaseLease`; `onLost` runs once if a renewal finds it expired. Returns the runner id.
    @discardableResult
    func holdLease(_ request: LeaseRequest, onLost: @escaping @Sendable () -> Void) throws -> String
    /// Ends the lease (its reservations go back to the queue) and removes the runner.
    func releaseLease()
    /// Every registered runner, oldest first.
    func runners() throws -> [RunnerRecord]
    /// Retention: the oldest events recorded before `cutoff` (a store timestamp), at most `limit`.
    func eventsRecorded(before cutoff: String, limit: Int) throws -> [EventRecord]
    /// Deletes events by id in one transaction; returns how many were deleted.
    func deleteEvents(_ ids: [Int64]) throws -> Int
    /// How many events were recorded before `cutoff`.
    func countEvents(before cutoff: String) throws -> Int
    /// Rows per table (`db status`).
    func counts() throws -> [(table: String, rows: Int)]
    /// Tasks marked running whose runner is gone become `interrupted`; returns their ids.
    /// `deadRunner` names a process to treat as gone although it lives: a daemon that has just
    /// re-executed itself keeps its PID, and nothing of its previous incarnation runs any more.
    @discardableResult
    func recoverOrphanedTasks(deadRunner: Int32?) throws -> [String]

    // The daemon's own state (control-plane.md "Self-restart", "Events added").
    /// Records a daemon start on this data directory; returns its incarnation (1, 2, ...).
    func beginIncarnation(pid: Int32, buildID: String?, previousBuildID: String?) throws -> Int64
    /// Appends an event that belongs to no task; returns its id.
    @discardableResult
    func appendDaemonEvent(_ type: EventType, incarnation: Int64?, payload: JSONValue) throws -> Int64
    /// The daemon's events in id order: after an id, the last `limit`.
    func daemonEvents(after: Int64, limit: Int?) throws -> [DaemonEventRecord]
    /// Tasks waiting for a re-executed runner (`restart_pending`), oldest first.
    func tasksAwaitingRestart() throws -> [TaskRecord]

    // Triggers (docs/triggers.md "Exactly once").
    /// A trigger's fires, newest first.
    func triggerFires(_ trigger: TriggerKey, limit: Int) throws -> [TriggerFireRecord]
    /// The latest scheduled instant of a trigger's cron fires and arming (seconds since the epoch).
    func lastScheduledFire(_ trigger: TriggerKey) throws -> Int64?
    /// Claims a fire that creates no task (skipped, failed, armed) with its event, in one
    /// transaction; false when the fire was claimed already (by this or another daemon).
    func recordTriggerFire(_ fire: TriggerFireRecord, event: (type: EventType, incarnation: Int64?, payload: JSONValue)?) throws -> Bool
    func triggerOverride(_ trigger: TriggerKey) throws -> TriggerOverride?
    /// `trigger suspend|resume`: holds while the Trigger keeps `generation`.
    func setTriggerOverride(_ trigger: TriggerKey, suspended: Bool, generation: Int) throws
    /// `task_completed` and `task_failed` events after an event id, oldest first.
    func taskEnds(after eventID: Int64, limit: Int) throws -> [TaskEnd]
    /// The newest event id (0: none).
    func lastEventID() throws -> Int64
    func triggerCursor(_ name: String) throws -> Int64?
    /// Moves a cursor forward (never back).
    func setTriggerCursor(_ name: String, to eventID: Int64) throws
    /// The tasks a trigger created, newest first, with their status.
    func triggerTasks(_ trigger: TriggerKey) throws -> [(taskID: String, status: TaskStatus)]
    /// The fire that created a task, nil when no trigger did.
    func fire(ofTask taskID: String) throws -> TriggerFireRecord?

    // Workflow stores and spawned tasks (docs/stores.md).
    /// An entry of a WorkflowStore with the built-in provider; nil when the key holds none.
    func storeEntry(_ key: StoreEntryKey) throws -> WorkflowStoreEntry?
    /// Every entry of a store in a project, by key.
    func storeEntries(project: String, store: String) throws -> [WorkflowStoreEntry]
    /// The parent of a spawned task; nil when no task spawned it.
    func lineage(of taskID: String) throws -> TaskLineage?
    /// The tasks a task spawned, oldest first.
    func spawnedTasks(of parentID: String) throws -> [TaskLineage]
    /// Every spawn link (`task list --tree`).
    func allLineage() throws -> [TaskLineage]
}

extension TaskStore {
    /// Where a task's logs live: `DATA/logs/TASK_ID`.
    public func logDirectory(_ taskID: String) -> String { dataDirectory + "/logs/" + taskID }

    public func events(_ taskID: String, types: [EventType]? = nil, after: Int64 = 0, limit: Int? = nil) throws -> [EventRecord] {
        try events(taskID, types: types, after: after, limit: limit)
    }

    @discardableResult
    public func recoverOrphanedTasks() throws -> [String] { try recoverOrphanedTasks(deadRunner: nil) }

    public func claim(_ id: String, allowed: Set<TaskStatus>, runner: (pid: Int32, start: String?)) throws -> TaskClaimOutcome {
        try claim(id, allowed: allowed, runner: runner, then: { _, _ in })
    }

    /// Retention (`event cleanup`, the daemon's sweep): deletes every event recorded before
    /// `cutoff`, oldest first, 10,000 per transaction. `keep` sees each batch before it is deleted
    /// (an archive); when it throws, that batch and the rest stay. `stop` ends the sweep between
    /// batches. Returns how many were deleted.
    public func deleteEvents(
        recordedBefore cutoff: String, keep: ([EventRecord]) throws -> Void = { _ in }, stop: () -> Bool = { false }
    ) throws -> Int {
        var deleted = 0
        while !stop() {
            let batch = try eventsRecorded(before: cutoff, limit: 10_000)
            if batch.isEmpty { break }
            try keep(batch)
            deleted += try deleteEvents(batch.map(\.id))
        }
        return deleted
    }
}

/// The writes of one transaction, named for what they do (no caller names a column).
public protocol TaskWriter {
    /// Appends an event; returns its id (monotonic, never reused).
    @discardableResult
    func append(_ event: NewEvent, task: String) throws -> Int64
    func insertTask(_ task: TaskRecord) throws
    func insertItem(_ item: ItemRecord, task: String) throws
    func setItemStatus(_ itemID: String, status: String, task: String) throws
    /// Every item inactive except `keep` (generate_items with `replace`).
    func deactivateItems(except keep: Set<String>, task: String) throws
    /// A new cycle starts: the task's cycle and its count of consecutive failed cycles.
    func startCycle(task id: String, cycle: Int, consecutiveFailures: Int) throws
    /// Every item of `cycle` was finalized (a resume does not finalize it again).
    func finalizeCycle(task id: String, cycle: Int) throws
    /// The task adopts the workflow applied now (drift policy `adopt`).
    func adoptWorkflow(task id: String, graphHash: String, snapshot: JSONValue) throws
    /// The task ends (`completed` or `failed`); items left running go back to pending.
    func finish(task id: String, status: TaskStatus, reason: String, consecutiveFailures: Int?) throws
    /// The runner stops at a step boundary and leaves the task paused, with why when it was not
    /// asked to (`no space left on device`); items left running go back to pending.
    func pause(task id: String, reason: String?) throws
    /// The runner stops after a `self_restart` step rebuilt this tool: the task waits
    /// `restart_pending` for the re-executed runner, which resumes it at the next step.
    func awaitRestart(task id: String, reason: String) throws
    /// The runner stops because the store failed under it: the task is left `interrupted` with
    /// why, its running runs interrupted and its running items pending (it resumes at the step
    /// that was cut off).
    func interrupt(task id: String, reason: String) throws
    /// A run ended by an interruption of its runner: it runs again on resume.
    func markRunInterrupted(_ runID: Int64) throws
    /// Records a run that starts now; returns its id.
    func startRun(task: String, cycle: Int, step: String, item: String?, command: String?, stdout: String?, stderr: String?) throws -> Int64
    /// Records the process a run started (its pid and start time), so recovery can end it.
    func recordProcess(run id: Int64, pid: Int32) throws
    func finishRun(
        _ id: Int64, exitCode: Int, success: Bool, timedOut: Bool, durationMS: Int64, variables: JSONValue, outcome: JSONValue
    ) throws
    /// Records a decision not to run a step (so a resume does not decide it again).
    func skipRun(task: String, cycle: Int, step: String, item: String?, outcome: JSONValue) throws

    /// Marks a task (created, paused or interrupted) as waiting for a daemon's worker and records
    /// `task_queued`; returns its position (1: next).
    func enqueue(task id: String) throws -> Int
    /// Asks a running task's runner to pause at its next step boundary.
    func requestPause(task id: String) throws
    /// Appends an event that belongs to no task; returns its id.
    @discardableResult
    func appendDaemonEvent(_ type: EventType, incarnation: Int64?, payload: JSONValue) throws -> Int64
    /// Claims a fire of a trigger: false when it was claimed already (the caller creates nothing).
    func claimTriggerFire(_ fire: TriggerFireRecord) throws -> Bool
    /// The trigger's tasks that are neither completed nor failed, oldest first.
    func unfinishedTasks(of trigger: TriggerKey) throws -> [(taskID: String, status: TaskStatus)]
    /// When the trigger last created a task (trigger clock, seconds since the epoch).
    func lastFiredAt(_ trigger: TriggerKey) throws -> Int64?

    /// Writes an entry of a built-in WorkflowStore (a new version of its key); returns the version.
    func putStoreEntry(_ key: StoreEntryKey, value: JSONValue, task: String?, step: String?) throws -> Int
    /// Deletes an entry; false when the key held none.
    func deleteStoreEntry(_ key: StoreEntryKey) throws -> Bool
    /// Retention: deletes the entries written before `cutoff` and all but the `keepNewest` newest;
    /// returns the deleted keys.
    func pruneStoreEntries(project: String, store: String, keepNewest: Int?, updatedBefore cutoff: String?) throws -> [String]
    /// Links a spawned task to its parent. A second link with the same key fails (the caller
    /// looks for it first with `spawnedChild`).
    func linkSpawn(child: String, parent: String, depth: Int, key: String) throws
    /// The task a spawn key created, if any.
    func spawnedChild(key: String) throws -> String?
    /// How many tasks a task spawned.
    func spawnedCount(parent: String) throws -> Int
}
