// `orchestrator-bench daemon`: the control plane with the real release executables.
//  1. `task create` -> first step started, over 100 tasks with 4 workers: the `orchestrator task
//     create` process (forwarded to the daemon, which queues the task) and the time from that
//     process's start to the task's first `step_started` event (the store's clock). Baselines in
//     the same run: the process floor (`orchestrator --version`) and an embedded `run` of the same
//     one-step workflow from process start to its first step.
//  2. `task list -o json` with 10,000 tasks in the store: over the socket (the daemon runs it)
//     against the same command embedded (`ORCHESTRATOR_EMBEDDED=1`).
//  3. The daemon's resident memory idle, and with 8 tasks running at once (8 workers).

import CLI
import Control
import Platform
import Runner
import Store

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

enum DaemonBenchmark {
    static let help = "task create -> first step (100 tasks, 4 workers), task list over the socket with 10,000 tasks, daemon RSS (--tasks N --list N --runs N)"

    static func run(_ arguments: [String]) -> Int32 {
        let options = BenchmarkOptions(arguments, suite: "daemon", declared: [
            BenchmarkOption(name: "--tasks", value: "N", help: "tasks created one after the other (default 100)"),
            BenchmarkOption(name: "--list", value: "N", help: "tasks in the store for `task list` (default 10000)"),
            BenchmarkOption(name: "--runs", value: "N", help: "runs of each `task list` measurement (default 9)"),
        ])
        let count = options.int("--tasks", 100)
        let listed = options.int("--list", 10_000)
        let runs = options.int("--runs", 9)
        guard let (cli, daemonBinary) = releaseExecutables(), let root = benchmarkDirectory("daemon") else { return 1 }
        defer { _ = CompilerBenchmark.spawn("/bin/rm", ["-rf", root]) }
        let manifest = workspaceDocument(root: root) + """
            apiVersion: orchestrator.dev/v2
            kind: Workflow
            metadata: {name: quick}
            spec:
              steps:
                - {id: one, command: "true"}
            ---
            apiVersion: orchestrator.dev/v2
            kind: Workflow
            metadata: {name: hold}
            spec:
              steps:
                - {id: wait, command: "sleep 3"}
            """
        let file = root + "/m.yaml"
        writeFile(file, manifest)
        print("machine: \(ExprBenchmark.machine())")

        // 1. create -> first step, 4 workers.
        let data = root + "/d"
        guard CompilerBenchmark.spawn(cli, ["apply", "-f", file, "--data-dir", data]) == 0 else {
            print("apply failed")
            return 1
        }
        let floor = (0..<20).map { _ in timed { _ = CompilerBenchmark.spawn(cli, ["--version"]) } }.sorted()
        var embeddedToStep: [Double] = []
        let embeddedData = root + "/embedded"
        for index in 0..<10 {
            let start = realtimeMilliseconds()
            _ = CompilerBenchmark.spawn(cli, ["run", "-f", file, "-W", "quick", "-g", "g", "-n", "e\(index)", "--data-dir", embeddedData])
            if let first = firstStepsStarted(data: embeddedData)["e\(index)"] { embeddedToStep.append(Double(first - start) / 1000) }
        }
        guard let daemon = Daemon.start(daemonBinary, data: data, workers: 4, log: root + "/daemon-1.log") else { return 1 }
        var createTimes: [Double] = []
        var starts: [(name: String, at: Int64)] = []
        for index in 0..<count {
            let start = realtimeMilliseconds()
            createTimes.append(timed { _ = CompilerBenchmark.spawn(cli, ["task", "create", "-n", "b\(index)", "-W", "quick", "-g", "g", "--data-dir", data]) })
            starts.append(("b\(index)", start))
        }
        var toStep: [Double] = []
        let deadline = realtimeMilliseconds() + 60_000
        while toStep.count < count && realtimeMilliseconds() < deadline {
            let firsts = firstStepsStarted(data: data)
            toStep = starts.compactMap { entry in firsts[entry.name].map { Double($0 - entry.at) / 1000 } }
            if toStep.count < count { usleep(200_000) }
        }
        let idle = daemon.residentKiB()
        daemon.stop()
        print("\n1. task create -> first step started, \(count) tasks one after the other, 4 workers")
        report("`task create` process (queued by the daemon)", createTimes)
        report("create process start -> first step_started", toStep, of: count)
        report("baseline: `orchestrator --version` process", floor)
        report("baseline: embedded `run` process start -> first step_started", embeddedToStep)

        // 2. task list over the socket with many tasks.
        let listData = root + "/list"
        guard CompilerBenchmark.spawn(cli, ["apply", "-f", file, "--data-dir", listData]) == 0 else { return 1 }
        let filled = timed { fill(listData, tasks: listed) }
        guard let lister = Daemon.start(daemonBinary, data: listData, workers: 1, log: root + "/daemon-2.log") else { return 1 }
        let socket = (0..<runs).map { _ in timed { _ = CompilerBenchmark.spawn(cli, ["task", "list", "-o", "json", "--data-dir", listData]) } }.sorted()
        setenv("ORCHESTRATOR_EMBEDDED", "1", 1)
        let embedded = (0..<runs).map { _ in timed { _ = CompilerBenchmark.spawn(cli, ["task", "list", "-o", "json", "--data-dir", listData]) } }.sorted()
        unsetenv("ORCHESTRATOR_EMBEDDED")
        lister.stop()
        print("\n2. `task list -o json` with \(listed) tasks in the store (filled in \(tenths(filled)) s)")
        report("over the socket (the daemon runs it)", socket)
        report("baseline: embedded (ORCHESTRATOR_EMBEDDED=1)", embedded)

        // 3. resident memory.
        let memoryData = root + "/memory"
        guard CompilerBenchmark.spawn(cli, ["apply", "-f", file, "--data-dir", memoryData]) == 0 else { return 1 }
        guard let busy = Daemon.start(daemonBinary, data: memoryData, workers: 8, log: root + "/daemon-3.log") else { return 1 }
        usleep(500_000)
        let quiet = busy.residentKiB()
        for index in 0..<8 { _ = CompilerBenchmark.spawn(cli, ["task", "create", "-n", "h\(index)", "-W", "hold", "-g", "g", "--data-dir", memoryData]) }
        var peak = 0
        let until = realtimeMilliseconds() + 2_500
        while realtimeMilliseconds() < until {
            peak = max(peak, busy.residentKiB())
            usleep(100_000)
        }
        let running = runningTasks(memoryData)
        busy.stop()
        print("\n3. daemon resident memory (VmRSS)")
        print("  idle, 4 workers, after 100 tasks ran: \(idle / 1024) MiB")
        print("  idle, 8 workers, fresh:               \(quiet / 1024) MiB")
        print("  8 tasks running at once (\(running) seen running): \(peak / 1024) MiB peak")
        return 0
    }

