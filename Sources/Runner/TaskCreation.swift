import Compiler
import JSON
import Manifest
import Store
import Platform

// Creating a task: pin the project's applied resources and the graph's hash, find the static
// items, record `task_created`. Nothing runs yet.

public enum TaskCreation {
    /// A new task id: 12 lowercase hex digits.
    public static func newID() -> String {
        var generator = SystemRandomNumberGenerator()
        let value = generator.next() & 0xFFFF_FFFF_FFFF
        let hex = String(value, radix: 16)
        return String(repeating: "0", count: max(0, 12 - hex.count)) + hex
    }

    /// A created task and its pinned workflow (hand it to the runner: it is not compiled again).
    public struct Created: Sendable {
        public var task: TaskRecord
        public var pinned: PinnedWorkflow
    }

    /// Creates a task for `workflow` as applied now in `project`. `compiled`: the workflow's graph
    /// as the caller's `apply` compiled it from the same resources (`run`), so that it is not
    /// compiled again; nil compiles the snapshot.
    ///
    /// `within` runs first in the transaction that inserts the task (a trigger claims its fire
    /// there; when it throws, nothing is created). `origin` is added to `task_created`'s payload.
    /// `queue`: the task is queued for a daemon's worker in the same transaction.
    public static func create(
        store: any ResourceStore, tasks: any TaskStore, project: String, workflow: String, workspace: String?, goal: String,
        name: String?, options: TaskOptions, compiled: WorkflowGraph? = nil, origin: JSONValue? = nil, queue: Bool = false,
        within: ((any TaskWriter, TaskRecord) throws -> Void)? = nil
    ) throws -> Created {
        let snapshot = try PinnedWorkflow.snapshot(store, project: project)
        let pinned =
            try compiled.map {
                try PinnedWorkflow.assemble(
                    graph: $0, snapshot: snapshot, project: project, workflow: workflow, workspace: workspace, secrets: store.secrets)
            }
            ?? PinnedWorkflow.compile(snapshot: snapshot, project: project, workflow: workflow, workspace: workspace, secrets: store.secrets)
        for step in options.steps where pinned.graph.step(step) == nil && !pinned.graph.steps.contains(where: { $0.children.contains { $0.id == step } }) {
            throw RunnerError("--step \(step): workflow \(workflow) has no step \(step) (steps: \(pinned.graph.steps.map(\.id).joined(separator: ", ")))")
        }
        guard isDirectory(pinned.root) else {
            throw RunnerError("the root of workspace \(pinned.workspaceName) does not exist: \(pinned.root)")
        }
        let items = try Items.discover(graph: pinned.graph, workspace: pinned.workspace, root: pinned.root, targets: options.targets)
        let now = StoreClock.timestamp()
        let id = newID()
        // The task's own fields are stored and shown masked, as events are (issue 23.5): a
        // secret typed into a goal is not kept in the clear.
        let masker = pinned.masker(environment: [:])
        let goal = masker.mask(goal)
        let name = name.map { masker.mask($0) }
        let task = TaskRecord(
            id: id, name: name ?? "\(workflow)-\(id.prefix(6))", project: project, workflow: workflow,
            workspace: pinned.workspaceName, goal: goal, status: .created, graphHash: pinned.graph.contentHash, snapshot: snapshot,
            options: options, cycle: 0, finalizedCycle: 0, consecutiveFailures: 0, pauseRequested: false, runnerPID: nil,
            runnerStart: nil, reason: nil, createdAt: now, updatedAt: now, startedAt: nil, finishedAt: nil)
        var created: [(key: String, value: JSONValue)] = [
            ("name", .string(task.name)), ("project", .string(project)), ("workflow", .string(workflow)),
            ("workspace", .string(pinned.workspaceName)), ("goal", .string(goal)),
            ("graph_hash", .string(pinned.graph.contentHash)), ("items", .int(Int64(items.count))),
            ("loop", .string(pinned.graph.loop.mode.rawValue)),
            ("max_cycles", pinned.graph.loop.cycleLimit.map { .int(Int64($0)) } ?? .null),
        ]
        if let origin { created.append(("origin", origin)) }
        try tasks.write { writer in
            try within?(writer, task)
            try writer.insertTask(task)
            for item in items { try writer.insertItem(item, task: id) }
            try writer.append(NewEvent(.taskCreated, payload: masker.mask(.object(created))), task: id)
            if queue { _ = try writer.enqueue(task: id) }
        }
        return Created(task: task, pinned: pinned)
    }
}
