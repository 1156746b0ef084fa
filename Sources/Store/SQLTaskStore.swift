import JSON
import Platform

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Tasks, items, step runs and events in the store (Schema migration 2). One `TaskStore` owns one
// database connection and serialises every use of it behind a lock, so item workers on several
// threads can record events through it. Every write is one transaction: an event is committed
// before the caller moves on. See docs/runner.md.

/// The store of tasks. Thread-safe: every database use holds the lock.
public final class SQLTaskStore: TaskStore, @unchecked Sendable {
    let database: any SQLConnection
    private let lock = Locked(())
    public let dataDirectory: String
    /// The lease this process holds as a runner (Leases.swift), once it claimed or asked for one.
    let heldLease = Locked<HeldLease?>(nil)

    /// Seals the tasks' variables at rest (the SecretStore values' key file).
    let cipher: SecretCipher

    public init(_ store: SQLResourceStore) {
        database = store.database
        dataDirectory = store.dataDirectory
        cipher = store.secrets
    }

    deinit { releaseLease() }

    /// A transaction on the connection, for this engine's own statements.
    func lockedWrite<T>(_ body: (any SQLConnection) throws -> T) throws -> T {
        try lock.withLock { _ in
            try database.transaction {
                try database.serialiseAppends()
                return try body(database)
            }
        }
    }

    /// The first statement of every write transaction on PostgreSQL: the lock that makes the
    /// task store's writes commit one at a time across daemons (taken first, it can never be
    /// part of a deadlock, and event ids become visible in order), with the fence of a runner
    /// that holds a lease (Leases.swift, `fence`: it writes only while its lease holds).
    private func serialise(_ database: any SQLConnection) throws {
        if let held = heldLease.withLock({ $0 }) {
            try SQLTaskStore.fence(held.id, in: database)
        } else {
            try database.serialiseAppends()
        }
    }


    /// Runs `body` in one transaction with exclusive use of the connection.
    @discardableResult
    public func write<T>(_ body: (any TaskWriter) throws -> T) throws -> T {
        try lock.withLock { _ in
            try database.transaction {
                try serialise(database)
                return try body(SQLTaskWriter(database: database, cipher: cipher))
            }
        }
    }

    /// `write` with the concrete writer (for the operations of this engine that need its SQL).
    private func sqliteWrite<T>(_ body: (SQLTaskWriter) throws -> T) throws -> T {
        try lock.withLock { _ in
            try database.transaction {
                try serialise(database)
                return try body(SQLTaskWriter(database: database, cipher: cipher))
            }
        }
    }

    func read<T>(_ body: (any SQLConnection) throws -> T) throws -> T {
        try lock.withLock { _ in try body(database) }
    }

    // MARK: tasks

    static let taskColumns = """
        id, name, project, workflow, workspace, goal, status, graph_hash, snapshot, options, cycle, finalized_cycle,
        consecutive_failures, pause_requested, runner_pid, runner_start, reason, created_at, updated_at, started_at, finished_at,
        runner_id, runner_host
        """

    /// A task row, its variables decrypted.
    func decodeTask(_ row: [SQLValue]) throws -> TaskRecord { try SQLTaskStore.decodeTask(row, cipher: cipher) }

    static func decodeTask(_ row: [SQLValue], cipher: SecretCipher) throws -> TaskRecord {
        guard row.count == 23, let id = row[0].text, let name = row[1].text, let project = row[2].text,
            let workflow = row[3].text, let workspace = row[4].text, let goal = row[5].text,
            let statusText = row[6].text, let status = TaskStatus(rawValue: statusText), let hash = row[7].text,
            let snapshot = row[8].text, let options = row[9].text, let cycle = row[10].integer,
            let finalized = row[11].integer, let failures = row[12].integer, let pause = row[13].integer,
            let created = row[17].text, let updated = row[18].text
        else { throw StoreError("a task row is malformed") }
        var record = TaskRecord(
            id: id, name: name, project: project, workflow: workflow, workspace: workspace, goal: goal, status: status,
            graphHash: hash, snapshot: try JSONParser.parse(snapshot), options: try TaskOptions(json: try JSONParser.parse(options)) { stored in
                var keys: [SecretKey]?
                return try cipher.openVariables(stored, keys: &keys)
            },
            cycle: Int(cycle), finalizedCycle: Int(finalized), consecutiveFailures: Int(failures), pauseRequested: pause != 0,
            runnerPID: row[14].integer.map { Int32(truncatingIfNeeded: $0) }, runnerStart: row[15].text, reason: row[16].text,
            createdAt: created, updatedAt: updated, startedAt: row[19].text, finishedAt: row[20].text)
        record.runnerID = row[21].text
        record.runnerHost = row[22].text
        return record
    }

    public func task(_ id: String) throws -> TaskRecord? {
        try read { database in
            try database.query("SELECT \(SQLTaskStore.taskColumns) FROM tasks WHERE id = ?", [.text(id)]).first.map(decodeTask)
        }
    }

    /// Every task, oldest first.
    public func tasks() throws -> [TaskRecord] {
        try read { database in
            try database.query("SELECT \(SQLTaskStore.taskColumns) FROM tasks ORDER BY created_at, id").map(decodeTask)
        }
    }

