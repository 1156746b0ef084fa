import Compiler
import Diagnostics
import JSON
import Manifest
import Store
import YAML
import Platform

// A task pins the resources of its project as they were applied when it was created (stored
// with the task as manifest documents) and the hash of the graph they compile to. The runner
// compiles the graph from that snapshot, never from files; the drift check compiles the
// resources applied now the same way and compares.

public struct RunnerError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A runner could not claim a task: another runner owns it, or its status does not allow a run.
/// Bad usage for the command line (exit 2), not a failure of the task.
public struct TaskClaimRefused: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var help: String
    public init(_ message: String, help: String) {
        self.message = message
        self.help = help
    }
    public var description: String { message }
}

/// The compiled workflow of a task and the resources around it.
public struct PinnedWorkflow: Sendable {
    public var graph: WorkflowGraph
    public var workspace: WorkspaceSpec
    public var workspaceName: String
    /// The absolute workspace root.
    public var root: String
    /// EnvStore and SecretStore data by store name.
    public var stores: [String: (secret: Bool, data: [StoreEntry])]
    /// Execution profiles by name (for the resource limits and notices).
    public var profiles: [String: ExecutionProfileSpec]
    /// The project's RuntimePolicy (or the defaults): shell, environment, redaction.
    public var runtime: RuntimePolicy
    /// `runtime`'s redaction patterns, compiled.
    public var redaction: Redaction
    public var snapshot: JSONValue
    /// The project's WorkflowStores and StoreBackendProviders (docs/stores.md).
    public var storeCatalog = WorkflowStoreCatalog([])

    /// The resources stored in `project` as manifest documents (SecretStore values as stored:
    /// encrypted; `compile` decrypts them with the store's key file).
    public static func snapshot(_ store: any ResourceStore, project: String) throws -> JSONValue {
        .array(try store.resources(project: project).map { ManifestRecords.document($0, maskSecrets: false) })
    }

    /// Decodes documents back into resources.
    public static func resources(from snapshot: JSONValue, project: String) -> [Resource] {
        ManifestRecords.resources(fromDocuments: snapshot.arrayValue ?? [], project: project)
    }

    /// Compiles `workflow` of `project` from a snapshot, with `workspace` (nil: the only one).
    /// `secrets` decrypts the SecretStore values (nil: they stay encrypted, for what needs only
    /// the graph).
    public static func compile(
        snapshot: JSONValue, project: String, workflow: String, workspace: String?, secrets: SecretCipher? = nil
    ) throws -> PinnedWorkflow {
        let resources = resources(from: try secrets?.openDocuments(snapshot) ?? snapshot, project: project)
        let compilation = Compiler.compile(resources, sources: [], store: .read([]))
        if let error = compilation.diagnostics.first(where: { $0.severity == .error }) {
            throw RunnerError("workflow \(workflow) does not compile: \(error.message)")
        }
        guard let graph = compilation.workflows(named: workflow).last(where: { $0.project == project }) else {
            let names = compilation.workflows.map(\.name)
            throw RunnerError(
                "no workflow \(workflow) is applied in project \(project)"
                    + (names.isEmpty ? "" : " (applied: \(names.joined(separator: ", ")))"))
        }
        return try assemble(graph: graph, resources: resources, workflow: workflow, project: project, workspace: workspace, snapshot: snapshot)
    }

    /// The pinned workflow of a graph compiled already (by the `apply` of the same `run`) and the
    /// snapshot's resources: no second compilation. `graph` must be `workflow` of `project` as
    /// compiled from the same resources.
    public static func assemble(
        graph: WorkflowGraph, snapshot: JSONValue, project: String, workflow: String, workspace: String?, secrets: SecretCipher?
    ) throws -> PinnedWorkflow {
        let resources = resources(from: try secrets?.openDocuments(snapshot) ?? snapshot, project: project)
        return try assemble(graph: graph, resources: resources, workflow: workflow, project: project, workspace: workspace, snapshot: snapshot)
    }

    private static func assemble(
        graph: WorkflowGraph, resources: [Resource], workflow: String, project: String, workspace: String?, snapshot: JSONValue
    ) throws -> PinnedWorkflow {
        var workspaces: [(String, WorkspaceSpec)] = []
        var stores: [String: (secret: Bool, data: [StoreEntry])] = [:]
        var profiles: [String: ExecutionProfileSpec] = [:]
        for resource in resources {
            switch resource.spec {
            case .workspace(let spec): workspaces.append((resource.name, spec))
            case .envStore(let spec): stores[resource.name] = (false, spec.data)
            case .secretStore(let spec): stores[resource.name] = (true, spec.data)
            case .executionProfile(let spec): profiles[resource.name] = spec
            default: break
            }
        }
        let chosen: (String, WorkspaceSpec)
        if let workspace {
            guard let found = workspaces.first(where: { $0.0 == workspace }) else {
                throw RunnerError(
                    "no workspace \(workspace) is applied in project \(project)"
                        + (workspaces.isEmpty ? "" : " (applied: \(workspaces.map(\.0).joined(separator: ", ")))"))
            }
            chosen = found
        } else {
            guard workspaces.count == 1 else {
                throw RunnerError(
                    workspaces.isEmpty
                        ? "project \(project) has no workspace applied"
                        : "project \(project) has several workspaces (\(workspaces.map(\.0).joined(separator: ", "))): name one with -w")
            }
            chosen = workspaces[0]
        }
        // The safety policy for a workflow that edits this tool's own tree (spec/manifests.md):
        // checked here for the pair the task names, whatever files they came from.
        if chosen.1.isSelfReferential {
            let problems = SelfReferentialSafety.problems(graph)
            if !problems.isEmpty {
                throw RunnerError(
                    "workflow \(workflow) may not run in self-referential workspace \(chosen.0): "
                        + problems.map(\.text).joined(separator: "; ") + " (" + problems.map(\.help).joined(separator: "; ") + ")")
            }
        }
        let runtime = try RuntimePolicy.of(resources, project: project)
        var pinned = PinnedWorkflow(
            graph: graph, workspace: chosen.1, workspaceName: chosen.0, root: chosen.1.rootPath.value, stores: stores,
            profiles: profiles, runtime: runtime, redaction: try runtime.redaction(), snapshot: snapshot)
        pinned.storeCatalog = WorkflowStoreCatalog(resources)
        return pinned
    }

