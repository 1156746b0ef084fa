import CSQLite

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A failure of the database: what failed, SQLite's own message, and its result code.
public struct StoreError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var code: Int32
    /// PostgreSQL's SQLSTATE of a failed statement (e.g. `23505`, a unique violation); nil for SQLite.
    public var sqlState: String?

    public init(_ message: String, code: Int32 = 0) {
        self.message = message
        self.code = code
    }

    public var description: String { message }
}

/// A value bound to or read from a statement.
public enum SQLValue: Sendable, Hashable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])

    public var text: String? {
        if case .text(let s) = self { return s }
        return nil
    }

    public var integer: Int64? {
        if case .integer(let i) = self { return i }
        return nil
    }
}

/// SQLite's "copy the bound buffer now" destructor.
private let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

/// The text parameters of one statement, their UTF-8 bytes in one buffer that outlives the
/// statement's run: SQLite reads them in place (`SQLITE_STATIC`) instead of copying each value
/// into memory of its own (issue 20: a third of an apply's binding time went to those copies).
struct TextArena {
    private var storage: UnsafeMutableBufferPointer<CChar>
    /// Parameter index -> (offset, count) in `storage`; nil for non-text or empty text.
    private var spans: [(offset: Int, count: Int)?]

    init(_ values: [SQLValue]) {
        var total = 0
        for value in values { if case .text(let text) = value { total += text.utf8.count } }
        storage = .allocate(capacity: max(1, total))
        spans = []
        spans.reserveCapacity(values.count)
        var offset = 0
        for value in values {
            guard case .text(let text) = value, !text.isEmpty else {
                spans.append(nil)
                continue
            }
            let count = text.utf8.count
            UnsafeMutableRawBufferPointer(rebasing: UnsafeMutableRawBufferPointer(storage)[offset..<(offset + count)]).copyBytes(from: text.utf8)
            spans.append((offset, count))
            offset += count
        }
    }

    func bytes(ofParameter index: Int) -> UnsafeBufferPointer<CChar>? {
        guard index < spans.count, let span = spans[index] else { return nil }
        return UnsafeBufferPointer(rebasing: storage[span.offset..<(span.offset + span.count)])
    }

    /// Frees the buffer: after the statement was reset and its bindings cleared.
    func release() { storage.deallocate() }
}

/// A prepared statement. Reused through the database's statement cache.
final class Statement {
    let handle: OpaquePointer

    init(handle: OpaquePointer) { self.handle = handle }
    deinit { sqlite3_finalize(handle) }

    /// Binds `values`; the text of each `.text` value is read from `texts` (see `TextArena`),
    /// which must stay alive and unchanged until the statement is reset.
    func bind(_ values: [SQLValue], texts: TextArena, database: OpaquePointer) throws(StoreError) {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
        for (offset, value) in values.enumerated() {
            let index = Int32(offset + 1)
            let result: Int32
            switch value {
            case .null: result = sqlite3_bind_null(handle, index)
            case .integer(let i): result = sqlite3_bind_int64(handle, index, i)
            case .real(let d): result = sqlite3_bind_double(handle, index, d)
            case .text:
                if let bytes = texts.bytes(ofParameter: offset) {
                    result = sqlite3_bind_text(handle, index, bytes.baseAddress, Int32(bytes.count), nil)
                } else {
                    result = sqlite3_bind_text(handle, index, "", 0, transient)
                }
            case .blob(let bytes):
                result = bytes.withUnsafeBytes { raw in
                    sqlite3_bind_blob(handle, index, raw.baseAddress, Int32(raw.count), transient)
                }
            }
            guard result == SQLITE_OK else {
                throw StoreError("cannot bind parameter \(index): \(String(cString: sqlite3_errmsg(database)))", code: result)
            }
        }
    }

