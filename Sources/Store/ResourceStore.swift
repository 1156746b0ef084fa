import JSON

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Identifies a stored resource.
public struct ResourceKey: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var kind: String
    public var project: String
    public var name: String

    public init(kind: String, project: String, name: String) {
        self.kind = kind
        self.project = project
        self.name = name
    }

    public static func < (a: ResourceKey, b: ResourceKey) -> Bool {
        (a.project, a.kind, a.name) < (b.project, b.kind, b.name)
    }

    public var description: String { "\(kind)/\(name)" }
}

/// A resource as it should be stored: what `apply` computes from the manifests.
public struct DesiredResource: Sendable {
    public var key: ResourceKey
    public var apiVersion: String
    /// labels, annotations, description (JSON object, key order kept).
    public var metadata: JSONValue
    public var spec: JSONValue
    /// SHA-256 of the canonical form: equal hashes mean "unchanged".
    public var contentHash: String

    public init(key: ResourceKey, apiVersion: String, metadata: JSONValue, spec: JSONValue, contentHash: String) {
        self.key = key
        self.apiVersion = apiVersion
        self.metadata = metadata
        self.spec = spec
        self.contentHash = contentHash
    }
}

/// A resource as it is stored.
public struct StoredResource: Sendable {
    public var key: ResourceKey
    public var apiVersion: String
    public var metadata: JSONValue
    public var spec: JSONValue
    public var contentHash: String
    public var generation: Int
    public var createdAt: String
    public var updatedAt: String
}

/// One entry of a resource's history.
public struct Revision: Sendable {
    public var generation: Int
    public var change: String
    public var contentHash: String
    public var recordedAt: String
    public var spec: JSONValue
}

public enum ApplyChange: String, Sendable {
    case created, configured, unchanged, deleted
}

public struct ApplyOutcome: Sendable {
    public var key: ResourceKey
    public var change: ApplyChange
    /// The generation after the apply (before it, for `unchanged`; the last one for `deleted`).
    public var generation: Int
}

/// The store of resources over SQL, on either engine: the embedded default (a data directory
/// holding `orchestrator.db`, SQLite) or a PostgreSQL database shared by many daemons
/// (`init(postgres:dataDirectory:)`, docs/scale-out.md). The statements are the same on both
/// (`SQLConnection`); the data directory holds the logs either way.
public final class SQLResourceStore: ResourceStore, @unchecked Sendable {
    public let database: any SQLConnection
    public let dataDirectory: String
    /// The shared database this store is on (nil: the data directory's SQLite file).
    public let location: StoreLocation?

    /// Encrypts SecretStore values with the user's key file (never kept in the data directory).
    public let secrets: SecretCipher

    public static let databaseFileName = "orchestrator.db"

    /// What opening the store changed that the user should hear about (a data directory or
    /// database readable by others, made private); the CLI prints them as warnings.
    public private(set) var notices: [String] = []

    /// Opens the store in `dataDirectory`, creating the directory (mode 0700, with a `.gitignore`
    /// of `*` so the database is never committed with a workspace) and the database (mode 0600)
    /// on first use, and running pending migrations. An existing directory or database that
    /// others can read is made private, and said in `notices`. SecretStore values are encrypted
    /// with the keys of `keyFile` (by default the user's, from the environment).
    public init(dataDirectory: String, keyFile: SecretKeyFile = .forProcess()) throws {
        self.dataDirectory = dataDirectory
        location = nil
        secrets = SecretCipher(keyFile: keyFile)
        let existed = access(dataDirectory, F_OK) == 0
        try SQLResourceStore.createDirectory(dataDirectory)
        if !existed { SQLResourceStore.writeIgnoreFile(in: dataDirectory) }
        let databasePath = dataDirectory + "/" + SQLResourceStore.databaseFileName
        notices += SQLResourceStore.makePrivate(dataDirectory, mode: 0o700)
        let sqlite = try Database(path: databasePath)
        database = sqlite
        notices += SQLResourceStore.makePrivate(databasePath, mode: 0o600)
        try Schema.migrate(sqlite)
        try SecretSealing.sealPlaintextIfPending(self)
    }