    static let summaryColumns =
        "id, name, project, workflow, workspace, goal, status, graph_hash, cycle, consecutive_failures, reason, created_at, updated_at, started_at, finished_at"

    static func decodeSummary(_ row: [SQLValue]) throws -> TaskSummary {
        guard row.count == 15, let id = row[0].text, let name = row[1].text, let project = row[2].text, let workflow = row[3].text,
            let workspace = row[4].text, let goal = row[5].text, let statusText = row[6].text,
            let status = TaskStatus(rawValue: statusText), let hash = row[7].text, let cycle = row[8].integer,
            let failures = row[9].integer, let created = row[11].text, let updated = row[12].text
        else { throw StoreError("a task row is malformed") }
        return TaskSummary(
            id: id, name: name, project: project, workflow: workflow, workspace: workspace, goal: goal, status: status,
            graphHash: hash, cycle: Int(cycle), consecutiveFailures: Int(failures), reason: row[10].text, createdAt: created,
            updatedAt: updated, startedAt: row[13].text, finishedAt: row[14].text)
    }

    public func taskSummaries() throws -> [TaskSummary] {
        try read { database in
            try database.query("SELECT \(SQLTaskStore.summaryColumns) FROM tasks ORDER BY created_at, id").map(SQLTaskStore.decodeSummary)
        }
    }

    static let firstPageSQL = "SELECT \(summaryColumns) FROM tasks ORDER BY created_at, id LIMIT ?"
    static let nextPageSQL = """
        SELECT \(summaryColumns) FROM tasks WHERE (created_at, id) > (SELECT created_at, id FROM tasks WHERE id = ?)
        ORDER BY created_at, id LIMIT ?
        """
    static let namedSQL = "SELECT \(summaryColumns) FROM tasks WHERE name = ? ORDER BY created_at, id"
    /// Ids are hex: every id beginning with the prefix sorts at or after it and before it + U+FFFF.
    static let prefixSQL = "SELECT \(summaryColumns) FROM tasks WHERE id >= ? AND id < ? ORDER BY id LIMIT ?"
    // The statements `event list` runs without a type filter (their plans are checked).
    static let eventsForwardSQL = firstEvents(eventsQuery("", types: nil, after: 0).sql)
    static let eventsLastSQL = lastEvents(eventsQuery("", types: nil, after: 0).sql)
    static func firstEvents(_ query: String) -> String { query + " ORDER BY id LIMIT ?" }
    static func lastEvents(_ query: String) -> String { "SELECT * FROM (\(query) ORDER BY id DESC LIMIT ?) AS page ORDER BY id" }

    public func taskSummaries(after: String?, limit: Int) throws -> [TaskSummary]? {
        try read { database in
            guard let after else {
                return try database.query(SQLTaskStore.firstPageSQL, [.integer(Int64(max(0, limit)))]).map(SQLTaskStore.decodeSummary)
            }
            guard try !database.query("SELECT 1 FROM tasks WHERE id = ?", [.text(after)]).isEmpty else { return nil }
            return try database.query(SQLTaskStore.nextPageSQL, [.text(after), .integer(Int64(max(0, limit)))]).map(SQLTaskStore.decodeSummary)
        }
    }

    public func latestTaskSummaries(status: TaskStatus?, limit: Int) throws -> (tasks: [TaskSummary], total: Int) {
        try read { database in
            let filter = status == nil ? "" : " WHERE status = ?"
            let parameters: [SQLValue] = status.map { [.text($0.rawValue)] } ?? []
            let rows = try database.query(
                "SELECT \(SQLTaskStore.summaryColumns) FROM tasks\(filter) ORDER BY created_at DESC, id DESC LIMIT ?",
                parameters + [.integer(Int64(max(0, limit)))])
            let total = try database.query("SELECT COUNT(*) FROM tasks\(filter)", parameters).first?.first?.integer ?? 0
            return (try rows.map(SQLTaskStore.decodeSummary), Int(total))
        }
    }

    public func tasks(named name: String) throws -> [TaskSummary] {
        try read { database in try database.query(SQLTaskStore.namedSQL, [.text(name)]).map(SQLTaskStore.decodeSummary) }
    }

    public func tasks(withIDPrefix prefix: String, limit: Int) throws -> [TaskSummary] {
        try read { database in
            try database.query(SQLTaskStore.prefixSQL, [.text(prefix), .text(prefix + "\u{FFFF}"), .integer(Int64(max(0, limit)))])
                .map(SQLTaskStore.decodeSummary)
        }
    }

    public func events(_ taskID: String, types: [EventType]?, after: Int64, first count: Int) throws -> [EventRecord] {
        try read { database in
            var (sql, parameters) = SQLTaskStore.eventsQuery(taskID, types: types, after: after)
            sql = SQLTaskStore.firstEvents(sql)
            parameters.append(.integer(Int64(max(0, count))))
            return try database.query(sql, parameters).map(SQLTaskStore.decodeEvent)
        }
    }

