import CPostgres
import Hashing

/// One connection to a PostgreSQL database through the system libpq: the client layer of the
/// scale-out engine (issue 19, docs/scale-out.md). It speaks the same values as the SQLite
/// `Database` (`SQLValue` parameters and rows), runs statements with `$1`-style parameters sent
/// apart from the SQL text (never spliced into it), and joins nested transactions like
/// `Database.transaction`.
///
/// The connection string is a libpq URI or keyword string (`postgres://USER@HOST:PORT/DB`); a
/// password comes from `PGPASSWORD` or `~/.pgpass`, as libpq reads them, or from the URI, and is
/// never shown: `displayTarget` is the URI without it.
///
/// A `PostgresConnection` is used from one thread at a time, as a `Database` is.
public final class PostgresConnection: SQLConnection, @unchecked Sendable {
    private let handle: OpaquePointer
    private let nesting = TransactionNesting()
    /// Statement texts with their `?` parameters numbered (`numberedPlaceholders`).
    private var numbered: [String: String] = [:]
    /// Where it is connected, without a password: what messages name.
    public let displayTarget: String
    public var engine: StoreEngine { .postgres }
    public private(set) var statementsRun = 0
    /// Counts transactions begun; `appendLock` is the one whose appends are serialised already.
    private var transactionNumber = 0
    private var appendLock = -1

    /// The lock that keeps event ids visible in order (`SQLConnection.serialiseAppends`), taken
    /// once per transaction: by the first append, or with the runner's fence (`fence`: the rest of
    /// a SELECT of the caller's, which the lock joins as its first column: one round trip).
    func lockAppends(with fence: (sql: String, parameters: [SQLValue])? = nil) throws(StoreError) -> [[SQLValue]] {
        let key: SQLValue = .integer(PostgresConnection.appendLockKey)
        if let fence {
            let rows = try query("SELECT pg_advisory_xact_lock(?), " + fence.sql, [key] + fence.parameters)
            if !rows.isEmpty { appendLock = transactionNumber }
            return rows
        }
        guard appendLock != transactionNumber else { return [] }
        try run("SELECT pg_advisory_xact_lock(?)", [key])
        appendLock = transactionNumber
        return []
    }

    static let appendLockKey: Int64 = 0x6f72_6365_7674  // "orcevt"

    /// Connects, or throws a `StoreError` that names the target (without a password) and
    /// libpq's reason.
    public init(_ connectionString: String) throws(StoreError) {
        displayTarget = PostgresConnection.redacted(connectionString)
        guard let connection = PQconnectdb(connectionString) else {
            throw StoreError("cannot connect to PostgreSQL at \(displayTarget): out of memory")
        }
        guard PQstatus(connection) == CONNECTION_OK else {
            let reason = PostgresConnection.text(PQerrorMessage(connection))
            PQfinish(connection)
            throw StoreError(
                "cannot connect to PostgreSQL at \(displayTarget): \(PostgresConnection.redact(reason, connectionString))"
                    + " (is the server running, and does --store name it?)")
        }
        handle = connection
        // Notices (e.g. "table already exists, skipping") are not output of ours.
        try setSession("SET client_min_messages = warning")
    }

    /// Session settings, set again after a reconnection.
    private var settings: [String] = []

    /// Sets a session parameter (`SET name = value`) for this connection and any it reconnects.
    public func setSession(_ statement: String) throws(StoreError) {
        try execute(statement)
        settings.append(statement)
    }

    /// A connection the server closed (it restarted, or ended the session) is opened again
    /// before the next statement that begins no transaction's middle: the statement that met
    /// the closed connection failed, as it must (it may or may not have run); the next one runs
    /// on a new session. Inside a transaction nothing is reconnected: that transaction is lost
    /// and fails.
    private func reconnectIfClosed() throws(StoreError) {
        guard PQstatus(handle) == CONNECTION_BAD, !nesting.inside else { return }
        PQreset(handle)
        guard PQstatus(handle) == CONNECTION_OK else {
            throw StoreError("the connection to PostgreSQL at \(displayTarget) was lost and cannot be opened again: \(PostgresConnection.text(PQerrorMessage(handle)))")
        }
        appendLock = -1
        for statement in settings { try execute(statement) }
    }

    deinit { PQfinish(handle) }

    /// Runs one or more statements without parameters (schema, settings).
    public func execute(_ sql: String) throws(StoreError) {
        try reconnectIfClosed()
        statementsRun += 1
        guard let result = PQexec(handle, sql) else { throw failure(nil, sql: sql) }
        defer { PQclear(result) }
        let status = PQresultStatus(result)
        guard status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK else { throw failure(result, sql: sql) }
    }

