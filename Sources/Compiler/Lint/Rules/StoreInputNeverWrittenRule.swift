import Diagnostics
import Manifest

extension LintRule {
    static let storeInputNeverWritten = LintRule(
        id: "store-input-never-written", severity: .warning,
        summary: "a `store_inputs` key that no workflow of the project writes",
        rationale: """
            A step's `store_inputs` read values that earlier tasks wrote to a WorkflowStore. When no \
            workflow of the project writes the key (`store_outputs`, a `store_put` post-action, or an \
            `orchestrator store put STORE KEY` in a step's command), the value is never there: the \
            variable stays unset, every time, and a `required` input fails the step. Usually the key or \
            the store name is misspelt on one side. A key written by hand or by another project is \
            fine; suppress the finding there.
            """,
        examples: [
            LintExample(
                "the writer says `last_sha`, the reader `last_commit`", triggers: true,
                """
                apiVersion: orchestrator.dev/v2
                kind: Workflow
                metadata:
                  name: release
                spec:
                  steps:
                    - id: notes
                      command: git log --oneline {last_commit}..HEAD
                      store_inputs:
                        - store: release
                          key: last_commit
                #              ^ expect
                          as_var: last_commit
                    - id: record
                      command: git rev-parse HEAD
                      store_outputs:
                        - store: release
                          key: last_sha
                          from_var: record_output
                """),
            LintExample(
                "written by store_put, and by a command", triggers: false,
                """
                apiVersion: orchestrator.dev/v2
                kind: Workflow
                metadata:
                  name: release
                spec:
                  steps:
                    - id: notes
                      command: git log --oneline {last_sha}..HEAD
                      store_inputs:
                        - store: release
                          key: last_sha
                          as_var: last_sha
                        - store: release
                          key: published
                          as_var: published
                    - id: record
                      command: git rev-parse HEAD && orchestrator store put release published yes
                      behavior:
                        post_actions:
                          - type: store_put
                            store: release
                            key: last_sha
                            from_var: record_output
                """),
        ],
        check: StoreInputNeverWritten.check)
}

private enum StoreInputNeverWritten {
    /// A written key: its store and the key as written (`{...}` placeholders match anything).
    struct Written {
        var store: String
        var key: String

        func matches(store other: String, key read: String) -> Bool {
            guard store == other else { return false }
            guard key.contains("{") else { return key == read }
            // The literal parts between placeholders, in order; a placeholder matches anything.
            var literals: [String] = [""]
            var inside = false
            for character in key {
                if character == "{" { inside = true } else if character == "}" && inside {
                    inside = false
                    literals.append("")
                } else if !inside {
                    literals[literals.count - 1].append(character)
                }
            }
            guard let first = literals.first, let last = literals.last, read.hasPrefix(first), read.count >= first.count + last.count,
                read.hasSuffix(last)
            else { return false }
            var rest = Substring(read.dropFirst(first.count).dropLast(last.count))
            for part in literals.dropFirst().dropLast() where !part.isEmpty {
                guard let found = rest.firstRange(of: part) else { return false }
                rest = rest[found.upperBound...]
            }
            return true
        }
    }

    static func check(_ context: LintContext) -> [Diagnostic] {
        var written: [String: [Written]] = [:]
        for workflow in context.workflows {
            for step in workflow.flatSteps {
                let compiled = step.compiled
                for write in compiled.storeOutputs + compiled.postActions.compactMap(\.storePut) + [compiled.itemSelect?.storeResult].compactMap({ $0 }) {
                    written[workflow.project, default: []].append(Written(store: write.store, key: write.key))
                }
                if case .command(let text) = compiled.kind { written[workflow.project, default: []] += commandWrites(text) }
            }
        }
        for resource in context.resources {
            if case .agent(let agent) = resource.spec { written[resource.resolvedProject, default: []] += commandWrites(agent.command.value) }
        }
        var findings: [Diagnostic] = []
        for workflow in context.workflows {
            for step in workflow.flatSteps {
                for read in step.spec.storeInputs where !read.key.value.contains("{") {
                    let known = written[workflow.project] ?? []
                    guard !known.contains(where: { $0.matches(store: read.store.value, key: read.key.value) }) else { continue }
                    let sameStore = known.filter { $0.store == read.store.value }.map(\.key)
                    let near = Suggestions.closest(to: read.key.value, in: sameStore)
                    findings.append(
                        LintRule.storeInputNeverWritten.finding(
                            "step `\(step.compiled.id)` reads `\(read.store.value)/\(read.key.value)`, which no workflow of project `\(workflow.project)` writes",
                            file: workflow.file, range: read.key.range,
                            help: near.map { "did you mean `\($0)`? (written to store \(read.store.value))" }
                                ?? "write it with `store_outputs` or a `store_put` post-action (or `orchestrator store put \(read.store.value) \(read.key.value) VALUE`); if another project or a person writes it, suppress this finding"))
                }
            }
        }
        return findings
    }

    /// `orchestrator store put STORE KEY` in a command line.
    static func commandWrites(_ text: String) -> [Written] {
        var result: [Written] = []
        let words = text.split(whereSeparator: { " \t\n;&|()".contains($0) }).map { String($0).trimmingCharacters(in: ["\"", "'"]) }
        for index in words.indices where words[index] == "store" && index + 3 < words.count && words[index + 1] == "put" {
            result.append(Written(store: words[index + 2], key: words[index + 3]))
        }
        return result
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: Set<Character>) -> String {
        var text = Substring(self)
        while let first = text.first, set.contains(first) { text = text.dropFirst() }
        while let last = text.last, set.contains(last) { text = text.dropLast() }
        return String(text)
    }
}