    func column(_ index: Int32) -> SQLValue {
        switch sqlite3_column_type(handle, index) {
        case SQLITE_INTEGER: return .integer(sqlite3_column_int64(handle, index))
        case SQLITE_FLOAT: return .real(sqlite3_column_double(handle, index))
        case SQLITE_TEXT:
            guard let pointer = sqlite3_column_text(handle, index) else { return .text("") }
            let count = Int(sqlite3_column_bytes(handle, index))
            return .text(String(decoding: UnsafeBufferPointer(start: pointer, count: count), as: UTF8.self))
        case SQLITE_BLOB:
            let count = Int(sqlite3_column_bytes(handle, index))
            guard let pointer = sqlite3_column_blob(handle, index), count > 0 else { return .blob([]) }
            return .blob(Array(UnsafeRawBufferPointer(start: pointer, count: count)))
        default: return .null
        }
    }
}

/// One connection to a SQLite database file: WAL journal, foreign keys on, a busy timeout,
/// prepared statements cached by SQL text, every write in a transaction.
///
/// A `Database` is used from one thread at a time (the CLI and each runner worker open their own).
public final class Database: SQLConnection, @unchecked Sendable {
    fileprivate let handle: OpaquePointer
    private var statements: [String: Statement] = [:]
    /// The statements used last, looked at before hashing the SQL text: a loop runs the same few
    /// (the same literal compares equal at once, by its storage).
    private var recent: [(sql: String, statement: Statement)] = []
    private let nesting = TransactionNesting()
    public let path: String
    public private(set) var statementsRun = 0
    public var engine: StoreEngine { .sqlite }
    public var displayTarget: String { path }

    /// The path of a private, empty, in-memory database (nothing touches the disk).
    public static let inMemory = ":memory:"

    /// Opens (creating if needed) the database at `path`. A new file is created readable and
    /// writable by the owner only (0600), and so are its journal files.
    public init(path: String, busyTimeoutMilliseconds: Int32 = 5000) throws(StoreError) {
        self.path = path
        if path != Database.inMemory {
            // Create the file ourselves so its mode is 0600 from the first byte; SQLite gives the
            // -wal and -shm files the same permissions as the database file. Only a file that
            // does not exist yet is opened here: closing a descriptor of a database another
            // connection of this process has open would drop that connection's POSIX locks (a
            // daemon opens several connections), and its writes would no longer be seen.
            let fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            if fd >= 0 {
                close(fd)
            } else if errno != EEXIST {
                throw StoreError("cannot open the database file \(path): \(String(cString: strerror(errno)))")
            }
        }
        var connection: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let result = sqlite3_open_v2(path, &connection, flags, nil)
        guard result == SQLITE_OK, let connection else {
            let message = connection.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            if let connection { sqlite3_close_v2(connection) }
            throw StoreError("cannot open the database \(path): \(message)", code: result)
        }
        handle = connection
        sqlite3_busy_timeout(handle, busyTimeoutMilliseconds)
        sqlite3_extended_result_codes(handle, 1)
        if path != Database.inMemory {
            // Switching to WAL needs a moment alone with the file: a second connection opening a
            // new database at the same instant is answered SQLITE_BUSY without the busy handler.
            // Retry for the busy timeout, then report.
            var waited: Int32 = 0
            while true {
                do {
                    try execute("PRAGMA journal_mode = WAL")
                    break
                } catch {
                    // (A throw here closes the connection: deinit runs for an initialised object.)
                    guard error.code & 0xFF == SQLITE_BUSY || error.code & 0xFF == SQLITE_LOCKED, waited < busyTimeoutMilliseconds else {
                        throw error
                    }
                    usleep(10_000)
                    waited += 10
                }
            }
        }
        try execute("PRAGMA foreign_keys = ON")
        try execute("PRAGMA synchronous = NORMAL")
    }

    deinit {
        statements.removeAll()
        recent.removeAll()
        sqlite3_close_v2(handle)
    }

    private var lastError: String { String(cString: sqlite3_errmsg(handle)) }

    /// Runs one or more SQL statements without parameters (schema, pragmas).
    public func execute(_ sql: String) throws(StoreError) {
        statementsRun += 1
        var message: UnsafeMutablePointer<CChar>?
        let result = sqlite3_exec(handle, sql, nil, nil, &message)
        if result != SQLITE_OK {
            let text = message.map { String(cString: $0) } ?? lastError
            sqlite3_free(message)
            throw StoreError("database error: \(text)", code: result)
        }
    }

