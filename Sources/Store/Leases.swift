import Hashing
import JSON
import Platform

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Runners and their leases (docs/scale-out.md, Schema migration 9). A process that claims tasks
// (a daemon, or a foreground `task start` on a shared store) registers as a runner and renews a
// lease while it lives: one heartbeat per runner renews the claim on every task it owns. Whether
// a task's owner is gone is decided by one rule, `RunnerLiveness`: an owner on this host by its
// pid and start time (exact, at once), an owner on another host by its lease (expired on the
// database's clock). The store takes a dead owner's tasks back (`recoverOrphanedTasks`); a
// daemon re-queues them.

/// What kind of process a runner is.
public enum RunnerKind: String, Sendable {
    /// `orchestratord`: takes tasks from the queue.
    case daemon
    /// `orchestrator task start|resume|run` in the foreground: runs the one task it claimed.
    case foreground
}

/// What a runner registers with.
public struct LeaseRequest: Sendable {
    public var kind: RunnerKind
    /// The data directory it keeps logs in (on its host).
    public var dataDirectory: String
    /// Workspaces it serves (`--serve-workspace`); empty: every workspace.
    public var workspaces: [String]
    /// Its labels (`--label k=v`); a task with `--runs-on k=v` needs each of them.
    public var labels: [(name: String, value: String)]
    /// How long the lease lasts without a heartbeat; renewed every third of it.
    public var leaseSeconds: Double

    public init(
        kind: RunnerKind, dataDirectory: String, workspaces: [String] = [], labels: [(name: String, value: String)] = [],
        leaseSeconds: Double = LeaseRequest.defaultLeaseSeconds
    ) {
        self.kind = kind
        self.dataDirectory = dataDirectory
        self.workspaces = workspaces
        self.labels = labels
        self.leaseSeconds = leaseSeconds
    }

    /// `--lease-timeout`'s default.
    public static let defaultLeaseSeconds: Double = 30

    /// True when a task with these `runsOn` labels may run here.
    public func serves(workspace: String, runsOn: [(name: String, value: String)]) -> Bool {
        guard workspaces.isEmpty || workspaces.contains(workspace) else { return false }
        return runsOn.allSatisfy { wanted in labels.contains { $0.name == wanted.name && $0.value == wanted.value } }
    }
}

/// A runner as the store knows it.
public struct RunnerRecord: Sendable {
    public var id: String
    public var host: String
    public var pid: Int32
    public var kind: RunnerKind
    public var dataDirectory: String
    public var workspaces: [String]
    public var labels: [(name: String, value: String)]
    public var startedAt: String
    /// Milliseconds since the last heartbeat, on the database's clock.
    public var heartbeatAgeMilliseconds: Int64
    /// True while its lease has not expired (on the database's clock).
    public var leaseAlive: Bool
}

/// This machine's name for runners: `$ORCHESTRATOR_RUNNER_HOST` (for machines or containers
/// whose host names are not unique), else the host name.
public enum RunnerHost {
    public static let current: String = {
        if let chosen = getenv("ORCHESTRATOR_RUNNER_HOST").map({ String(cString: $0) }), !chosen.isEmpty { return chosen }
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }()
}

/// The one rule that decides whether a task's owner is gone (claims, recovery, `task info`).
public enum RunnerLiveness {
    /// `host`: the owner's host (nil: recorded before scale-out, i.e. this host); `leaseAlive`:
    /// whether the owner's lease holds (nil: the owner holds none). `deadRunner`: a pid of this
    /// host to take for gone although it lives (a daemon re-executed in place).
    public static func ownerAlive(pid: Int32?, start: String?, host: String?, leaseAlive: Bool?, deadRunner: Int32? = nil) -> Bool {
        if host == nil || host == RunnerHost.current {
            guard let pid else { return leaseAlive ?? false }
            if pid == deadRunner { return false }
            return RunnerIdentity.isAlive(pid: pid, start: start)
        }
        return leaseAlive ?? false
    }
}

extension StoreEngine {
    /// Now, in milliseconds since the epoch, on the database's clock (leases are compared with
    /// it, so the machines' clocks never have to agree).
    var nowMillisecondsSQL: String {
        switch self {
        case .sqlite: return "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)"
        case .postgres: return "CAST(floor(extract(epoch FROM clock_timestamp()) * 1000) AS BIGINT)"
        }
    }
}

/// The lease this store's process holds, and the thread that renews it.
final class HeldLease: @unchecked Sendable {
    let id: String
    let request: LeaseRequest
    let stopped = Locked(false)
    var thread: JoinableThread?

    init(id: String, request: LeaseRequest) {
        self.id = id
        self.request = request
    }
}

