// `orchestrator-bench runner`: the task runner's overhead per step against a plain shell loop
// running the same commands, measured in the same run.
//  1. A workflow of 1,000 `true` command steps (one task segment, one cycle) against
//     `for i in $(seq 1000); do bash -c true; done` (the default step shell; `sh -c` shown too).
//  2. 1,000 items (QA documents), one `true` step each, `max_parallel: 8`, against the same
//     sequential loop and against `xargs -P 8` running `bash -c true` 1,000 times.
// Each figure is the median of --runs runs (default 3). The runner runs through the library
// (TaskCreation + TaskRunner: events, runs, logs, everything a task does), not a subprocess.

import CLI
import JSON
import Runner
import Store

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

enum RunnerBenchmark {
    static let help =
        "1,000 `true` steps and 1,000 items (max_parallel 8) through the task runner vs a shell loop (--runs N --count N --dir DIR)"

    static func run(_ arguments: [String]) -> Int32 {
        let options = BenchmarkOptions(arguments, suite: "runner", declared: [
            BenchmarkOption(name: "--runs", value: "N", help: "runs per measurement (default 3)"),
            BenchmarkOption(name: "--count", value: "N", help: "steps and items (default 1000)"),
            BenchmarkOption(name: "--dir", value: "DIR", help: "where the temporary data directory goes (default /tmp)"),
        ])
        let runs = options.int("--runs", 3)
        let count = options.int("--count", 1_000)
        let base = options.string("--dir") ?? "/tmp"
        guard let root = benchmarkDirectory("runner", base: base) else { return 1 }
        defer { _ = spawnShell("rm -rf '\(root)'", directory: "/") }
        mkdir(root + "/ws", 0o700)
        mkdir(root + "/ws/qa", 0o700)
        for number in 1...count {
            let fd = open(root + "/ws/qa/item-\(number).md", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
            if fd >= 0 { close(fd) }
        }
        var yaml = """
            apiVersion: orchestrator.dev/v2
            kind: Workspace
            metadata: {name: ws}
            spec: {root_path: ws, qa_targets: [qa]}
            ---
            apiVersion: orchestrator.dev/v2
            kind: Workflow
            metadata: {name: steps}
            spec:
              steps:

            """
        for number in 1...count { yaml += "    - {id: s\(number), command: \"true\"}\n" }
        yaml += """
            ---
            apiVersion: orchestrator.dev/v2
            kind: Workflow
            metadata: {name: items}
            spec:
              max_parallel: 8
              steps:
                - {id: qa, command: "true"}

            """
        let manifest = root + "/bench.yaml"
        let fd = open(manifest, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        _ = Array(yaml.utf8).withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        let data = root + "/data"
        let context = CommandContext.captured(currentDirectory: root)
        guard Orchestrator.main(["apply", "-f", manifest, "--data-dir", data], context: context) == .success else {
            print("apply failed: \(context.stderr.text)")
            return 1
        }
        let store: any ResourceStore
        do {
            store = try SQLResourceStore(dataDirectory: data)
        } catch {
            print("cannot open the store: \(error)")
            return 1
        }
        let tasks = store.taskStore()
        print("runner benchmark: \(count) steps / \(count) items, median of \(runs) runs, \(root)")

        func runTask(_ workflow: String) -> Double? {
            do {
                let created = try TaskCreation.create(
                    store: store, tasks: tasks, project: "default", workflow: workflow, workspace: nil, goal: "bench", name: nil,
                    options: TaskOptions())
                let task = created.task
                let start = now()
                let runner = try TaskRunner(tasks: tasks, resources: store, taskID: task.id, pinned: created.pinned)
                let final = try runner.run()
                let elapsed = now() - start
                guard final.status == .completed else {
                    print("task \(task.id) \(final.status.rawValue): \(final.reason ?? "")")
                    return nil
                }
                return elapsed
            } catch {
                print("runner error: \(error)")
                return nil
            }
        }
        func median(_ body: () -> Double?) -> Double? {
            var values: [Double] = []
            for _ in 0..<max(1, runs) {
                guard let value = body() else { return nil }
                values.append(value)
            }
            values.sort()
            return values[values.count / 2]
        }
        // The floor runs what each step runs: the default runtime policy's shell (bash -c, as
        // the replaced system's shell; /bin/sh where there is none). `sh -c` is shown as well.
        let stepShell = RuntimePolicy.defaults.shell
        let loop = "for i in $(seq \(count)); do \(stepShell) -c true; done"
        let parallelLoop = "seq \(count) | xargs -P 8 -n 1 \(stepShell) -c true"
        let dashLoop = "for i in $(seq \(count)); do sh -c true; done"
        // The process launcher alone (no store, no runner): what a step's process costs the
        // runner before any event is written, so the overhead splits into launch and bookkeeping.
        func launchAlone() -> Double? {
            let start = now()
            for _ in 0..<count {
                var request = ProcessRequest(
                    command: "true", workingDirectory: root + "/ws", stdoutLogPath: root + "/launch.stdout",
                    stderrLogPath: root + "/launch.stderr", timeout: .seconds(60))
                request.inheritedVariables = []
                request.shell = stepShell
                request.createsEmptyLogs = false
                guard let result = try? ProcessLauncher.runBlocking(request), result.termination == .exited(0) else { return nil }
            }
            return now() - start
        }
        guard let shell = median({ spawnShell(loop, directory: root) }),
            let launcher = median(launchAlone),
            let shellParallel = median({ spawnShell(parallelLoop, directory: root) }),
            let dash = median({ spawnShell(dashLoop, directory: root) }),
            let steps = median({ runTask("steps") }),
            let items = median({ runTask("items") })
        else { return 1 }
        func ms(_ seconds: Double) -> String { "\((seconds * 10_000).rounded() / 10) ms" }
        func per(_ seconds: Double) -> String { "\((seconds * 1_000_000 / Double(count)).rounded()) µs" }
        func ratio(_ a: Double, _ b: Double) -> String { "\((a / b * 100).rounded() / 100)x" }
        print("step shell: \(stepShell) -c (the default runtime policy)")
        print("shell loop (sequential):      \(ms(shell))  (\(per(shell)) per command)")
        print("sh -c loop, for reference:    \(ms(dash))  (\(per(dash)) per command)")
        print("shell xargs -P 8:             \(ms(shellParallel))  (\(per(shellParallel)) per command)")
        print("launcher alone, \(count) runs: \(ms(launcher))  (\(per(launcher)) per process, \(ratio(launcher, shell)) the shell loop)")
        print("runner, \(count) steps:          \(ms(steps))  (\(per(steps)) per step, \(ratio(steps, shell)) the shell loop, overhead \(per(steps - shell)) per step)")
        print("runner, \(count) items x8:       \(ms(items))  (\(per(items)) per item, \(ratio(items, shell)) the sequential loop, \(ratio(items, shellParallel)) xargs -P 8)")
        return steps <= 2 * shell ? 0 : 1
    }

    /// Runs `/bin/sh -c command` and returns the wall time in seconds (nil on failure).
    @discardableResult
    static func spawnShell(_ command: String, directory: String) -> Double? {
        let start = now()
        let status = CompilerBenchmark.spawn("/bin/sh", ["-c", "cd '\(directory)' && " + command])
        let elapsed = now() - start
        return status == 0 ? elapsed : nil
    }
}
