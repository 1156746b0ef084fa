/// One step of the schema's history. Migrations run in order on open, each in its own
/// transaction, and `PRAGMA user_version` records the last one applied.
public struct Migration: Sendable {
    public var version: Int
    public var summary: String
    public var sql: String
}

public enum Schema {
    /// Every migration so far. Append only: a released migration never changes.
    public static let migrations: [Migration] = [
        Migration(
            version: 1, summary: "projects, resources and their append-only revision history",
            sql: """
                CREATE TABLE projects (
                    name        TEXT PRIMARY KEY,
                    created_at  TEXT NOT NULL
                );
                CREATE TABLE resources (
                    id            INTEGER PRIMARY KEY,
                    kind          TEXT NOT NULL,
                    project       TEXT NOT NULL REFERENCES projects(name) ON DELETE CASCADE,
                    name          TEXT NOT NULL,
                    api_version   TEXT NOT NULL,
                    metadata      TEXT NOT NULL,  -- JSON: labels, annotations, description
                    spec          TEXT NOT NULL,  -- JSON, key order as written
                    content_hash  TEXT NOT NULL,  -- SHA-256 of the canonical form
                    generation    INTEGER NOT NULL,
                    created_at    TEXT NOT NULL,
                    updated_at    TEXT NOT NULL,
                    UNIQUE (kind, project, name)
                );
                CREATE INDEX resources_by_project ON resources(project, kind);
                CREATE TABLE resource_revisions (
                    id            INTEGER PRIMARY KEY,
                    kind          TEXT NOT NULL,
                    project       TEXT NOT NULL,
                    name          TEXT NOT NULL,
                    generation    INTEGER NOT NULL,
                    change        TEXT NOT NULL CHECK (change IN ('created', 'configured', 'deleted')),
                    api_version   TEXT NOT NULL,
                    metadata      TEXT NOT NULL,
                    spec          TEXT NOT NULL,
                    content_hash  TEXT NOT NULL,
                    recorded_at   TEXT NOT NULL
                );
                CREATE INDEX revisions_by_resource ON resource_revisions(kind, project, name, id);
                CREATE TRIGGER revisions_are_append_only_update BEFORE UPDATE ON resource_revisions
                BEGIN SELECT RAISE(ABORT, 'resource_revisions is append-only'); END;
                CREATE TRIGGER revisions_are_append_only_delete BEFORE DELETE ON resource_revisions
                BEGIN SELECT RAISE(ABORT, 'resource_revisions is append-only'); END;
                """),
    ]

    /// Brings `database` to the newest schema. A database newer than this build is refused
    /// rather than misread.
    public static func migrate(_ database: Database) throws {
        let current = try database.schemaVersion()
        let newest = migrations.last?.version ?? 0
        if current > newest {
            throw StoreError(
                "the database \(database.path) has schema version \(current), newer than this orchestrator knows (\(newest)); use a newer orchestrator")
        }
        for migration in migrations where migration.version > current {
            try database.transaction {
                try database.execute(migration.sql)
                try database.execute("PRAGMA user_version = \(migration.version)")
            }
        }
    }
}
