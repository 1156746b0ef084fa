// The command-line options of a benchmark suite: declared once per suite, parsed by one loop.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One option: `--name VALUE`.
struct BenchmarkOption {
    var name: String
    var value: String
    var help: String
}

/// The parsed `--name VALUE` options of a suite. `--help` prints the usage and exits 0; an
/// unknown option, a missing or a bad value prints it and exits 2 (a benchmark is a process of
/// its own, so leaving at once is the simplest honest answer).
struct BenchmarkOptions {
    let suite: String
    let declared: [BenchmarkOption]
    private var values: [String: String] = [:]

    init(_ arguments: [String], suite: String, declared: [BenchmarkOption]) {
        self.suite = suite
        self.declared = declared
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            if argument == "--help" || argument == "-h" { usage(exitStatus: 0) }
            guard declared.contains(where: { $0.name == argument }), index + 1 < arguments.count else {
                print("unknown option or missing value: \(argument)")
                usage(exitStatus: 2)
            }
            values[argument] = arguments[index + 1]
            index += 2
        }
    }

    func usage(exitStatus: Int32) -> Never {
        var out = "usage: orchestrator-bench \(suite)" + declared.map { " [\($0.name) \($0.value)]" }.joined()
        let width = (declared.map { $0.name.count + $0.value.count }.max() ?? 0) + 3
        for option in declared {
            let label = "\(option.name) \(option.value)"
            out += "\n  " + label + String(repeating: " ", count: width - label.count) + option.help
        }
        print(out)
        exit(exitStatus)
    }

    func string(_ name: String) -> String? { values[name] }

    /// A positive integer, `fallback` when the option is absent.
    func int(_ name: String, _ fallback: Int) -> Int { positive(name, fallback) }

    /// A positive number, `fallback` when the option is absent.
    func double(_ name: String, _ fallback: Double) -> Double { positive(name, fallback) }

    private func positive<Number: LosslessStringConvertible & Comparable & ExpressibleByIntegerLiteral>(
        _ name: String, _ fallback: Number
    ) -> Number {
        guard let text = values[name] else { return fallback }
        guard let value = Number(text), value > 0 else {
            print("\(name) needs a positive number, not `\(text)`")
            usage(exitStatus: 2)
        }
        return value
    }

    /// The options of the suites that time a generated project and, with `--corpus` and
    /// `--binary`, a directory as a process: `--runs N --corpus DIR --binary PATH`.
    static func corpus(_ arguments: [String], suite: String, corpusHelp: String) -> (runs: Int, corpus: String?, binary: String?) {
        let options = BenchmarkOptions(arguments, suite: suite, declared: [
            BenchmarkOption(name: "--runs", value: "N", help: "runs per measurement (default 15)"),
            BenchmarkOption(name: "--corpus", value: "DIR", help: corpusHelp),
            BenchmarkOption(name: "--binary", value: "PATH", help: "the orchestrator executable for --corpus"),
        ])
        return (options.int("--runs", 15), options.string("--corpus"), options.string("--binary"))
    }
}

/// Workspace `ws` at ROOT/ws (created here), then `---`: the start of the daemon benchmarks'
/// manifests.
func workspaceDocument(root: String) -> String {
    mkdir(root + "/ws", 0o700)
    return """
        apiVersion: orchestrator.dev/v2
        kind: Workspace
        metadata: {name: ws}
        spec: {root_path: \(root)/ws, qa_targets: []}
        ---

        """
}

/// A new directory `/tmp/orchestrator-bench-LABEL-XXXXXX` (or under `base`); nil, said, when it
/// cannot be made.
func benchmarkDirectory(_ label: String, base: String = "/tmp") -> String? {
    var template = Array("\(base)/orchestrator-bench-\(label)-XXXXXX".utf8CString)
    let made = template.withUnsafeMutableBufferPointer { buffer -> String? in
        guard let start = buffer.baseAddress, let path = mkdtemp(start) else { return nil }
        return String(cString: path)
    }
    if made == nil { print("cannot create a temporary directory") }
    return made
}

/// The release `orchestrator` and `orchestratord` beside the bench binary; nil, said, when
/// they are not built.
func releaseExecutables() -> (cli: String, daemon: String)? {
    let cli = HostileBenchmark.sibling("orchestrator")
    let daemon = HostileBenchmark.sibling("orchestratord")
    guard access(cli, X_OK) == 0, access(daemon, X_OK) == 0 else {
        print("build the executables first: swift build -c release (looked for \(cli) and \(daemon))")
        return nil
    }
    return (cli, daemon)
}
