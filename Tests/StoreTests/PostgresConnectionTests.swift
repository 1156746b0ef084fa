import Store
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The PostgreSQL server these tests use: `ORCHESTRATOR_TEST_POSTGRES` (a libpq URI), set by
/// `scripts/postgres-test-cluster.sh start` (which `.ci/run` runs). Without it they skip.
let testPostgres: String? = getenv("ORCHESTRATOR_TEST_POSTGRES").map { String(cString: $0) }

@Suite(
    "PostgreSQL client (libpq)",
    .enabled(
        if: testPostgres != nil,
        "no PostgreSQL server: set ORCHESTRATOR_TEST_POSTGRES (scripts/postgres-test-cluster.sh start) to run these"))
struct PostgresConnectionTests {
    /// A table of this test's own, dropped when the connection's session ends.
    func connection() throws -> PostgresConnection {
        try PostgresConnection(testPostgres ?? "")
    }

    @Test("values of every kind go in as parameters and come back typed; SQL text never holds them")
    func parametersAndRows() throws {
        let db = try connection()
        #expect(db.serverVersion >= 120_000)
        try db.execute("CREATE TEMPORARY TABLE kinds (i BIGINT, r DOUBLE PRECISION, t TEXT, b BYTEA, n TEXT, f BOOLEAN)")
        let hostile = "x'); DROP TABLE kinds; --\n✓ ünïcode"
        try db.run(
            "INSERT INTO kinds VALUES ($1, $2, $3, $4, $5, $6)",
            [.integer(-9_007_199_254_740_993), .real(2.5), .text(hostile), .blob([0, 1, 0xfe, 0xff]), .null, .integer(1)])
        let rows = try db.query("SELECT i, r, t, b, n, f FROM kinds WHERE t = $1", [.text(hostile)])
        #expect(rows.count == 1)
        #expect(rows.first == [.integer(-9_007_199_254_740_993), .real(2.5), .text(hostile), .blob([0, 1, 0xfe, 0xff]), .null, .integer(1)])
        #expect(try db.query("SELECT count(*) FROM kinds").first == [.integer(1)])
    }

    @Test("a transaction that throws leaves nothing; nested transactions join the outer one")
    func transactionsAreAllOrNothing() throws {
        let db = try connection()
        try db.execute("CREATE TEMPORARY TABLE t (k TEXT PRIMARY KEY)")
        struct Stop: Error {}
        #expect(throws: Stop.self) {
            try db.transaction {
                try db.run("INSERT INTO t VALUES ($1)", [.text("a")])
                try db.transaction { try db.run("INSERT INTO t VALUES ($1)", [.text("b")]) }
                throw Stop()
            }
        }
        #expect(try db.query("SELECT count(*) FROM t").first == [.integer(0)])
        try db.transaction {
            try db.run("INSERT INTO t VALUES ($1)", [.text("a")])
            try db.transaction { try db.run("INSERT INTO t VALUES ($1)", [.text("b")]) }
        }
        #expect(try db.query("SELECT k FROM t ORDER BY k") == [[.text("a")], [.text("b")]])
    }

    @Test("a failed statement says why and carries its SQLSTATE; the connection stays usable")
    func errorsCarrySQLState() throws {
        let db = try connection()
        try db.execute("CREATE TEMPORARY TABLE u (k TEXT PRIMARY KEY)")
        try db.run("INSERT INTO u VALUES ($1)", [.text("x")])
        do {
            try db.run("INSERT INTO u VALUES ($1)", [.text("x")])
            Issue.record("a duplicate key was accepted")
        } catch {
            #expect(error.sqlState == "23505")
            #expect(error.message.contains("duplicate key"))
        }
        do {
            try db.run("SELEC 1")
            Issue.record("a syntax error was accepted")
        } catch {
            #expect(error.sqlState == "42601")
        }
        #expect(try db.query("SELECT 1 + $1::int", [.integer(41)]).first == [.integer(42)])
    }
}

/// No server needed: what a refused connection says.
@Suite struct PostgresConnectionErrorTests {
    @Test("a server that is not there is named without the password, and the error says what to check")
    func unreachableServerNeverShowsThePassword() {
        do {
            _ = try PostgresConnection("postgres://orchestrator:s3cret-pw@127.0.0.1:1/nothing?connect_timeout=2")
            Issue.record("connected to port 1")
        } catch {
            #expect(error.message.contains("127.0.0.1:1/nothing"))
            #expect(!error.message.contains("s3cret-pw"))
            #expect(error.message.contains("is the server running"))
        }
        #expect(PostgresConnection.redacted("postgres://u:pw@h:5/db") == "postgres://u:***@h:5/db")
        #expect(PostgresConnection.redacted("host=h password=pw dbname=d") == "host=h password=*** dbname=d")
        #expect(PostgresConnection.redacted("postgres://u@h/db?password=pw&sslmode=disable") == "postgres://u@h/db?password=***&sslmode=disable")
    }
}

@Suite(
    "PostgreSQL schema: the same numbered migrations as the embedded engine",
    .enabled(
        if: testPostgres != nil,
        "no PostgreSQL server: set ORCHESTRATOR_TEST_POSTGRES (scripts/postgres-test-cluster.sh start) to run these"))
