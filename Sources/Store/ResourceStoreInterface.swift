#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// The resource side of the store: resources with generations and append-only revisions, the
// secrets at rest, and the task store of the same engine. The CLI, the runner and the daemon
// hold an `any ResourceStore`; `SQLResourceStore` is the embedded engine (the PostgreSQL
// engine of scale-out implements the same protocol).

public protocol ResourceStore: AnyObject, Sendable {
    /// The data directory (logs, the socket and the lock of a daemon live under it).
    var dataDirectory: String { get }
    /// Encrypts and decrypts SecretStore values with the user's key file.
    var secrets: SecretCipher { get }
    /// What opening the store changed that the user should hear about.
    var notices: [String] { get }
    /// The schema version the migrations have reached.
    func schemaVersion() throws -> Int

    func resource(_ key: ResourceKey) throws -> StoredResource?
    /// Resources, optionally of one kind, one project and/or one name, ordered by project, kind,
    /// name.
    func resources(kind: String?, project: String?, name: String?) throws -> [StoredResource]
    /// The resources of `project` but those in `excluding` (what files being applied compile
    /// against: not the resources they replace, whose stored JSON is then not even read).
    func resources(project: String, excluding: Set<ResourceKey>) throws -> [StoredResource]
    func projects() throws -> [String]
    /// The newest `limit` revisions of a resource, newest first.
    func revisions(_ key: ResourceKey, limit: Int) throws -> [Revision]
    /// The unfinished tasks that run `key` (a Workflow or a Workspace).
    func unfinishedTasks(using key: ResourceKey) throws -> [String]
    /// What `apply` would do, without writing anything.
    func planApply(_ desired: [DesiredResource], pruneScope: Set<PruneScope>) throws -> [ApplyOutcome]
    /// Applies in one transaction: every resource or none.
    func apply(_ desired: [DesiredResource], pruneScope: Set<PruneScope>) throws -> [ApplyOutcome]
    /// Deletes one resource; false when it was not there.
    func delete(_ key: ResourceKey) throws -> Bool
    /// Deletes a project's resources; returns what was deleted.
    func deleteProject(_ name: String) throws -> [ResourceKey]

    /// Where the secret key stands (`secret key status`).
    func secretKeyStatus() throws -> SecretKeyStatus
    /// Re-encrypts every value with a new key in one transaction (`secret key rotate`).
    func rotateSecretKey() throws -> SecretKeyRotation

    /// Where the database lives and how big it is (`db status`): its path and bytes on disk.
    func databaseFiles() throws -> [(path: String, bytes: Int64)]
    /// Rebuilds the database to reclaim the space of deleted rows (`db vacuum`); returns the
    /// bytes before and after.
    func vacuum() throws -> (before: Int64, after: Int64)

    /// The task store of this engine, over the same database.
    func taskStore() -> any TaskStore
}

extension ResourceStore {
    public func resources(kind: String? = nil, project: String? = nil, name: String? = nil) throws -> [StoredResource] {
        try resources(kind: kind, project: project, name: name)
    }

    public func revisions(_ key: ResourceKey) throws -> [Revision] { try revisions(key, limit: 10) }

    public func planApply(_ desired: [DesiredResource]) throws -> [ApplyOutcome] { try planApply(desired, pruneScope: []) }

    public func apply(_ desired: [DesiredResource]) throws -> [ApplyOutcome] { try apply(desired, pruneScope: []) }
}

extension SQLResourceStore {
    public func schemaVersion() throws -> Int {
        if let postgres = database as? PostgresConnection { return try PostgresSchema.version(postgres) }
        guard let sqlite = database as? Database else { throw StoreError("the store's connection is of no known engine") }
        return try sqlite.schemaVersion()
    }

    public func secretKeyStatus() throws -> SecretKeyStatus { try SecretSealing.status(self) }

    public func rotateSecretKey() throws -> SecretKeyRotation { try SecretSealing.rotate(self) }

    public func taskStore() -> any TaskStore { SQLTaskStore(self) }

    /// SQLite: the database file and its journal files. PostgreSQL: the database's size on the
    /// server (`pg_database_size`), named by its URI.
    public func databaseFiles() throws -> [(path: String, bytes: Int64)] {
        if database.engine == .postgres {
            let bytes = try database.query("SELECT pg_database_size(current_database())", []).first?.first?.integer ?? 0
            return [(database.displayTarget, bytes)]
        }
        let path = database.displayTarget
        return [path, path + "-wal", path + "-shm"].compactMap { path in
            var info = stat()
            return stat(path, &info) == 0 ? (path, Int64(info.st_size)) : nil
        }
    }

    public func vacuum() throws -> (before: Int64, after: Int64) {
        let before = try databaseFiles().map(\.bytes).reduce(0, +)
        if database.engine == .postgres {
            try database.execute("VACUUM")
        } else {
            try database.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            try database.execute("VACUUM")
            try database.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        }
        let after = try databaseFiles().map(\.bytes).reduce(0, +)
        return (before, after)
    }
}
