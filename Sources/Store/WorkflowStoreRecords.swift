import JSON

// Workflow stores and spawned tasks in the store (migration 8, docs/stores.md): the entries of
// WorkflowStores with the built-in provider, kept across tasks per project with a version per
// key, and the link of a spawned task to its parent.

/// A key of a WorkflowStore in a project.
public struct StoreEntryKey: Sendable, Hashable, CustomStringConvertible {
    public var project: String
    public var store: String
    public var key: String

    public init(project: String, store: String, key: String) {
        self.project = project
        self.store = store
        self.key = key
    }

    public var description: String { "\(store)/\(key) (project \(project))" }
}

/// One entry as the built-in provider keeps it.
public struct WorkflowStoreEntry: Sendable, Equatable {
    public var key: StoreEntryKey
    public var value: JSONValue
    /// 1 when first written, +1 per write.
    public var version: Int
    /// The task and step that wrote it last (nil: the command line).
    public var taskID: String?
    public var step: String?
    public var createdAt: String
    public var updatedAt: String

    public init(key: StoreEntryKey, value: JSONValue, version: Int, taskID: String?, step: String?, createdAt: String, updatedAt: String) {
        self.key = key
        self.value = value
        self.version = version
        self.taskID = taskID
        self.step = step
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    public var json: JSONValue {
        .object([
            ("project", .string(key.project)), ("store", .string(key.store)), ("key", .string(key.key)), ("value", value),
            ("version", .int(Int64(version))), ("task_id", taskID.map { .string($0) } ?? .null), ("step", step.map { .string($0) } ?? .null),
            ("created_at", .string(createdAt)), ("updated_at", .string(updatedAt)),
        ])
    }
}

/// Where a spawned task comes from.
public struct TaskLineage: Sendable, Equatable {
    public var child: String
    public var parent: String
    /// 1: spawned by a task nobody spawned.
    public var depth: Int
    public var spawnKey: String
    public var spawnedAt: String
}

extension SQLTaskStore {
    static let entryColumns = "project, store, key, value, version, task_id, step, created_at, updated_at"

    static func decodeEntry(_ row: [SQLValue]) throws -> WorkflowStoreEntry {
        guard row.count == 9, let project = row[0].text, let store = row[1].text, let key = row[2].text, let text = row[3].text,
            let version = row[4].integer, let created = row[7].text, let updated = row[8].text
        else { throw StoreError("a workflow store entry row is malformed") }
        let value = (try? JSONParser.parse(text)) ?? .string(text)
        return WorkflowStoreEntry(
            key: StoreEntryKey(project: project, store: store, key: key), value: value, version: Int(version), taskID: row[5].text,
            step: row[6].text, createdAt: created, updatedAt: updated)
    }

    public func storeEntry(_ key: StoreEntryKey) throws -> WorkflowStoreEntry? {
        try read { database in
            try database.query(
                "SELECT \(SQLTaskStore.entryColumns) FROM workflow_store_entries WHERE project = ? AND store = ? AND key = ?",
                [.text(key.project), .text(key.store), .text(key.key)]
            ).first.map(SQLTaskStore.decodeEntry)
        }
    }

    public func storeEntries(project: String, store: String) throws -> [WorkflowStoreEntry] {
        try read { database in
            try database.query(
                "SELECT \(SQLTaskStore.entryColumns) FROM workflow_store_entries WHERE project = ? AND store = ? ORDER BY key",
                [.text(project), .text(store)]
            ).map(SQLTaskStore.decodeEntry)
        }
    }

    static let lineageColumns = "child_id, parent_id, depth, spawn_key, spawned_at"

    static func decodeLineage(_ row: [SQLValue]) -> TaskLineage? {
        guard row.count == 5, let child = row[0].text, let parent = row[1].text, let depth = row[2].integer, let key = row[3].text,
            let at = row[4].text
        else { return nil }
        return TaskLineage(child: child, parent: parent, depth: Int(depth), spawnKey: key, spawnedAt: at)
    }

