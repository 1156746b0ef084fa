import JSON

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What `secret key status` reports: where the key file is, its keys (fingerprints only), and the
/// encrypted values of one database by the key that encrypted them.
public struct SecretKeyStatus: Sendable {
    public var keyFile: String
    public var keyFileExists: Bool
    /// Oldest first; the last is the current key.
    public var keys: [(id: String, createdAt: String)]
    /// Encrypted values by key id, in resources, revisions and task snapshots together.
    public var valuesByKey: [String: Int]
    public var inResources: Int
    public var inRevisions: Int
    public var inTaskSnapshots: Int
    /// Tasks' `--set` and trigger variables.
    public var inTaskVariables = 0
    /// Values stored without encryption (none, once a database has been opened by this version).
    public var plaintext: Int

    public var totalValues: Int { inResources + inRevisions + inTaskSnapshots + inTaskVariables }
    /// Values encrypted with a key the key file does not hold: they cannot be decrypted here.
    public var undecryptable: Int {
        let held = Set(keys.map(\.id))
        return valuesByKey.filter { !held.contains($0.key) }.map(\.value).reduce(0, +)
    }
}

/// What `secret key rotate` did.
public struct SecretKeyRotation: Sendable {
    public var keyFile: String
    public var previousKey: String?
    public var newKey: String
    public var inResources: Int
    public var inRevisions: Int
    public var inTaskSnapshots: Int
    public var inTaskVariables = 0
    public var total: Int { inResources + inRevisions + inTaskSnapshots + inTaskVariables }
}

/// Every place a database holds SecretStore values, and the operations over all of them: the
/// key status, rotation, and the one-time encryption of a database written before values were
/// encrypted.
public enum SecretSealing {
    /// The places, each a list of (row id, apiVersion, metadata, spec) of SecretStores; task
    /// snapshots are arrays of manifest documents.
    private struct Row {
        var table: Table
        var id: SQLValue
        var text: String
    }

    private enum Table { case resources, revisions, tasks, taskVariables }

    private static func rows(_ database: any SQLConnection) throws -> [Row] {
        var rows: [Row] = []
        for row in try database.query("SELECT id, spec FROM resources WHERE kind = 'SecretStore' ORDER BY id") {
            if let text = row[1].text { rows.append(Row(table: .resources, id: row[0], text: text)) }
        }
        for row in try database.query("SELECT id, spec FROM resource_revisions WHERE kind = 'SecretStore' ORDER BY id") {
            if let text = row[1].text { rows.append(Row(table: .revisions, id: row[0], text: text)) }
        }
        for row in try database.query("SELECT id, snapshot FROM tasks WHERE snapshot LIKE '%SecretStore%' ORDER BY id") {
            if let text = row[1].text { rows.append(Row(table: .tasks, id: row[0], text: text)) }
        }
        for row in try database.query("SELECT id, options FROM tasks WHERE options LIKE '%enc:v1:%' ORDER BY id") {
            if let text = row[1].text { rows.append(Row(table: .taskVariables, id: row[0], text: text)) }
        }
        return rows
    }

    /// The SecretStore specs of one row (a task snapshot holds several).
    private static func specs(_ row: Row) throws -> [JSONValue] {
        let value = try JSONParser.parse(row.text)
        // A task's variables are read as the `data` of a spec: each a value of its own.
        if row.table == .taskVariables { return [.object([("data", value["variables"] ?? .object([]))])] }
        guard row.table == .tasks else { return [value] }
        return (value.arrayValue ?? []).filter { $0["kind"]?.stringValue == "SecretStore" }.compactMap { $0["spec"] }
    }

    // MARK: status

    public static func status(_ store: SQLResourceStore) throws -> SecretKeyStatus {
        let keyFile = store.secrets.keyFile
        let keys = try keyFile.load()
        var status = SecretKeyStatus(
            keyFile: keyFile.path, keyFileExists: keyFile.exists, keys: keys.map { ($0.id, $0.createdAt) }, valuesByKey: [:],
            inResources: 0, inRevisions: 0, inTaskSnapshots: 0, plaintext: 0)
        for row in try rows(store.database) {
            for spec in try specs(row) {
                for value in SecretCipher.literals(spec) {
                    guard let id = SecretCipher.keyID(of: value) else {
                        status.plaintext += 1
                        continue
                    }
                    status.valuesByKey[id, default: 0] += 1
                    switch row.table {
                    case .resources: status.inResources += 1
                    case .revisions: status.inRevisions += 1
                    case .tasks: status.inTaskSnapshots += 1
                    case .taskVariables: status.inTaskVariables += 1
                    }
                }
            }
        }
        return status
    }

    // MARK: rotation