    public func queryPlans() throws -> [String: String] {
        let queries: [(String, String, [SQLValue])] = [
            ("task list, first page", SQLTaskStore.firstPageSQL, [.integer(50)]),
            ("task list, next page", SQLTaskStore.nextPageSQL, [.text("x"), .integer(50)]),
            ("task list, newest first", "SELECT \(SQLTaskStore.summaryColumns) FROM tasks ORDER BY created_at DESC, id DESC LIMIT ?", [.integer(50)]),
            ("task by name", SQLTaskStore.namedSQL, [.text("x")]),
            ("task by id prefix", SQLTaskStore.prefixSQL, [.text("ab"), .text("ab\u{FFFF}"), .integer(11)]),
            ("event list, first page after an id", SQLTaskStore.eventsForwardSQL, [.text("x"), .integer(0), .integer(50)]),
            ("event list, last N", SQLTaskStore.eventsLastSQL, [.text("x"), .integer(0), .integer(50)]),
            ("queue positions", "SELECT id FROM tasks WHERE queued_at IS NOT NULL AND status IN (\(TaskStatus.claimableSQL)) ORDER BY queued_at, id", []),
        ]
        return try read { database in
            var plans: [String: String] = [:]
            for (name, sql, parameters) in queries {
                // SQLite's plan is one row per step, its text last; PostgreSQL's one row per line.
                let explain = database.engine == .postgres ? "EXPLAIN " : "EXPLAIN QUERY PLAN "
                plans[name] = try database.query(explain + sql, parameters).compactMap { $0.last?.text }.joined(separator: "; ")
            }
            return plans
        }
    }

    public func queuePositions() throws -> [String: Int] {
        try read { database in
            var positions: [String: Int] = [:]
            let rows = try database.query(
                "SELECT id FROM tasks WHERE queued_at IS NOT NULL AND status IN (\(TaskStatus.claimableSQL)) ORDER BY queued_at, id")
            for (index, row) in rows.enumerated() {
                if let id = row[0].text { positions[id] = index + 1 }
            }
            return positions
        }
    }

    /// A task by id, or by a unique prefix of its id.
    public func findTask(_ idOrPrefix: String) throws -> TaskRecord? {
        if let exact = try task(idOrPrefix) { return exact }
        guard !idOrPrefix.isEmpty else { return nil }
        let matches = try tasks(withIDPrefix: idOrPrefix, limit: 2)
        guard matches.count == 1 else { return nil }
        return try task(matches[0].id)
    }

    /// The task's status and pause flag only (cheap; read between steps).
    public func control(_ id: String) throws -> (status: TaskStatus, pauseRequested: Bool)? {
        try read { database in
            guard let row = try database.query("SELECT status, pause_requested FROM tasks WHERE id = ?", [.text(id)]).first,
                let text = row[0].text, let status = TaskStatus(rawValue: text), let pause = row[1].integer
            else { return nil }
            return (status, pause != 0)
        }
    }

    // MARK: items, runs, events

    public func items(_ taskID: String) throws -> [ItemRecord] {
        try read { database in
            try database.query(
                """
                SELECT ordinal, item_id, path, label, vars, origin, generated_cycle, generated_step, active, status, updated_at
                FROM items WHERE task_id = ? ORDER BY ordinal
                """, [.text(taskID)]
            ).map { row in
                guard row.count == 11, let ordinal = row[0].integer, let itemID = row[1].text, let vars = row[4].text,
                    let origin = row[5].text, let active = row[8].integer, let status = row[9].text, let updated = row[10].text
                else { throw StoreError("an item row is malformed") }
                return ItemRecord(
                    ordinal: Int(ordinal), itemID: itemID, path: row[2].text, label: row[3].text, vars: try JSONParser.parse(vars),
                    origin: origin, generatedCycle: row[6].integer.map { Int($0) }, generatedStep: row[7].text, active: active != 0,
                    status: status, updatedAt: updated)
            }
        }
    }

    public func runs(_ taskID: String) throws -> [RunRecord] {
        try read { database in
            try database.query(
                """
                SELECT id, cycle, step, item, status, exit_code, success, timed_out, duration_ms, command, stdout_path,
                    stderr_path, variables, outcome, started_at, finished_at, host
                FROM runs WHERE task_id = ? ORDER BY id
                """, [.text(taskID)]
            ).map { row in
                guard row.count == 17, let id = row[0].integer, let cycle = row[1].integer, let step = row[2].text,
                    let statusText = row[4].text, let status = RunStatus(rawValue: statusText), let variables = row[12].text,
                    let outcome = row[13].text
                else { throw StoreError("a run row is malformed") }
                var record = RunRecord(
                    id: id, cycle: Int(cycle), step: step, item: row[3].text, status: status, exitCode: row[5].integer.map { Int($0) },
                    success: row[6].integer.map { $0 != 0 }, timedOut: row[7].integer.map { $0 != 0 }, durationMS: row[8].integer,
                    command: row[9].text, stdoutPath: row[10].text, stderrPath: row[11].text,
                    variables: try JSONParser.parse(variables), outcome: try JSONParser.parse(outcome), startedAt: row[14].text,
                    finishedAt: row[15].text)
                record.host = row[16].text
                return record
            }
        }
    }

