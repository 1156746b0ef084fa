import Compiler
import JSON
import Manifest
import Platform
import Runner
import Store

/// Everything the task page shows, read once per request.
struct TaskView {
    var task: TaskRecord
    var events: [EventRecord]
    var runs: [RunRecord]
    var items: [ItemRecord]
    /// The task's pinned graph (nil when its snapshot no longer compiles: `problem` says why).
    var graph: WorkflowGraph?
    var trace: TaskTrace?
    var problem: String?
    /// What masks every text of the task shown (its secrets and its RuntimePolicy's redaction).
    var masker: SecretMasker

    /// Masked, then escaped: how any text of the task reaches the page.
    func shown(_ text: String) -> String { HTML.escape(masker.mask(text)) }
}

/// The store as the dashboard reads it: one connection per request (or per event stream).
struct DashboardReader {
    let store: any ResourceStore
    let tasks: any TaskStore

    /// The most of a log a page shows (its end).
    static let logLimit = 64 << 10

    init(dataDirectory: String, store location: StoreLocation?) throws {
        let opened = try SQLResourceStore.connect(store: location, dataDirectory: dataDirectory)
        store = opened
        tasks = opened.taskStore()
    }

    func task(_ id: String) -> TaskRecord? { (try? tasks.task(id)) ?? nil }

    func taskView(_ id: String) -> TaskView? {
        guard let task = task(id) else { return nil }
        let events = (try? tasks.events(task.id)) ?? []
        var view = TaskView(
            task: task, events: events, runs: (try? tasks.runs(task.id)) ?? [], items: (try? tasks.items(task.id)) ?? [], graph: nil,
            trace: nil, problem: nil, masker: .none)
        do {
            let pinned = try pinnedWorkflow(task)
            view.graph = pinned.graph
            view.masker = pinned.masker(environment: processEnvironment())
            view.trace = try TaskTrace.trace(task: task, events: events, now: DashboardClock.nowMilliseconds())
        } catch {
            view.problem = "the task's pinned workflow does not compile here (\(error)): no graph and no trace"
        }
        return view
    }

    /// The task's workflow as it runs, secrets decrypted (for its masker).
    func pinnedWorkflow(_ task: TaskRecord) throws -> PinnedWorkflow {
        try PinnedWorkflow.compile(
            snapshot: task.snapshot, project: task.project, workflow: task.workflow, workspace: task.workspace, secrets: store.secrets)
    }

    /// The end of a log file (masked by the runner as it was written).
    static func log(_ path: String) -> String {
        guard let bytes = readFileBytes(path) else { return "" }
        let tail = bytes.count > logLimit ? Array(bytes.suffix(logLimit)) : bytes
        return (bytes.count > logLimit ? "[... the first \(bytes.count - logLimit) bytes are not shown]\n" : "") + String(decoding: tail, as: UTF8.self)
    }

    /// The stored workflows: (project, name).
    func workflows() -> [(project: String, name: String)] {
        ((try? store.resources(kind: ResourceKind.workflow.rawValue, project: nil)) ?? []).map { ($0.key.project, $0.key.name) }
    }

    /// `name` of `project` compiled from what is applied now, or why it cannot be.
    func workflowGraph(project: String, name: String) -> Result<WorkflowGraph, DashboardProblem>? {
        guard (try? store.resources(kind: ResourceKind.workflow.rawValue, project: project, name: name))?.isEmpty == false else { return nil }
        let snapshot: JSONValue
        do {
            snapshot = try PinnedWorkflow.snapshot(store, project: project)
        } catch {
            return .failure(DashboardProblem(message: "the project cannot be read: \(error)"))
        }
        let compilation = Compiler.compile(PinnedWorkflow.resources(from: snapshot, project: project), sources: [], store: .read([]))
        if let error = compilation.diagnostics.first(where: { $0.severity == .error }) {
            return .failure(DashboardProblem(message: "the workflow does not compile: \(error.message)"))
        }
        guard let graph = compilation.workflows(named: name).last(where: { $0.project == project }) else {
            return .failure(DashboardProblem(message: "the workflow does not compile"))
        }
        return .success(graph)
    }
}

struct DashboardProblem: Error {
    var message: String
}

/// Wall-clock times of the pages (durations of running tasks).
enum DashboardClock {
    static func nowMilliseconds() -> Int64 { realtimeMilliseconds() }

    /// `350 ms`, `12.4 s`, `3 min 05 s`, `2 h 01 min`.
    static func duration(_ milliseconds: Int64) -> String {
        if milliseconds < 1000 { return "\(max(0, milliseconds)) ms" }
        if milliseconds < 60_000 { return "\(milliseconds / 1000).\(milliseconds % 1000 / 100) s" }
        let seconds = milliseconds / 1000
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
        if seconds < 3600 { return "\(seconds / 60) min \(two(seconds % 60)) s" }
        return "\(seconds / 3600) h \(two(seconds % 3600 / 60)) min"
    }

    /// From `start` to `end` (or now), both event timestamps.
    static func span(_ start: String?, _ end: String?) -> String {
        guard let start, let from = TraceClock.milliseconds(start) else { return "" }
        let to = end.flatMap(TraceClock.milliseconds) ?? nowMilliseconds()
        return duration(to - from)
    }
}