    /// Runs a statement with `$1`, `$2`, … parameters and returns every row. Integers come back
    /// as `.integer`, floating point numbers as `.real`, `bytea` as `.blob`, booleans as
    /// `.integer` 0/1, SQL NULL as `.null`, everything else as `.text`.
    @discardableResult
    public func query(_ sql: String, _ parameters: [SQLValue] = []) throws(StoreError) -> [[SQLValue]] {
        try reconnectIfClosed()
        statementsRun += 1
        // Parameters go as text (bytea in its hex form) with their types left to the server,
        // which infers them from the statement.
        let texts: [String?] = parameters.map { value in
            switch value {
            case .null: return nil
            case .integer(let number): return String(number)
            case .real(let number): return String(number)
            case .text(let text): return text
            case .blob(let bytes): return "\\x" + Hex.encode(bytes)
            }
        }
        let numbered = numberedPlaceholders(sql)
        let result = withCStrings(texts) { pointers in
            PQexecParams(handle, numbered, Int32(pointers.count), nil, pointers, nil, nil, 0)
        }
        guard let result else { throw failure(nil, sql: sql) }
        defer { PQclear(result) }
        let status = PQresultStatus(result)
        if status == PGRES_COMMAND_OK { return [] }
        guard status == PGRES_TUPLES_OK else { throw failure(result, sql: sql) }
        let rowCount = PQntuples(result)
        let columnCount = PQnfields(result)
        let types = (0..<columnCount).map { PQftype(result, $0) }
        var rows: [[SQLValue]] = []
        rows.reserveCapacity(Int(rowCount))
        for row in 0..<rowCount {
            var values: [SQLValue] = []
            values.reserveCapacity(Int(columnCount))
            for column in 0..<columnCount {
                if PQgetisnull(result, row, column) == 1 {
                    values.append(.null)
                    continue
                }
                let length = Int(PQgetlength(result, row, column))
                let text: String
                if let pointer = PQgetvalue(result, row, column) {
                    text = pointer.withMemoryRebound(to: UInt8.self, capacity: length) {
                        String(decoding: UnsafeBufferPointer(start: $0, count: length), as: UTF8.self)
                    }
                } else {
                    text = ""
                }
                values.append(PostgresConnection.value(text, type: types[Int(column)]))
            }
            rows.append(values)
        }
        return rows
    }

    /// `sql` with its `?` parameters numbered `$1`, `$2`, … (the store's statements are written
    /// once for both engines); a `?` inside a quoted string or identifier or a `--` comment stays.
    /// Remembered per statement text.
    func numberedPlaceholders(_ sql: String) -> String {
        if let known = numbered[sql] { return known }
        var out: [UInt8] = []
        out.reserveCapacity(sql.utf8.count + 8)
        var count = 0
        var quote: UInt8? = nil
        var comment = false
        var previous: UInt8 = 0
        for byte in sql.utf8 {
            if comment {
                if byte == UInt8(ascii: "\n") { comment = false }
            } else if let open = quote {
                if byte == open { quote = nil }
            } else if byte == UInt8(ascii: "'") || byte == UInt8(ascii: "\"") {
                quote = byte
            } else if byte == UInt8(ascii: "-"), previous == UInt8(ascii: "-") {
                comment = true
            } else if byte == UInt8(ascii: "?") {
                count += 1
                out += Array("$\(count)".utf8)
                previous = byte
                continue
            }
            out.append(byte)
            previous = byte
        }
        let text = String(decoding: out, as: UTF8.self)
        numbered[sql] = text
        return text
    }

    /// Runs a statement for its effect.
    public func run(_ sql: String, _ parameters: [SQLValue] = []) throws(StoreError) {
        try query(sql, parameters)
    }