extension SQLTaskStore {
    /// Registers this process as a runner and keeps its lease renewed from a thread of its own
    /// until `releaseLease` (or the process ends). `onLost` runs once when a renewal finds the
    /// lease expired (the process was stopped or cut off longer than the lease: other daemons
    /// may have taken its tasks); the caller stops its tasks. Returns the runner id.
    @discardableResult
    public func holdLease(_ request: LeaseRequest, onLost: @escaping @Sendable () -> Void = {}) throws -> String {
        if let held = heldLease.withLock({ $0 }) { return held.id }
        let id = Hex.encode((0..<12).map { _ in UInt8.random(in: 0...255) })
        let me = RunnerIdentity.current
        let now = database.engine.nowMillisecondsSQL
        if database.engine == .postgres {
            // A transaction of this process left open (the process stopped mid-way) must not
            // hold its rows past its lease: the server ends the session then.
            try lockedWrite { database in
                try (database as? PostgresConnection)?.setSession(
                    "SET idle_in_transaction_session_timeout = \(Int64(request.leaseSeconds * 1000))")
                // Named, so an operator (and a test) can tell its sessions apart.
                try (database as? PostgresConnection)?.setSession("SET application_name = 'orchestrator runner \(id)'")
            }
        }
        try lockedWrite { database in
            // Runners gone for a day are forgotten (their tasks were taken back long ago).
            try database.run("DELETE FROM runners WHERE lease_expires_at < \(now) - 86400000", [])
            try database.run(
                """
                INSERT INTO runners (id, host, pid, pid_start, data_directory, kind, workspaces, labels, started_at, heartbeat_at,
                    lease_expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, \(now), \(now) + ?)
                """,
                [
                    .text(id), .text(RunnerHost.current), .integer(Int64(me.pid)), me.start.map { .text($0) } ?? .null,
                    .text(request.dataDirectory), .text(request.kind.rawValue),
                    .text(JSONWriter().string(.array(request.workspaces.map { .string($0) }))),
                    .text(JSONWriter().string(.object(request.labels.map { ($0.name, .string($0.value)) }))),
                    .text(StoreClock.timestamp()), .integer(Int64(request.leaseSeconds * 1000)),
                ])
        }
        let held = HeldLease(id: id, request: request)
        heldLease.withLock { $0 = held }
        held.thread = Threads.start(joinable: true) { [weak self] in
            let interval = max(0.05, request.leaseSeconds / 3)
            while true {
                // Sleep in short slices so a release ends the thread at once.
                let until = monotonicMilliseconds() + Int64(interval * 1000)
                while monotonicMilliseconds() < until {
                    if held.stopped.withLock({ $0 }) { return }
                    usleep(20_000)
                }
                guard let self, !held.stopped.withLock({ $0 }) else { return }
                do {
                    if try !self.renewLease(held) {
                        onLost()
                        return
                    }
                } catch {
                    // A failed renewal (the database unreachable for a moment) is tried again at
                    // the next beat; the lease lasts three beats.
                    continue
                }
            }
        }
        return id
    }

    /// The runner id of the lease this store holds, registering a foreground runner's lease
    /// when it holds none (a claim always names its owner's lease).
    func ensureLease() throws -> String {
        if let held = heldLease.withLock({ $0 }) { return held.id }
        return try holdLease(LeaseRequest(kind: .foreground, dataDirectory: dataDirectory))
    }

    /// Renews the lease; false when it had expired (or its row is gone).
    private func renewLease(_ held: HeldLease) throws -> Bool {
        let now = database.engine.nowMillisecondsSQL
        return try lockedWrite { database in
            !(try database.query(
                "UPDATE runners SET heartbeat_at = \(now), lease_expires_at = \(now) + ? WHERE id = ? AND lease_expires_at > \(now) RETURNING id",
                [.integer(Int64(held.request.leaseSeconds * 1000)), .text(held.id)]
            ).isEmpty)
        }
    }

    /// Ends the lease: the heartbeat thread stops and the runner's row is removed (its tasks
    /// must have been handed back first: paused, queued or finished).
    public func releaseLease() {
        guard let held = heldLease.withLock({ current -> HeldLease? in
            defer { current = nil }
            return current
        }) else { return }
        held.stopped.withLock { $0 = true }
        held.thread?.join()
        _ = try? lockedWrite { database in
            try database.run("UPDATE tasks SET runner_id = NULL, runner_host = NULL WHERE runner_id = ? AND status <> 'running'", [.text(held.id)])
            try database.run("DELETE FROM runners WHERE id = ?", [.text(held.id)])
        }
    }

    /// Every registered runner, oldest first.
    public func runners() throws -> [RunnerRecord] {
        let now = database.engine.nowMillisecondsSQL
        return try read { database in
            try database.query(
                """
                SELECT id, host, pid, kind, data_directory, workspaces, labels, started_at, \(now) - heartbeat_at,
                    CASE WHEN lease_expires_at > \(now) THEN 1 ELSE 0 END
                FROM runners ORDER BY started_at, id
                """, []
            ).map { row in
                guard row.count == 10, let id = row[0].text, let host = row[1].text, let pid = row[2].integer,
                    let kindText = row[3].text, let kind = RunnerKind(rawValue: kindText), let data = row[4].text,
                    let workspaces = row[5].text, let labels = row[6].text, let started = row[7].text,
                    let age = row[8].integer, let alive = row[9].integer
                else { throw StoreError("a runner row is malformed") }
                var pairs: [(name: String, value: String)] = []
                if case .object(let fields) = try JSONParser.parse(labels) { pairs = fields.map { ($0.key, $0.value.stringValue ?? "") } }
                return RunnerRecord(
                    id: id, host: host, pid: Int32(truncatingIfNeeded: pid), kind: kind, dataDirectory: data,
                    workspaces: try JSONParser.parse(workspaces).arrayValue?.compactMap(\.stringValue) ?? [], labels: pairs,
                    startedAt: started, heartbeatAgeMilliseconds: age, leaseAlive: alive != 0)
            }
        }
    }

