import Store
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The store engines a test runs on: SQLite always, PostgreSQL when `ORCHESTRATOR_TEST_POSTGRES`
/// names a server (`scripts/postgres-test-cluster.sh start`; `.ci/run` starts one). Without one
/// the PostgreSQL cases are left out, and the suite "PostgreSQL client (libpq)" says so.
enum Engine: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case sqlite, postgres

    static var available: [Engine] { testPostgres == nil ? [.sqlite] : [.sqlite, .postgres] }

    var testDescription: String { rawValue }

    /// A fresh, empty store of this engine: SQLite in a new data directory; PostgreSQL in a new
    /// schema of the test database (its own tables, through the URI's `search_path`).
    func store(_ label: String) throws -> SQLResourceStore {
        let data = temporaryDirectory(label) + "/data"
        switch self {
        case .sqlite: return try SQLResourceStore(dataDirectory: data)
        case .postgres: return try SQLResourceStore(postgres: try Engine.freshSchema(label), dataDirectory: data)
        }
    }

    /// A new schema on the test server; the URI that makes it the connection's only schema.
    static func freshSchema(_ label: String) throws -> String {
        guard let server = testPostgres else { throw StoreError("no PostgreSQL server for the tests") }
        let name = "t_" + label.filter { $0.isLetter || $0.isNumber }.lowercased() + "_" + String(UInt64.random(in: 0...UInt64.max), radix: 36)
        return try StoreLocation.newSchema(name, on: server)
    }
}
