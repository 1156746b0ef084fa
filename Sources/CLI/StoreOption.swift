import Store

/// `--store URL`, the global option that points a command at a shared PostgreSQL store
/// (docs/scale-out.md), else `$ORCHESTRATOR_STORE`. Without either, commands use the SQLite
/// database of their data directory.
enum StoreOption {
    static let flag = "--store"

    /// Removes `--store URL` / `--store=URL` from the arguments (before a `--`) and resolves the
    /// store; a value that is no PostgreSQL URI is a usage error that never shows a password.
    static func take(_ arguments: inout [String], environment: [String: String]) -> Result<StoreLocation?, UsageError> {
        var given: String?
        var index = 0
        while index < arguments.count, arguments[index] != "--" {
            let word = arguments[index]
            if word == flag {
                guard index + 1 < arguments.count else {
                    return .failure(UsageError("`--store` needs a value", help: example))
                }
                given = arguments[index + 1]
                arguments.removeSubrange(index...(index + 1))
            } else if word.hasPrefix(flag + "=") {
                given = String(word.dropFirst(flag.count + 1))
                arguments.remove(at: index)
            } else {
                index += 1
            }
        }
        if let given {
            guard let location = StoreLocation(given) else {
                return .failure(UsageError("`--store` takes a PostgreSQL URI, not `\(PostgresConnection.redacted(given))`", help: example))
            }
            return .success(location)
        }
        guard let chosen = environment[StoreLocation.environmentVariable], !chosen.isEmpty else { return .success(nil) }
        guard let location = StoreLocation(chosen) else {
            return .failure(
                UsageError(
                    "$\(StoreLocation.environmentVariable) must be a PostgreSQL URI, not `\(PostgresConnection.redacted(chosen))`",
                    help: example + "; unset it to use the data directory's SQLite database"))
        }
        return .success(location)
    }

    static let example = "e.g. --store postgres://orchestrator@db.example:5432/orchestrator (the password from PGPASSWORD or ~/.pgpass)"
}