    /// Events of a task in id order: of some types, after an id, the last `limit`.
    public func events(_ taskID: String, types: [EventType]?, after: Int64, limit: Int?) throws -> [EventRecord] {
        try read { database in
            var (sql, parameters) = SQLTaskStore.eventsQuery(taskID, types: types, after: after)
            if let limit {
                sql = SQLTaskStore.lastEvents(sql)
                parameters.append(.integer(Int64(limit)))
            } else {
                sql += " ORDER BY id"
            }
            return try database.query(sql, parameters).map(SQLTaskStore.decodeEvent)
        }
    }

    static let eventColumns = "id, task_id, type, cycle, step, item, timestamp, payload"

    /// The events of a task after an id, of some types (all when nil): the statement's start
    /// and its parameters, for the callers to order and bound.
    static func eventsQuery(_ taskID: String, types: [EventType]?, after: Int64) -> (sql: String, parameters: [SQLValue]) {
        var sql = "SELECT \(eventColumns) FROM events WHERE task_id = ? AND id > ?"
        var parameters: [SQLValue] = [.text(taskID), .integer(after)]
        if let types {
            sql += " AND type IN (" + types.map { _ in "?" }.joined(separator: ", ") + ")"
            parameters += types.map { .text($0.rawValue) }
        }
        return (sql, parameters)
    }

    static func decodeEvent(_ row: [SQLValue]) throws -> EventRecord {
        guard row.count == 8, let id = row[0].integer, let task = row[1].text, let typeText = row[2].text,
            let timestamp = row[6].text, let payload = row[7].text
        else { throw StoreError("an event row is malformed") }
        guard let type = EventType(rawValue: typeText) else {
            throw StoreError("event \(id) of task \(task) has the type `\(typeText)`, which this version does not know: it was written by a newer orchestrator")
        }
        return EventRecord(
            id: id, task: task, type: type, cycle: row[3].integer.map { Int($0) }, step: row[4].text, item: row[5].text,
            timestamp: timestamp, payload: try JSONParser.parse(payload))
    }

    // MARK: the daemon's queue

    public func enqueue(_ id: String) throws -> Int {
        try write { writer in try writer.enqueue(task: id) }
    }

    static func position(_ id: String, in database: any SQLConnection) throws -> Int? {
        guard let row = try database.query("SELECT queued_at FROM tasks WHERE id = ? AND queued_at IS NOT NULL", [.text(id)]).first,
            let queued = row[0].text
        else { return nil }
        let ahead = try database.query(
            """
            SELECT COUNT(*) FROM tasks WHERE queued_at IS NOT NULL AND status IN (\(TaskStatus.claimableSQL))
            AND (queued_at < ? OR (queued_at = ? AND id < ?))
            """, [.text(queued), .text(queued), .text(id)])
        return Int(ahead.first?.first?.integer ?? 0) + 1
    }

    // MARK: retention

    public func eventsRecorded(before cutoff: String, limit: Int) throws -> [EventRecord] {
        try read { database in
            try database.query(
                "SELECT \(SQLTaskStore.eventColumns) FROM events WHERE timestamp < ? ORDER BY id LIMIT ?", [.text(cutoff), .integer(Int64(limit))]
            ).map(SQLTaskStore.decodeEvent)
        }
    }

    public func deleteEvents(_ ids: [Int64]) throws -> Int {
        try sqliteWrite { writer in
            var deleted = 0
            for id in ids {
                deleted += try writer.database.query("DELETE FROM events WHERE id = ? RETURNING id", [.integer(id)]).count
            }
            return deleted
        }
    }

    public func countEvents(before cutoff: String) throws -> Int {
        try read { database in
            Int(try database.query("SELECT COUNT(*) FROM events WHERE timestamp < ?", [.text(cutoff)]).first?.first?.integer ?? 0)
        }
    }

    public func counts() throws -> [(table: String, rows: Int)] {
        try read { database in
            try ["tasks", "items", "runs", "events", "daemon_events", "workflow_store_entries", "task_spawns"].map { table in
                (table, Int(try database.query("SELECT COUNT(*) FROM \(table)").first?.first?.integer ?? 0))
            }
        }
    }

    /// Deletes a task with its items, runs and events.
    public func deleteTask(_ id: String) throws {
        try sqliteWrite { writer in
            try writer.database.run("DELETE FROM events WHERE task_id = ?", [.text(id)])
            try writer.database.run("DELETE FROM runs WHERE task_id = ?", [.text(id)])
            try writer.database.run("DELETE FROM items WHERE task_id = ?", [.text(id)])
            try writer.database.run("DELETE FROM tasks WHERE id = ?", [.text(id)])
            try writer.database.run("DELETE FROM task_spawns WHERE child_id = ?", [.text(id)])
        }
    }

    /// Pauses a task, in one transaction with the read of its status (a task that starts at the
    /// same instant is asked to pause, never marked paused while it runs).
    public func pause(_ id: String) throws -> TaskPauseOutcome {
        try sqliteWrite { writer in
            guard
                let row = try writer.database.query("SELECT status, cycle FROM tasks WHERE id = ?" + writer.database.engine.lockRows, [.text(id)]).first,
                let text = row[0].text, let status = TaskStatus(rawValue: text), let cycle = row[1].integer
            else { throw StoreError("no task \(id)") }
            switch status {
            case .running:
                try writer.setTask(id, [("pause_requested", .integer(1))])
                return .requested
            case .created, .interrupted, .restartPending:
                try writer.append(
                    NewEvent(.taskPaused, cycle: cycle > 0 ? Int(cycle) : nil, payload: .object([("cycle", .int(cycle))])), task: id)
                try writer.setTask(id, [("status", .text(TaskStatus.paused.rawValue))])
                return .paused
            case .paused:
                return .alreadyPaused
            case .completed, .failed:
                return .finished(status)
            }
        }
    }

