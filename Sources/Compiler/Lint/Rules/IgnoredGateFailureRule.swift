import Diagnostics
import Manifest

extension LintRule {
    static let ignoredGateFailure = LintRule(
        id: "ignored-gate-failure", severity: .warning,
        summary: "a test gate (`self_test`, a test command) whose failure continues and whose result nothing reads",
        rationale: """
            A test gate is there to stop bad work. A task-scoped gate with `on_failure: continue` (the \
            default) does not stop anything by itself: the cycle goes on, and a task step's failure \
            marks no item unresolved. It matters only if something reads its result: a later step's \
            prehook (`self_test_passed`, `STEP_exit_code`, a capture), a placeholder such as \
            `{self_test_errors_path}` in a prompt, a convergence or finalize expression, or, in a loop \
            of several cycles, any step of the next cycle. With none of these the failure is ignored. \
            Gates are the `self_test` builtin (unless `safety.auto_rollback` is on, which acts on its \
            failure) and command steps that run a test tool (`cargo test`, `swift test`, `go test`, \
            `npm test`, `pytest`, `make test`, ...). Item-scoped gates are not reported: their failure \
            leaves the item unresolved.
            """,
        examples: [
            LintExample(
                "self_test fails and the deploy goes on", triggers: true,
                """
                apiVersion: orchestrator.dev/v2
                kind: Workflow
                metadata:
                  name: ship
                spec:
                  steps:
                    - id: build
                      command: make
                    - id: self_test
                      builtin: self_test
                      behavior:
                        on_failure:
                          action: continue
                #                 ^ expect
                    - id: deploy
                      command: ./deploy.sh
                """),
            LintExample(
                "a test command whose result nobody looks at", triggers: true,
                """
                apiVersion: orchestrator.dev/v2
                kind: Workflow
                metadata:
                  name: ship
                spec:
                  steps:
                    - id: unit_tests
                #         ^ expect
                      command: cargo test --workspace
                    - id: deploy
                      command: ./deploy.sh
                """),
            LintExample(
                "the deploy waits for the tests", triggers: false,
                """
                apiVersion: orchestrator.dev/v2
                kind: Workflow
                metadata:
                  name: ship
                spec:
                  steps:
                    - id: self_test
                      builtin: self_test
                    - id: deploy
                      command: ./deploy.sh
                      prehook:
                        when: self_test_passed
                """),
            LintExample(
                "a failure ends the cycle", triggers: false,
                """
                apiVersion: orchestrator.dev/v2
                kind: Workflow
                metadata:
                  name: ship
                spec:
                  steps:
                    - id: unit_tests
                      command: cargo test --workspace
                      behavior:
                        on_failure:
                          action: early_return
                    - id: deploy
                      command: ./deploy.sh
                """),
        ],
        check: IgnoredGateFailure.check)
}

private enum IgnoredGateFailure {
    /// Commands (as word sequences) that run tests or checks.
    static let testTools: [[String]] = [
        ["cargo", "test"], ["cargo", "check"], ["cargo", "clippy"], ["cargo", "nextest"], ["swift", "test"], ["go", "test"],
        ["go", "vet"], ["npm", "test"], ["npm", "run", "test"], ["yarn", "test"], ["pnpm", "test"], ["pytest"],
        ["python", "-m", "pytest"], ["python3", "-m", "pytest"], ["make", "test"], ["make", "check"], ["ctest"], ["mvn", "test"],
        ["mvn", "verify"], ["gradle", "test"], ["./gradlew", "test"], ["tox"], ["rspec"], ["jest"], ["vitest"], ["phpunit"],
        ["dotnet", "test"], ["bazel", "test"],
    ]

    /// True when one of the simple commands of `command` (split at `;`, `&&`, `||`, `|`, line
    /// breaks; quoted text is not looked into) starts with a test tool, after any `VAR=value`,
    /// `env`, `time`, `exec`, `sudo` or `nice`.
    static func runsTests(_ command: String) -> Bool {
        let prefixes: Set<String> = ["env", "time", "exec", "sudo", "nice", "command"]
        for words in simpleCommands(command) {
            var rest = words[...]
            while let first = rest.first, prefixes.contains(first) || (first.contains("=") && !first.hasPrefix("=")) {
                rest = rest.dropFirst()
            }
            for tool in testTools where rest.count >= tool.count && Array(rest.prefix(tool.count)) == tool { return true }
        }
        return false
    }