    /// Opens the store in the PostgreSQL database `connectionString` names (a libpq URI,
    /// `postgres://USER@HOST:PORT/DB`), running pending migrations; `dataDirectory` (created as
    /// for the embedded engine) holds this machine's logs, socket and key file.
    public init(postgres connectionString: String, dataDirectory: String, keyFile: SecretKeyFile = .forProcess()) throws {
        self.dataDirectory = dataDirectory
        location = StoreLocation(connectionString)
        secrets = SecretCipher(keyFile: keyFile)
        let existed = access(dataDirectory, F_OK) == 0
        try SQLResourceStore.createDirectory(dataDirectory)
        if !existed { SQLResourceStore.writeIgnoreFile(in: dataDirectory) }
        notices += SQLResourceStore.makePrivate(dataDirectory, mode: 0o700)
        let postgres = try PostgresConnection(connectionString)
        database = postgres
        try PostgresSchema.migrate(postgres)
        try SecretSealing.sealPlaintextIfPending(self)
    }

    /// `.gitignore` holding `*`: nothing of a data directory belongs in a repository.
    static func writeIgnoreFile(in directory: String) {
        let fd = open(directory + "/.gitignore", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return }
        let text = Array("# created by orchestrator: the data directory holds the database and logs; never commit it\n*\n".utf8)
        _ = text.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
    }

    /// Removes group and world permissions from `path` when it has any; the notice says so.
    static func makePrivate(_ path: String, mode: mode_t) -> [String] {
        var info = stat()
        guard stat(path, &info) == 0, info.st_mode & 0o077 != 0 else { return [] }
        let was = String(info.st_mode & 0o777, radix: 8)
        guard chmod(path, mode) == 0 else {
            return ["\(path) is readable by other users (mode \(was)) and could not be made private: \(String(cString: strerror(errno)))"]
        }
        return ["\(path) was readable by other users (mode \(was)); it is now \(String(mode, radix: 8)) (only you)"]
    }

    /// An empty store in memory: what commands that must write nothing (`apply --dry-run`,
    /// `diff`) read when no data directory exists yet.
    public init(inMemoryFor dataDirectory: String, keyFile: SecretKeyFile = .forProcess()) throws {
        self.dataDirectory = dataDirectory
        location = nil
        secrets = SecretCipher(keyFile: keyFile)
        let sqlite = try Database(path: Database.inMemory)
        database = sqlite
        try Schema.migrate(sqlite)
    }

    /// True when `dataDirectory` holds a database.
    public static func exists(in dataDirectory: String) -> Bool {
        access(dataDirectory + "/" + databaseFileName, F_OK) == 0
    }

