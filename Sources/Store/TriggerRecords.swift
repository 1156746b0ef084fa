import JSON

// The triggers' state in the store (migration 7, docs/triggers.md "Exactly once"): each fire is
// claimed by inserting its key, in the transaction that creates its task; `trigger suspend`
// overrides; the cursor of the task-end triggers.

/// A trigger: its project and name.
public struct TriggerKey: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var project: String
    public var name: String

    public init(project: String, name: String) {
        self.project = project
        self.name = name
    }

    public var description: String { project + "/" + name }

    public static func < (a: TriggerKey, b: TriggerKey) -> Bool { (a.project, a.name) < (b.project, b.name) }
}

/// What became of a fire.
public enum TriggerFireOutcome: String, Sendable, CaseIterable {
    /// It created a task.
    case fired
    /// It was not taken: suspended, throttled, Forbid while a task of the trigger runs, a false condition.
    case skipped
    /// It was taken but no task could be created (the reason says why).
    case failed
    /// Not a fire: the instant the daemon first scheduled a cron trigger (missed fires count from here).
    case armed
}

/// One fire as the store keeps it.
public struct TriggerFireRecord: Sendable, Equatable {
    public var trigger: TriggerKey
    /// What makes it one fire: `cron:SECONDS`, `event:ID`, `webhook:DELIVERY`, `fs:...`, `manual:...`.
    public var key: String
    /// cron, task_completed, task_failed, webhook, filesystem, manual.
    public var source: String
    public var outcome: TriggerFireOutcome
    public var reason: String?
    public var taskID: String?
    /// The scheduled instant (cron), seconds since the epoch.
    public var scheduledAt: Int64?
    /// When it fired by the trigger clock, seconds since the epoch.
    public var firedAt: Int64
    public var recordedAt: String

    public init(
        trigger: TriggerKey, key: String, source: String, outcome: TriggerFireOutcome, reason: String? = nil, taskID: String? = nil,
        scheduledAt: Int64? = nil, firedAt: Int64, recordedAt: String = ""
    ) {
        self.trigger = trigger
        self.key = key
        self.source = source
        self.outcome = outcome
        self.reason = reason
        self.taskID = taskID
        self.scheduledAt = scheduledAt
        self.firedAt = firedAt
        self.recordedAt = recordedAt
    }

    public var json: JSONValue {
        .object([
            ("project", .string(trigger.project)), ("trigger", .string(trigger.name)), ("key", .string(key)), ("source", .string(source)),
            ("outcome", .string(outcome.rawValue)), ("reason", reason.map { .string($0) } ?? .null),
            ("task_id", taskID.map { .string($0) } ?? .null), ("scheduled_at", scheduledAt.map { .int($0) } ?? .null),
            ("fired_at", .int(firedAt)), ("recorded_at", .string(recordedAt)),
        ])
    }
}

/// `trigger suspend|resume` as recorded: it holds while the Trigger keeps this generation.
public struct TriggerOverride: Sendable, Equatable {
    public var suspended: Bool
    public var generation: Int
    public var changedAt: String
}

/// A task that ended, as the task-end triggers read the event log.
public struct TaskEnd: Sendable, Equatable {
    public var eventID: Int64
    public var taskID: String
    public var type: EventType
}

extension SQLTaskStore {
    static let fireColumns = "project, trigger, fire_key, source, outcome, reason, task_id, scheduled_at, fired_at, recorded_at"

    static func decodeFire(_ row: [SQLValue]) throws -> TriggerFireRecord {
        guard row.count == 10, let project = row[0].text, let name = row[1].text, let key = row[2].text, let source = row[3].text,
            let outcomeText = row[4].text, let outcome = TriggerFireOutcome(rawValue: outcomeText), let firedAt = row[8].integer,
            let recordedAt = row[9].text
        else { throw StoreError("a trigger fire row is malformed") }
        return TriggerFireRecord(
            trigger: TriggerKey(project: project, name: name), key: key, source: source, outcome: outcome, reason: row[5].text,
            taskID: row[6].text, scheduledAt: row[7].integer, firedAt: firedAt, recordedAt: recordedAt)
    }

