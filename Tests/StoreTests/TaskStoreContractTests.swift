import Foundation
import JSON
import Platform
import Store
import Testing

/// The task store's operations on both engines (SQLite always, PostgreSQL when a server is
/// reachable: `Engine.available`). Several stores opened on one database are several
/// connections, as several daemons are: the decisions that must not race are raced here.
@Suite struct TaskStoreContractTests {
    static func task(_ id: String, workspace: String = "ws", runsOn: [(name: String, value: String)] = []) -> TaskRecord {
        let now = StoreClock.timestamp()
        return TaskRecord(
            id: id, name: "n-" + id, project: "default", workflow: "wf", workspace: workspace, goal: "g", status: .created,
            graphHash: "h", snapshot: .array([]), options: TaskOptions(runsOn: runsOn), createdAt: now, updatedAt: now)
    }

    /// A second store on the same database (another connection, as another daemon's).
    static func another(_ store: SQLResourceStore, engine: Engine) throws -> SQLResourceStore {
        switch engine {
        case .sqlite: return try SQLResourceStore(dataDirectory: store.dataDirectory)
        case .postgres:
            return try SQLResourceStore(postgres: try #require(store.location?.connectionString), dataDirectory: store.dataDirectory)
        }
    }

    @Test("two runners claim one task at once: exactly one wins, the other is told who runs it", arguments: Engine.available)
    func oneClaimWins(engine: Engine) throws {
        let first = try engine.store("claim")
        let second = try Self.another(first, engine: engine)
        let tasks = [first.taskStore(), second.taskStore()]
        for round in 0..<10 {
            try tasks[0].write { try $0.insertTask(Self.task("claim\(round)")) }
        }
        for round in 0..<10 {
            let outcomes = Locked<[TaskClaimOutcome]>([])
            let threads = tasks.map { store in
                Thread {
                    if let outcome = try? store.claim("claim\(round)", allowed: [.created], runner: RunnerIdentity.current) {
                        outcomes.withLock { $0.append(outcome) }
                    }
                }
            }
            threads.forEach { $0.start() }
            while threads.contains(where: { !$0.isFinished }) { usleep(1_000) }
            let all = outcomes.withLock { $0 }
            #expect(all.count == 2)
            #expect(all.filter { if case .claimed = $0 { true } else { false } }.count == 1, "round \(round): \(all)")
            #expect(all.filter { if case .alreadyRunning = $0 { true } else { false } }.count == 1, "round \(round): \(all)")
        }
    }

    @Test("four daemons drain one queue: every task reserved exactly once, in queue order per daemon", arguments: Engine.available)
    func queueReservedOnce(engine: Engine) throws {
        let first = try engine.store("queue")
        let stores = [first] + (try (0..<3).map { _ in try Self.another(first, engine: engine) })
        let ids = (0..<60).map { String(format: "q%03d", $0) }
        try first.taskStore().write { writer in
            for id in ids { try writer.insertTask(Self.task(id)) }
        }
        for id in ids { _ = try first.taskStore().enqueue(id) }
        let reserved = Locked<[String]>([])
        let threads = stores.map { store in
            let tasks = store.taskStore()
            return Thread {
                guard (try? tasks.holdLease(LeaseRequest(kind: .daemon, dataDirectory: store.dataDirectory), onLost: {})) != nil else { return }
                while let next = try? tasks.reserveNextQueued(excluding: []) {
                    reserved.withLock { $0.append(next.id) }
                    // Taken: it no longer waits (a worker's claim would do this).
                    _ = try? tasks.claim(next.id, allowed: TaskStatus.claimable, runner: RunnerIdentity.current)
                }
            }
        }
        threads.forEach { $0.start() }
        while threads.contains(where: { !$0.isFinished }) { usleep(1_000) }
        let all = reserved.withLock { $0 }
        #expect(all.count == ids.count, "reserved \(all.count) of \(ids.count)")
        #expect(Set(all) == Set(ids))
    }

    @Test("a daemon takes only the workspaces it serves and the tasks whose labels it has", arguments: Engine.available)
    func workspacesAndLabels(engine: Engine) throws {
        let store = try engine.store("labels")
        let tasks = store.taskStore()
        try tasks.write { writer in
            try writer.insertTask(Self.task("other", workspace: "elsewhere"))
            try writer.insertTask(Self.task("gpu", runsOn: [("gpu", "true")]))
            try writer.insertTask(Self.task("plain"))
        }
        for id in ["other", "gpu", "plain"] { _ = try tasks.enqueue(id) }
        try tasks.holdLease(LeaseRequest(kind: .daemon, dataDirectory: store.dataDirectory, workspaces: ["ws"]), onLost: {})
        #expect(try tasks.reserveNextQueued(excluding: [])?.id == "plain")
        #expect(try tasks.reserveNextQueued(excluding: ["plain"]) == nil, "neither another workspace's task nor one needing gpu=true")
        let gpu = try Self.another(store, engine: engine).taskStore()
        try gpu.holdLease(LeaseRequest(kind: .daemon, dataDirectory: store.dataDirectory, labels: [("gpu", "true")]), onLost: {})
        // Serving every workspace and offering gpu=true, it may take both that are left (a
        // worker pool leaves out what its workers took up already, as here).
        var taken: [String] = []
        while let next = try gpu.reserveNextQueued(excluding: Set(taken)), taken.count < 5 { taken.append(next.id) }
        #expect(Set(taken) == ["other", "gpu"] && taken.count == 2, "\(taken)")
        #expect(try gpu.runners().map(\.kind) == [.daemon, .daemon])
        #expect(try gpu.runners().allSatisfy(\.leaseAlive))
        // Releasing the lease hands the reservations back to the queue.
        gpu.releaseLease()
        #expect(try tasks.runners().count == 1)
        #expect(try tasks.task("gpu")?.runnerID == nil)
    }

    @Test("pause, queue positions and event pages read the same on both engines", arguments: Engine.available)
    func pauseQueueEvents(engine: Engine) throws {
        let tasks = try engine.store("pause").taskStore()
        try tasks.write { writer in
            for id in ["p1", "p2", "p3"] { try writer.insertTask(Self.task(id)) }
            for number in 0..<5 { try writer.append(NewEvent(.stepHeartbeat, payload: .object([("n", .int(Int64(number)))])), task: "p1") }
        }
        #expect(try tasks.enqueue("p1") == 1)
        #expect(try tasks.enqueue("p2") == 2)
        #expect(try tasks.queuePositions() == ["p1": 1, "p2": 2])
        #expect(try tasks.pause("p3") == .paused)
        #expect(try tasks.pause("p3") == .alreadyPaused)
        let events = try tasks.events("p1")
        #expect(events.map(\.type).filter { $0 == .stepHeartbeat }.count == 5)
        #expect(events.map(\.id) == events.map(\.id).sorted())
        #expect(try tasks.events("p1", types: [.stepHeartbeat], after: 0, limit: 2).map { $0.payload["n"] } == [.int(3), .int(4)])
        let newest = try tasks.latestTaskSummaries(status: nil, limit: 2)
        #expect(newest.total == 3 && newest.tasks.count == 2)
        #expect(try tasks.latestTaskSummaries(status: .paused, limit: 10).tasks.map(\.id) == ["p3"])
    }

    @Test("a trigger fire is claimed once by racing daemons; store entries version; spawn links hold", arguments: Engine.available)
    func firesEntriesSpawns(engine: Engine) throws {
        let first = try engine.store("fires")
        let second = try Self.another(first, engine: engine)
        let trigger = TriggerKey(project: "default", name: "nightly")
        let wins = Locked(0)
        let threads = [first, second].map { store in
            let tasks = store.taskStore()
            return Thread {
                let fire = TriggerFireRecord(trigger: trigger, key: "2026-12-04T00:00", source: "cron", outcome: .skipped, firedAt: 1)
                if (try? tasks.recordTriggerFire(fire, event: nil)) == true { wins.withLock { $0 += 1 } }
            }
        }
        threads.forEach { $0.start() }
        while threads.contains(where: { !$0.isFinished }) { usleep(1_000) }
        #expect(wins.withLock { $0 } == 1)
        #expect(try first.taskStore().triggerFires(trigger, limit: 10).count == 1)
        // A cursor moves forward only, whichever daemon moves it.
        try first.taskStore().setTriggerCursor("ends", to: 5)
        try second.taskStore().setTriggerCursor("ends", to: 3)
        #expect(try first.taskStore().triggerCursor("ends") == 5)

        let tasks = first.taskStore()
        let key = StoreEntryKey(project: "default", store: "notes", key: "k")
        #expect(try tasks.write { try $0.putStoreEntry(key, value: .string("a"), task: nil, step: nil) } == 1)
        #expect(try tasks.write { try $0.putStoreEntry(key, value: .string("b"), task: nil, step: nil) } == 2)
        #expect(try tasks.storeEntry(key)?.value == .string("b"))
        #expect(try tasks.write { try $0.deleteStoreEntry(key) })
        #expect(try tasks.storeEntry(key) == nil)

        try tasks.write { writer in
            try writer.insertTask(Self.task("parent"))
            try writer.insertTask(Self.task("child"))
            try writer.linkSpawn(child: "child", parent: "parent", depth: 1, key: "parent/1/s/x")
        }
        #expect(try tasks.write { try $0.spawnedChild(key: "parent/1/s/x") } == "child")
        #expect(throws: StoreError.self) {
            try tasks.write { try $0.linkSpawn(child: "child2", parent: "parent", depth: 1, key: "parent/1/s/x") }
        }
        #expect(try tasks.spawnedTasks(of: "parent").map(\.child) == ["child"])
    }
}
