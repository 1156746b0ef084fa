import Diagnostics
import Manifest

extension LintRule {
    static let itemStepsWithoutItems = LintRule(
        id: "item-steps-without-items", severity: .warning,
        summary: "item-scoped steps, but no qa_targets in the workspace and no generate_items",
        rationale: """
            Item-scoped steps run once per item. A task's items are the target files given with \
            `-t`, else the `*.md` files under the workspace's `qa_targets`, else the items a \
            `generate_items` post-action creates. A workflow with item-scoped steps (`scope: item`, or \
            an id such as `qa` or `fix` that is item-scoped by default) whose workspace has no \
            `qa_targets` and which generates no items has nothing to run them on unless every task is \
            started with `-t`. The workspaces considered are those of the workflow's own file, else \
            those of its project in the files given; with no workspace in sight nothing is reported.
            """,
        examples: [
            LintExample(
                "QA per document, but no documents", triggers: true,
                """
                apiVersion: orchestrator.dev/v2
                kind: Workspace
                metadata:
                  name: shop
                spec:
                  root_path: .
                ---
                apiVersion: orchestrator.dev/v2
                kind: Workflow
                metadata:
                  name: qa
                spec:
                  steps:
                    - id: build
                      command: make
                    - id: check_docs
                      command: ./check.sh {rel_path}
                      scope: item
                #            ^ expect
                """),
            LintExample(
                "the workspace names its QA documents", triggers: false,
                """
                apiVersion: orchestrator.dev/v2
                kind: Workspace
                metadata:
                  name: shop
                spec:
                  root_path: .
                  qa_targets: [docs/qa]
                ---
                apiVersion: orchestrator.dev/v2
                kind: Workflow
                metadata:
                  name: qa
                spec:
                  steps:
                    - id: build
                      command: make
                    - id: check_docs
                      command: ./check.sh {rel_path}
                      scope: item
                """),
            LintExample(
                "the items are generated", triggers: false,
                """
                apiVersion: orchestrator.dev/v2
                kind: Workspace
                metadata:
                  name: shop
                spec:
                  root_path: .
                ---
                apiVersion: orchestrator.dev/v2
                kind: Workflow
                metadata:
                  name: qa
                spec:
                  steps:
                    - id: list_pages
                      command: ./pages.sh --json
                      behavior:
                        post_actions:
                          - type: generate_items
                            from_var: list_pages_output
                            mapping: {item_id: $.path}
                    - id: check_page
                      command: ./check.sh {item_id}
                      scope: item
                """),
        ],
        check: ItemStepsWithoutItems.check)
}

private enum ItemStepsWithoutItems {
    static func check(_ context: LintContext) -> [Diagnostic] {
        var findings: [Diagnostic] = []
        for workflow in context.workflows {
            let flat = workflow.flatSteps
            guard let first = flat.first(where: { $0.compiled.enabled && $0.compiled.scope == .item }) else { continue }
            if flat.contains(where: { $0.compiled.postActions.contains { $0.generateItems != nil } }) { continue }
            // Items from a tasks.json (`items_from`).
            if workflow.graph.itemsFrom != nil { continue }
            let workspaces = context.workspaces(for: workflow)
            guard !workspaces.isEmpty, workspaces.allSatisfy({ $0.spec.qaTargets.isEmpty }) else { continue }
            let names = workspaces.map { "`\($0.name)`" }.joined(separator: ", ")
            let why = first.spec.scope != nil ? "is item-scoped" : "is item-scoped by its id"
            findings.append(
                LintRule.itemStepsWithoutItems.finding(
                    "step `\(first.compiled.id)` \(why), but workspace \(names) has no `qa_targets` and no step generates items: it runs only for target files given with `-t`",
                    file: workflow.file, range: first.spec.scope?.range ?? first.compiled.idRange,
                    help: "add `qa_targets` to the workspace, generate items with a `generate_items` post-action, or make the step `scope: task`"))
        }
        return findings
    }
}