    /// Runs `body` in one transaction: committed when it returns, rolled back when it throws.
    /// Nested calls join the outer transaction.
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        try nesting.run(
            begin: {
                try execute("BEGIN")
                transactionNumber += 1
            }, commit: { try execute("COMMIT") }, rollback: { try? execute("ROLLBACK") }, body)
    }

    /// The server's version number (e.g. 150018 for 15.18).
    public var serverVersion: Int { Int(PQserverVersion(handle)) }

    // MARK: - Values and errors

    /// Type OIDs of the built-in types read as numbers or bytes (pg_type.h).
    private static let integerTypes: Set<UInt32> = [20, 21, 23, 26]  // int8, int2, int4, oid
    private static let realTypes: Set<UInt32> = [700, 701, 1700]  // float4, float8, numeric
    private static let booleanType: UInt32 = 16
    private static let byteaType: UInt32 = 17

    private static func value(_ text: String, type: UInt32) -> SQLValue {
        if integerTypes.contains(type), let number = Int64(text) { return .integer(number) }
        if realTypes.contains(type), let number = Double(text) { return .real(number) }
        if type == booleanType { return .integer(text == "t" ? 1 : 0) }
        if type == byteaType, let bytes = unhex(text) { return .blob(bytes) }
        return .text(text)
    }

    /// `\x0a1b…` (bytea's hex output) as bytes; nil for anything else.
    private static func unhex(_ text: String) -> [UInt8]? {
        guard text.hasPrefix("\\x") else { return nil }
        return Hex.decode(text.dropFirst(2))
    }

    /// The error of a failed statement: the server's message with its SQLSTATE.
    private func failure(_ result: OpaquePointer?, sql: String) -> StoreError {
        let message = result.flatMap { PQresultErrorMessage($0) }.map(PostgresConnection.text) ?? PostgresConnection.text(PQerrorMessage(handle))
        let state = result.flatMap { PQresultErrorField($0, Int32(UInt8(ascii: "C"))) }.map { String(cString: $0) }
        let trimmed = message.trimmingTrailingNewlines
        var error = StoreError("database error: \(trimmed.isEmpty ? "no answer from \(displayTarget)" : trimmed)")
        error.sqlState = state
        return error
    }

    private static func text(_ pointer: UnsafeMutablePointer<CChar>?) -> String {
        pointer.map { String(cString: $0) } ?? ""
    }

    /// A connection string as it may be shown: the password of a URI (`user:PASSWORD@`) and a
    /// `password=` keyword replaced by `***`.
    public static func redacted(_ connectionString: String) -> String {
        var text = connectionString
        if let scheme = text.firstRange(of: "://"), let at = text[scheme.upperBound...].firstIndex(of: "@") {
            let userInfo = text[scheme.upperBound..<at]
            if let colon = userInfo.firstIndex(of: ":") {
                text.replaceSubrange(text.index(after: colon)..<at, with: "***")
            }
        }
        var words: [String] = []
        for word in text.split(separator: " ", omittingEmptySubsequences: false) {
            words.append(word.hasPrefix("password=") ? "password=***" : String(word))
        }
        text = words.joined(separator: " ")
        if let query = text.firstRange(of: "password="), text.contains("://") {
            let end = text[query.upperBound...].firstIndex(of: "&") ?? text.endIndex
            text.replaceSubrange(query.upperBound..<end, with: "***")
        }
        return text
    }

    /// `message` with any occurrence of the connection string's password removed.
    private static func redact(_ message: String, _ connectionString: String) -> String {
        guard let password = password(in: connectionString), !password.isEmpty else { return message.trimmingTrailingNewlines }
        return message.replacing(password, with: "***").trimmingTrailingNewlines
    }

    private static func password(in connectionString: String) -> String? {
        if let scheme = connectionString.firstRange(of: "://"), let at = connectionString[scheme.upperBound...].firstIndex(of: "@") {
            let userInfo = connectionString[scheme.upperBound..<at]
            if let colon = userInfo.firstIndex(of: ":") { return String(userInfo[userInfo.index(after: colon)...]) }
        }
        for word in connectionString.split(separator: " ") where word.hasPrefix("password=") {
            return String(word.dropFirst("password=".count))
        }
        return nil
    }
}

/// Calls `body` with a C array of NUL-terminated copies of `strings` (nil stays a null pointer),
/// valid for the duration of the call.
private func withCStrings<R>(_ strings: [String?], _ body: ([UnsafePointer<CChar>?]) -> R) -> R {
    var copies: [UnsafeMutablePointer<CChar>?] = []
    copies.reserveCapacity(strings.count)
    defer { for copy in copies { copy?.deallocate() } }
    for string in strings {
        guard let string else {
            copies.append(nil)
            continue
        }
        let utf8 = Array(string.utf8)
        let copy = UnsafeMutablePointer<CChar>.allocate(capacity: utf8.count + 1)
        for (index, byte) in utf8.enumerated() { copy[index] = CChar(bitPattern: byte) }
        copy[utf8.count] = 0
        copies.append(copy)
    }
    return body(copies.map { $0.map { UnsafePointer($0) } })
}

extension String {
    fileprivate var trimmingTrailingNewlines: String {
        var text = self
        while let last = text.last, last == "\n" || last == " " { text.removeLast() }
        return text
    }

}