    /// Claims a task for the runner `runner` (this process): one transaction that reads the
    /// task's status and owner and, only when the status is one of `allowed` and no live runner
    /// owns it, marks it running with this runner as owner. `then` runs in the same transaction
    /// with the task as it was (to record `task_started` or `task_resumed`), so two processes
    /// that claim at once can never both win: the loser sees the winner as the owner.
    public func claim(
        _ id: String, allowed: Set<TaskStatus>, runner: (pid: Int32, start: String?),
        then: (any TaskWriter, TaskRecord) throws -> Void
    ) throws -> TaskClaimOutcome {
        let lease = try ensureLease()
        return try sqliteWrite { writer in
            guard
                let row = try writer.database.query(
                    "SELECT \(SQLTaskStore.taskColumns) FROM tasks WHERE id = ?" + writer.database.engine.lockRows, [.text(id)]
                ).first
            else { throw StoreError("no task \(id)") }
            let task = try decodeTask(row)
            // Owned, or reserved from the queue, by another runner that lives: not ours.
            if let owner = task.runnerID, owner != lease {
                let alive = RunnerLiveness.ownerAlive(
                    pid: task.runnerPID, start: task.runnerStart, host: task.runnerHost,
                    leaseAlive: try leaseAlive(owner, in: writer.database))
                if alive { return .alreadyRunning(pid: task.runnerPID ?? 0) }
            } else if task.runnerID == nil, task.status == .running, let pid = task.runnerPID, pid != runner.pid,
                RunnerLiveness.ownerAlive(pid: pid, start: task.runnerStart, host: task.runnerHost, leaseAlive: nil)
            {
                return .alreadyRunning(pid: pid)
            }
            guard allowed.contains(task.status) || task.status == .running else { return .notRunnable(task.status) }
            if task.status == .running && !allowed.contains(.running) && task.runnerPID == runner.pid {
                return .notRunnable(task.status)
            }
            var fields: [(column: String, value: SQLValue)] = [
                ("status", .text(TaskStatus.running.rawValue)), ("runner_pid", .integer(Int64(runner.pid))),
                ("runner_start", runner.start.map { .text($0) } ?? .null), ("pause_requested", .integer(0)), ("reason", .null),
                ("queued_at", .null), ("runner_id", .text(lease)), ("runner_host", .text(RunnerHost.current)),
            ]
            if task.startedAt == nil { fields.append(("started_at", .text(StoreClock.timestamp()))) }
            try writer.setTask(id, fields)
            try then(writer, task)
            return .claimed(previous: task)
        }
    }

    // MARK: runners that died

