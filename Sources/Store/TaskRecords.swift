import JSON
import Platform

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// The records of tasks, items, step runs and events (docs/runner.md "Tables"), as every engine of
// the task store reads and writes them.

/// The lifecycle of a task.
public enum TaskStatus: String, Sendable, CaseIterable {
    case created, running, paused, interrupted, completed, failed
    /// Its `self_restart` step rebuilt this tool: it continues at the next step once the runner
    /// re-executed itself (the daemon's next incarnation, or the foreground runner's `execve`).
    case restartPending = "restart_pending"

    /// The task will not run again.
    public var isTerminal: Bool { self == .completed || self == .failed }
    /// `task resume` may continue it.
    public var isResumable: Bool { self == .paused || self == .interrupted || self == .restartPending }
    /// The statuses a runner may claim a task in (to start or resume it).
    public static let claimable: Set<TaskStatus> = [.created, .paused, .interrupted, .restartPending]
    /// The same, as an SQL list (`'created', 'paused', ...`), for the queue's queries.
    static let claimableSQL = claimable.map { "'\($0.rawValue)'" }.sorted().joined(separator: ", ")
}

/// What the task was created with besides the workflow (stored as JSON in `tasks.options`).
public struct TaskOptions: Sendable, Equatable {
    /// `-t/--target-file` paths, relative to the workspace root (or absolute).
    public var targets: [String]
    /// `--set k=v` pipeline variables, as written.
    public var variables: [(name: String, value: String)]
    /// `--step S`: run only these steps (empty: all).
    public var steps: [String]
    /// `--runs-on k=v`: labels a daemon must declare (`orchestratord --label k=v`) to take the
    /// task from the queue (docs/scale-out.md).
    public var runsOn: [(name: String, value: String)]

    public init(
        targets: [String] = [], variables: [(name: String, value: String)] = [], steps: [String] = [],
        runsOn: [(name: String, value: String)] = []
    ) {
        self.targets = targets
        self.variables = variables
        self.steps = steps
        self.runsOn = runsOn
    }

    public static func == (lhs: TaskOptions, rhs: TaskOptions) -> Bool {
        lhs.targets == rhs.targets && lhs.steps == rhs.steps
            && lhs.variables.map { $0.name + "=" + $0.value } == rhs.variables.map { $0.name + "=" + $0.value }
            && lhs.runsOn.map { $0.name + "=" + $0.value } == rhs.runsOn.map { $0.name + "=" + $0.value }
    }

    /// The stored form; `variables` as given (the store passes them sealed: `sealedJSON`).
    var json: JSONValue { json(variables: variables.map { ($0.name, .string($0.value)) }) }

    func json(variables stored: [(name: String, value: JSONValue)]) -> JSONValue {
        var fields: [(key: String, value: JSONValue)] = [
            ("targets", .array(targets.map { .string($0) })),
            ("variables", .object(stored.map { ($0.name, $0.value) })),
            ("steps", .array(steps.map { .string($0) })),
        ]
        if !runsOn.isEmpty { fields.append(("runs_on", .object(runsOn.map { ($0.name, .string($0.value)) }))) }
        return .object(fields)
    }

    /// The options as stored; `open` decrypts the variables' values (nil: taken as they are).
    init(json: JSONValue, open: (([(name: String, value: JSONValue)]) throws -> [(name: String, value: String)])? = nil) rethrows {
        targets = json["targets"]?.arrayValue?.compactMap(\.stringValue) ?? []
        if case .object(let pairs) = json["variables"] ?? .null {
            let stored = pairs.map { (name: $0.key, value: $0.value) }
            variables = try open?(stored) ?? stored.map { ($0.name, $0.value.stringValue ?? "") }
        } else {
            variables = []
        }
        steps = json["steps"]?.arrayValue?.compactMap(\.stringValue) ?? []
        if case .object(let pairs) = json["runs_on"] ?? .null {
            runsOn = pairs.map { ($0.key, $0.value.stringValue ?? "") }
        } else {
            runsOn = []
        }
    }
}

/// What lists and lookups need of a task: every column but the pinned snapshot and the options
/// (`taskSummaries` reads these without decoding a snapshot per task).
public struct TaskSummary: Sendable, Equatable {
    public var id: String
    public var name: String
    public var project: String
    public var workflow: String
    public var workspace: String
    public var goal: String
    public var status: TaskStatus
    public var graphHash: String
    public var cycle: Int
    public var consecutiveFailures: Int
    public var reason: String?
    public var createdAt: String
    public var updatedAt: String
    public var startedAt: String?
    public var finishedAt: String?

    public init(
        id: String, name: String, project: String, workflow: String, workspace: String, goal: String, status: TaskStatus,
        graphHash: String, cycle: Int, consecutiveFailures: Int, reason: String?, createdAt: String, updatedAt: String,
        startedAt: String?, finishedAt: String?
    ) {
        self.id = id
        self.name = name
        self.project = project
        self.workflow = workflow
        self.workspace = workspace
        self.goal = goal
        self.status = status
        self.graphHash = graphHash
        self.cycle = cycle
        self.consecutiveFailures = consecutiveFailures
        self.reason = reason
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.startedAt = startedAt
        self.finishedAt = finishedAt
    }
}

