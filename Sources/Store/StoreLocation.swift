/// Which engine and database a process uses: `--store URL` or `$ORCHESTRATOR_STORE` names a
/// PostgreSQL database shared by many daemons (docs/scale-out.md); without either, the SQLite
/// database in the data directory. Every process that opens the store goes through `open`.
public struct StoreLocation: Sendable, Equatable {
    public static let environmentVariable = "ORCHESTRATOR_STORE"

    /// The libpq connection string (a `postgres://` or `postgresql://` URI), as given.
    public let connectionString: String

    /// Nil unless `text` is a PostgreSQL URI.
    public init?(_ text: String) {
        guard text.hasPrefix("postgres://") || text.hasPrefix("postgresql://") else { return nil }
        connectionString = text
    }

    /// Where it is, without a password (for messages).
    public var display: String { PostgresConnection.redacted(connectionString) }

    /// Creates the schema `name` in the database `server` names and returns the URI whose
    /// sessions see only it (`search_path`): one team's, one test's or one benchmark
    /// configuration's own tables in a shared database. `name` is an identifier of lower-case
    /// letters, digits and underscores.
    public static func newSchema(_ name: String, on server: String) throws -> String {
        guard let first = name.first, first.isLetter, name.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "_") }) else {
            throw StoreError("`\(name)` is not a schema name of lower-case letters, digits and underscores")
        }
        try PostgresConnection(server).execute("CREATE SCHEMA \(name)")
        return server + (server.contains("?") ? "&" : "?") + "options=-csearch_path%3D\(name)"
    }
}

extension SQLResourceStore {
    /// Opens the store `store` names (nil: the SQLite database of `dataDirectory`); the data
    /// directory holds this machine's logs either way.
    public static func connect(store: StoreLocation?, dataDirectory: String, keyFile: SecretKeyFile = .forProcess()) throws -> SQLResourceStore {
        guard let store else { return try SQLResourceStore(dataDirectory: dataDirectory, keyFile: keyFile) }
        return try SQLResourceStore(postgres: store.connectionString, dataDirectory: dataDirectory, keyFile: keyFile)
    }
}