    /// Tasks marked running whose runner process is gone (SIGKILL, power loss) become
    /// `interrupted`: their running items go back to pending, their running step runs are marked
    /// interrupted (they run again on resume). Returns the ids recovered.
    @discardableResult
    public func recoverOrphanedTasks(deadRunner: Int32?) throws -> [String] {
        let now = database.engine.nowMillisecondsSQL
        // Running tasks, and tasks a runner reserved from the queue, with their owner's lease.
        let owned = try read { database in
            try database.query(
                """
                SELECT t.id, t.status, t.runner_pid, t.runner_start, t.runner_host, t.runner_id,
                    CASE WHEN r.id IS NULL THEN NULL WHEN r.lease_expires_at > \(now) THEN 1 ELSE 0 END, r.kind
                FROM tasks t LEFT JOIN runners r ON r.id = t.runner_id WHERE t.status = 'running'
                UNION
                SELECT t.id, t.status, t.runner_pid, t.runner_start, t.runner_host, t.runner_id,
                    CASE WHEN r.id IS NULL THEN NULL WHEN r.lease_expires_at > \(now) THEN 1 ELSE 0 END, r.kind
                FROM tasks t LEFT JOIN runners r ON r.id = t.runner_id WHERE t.runner_id IS NOT NULL
                """, [])
        }
        let myLease = heldLease.withLock { $0.map { (id: $0.id, kind: $0.request.kind) } }
        var recovered: [String] = []
        for row in owned {
            guard row.count == 8, let id = row[0].text, let statusText = row[1].text else { continue }
            // On a shared store a daemon's tasks are taken back by a daemon, which queues them
            // again for every daemon; another process would leave them interrupted, off the queue.
            if database.engine == .postgres, row[7].text == RunnerKind.daemon.rawValue, myLease?.kind != .daemon { continue }
            let pid = row[2].integer.map { Int32(truncatingIfNeeded: $0) }
            let host = row[4].text
            let owner = row[5].text
            if let owner, owner == myLease?.id, pid != deadRunner { continue }
            let leaseAlive = owner == nil ? nil : row[6].integer.map { $0 != 0 } ?? false
            if RunnerLiveness.ownerAlive(pid: pid, start: row[3].text, host: host, leaseAlive: leaseAlive, deadRunner: deadRunner) { continue }
            // The same owner still, when the rows are changed: another process may have taken
            // the task back (and someone may run it) since it was read.
            let sameOwner = owner == nil ? "runner_id IS NULL" : "runner_id = ?"
            let ownerParameter: [SQLValue] = owner.map { [.text($0)] } ?? []
            guard statusText == TaskStatus.running.rawValue else {
                // Only reserved: back to the queue for any runner.
                try lockedWrite { database in
                    try database.run(
                        "UPDATE tasks SET runner_id = NULL, runner_host = NULL WHERE id = ? AND status <> 'running' AND \(sameOwner)",
                        [.text(id)] + ownerParameter)
                }
                continue
            }
            // The dead runner's steps may still be running in their own process groups: end them
            // (on this host; another host's are out of reach: docs/scale-out.md, the window),
            // so a resumed task never has two copies of a step at work in one workspace.
            if host == nil || host == RunnerHost.current {
                let leftovers = try read { database in
                    try database.query("SELECT pid, pid_start FROM runs WHERE task_id = ? AND status = 'running' AND pid IS NOT NULL", [.text(id)])
                }
                for leftover in leftovers {
                    guard let raw = leftover[0].integer else { continue }
                    RunnerIdentity.endProcessGroup(Int32(truncatingIfNeeded: raw), start: leftover[1].text)
                }
            }
            let byLease = !(host == nil || host == RunnerHost.current)
            let taken = try sqliteWrite { writer -> Bool in
                // A silent runner's transaction in flight holds its row (`fence`): the takeover
                // does not wait for it (the server ends such a session once it has been idle
                // for the lease, `holdLease`); it tries again at the next round.
                if byLease, let owner {
                    do {
                        try writer.database.run(
                            "SELECT id FROM runners WHERE id = ?" + writer.database.engine.lockRows
                                + (writer.database.engine == .postgres ? " NOWAIT" : ""), [.text(owner)])
                    } catch let error as StoreError where error.sqlState == "55P03" {
                        return false
                    }
                }
                let now = StoreClock.timestamp()
                let reason =
                    byLease
                    ? "its runner on \(host ?? "another host") stopped renewing its lease (killed, or the machine was lost)"
                    : "the runner stopped without finishing (killed or crashed)"
                let changed = try writer.database.query(
                    """
                    UPDATE tasks SET status = 'interrupted', runner_pid = NULL, runner_id = NULL, runner_host = NULL, updated_at = ?,
                        reason = ? WHERE id = ? AND status = 'running' AND \(sameOwner) RETURNING cycle
                    """, [.text(now), .text(reason), .text(id)] + ownerParameter)
                guard let cycle = changed.first?.first?.integer else { return false }
                try writer.database.run(
                    "UPDATE items SET status = 'pending', updated_at = ? WHERE task_id = ? AND status = 'running'", [.text(now), .text(id)])
                try writer.database.run(
                    "UPDATE runs SET status = 'interrupted', finished_at = ? WHERE task_id = ? AND status = 'running'",
                    [.text(now), .text(id)])
                if byLease {
                    try writer.append(
                        NewEvent(
                            .leaseLost, cycle: cycle > 0 ? Int(cycle) : nil,
                            payload: .object([
                                ("runner", owner.map { .string($0) } ?? .null), ("host", host.map { .string($0) } ?? .null),
                                ("pid", pid.map { .int(Int64($0)) } ?? .null),
                            ])), task: id)
                }
                return true
            }
            if taken { recovered.append(id) }
        }
        return recovered
    }
}

/// Writes inside one transaction (see `SQLTaskStore.write`).
struct SQLTaskWriter: TaskWriter {
    let database: any SQLConnection
    let cipher: SecretCipher

    init(database: any SQLConnection, cipher: SecretCipher) {
        self.database = database
        self.cipher = cipher
    }

    /// Appends an event; returns its id.
    @discardableResult
    public func append(_ event: NewEvent, task: String) throws -> Int64 {
        try database.serialiseAppends()
        return try database.insertReturningID(
            "INSERT INTO events (task_id, type, cycle, step, item, timestamp, payload) VALUES (?, ?, ?, ?, ?, ?, ?)", idColumn: "id",
            [
                .text(task), .text(event.type.rawValue), event.cycle.map { .integer(Int64($0)) } ?? .null,
                event.step.map { .text($0) } ?? .null, event.item.map { .text($0) } ?? .null, .text(StoreClock.timestamp()),
                .text(JSONWriter().string(event.payload)),
            ])
    }

    public func insertTask(_ task: TaskRecord) throws {
        try database.run(
            """
            INSERT INTO tasks (id, name, project, workflow, workspace, goal, status, graph_hash, snapshot, options, cycle,
                finalized_cycle, consecutive_failures, pause_requested, created_at, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0, 0, 0, ?, ?)
            """,
            [
                .text(task.id), .text(task.name), .text(task.project), .text(task.workflow), .text(task.workspace),
                .text(task.goal), .text(task.status.rawValue), .text(task.graphHash), .text(JSONWriter().string(task.snapshot)),
                .text(JSONWriter().string(task.options.json(variables: try cipher.sealVariables(task.options.variables)))),
                .text(task.createdAt), .text(task.updatedAt),
            ])
    }