    /// `mkdir -p` with mode 0700 for what it creates.
    public static func createDirectory(_ path: String, what: String = "data directory") throws {
        var current = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") where !part.isEmpty {
            current += "/" + part
            if mkdir(current, 0o700) != 0, errno != EEXIST {
                throw StoreError("cannot create the \(what) \(current): \(String(cString: strerror(errno)))")
            }
        }
    }

    // MARK: reading

    private static let columns = "kind, project, name, api_version, metadata, spec, content_hash, generation, created_at, updated_at"

    private func decode(_ row: [SQLValue]) throws -> StoredResource {
        guard row.count == 10, let kind = row[0].text, let project = row[1].text, let name = row[2].text,
            let apiVersion = row[3].text, let metadata = row[4].text, let spec = row[5].text,
            let hash = row[6].text, let generation = row[7].integer, let created = row[8].text, let updated = row[9].text
        else { throw StoreError("a resource row in \(database.displayTarget) is malformed") }
        return StoredResource(
            key: ResourceKey(kind: kind, project: project, name: name), apiVersion: apiVersion,
            metadata: try JSONParser.parse(metadata), spec: try JSONParser.parse(spec), contentHash: hash,
            generation: Int(generation), createdAt: created, updatedAt: updated)
    }

    public func resource(_ key: ResourceKey) throws -> StoredResource? {
        let rows = try database.query(
            "SELECT \(SQLResourceStore.columns) FROM resources WHERE kind = ? AND project = ? AND name = ?",
            [.text(key.kind), .text(key.project), .text(key.name)])
        return try rows.first.map(decode)
    }

    /// Resources, optionally of one kind, one project and/or one name, ordered by project,
    /// kind, name.
    public func resources(kind: String?, project: String?, name: String?) throws -> [StoredResource] {
        var sql = "SELECT \(SQLResourceStore.columns) FROM resources"
        var conditions: [String] = []
        var parameters: [SQLValue] = []
        if let kind { conditions.append("kind = ?"); parameters.append(.text(kind)) }
        if let project { conditions.append("project = ?"); parameters.append(.text(project)) }
        if let name { conditions.append("name = ?"); parameters.append(.text(name)) }
        if !conditions.isEmpty { sql += " WHERE " + conditions.joined(separator: " AND ") }
        sql += " ORDER BY project, kind, name"
        return try database.query(sql, parameters).map(decode)
    }

    public func resources(project: String, excluding: Set<ResourceKey>) throws -> [StoredResource] {
        let rows = try database.query(
            "SELECT \(SQLResourceStore.columns) FROM resources WHERE project = ? ORDER BY project, kind, name", [.text(project)])
        var resources: [StoredResource] = []
        for row in rows {
            // Columns 0 and 2: kind and name (a malformed row is left to `decode` to refuse).
            if row.count > 2, let kind = row[0].text, let name = row[2].text,
                excluding.contains(ResourceKey(kind: kind, project: project, name: name))
            {
                continue
            }
            resources.append(try decode(row))
        }
        return resources
    }

    public func projects() throws -> [String] {
        try database.query("SELECT name FROM projects ORDER BY name").compactMap { $0.first?.text }
    }

    /// The newest `limit` revisions of a resource, newest first.
    public func revisions(_ key: ResourceKey, limit: Int) throws -> [Revision] {
        let rows = try database.query(
            """
            SELECT generation, change, content_hash, recorded_at, spec FROM resource_revisions
            WHERE kind = ? AND project = ? AND name = ? ORDER BY id DESC LIMIT ?
            """, [.text(key.kind), .text(key.project), .text(key.name), .integer(Int64(limit))])
        return try rows.map { row in
            guard row.count == 5, let generation = row[0].integer, let change = row[1].text, let hash = row[2].text,
                let recorded = row[3].text, let spec = row[4].text
            else { throw StoreError("a revision row in \(database.displayTarget) is malformed") }
            return Revision(
                generation: Int(generation), change: change, contentHash: hash, recordedAt: recorded,
                spec: try JSONParser.parse(spec))
        }
    }

    /// The unfinished tasks (neither completed nor failed) that run `key`, when it is a Workflow
    /// or a Workspace: such a resource may be changed (the runner reports the drift) but not
    /// deleted.
    public func unfinishedTasks(using key: ResourceKey) throws -> [String] {
        let column: String
        switch key.kind {
        case "Workflow": column = "workflow"
        case "Workspace": column = "workspace"
        default: return []
        }
        return try database.query(
            "SELECT id FROM tasks WHERE project = ? AND \(column) = ? AND status NOT IN ('completed', 'failed') ORDER BY id",
            [.text(key.project), .text(key.name)]
        ).compactMap { $0.first?.text }
    }

    // MARK: writing

    /// What `apply` would do, without writing anything.
    public func planApply(_ desired: [DesiredResource], pruneScope: Set<PruneScope>) throws -> [ApplyOutcome] {
        var outcomes: [ApplyOutcome] = []
        let known = try storedHashes(of: desired)
        for resource in desired {
            let stored: StoredHash?
            if let known { stored = known[resource.key] } else { stored = try storedHash(of: resource.key) }
            if let stored {
                if try stored.contentHash == comparableHash(resource) && stored.apiVersion == resource.apiVersion {
                    outcomes.append(ApplyOutcome(key: resource.key, change: .unchanged, generation: stored.generation))
                } else {
                    outcomes.append(ApplyOutcome(key: resource.key, change: .configured, generation: stored.generation + 1))
                }
            } else {
                outcomes.append(ApplyOutcome(key: resource.key, change: .created, generation: 1))
            }
        }
        // The keys kept, hashed only when something may be pruned.
        let wanted = pruneScope.isEmpty ? [] : Set(desired.map(\.key))
        for scope in pruneScope.sorted(by: { ($0.project, $0.kind) < ($1.project, $1.kind) }) {
            for stored in try resources(kind: scope.kind, project: scope.project) where !wanted.contains(stored.key) {
                outcomes.append(ApplyOutcome(key: stored.key, change: .deleted, generation: stored.generation))
            }
        }
        return outcomes
    }

    /// Only the hash, version and generation are needed to decide what apply does: no JSON is read.
    private typealias StoredHash = (contentHash: String, apiVersion: String, generation: Int)

    private func storedHash(of key: ResourceKey) throws -> StoredHash? {
        let rows = try database.query(
            "SELECT content_hash, api_version, generation FROM resources WHERE kind = ? AND project = ? AND name = ?",
            [.text(key.kind), .text(key.project), .text(key.name)])
        guard let row = rows.first, row.count == 3, let hash = row[0].text, let apiVersion = row[1].text,
            let generation = row[2].integer
        else { return nil }
        return (hash, apiVersion, Int(generation))
    }

    /// For many resources, the stored hashes of their projects read at once (one query per
    /// project instead of one per resource: issue 20, an apply of thousands); nil for a few,
    /// which are looked up one by one (a project may hold many more than are applied).
    private func storedHashes(of desired: [DesiredResource]) throws -> [ResourceKey: StoredHash]? {
        guard desired.count >= 100 else { return nil }
        var hashes: [ResourceKey: StoredHash] = [:]
        for project in Set(desired.map(\.key.project)).sorted() {
            let rows = try database.query(
                "SELECT kind, name, content_hash, api_version, generation FROM resources WHERE project = ?", [.text(project)])
            for row in rows {
                guard row.count == 5, let kind = row[0].text, let name = row[1].text, let hash = row[2].text,
                    let apiVersion = row[3].text, let generation = row[4].integer
                else { throw StoreError("a resource row of project \(project) in \(database.displayTarget) is malformed") }
                hashes[ResourceKey(kind: kind, project: project, name: name)] = (hash, apiVersion, Int(generation))
            }
        }
        return hashes
    }

    /// Stores every desired resource (and prunes) in one transaction: all or nothing.
    /// Unchanged resources are not touched (their generation stays).
    @discardableResult
    public func apply(_ desired: [DesiredResource], pruneScope: Set<PruneScope>) throws -> [ApplyOutcome] {
        try database.transaction {
            let outcomes = try planApply(desired, pruneScope: pruneScope)
            for outcome in outcomes where outcome.change == .deleted {
                let tasks = try unfinishedTasks(using: outcome.key)
                if !tasks.isEmpty { throw ResourceInUse(key: outcome.key, tasks: tasks) }
            }
            let now = StoreClock.timestamp()
            // Positions, not copies of the resources (the last one of a key wins, as before).
            var byKey: [ResourceKey: Int] = [:]
            byKey.reserveCapacity(desired.count)
            for (index, resource) in desired.enumerated() { byKey[resource.key] = index }
            let writer = JSONWriter()
            var ensuredProjects: Set<String> = []
            // New resources and their revisions are inserted many rows per statement (issue 20:
            // the per-statement work was a third of an apply's SQL), in the order of the outcomes:
            // whatever else an outcome does waits until the rows before it are in.
            var created = CreatedRows()
            for outcome in outcomes {
                switch outcome.change {
                case .unchanged:
                    continue
                case .deleted:
                    try insert(&created)
                    _ = try delete(outcome.key, at: now)
                case .created, .configured:
                    guard let index = byKey[outcome.key] else { continue }
                    let resource = try prepareForStorage(desired[index])
                    if ensuredProjects.insert(resource.key.project).inserted { try ensureProject(resource.key.project, at: now) }
                    let metadata = writer.string(resource.metadata)
                    let spec = writer.string(resource.spec)
                    if outcome.change == .created {
                        created.resources += [
                            .text(resource.key.kind), .text(resource.key.project), .text(resource.key.name),
                            .text(resource.apiVersion), .text(metadata), .text(spec), .text(resource.contentHash),
                            .integer(Int64(outcome.generation)), .text(now), .text(now),
                        ]
                        created.revisions += revisionRow(
                            resource.key, generation: outcome.generation, change: outcome.change.rawValue,
                            apiVersion: resource.apiVersion, metadata: metadata, spec: spec, hash: resource.contentHash, at: now)
                        created.count += 1
                        if created.count == CreatedRows.batch { try insert(&created) }
                    } else {
                        try insert(&created)
                        try database.run(
                            """
                            UPDATE resources SET api_version = ?, metadata = ?, spec = ?, content_hash = ?,
                                generation = ?, updated_at = ? WHERE kind = ? AND project = ? AND name = ?
                            """,
                            [.text(resource.apiVersion), .text(metadata), .text(spec), .text(resource.contentHash),
                             .integer(Int64(outcome.generation)), .text(now), .text(resource.key.kind),
                             .text(resource.key.project), .text(resource.key.name)])
                        try recordRevision(
                            resource.key, generation: outcome.generation, change: outcome.change.rawValue,
                            apiVersion: resource.apiVersion, metadata: metadata, spec: spec, hash: resource.contentHash, at: now)
                    }
                }
            }
            try insert(&created)
            return outcomes
        }
    }

    /// Rows of new resources and of their `created` revisions, waiting to be inserted.
    private struct CreatedRows {
        /// Rows per statement: 32 rows of 10 values each, far below either engine's limit on
        /// parameters.
        static let batch = 32
        var resources: [SQLValue] = []
        var revisions: [SQLValue] = []
        var count = 0
    }

    private static let resourceColumns =
        "INSERT INTO resources (kind, project, name, api_version, metadata, spec, content_hash, generation, created_at, updated_at) VALUES "
    private static let revisionColumns =
        "INSERT INTO resource_revisions (kind, project, name, generation, change, api_version, metadata, spec, content_hash, recorded_at) VALUES "
    /// The statements for a full batch and for one row (a few rows left over go one by one, so
    /// that two statements of each kind are prepared, not one per count).
    private static let rowPlaceholders = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    private static let batchPlaceholders = Array(repeating: rowPlaceholders, count: CreatedRows.batch).joined(separator: ", ")

    /// Inserts the waiting rows (a full batch in one statement per table, fewer row by row).
    private func insert(_ created: inout CreatedRows) throws {
        guard created.count > 0 else { return }
        if created.count == CreatedRows.batch {
            try database.run(Self.resourceColumns + Self.batchPlaceholders, created.resources)
            try database.run(Self.revisionColumns + Self.batchPlaceholders, created.revisions)
        } else {
            let width = created.resources.count / created.count
            for row in 0..<created.count {
                try database.run(Self.resourceColumns + Self.rowPlaceholders, Array(created.resources[(row * width)..<((row + 1) * width)]))
                try database.run(Self.revisionColumns + Self.rowPlaceholders, Array(created.revisions[(row * width)..<((row + 1) * width)]))
            }
        }
        created = CreatedRows()
    }

    // MARK: secrets

    /// The hash `desired` is compared with: a SecretStore holding literal values has a keyed hash
    /// over its decrypted values (nil without a key file: then it cannot equal what is stored).
    private func comparableHash(_ desired: DesiredResource) throws -> String? {
        guard desired.key.kind == "SecretStore", !SecretCipher.literals(desired.spec).isEmpty else { return desired.contentHash }
        let opened = try secrets.openSpec(desired.spec)
        return try secrets.keyedHash(canonicalText(desired, spec: opened), create: false)
    }

    /// `desired` as it is written: a SecretStore's values encrypted with the current key and its
    /// hash keyed (the key file is created on this first need).
    private func prepareForStorage(_ desired: DesiredResource) throws -> DesiredResource {
        guard desired.key.kind == "SecretStore", !SecretCipher.literals(desired.spec).isEmpty else { return desired }
        var prepared = desired
        let opened = try secrets.openSpec(desired.spec)
        prepared.contentHash = try secrets.keyedHash(canonicalText(desired, spec: opened), create: true) ?? desired.contentHash
        prepared.spec = try secrets.sealSpec(opened)
        return prepared
    }

    func canonicalText(_ desired: DesiredResource, spec: JSONValue) -> String {
        ManifestRecords.canonicalText(kind: desired.key.kind, apiVersion: desired.apiVersion, metadata: desired.metadata, spec: spec)
    }

    /// Deletes one resource (recording a `deleted` revision). Returns false when it did not exist.
    @discardableResult
    public func delete(_ key: ResourceKey) throws -> Bool {
        try database.transaction { try delete(key, at: StoreClock.timestamp()) }
    }

    private func delete(_ key: ResourceKey, at now: String) throws -> Bool {
        guard let stored = try resource(key) else { return false }
        let tasks = try unfinishedTasks(using: key)
        if !tasks.isEmpty { throw ResourceInUse(key: key, tasks: tasks) }
        let writer = JSONWriter()
        try recordRevision(
            key, generation: stored.generation, change: "deleted", apiVersion: stored.apiVersion,
            metadata: writer.string(stored.metadata), spec: writer.string(stored.spec), hash: stored.contentHash, at: now)
        try database.run(
            "DELETE FROM resources WHERE kind = ? AND project = ? AND name = ?",
            [.text(key.kind), .text(key.project), .text(key.name)])
        return true
    }

    /// Deletes a project and every resource in it, in one transaction. Returns what was deleted.
    public func deleteProject(_ name: String) throws -> [ResourceKey] {
        try database.transaction {
            let now = StoreClock.timestamp()
            let keys = try resources(project: name).map(\.key)
            for key in keys { _ = try delete(key, at: now) }
            try database.run("DELETE FROM projects WHERE name = ?", [.text(name)])
            return keys
        }
    }

    private func ensureProject(_ name: String, at now: String) throws {
        try database.run("INSERT INTO projects (name, created_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING", [.text(name), .text(now)])
    }

    private func recordRevision(
        _ key: ResourceKey, generation: Int, change: String, apiVersion: String, metadata: String, spec: String,
        hash: String, at now: String
    ) throws {
        try database.run(
            Self.revisionColumns + Self.rowPlaceholders,
            revisionRow(key, generation: generation, change: change, apiVersion: apiVersion, metadata: metadata, spec: spec, hash: hash, at: now))
    }

    /// The values of one `resource_revisions` row, in `revisionColumns` order.
    private func revisionRow(
        _ key: ResourceKey, generation: Int, change: String, apiVersion: String, metadata: String, spec: String,
        hash: String, at now: String
    ) -> [SQLValue] {
        [.text(key.kind), .text(key.project), .text(key.name), .integer(Int64(generation)), .text(change),
         .text(apiVersion), .text(metadata), .text(spec), .text(hash), .text(now)]
    }
}

/// `apply --prune` deletes stored resources of these kinds in these projects that the files
/// no longer contain.
public struct PruneScope: Sendable, Hashable {
    public var project: String
    public var kind: String

    public init(project: String, kind: String) {
        self.project = project
        self.kind = kind
    }
}

/// A Workflow or Workspace that unfinished tasks run cannot be deleted.
public struct ResourceInUse: Error, Sendable, CustomStringConvertible {
    public var key: ResourceKey
    public var tasks: [String]

    public init(key: ResourceKey, tasks: [String]) {
        self.key = key
        self.tasks = tasks
    }

    public var description: String {
        "\(key.kind)/\(key.name) (project: \(key.project)) is used by unfinished task(s) \(tasks.joined(separator: ", ")): "
            + "finish or delete them first (`orchestrator task delete ID`); changing it is allowed and is reported as drift"
    }
}
