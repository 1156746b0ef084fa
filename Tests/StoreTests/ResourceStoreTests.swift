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
    @Test(arguments: Engine.available) func createdThenUnchangedThenConfigured(engine: Engine) throws {
        let store = try engine.store("store")
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

    /// New resources are inserted many rows per statement: every one of them is stored, with its
    /// revision, whatever the count (full batches, a remainder, other changes in between), and a
    /// failure anywhere stores none of them.
    @Test(arguments: Engine.available) func manyNewResourcesAmongOtherChangesAreAllStored(engine: Engine) throws {
        let store = try engine.store("batches")
        try store.apply([desired("changed", spec: .null, hash: "old"), desired("kept", spec: .null, hash: "k")])
        var batch: [DesiredResource] = (0..<40).map { desired("a\($0)", spec: .object([("n", .int(Int64($0)))]), hash: "h\($0)") }
        batch.append(desired("changed", spec: .string("new"), hash: "new"))
        batch += (40..<75).map { desired("a\($0)", spec: .object([("n", .int(Int64($0)))]), hash: "h\($0)") }
        batch.append(desired("b", spec: .null, hash: "b", kind: "StepTemplate", project: "other"))
        let outcomes = try store.apply(batch, pruneScope: [PruneScope(project: "default", kind: "Agent")])
        #expect(outcomes.filter { $0.change == .created }.count == 76)
        #expect(outcomes.filter { $0.change == .configured }.map(\.key.name) == ["changed"])
        #expect(outcomes.filter { $0.change == .deleted }.map(\.key.name) == ["kept"])
        let stored = try store.resources(kind: "Agent")
        #expect(Set(stored.map(\.key.name)) == Set((0..<75).map { "a\($0)" } + ["changed"]))
        for index in [0, 31, 32, 63, 64, 74] {
            let key = ResourceKey(kind: "Agent", project: "default", name: "a\(index)")
            #expect(try store.resource(key)?.spec["n"] == .int(Int64(index)))
            #expect(try store.revisions(key).map(\.change) == ["created"])
        }
        #expect(try store.resource(ResourceKey(kind: "StepTemplate", project: "other", name: "b")) != nil)

        // A name taken twice fails the statement that holds it: nothing of the apply is stored.
        let clash = (100..<140).map { desired("c\($0)", spec: .null, hash: "c") } + [desired("c105", spec: .null, hash: "x")]
        #expect(throws: (any Error).self) { try store.apply(clash) }
        #expect(try store.resource(ResourceKey(kind: "Agent", project: "default", name: "c100")) == nil)
    }

    @Test(arguments: Engine.available) func aProjectsResourcesButTheExcludedOnes(engine: Engine) throws {
        let store = try engine.store("excluding")
        try store.apply([
            desired("a", spec: .string("A"), hash: "1"), desired("b", spec: .string("B"), hash: "2"),
            desired("a", spec: .null, hash: "3", kind: "StepTemplate"), desired("c", spec: .null, hash: "4", project: "other"),
        ])
        let left = try store.resources(project: "default", excluding: [ResourceKey(kind: "Agent", project: "default", name: "a")])
        #expect(left.map { "\($0.key.kind)/\($0.key.name)" } == ["Agent/b", "StepTemplate/a"])
        #expect(left.first?.spec == .string("B"))
        #expect(try store.resources(project: "other", excluding: []).map(\.key.name) == ["c"])
    }

    @Test(arguments: Engine.available) func pruneDeletesWhatTheFilesNoLongerHold(engine: Engine) throws {
        let store = try engine.store("prune")
        try store.apply([desired("a", spec: .null, hash: "1"), desired("b", spec: .null, hash: "2")])
        let outcomes = try store.apply(
            [desired("a", spec: .null, hash: "1")], pruneScope: [PruneScope(project: "default", kind: "Agent")])
        #expect(outcomes.map(\.change) == [.unchanged, .deleted])
        #expect(try store.resources(kind: "Agent").map(\.key.name) == ["a"])
    }

    @Test(arguments: Engine.available) func failedTransactionStoresNothing(engine: Engine) throws {
        let store = try engine.store("atomic")
        struct Boom: Error {}
        #expect(throws: Boom.self) {
            try store.database.transaction {
                try store.apply([desired("a", spec: .null, hash: "1")])
                throw Boom()
            }
        }
        #expect(try store.resources().isEmpty)
    }

    @Test(arguments: Engine.available) func revisionsAreAppendOnly(engine: Engine) throws {
        let store = try engine.store("revisions")
        try store.apply([desired("a", spec: .null, hash: "1")])
        #expect(throws: StoreError.self) { try store.database.run("DELETE FROM resource_revisions") }
        #expect(throws: StoreError.self) { try store.database.run("UPDATE resource_revisions SET change = 'created'") }
    }

    @Test func databaseIsOwnerOnlyAndMigrated() throws {
        let directory = temporaryDirectory("mode")
        let store = try SQLResourceStore(dataDirectory: directory)
        #expect(try store.schemaVersion() == Schema.migrations.count)
        var info = stat()
        #expect(stat(directory + "/orchestrator.db", &info) == 0)
        #expect(info.st_mode & 0o777 == 0o600)
        #expect(try (store.database as? Database)?.integrityCheck() == "ok")
    }
}