    // MARK: - Helpers

    struct Daemon {
        let pid: pid_t

        static func start(_ binary: String, data: String, workers: Int, log: String, extra: [String] = []) -> Daemon? {
            var actions = posix_spawn_file_actions_t()
            posix_spawn_file_actions_init(&actions)
            defer { posix_spawn_file_actions_destroy(&actions) }
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
            posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
            posix_spawn_file_actions_addopen(&actions, 2, log, O_WRONLY | O_CREAT | O_APPEND, 0o600)
            let arguments = [binary, "--foreground", "--workers", String(workers), "--data-dir", data] + extra
            let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
            defer { for pointer in argv { free(pointer) } }
            var pid: pid_t = 0
            guard posix_spawn(&pid, binary, &actions, nil, argv, environ) == 0 else {
                print("cannot start \(binary)")
                return nil
            }
            let daemon = Daemon(pid: pid)
            for _ in 0..<200 {
                if let answer = try? ControlClient(dataDirectory: data, timeoutSeconds: 2).request("status"),
                    DaemonStatus(json: answer)?.binarySHA256 != nil
                {
                    return daemon
                }
                usleep(50_000)
            }
            print("the daemon did not serve \(data) within 10 s; see \(log)")
            daemon.stop()
            return nil
        }

        func residentKiB() -> Int {
            guard let bytes = readFileBytes("/proc/\(pid)/status") else { return 0 }
            for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") where line.hasPrefix("VmRSS:") {
                return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
            }
            return 0
        }

