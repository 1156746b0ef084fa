import JSON
import Store
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A fresh data directory under /tmp for one test.
func temporaryDirectory(_ label: String) -> String {
    var template = Array("/tmp/orchestrator-\(label)-XXXXXX".utf8CString)
    let path = template.withUnsafeMutableBufferPointer { buffer -> String in
        guard let base = buffer.baseAddress, let made = mkdtemp(base) else { return "/tmp/orchestrator-\(label)-fallback" }
        return String(cString: made)
    }
    return path
}

func desired(_ name: String, spec: JSONValue, hash: String, kind: String = "Agent", project: String = "default") -> DesiredResource {
    DesiredResource(
        key: ResourceKey(kind: kind, project: project, name: name), apiVersion: "orchestrator.dev/v2",
        metadata: .object([]), spec: spec, contentHash: hash)
}

@Suite struct ResourceStoreTests {
    @Test func createdThenUnchangedThenConfigured() throws {
        let store = try ResourceStore(dataDirectory: temporaryDirectory("store") + "/data")
        let first = try store.apply([desired("a", spec: .object([("command", .string("echo"))]), hash: "h1")])
        #expect(first.map(\.change) == [.created])
        let again = try store.apply([desired("a", spec: .object([("command", .string("echo"))]), hash: "h1")])
        #expect(again.map(\.change) == [.unchanged])
        #expect(try store.resource(ResourceKey(kind: "Agent", project: "default", name: "a"))?.generation == 1)
        let changed = try store.apply([desired("a", spec: .object([("command", .string("true"))]), hash: "h2")])
        #expect(changed.map(\.change) == [.configured])
        let key = ResourceKey(kind: "Agent", project: "default", name: "a")
        #expect(try store.resource(key)?.generation == 2)
        #expect(try store.resource(key)?.spec["command"] == .string("true"))
        #expect(try store.revisions(key).map(\.change) == ["configured", "created"])
    }

    @Test func pruneDeletesWhatTheFilesNoLongerHold() throws {
        let store = try ResourceStore(dataDirectory: temporaryDirectory("prune"))
        try store.apply([desired("a", spec: .null, hash: "1"), desired("b", spec: .null, hash: "2")])
        let outcomes = try store.apply(
            [desired("a", spec: .null, hash: "1")], pruneScope: [PruneScope(project: "default", kind: "Agent")])
        #expect(outcomes.map(\.change) == [.unchanged, .deleted])
        #expect(try store.resources(kind: "Agent").map(\.key.name) == ["a"])
    }

    @Test func failedTransactionStoresNothing() throws {
        let store = try ResourceStore(dataDirectory: temporaryDirectory("atomic"))
        struct Boom: Error {}
        #expect(throws: Boom.self) {
            try store.database.transaction {
                try store.apply([desired("a", spec: .null, hash: "1")])
                throw Boom()
            }
        }
        #expect(try store.resources().isEmpty)
    }

    @Test func revisionsAreAppendOnly() throws {
        let store = try ResourceStore(dataDirectory: temporaryDirectory("revisions"))
        try store.apply([desired("a", spec: .null, hash: "1")])
        #expect(throws: StoreError.self) { try store.database.run("DELETE FROM resource_revisions") }
        #expect(throws: StoreError.self) { try store.database.run("UPDATE resource_revisions SET change = 'created'") }
    }

    @Test func databaseIsOwnerOnlyAndMigrated() throws {
        let directory = temporaryDirectory("mode")
        let store = try ResourceStore(dataDirectory: directory)
        #expect(try store.database.schemaVersion() == Schema.migrations.count)
        var info = stat()
        #expect(stat(directory + "/orchestrator.db", &info) == 0)
        #expect(info.st_mode & 0o777 == 0o600)
        #expect(try store.database.integrityCheck() == "ok")
    }
}

@Suite struct ContentDigestTests {
    @Test func knownVectors() {
        #expect(ContentDigest.sha256Hex([]) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(ContentDigest.sha256Hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(
            ContentDigest.sha256Hex(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(ContentDigest.sha256Hex([UInt8](repeating: 0x61, count: 1_000)).count == 64)
    }
}
