import JSON

/// An event of the daemon itself (no task): a start, a restart in place, a drain, a refused peer.
public struct DaemonEventRecord: Sendable {
    public var id: Int64
    public var type: EventType
    public var incarnation: Int64?
    public var timestamp: String
    public var payload: JSONValue

    public init(id: Int64, type: EventType, incarnation: Int64?, timestamp: String, payload: JSONValue) {
        self.id = id
        self.type = type
        self.incarnation = incarnation
        self.timestamp = timestamp
        self.payload = payload
    }

    /// `event list --daemon -o json`.
    public var json: JSONValue {
        .object([
            ("id", .int(id)), ("type", .string(type.rawValue)), ("incarnation", incarnation.map { .int($0) } ?? .null),
            ("timestamp", .string(timestamp)), ("payload", payload),
        ])
    }
}

extension SQLTaskStore {
    public func beginIncarnation(pid: Int32, buildID: String?, previousBuildID: String?) throws -> Int64 {
        try write { _ in
            try database.insertReturningID(
                "INSERT INTO daemon_incarnations (pid, started_at, build_id, previous_build_id) VALUES (?, ?, ?, ?)", idColumn: "incarnation",
                [.integer(Int64(pid)), .text(StoreClock.timestamp()), buildID.map { .text($0) } ?? .null, previousBuildID.map { .text($0) } ?? .null])
        }
    }

    @discardableResult
    public func appendDaemonEvent(_ type: EventType, incarnation: Int64?, payload: JSONValue) throws -> Int64 {
        try write { writer in try writer.appendDaemonEvent(type, incarnation: incarnation, payload: payload) }
    }

    public func daemonEvents(after: Int64, limit: Int?) throws -> [DaemonEventRecord] {
        let rows = try read { database in
            if let limit {
                return try database.query(
                    """
                    SELECT id, type, incarnation, timestamp, payload FROM
                    (SELECT * FROM daemon_events WHERE id > ? ORDER BY id DESC LIMIT ?) AS page ORDER BY id
                    """, [.integer(after), .integer(Int64(max(0, limit)))])
            }
            return try database.query(
                "SELECT id, type, incarnation, timestamp, payload FROM daemon_events WHERE id > ? ORDER BY id", [.integer(after)])
        }
        return try rows.map { row in
            guard row.count == 5, let id = row[0].integer, let text = row[1].text, let timestamp = row[3].text, let payload = row[4].text
            else { throw StoreError("a daemon event row is malformed") }
            guard let type = EventType(rawValue: text) else {
                throw StoreError("daemon event \(id) has the type `\(text)`, which this version does not know: it was written by a newer orchestrator")
            }
            return DaemonEventRecord(id: id, type: type, incarnation: row[2].integer, timestamp: timestamp, payload: try JSONParser.parse(payload))
        }
    }

    public func tasksAwaitingRestart() throws -> [TaskRecord] {
        try read { database in
            try database.query(
                "SELECT \(SQLTaskStore.taskColumns) FROM tasks WHERE status = ? ORDER BY created_at, id", [.text(TaskStatus.restartPending.rawValue)]
            ).map(decodeTask)
        }
    }
}