    public func triggerFires(_ trigger: TriggerKey, limit: Int) throws -> [TriggerFireRecord] {
        try read { database in
            try database.query(
                "SELECT \(SQLTaskStore.fireColumns) FROM trigger_fires WHERE project = ? AND trigger = ? ORDER BY fired_at DESC, recorded_at DESC, fire_key DESC LIMIT ?",
                [.text(trigger.project), .text(trigger.name), .integer(Int64(max(0, limit)))]
            ).map(SQLTaskStore.decodeFire)
        }
    }

    public func lastScheduledFire(_ trigger: TriggerKey) throws -> Int64? {
        try read { database in
            try database.query(
                "SELECT MAX(scheduled_at) FROM trigger_fires WHERE project = ? AND trigger = ? AND scheduled_at IS NOT NULL",
                [.text(trigger.project), .text(trigger.name)]
            ).first?.first?.integer
        }
    }

    public func recordTriggerFire(_ fire: TriggerFireRecord, event: (type: EventType, incarnation: Int64?, payload: JSONValue)?) throws -> Bool {
        try write { writer in
            guard try writer.claimTriggerFire(fire) else { return false }
            if let event { try writer.appendDaemonEvent(event.type, incarnation: event.incarnation, payload: event.payload) }
            return true
        }
    }

    public func triggerOverride(_ trigger: TriggerKey) throws -> TriggerOverride? {
        try read { database in
            guard let row = try database.query(
                "SELECT suspended, generation, changed_at FROM trigger_overrides WHERE project = ? AND trigger = ?",
                [.text(trigger.project), .text(trigger.name)]
            ).first, let suspended = row[0].integer, let generation = row[1].integer, let changed = row[2].text
            else { return nil }
            return TriggerOverride(suspended: suspended != 0, generation: Int(generation), changedAt: changed)
        }
    }

    public func setTriggerOverride(_ trigger: TriggerKey, suspended: Bool, generation: Int) throws {
        try write { _ in
            try database.run(
                """
                INSERT INTO trigger_overrides (project, trigger, suspended, generation, changed_at) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (project, trigger) DO UPDATE SET suspended = excluded.suspended, generation = excluded.generation,
                    changed_at = excluded.changed_at
                """,
                [.text(trigger.project), .text(trigger.name), .integer(suspended ? 1 : 0), .integer(Int64(generation)), .text(StoreClock.timestamp())])
        }
    }

    public func taskEnds(after eventID: Int64, limit: Int) throws -> [TaskEnd] {
        try read { database in
            try database.query(
                "SELECT id, task_id, type FROM events WHERE id > ? AND type IN (?, ?) ORDER BY id LIMIT ?",
                [.integer(eventID), .text(EventType.taskCompleted.rawValue), .text(EventType.taskFailed.rawValue), .integer(Int64(max(0, limit)))]
            ).compactMap { row in
                guard let id = row[0].integer, let task = row[1].text, let text = row[2].text, let type = EventType(rawValue: text) else { return nil }
                return TaskEnd(eventID: id, taskID: task, type: type)
            }
        }
    }

    public func lastEventID() throws -> Int64 {
        try read { database in try database.query("SELECT COALESCE(MAX(id), 0) FROM events").first?.first?.integer ?? 0 }
    }

    public func triggerCursor(_ name: String) throws -> Int64? {
        try read { database in
            try database.query("SELECT event_id FROM trigger_cursors WHERE name = ?", [.text(name)]).first?.first?.integer
        }
    }

    public func setTriggerCursor(_ name: String, to eventID: Int64) throws {
        try write { _ in
            // Never backwards: two daemons reading the log advance it to the furthest point.
            try database.run(
                """
                INSERT INTO trigger_cursors (name, event_id) VALUES (?, ?)
                ON CONFLICT (name) DO UPDATE SET event_id =
                    CASE WHEN excluded.event_id > trigger_cursors.event_id THEN excluded.event_id ELSE trigger_cursors.event_id END
                """, [.text(name), .integer(eventID)])
        }
    }

