// `orchestrator-bench lint`: what the lint rules cost on top of `validate`.
//  1. The compiler suite's generated project (one workflow of 1,000 steps plus 999 other
//     resources, 1,000 resources): load, compile, then lint (every rule, suppressions,
//     configuration), each the median of several runs; the findings per rule.
//  2. The corpus (--corpus DIR): read once, then load + compile + lint in-process; and
//     `lint -f DIR` against `validate -f DIR` as whole processes (--binary).

import CLI
import Compiler
import Diagnostics
import Manifest

enum LintBenchmark {
    static let help = "lint a generated 1,000-step / 1,000-resource project; lint the corpus in-process and as a process (--corpus DIR --binary PATH --runs N)"

    static func run(_ arguments: [String]) -> Int32 {
        let (runs, corpus, binary) = BenchmarkOptions.corpus(arguments, suite: "lint", corpusHelp: "lint this directory in-process and as a process")

        let text = CompilerBenchmark.generatedProject(steps: 1_000, resources: 1_000)
        let source = SourceFile(path: "generated.yaml", text: text)
        print("generated project: 1000 steps, 1000 resources, \(source.bytes.count / 1024) KiB of YAML")
        var loaded = ManifestLoader.load([source], projectOverride: nil)
        let loadTimes = CompilerBenchmark.measure(runs) { loaded = ManifestLoader.load([source], projectOverride: nil) }
        var compilation = Compiler.compile(loaded.resources, sources: loaded.sources)
        let compileTimes = CompilerBenchmark.measure(runs) { compilation = Compiler.compile(loaded.resources, sources: loaded.sources) }
        guard !compilation.hasErrors else {
            print("the generated project does not compile cleanly")
            return 1
        }
        var findings: [Diagnostic] = []
        let lintTimes = CompilerBenchmark.measure(runs) {
            findings = Linter.lint(
                resources: loaded.resources, sources: loaded.sources, compilation: compilation,
                validateDiagnostics: loaded.diagnostics + compilation.diagnostics)
        }
        let totalTimes = CompilerBenchmark.measure(runs) {
            let load = ManifestLoader.load([source], projectOverride: nil)
            let compiled = Compiler.compile(load.resources, sources: load.sources)
            _ = Linter.lint(
                resources: load.resources, sources: load.sources, compilation: compiled,
                validateDiagnostics: load.diagnostics + compiled.diagnostics)
        }
        CompilerBenchmark.report("load (parse + decode)", loadTimes)
        CompilerBenchmark.report("compile", compileTimes)
        CompilerBenchmark.report("lint rules (after compile)", lintTimes)
        CompilerBenchmark.report("load + compile + lint", totalTimes)
        print("  findings: \(summary(findings))")

        if let corpus {
            let context = CommandContext.captured()
            guard let sources = try? FileSystem.readInputs([corpus], context: context) else {
                print("cannot read \(corpus)")
                return 2
            }
            var corpusFindings: [Diagnostic] = []
            let inProcess = CompilerBenchmark.measure(runs) {
                let load = ManifestLoader.load(sources, projectOverride: nil)
                let compiled = Compiler.compile(load.resources, sources: load.sources)
                corpusFindings = Linter.lint(
                    resources: load.resources, sources: load.sources, compilation: compiled,
                    validateDiagnostics: load.diagnostics + compiled.diagnostics)
            }
            let validateOnly = CompilerBenchmark.measure(runs) {
                let load = ManifestLoader.load(sources, projectOverride: nil)
                _ = Compiler.compile(load.resources, sources: load.sources)
            }
            let load = ManifestLoader.load(sources, projectOverride: nil)
            let compiled = Compiler.compile(load.resources, sources: load.sources)
            let rulesOnly = CompilerBenchmark.measure(runs) {
                _ = Linter.lint(
                    resources: load.resources, sources: load.sources, compilation: compiled,
                    validateDiagnostics: load.diagnostics + compiled.diagnostics)
            }
            print("corpus: \(sources.count) files")
            CompilerBenchmark.report("  load + compile (validate's work, in-process)", validateOnly)
            CompilerBenchmark.report("  load + compile + lint (in-process)", inProcess)
            CompilerBenchmark.report("  lint rules alone", rulesOnly)
            print("  findings: \(summary(corpusFindings))")
            let executable = binary ?? ".build/release/orchestrator"
            var status: Int32 = 0
            let lintProcess = CompilerBenchmark.measure(runs) { status = CompilerBenchmark.spawn(executable, ["lint", "-f", corpus]) }
            CompilerBenchmark.report("  lint -f \(corpus) (process, exit \(status))", lintProcess)
            let validateProcess = CompilerBenchmark.measure(runs) { status = CompilerBenchmark.spawn(executable, ["validate", "-f", corpus]) }
            CompilerBenchmark.report("  validate -f \(corpus) (process, exit \(status))", validateProcess)
        }
        return 0
    }

    /// "12 (no-effect 3, unknown-placeholder 9)": lint-rule findings by rule.
    static func summary(_ findings: [Diagnostic]) -> String {
        var counts: [String: Int] = [:]
        for finding in findings where LintRegistry.rule(finding.rule) != nil { counts[finding.rule, default: 0] += 1 }
        let total = counts.values.reduce(0, +)
        return "\(total) lint (" + counts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            + "), \(findings.count - total) of validate"
    }
}