    public func insertItem(_ item: ItemRecord, task: String) throws {
        try database.run(
            """
            INSERT INTO items (task_id, ordinal, item_id, path, label, vars, origin, generated_cycle, generated_step, active,
                status, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                .text(task), .integer(Int64(item.ordinal)), .text(item.itemID), item.path.map { .text($0) } ?? .null,
                item.label.map { .text($0) } ?? .null, .text(JSONWriter().string(item.vars)), .text(item.origin),
                item.generatedCycle.map { .integer(Int64($0)) } ?? .null, item.generatedStep.map { .text($0) } ?? .null,
                .integer(item.active ? 1 : 0), .text(item.status), .text(StoreClock.timestamp()),
            ])
    }

    public func setItemStatus(_ itemID: String, status: String, task: String) throws {
        try database.run(
            "UPDATE items SET status = ?, updated_at = ? WHERE task_id = ? AND item_id = ?",
            [.text(status), .text(StoreClock.timestamp()), .text(task), .text(itemID)])
    }

    public func deactivateItems(except keep: Set<String>, task: String) throws {
        try database.run(
            "UPDATE items SET active = 0, updated_at = ? WHERE task_id = ? AND active = 1",
            [.text(StoreClock.timestamp()), .text(task)])
        for id in keep {
            try database.run("UPDATE items SET active = 1 WHERE task_id = ? AND item_id = ?", [.text(task), .text(id)])
        }
    }

    // MARK: named task operations (the runner and the CLI never name a column)

    /// A new cycle starts: the task's cycle and its count of consecutive failed cycles.
    public func startCycle(task id: String, cycle: Int, consecutiveFailures: Int) throws {
        try setTask(id, [("cycle", .integer(Int64(cycle))), ("consecutive_failures", .integer(Int64(consecutiveFailures)))])
    }

    /// Every item of `cycle` was finalized (a resume does not finalize it again).
    public func finalizeCycle(task id: String, cycle: Int) throws {
        try setTask(id, [("finalized_cycle", .integer(Int64(cycle)))])
    }

    /// The task adopts the workflow applied now (drift policy `adopt`).
    public func adoptWorkflow(task id: String, graphHash: String, snapshot: JSONValue) throws {
        try setTask(id, [("graph_hash", .text(graphHash)), ("snapshot", .text(JSONWriter().string(snapshot)))])
    }

    /// The task ends (`completed` or `failed`) with its reason; items left running go back to
    /// pending.
    public func finish(task id: String, status: TaskStatus, reason: String, consecutiveFailures: Int?) throws {
        var fields: [(column: String, value: SQLValue)] = [
            ("status", .text(status.rawValue)), ("reason", .text(reason)), ("finished_at", .text(StoreClock.timestamp())),
            ("runner_pid", .null), ("runner_id", .null), ("runner_host", .null),
        ]
        if let consecutiveFailures { fields.append(("consecutive_failures", .integer(Int64(consecutiveFailures)))) }
        try setTask(id, fields)
        try releaseRunningItems(task: id)
    }

    /// The runner stops at a step boundary and leaves the task paused (resumable); items left
    /// running go back to pending.
    public func pause(task id: String, reason: String?) throws {
        try stopAtBoundary(task: id, status: .paused, reason: reason)
    }

    public func interrupt(task id: String, reason: String) throws {
        try stopAtBoundary(task: id, status: .interrupted, reason: reason)
        try database.run(
            "UPDATE runs SET status = 'interrupted', finished_at = ? WHERE task_id = ? AND status = 'running'",
            [.text(StoreClock.timestamp()), .text(id)])
    }

    public func awaitRestart(task id: String, reason: String) throws {
        try stopAtBoundary(task: id, status: .restartPending, reason: reason)
    }

    private func stopAtBoundary(task id: String, status: TaskStatus, reason: String?) throws {
        try setTask(
            id,
            [
                ("status", .text(status.rawValue)), ("pause_requested", .integer(0)), ("runner_pid", .null),
                ("runner_id", .null), ("runner_host", .null), ("reason", reason.map { .text($0) } ?? .null),
            ])
        try releaseRunningItems(task: id)
    }

    /// A run ended by an interruption of its runner: no result, it runs again on resume.
    public func markRunInterrupted(_ runID: Int64) throws {
        try database.run(
            "UPDATE runs SET status = 'interrupted', finished_at = ? WHERE id = ?", [.text(StoreClock.timestamp()), .integer(runID)])
    }

    private func releaseRunningItems(task id: String) throws {
        try database.run(
            "UPDATE items SET status = 'pending', updated_at = ? WHERE task_id = ? AND status = 'running'",
            [.text(StoreClock.timestamp()), .text(id)])
    }

    /// Sets task columns (`status`, `cycle`, ...), and `updated_at`. Private to the store: callers
    /// use the named operations above.
    func setTask(_ id: String, _ fields: [(column: String, value: SQLValue)]) throws {
        var assignments = fields.map { "\($0.column) = ?" }
        assignments.append("updated_at = ?")
        try database.run(
            "UPDATE tasks SET " + assignments.joined(separator: ", ") + " WHERE id = ?",
            fields.map(\.value) + [.text(StoreClock.timestamp()), .text(id)])
    }

    /// Records a run that starts now; returns its id.
    public func startRun(task: String, cycle: Int, step: String, item: String?, command: String?, stdout: String?, stderr: String?)
        throws -> Int64
    {
        try database.insertReturningID(
            """
            INSERT INTO runs (task_id, cycle, step, item, status, command, stdout_path, stderr_path, started_at, host)
            VALUES (?, ?, ?, ?, 'running', ?, ?, ?, ?, ?)
            """, idColumn: "id",
            [
                .text(task), .integer(Int64(cycle)), .text(step), item.map { .text($0) } ?? .null, command.map { .text($0) } ?? .null,
                stdout.map { .text($0) } ?? .null, stderr.map { .text($0) } ?? .null, .text(StoreClock.timestamp()),
                .text(RunnerHost.current),
            ])
    }

    /// Records the process a run started (its pid and start time), so recovery can end it.
    public func recordProcess(run id: Int64, pid: Int32) throws {
        try database.run(
            "UPDATE runs SET pid = ?, pid_start = ? WHERE id = ?",
            [.integer(Int64(pid)), RunnerIdentity.startTime(of: pid).map { .text($0) } ?? .null, .integer(id)])
    }

    public func finishRun(
        _ id: Int64, exitCode: Int, success: Bool, timedOut: Bool, durationMS: Int64, variables: JSONValue, outcome: JSONValue
    ) throws {
        try database.run(
            """
            UPDATE runs SET status = 'finished', exit_code = ?, success = ?, timed_out = ?, duration_ms = ?, variables = ?,
                outcome = ?, finished_at = ? WHERE id = ?
            """,
            [
                .integer(Int64(exitCode)), .integer(success ? 1 : 0), .integer(timedOut ? 1 : 0), .integer(durationMS),
                .text(JSONWriter().string(variables)), .text(JSONWriter().string(outcome)), .text(StoreClock.timestamp()),
                .integer(id),
            ])
    }

    /// Records a decision not to run a step (so a resume does not decide it again).
    public func skipRun(task: String, cycle: Int, step: String, item: String?, outcome: JSONValue) throws {
        let now = StoreClock.timestamp()
        try database.run(
            """
            INSERT INTO runs (task_id, cycle, step, item, status, outcome, started_at, finished_at)
            VALUES (?, ?, ?, ?, 'skipped', ?, ?, ?)
            """,
            [
                .text(task), .integer(Int64(cycle)), .text(step), item.map { .text($0) } ?? .null,
                .text(JSONWriter().string(outcome)), .text(now), .text(now),
            ])
    }
}

/// Which process runs a task, robust against pid reuse (the start time from /proc).
public enum RunnerIdentity {
    /// The start time (clock ticks since boot, field 22 of /proc/PID/stat) of a process.
    public static func startTime(of pid: Int32) -> String? {
        // Read on every step's start (the run row keeps it): bytes, not strings.
        guard let bytes = readFileBytes("/proc/\(pid)/stat", limit: 4096),
            let close = bytes.lastIndex(of: UInt8(ascii: ")"))
        else { return nil }
        // After the command: state is field 3, so field 22 is the 20th field after the ')'.
        var field = 0
        var start = close + 1
        var index = close + 1
        while index <= bytes.count {
            if index == bytes.count || bytes[index] == UInt8(ascii: " ") {
                if index > start {
                    if field == 19 { return String(decoding: bytes[start..<index], as: UTF8.self) }
                    field += 1
                }
                start = index + 1
            }
            index += 1
        }
        return nil
    }

    public static var current: (pid: Int32, start: String?) {
        let pid = getpid()
        return (pid, startTime(of: pid))
    }

    public static func isAlive(pid: Int32, start: String?) -> Bool {
        guard kill(pid, 0) == 0 || errno == EPERM else { return false }
        guard let actual = startTime(of: pid) else { return false }
        if let start { return actual == start }
        return true
    }

    /// Ends the process group a step process leads, when that process is still the one recorded
    /// (same pid and start time; without a recorded start time nothing is killed): SIGTERM to
    /// the group, then SIGKILL after a grace period of up to 2 s.
    public static func endProcessGroup(_ pid: Int32, start: String?) {
        guard pid > 1, start != nil, isAlive(pid: pid, start: start) else { return }
        kill(-pid, SIGTERM)
        for _ in 0..<100 {
            if !isAlive(pid: pid, start: start) || zombie(pid) { break }
            usleep(20_000)
        }
        kill(-pid, SIGKILL)
    }

    /// True when `pid` has exited but not been reaped (its parent, the dead runner, is gone; init
    /// reaps it soon).
    static func zombie(_ pid: Int32) -> Bool {
        guard let bytes = readFileBytes("/proc/\(pid)/stat", limit: 4096),
            let close = bytes.lastIndex(of: UInt8(ascii: ")")), close + 2 < bytes.count
        else { return false }
        return bytes[close + 2] == UInt8(ascii: "Z")
    }
}