struct PostgresSchemaTests {
    /// A connection whose session works in a schema of its own (dropped at the end of the test).
    func scratch() throws -> (PostgresConnection, String) {
        let db = try PostgresConnection(testPostgres ?? "")
        let name = "t_" + String(UInt64.random(in: 0..<UInt64.max), radix: 36)
        try db.execute("CREATE SCHEMA \(name); SET search_path TO \(name)")
        return (db, name)
    }

    @Test("migrating gives the SQLite engine's tables, columns, NOT NULLs and indexes; a second run changes nothing")
    func sameLayoutAsSQLite() throws {
        let (db, name) = try scratch()
        defer { try? db.execute("DROP SCHEMA \(name) CASCADE") }
        try PostgresSchema.migrate(db)
        #expect(try PostgresSchema.version(db) == Schema.migrations.last?.version)
        try PostgresSchema.migrate(db)
        #expect(try PostgresSchema.version(db) == Schema.migrations.last?.version)

        let sqlite = try Database(path: Database.inMemory)
        try Schema.migrate(sqlite)
        let expected = try Schema.layout(sqlite)
        let actual = try PostgresSchema.layout(db)
        #expect(expected.columns.count >= 15)
        #expect(Set(actual.columns.keys) == Set(expected.columns.keys))
        for (table, columns) in expected.columns {
            #expect(actual.columns[table] == columns, "table \(table)")
        }
        #expect(actual.indexes == expected.indexes)
    }

    @Test("revisions stay append-only: no update or delete, except re-encrypting a SecretStore's spec")
    func revisionsAreAppendOnly() throws {
        let (db, name) = try scratch()
        defer { try? db.execute("DROP SCHEMA \(name) CASCADE") }
        try PostgresSchema.migrate(db)
        let insert = """
            INSERT INTO resource_revisions (kind, project, name, generation, change, api_version, metadata, spec, content_hash, recorded_at)
            VALUES ($1, 'p', 'n', 1, 'created', 'v', '{}', '{}', 'h', 't') RETURNING id
            """
        let agent = try db.query(insert, [.text("Agent")]).first?.first ?? .null
        let secret = try db.query(insert, [.text("SecretStore")]).first?.first ?? .null
        #expect(throws: StoreError.self) { try db.run("UPDATE resource_revisions SET name = 'x' WHERE id = $1", [agent]) }
        #expect(throws: StoreError.self) { try db.run("UPDATE resource_revisions SET spec = 'x' WHERE id = $1", [agent]) }
        #expect(throws: StoreError.self) { try db.run("DELETE FROM resource_revisions WHERE id = $1", [agent]) }
        try db.run("UPDATE resource_revisions SET spec = 'sealed', content_hash = 'k' WHERE id = $1", [secret])
        #expect(try db.query("SELECT spec FROM resource_revisions WHERE id = $1", [secret]).first == [.text("sealed")])
    }

    @Test("a database newer than this build is refused, naming the versions")
    func newerDatabaseIsRefused() throws {
        let (db, name) = try scratch()
        defer { try? db.execute("DROP SCHEMA \(name) CASCADE") }
        try PostgresSchema.migrate(db)
        try db.run("INSERT INTO orchestrator_schema (version) VALUES (999)")
        do {
            try PostgresSchema.migrate(db)
            Issue.record("a newer schema was accepted")
        } catch let error as StoreError {
            #expect(error.message.contains("schema version 999"))
            #expect(error.message.contains("use a newer orchestrator"))
        }
    }
}

/// The store's statements are written once: `?` parameters become `$n` for PostgreSQL.
@Suite struct PlaceholderNumberingTests {
    @Test(
        "PostgreSQL: `?` outside quotes and comments is numbered, inside them it stays; ids and changes come back through RETURNING",
        .enabled(if: testPostgres != nil, "no PostgreSQL server: set ORCHESTRATOR_TEST_POSTGRES to run this"))
    func numbering() throws {
        let db = try PostgresConnection(testPostgres ?? "")
        let row = try db.query("SELECT ?::text, '?' , \"?col\".x FROM (SELECT ?::bigint AS x) AS \"?col\" -- ? stays\n WHERE ? = ?", [
            .text("a"), .integer(7), .integer(1), .integer(1),
        ])
        #expect(row == [[.text("a"), .text("?"), .integer(7)]])
        try db.execute("CREATE TEMPORARY TABLE ids (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, k TEXT UNIQUE)")
        try expectReturning(db)
    }

    @Test("SQLite: the same statements, ids and changes through RETURNING")
    func sqliteReturning() throws {
        let db = try Database(path: Database.inMemory)
        try db.execute("CREATE TABLE ids (id INTEGER PRIMARY KEY, k TEXT UNIQUE)")
        try expectReturning(db)
    }

    func expectReturning(_ db: some SQLConnection) throws {
        #expect(try db.insertReturningID("INSERT INTO ids (k) VALUES (?)", idColumn: "id", [.text("x")]) == 1)
        #expect(try db.insertReturningID("INSERT INTO ids (k) VALUES (?)", idColumn: "id", [.text("y")]) == 2)
        #expect(try db.query("INSERT INTO ids (k) VALUES (?) ON CONFLICT (k) DO NOTHING RETURNING id", [.text("x")]).isEmpty)
        #expect(try db.query("DELETE FROM ids WHERE k = ? RETURNING id", [.text("x")]).count == 1)
        #expect(try db.query("DELETE FROM ids WHERE k = ? RETURNING id", [.text("x")]).isEmpty)
    }
}