    /// The daemon's queue: takes the oldest queued task this store's runner may run (its
    /// workspace served, its `runs_on` labels held) and reserves it for that runner, in one
    /// transaction; other daemons pass over the rows it looks at (`FOR UPDATE SKIP LOCKED`) and
    /// never see it again while the reservation holds. Nil when none waits.
    public func reserveNextQueued(excluding: Set<String>) throws -> TaskRecord? {
        guard let held = heldLease.withLock({ $0 }) else { throw StoreError("the queue is read by a runner that holds a lease (holdLease)") }
        let request = held.request
        var sql = """
            SELECT id, workspace, options FROM tasks
            WHERE queued_at IS NOT NULL AND status IN (\(TaskStatus.claimableSQL)) AND (runner_id IS NULL OR runner_id = ?)
            """
        var parameters: [SQLValue] = [.text(held.id)]
        if !request.workspaces.isEmpty {
            sql += " AND workspace IN (" + request.workspaces.map { _ in "?" }.joined(separator: ", ") + ")"
            parameters += request.workspaces.map { .text($0) }
        }
        let left = excluding.sorted()
        if !left.isEmpty {
            sql += " AND id NOT IN (" + left.map { _ in "?" }.joined(separator: ", ") + ")"
            parameters += left.map { .text($0) }
        }
        // A few at once: the first whose labels this runner holds is taken.
        sql += " ORDER BY queued_at, id LIMIT 16" + database.engine.lockRowsSkippingLocked
        let reserved: String? = try lockedWrite { database in
            try SQLTaskStore.fence(held.id, in: database)
            for row in try database.query(sql, parameters) {
                guard let id = row[0].text, let workspace = row[1].text, let options = row[2].text else { continue }
                let runsOn = TaskOptions(json: (try? JSONParser.parse(options)) ?? .null).runsOn
                guard request.serves(workspace: workspace, runsOn: runsOn) else { continue }
                try database.run("UPDATE tasks SET runner_id = ?, runner_host = ? WHERE id = ?", [.text(held.id), .text(RunnerHost.current), .text(id)])
                return id
            }
            return nil
        }
        guard let reserved else { return nil }
        do {
            guard let record = try task(reserved) else { throw StoreError("task \(reserved) was deleted as it was taken from the queue") }
            return record
        } catch {
            // Unreadable here (its variables sealed with a key this machine's key file lacks):
            // back to the queue for a runner that can read it, never held by this one.
            try? releaseReservation(reserved)
            throw error
        }
    }

    /// Hands a reservation back to the queue (the task could not start here).
    public func releaseReservation(_ id: String) throws {
        guard let held = heldLease.withLock({ $0 }) else { return }
        try lockedWrite { database in
            try database.run(
                "UPDATE tasks SET runner_id = NULL, runner_host = NULL WHERE id = ? AND runner_id = ? AND status <> 'running'",
                [.text(id), .text(held.id)])
        }
    }

    /// The fence of a shared store: every write transaction of a runner that holds a lease
    /// begins by reading its own runner row with a share lock, and fails when the lease has
    /// expired. A daemon taking the runner's tasks back locks that row first, so it waits for
    /// a transaction in flight, and every later one of the silent runner fails here: nothing it
    /// writes (a step it believes finished, an event) lands after its tasks changed hands.
    /// SQLite needs none: one machine, where a runner is known dead by its pid.
    static func fence(_ runner: String, in database: any SQLConnection) throws {
        guard let postgres = database as? PostgresConnection else { return }
        let now = database.engine.nowMillisecondsSQL
        // With the lock of the event appends (nearly every write appends one): one round trip.
        let held = try postgres.lockAppends(
            with: ("id FROM runners WHERE id = ? AND lease_expires_at > \(now) FOR SHARE", [.text(runner)]))
        guard !held.isEmpty else {
            throw StoreError(
                "this runner's lease on the store has expired (the process was stopped or cut off for longer than its lease): another daemon may have taken its tasks, so nothing more is written")
        }
    }

    /// Whether the lease of runner `id` holds (nil: no such runner).
    func leaseAlive(_ id: String, in database: any SQLConnection) throws -> Bool? {
        let now = database.engine.nowMillisecondsSQL
        return try database.query("SELECT CASE WHEN lease_expires_at > \(now) THEN 1 ELSE 0 END FROM runners WHERE id = ?", [.text(id)])
            .first?.first?.integer.map { $0 != 0 }
    }
}
