import Foundation
import JSON
import Platform
import Store
import Testing

/// History at scale (issue 20.3): pages of tasks and events come from indexes, never from a
/// scan or a sort of a whole table.
@Suite struct TaskPagingTests {
    func task(_ index: Int) -> TaskRecord {
        let stamp = StoreClock.timestamp(epochMilliseconds: 1_800_000_000_000 + Int64(index) * 1000)
        return TaskRecord(
            id: String(format: "%012x", 0xab0000 + index), name: index % 2 == 0 ? "even" : "t\(index)", project: "default",
            workflow: "wf", workspace: "ws", goal: "g", status: .created, graphHash: "h", snapshot: .array([]), options: TaskOptions(),
            createdAt: stamp, updatedAt: stamp)
    }

    @Test("EXPLAIN QUERY PLAN: every paged or indexed read searches an index; none scans a whole table or sorts one")
    func queryPlansUseIndexes() throws {
        let tasks = try SQLResourceStore(dataDirectory: temporaryDirectory("plans") + "/data").taskStore()
        let plans = try tasks.queryPlans()
        #expect(plans.count == 8)
        for (name, plan) in plans {
            let steps = plan.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            // A scan of the tasks or events table must walk an index in order (a page stops
            // after N rows); a scan of a subquery's few rows is fine.
            for step in steps where step.hasPrefix("SCAN tasks") || step.hasPrefix("SCAN events") {
                #expect(step.contains("USING") && step.contains("INDEX"), "\(name) scans a table: \(plan)")
            }
            // A sort is only of rows an index search selected (one name's tasks, the queued
            // ones, a page), never of a table.
            if plan.contains("TEMP B-TREE") {
                #expect(steps.contains { $0.hasPrefix("SEARCH") }, "\(name) sorts a table: \(plan)")
            }
            #expect(plan.contains("INDEX") || plan.contains("PRIMARY KEY"), "\(name): \(plan)")
        }
    }

    @Test("pages of tasks in creation order, by name and by id prefix; events page forward", arguments: Engine.available)
    func pages(engine: Engine) throws {
        let tasks = try engine.store("pages").taskStore()
        try tasks.write { writer in
            for index in 0..<7 { try writer.insertTask(task(index)) }
            for number in 0..<5 { try writer.append(NewEvent(.stepHeartbeat, payload: .object([("n", .int(Int64(number)))])), task: task(0).id) }
        }
        let first = try #require(try tasks.taskSummaries(after: nil, limit: 3))
        #expect(first.map(\.id) == (0..<3).map { task($0).id })
        let second = try #require(try tasks.taskSummaries(after: first.last?.id, limit: 3))
        #expect(second.map(\.id) == (3..<6).map { task($0).id })
        let last = try #require(try tasks.taskSummaries(after: second.last?.id, limit: 3))
        #expect(last.map(\.id) == [task(6).id])
        #expect(try tasks.taskSummaries(after: "nosuchtask", limit: 3) == nil)
        #expect(try tasks.tasks(named: "even").map(\.id) == [0, 2, 4, 6].map { task($0).id })
        #expect(try tasks.tasks(withIDPrefix: "000000ab000", limit: 11).count == 7)
        #expect(try tasks.findTask("000000ab0003")?.id == task(3).id)
        #expect(try tasks.findTask("000000ab") == nil, "an ambiguous prefix finds nothing")
        let all = try tasks.events(task(0).id)
        let page = try tasks.events(task(0).id, types: nil, after: all[1].id, first: 2)
        #expect(page.map(\.id) == [all[2].id, all[3].id])
    }
}

@Suite struct ConcurrentOpenTests {
    @Test("connections opening a new database at once apply each migration once, and none fails", arguments: Engine.available)
    func concurrentFirstOpen(engine: Engine) throws {
        for round in 0..<(engine == .sqlite ? 10 : 3) {
            let data = temporaryDirectory("open-\(round)") + "/data"
            // PostgreSQL: four daemons starting at once on a new database (one new schema).
            let schema = engine == .postgres ? try Engine.freshSchema("open") : nil
            let failures = Locked<[String]>([])
            let threads = (0..<4).map { _ in
                Thread {
                    do {
                        let store = try schema.map { try SQLResourceStore(postgres: $0, dataDirectory: data) } ?? SQLResourceStore(dataDirectory: data)
                        #expect(try store.schemaVersion() == Schema.migrations.count)
                        let tasks = store.taskStore()
                        _ = try tasks.counts()
                    } catch {
                        failures.withLock { $0.append("\(error)") }
                    }
                }
            }
            threads.forEach { $0.start() }
            while threads.contains(where: { !$0.isFinished }) { usleep(1_000) }
            #expect(failures.withLock { $0 }.isEmpty, "round \(round): \(failures.withLock { $0 })")
        }
    }
}