public struct TaskRecord: Sendable {
    public var id: String
    public var name: String
    public var project: String
    public var workflow: String
    public var workspace: String
    public var goal: String
    public var status: TaskStatus
    public var graphHash: String
    /// The pinned resources (manifest documents, as stored) the graph compiles from.
    public var snapshot: JSONValue
    public var options: TaskOptions
    public var cycle: Int
    public var finalizedCycle: Int
    public var consecutiveFailures: Int
    public var pauseRequested: Bool
    public var runnerPID: Int32?
    public var runnerStart: String?
    /// The runner (a daemon or a foreground process, table `runners`) that owns the task or has
    /// reserved it from the queue, and its host (docs/scale-out.md).
    public var runnerID: String?
    public var runnerHost: String?
    public var reason: String?
    public var createdAt: String
    public var updatedAt: String
    public var startedAt: String?
    public var finishedAt: String?

    public init(
        id: String, name: String, project: String, workflow: String, workspace: String, goal: String, status: TaskStatus,
        graphHash: String, snapshot: JSONValue, options: TaskOptions, cycle: Int = 0, finalizedCycle: Int = 0,
        consecutiveFailures: Int = 0, pauseRequested: Bool = false, runnerPID: Int32? = nil, runnerStart: String? = nil,
        reason: String? = nil, createdAt: String, updatedAt: String, startedAt: String? = nil, finishedAt: String? = nil
    ) {
        self.id = id
        self.name = name
        self.project = project
        self.workflow = workflow
        self.workspace = workspace
        self.goal = goal
        self.status = status
        self.graphHash = graphHash
        self.snapshot = snapshot
        self.options = options
        self.cycle = cycle
        self.finalizedCycle = finalizedCycle
        self.consecutiveFailures = consecutiveFailures
        self.pauseRequested = pauseRequested
        self.runnerPID = runnerPID
        self.runnerStart = runnerStart
        self.reason = reason
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.startedAt = startedAt
        self.finishedAt = finishedAt
    }
}

public struct ItemRecord: Sendable, Equatable {
    public var ordinal: Int
    public var itemID: String
    /// Relative to the workspace root; nil for the task-level item and path-less generated items.
    public var path: String?
    public var label: String?
    public var vars: JSONValue
    /// `target`, `qa_targets`, `task` or `generated`.
    public var origin: String
    public var generatedCycle: Int?
    public var generatedStep: String?
    public var active: Bool
    public var status: String
    public var updatedAt: String

    public init(
        ordinal: Int, itemID: String, path: String?, label: String?, vars: JSONValue = .object([]), origin: String,
        generatedCycle: Int? = nil, generatedStep: String? = nil, active: Bool = true, status: String = "pending",
        updatedAt: String = ""
    ) {
        self.ordinal = ordinal
        self.itemID = itemID
        self.path = path
        self.label = label
        self.vars = vars
        self.origin = origin
        self.generatedCycle = generatedCycle
        self.generatedStep = generatedStep
        self.active = active
        self.status = status
        self.updatedAt = updatedAt
    }
}

public enum RunStatus: String, Sendable {
    case running, finished, skipped, interrupted
}

/// One decision or execution of a step for one item (or the task) in one cycle.
public struct RunRecord: Sendable {
    public var id: Int64
    public var cycle: Int
    public var step: String
    public var item: String?
    public var status: RunStatus
    public var exitCode: Int?
    public var success: Bool?
    public var timedOut: Bool?
    public var durationMS: Int64?
    public var command: String?
    public var stdoutPath: String?
    public var stderrPath: String?
    /// The pipeline variables the run set (name -> typed JSON value).
    public var variables: JSONValue
    /// Status set, early return, generated items, skip reason.
    public var outcome: JSONValue
    public var startedAt: String?
    public var finishedAt: String?
    /// The machine the step ran on (`RunnerHost`): its logs are there (nil: recorded before
    /// scale-out, on this machine).
    public var host: String?
}

/// One event of spec/execution.md "Events".
public struct EventRecord: Sendable {
    public var id: Int64
    public var task: String
    public var type: EventType
    public var cycle: Int?
    public var step: String?
    public var item: String?
    public var timestamp: String
    public var payload: JSONValue

    public init(
        id: Int64, task: String, type: EventType, cycle: Int?, step: String?, item: String?, timestamp: String, payload: JSONValue
    ) {
        self.id = id
        self.task = task
        self.type = type
        self.cycle = cycle
        self.step = step
        self.item = item
        self.timestamp = timestamp
        self.payload = payload
    }

    /// `{"id", "task", "type", "cycle", "step", "item", "timestamp", "payload"}`.
    public var json: JSONValue {
        .object([
            ("id", .int(id)), ("task", .string(task)), ("type", .string(type.rawValue)),
            ("cycle", cycle.map { .int(Int64($0)) } ?? .null), ("step", step.map { .string($0) } ?? .null),
            ("item", item.map { .string($0) } ?? .null), ("timestamp", .string(timestamp)), ("payload", payload),
        ])
    }
}

/// An event about to be written (its id and timestamp are assigned on insert).
public struct NewEvent: Sendable {
    public var type: EventType
    public var cycle: Int?
    public var step: String?
    public var item: String?
    public var payload: JSONValue

    public init(_ type: EventType, cycle: Int? = nil, step: String? = nil, item: String? = nil, payload: JSONValue = .object([])) {
        self.type = type
        self.cycle = cycle
        self.step = step
        self.item = item
        self.payload = payload
    }
}

extension TaskRecord {
    public var summary: TaskSummary {
        TaskSummary(
            id: id, name: name, project: project, workflow: workflow, workspace: workspace, goal: goal, status: status, graphHash: graphHash,
            cycle: cycle, consecutiveFailures: consecutiveFailures, reason: reason, createdAt: createdAt, updatedAt: updatedAt,
            startedAt: startedAt, finishedAt: finishedAt)
    }
}