    public func triggerTasks(_ trigger: TriggerKey) throws -> [(taskID: String, status: TaskStatus)] {
        try read { database in
            try database.query(
                """
                SELECT t.id, t.status FROM trigger_fires f JOIN tasks t ON t.id = f.task_id
                WHERE f.project = ? AND f.trigger = ? ORDER BY t.created_at DESC, t.id DESC
                """, [.text(trigger.project), .text(trigger.name)]
            ).compactMap { row in
                guard let id = row[0].text, let text = row[1].text, let status = TaskStatus(rawValue: text) else { return nil }
                return (id, status)
            }
        }
    }

    public func fire(ofTask taskID: String) throws -> TriggerFireRecord? {
        try read { database in
            try database.query("SELECT \(SQLTaskStore.fireColumns) FROM trigger_fires WHERE task_id = ? LIMIT 1", [.text(taskID)])
                .first.map(SQLTaskStore.decodeFire)
        }
    }
}

extension SQLTaskWriter {
    public func claimTriggerFire(_ fire: TriggerFireRecord) throws -> Bool {
        let claimed = try database.query(
            """
            INSERT INTO trigger_fires (\(SQLTaskStore.fireColumns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (project, trigger, fire_key) DO NOTHING RETURNING fire_key
            """,
            [
                .text(fire.trigger.project), .text(fire.trigger.name), .text(fire.key), .text(fire.source), .text(fire.outcome.rawValue),
                fire.reason.map { .text($0) } ?? .null, fire.taskID.map { .text($0) } ?? .null, fire.scheduledAt.map { .integer($0) } ?? .null,
                .integer(fire.firedAt), .text(StoreClock.timestamp()),
            ])
        return claimed.count == 1
    }

    public func unfinishedTasks(of trigger: TriggerKey) throws -> [(taskID: String, status: TaskStatus)] {
        try database.query(
            """
            SELECT t.id, t.status FROM trigger_fires f JOIN tasks t ON t.id = f.task_id
            WHERE f.project = ? AND f.trigger = ? AND t.status NOT IN (?, ?) ORDER BY t.created_at, t.id
            """, [.text(trigger.project), .text(trigger.name), .text(TaskStatus.completed.rawValue), .text(TaskStatus.failed.rawValue)]
        ).compactMap { row in
            guard let id = row[0].text, let text = row[1].text, let status = TaskStatus(rawValue: text) else { return nil }
            return (id, status)
        }
    }

    public func lastFiredAt(_ trigger: TriggerKey) throws -> Int64? {
        try database.query(
            "SELECT MAX(fired_at) FROM trigger_fires WHERE project = ? AND trigger = ? AND outcome = ?",
            [.text(trigger.project), .text(trigger.name), .text(TriggerFireOutcome.fired.rawValue)]
        ).first?.first?.integer
    }

    @discardableResult
    public func appendDaemonEvent(_ type: EventType, incarnation: Int64?, payload: JSONValue) throws -> Int64 {
        try database.serialiseAppends()
        return try database.insertReturningID(
            "INSERT INTO daemon_events (type, incarnation, timestamp, payload) VALUES (?, ?, ?, ?)", idColumn: "id",
            [.text(type.rawValue), incarnation.map { .integer($0) } ?? .null, .text(StoreClock.timestamp()), .text(JSONWriter().string(payload))])
    }

    public func requestPause(task id: String) throws {
        try setTask(id, [("pause_requested", .integer(1))])
    }

    public func enqueue(task id: String) throws -> Int {
        guard let row = try database.query("SELECT status, cycle FROM tasks WHERE id = ?" + database.engine.lockRows, [.text(id)]).first,
            let text = row[0].text, let status = TaskStatus(rawValue: text)
        else { throw StoreError("no task \(id)") }
        guard status == .created || status.isResumable else { throw StoreError("task \(id) is \(status.rawValue); it cannot be queued") }
        try setTask(id, [("queued_at", .text(StoreClock.timestamp()))])
        let position = try SQLTaskStore.position(id, in: database) ?? 1
        try append(
            NewEvent(.taskQueued, cycle: (row[1].integer ?? 0) > 0 ? Int(row[1].integer ?? 0) : nil, payload: .object([("position", .int(Int64(position)))])),
            task: id)
        return position
    }
}