    /// Adds a new current key to the key file, then re-encrypts every value of the database with
    /// it (and re-keys the SecretStore content hashes) in one transaction. Every value is
    /// decrypted first, so nothing changes when one cannot be; a kill at any instant loses
    /// nothing: until the transaction commits the values stay under the previous key, which the
    /// key file keeps as a retired key.
    public static func rotate(_ store: SQLResourceStore) throws -> SecretKeyRotation {
        let keyFile = store.secrets.keyFile
        let before = try keyFile.load()
        // Refuse before touching the key file when a value does not decrypt.
        _ = try reseal(store, keys: before, write: false)
        let keys = try keyFile.addKey()
        guard let current = keys.last else { throw SecretKeyError("the secret key file \(keyFile.path) holds no key after adding one") }
        let counts = try store.database.transaction { try reseal(store, keys: keys, write: true) }
        var rotation = SecretKeyRotation(
            keyFile: keyFile.path, previousKey: before.last?.id, newKey: current.id, inResources: counts.resources,
            inRevisions: counts.revisions, inTaskSnapshots: counts.tasks)
        rotation.inTaskVariables = counts.variables
        return rotation
    }

    /// Decrypts every value with `keys` and, when `write`, stores it encrypted with the current
    /// key (the last), with the keyed content hash of the current key. Returns the counts.
    private static func reseal(
        _ store: SQLResourceStore, keys: [SecretKey], write: Bool
    ) throws -> (resources: Int, revisions: Int, tasks: Int, variables: Int) {
        let cipher = store.secrets
        let database = store.database
        var counts = (resources: 0, revisions: 0, tasks: 0, variables: 0)
        let writer = JSONWriter()
        for row in try rows(database) {
            let value = try JSONParser.parse(row.text)
            var found = 0
            /// The spec decrypted, and (when writing) encrypted again with the current key.
            func convert(_ spec: JSONValue) throws -> (opened: JSONValue, sealed: JSONValue) {
                found += SecretCipher.literals(spec).count
                let opened = try SecretCipher.mapLiterals(spec) { (literal) throws(SecretKeyError) in try cipher.open(literal, keys: keys) }
                guard write else { return (opened, spec) }
                return (opened, try SecretCipher.mapLiterals(opened) { (literal) throws(SecretKeyError) in try SecretCipher.seal(literal, keys: keys) })
            }
            switch row.table {
            case .resources, .revisions:
                let (opened, sealed) = try convert(value)
                if write, found > 0, let current = keys.last {
                    let table = row.table == .resources ? "resources" : "resource_revisions"
                    let meta = try database.query("SELECT api_version, metadata FROM \(table) WHERE id = ?", [row.id]).first
                    guard let meta, let apiVersion = meta[0].text, let metadataText = meta[1].text else {
                        throw StoreError("a SecretStore row of \(table) in \(database.displayTarget) is malformed")
                    }
                    let text = ManifestRecords.canonicalText(
                        kind: "SecretStore", apiVersion: apiVersion, metadata: try JSONParser.parse(metadataText), spec: opened)
                    try database.run(
                        "UPDATE \(table) SET spec = ?, content_hash = ? WHERE id = ?",
                        [.text(writer.string(sealed)), .text(SecretCipher.keyedHash(text, key: current)), row.id])
                }
                if row.table == .resources { counts.resources += found } else { counts.revisions += found }
            case .tasks:
                let converted = try SecretCipher.mapSecretStoreSpecs(value) { try convert($0).sealed }
                if write, found > 0 {
                    try database.run("UPDATE tasks SET snapshot = ? WHERE id = ?", [.text(writer.string(converted)), row.id])
                }
                counts.tasks += found
            case .taskVariables:
                guard case .object(var fields) = value, let index = fields.firstIndex(where: { $0.key == "variables" }) else { continue }
                let converted = try convert(.object([("data", fields[index].value)])).sealed
                if write, found > 0 {
                    fields[index].value = converted["data"] ?? fields[index].value
                    try database.run("UPDATE tasks SET options = ? WHERE id = ?", [.text(writer.string(.object(fields))), row.id])
                }
                counts.variables += found
            }
        }
        return counts
    }

    // MARK: databases written before encryption

    /// Encrypts the plaintext SecretStore values of a database migrated from a version that
    /// stored them as written (migration 3 marks such a database), then rewrites the database
    /// file (VACUUM) and truncates the journal so no old page keeps a plaintext copy.
    static func sealPlaintextIfPending(_ store: SQLResourceStore) throws {
        let database = store.database
        guard try !database.query("SELECT 1 FROM secret_sealing_pending LIMIT 1").isEmpty else { return }
        // SQLite keeps deleted bytes in free pages and the journal until told otherwise.
        let sqlite = database.engine == .sqlite
        if sqlite { try database.execute("PRAGMA secure_delete = ON") }
        try database.transaction {
            // Plaintext values open as themselves; the key file is created on this first need.
            _ = try reseal(store, keys: try store.secrets.keyFile.loadOrCreate(), write: true)
            try database.run("DELETE FROM secret_sealing_pending")
        }
        guard sqlite else { return }
        try database.execute("VACUUM")
        try database.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    }
}
