import JSON
import Store
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The values of the test SecretStore: long enough to be found by a byte scan, distinct enough
/// never to occur by chance.
private let secretValues = ["sk-live-Qw7Rt9Yp2Lm4Nb6Vc8", "hunter2-correct-horse-battery", "PIN-4821-zq"]

private func secretStore(_ values: [String] = secretValues, name: String = "vault") -> DesiredResource {
    var data: [(key: String, value: JSONValue)] = values.enumerated().map { ("K\($0.offset)", .string($0.element)) }
    data.append(("FROM_ENV", .object([("fromEnv", .string("SOME_VARIABLE"))])))
    let spec: JSONValue = .object([("data", .object(data))])
    return DesiredResource(
        key: ResourceKey(kind: "SecretStore", project: "default", name: name), apiVersion: "orchestrator.dev/v2",
        metadata: .object([]), spec: spec,
        contentHash: ManifestRecords.contentHash(kind: "SecretStore", apiVersion: "orchestrator.dev/v2", metadata: .object([]), spec: spec))
}

/// Every regular file below `directory` (recursively).
func filesBelow(_ directory: String) -> [String] {
    guard let dir = opendir(directory) else { return [] }
    defer { closedir(dir) }
    var files: [String] = []
    while let entry = readdir(dir) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        if name == "." || name == ".." { continue }
        let path = directory + "/" + name
        var info = stat()
        guard lstat(path, &info) == 0 else { continue }
        if info.st_mode & S_IFMT == S_IFDIR { files += filesBelow(path) } else if info.st_mode & S_IFMT == S_IFREG { files.append(path) }
    }
    return files
}

func readBytes(_ path: String) -> [UInt8] {
    guard let file = fopen(path, "rb") else { return [] }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let count = fread(&buffer, 1, buffer.count, file)
        if count <= 0 { break }
        bytes += buffer[..<count]
    }
    return bytes
}

/// What `strings` does: the runs of 4 or more printable bytes of a file.
func printableRuns(_ bytes: [UInt8]) -> [String] {
    var runs: [String] = []
    var current: [UInt8] = []
    for byte in bytes + [0] {
        if byte >= 0x20 && byte < 0x7F || byte == 0x09 {
            current.append(byte)
        } else {
            if current.count >= 4 { runs.append(String(decoding: current, as: UTF8.self)) }
            current = []
        }
    }
    return runs
}

/// The secrets (of `values`) that a `strings` scan of any file below `directory` finds.
func leakedSecrets(_ values: [String], under directory: String) -> [String] {
    var found: [String] = []
    for file in filesBelow(directory) {
        let runs = printableRuns(readBytes(file))
        for value in values where runs.contains(where: { $0.contains(value) }) { found.append("\(value) in \(file)") }
    }
    return found
}

func fileMode(_ path: String) -> mode_t? {
    var info = stat()
    return stat(path, &info) == 0 ? info.st_mode & 0o777 : nil
}

@Suite struct SecretStorageTests {
    let root = temporaryDirectory("secrets")
    var data: String { root + "/data" }
    var keyFile: SecretKeyFile { SecretKeyFile(environment: ["XDG_CONFIG_HOME": root + "/config"]) }

    @Test("values are encrypted at rest; the key file is 0600 in the configuration directory, not the data directory")
    func valuesAreEncryptedAtRest() throws {
        #expect(!keyFile.exists)
        let store = try SQLResourceStore(dataDirectory: data, keyFile: keyFile)
        try store.apply([secretStore()])
        #expect(keyFile.path == root + "/config/orchestrator/secret.key")
        #expect(fileMode(keyFile.path) == 0o600)
        #expect(fileMode(root + "/config/orchestrator") == 0o700)
        #expect(!filesBelow(data).contains { $0.hasSuffix(SecretKeyFile.fileName) })
        // The control: the scan finds the values when they are in a file.
        #expect(leakedSecrets(secretValues, under: data).isEmpty)
        #expect(leakedSecrets(secretValues, under: root + "/config").isEmpty)
        let stored = try #require(try store.resource(ResourceKey(kind: "SecretStore", project: "default", name: "vault")))
        for value in SecretCipherProbe.literals(stored.spec) {
            #expect(value.stringValue?.hasPrefix(SecretCipher.prefix) == true, "stored as \(value)")
        }
        #expect(stored.spec["data"]?["FROM_ENV"] == .object([("fromEnv", .string("SOME_VARIABLE"))]))
        let opened = try store.secrets.openSpec(stored.spec)
        #expect(secretValues.enumerated().allSatisfy { opened["data"]?["K\($0.offset)"] == .string($0.element) })
        // The same values again: unchanged (the keyed hash compares decrypted content).
        #expect(try store.apply([secretStore()]).map(\.change) == [.unchanged])
        #expect(try store.apply([secretStore(["another-value-1234"])]).map(\.change) == [.configured])
    }