    private func statement(_ sql: String) throws(StoreError) -> Statement {
        for entry in recent where entry.sql == sql { return entry.statement }
        if let cached = statements[sql] {
            remember(sql, cached)
            return cached
        }
        var pointer: OpaquePointer?
        let result = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &pointer, nil)
        guard result == SQLITE_OK, let pointer else {
            throw StoreError("database error preparing a statement: \(lastError)", code: result)
        }
        let prepared = Statement(handle: pointer)
        statements[sql] = prepared
        remember(sql, prepared)
        return prepared
    }

    private func remember(_ sql: String, _ statement: Statement) {
        if recent.count == 4 { recent.removeFirst() }
        recent.append((sql, statement))
    }

    /// Runs a statement and returns every row.
    @discardableResult
    public func query(_ sql: String, _ parameters: [SQLValue] = []) throws(StoreError) -> [[SQLValue]] {
        statementsRun += 1
        let prepared = try statement(sql)
        let texts = TextArena(parameters)
        defer {
            // No binding may point into the buffer once it is freed.
            sqlite3_reset(prepared.handle)
            sqlite3_clear_bindings(prepared.handle)
            texts.release()
        }
        try prepared.bind(parameters, texts: texts, database: handle)
        var rows: [[SQLValue]] = []
        let columns = sqlite3_column_count(prepared.handle)
        while true {
            let result = sqlite3_step(prepared.handle)
            if result == SQLITE_DONE { break }
            guard result == SQLITE_ROW else {
                throw StoreError("database error: \(lastError)", code: result)
            }
            var row: [SQLValue] = []
            row.reserveCapacity(Int(columns))
            for index in 0..<columns { row.append(prepared.column(index)) }
            rows.append(row)
        }
        return rows
    }

    /// Runs a cached statement without parameters or rows (the transaction's BEGIN, COMMIT and
    /// ROLLBACK: prepared once per connection rather than parsed on every transaction).
    private func step(_ sql: String) throws(StoreError) {
        statementsRun += 1
        let prepared = try statement(sql)
        defer { sqlite3_reset(prepared.handle) }
        let result = sqlite3_step(prepared.handle)
        guard result == SQLITE_DONE || result == SQLITE_ROW else {
            throw StoreError("database error: \(lastError)", code: result)
        }
    }

    /// Runs a statement for its effect.
    public func run(_ sql: String, _ parameters: [SQLValue] = []) throws(StoreError) {
        try query(sql, parameters)
    }


    /// Runs `body` in one transaction (`BEGIN IMMEDIATE`, so writers queue on the busy timeout
    /// instead of failing mid-way): committed when it returns, rolled back when it throws.
    /// Nested calls join the outer transaction.
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        try nesting.run(begin: { try step("BEGIN IMMEDIATE") }, commit: { try step("COMMIT") }, rollback: { try? step("ROLLBACK") }, body)
    }

    /// `PRAGMA user_version`: the schema version the migrations have reached.
    public func schemaVersion() throws(StoreError) -> Int {
        Int(try query("PRAGMA user_version").first?.first?.integer ?? 0)
    }

    /// `PRAGMA integrity_check` answers `ok` for an intact database.
    public func integrityCheck() throws(StoreError) -> String {
        try query("PRAGMA integrity_check").first?.first?.text ?? "no answer"
    }
}

/// The nesting rule of both engines' transactions: the outermost call begins, and commits when
/// its body returns or rolls back when it throws; a call inside it joins it.
final class TransactionNesting {
    private var depth = 0

    /// True inside a transaction.
    var inside: Bool { depth > 0 }

    func run<T>(begin: () throws -> Void, commit: () throws -> Void, rollback: () -> Void, _ body: () throws -> T) throws -> T {
        if depth > 0 {
            depth += 1
            defer { depth -= 1 }
            return try body()
        }
        try begin()
        depth = 1
        do {
            let value = try body()
            depth = 0
            try commit()
            return value
        } catch {
            depth = 0
            rollback()
            throw error
        }
    }
}

