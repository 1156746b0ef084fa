// `orchestrator-bench scaleout`: daemons sharing one PostgreSQL store (docs/scale-out.md).
//  1. Throughput of short tasks with 1, 2 and 3 daemons (2 workers each, each as if on a machine
//     of its own): N one-step tasks whose step sleeps, queued at once; the time from the queueing
//     to the last task's completion, each configuration on a fresh schema.
//  2. Store round trips per step on each engine: the statements a runner sends (transaction
//     control included) over a task of K `true` steps, divided by K.

import CLI
import Platform
import Runner
import Store

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

enum ScaleOutBenchmark {
    static let help = "throughput with 1, 2, 3 daemons on one PostgreSQL, round trips per step on each engine (--store URI --tasks N --sleep S --steps K)"

    static func run(_ arguments: [String]) -> Int32 {
        let options = BenchmarkOptions(arguments, suite: "scaleout", declared: [
            BenchmarkOption(name: "--store", value: "URI", help: "the PostgreSQL server (default $ORCHESTRATOR_TEST_POSTGRES)"),
            BenchmarkOption(name: "--tasks", value: "N", help: "tasks per configuration (default 48)"),
            BenchmarkOption(name: "--sleep", value: "S", help: "seconds each task's step sleeps (default 0.5)"),
            BenchmarkOption(name: "--steps", value: "K", help: "steps of the round-trip task (default 50)"),
        ])
        guard let server = options.string("--store") ?? getenv("ORCHESTRATOR_TEST_POSTGRES").map({ String(cString: $0) }) else {
            print("no PostgreSQL server: pass --store postgres://... or start one with `eval \"$(scripts/postgres-test-cluster.sh start)\"`")
            return 1
        }
        let count = options.int("--tasks", 48)
        let sleep = options.string("--sleep") ?? "0.5"
        let steps = options.int("--steps", 50)
        guard let (cli, daemonBinary) = releaseExecutables(), let root = benchmarkDirectory("scaleout") else { return 1 }
        defer { _ = CompilerBenchmark.spawn("/bin/rm", ["-rf", root]) }
        var yaml = workspaceDocument(root: root) + """
            apiVersion: orchestrator.dev/v2
            kind: Workflow
            metadata: {name: nap}
            spec:
              steps:
                - {id: nap, command: "sleep \(sleep)"}
            ---
            apiVersion: orchestrator.dev/v2
            kind: Workflow
            metadata: {name: steps}
            spec:
              steps:

            """
        for number in 1...max(1, steps) { yaml += "    - {id: s\(number), command: \"true\"}\n" }
        let file = root + "/m.yaml"
        DaemonBenchmark.writeFile(file, yaml)
        print("machine: \(ExprBenchmark.machine())")
        print("server: \(PostgresConnection.redacted(server))")

        // 1. Throughput.
        print("\n1. \(count) tasks of one `sleep \(sleep)` step, queued at once; 2 workers per daemon")
        var seconds: [Int: Double] = [:]
        for daemons in 1...3 {
            guard let store = freshSchema(server, label: "d\(daemons)") else { return 1 }
            let data = root + "/client\(daemons)"
            guard CompilerBenchmark.spawn(cli, ["--store", store, "apply", "-f", file, "--data-dir", data]) == 0 else {
                print("apply failed")
                return 1
            }
            var started: [DaemonBenchmark.Daemon] = []
            for index in 0..<daemons {
                setenv("ORCHESTRATOR_RUNNER_HOST", "bench-\(index)", 1)
                guard let daemon = DaemonBenchmark.Daemon.start(
                    daemonBinary, data: root + "/d\(daemons)-\(index)", workers: 2, log: root + "/d\(daemons)-\(index).log",
                    extra: ["--store", store])
                else { return 1 }
                started.append(daemon)
            }
            unsetenv("ORCHESTRATOR_RUNNER_HOST")
            guard let opened = try? SQLResourceStore(postgres: store, dataDirectory: data) else { return 1 }
            let tasks = opened.taskStore()
            var ids: [String] = []
            for index in 0..<count {
                guard let created = try? TaskCreation.create(
                    store: opened, tasks: tasks, project: "default", workflow: "nap", workspace: nil, goal: "g", name: "t\(index)",
                    options: TaskOptions())
                else { return 1 }
                ids.append(created.task.id)
            }
            let start = now()
            for id in ids { _ = try? tasks.enqueue(id) }
            var done = 0
            while done < count, now() - start < 600 {
                done = ((try? tasks.taskSummaries()) ?? []).filter { $0.status == .completed }.count
                if done < count { usleep(20_000) }
            }
            let elapsed = now() - start
            for daemon in started { daemon.stop() }
            guard done == count else {
                print("  \(daemons) daemon(s): only \(done) of \(count) tasks completed")
                return 1
            }
            seconds[daemons] = elapsed
            let ideal = Double(count) * (Double(sleep) ?? 0.5) / Double(2 * daemons)
            print("  \(daemons) daemon\(daemons == 1 ? " " : "s"): \(format(elapsed)) s, \(format(Double(count) / elapsed)) tasks/s (the steps' sleep alone: \(format(ideal)) s)")
        }
        if let one = seconds[1], let two = seconds[2], let three = seconds[3] {
            print("  speed-up: 2 daemons \(format(one / two))x, 3 daemons \(format(one / three))x (target from 1 to 3: >= 2.2x)")
        }

        // 2. Round trips per step.
        print("\n2. store round trips (statements sent) per step, a task of \(steps) `true` steps run in this process")
        guard let pg = freshSchema(server, label: "rt") else { return 1 }
        for (engine, apply, open) in [
            ("SQLite", ["apply", "-f", file, "--data-dir", root + "/rt-sqlite"], { try SQLResourceStore(dataDirectory: root + "/rt-sqlite") }),
            ("PostgreSQL", ["--store", pg, "apply", "-f", file, "--data-dir", root + "/rt-pg"], {
                try SQLResourceStore(postgres: pg, dataDirectory: root + "/rt-pg")
            }),
        ] as [(String, [String], () throws -> SQLResourceStore)] {
            do {
                guard CompilerBenchmark.spawn(cli, apply) == 0 else {
                    print("  \(engine): apply failed")
                    return 1
                }
                let store = try open()
                let tasks = store.taskStore()
                let created = try TaskCreation.create(
                    store: store, tasks: tasks, project: "default", workflow: "steps", workspace: nil, goal: "g", name: nil,
                    options: TaskOptions())
                let runner = try TaskRunner(tasks: tasks, resources: store, taskID: created.task.id, pinned: created.pinned)
                let before = store.database.statementsRun
                let start = now()
                let final = try runner.run()
                let elapsed = now() - start
                let sent = store.database.statementsRun - before
                print("  \(engine): \(format(Double(sent) / Double(steps))) statements per step (\(sent) for the task, \(final.status.rawValue)), \(format(elapsed * 1000 / Double(steps))) ms per step")
            } catch {
                print("  \(engine): \(error)")
                return 1
            }
        }
        return 0
    }

    static func freshSchema(_ server: String, label: String) -> String? {
        let name = "bench_\(label)_" + String(UInt64.random(in: 0...UInt64.max), radix: 36)
        do {
            return try StoreLocation.newSchema(name, on: server)
        } catch {
            print("cannot create a schema on \(PostgresConnection.redacted(server)): \(error)")
            return nil
        }
    }

    static func format(_ value: Double) -> String {
        let hundredths = (value * 100).rounded() / 100
        return String(hundredths)
    }
}
