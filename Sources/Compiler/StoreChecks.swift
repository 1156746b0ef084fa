import Diagnostics
import Manifest
import YAML

// What the runner would refuse when a step reads or writes a WorkflowStore or spawns a task,
// said at validate with positions (docs/stores.md): a provider that is neither built in nor
// applied, a `file` store without its folder, a schema whose own example fails, a spawn of a
// workflow the project lacks.

extension CompileContext {
    mutating func checkWorkflowStore(_ resource: Resource) {
        guard let store = WorkflowStoreDefinition(resource) else { return }
        let index = self.index(resource.resolvedProject)
        let name = store.providerName?.value ?? "local"
        switch name {
        case "local", "builtin": break
        case "file":
            if store.basePath == nil {
                report(
                    .storeReference, "WorkflowStore `\(store.name)` uses the `file` provider without a `base_path`", file: resource.file,
                    range: store.providerName?.range ?? resource.metadata.name.range, help: "add `base_path: DIR` (one JSON file per key)")
            }
        default:
            guard let provider = store.providerName, index.lookup(.storeBackendProvider, name, from: resource.file) == nil else { break }
            let (severity, where_) = referenceSeverity("StoreBackendProvider `\(name)`")
            let closeness = Suggestions.closest(to: name, in: ["local", "file"] + index.names(.storeBackendProvider)).map { "did you mean `\($0)`? " } ?? ""
            report(
                .unresolvedReference,
                "WorkflowStore `\(store.name)` names provider `\(name)`, which is neither built in (`local`, `file`) nor a StoreBackendProvider of project `\(resource.resolvedProject)`",
                file: resource.file, range: provider.range, help: closeness + where_, severity: severity)
        }
    }

    mutating func checkStoreBackendProvider(_ resource: Resource) {
        guard let provider = StoreBackendProviderDefinition(resource) else { return }
        if !provider.builtin && provider.commands == nil {
            report(
                .storeReference, "StoreBackendProvider `\(provider.name)` has neither `builtin: true` nor `commands`", file: resource.file,
                range: provider.nameRange, help: "add `commands: {get, put, delete, list}` (docs/stores.md), or `builtin: true`")
        }
    }

    /// The workflows `spawn_task` names must be workflows of the project.
    mutating func checkSpawnTargets(_ workflow: WorkflowSpec, of resource: Resource) {
        let project = resource.resolvedProject
        let index = self.index(project)
        func visit(_ steps: [StepSpec]) {
            for step in steps {
                for action in step.behavior.postActions {
                    guard let target = action.spawn?.workflow, target.value != resource.name,
                        action.spawn?.inheritProject ?? true,
                        index.lookup(.workflow, target.value, from: resource.file) == nil
                    else { continue }
                    let (severity, where_) = referenceSeverity("Workflow `\(target.value)`")
                    let closeness = Suggestions.closest(to: target.value, in: index.names(.workflow)).map { "did you mean `\($0)`? " } ?? ""
                    report(
                        .unresolvedReference,
                        "step `\(step.id.value)` spawns a task of workflow `\(target.value)`, which is no Workflow of project `\(project)`",
                        file: resource.file, range: target.range, help: closeness + where_, severity: severity)
                }
                visit(step.chainSteps ?? [])
            }
        }
        visit(workflow.steps)
    }
}
