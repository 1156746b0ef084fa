// Release-build benchmarks. Run: swift run -c release orchestrator-bench SUITE [options]
// Each suite lives in its own file and registers itself in `suites` below.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Monotonic wall-clock seconds.
func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

let suites: [(name: String, help: String, run: ([String]) -> Int32)] = [
    ("yaml", YAMLBenchmark.help, YAMLBenchmark.run),
    ("compiler", CompilerBenchmark.help, CompilerBenchmark.run),
    ("lint", LintBenchmark.help, LintBenchmark.run),
    ("expr", ExprBenchmark.help, ExprBenchmark.run),
    ("store", StoreBenchmark.help, StoreBenchmark.run),
    ("runner", RunnerBenchmark.help, RunnerBenchmark.run),
    ("hostile", HostileBenchmark.help, HostileBenchmark.run),
    ("daemon", DaemonBenchmark.help, DaemonBenchmark.run),
    ("scale", ScaleBenchmark.help, ScaleBenchmark.run),
    ("scaleout", ScaleOutBenchmark.help, ScaleOutBenchmark.run),
]

let args = Array(CommandLine.arguments.dropFirst())
if let name = args.first, let suite = suites.first(where: { $0.name == name }) {
    exit(suite.run(Array(args.dropFirst())))
}
print("usage: orchestrator-bench SUITE [options]\nsuites:")
for suite in suites { print("  \(suite.name): \(suite.help)") }
exit(args.isEmpty || args.first == "--help" ? 0 : 2)
