// `orchestrator-bench compiler`: the Compiler layer's costs.
//  1. A generated project: one workflow of 1,000 steps plus 999 other resources (agents,
//     templates, profiles, env stores) = 1,000 resources: load (YAML + decode), compile
//     (references, checks, expressions, hash), plan, each the median of several runs.
//  2. `validate` of a directory (the corpus) as a whole process, start to exit, spawned
//     repeatedly (--binary, --corpus).

import CLI
import Compiler
import Diagnostics
import Manifest

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

enum CompilerBenchmark {
    static let help = "compile a generated 1,000-step / 1,000-resource project; validate the corpus as a process (--corpus DIR --binary PATH --runs N)"

    static func run(_ arguments: [String]) -> Int32 {
        let (runs, corpus, binary) = BenchmarkOptions.corpus(arguments, suite: "compiler", corpusHelp: "validate this directory as a process")
        let steps = 1_000
        let resources = 1_000
        let text = generatedProject(steps: steps, resources: resources)
        let source = SourceFile(path: "generated.yaml", text: text)
        print("generated project: \(steps) steps, \(resources) resources, \(source.bytes.count / 1024) KiB of YAML")

        var loaded = ManifestLoader.load([source], projectOverride: nil)
        let loadTimes = measure(runs) { loaded = ManifestLoader.load([source], projectOverride: nil) }
        guard !loaded.hasErrors, loaded.resources.count == resources else {
            print("the generated project does not load cleanly: \(loaded.resources.count) resources")
            for diagnostic in loaded.diagnostics.prefix(5) { print("  \(diagnostic)") }
            return 1
        }
        var compilation = Compiler.compile(loaded.resources, sources: loaded.sources)
        let compileTimes = measure(runs) { compilation = Compiler.compile(loaded.resources, sources: loaded.sources) }
        guard !compilation.hasErrors, let graph = compilation.workflows.first else {
            print("the generated project does not compile cleanly")
            for diagnostic in compilation.diagnostics.prefix(5) { print("  \(diagnostic)") }
            return 1
        }
        var plan = Planner.plan(graph)
        let planTimes = measure(runs) { plan = Planner.plan(graph) }
        var hash = ""
        let hashTimes = measure(runs) { hash = CanonicalForm.hash(of: graph) }
        report("load (parse + decode)", loadTimes)
        report("compile", compileTimes)
        report("  of which: content hash", hashTimes)
        report("plan (\(plan.cycles.count) cycles x \(graph.steps.count) steps)", planTimes)
        print("  segments: \(graph.segments.count), canonical form \(CanonicalForm.serialize(graph).count / 1024) KiB, hash \(hash.prefix(16))...")

        if let corpus {
            let executable = binary ?? ".build/release/orchestrator"
            var status: Int32 = 0
            let times = measure(runs) { status = spawn(executable, ["validate", "-f", corpus]) }
            report("validate -f \(corpus) (process, exit \(status))", times)
        }
        return 0
    }

    /// The YAML of a project with `resources` resources, one of them a workflow of `steps` steps.
    static func generatedProject(steps: Int, resources: Int) -> String {
        let others = resources - 1
        let agents = others * 3 / 10, templates = others * 3 / 10, profiles = others * 2 / 10
        let stores = others - agents - templates - profiles
        var out = ""
        func document(_ kind: String, _ name: String, _ spec: String) {
            out += "---\napiVersion: orchestrator.dev/v2\nkind: \(kind)\nmetadata:\n  name: \(name)\nspec:\n\(spec)"
        }
        for number in 0..<stores {
            document("EnvStore", "store-\(number)", "  data:\n    KEY_\(number): \"value \(number)\"\n")
        }
        for number in 0..<agents {
            document(
                "Agent", "agent-\(number)",
                """
                  command: agent-cli -p "{prompt}" --model m\(number % 7)
                  capabilities: [cap_\(number), cap_\((number + 1) % agents)]
                  metadata:
                    cost: \(number % 5)
                  env:
                    - fromRef: store-\(number % max(1, stores))

                """)
        }
        for number in 0..<templates {
            document("StepTemplate", "template-\(number)", "  prompt: >-\n    Do part \(number) of {goal} in {source_tree}.\n    Read {plan_output_path}.\n")
        }
        for number in 0..<profiles {
            document(
                "ExecutionProfile", "profile-\(number)",
                "  mode: sandbox\n  fs_mode: workspace_rw_scoped\n  writable_paths: [src, docs]\n  network_mode: deny\n")
        }
        var workflow = "  max_parallel: 4\n  loop:\n    mode: fixed\n    max_cycles: 3\n  steps:\n"
        for number in 0..<steps {
            let id = "step_\(number)"
            workflow += "    - id: \(id)\n"
            switch number % 10 {
            case 9:
                workflow += "      command: \"echo \(number)\"\n      scope: item\n"
            default:
                workflow += "      required_capability: cap_\(number % agents)\n      template: template-\(number % templates)\n"
                workflow += "      execution_profile: profile-\(number % profiles)\n"
                if number % 20 < 10 { workflow += "      scope: item\n" }
            }
            if number % 4 == 0 {
                workflow += "      behavior:\n        captures:\n          - var: result_\(number)\n            source: stdout\n            json_path: \"$.items\"\n"
            }
            if number % 3 == 0 && number >= 4 {
                let earlier = (number / 4 - 1) * 4
                workflow += "      prehook:\n        when: \"is_last_cycle || (cycle > 1 && size(result_\(earlier)) > 0 && step_\(number - 1)_exit_code == 0)\"\n"
            }
            if number % 50 == 49 { workflow += "      repeatable: false\n" }
        }
        workflow += "    - id: loop_guard\n      builtin: loop_guard\n"
        document("Workflow", "generated", workflow)
        return out
    }

    static func measure(_ runs: Int, _ body: () -> Void) -> [Double] {
        var times: [Double] = []
        for _ in 0..<max(1, runs) {
            let start = now()
            body()
            times.append(now() - start)
        }
        return times.sorted()
    }

    static func report(_ what: String, _ sorted: [Double]) {
        func ms(_ seconds: Double) -> String {
            let value = (seconds * 10_000).rounded() / 10
            return "\(value) ms"
        }
        let median = sorted[sorted.count / 2]
        print("\(what): median \(ms(median)), min \(ms(sorted[0])), max \(ms(sorted[sorted.count - 1])) (\(sorted.count) runs)")
    }

    /// Runs `path arguments...` with stdout and stderr to /dev/null; returns its exit status.
    static func spawn(_ path: String, _ arguments: [String]) -> Int32 {
        spawnMeasured(path, arguments).status
    }

    /// `spawn`, also returning the child's peak resident memory (KiB, from `wait4`'s rusage).
    static func spawnMeasured(_ path: String, _ arguments: [String]) -> (status: Int32, maxRSSKiB: Int) {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        guard posix_spawn(&pid, path, &actions, nil, argv, environ) == 0 else { return (-1, 0) }
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) < 0, errno == EINTR {}
        return ((status >> 8) & 0xFF, Int(usage.ru_maxrss))
    }
}