        func stop() {
            kill(pid, SIGTERM)
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0, errno == EINTR {}
        }
    }

    /// Milliseconds since the epoch of the first `step_started` of each task, by task name.
    static func firstStepsStarted(data: String) -> [String: Int64] {
        guard let store = try? SQLResourceStore(dataDirectory: data), let all = try? store.taskStore().taskSummaries() else { return [:] }
        var result: [String: Int64] = [:]
        for task in all {
            if let first = try? store.taskStore().events(task.id, types: [.stepStarted], after: 0, limit: 1).first,
                let at = epochMilliseconds(first.timestamp)
            {
                result[task.name] = at
            }
        }
        return result
    }

    static func runningTasks(_ data: String) -> Int {
        guard let store = try? SQLResourceStore(dataDirectory: data), let all = try? store.taskStore().taskSummaries() else { return 0 }
        return all.filter { $0.status == .running }.count
    }

    /// `count` created (not queued) tasks of the `quick` workflow, through the library.
    static func fill(_ data: String, tasks count: Int) {
        guard let store = try? SQLResourceStore(dataDirectory: data) else { return }
        let tasks = store.taskStore()
        for index in 0..<count {
            _ = try? TaskCreation.create(
                store: store, tasks: tasks, project: "default", workflow: "quick", workspace: nil, goal: "g", name: "l\(index)",
                options: TaskOptions())
        }
    }

    /// A store timestamp (`2026-12-04T00:42:11.853Z`) as milliseconds since the epoch.
    static func epochMilliseconds(_ text: String) -> Int64? {
        let parts = text.split(whereSeparator: { "-T:.Z".contains($0) }).compactMap { Int32($0) }
        guard parts.count == 7 else { return nil }
        var fields = tm()
        fields.tm_year = parts[0] - 1900
        fields.tm_mon = parts[1] - 1
        fields.tm_mday = parts[2]
        fields.tm_hour = parts[3]
        fields.tm_min = parts[4]
        fields.tm_sec = parts[5]
        return Int64(timegm(&fields)) * 1000 + Int64(parts[6])
    }

    /// A number with one decimal.
    static func tenths(_ value: Double) -> String {
        let scaled = Int((value * 10).rounded())
        return "\(scaled / 10).\(abs(scaled % 10))"
    }

    static func timed(_ body: () -> Void) -> Double {
        let start = now()
        body()
        return now() - start
    }

    static func writeFile(_ path: String, _ text: String) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { return }
        _ = Array(text.utf8).withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
    }

    static func report(_ what: String, _ values: [Double], of expected: Int? = nil) {
        let sorted = values.sorted()
        guard !sorted.isEmpty else {
            print("  \(what): no measurement")
            return
        }
        func ms(_ seconds: Double) -> String { tenths(seconds * 1000) + " ms" }
        let p50 = sorted[sorted.count / 2]
        let p99 = sorted[min(sorted.count - 1, Int((Double(sorted.count) * 0.99).rounded(.up)) - 1)]
        let missing = expected.map { $0 > sorted.count ? " (\($0 - sorted.count) of \($0) never started)" : "" } ?? ""
        print("  \(what): p50 \(ms(p50)), p99 \(ms(p99)), min \(ms(sorted[0])), max \(ms(sorted[sorted.count - 1])), n=\(sorted.count)\(missing)")
    }
}