    @Test("a scan finds a value written in plain text (the control for the scans above)")
    func scanFindsPlainText() throws {
        let directory = root + "/plain"
        let store = try SQLResourceStore(dataDirectory: directory, keyFile: keyFile)
        try store.apply([desired("plain", spec: .object([("note", .string(secretValues[0]))]), hash: "x", kind: "EnvStore")])
        #expect(leakedSecrets(secretValues, under: directory).contains { $0.hasPrefix(secretValues[0] + " in ") })
    }

    @Test("a copy opened with another key file cannot decrypt: a clear error naming the key file, never garbage")
    func anotherKeyCannotDecrypt() throws {
        let store = try SQLResourceStore(dataDirectory: data, keyFile: keyFile)
        try store.apply([secretStore()])
        let other = SecretKeyFile(environment: ["XDG_CONFIG_HOME": root + "/other"])
        _ = try other.loadOrCreate()
        let copy = try SQLResourceStore(dataDirectory: data, keyFile: other)
        let stored = try #require(try copy.resource(ResourceKey(kind: "SecretStore", project: "default", name: "vault")))
        let error = #expect(throws: SecretKeyError.self) { try copy.secrets.openSpec(stored.spec) }
        #expect(error?.message.contains(other.path) == true)
        #expect(error?.message.contains("does not hold") == true)
        let status = try SecretSealing.status(copy)
        #expect(status.undecryptable == 6)
        #expect(status.totalValues == 6)
        // A key file with the right id but another key (or a changed byte) fails the tag check.
        let damaged = try SQLResourceStore(dataDirectory: data, keyFile: keyFile)
        let sealed = try #require(stored.spec["data"]?["K0"]?.stringValue)
        var bytes = Array(sealed.utf8)
        bytes[bytes.count - 6] = bytes[bytes.count - 6] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        let tampered: JSONValue = .object([("data", .object([("K0", .string(String(decoding: bytes, as: UTF8.self)))]))])
        #expect(throws: SecretKeyError.self) { try damaged.secrets.openSpec(tampered) }
    }

    @Test("a key file readable by others is refused, naming it")
    func looseKeyFileIsRefused() throws {
        let store = try SQLResourceStore(dataDirectory: data, keyFile: keyFile)
        try store.apply([secretStore()])
        chmod(keyFile.path, 0o644)
        let error = #expect(throws: SecretKeyError.self) { try keyFile.load() }
        #expect(error?.message.contains(keyFile.path) == true && error?.message.contains("644") == true)
    }

    @Test("rotation re-encrypts every value (resources, revisions, task snapshots) and re-keys the hash", arguments: Engine.available)
    func rotation(engine: Engine) throws {
        let store =
            engine == .sqlite
            ? try SQLResourceStore(dataDirectory: data, keyFile: keyFile)
            : try SQLResourceStore(postgres: try Engine.freshSchema("rotation"), dataDirectory: data, keyFile: keyFile)
        try store.apply([secretStore()])
        let key = ResourceKey(kind: "SecretStore", project: "default", name: "vault")
        let hashBefore = try #require(try store.resource(key)?.contentHash)
        let before = try SecretSealing.status(store)
        #expect(before.keys.count == 1 && before.valuesByKey == [before.keys[0].id: 6])
        let rotation = try SecretSealing.rotate(store)
        #expect(rotation.previousKey == before.keys[0].id && rotation.newKey != rotation.previousKey)
        #expect(rotation.total == 6 && rotation.inResources == 3 && rotation.inRevisions == 3)
        let after = try SecretSealing.status(store)
        #expect(after.keys.map(\.id) == [before.keys[0].id, rotation.newKey])
        #expect(after.valuesByKey == [rotation.newKey: 6])
        let stored = try #require(try store.resource(key))
        #expect(stored.contentHash != hashBefore)
        #expect(try store.secrets.openSpec(stored.spec)["data"]?["K1"] == .string(secretValues[1]))
        // Applying the same values after the rotation changes nothing.
        #expect(try store.apply([secretStore()]).map(\.change) == [.unchanged])
        #expect(leakedSecrets(secretValues, under: data).isEmpty)
        // What the server holds (PostgreSQL: no file of ours to scan) has none of the values.
        let texts = try store.database.query("SELECT spec FROM resources UNION ALL SELECT spec FROM resource_revisions", [])
            .compactMap { $0.first?.text }
        #expect(texts.count == 2, "the resource and its one revision")
        #expect(texts.allSatisfy { text in secretValues.allSatisfy { !text.contains($0) } })
    }