    /// The words of each simple command; a word with quotes in it keeps its quote characters, so
    /// quoted text never matches a tool name.
    static func simpleCommands(_ text: String) -> [[String]] {
        var commands: [[String]] = []
        var words: [String] = []
        var word = ""
        var quote: Character?
        func endWord() {
            if !word.isEmpty { words.append(word) }
            word = ""
        }
        func endCommand() {
            endWord()
            if !words.isEmpty { commands.append(words) }
            words = []
        }
        for character in text {
            if let open = quote {
                word.append(character)
                if character == open { quote = nil }
                continue
            }
            switch character {
            case "'", "\"":
                quote = character
                word.append(character)
            case " ", "\t":
                endWord()
            case ";", "&", "|", "(", ")", "\n", "{", "}":
                endCommand()
            default:
                word.append(character)
            }
        }
        endCommand()
        return commands
    }

    static func check(_ context: LintContext) -> [Diagnostic] {
        var findings: [Diagnostic] = []
        for (number, workflow) in context.workflows.enumerated() {
            let variables = context.variables(number)
            let graph = workflow.graph
            let severalCycles = graph.loop.cycleLimit != 1
            // What is read at the end of every cycle.
            var cycleEndReads = Set<String>()
            for rule in graph.loop.convergence { cycleEndReads.formUnion(rule.when.variables) }
            for rule in graph.finalizeRules ?? [] { cycleEndReads.formUnion(rule.when.variables) }
            let agentReads = context.agentReads(project: workflow.project)

            for (index, step) in variables.steps.enumerated() where step.compiled.enabled && step.compiled.scope == .task {
                let gate: String
                switch step.compiled.kind {
                case .builtin(.self_test):
                    if graph.safety.autoRollback { continue }
                    gate = "the `self_test` builtin"
                case .command(let command) where runsTests(command):
                    gate = "a test command"
                default:
                    continue
                }
                guard step.compiled.onFailure.action == .continue else { continue }
                var results = Set(PrehookVariables.stepVariables(stepID: step.compiled.id).map(\.name))
                for capture in step.compiled.captures { results.insert(capture.variable) }
                if case .builtin(let builtin) = step.compiled.kind {
                    for (name, _) in PrehookVariables.variablesSet(by: builtin) { results.insert(name) }
                    results.formUnion(["self_test_passed", "self_test_exit_code"])
                }
                if !cycleEndReads.isDisjoint(with: results) || !agentReads.isDisjoint(with: results) { continue }
                let readers = variables.steps.indices.filter { other in
                    guard other != index, severalCycles || other > index else { return false }
                    let reader = variables.steps[other]
                    guard reader.compiled.enabled else { return false }
                    if let prehook = reader.compiled.prehook, !results.isDisjoint(with: prehook.when.variables) { return true }
                    if variables.renderings[other].uses.contains(where: { results.contains($0.name) }) { return true }
                    return reader.compiled.postActions.contains { $0.generateItems.map { results.contains($0.fromVariable) } ?? false }
                }
                guard readers.isEmpty else { continue }
                let range = step.spec.behavior.onFailure?.action.range ?? step.compiled.idRange
                findings.append(
                    LintRule.ignoredGateFailure.finding(
                        "step `\(step.compiled.id)` is \(gate) whose failure is ignored: `on_failure` is `continue` and no \(severalCycles ? "" : "later ")step, convergence or finalize rule reads its result",
                        file: workflow.file, range: range,
                        help: "set `behavior.on_failure: {action: early_return}`, or gate the next steps on it (e.g. `prehook: {when: \(step.compiled.kind == .builtin(.self_test) ? "self_test_passed" : PrehookVariables.exitCodeVariable(step.compiled.id) + " == 0")}`)"))
            }
        }
        return findings
    }
}
