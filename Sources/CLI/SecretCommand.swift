import JSON
import Store

/// `orchestrator secret key status|rotate`: the key that encrypts SecretStore values at rest.
/// The logic is in the Store (`SecretSealing`); this only reads the command line and prints.
enum SecretCommand: CommandGroup {
    static let name = "secret"
    static let summary = "the key that encrypts SecretStore values: status, rotate"
    static let discussion = """
        SecretStore values are stored encrypted (AES-256-GCM) with a key kept outside the data
        directory, in $XDG_CONFIG_HOME/orchestrator/secret.key (else ~/.config/orchestrator/),
        mode 0600, created when a value is first stored. See docs/security.md.
        """
    static let subcommands: [any CommandEntry.Type] = [SecretKeyCommand.self]
}

enum SecretKeyCommand: CommandGroup {
    static let name = "key"
    static let summary = "show or rotate the key"
    static let discussion = """
        `status` shows where the key file is, the fingerprints of its keys (never a key) and how
        many values of this data directory each encrypts; exit 1 when some value is encrypted
        with a key the file does not hold. `rotate` adds a new current key and re-encrypts every
        value of this data directory with it in one transaction; the previous key stays in the
        file as a retired key (other data directories may use it).
        """
    static let subcommands: [any CommandEntry.Type] = [SecretKeyStatusCommand.self, SecretKeyRotateCommand.self]
}

struct SecretKeyStatusCommand: Command {
    static let name = "status"
    static let summary = "where the key is, its fingerprints, how many values it encrypts"
    static let usage = "Usage: orchestrator secret key status [-o text|json] [--data-dir DIR]"
    var output = TextOrJSON.text
    var dataDirectory: String?

    static var options: [Option<Self>] { [.output(\.output), .dataDirectory(\.dataDirectory)] }

    func run(context: CommandContext) -> ExitStatus {
        runStoreCommand(context) { try SecretCommand.status(output: output, dataDirectory: dataDirectory, context: context) }
    }
}

struct SecretKeyRotateCommand: Command {
    static let name = "rotate"
    static let summary = "re-encrypt every value with a new key, in one transaction"
    static let usage = "Usage: orchestrator secret key rotate [--data-dir DIR]"
    var dataDirectory: String?

    static var options: [Option<Self>] { [.dataDirectory(\.dataDirectory)] }

    func run(context: CommandContext) -> ExitStatus {
        runStoreCommand(context) { try SecretCommand.rotate(dataDirectory: dataDirectory, context: context) }
    }
}

extension SecretCommand {
    static func status(output: TextOrJSON, dataDirectory: String?, context: CommandContext) throws -> ExitStatus {
        let store = try DataDirectory.openForReading(dataDirectory, context: context)
        let status = try store.secretKeyStatus()
        let database =
            context.storeLocation?.display
            ?? (SQLResourceStore.exists(in: store.dataDirectory) ? store.dataDirectory + "/" + SQLResourceStore.databaseFileName : nil)
        let current = status.keys.last?.id
        if output == .json {
            let keys: [JSONValue] = status.keys.map { key in
                .object([("id", .string(key.id)), ("created_at", .string(key.createdAt)), ("current", .bool(key.id == current))])
            }
            let byKey: [(key: String, value: JSONValue)] = status.valuesByKey.sorted { $0.key < $1.key }.map { ($0.key, .int(Int64($0.value))) }
            let json: JSONValue = .object([
                ("key_file", .string(status.keyFile)), ("key_file_exists", .bool(status.keyFileExists)),
                ("current_key", current.map { .string($0) } ?? .null), ("keys", .array(keys)),
                ("database", database.map { .string($0) } ?? .null),
                ("values", .object([
                    ("total", .int(Int64(status.totalValues))), ("resources", .int(Int64(status.inResources))),
                    ("revisions", .int(Int64(status.inRevisions))), ("task_snapshots", .int(Int64(status.inTaskSnapshots))),
                    ("task_variables", .int(Int64(status.inTaskVariables))),
                    ("by_key", .object(byKey)), ("undecryptable", .int(Int64(status.undecryptable))),
                    ("unencrypted", .int(Int64(status.plaintext))),
                ])),
            ])
            context.stdout.write(JSONWriter().string(json) + "\n")
        } else {
            var out = "Key file:         \(status.keyFile)"
            out += status.keyFileExists ? "\n" : " (not created yet: it is created when a SecretStore value is first stored)\n"
            if let last = status.keys.last {
                out += "Current key:      \(last.id) (created \(last.createdAt))\n"
                let retired = status.keys.dropLast()
                out += "Retired keys:     " + (retired.isEmpty ? "none" : retired.map { "\($0.id) (created \($0.createdAt))" }.joined(separator: ", ")) + "\n"
            }
            out += "Database:         \(database ?? "none in \(store.dataDirectory)")\n"
            out += "Encrypted values: \(status.totalValues) (\(status.inResources) in resources, \(status.inRevisions) in revisions, "
                + "\(status.inTaskSnapshots) in task snapshots, \(status.inTaskVariables) in task variables)\n"
            for (id, count) in status.valuesByKey.sorted(by: { $0.key < $1.key }) {
                let role = id == current ? "current" : (status.keys.contains { $0.id == id } ? "retired" : "NOT IN THE KEY FILE")
                out += "  \(id) (\(role)): \(count)\n"
            }
            context.stdout.write(out)
        }
        var problems = false
        if status.undecryptable > 0 {
            context.stderr.write(
                "orchestrator: error: \(status.undecryptable) stored secret value(s) are encrypted with a key \(status.keyFile) does not hold: "
                    + "use the key file they were written with, or apply the SecretStores again\n")
            problems = true
        }
        if status.plaintext > 0 {
            context.stderr.write("orchestrator: error: \(status.plaintext) stored secret value(s) are not encrypted\n")
            problems = true
        }
        return problems ? .findings : .success
    }

    static func rotate(dataDirectory: String?, context: CommandContext) throws -> ExitStatus {
        let directory = DataDirectory.path(dataDirectory, context: context)
        guard context.storeLocation != nil || SQLResourceStore.exists(in: directory) else {
            throw UsageError(
                "no database in \(directory): there is nothing to re-encrypt",
                help: "name the data directory with --data-dir DIR (or $ORCHESTRATOR_DATA_DIR)")
        }
        let store = try DataDirectory.open(dataDirectory, context: context)
        let rotation = try store.rotateSecretKey()
        var out = "secret key rotated: the current key is now \(rotation.newKey) (\(rotation.keyFile))\n"
        out += "re-encrypted \(rotation.total) value(s) (\(rotation.inResources) in resources, \(rotation.inRevisions) in revisions, "
            + "\(rotation.inTaskSnapshots) in task snapshots, \(rotation.inTaskVariables) in task variables) of \(context.storeLocation?.display ?? directory + "/" + SQLResourceStore.databaseFileName) in one transaction\n"
        if let previous = rotation.previousKey {
            out += "the previous key \(previous) stays in the key file as a retired key (other data directories may still use it)\n"
        }
        context.stdout.write(out)
        return .success
    }
}