    @Test("a key added without the re-encryption (a rotation killed before its transaction) loses nothing")
    func interruptedRotationLosesNothing() throws {
        let store = try SQLResourceStore(dataDirectory: data, keyFile: keyFile)
        try store.apply([secretStore()])
        _ = try keyFile.addKey()
        let key = ResourceKey(kind: "SecretStore", project: "default", name: "vault")
        let stored = try #require(try store.resource(key))
        #expect(try store.secrets.openSpec(stored.spec)["data"]?["K2"] == .string(secretValues[2]))
        let status = try SecretSealing.status(store)
        #expect(status.undecryptable == 0 && status.keys.count == 2)
        // Values under the retired key and the current one side by side; rotation gathers them.
        try store.apply([secretStore(["fresh-value-under-the-new-key"], name: "second")])
        #expect(try SecretSealing.status(store).valuesByKey.count == 2)
        let rotation = try SecretSealing.rotate(store)
        #expect(try SecretSealing.status(store).valuesByKey == [rotation.newKey: 8])
    }

    @Test("rotation refuses, changing nothing, when a value does not decrypt")
    func rotationRefusesUndecryptableValues() throws {
        let store = try SQLResourceStore(dataDirectory: data, keyFile: keyFile)
        try store.apply([secretStore()])
        let other = SecretKeyFile(environment: ["XDG_CONFIG_HOME": root + "/other"])
        let copy = try SQLResourceStore(dataDirectory: data, keyFile: other)
        #expect(throws: SecretKeyError.self) { try SecretSealing.rotate(copy) }
        #expect(!other.exists)
        #expect(try SecretSealing.status(store).valuesByKey.count == 1)
    }

    @Test("a database written before encryption is encrypted when opened, and no plaintext page is left")
    func plaintextDatabaseIsSealedOnOpen() throws {
        try SQLResourceStore.createDirectory(data)
        do {
            // Schema version 2 with plaintext values, as earlier versions wrote them.
            let database = try Database(path: data + "/" + SQLResourceStore.databaseFileName)
            for migration in Schema.migrations where migration.version <= 2 { try database.execute(migration.sql) }
            try database.execute("PRAGMA user_version = 2")
            let spec = JSONWriter().string(.object([("data", .object([("TOKEN", .string(secretValues[0]))]))]))
            let now = StoreClock.timestamp()
            try database.run("INSERT INTO projects VALUES ('default', ?)", [.text(now)])
            try database.run(
                "INSERT INTO resources (kind, project, name, api_version, metadata, spec, content_hash, generation, created_at, updated_at) VALUES ('SecretStore', 'default', 'old', 'orchestrator.dev/v2', '{}', ?, 'h', 1, ?, ?)",
                [.text(spec), .text(now), .text(now)])
            try database.run(
                "INSERT INTO resource_revisions (kind, project, name, generation, change, api_version, metadata, spec, content_hash, recorded_at) VALUES ('SecretStore', 'default', 'old', 1, 'created', 'orchestrator.dev/v2', '{}', ?, 'h', ?)",
                [.text(spec), .text(now)])
            let snapshot = "[{\"apiVersion\":\"orchestrator.dev/v2\",\"kind\":\"SecretStore\",\"metadata\":{\"name\":\"old\"},\"spec\":\(spec)}]"
            try database.run(
                "INSERT INTO tasks (id, name, project, workflow, workspace, goal, status, graph_hash, snapshot, options, created_at, updated_at) VALUES ('t1', 't', 'default', 'w', 'ws', '', 'completed', 'g', ?, '{}', ?, ?)",
                [.text(snapshot), .text(now), .text(now)])
            try database.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        }
        #expect(!leakedSecrets([secretValues[0]], under: data).isEmpty, "the control: the old database holds the plaintext")
        let store = try SQLResourceStore(dataDirectory: data, keyFile: keyFile)
        #expect(leakedSecrets([secretValues[0]], under: data).isEmpty)
        let status = try SecretSealing.status(store)
        #expect(status.plaintext == 0 && status.inResources == 1 && status.inRevisions == 1 && status.inTaskSnapshots == 1)
        let stored = try #require(try store.resource(ResourceKey(kind: "SecretStore", project: "default", name: "old")))
        #expect(try store.secrets.openSpec(stored.spec)["data"]?["TOKEN"] == .string(secretValues[0]))
        #expect(stored.contentHash != "h")
        #expect(try (store.database as? Database)?.integrityCheck() == "ok")
    }

