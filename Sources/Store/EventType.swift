// The types of a task's events (docs/runner.md "Events", control-plane.md "Events added"): the
// one list the runner writes, the store reads back, and `event list --type`, `task trace` and
// `task watch` match against. An event type is never written as a string literal elsewhere.

public enum EventType: String, Sendable, CaseIterable, Comparable {
    // The task's lifecycle.
    case taskCreated = "task_created"
    case taskStarted = "task_started"
    case taskResumed = "task_resumed"
    case taskPaused = "task_paused"
    case taskCompleted = "task_completed"
    case taskFailed = "task_failed"
    // Cycles and steps.
    case cycleStarted = "cycle_started"
    case stepPrehookEvaluated = "step_prehook_evaluated"
    case stepSkipped = "step_skipped"
    case stepStarted = "step_started"
    case stepFinished = "step_finished"
    /// A running step's output so far, every heartbeat interval (a silent step shows).
    case stepHeartbeat = "step_heartbeat"
    case selfRestartRequested = "self_restart_requested"
    /// The workspace's init_script failed (at start or resume): the task is paused.
    case initFailed = "init_failed"
    // Safety (docs/safety.md).
    case checkpointCreated = "checkpoint_created"
    /// No checkpoint could be taken (the workspace is not a git repository): said, not silent.
    case checkpointSkipped = "checkpoint_skipped"
    case rolledBack = "rolled_back"
    case invariantChecked = "invariant_checked"
    case invariantViolated = "invariant_violated"
    /// Item isolation: the items' worktrees made for a segment, and each item's work merged back.
    case worktreesCreated = "worktrees_created"
    case itemMerged = "item_merged"
    /// The digests of the invariants' protected files when the task started.
    case protectedFilesRecorded = "protected_files_recorded"
    // Workflow stores and spawned tasks (docs/stores.md): keys and versions, never values.
    case storeRead = "store_read"
    case storeWritten = "store_written"
    /// A write that did not happen: the schema refused it, the provider failed, the variable was unset, the step failed.
    case storeWriteFailed = "store_write_failed"
    case taskSpawned = "task_spawned"
    /// A spawn refused by max_spawn_depth or max_spawned_tasks, or one whose workflow could not be found.
    case spawnRefused = "spawn_refused"
    // Items.
    case itemsGenerated = "items_generated"
    case itemsGenerationFailed = "items_generation_failed"
    case itemFinalized = "item_finalized"
    // The loop and the configuration.
    case loopGuardDecision = "loop_guard_decision"
    case configDriftDetected = "config_drift_detected"
    // The daemon's queue and restarts (control-plane.md).
    case taskQueued = "task_queued"
    case taskClaimed = "task_claimed"
    case leaseLost = "lease_lost"
    case taskRequeued = "task_requeued"
    case restartPending = "restart_pending"
    case daemonStarted = "daemon_started"
    case daemonRestarted = "daemon_restarted"
    case daemonDraining = "daemon_draining"
    case socketPeerRefused = "socket_peer_refused"
    /// A rebuilt binary failed its start check twice: the kept `.stable` copy runs instead.
    case daemonRestartFallback = "daemon_restart_fallback"
    // Triggers (docs/triggers.md): the daemon's events, with the trigger in the payload.
    case triggerFired = "trigger_fired"
    case triggerSkipped = "trigger_skipped"
    case triggerFailed = "trigger_failed"
    /// A trigger was armed, changed or removed, or could not be armed (a watch refused, a port taken).
    case triggerArmed = "trigger_armed"
    case triggerDisarmed = "trigger_disarmed"
    case triggerSuspended = "trigger_suspended"
    case triggerResumed = "trigger_resumed"
    case webhookRefused = "webhook_refused"
    case webhookListening = "webhook_listening"

    public static func < (a: EventType, b: EventType) -> Bool { a.rawValue < b.rawValue }

    /// The types `word` names for `event list --type`: the type itself, or every type it is a
    /// prefix of (`step_`, `self_restart`, `task`), as the replaced system matched.
    public static func matching(_ word: String) -> [EventType] {
        if let exact = EventType(rawValue: word) { return [exact] }
        return allCases.filter { $0.rawValue.hasPrefix(word) }
    }

    /// The families (`task_`, `step_`, `items_`, ...) for help texts.
    public static var families: [String] {
        var seen: [String] = []
        for type in allCases {
            let family = String(type.rawValue.prefix { $0 != "_" }) + "_"
            if !seen.contains(family) { seen.append(family) }
        }
        return seen
    }
}