    public func lineage(of taskID: String) throws -> TaskLineage? {
        try read { database in
            try database.query("SELECT \(SQLTaskStore.lineageColumns) FROM task_spawns WHERE child_id = ?", [.text(taskID)])
                .first.flatMap(SQLTaskStore.decodeLineage)
        }
    }

    public func spawnedTasks(of parentID: String) throws -> [TaskLineage] {
        try read { database in
            try database.query(
                "SELECT \(SQLTaskStore.lineageColumns) FROM task_spawns WHERE parent_id = ? ORDER BY spawned_at, child_id", [.text(parentID)]
            ).compactMap(SQLTaskStore.decodeLineage)
        }
    }

    public func allLineage() throws -> [TaskLineage] {
        try read { database in
            try database.query("SELECT \(SQLTaskStore.lineageColumns) FROM task_spawns ORDER BY spawned_at, child_id")
                .compactMap(SQLTaskStore.decodeLineage)
        }
    }
}

extension SQLTaskWriter {
    public func putStoreEntry(_ key: StoreEntryKey, value: JSONValue, task: String?, step: String?) throws -> Int {
        let now = StoreClock.timestamp()
        try database.run(
            """
            INSERT INTO workflow_store_entries (\(SQLTaskStore.entryColumns)) VALUES (?, ?, ?, ?, 1, ?, ?, ?, ?)
            ON CONFLICT (project, store, key) DO UPDATE SET value = excluded.value, version = workflow_store_entries.version + 1,
                task_id = excluded.task_id, step = excluded.step, updated_at = excluded.updated_at
            """,
            [
                .text(key.project), .text(key.store), .text(key.key), .text(JSONWriter().string(value)), task.map { .text($0) } ?? .null,
                step.map { .text($0) } ?? .null, .text(now), .text(now),
            ])
        let version = try database.query(
            "SELECT version FROM workflow_store_entries WHERE project = ? AND store = ? AND key = ?",
            [.text(key.project), .text(key.store), .text(key.key)]
        ).first?.first?.integer
        return Int(version ?? 1)
    }

    public func deleteStoreEntry(_ key: StoreEntryKey) throws -> Bool {
        try !database.query(
            "DELETE FROM workflow_store_entries WHERE project = ? AND store = ? AND key = ? RETURNING key",
            [.text(key.project), .text(key.store), .text(key.key)]
        ).isEmpty
    }

    public func pruneStoreEntries(project: String, store: String, keepNewest: Int?, updatedBefore cutoff: String?) throws -> [String] {
        var doomed: [String] = []
        if let cutoff {
            doomed += try database.query(
                "SELECT key FROM workflow_store_entries WHERE project = ? AND store = ? AND updated_at < ? ORDER BY updated_at, key",
                [.text(project), .text(store), .text(cutoff)]
            ).compactMap { $0.first?.text }
        }
        if let keepNewest {
            doomed += try database.query(
                "SELECT key FROM workflow_store_entries WHERE project = ? AND store = ? ORDER BY updated_at DESC, key DESC LIMIT -1 OFFSET ?",
                [.text(project), .text(store), .integer(Int64(max(0, keepNewest)))]
            ).compactMap { $0.first?.text }
        }
        var deleted: [String] = []
        for key in doomed where !deleted.contains(key) {
            try database.run(
                "DELETE FROM workflow_store_entries WHERE project = ? AND store = ? AND key = ?", [.text(project), .text(store), .text(key)])
            deleted.append(key)
        }
        return deleted
    }

    public func linkSpawn(child: String, parent: String, depth: Int, key: String) throws {
        try database.run(
            "INSERT INTO task_spawns (\(SQLTaskStore.lineageColumns)) VALUES (?, ?, ?, ?, ?)",
            [.text(child), .text(parent), .integer(Int64(depth)), .text(key), .text(StoreClock.timestamp())])
    }

    public func spawnedChild(key: String) throws -> String? {
        try database.query("SELECT child_id FROM task_spawns WHERE spawn_key = ?", [.text(key)]).first?.first?.text
    }

    public func spawnedCount(parent: String) throws -> Int {
        Int(try database.query("SELECT COUNT(*) FROM task_spawns WHERE parent_id = ?", [.text(parent)]).first?.first?.integer ?? 0)
    }
}