    @Test("revisions stay append-only except a SecretStore's re-encryption")
    func revisionsAllowOnlyReencryption() throws {
        let store = try SQLResourceStore(dataDirectory: data, keyFile: keyFile)
        try store.apply([secretStore(), desired("a", spec: .null, hash: "1")])
        #expect(throws: StoreError.self) { try store.database.run("UPDATE resource_revisions SET spec = 'null' WHERE kind = 'Agent'") }
        #expect(throws: StoreError.self) { try store.database.run("UPDATE resource_revisions SET name = 'x' WHERE kind = 'SecretStore'") }
        try store.database.run("UPDATE resource_revisions SET content_hash = content_hash WHERE kind = 'SecretStore'")
    }
}

/// The literal values of a SecretStore spec (the test's own reading of the stored shape).
enum SecretCipherProbe {
    static func literals(_ spec: JSONValue) -> [JSONValue] {
        guard case .object(let data) = spec["data"] ?? .null else { return [] }
        return data.compactMap { entry in
            if case .object = entry.value { return nil }
            return entry.value
        }
    }
}

/// A task's `--set` and trigger variables (a webhook's payload may carry a token) are sealed at
/// rest like SecretStore values, and come back decrypted through the store.
@Suite struct TaskVariableSealingTests {
    let root = temporaryDirectory("variables")
    var keyFile: SecretKeyFile { SecretKeyFile(environment: ["XDG_CONFIG_HOME": root + "/config"]) }

    @Test("variables are encrypted in the database, read back as given, counted by the key status and re-encrypted by rotation")
    func variablesSealed() throws {
        let data = root + "/data"
        let store = try SQLResourceStore(dataDirectory: data, keyFile: keyFile)
        let tasks = store.taskStore()
        let token = "tok-3f9a2c71-variable-in-a-webhook-payload"
        let now = StoreClock.timestamp()
        let record = TaskRecord(
            id: "v1", name: "v", project: "default", workflow: "wf", workspace: "ws", goal: "g", status: .created, graphHash: "h",
            snapshot: .array([]), options: TaskOptions(variables: [("TOKEN", token), ("PLAIN", "")]), createdAt: now, updatedAt: now)
        try tasks.write { try $0.insertTask(record) }
        #expect(try tasks.task("v1")?.options.variables.map { $0.name + "=" + $0.value } == ["TOKEN=" + token, "PLAIN="])
        #expect(leakedSecrets([token], under: data).isEmpty, "the token is in the data directory in plain text")
        let status = try SecretSealing.status(store)
        #expect(status.inTaskVariables == 2 && status.plaintext == 0)
        let rotation = try SecretSealing.rotate(store)
        #expect(rotation.inTaskVariables == 2)
        #expect(try SecretSealing.status(store).valuesByKey == [rotation.newKey: 2])
        #expect(try tasks.task("v1")?.options.variables.first?.value == token)
        // Another key file cannot read them: an error naming it, never the sealed text as a value.
        let other = try SQLResourceStore(dataDirectory: data, keyFile: SecretKeyFile(environment: ["XDG_CONFIG_HOME": root + "/other"]))
        #expect(throws: SecretKeyError.self) { try other.taskStore().task("v1") }
        // A task without variables needs no key file.
        let bare = SecretKeyFile(environment: ["XDG_CONFIG_HOME": root + "/bare"])
        let plain = try SQLResourceStore(dataDirectory: root + "/data2", keyFile: bare)
        try plain.taskStore().write { writer in
            var none = record
            none.options = TaskOptions()
            try writer.insertTask(none)
        }
        #expect(!bare.exists)
    }
}
