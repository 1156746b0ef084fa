// `orchestrator-bench hostile`: input shapes that used to be superlinear (issue 22), each run as
// a whole `orchestrator` process (start to exit, findings written to /dev/null), timed with its
// peak resident memory:
//  1. validate of 10k/20k/40k/200k one-line documents without `apiVersion` (2 findings each);
//  2. validate of one document whose `metadata.labels` is a flat mapping of 25k/50k/100k keys,
//     and of one whose top level has that many unknown keys (one finding each);
//  3. lint of 5k/10k/20k StepTemplates (every one unused: one finding each).
// Growth is linear when each time doubles with its input.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

enum HostileBenchmark {
    static let help = "validate/lint as processes on many broken documents, huge mappings, many templates (--runs N --binary PATH --sizes S)"

    static func brokenDocuments(_ count: Int) -> String {
        var out = ""
        for _ in 0..<count { out += "---\nkind: Agent\n" }
        return out
    }

    static func labels(_ count: Int) -> String {
        var out = "apiVersion: orchestrator.dev/v2\nkind: Agent\nmetadata:\n  name: a\n  labels:\n"
        for index in 0..<count { out += "    k\(index): v\n" }
        return out + "spec:\n  command: echo\n"
    }

    static func unknownKeys(_ count: Int) -> String {
        var out = "apiVersion: orchestrator.dev/v2\nkind: Agent\nmetadata:\n  name: a\nspec:\n  command: echo\n"
        for index in 0..<count { out += "k\(index): 1\n" }
        return out
    }

    static func templates(_ count: Int) -> String {
        var out = ""
        for index in 0..<count {
            out += "---\napiVersion: orchestrator.dev/v2\nkind: StepTemplate\nmetadata:\n  name: t\(index)\n"
            out += "spec:\n  prompt: \"Implement {goal}, part \(index)\"\n"
        }
        return out
    }

    static func run(_ arguments: [String]) -> Int32 {
        let options = BenchmarkOptions(arguments, suite: "hostile", declared: [
            BenchmarkOption(name: "--runs", value: "N", help: "runs per case, the median is reported (default 3)"),
            BenchmarkOption(name: "--binary", value: "PATH", help: "the orchestrator executable (default: beside this one)"),
            BenchmarkOption(name: "--sizes", value: "S", help: "`small` drops the largest size of each case (default all)"),
            BenchmarkOption(name: "--extra", value: "ARGS", help: "more arguments for every command, e.g. `--max-errors 100000000`"),
        ])
        let runs = options.int("--runs", 3)
        let binary = options.string("--binary") ?? sibling("orchestrator")
        let small = options.string("--sizes") == "small"
        let extra = options.string("--extra").map { $0.split(separator: " ").map(String.init) } ?? []
        #if DEBUG
        print("warning: a debug build; run `swift run -c release orchestrator-bench hostile` for real figures")
        #endif
        let root = "/tmp/orchestrator-bench-hostile-\(getpid())"
        mkdir(root, 0o700)
        defer { _ = CompilerBenchmark.spawn("/bin/rm", ["-rf", root]) }

        let cases: [(name: String, command: String, sizes: [Int], generate: (Int) -> String)] = [
            ("broken documents", "validate", [10_000, 20_000, 40_000, 200_000], brokenDocuments),
            ("keys in metadata.labels", "validate", [25_000, 50_000, 100_000], labels),
            ("unknown top-level keys", "validate", [25_000, 50_000, 100_000], unknownKeys),
            ("step templates", "lint", [5_000, 10_000, 20_000], templates),
        ]
        for testCase in cases {
            print("\(testCase.command), \(testCase.name):")
            for size in small ? Array(testCase.sizes.dropLast()) : testCase.sizes {
                let path = "\(root)/\(testCase.command)-\(size).yaml"
                let text = testCase.generate(size)
                guard StoreBenchmark.write(path, text) else {
                    print("cannot write \(path)")
                    return 1
                }
                var times: [Double] = []
                var peak = 0
                var status: Int32 = 0
                for _ in 0..<runs {
                    let start = now()
                    let result = CompilerBenchmark.spawnMeasured(binary, [testCase.command, "-f", path] + extra)
                    times.append(now() - start)
                    peak = max(peak, result.maxRSSKiB)
                    status = result.status
                }
                times.sort()
                let median = (times[times.count / 2] * 1000).rounded() / 1000
                print("  \(size): \(median) s, peak \(peak / 1024) MiB, \(text.utf8.count / 1024) KiB of input, exit \(status)")
            }
        }
        return 0
    }

    /// `name` in the directory of this executable.
    static func sibling(_ name: String) -> String {
        let me = CommandLine.arguments[0]
        guard let slash = me.lastIndex(of: "/") else { return name }
        return String(me[...slash]) + name
    }
}