/// What the store's statements run on: the embedded engine's `Database` (SQLite) or a
/// `PostgresConnection`. The statements are written once, in the SQL both accept: `?`
/// parameters (the PostgreSQL client numbers them), `INSERT ... ON CONFLICT ... DO NOTHING`,
/// and `RETURNING` for generated ids and for what a statement changed.
public protocol SQLConnection: AnyObject {
    /// Which engine this is: the few statements that differ (row locks, query plans, the
    /// engine's own maintenance) ask it.
    var engine: StoreEngine { get }
    /// Where it is (a file path, or a PostgreSQL URI without its password): what messages name.
    var displayTarget: String { get }
    /// Statements sent to the engine so far, transaction control included: the store's round
    /// trips (on PostgreSQL each is one over the network), counted for docs/performance.md.
    var statementsRun: Int { get }
    /// Runs a statement and returns every row.
    @discardableResult
    func query(_ sql: String, _ parameters: [SQLValue]) throws(StoreError) -> [[SQLValue]]
    /// Runs statements without parameters (schema, settings).
    func execute(_ sql: String) throws(StoreError)
    /// Runs a statement for its effect.
    func run(_ sql: String, _ parameters: [SQLValue]) throws(StoreError)
    /// Runs `body` in one transaction; nested calls join it.
    func transaction<T>(_ body: () throws -> T) throws -> T
    /// Runs an INSERT and returns the generated `idColumn` of the row it made.
    func insertReturningID(_ sql: String, idColumn: String, _ parameters: [SQLValue]) throws(StoreError) -> Int64
}

/// The two engines of the store.
public enum StoreEngine: String, Sendable {
    /// The embedded default: one file in the data directory.
    case sqlite
    /// Scale-out: one database shared by daemons on many machines (docs/scale-out.md).
    case postgres

    /// What a `SELECT` that decides a write appends to lock the rows it read until the
    /// transaction ends. SQLite needs nothing: its write transaction (`BEGIN IMMEDIATE`) already
    /// excludes every other writer.
    var lockRows: String { self == .postgres ? " FOR UPDATE" : "" }
    /// `lockRows`, passing over rows another transaction holds (a queue's claim).
    var lockRowsSkippingLocked: String { self == .postgres ? " FOR UPDATE SKIP LOCKED" : "" }
}

extension SQLConnection {
    public func run(_ sql: String) throws(StoreError) { try run(sql, []) }

    /// Readers follow the event log by id (`events after N`, the trigger cursors): an id must
    /// never become visible after a higher one. SQLite's single writer guarantees it; on
    /// PostgreSQL, where sequence values are taken before commit, the task store's write
    /// transactions take one transaction-scoped lock first (once per transaction), so they
    /// commit one at a time, in id order, and never deadlock on each other's rows.
    func serialiseAppends() throws(StoreError) {
        guard engine == .postgres, let postgres = self as? PostgresConnection else { return }
        _ = try postgres.lockAppends()
    }

    @discardableResult
    public func query(_ sql: String) throws(StoreError) -> [[SQLValue]] { try query(sql, []) }

    /// The default: `INSERT ... RETURNING <idColumn>` (the PostgreSQL client's way).
    public func insertReturningID(_ sql: String, idColumn: String, _ parameters: [SQLValue]) throws(StoreError) -> Int64 {
        guard let id = try query(sql + " RETURNING " + idColumn, parameters).first?.first?.integer else {
            throw StoreError("database error: an insert returned no id (\(sql.prefix(60)))")
        }
        return id
    }
}

extension Database {
    /// SQLite's way: the rowid of the insert, which is the table's integer primary key (every
    /// table with a generated id has one). On the runner's path (events, runs), so not through
    /// RETURNING, whose result buffering costs SQLite more.
    public func insertReturningID(_ sql: String, idColumn: String, _ parameters: [SQLValue]) throws(StoreError) -> Int64 {
        try run(sql, parameters)
        return sqlite3_last_insert_rowid(handle)
    }
}