    /// What masks everything the task stores and shows: its secret values (with `environment`
    /// for `fromEnv` entries) and its RuntimePolicy's redaction.
    public func masker(environment: [String: String]) -> SecretMasker {
        SecretMasker(secrets: secretValues(environment: environment), redaction: redaction)
    }

    /// Every secret value the task's processes can see: SecretStore literals, and `fromEnv`
    /// values of SecretStores read from `environment`.
    public func secretValues(environment: [String: String]) -> [String] {
        var values: [String] = []
        for (_, store) in stores where store.secret {
            for entry in store.data {
                switch entry.value.value {
                case .literal(let value): values.append(value)
                case .fromEnv(let name): if let value = environment[name] { values.append(value) }
                }
            }
        }
        return values.filter { !$0.isEmpty && $0 != ManifestRecords.mask }
    }

    /// `STORE.KEY` of the secret values too short to mask (`SecretMasker.minimumLength`): the
    /// runner records them, never their values.
    public func unmaskedSecrets(environment: [String: String]) -> [String] {
        var names: [String] = []
        for (name, store) in stores where store.secret {
            for entry in store.data {
                if let value = PinnedWorkflow.value(entry, environment: environment), !value.isEmpty,
                    value.count < SecretMasker.minimumLength
                {
                    names.append("\(name).\(entry.key.value)")
                }
            }
        }
        return names.sorted()
    }

    /// The value of a store entry (fromEnv read from `environment`).
    static func value(_ entry: StoreEntry, environment: [String: String]) -> String? {
        switch entry.value.value {
        case .literal(let value): return value
        case .fromEnv(let name): return environment[name]
        }
    }

    /// The environment an agent adds to its processes.
    public func agentEnvironment(_ agent: AgentBinding, environment: [String: String]) -> [String: String] {
        var result: [String: String] = [:]
        for binding in agent.environment {
            switch binding {
            case .literal(let name, let value):
                result[name] = value
            case .store(let name, _):
                for entry in stores[name]?.data ?? [] {
                    if let value = PinnedWorkflow.value(entry, environment: environment) { result[entry.key.value] = value }
                }
            case .storeKey(let variable, let store, let key, _):
                if let entry = stores[store]?.data.first(where: { $0.key.value == key }),
                    let value = PinnedWorkflow.value(entry, environment: environment)
                {
                    result[variable] = value
                }
            }
        }
        return result
    }
}

/// Drift between a task's pinned graph and the workflow applied now (execution.md "Drift" 2).
public enum DriftCheck {
    /// The fields that differ between two graphs of the same workflow: `steps.ID` for a changed
    /// step, `steps.ID (added)` / `(removed)`, `steps (order)`, `loop`, `safety`, `finalize`,
    /// `max_parallel`, `stagger_delay_ms`, `segments`.
    public static func changedFields(pinned: WorkflowGraph, applied: WorkflowGraph) -> [String] {
        var changed: [String] = []
        let pinnedIDs = pinned.steps.map(\.id)
        let appliedIDs = applied.steps.map(\.id)
        for id in appliedIDs where !pinnedIDs.contains(id) { changed.append("steps.\(id) (added)") }
        for id in pinnedIDs where !appliedIDs.contains(id) { changed.append("steps.\(id) (removed)") }
        let common = pinnedIDs.filter { appliedIDs.contains($0) }
        if common != appliedIDs.filter({ pinnedIDs.contains($0) }) { changed.append("steps (order)") }
        for id in common {
            guard let old = pinned.step(id), let new = applied.step(id) else { continue }
            if hash(pinned, steps: [old]) != hash(pinned, steps: [new]) { changed.append("steps.\(id)") }
        }
        func differs(_ mutate: (inout WorkflowGraph, WorkflowGraph) -> Void) -> Bool {
            var base = pinned
            base.steps = []
            base.segments = []
            var other = base
            mutate(&other, applied)
            return CanonicalForm.hash(of: base) != CanonicalForm.hash(of: other)
        }
        if differs({ $0.loop = $1.loop }) { changed.append("loop") }
        if differs({ $0.safety = $1.safety }) { changed.append("safety") }
        if differs({ $0.finalizeRules = $1.finalizeRules }) { changed.append("finalize") }
        if pinned.maxParallel != applied.maxParallel { changed.append("max_parallel") }
        if pinned.staggerDelayMs != applied.staggerDelayMs { changed.append("stagger_delay_ms") }
        if pinned.segments != applied.segments && changed.isEmpty { changed.append("segments") }
        if changed.isEmpty && pinned.contentHash != applied.contentHash { changed.append("workflow") }
        return changed
    }

    private static func hash(_ graph: WorkflowGraph, steps: [CompiledStep]) -> String {
        var copy = graph
        copy.steps = steps
        copy.segments = []
        return CanonicalForm.hash(of: copy)
    }
}
