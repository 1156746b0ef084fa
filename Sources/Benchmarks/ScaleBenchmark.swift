// `orchestrator-bench scale`: a history of months (issue 20.3). Fills a store with 100,000 tasks
// and 1,000,000 events through the store's named operations (10 events each for 90,000 tasks,
// 100,000 for one), then times whole `orchestrator` processes reading pages of it, next to the
// process floor (`orchestrator --version`) measured in the same run.

import Store

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

enum ScaleBenchmark {
    static let help = "task list / event list pages with 100,000 tasks and 1,000,000 events (--tasks N --events N --runs N)"

    static func run(_ arguments: [String]) -> Int32 {
        let options = BenchmarkOptions(arguments, suite: "scale", declared: [
            BenchmarkOption(name: "--tasks", value: "N", help: "tasks in the store (default 100000)"),
            BenchmarkOption(name: "--events", value: "N", help: "events in the store (default 1000000)"),
            BenchmarkOption(name: "--runs", value: "N", help: "runs of each command (default 9)"),
        ])
        let taskCount = options.int("--tasks", 100_000)
        let eventCount = options.int("--events", 1_000_000)
        let runs = options.int("--runs", 9)
        let cli = HostileBenchmark.sibling("orchestrator")
        guard let root = benchmarkDirectory("scale") else { return 1 }
        defer { _ = CompilerBenchmark.spawn("/bin/rm", ["-rf", root]) }
        let data = root + "/d"
        print("machine: \(ExprBenchmark.machine())")
        let fillStart = now()
        guard let tasks = try? SQLResourceStore(dataDirectory: data).taskStore() else { return 1 }
        let bigEvents = eventCount / 10
        let perTask = max(1, (eventCount - bigEvents) / max(1, taskCount - 1))
        var ids: [String] = []
        do {
            var index = 0
            while index < taskCount {
                let end = min(taskCount, index + 10_000)
                try tasks.write { writer in
                    for number in index..<end {
                        let stamp = StoreClock.timestamp(epochMilliseconds: 1_780_000_000_000 + Int64(number) * 60_000)
                        let id = hex(number)
                        ids.append(id)
                        try writer.insertTask(
                            TaskRecord(
                                id: id, name: "task-\(number)", project: "default", workflow: "wf", workspace: "ws", goal: "goal \(number)",
                                status: .completed, graphHash: "h", snapshot: .array([]), options: TaskOptions(), cycle: 2,
                                createdAt: stamp, updatedAt: stamp))
                        if number > 0 {
                            for step in 0..<perTask {
                                try writer.append(NewEvent(.stepFinished, cycle: 1, step: "s\(step)", payload: .object([("exit_code", .int(0))])), task: id)
                            }
                        }
                    }
                }
                index = end
            }
            var written = 0
            while written < bigEvents {
                let batch = min(10_000, bigEvents - written)
                try tasks.write { writer in
                    for number in 0..<batch {
                        try writer.append(
                            NewEvent(.stepHeartbeat, cycle: 1, step: "long", payload: .object([("n", .int(Int64(written + number)))])), task: ids[0])
                    }
                }
                written += batch
            }
        } catch {
            print("fill failed: \(error)")
            return 1
        }
        let counts = (try? tasks.counts()) ?? []
        print("filled in \(DaemonBenchmark.tenths(now() - fillStart)) s: " + counts.map { "\($0.rows) \($0.table)" }.joined(separator: ", "))
        let middle = ids[ids.count / 2]
        let bigMiddle = (try? tasks.events(ids[0], types: nil, after: 0, first: bigEvents / 2).last?.id) ?? 0
        setenv("ORCHESTRATOR_EMBEDDED", "1", 1)
        func measure(_ label: String, _ words: [String]) {
            var failures = 0
            let times = (0..<runs).map { _ in
                DaemonBenchmark.timed { if CompilerBenchmark.spawn(cli, words + ["--data-dir", data]) != 0 { failures += 1 } }
            }
            DaemonBenchmark.report(label + (failures > 0 ? " (FAILED \(failures) times)" : ""), times)
        }
        measure("baseline: `orchestrator --version` process", ["--version"])
        measure("`task list --limit 50`", ["task", "list", "--limit", "50"])
        measure("`task list --after MIDDLE --limit 50 -o json`", ["task", "list", "--after", middle, "--limit", "50", "-o", "json"])
        measure("`task info task-50000` (by name)", ["task", "info", "task-\(taskCount / 2)"])
        measure("`event list --task BIG --limit 50` (the last 50 of \(bigEvents))", ["event", "list", "--task", ids[0], "--limit", "50"])
        measure("`event list --task BIG --after MIDDLE --limit 50`", ["event", "list", "--task", ids[0], "--after", String(bigMiddle), "--limit", "50"])
        measure("`event list --task SMALL --limit 50`", ["event", "list", "--task", middle, "--limit", "50"])
        unsetenv("ORCHESTRATOR_EMBEDDED")
        return 0
    }

    static func hex(_ number: Int) -> String {
        let text = String(number, radix: 16)
        return String(repeating: "0", count: max(0, 12 - text.count)) + text
    }
}
