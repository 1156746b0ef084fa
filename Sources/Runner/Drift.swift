import Compiler
import Expr
import JSON
import Manifest
import Platform
import Store

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Drift (execution.md "Drift"): at each cycle boundary the runner compiles the workflow as
// applied now and compares it with the task's pinned graph; `safety.on_drift` says whether to
// warn, adopt the applied one or fail the task.

extension TaskRunner {
    /// Compares the pinned graph with the workflow applied now. Returns a reason to fail.
    func checkDrift(_ cycle: Int) throws -> String? {
        let current: PinnedWorkflow?
        var problem: String?
        do {
            let snapshot = try PinnedWorkflow.snapshot(resources, project: task.project)
            current = try PinnedWorkflow.compile(snapshot: snapshot, project: task.project, workflow: task.workflow, workspace: task.workspace, secrets: resources.secrets)
        } catch {
            current = nil
            problem = "\(error)"
        }
        let appliedHash = current?.graph.contentHash ?? "none"
        guard appliedHash != graph.contentHash else { return nil }
        if appliedHash == ledger.lastReportedDrift {
            // Reported already (before a resume): only `fail` still has something to do.
            return graph.safety.onDrift == .fail ? "configuration drift: the applied workflow changed and safety.on_drift is fail" : nil
        }
        ledger.lastReportedDrift = appliedHash
        let changed = current.map { DriftCheck.changedFields(pinned: graph, applied: $0.graph) } ?? ["workflow (\(problem ?? "not applied"))"]
        let policy = graph.safety.onDrift
        var action: String
        switch policy {
        case .pin: action = "keeping the pinned graph"
        case .adopt: action = current == nil ? "nothing to adopt; keeping the pinned graph" : "adopting the applied graph from cycle \(cycle + 1)"
        case .fail: action = "failing the task"
        }
        let payload: JSONValue = masker.mask(
            .object([
                ("pinned_hash", .string(graph.contentHash)), ("applied_hash", .string(appliedHash)),
                ("changed", .array(changed.map { .string($0) })), ("policy", .string(policy.rawValue)), ("action", .string(action)),
            ]))
        let adopt = policy == .adopt ? current : nil
        try tasks.write { writer in
            try writer.append(NewEvent(.configDriftDetected, cycle: cycle, payload: payload), task: taskID)
            if let adopt {
                try writer.adoptWorkflow(task: taskID, graphHash: adopt.graph.contentHash, snapshot: adopt.snapshot)
            }
        }
        if let adopt {
            pinned = adopt
            task.graphHash = adopt.graph.contentHash
            masker = adopt.masker(environment: options.environment)
        }
        if policy == .fail { return "configuration drift: the applied workflow changed (\(changed.joined(separator: ", "))) and safety.on_drift is fail" }
        return nil
    }
}
