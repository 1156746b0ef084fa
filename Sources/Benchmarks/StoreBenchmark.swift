// `orchestrator-bench store`: the embedded store through the real commands, in-process.
//  1. apply of 1,000 resources into a fresh data directory;
//  2. re-apply of the same files (every resource unchanged);
//  3. `get` of one resource out of 10,000.
// Baseline in the same run: the `sqlite3` shell inserting the same 1,000 JSON rows in one
// transaction (process start included), i.e. the database work alone.

import CLI
import Platform

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

enum StoreBenchmark {
    static let help = "apply 1,000 resources, re-apply them unchanged, get one of 10,000 (--runs N)"

    /// `count` step templates and agents (half each) as one manifest stream.
    static func manifest(_ count: Int) -> String {
        var out = ""
        for index in 0..<count {
            if index > 0 { out += "---\n" }
            if index % 2 == 0 {
                out += """
                    apiVersion: orchestrator.dev/v2
                    kind: StepTemplate
                    metadata:
                      name: t\(index)
                      labels: {team: core}
                    spec:
                      description: "template \(index)"
                      prompt: >-
                        Implement the plan at {plan_output_path} for {goal}, part \(index),
                        and report what changed.

                    """
            } else {
                out += """
                    apiVersion: orchestrator.dev/v2
                    kind: Agent
                    metadata:
                      name: a\(index)
                    spec:
                      capabilities: [c\(index), review]
                      command: claude -p "{prompt}" --output-format json
                      metadata: {cost: \(index % 7)}

                    """
            }
        }
        return out
    }

    /// The package's root (this file is Sources/Benchmarks/StoreBenchmark.swift under it).
    static var packageRoot: String {
        var parts = String(#filePath).split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)
        return parts.joined(separator: "/")
    }

    static func write(_ path: String, _ text: String) -> Bool {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) } == bytes.count
    }

    static func orchestrator(_ arguments: [String]) -> ExitStatus {
        Orchestrator.main(arguments, context: .captured(currentDirectory: "/tmp"))
    }

    static func run(_ arguments: [String]) -> Int32 {
        let runs = BenchmarkOptions(arguments, suite: "store", declared: [
            BenchmarkOption(name: "--runs", value: "N", help: "runs per measurement (default 5)")
        ]).int("--runs", 5)
        let pid = getpid()
        let root = "/tmp/orchestrator-bench-store-\(pid)"
        mkdir(root, 0o700)
        let small = root + "/1000.yaml", large = root + "/10000.yaml"
        guard write(small, manifest(1_000)), write(large, manifest(10_000)) else {
            print("cannot write the generated manifests under \(root)")
            return 1
        }
        var counter = 0
        let applyTimes = CompilerBenchmark.measure(runs) {
            counter += 1
            _ = orchestrator(["apply", "-f", small, "--data-dir", "\(root)/fresh\(counter)"])
        }
        CompilerBenchmark.report("apply 1,000 resources (fresh store)", applyTimes)
        // The same on one core: what the work costs, without the threads that parse, decode and
        // hash the resources in parallel.
        let workers = Parallel.maximumWorkers
        Parallel.setMaximumWorkers(1)
        let oneCoreTimes = CompilerBenchmark.measure(runs) {
            counter += 1
            _ = orchestrator(["apply", "-f", small, "--data-dir", "\(root)/fresh\(counter)"])
        }
        Parallel.setMaximumWorkers(workers)
        CompilerBenchmark.report("apply 1,000 resources (fresh store, one core)", oneCoreTimes)
        let reapplyTimes = CompilerBenchmark.measure(runs) {
            _ = orchestrator(["apply", "-f", small, "--data-dir", "\(root)/fresh1"])
        }
        CompilerBenchmark.report("re-apply 1,000 resources (all unchanged)", reapplyTimes)
        guard orchestrator(["apply", "-f", large, "--data-dir", "\(root)/large"]) == .success else {
            print("apply of 10,000 resources failed")
            return 1
        }
        let getTimes = CompilerBenchmark.measure(runs * 10) {
            _ = orchestrator(["get", "template", "t5000", "-o", "yaml", "--data-dir", "\(root)/large"])
        }
        CompilerBenchmark.report("get 1 of 10,000 resources (-o yaml)", getTimes)

        // Baseline: the sqlite3 shell, same rows, one transaction (the SQL is the script's: SQL
        // text lives in Sources/Store only).
        let script = packageRoot + "/scripts/sqlite3-baseline.sh"
        let baselineTimes = CompilerBenchmark.measure(runs) {
            counter += 1
            _ = CompilerBenchmark.spawn("/bin/sh", [script, "\(root)/baseline\(counter).db", "1000"])
        }
        CompilerBenchmark.report("baseline: sqlite3 shell inserting 1,000 rows in one transaction", baselineTimes)
        _ = CompilerBenchmark.spawn("/bin/rm", ["-rf", root])
        return 0
    }
}
