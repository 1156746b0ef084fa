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
                CREATE INDEX resources_by_name ON resources(kind, name);
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
        Migration(
            version: 2, summary: "tasks, their items, step runs and the event log",
            sql: """
                CREATE TABLE tasks (
                    id                    TEXT PRIMARY KEY,
                    name                  TEXT NOT NULL,
                    project               TEXT NOT NULL,
                    workflow              TEXT NOT NULL,
                    workspace             TEXT NOT NULL,
                    goal                  TEXT NOT NULL,
                    status                TEXT NOT NULL,   -- created, running, paused, interrupted, completed, failed
                    graph_hash            TEXT NOT NULL,   -- the pinned graph's content hash
                    snapshot              TEXT NOT NULL,   -- JSON: the pinned resources the graph compiles from
                    options               TEXT NOT NULL,   -- JSON: targets, --set variables, --step selection
                    cycle                 INTEGER NOT NULL DEFAULT 0,  -- the cycle running (0: none yet)
                    finalized_cycle       INTEGER NOT NULL DEFAULT 0,  -- the last cycle whose items were finalized
                    consecutive_failures  INTEGER NOT NULL DEFAULT 0,
                    pause_requested       INTEGER NOT NULL DEFAULT 0,
                    runner_pid            INTEGER,
                    runner_start          TEXT,            -- the runner's start time (/proc), against pid reuse
                    reason                TEXT,
                    created_at            TEXT NOT NULL,
                    updated_at            TEXT NOT NULL,
                    started_at            TEXT,
                    finished_at           TEXT
                );
                CREATE INDEX tasks_by_status ON tasks(status);
                CREATE TABLE items (
                    task_id          TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
                    ordinal          INTEGER NOT NULL,
                    item_id          TEXT NOT NULL,
                    path             TEXT,              -- relative to the workspace root; NULL for the task item
                    label            TEXT,
                    vars             TEXT NOT NULL DEFAULT '{}',
                    origin           TEXT NOT NULL,     -- target, qa_targets, task, generated
                    generated_cycle  INTEGER,
                    generated_step   TEXT,
                    active           INTEGER NOT NULL DEFAULT 1,
                    status           TEXT NOT NULL DEFAULT 'pending',
                    updated_at       TEXT NOT NULL,
                    PRIMARY KEY (task_id, ordinal),
                    UNIQUE (task_id, item_id)
                );
                CREATE TABLE runs (
                    id           INTEGER PRIMARY KEY,
                    task_id      TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
                    cycle        INTEGER NOT NULL,
                    step         TEXT NOT NULL,
                    item         TEXT,                  -- the item id; NULL for task-scoped steps
                    status       TEXT NOT NULL,         -- running, finished, skipped, interrupted
                    exit_code    INTEGER,
                    success      INTEGER,
                    timed_out    INTEGER,
                    duration_ms  INTEGER,
                    command      TEXT,                  -- as run (secrets masked)
                    stdout_path  TEXT,
                    stderr_path  TEXT,
                    variables    TEXT NOT NULL DEFAULT '{}',  -- JSON: the pipeline variables the run set
                    outcome      TEXT NOT NULL DEFAULT '{}',  -- JSON: status set, early return, generated items
                    started_at   TEXT,
                    finished_at  TEXT,
                    pid          INTEGER,               -- the step's process (its group leader) while it runs
                    pid_start    TEXT                   -- its start time (/proc), against pid reuse
                );
                CREATE INDEX runs_by_slot ON runs(task_id, cycle, step, item);
                CREATE TABLE events (
                    id         INTEGER PRIMARY KEY AUTOINCREMENT,
                    task_id    TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
                    type       TEXT NOT NULL,
                    cycle      INTEGER,
                    step       TEXT,
                    item       TEXT,
                    timestamp  TEXT NOT NULL,
                    payload    TEXT NOT NULL
                );
                CREATE INDEX events_by_task ON events(task_id, id);
                """),
        Migration(
            version: 3, summary: "SecretStore values encrypted at rest: revisions allow re-encryption, older plaintext is marked",
            sql: """
                -- Revisions stay append-only except for what `secret key rotate` re-encrypts: a
                -- SecretStore's spec (its values) and its keyed content hash.
                DROP TRIGGER revisions_are_append_only_update;
                CREATE TRIGGER revisions_are_append_only_update
                BEFORE UPDATE OF id, kind, project, name, generation, change, api_version, metadata, recorded_at
                ON resource_revisions
                BEGIN SELECT RAISE(ABORT, 'resource_revisions is append-only'); END;
                CREATE TRIGGER revisions_reencrypt_only_secret_stores
                BEFORE UPDATE OF spec, content_hash ON resource_revisions WHEN OLD.kind <> 'SecretStore'
                BEGIN SELECT RAISE(ABORT, 'resource_revisions is append-only'); END;
                -- A row here: the database holds SecretStore values written before they were
                -- encrypted; the store encrypts them the next time it opens the database.
                CREATE TABLE secret_sealing_pending (marked_at TEXT NOT NULL);
                INSERT INTO secret_sealing_pending (marked_at)
                SELECT strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
                WHERE EXISTS (SELECT 1 FROM resource_revisions WHERE kind = 'SecretStore')
                   OR EXISTS (SELECT 1 FROM tasks WHERE snapshot LIKE '%SecretStore%');
                """),
        Migration(
            version: 4, summary: "the daemon's queue: when a task was queued for a worker",
            sql: """
                ALTER TABLE tasks ADD COLUMN queued_at TEXT;
                CREATE INDEX tasks_queue ON tasks (queued_at) WHERE queued_at IS NOT NULL;
                """),
        Migration(
            version: 5, summary: "the daemon's incarnations and its own events (starts, restarts in place, refused peers)",
            sql: """
                -- One row per start of a daemon on this data directory, a restart in place included:
                -- the row id is the incarnation the daemon reports and records in its claims.
                CREATE TABLE daemon_incarnations (
                    incarnation        INTEGER PRIMARY KEY AUTOINCREMENT,
                    pid                INTEGER NOT NULL,
                    started_at         TEXT NOT NULL,
                    build_id           TEXT,            -- SHA-256 of the executable it runs
                    previous_build_id  TEXT             -- set when it began by re-executing a rebuilt binary
                );
                -- Events that belong to no task (daemon_started, daemon_restarted, daemon_draining,
                -- socket_peer_refused): `event list --daemon`.
                CREATE TABLE daemon_events (
                    id          INTEGER PRIMARY KEY AUTOINCREMENT,
                    type        TEXT NOT NULL,
                    incarnation INTEGER,
                    timestamp   TEXT NOT NULL,
                    payload     TEXT NOT NULL
                );
                """),
        Migration(
            version: 6, summary: "history at scale: tasks in creation order and by name without a full scan",
            sql: """
                CREATE INDEX tasks_by_created ON tasks (created_at, id);
                CREATE INDEX tasks_by_name ON tasks (name);
                """),
        Migration(
            version: 7, summary: "triggers: each fire claimed once (the task it created, or why none was), suspensions, the task-end cursor",
            sql: """
                -- One row per fire of a trigger, keyed by what makes it one fire (the scheduled
                -- instant of a cron fire, the event of a task end, a webhook delivery): the insert
                -- is the claim, in the transaction that creates the task, so a fire creates at most
                -- one task however many daemons share the store.
                CREATE TABLE trigger_fires (
                    project      TEXT NOT NULL,
                    trigger      TEXT NOT NULL,
                    fire_key     TEXT NOT NULL,
                    source       TEXT NOT NULL,
                    outcome      TEXT NOT NULL,     -- fired, skipped, failed, armed
                    reason       TEXT,
                    task_id      TEXT,
                    scheduled_at INTEGER,          -- seconds since the epoch (cron fires and arming)
                    fired_at     INTEGER NOT NULL, -- seconds since the epoch, by the trigger clock
                    recorded_at  TEXT NOT NULL,
                    PRIMARY KEY (project, trigger, fire_key)
                );
                CREATE INDEX trigger_fires_by_time ON trigger_fires (project, trigger, fired_at);
                CREATE INDEX trigger_fires_by_task ON trigger_fires (task_id) WHERE task_id IS NOT NULL;
                -- `trigger suspend|resume`: overrides the manifest's `suspend` until the Trigger is
                -- applied with a change (a new generation).
                CREATE TABLE trigger_overrides (
                    project    TEXT NOT NULL,
                    trigger    TEXT NOT NULL,
                    suspended  INTEGER NOT NULL,
                    generation INTEGER NOT NULL,
                    changed_at TEXT NOT NULL,
                    PRIMARY KEY (project, trigger)
                );
                -- How far the task-end triggers have read the event log.
                CREATE TABLE trigger_cursors (
                    name     TEXT PRIMARY KEY,
                    event_id INTEGER NOT NULL
                );
                """),
        Migration(
            version: 8, summary: "workflow stores: entries kept across tasks (versioned, per project); spawned tasks linked to their parent",
            sql: """
                -- One row per key of a WorkflowStore with the built-in provider; `version` counts
                -- the writes of the key (1: first written), `task_id`/`step` name the last writer.
                CREATE TABLE workflow_store_entries (
                    project     TEXT NOT NULL,
                    store       TEXT NOT NULL,
                    key         TEXT NOT NULL,
                    value       TEXT NOT NULL,     -- JSON
                    version     INTEGER NOT NULL,
                    task_id     TEXT,
                    step        TEXT,
                    created_at  TEXT NOT NULL,
                    updated_at  TEXT NOT NULL,
                    PRIMARY KEY (project, store, key)
                );
                CREATE INDEX workflow_store_entries_by_age ON workflow_store_entries (project, store, updated_at);
                -- A task spawned by a step of another: its parent, its depth (1: a child of a task
                -- nobody spawned) and the spawn key (parent, cycle, step, item, action, element):
                -- inserted with the child in one transaction, so a step that runs again after a
                -- kill -9 finds its children and creates none twice.
                CREATE TABLE task_spawns (
                    child_id    TEXT PRIMARY KEY,
                    parent_id   TEXT NOT NULL,
                    depth       INTEGER NOT NULL,
                    spawn_key   TEXT NOT NULL UNIQUE,
                    spawned_at  TEXT NOT NULL
                );
                CREATE INDEX task_spawns_by_parent ON task_spawns (parent_id);
                """),
        Migration(
            version: 9, summary: "scale-out: the processes that run tasks, each holding a lease renewed by heartbeats; a task names its owner",
            sql: """
                -- A daemon (or a foreground runner) that claims tasks registers here and renews
                -- its lease; times are milliseconds since the epoch on the database's clock, so
                -- machines' clocks never have to agree (docs/scale-out.md).
                CREATE TABLE runners (
                    id                TEXT PRIMARY KEY,
                    host              TEXT NOT NULL,
                    pid               INTEGER NOT NULL,
                    pid_start         TEXT,
                    data_directory    TEXT NOT NULL,
                    kind              TEXT NOT NULL,   -- daemon | foreground
                    workspaces        TEXT NOT NULL,   -- JSON array of names; [] serves every workspace
                    labels            TEXT NOT NULL,   -- JSON object
                    started_at        TEXT NOT NULL,
                    heartbeat_at      INTEGER NOT NULL,
                    lease_expires_at  INTEGER NOT NULL
                );
                -- The runner that owns (or has reserved) a task, and its host: a process on the
                -- same host is checked by pid, one on another host by its lease.
                ALTER TABLE tasks ADD COLUMN runner_id TEXT;
                ALTER TABLE tasks ADD COLUMN runner_host TEXT;
                CREATE INDEX tasks_by_runner ON tasks (runner_id) WHERE runner_id IS NOT NULL;
                -- The machine a step ran on: its log files stay there.
                ALTER TABLE runs ADD COLUMN host TEXT;
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
        guard current < newest else { return }
        // The pending migrations in one write transaction (a new database is created in one
        // commit: issue 20), which reads the version again: two processes (or two connections
        // of one, the daemon's pool and a forwarded command) opening a new database at once
        // must not both apply them. All or nothing: a database is at one version or the next.
        try database.transaction {
            let version = try database.schemaVersion()
            for migration in migrations where migration.version > version {
                try database.execute(migration.sql)
            }
            try database.execute("PRAGMA user_version = \(newest)")
        }
    }

    /// The tables, columns and indexes of `database` (SQLite's own tables left out): a column is
    /// `name`, or `name not null` when it cannot be NULL (a primary key's columns included).
    public static func layout(_ database: Database) throws -> SchemaLayout {
        var layout = SchemaLayout()
        let tables = try database.query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'")
        for table in tables.compactMap({ $0.first?.text }) {
            let columns = try database.query("SELECT name, \"notnull\", pk FROM pragma_table_info(?)", [.text(table)])
            layout.columns[table] = Set(columns.compactMap { row -> String? in
                guard row.count == 3, let name = row[0].text else { return nil }
                return (row[1].integer ?? 0) != 0 || (row[2].integer ?? 0) != 0 ? name + " not null" : name
            })
        }
        let indexes = try database.query("SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite\\_autoindex%' ESCAPE '\\'")
        layout.indexes = Set(indexes.compactMap { $0.first?.text })
        return layout
    }
}

/// What a schema holds, engine-independent: its tables with their columns, and its named indexes.
public struct SchemaLayout: Equatable, Sendable {
    /// Table name -> its columns (`name` or `name not null`).
    public var columns: [String: Set<String>] = [:]
    public var indexes: Set<String> = []
}
