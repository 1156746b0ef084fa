import Diagnostics
import Expr
import Manifest

// The compiled step graph of one workflow: every reference resolved, every default applied.
// `plan` and the runner read the same graph (spec/execution.md). Source positions are kept for
// reporting only; they are not part of the content hash (see CanonicalForm.swift).

/// What a step is, after the resolution order of spec/manifests.md:
/// `chain_steps` -> chain; `command` -> command; `builtin` -> builtin; `required_capability` -> agent;
/// `type` (or `id`) is a builtin name -> builtin; otherwise agent with capability = `type`.
public enum StepKind: Sendable, Hashable {
    case agent(capability: String)
    case builtin(Builtin)
    case command(String)
    case chain

    /// `agent`, `builtin`, `command` or `chain` (the word `plan -o json` uses).
    public var name: String {
        switch self {
        case .agent: return "agent"
        case .builtin: return "builtin"
        case .command: return "command"
        case .chain: return "chain"
        }
    }
}

/// The agent chosen to serve an agent step: enabled, has the capability, lowest `cost`, then name.
public struct AgentBinding: Sendable, Hashable {
    public var name: String
    public var command: String
    public var commandRules: [CommandRuleBinding]
    public var promptDelivery: PromptDelivery
    public var cost: Int?
    /// Environment entries as written (store names and keys; secret values are never in the graph).
    public var environment: [EnvironmentBinding]
    /// The other enabled agents with the capability, in selection order (after `name`).
    public var alternatives: [String]
}

public struct CommandRuleBinding: Sendable, Hashable {
    public var when: CompiledExpression
    public var command: String
}

public enum EnvironmentBinding: Sendable, Hashable {
    case literal(name: String, value: String)
    /// Every key of an EnvStore or SecretStore.
    case store(name: String, secret: Bool?)
    case storeKey(variable: String, store: String, key: String, secret: Bool?)
}

/// A StepTemplate as the step will render it.
public struct TemplateBinding: Sendable, Hashable {
    public var name: String
    public var prompt: String
}

/// An ExecutionProfile as the step will run under it. `host` is implicit when none is defined.
public struct ProfileBinding: Sendable, Hashable {
    public var name: String
    /// False when the profile was not found (validate/plan without the store: it must be applied
    /// before the workflow runs).
    public var resolved: Bool
    public var mode: ProfileMode
    public var filesystem: FilesystemMode
    public var writablePaths: [String]
    public var readablePaths: [String]
    public var network: NetworkMode
    public var networkAllowlist: [String]
    public var maxMemoryMB: Int?
    public var maxCPUSeconds: Int?
    public var maxProcesses: Int?
    public var maxOpenFiles: Int?

    /// The profile a step runs under when it names none.
    public static let implicitHost = ProfileBinding(
        name: "host", resolved: true, mode: .host, filesystem: .inherit, writablePaths: [], readablePaths: [],
        network: .inherit, networkAllowlist: [], maxMemoryMB: nil, maxCPUSeconds: nil, maxProcesses: nil,
        maxOpenFiles: nil)
}

/// An expression of the manifest: its text, the variables it reads, the compiled program, and
/// where it was written. Equality and hashing are over the text and position only.
public struct CompiledExpression: Sendable, Hashable {
    public var text: String
    /// Free variables in order of first appearance.
    public var variables: [String]
    /// The file and range of the YAML scalar (not part of the content hash).
    public var file: String
    public var range: SourceRange
    /// nil when the text does not parse (an error was reported).
    public var program: Program?

    public init(text: String, variables: [String], file: String, range: SourceRange, program: Program?) {
        self.text = text
        self.variables = variables
        self.file = file
        self.range = range
        self.program = program
    }

    public static func == (lhs: CompiledExpression, rhs: CompiledExpression) -> Bool {
        lhs.text == rhs.text && lhs.file == rhs.file && lhs.range == rhs.range
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(text)
        hasher.combine(file)
        hasher.combine(range)
    }
}

public struct PrehookBinding: Sendable, Hashable {
    public var when: CompiledExpression
    /// The manifest's `reason` text, if any.
    public var reason: String?
}

public struct FailurePolicy: Sendable, Hashable {
    public var action: FailureAction
    public var status: String?
    public static let `default` = FailurePolicy(action: .continue, status: nil)
}

public struct SuccessPolicy: Sendable, Hashable {
    public var action: SuccessAction
    public var status: String?
    public static let `default` = SuccessPolicy(action: .continue, status: nil)
}

public struct CaptureBinding: Sendable, Hashable {
    public var variable: String
    public var source: CaptureSource
    public var jsonPath: String?
}

public struct GenerateItemsBinding: Sendable, Hashable {
    public var fromVariable: String
    public var jsonPath: String?
    public var itemID: String?
    public var label: String?
    public var vars: [String: String]
    public var replace: Bool
}

public struct PostActionBinding: Sendable, Hashable {
    public var type: PostActionType
    /// Set for `generate_items`.
    public var generateItems: GenerateItemsBinding?
    /// Set for `store_put`.
    public var storePut: StoreWriteBinding? = nil
    /// Set for `spawn_task` and `spawn_tasks`.
    public var spawn: SpawnBinding? = nil
}

/// `item_select_config` as the `item_select` builtin runs it (docs/stores.md "Item selection").
public struct ItemSelectBinding: Sendable, Hashable {
    public var strategy: ItemSelectSpec.Strategy
    public var metricVariable: String?
    public var weights: [String: Double]
    public var threshold: Double?
    /// The winner is written here (store, key; `from_var` is `item_select_result`).
    public var storeResult: StoreWriteBinding?
    public var tieBreak: ItemSelectSpec.TieBreak
}

/// A `store_inputs` entry (docs/stores.md).
public struct StoreReadBinding: Sendable, Hashable {
    public var store: String
    /// Placeholders (`{task_id}`, `{item_id}`, variables) are rendered when the step runs.
    public var key: String
    public var asVariable: String
    public var required: Bool
}

/// A `store_outputs` entry or a `store_put` post-action.
public struct StoreWriteBinding: Sendable, Hashable {
    public var store: String
    public var key: String
    public var fromVariable: String
}

/// `spawn_task` (goal, workflow) or `spawn_tasks` (one task per element of a JSON array).
public struct SpawnBinding: Sendable, Hashable {
    /// `spawn_task`: the goal with placeholders; nil for `spawn_tasks`.
    public var goal: String?
    /// `spawn_task`: the child's workflow (nil: the parent's).
    public var workflow: String?
    /// `spawn_tasks`: the variable holding the JSON, the path to the array, and paths into each element.
    public var fromVariable: String?
    public var jsonPath: String?
    public var goalPath: String?
    public var workflowPath: String?
    public var namePath: String?
    public var maxTasks: Int
    /// False: the children are created, not queued (started by hand).
    public var queue: Bool
    public var inheritWorkspace: Bool
    public var inheritProject: Bool
    public var inheritTargets: Bool
}

/// One step of the graph with every default applied.
public struct CompiledStep: Sendable, Hashable {
    public var id: String
    public var kind: StepKind
    public var scope: StepScope
    public var enabled: Bool
    public var repeatable: Bool
    public var isGuard: Bool
    public var tty: Bool
    /// The capability an agent step needs (nil for other kinds).
    public var capability: String? {
        if case .agent(let capability) = kind { return capability }
        return nil
    }
    /// The agent that would serve an agent step; nil when none does (an error was reported).
    public var agent: AgentBinding?
    public var template: TemplateBinding?
    /// For agent steps: the named profile, else the implicit `host`.
    public var profile: ProfileBinding?
    public var maxParallel: Int?
    public var staggerDelayMs: Int?
    public var timeoutSecs: Int?
    public var stallTimeoutSecs: Int?
    public var prehook: PrehookBinding?
    public var onFailure: FailurePolicy
    public var onSuccess: SuccessPolicy
    public var captures: [CaptureBinding]
    public var postActions: [PostActionBinding]
    public var collectArtifacts: Bool
    public var costPreference: CostPreference?
    /// The children of a chain, in order.
    public var children: [CompiledStep]
    /// The segment (1-based) this step belongs to; nil for guards and disabled steps.
    public var segment: Int?
    /// Where the step's `id` value was written (not part of the content hash).
    public var idRange: SourceRange
    /// Read before the step runs (bound as variables) and written after it (docs/stores.md).
    public var storeInputs: [StoreReadBinding] = []
    public var storeOutputs: [StoreWriteBinding] = []
    public var itemSelect: ItemSelectBinding? = nil
}

/// A maximal run of consecutive enabled, non-guard steps with the same scope.
public struct Segment: Sendable, Hashable {
    /// 1-based.
    public var index: Int
    public var scope: StepScope
    public var stepIDs: [String]
    /// Items processed at once: for item segments the first step's `max_parallel`, else the
    /// workflow's, else 1; task segments run once per cycle (1).
    public var maxParallel: Int
    /// Delay between item starts: the first step's `stagger_delay_ms`, else the workflow's, else 0.
    public var staggerDelayMs: Int
}

public struct ConvergenceBinding: Sendable, Hashable {
    public var when: CompiledExpression
    public var reason: String?
}

/// How cycles repeat.
public struct LoopPolicy: Sendable, Hashable {
    /// `once` also when the loop is written with `enabled: false`.
    public var mode: LoopMode
    public var maxCycles: Int?
    /// As written (`enabled: false` makes a loop run one cycle).
    public var enabled: Bool
    public var stopWhenNoUnresolved: Bool
    public var convergence: [ConvergenceBinding]

    /// How many cycles the loop runs at most: 1 for `once`, `max_cycles` for `fixed`, the cap (if
    /// any) for `infinite`. nil = no cap.
    public var cycleLimit: Int? {
        switch mode {
        case .once: return 1
        case .fixed: return maxCycles ?? 1
        case .infinite: return maxCycles
        }
    }
}

public struct SafetyPolicy: Sendable, Hashable {
    public var maxConsecutiveFailures: Int
    public var autoRollback: Bool
    public var checkpointStrategy: CheckpointStrategy
    public var stepTimeoutSecs: Int?
    public var binarySnapshot: Bool
    public var maxItemStepFailures: Int
    public var minCycleIntervalSecs: Int?
    public var onDrift: DriftPolicy
    /// `safety.invariants`, checked by the runner at their check points (docs/safety.md).
    public var invariants: [CompiledInvariant] = []
    /// Bounds of spawned tasks (docs/stores.md "Spawned tasks").
    public var maxSpawnDepth: Int = 3
    public var maxSpawnedTasks: Int = 10
}

extension CompiledStep {
    /// An implement step (its id or its agent capability says so): `after_implement` invariants
    /// are checked once the segment holding it has run (the planner and the runner agree).
    public var isImplementStep: Bool {
        if id == "implement" { return true }
        if case .agent(let capability) = kind { return capability == "implement" }
        return false
    }
}

/// One `safety.invariants` entry as the runner checks it (docs/safety.md "Invariants").
public struct CompiledInvariant: Sendable, Hashable {
    public enum CheckPoint: String, Sendable, Hashable, CaseIterable {
        case beforeCycle = "before_cycle"
        case afterImplement = "after_implement"
        case beforeRestart = "before_restart"
        case beforeComplete = "before_complete"
    }

    public enum OnViolation: String, Sendable, Hashable, CaseIterable {
        /// The task pauses with the invariant's output (resume after fixing).
        case halt
        /// The workspace goes back to the cycle's checkpoint; the task goes on.
        case rollback
        /// An event and a progress note; the task goes on.
        case warn
    }

    public var name: String
    public var description: String
    /// A shell command run in the workspace root; it holds when it exits `expectExit` (default 0).
    public var command: String?
    public var expectExit: Int
    /// The command's stdout (trimmed) as this variable, for `assertion` and later steps.
    public var captureAs: String?
    /// A condition over the pipeline's variables (and `captureAs`, `exit_code`) that must be true.
    public var assertion: CompiledExpression?
    public var immutable: Bool
    public var checkAt: [CheckPoint]
    public var onViolation: OnViolation
    /// Files (relative to the workspace root) that must not change while the task runs.
    public var protectedFiles: [String]
}

public struct FinalizeRuleBinding: Sendable, Hashable {
    public var id: String?
    public var when: CompiledExpression
    public var status: String
    public var reason: String?
}

/// Item isolation by git worktrees (docs/safety.md "Item isolation").
public struct ItemIsolation: Sendable, Hashable {
    /// Branches are `PREFIX/ITEM` (default `orchestrator/TASK`).
    public var branchPrefix: String?
    /// Worktrees are removed when the task ends (`after_workflow`) or kept (`never`).
    public var removeWhenDone: Bool

    public init(branchPrefix: String?, removeWhenDone: Bool) {
        self.branchPrefix = branchPrefix
        self.removeWhenDone = removeWhenDone
    }
}

/// Where a workflow's items come from when it says `items_from` (state-files.md).
public struct ItemsSource: Sendable, Hashable {
    /// The tasks.json, relative to the workspace root.
    public var tasksJSON: String
    /// Which tasks become items: an expression over the task's fields.
    public var when: String
    public static let defaultWhen = #"status == "pending" || status == "in_progress""#
    /// A tasks.json task's fields, as variables of its item (and of `when`).
    public static let fields: [(name: String, type: VariableType)] = [
        ("id", .string), ("title", .string), ("description", .string), ("status", .string), ("priority", .string),
        ("blocked_by", .string), ("verify", .string), ("requires_eval", .bool),
    ]

    public init(tasksJSON: String, when: String) {
        self.tasksJSON = tasksJSON
        self.when = when
    }
}

/// The compiled graph of one workflow.
public struct WorkflowGraph: Sendable, Hashable {
    public var name: String
    public var project: String
    /// The file the workflow was written in (not part of the content hash).
    public var file: String
    /// Where the workflow's name was written (not part of the content hash).
    public var nameRange: SourceRange
    /// Top-level steps in order, guards and disabled steps included.
    public var steps: [CompiledStep]
    public var segments: [Segment]
    public var loop: LoopPolicy
    public var safety: SafetyPolicy
    /// nil = the built-in default rules.
    public var finalizeRules: [FinalizeRuleBinding]?
    public var maxParallel: Int?
    public var staggerDelayMs: Int?
    /// SHA-256 hex of the canonical serialization (CanonicalForm.swift).
    public var contentHash: String
    /// Fields of the workflow's document that are stored but not executed (`path: why`, from the
    /// field tables), shown with `settingsNotExecuted`.
    public var fieldsNotExecuted: [String] = []
    /// `items_from`: the items are the tasks of this tasks.json that `when` selects.
    public var itemsFrom: ItemsSource?
    /// `item_isolation: {strategy: git_worktree}`: each item's steps run in its own git worktree.
    public var itemIsolation: ItemIsolation?

    /// The top-level step with this id.
    public func step(_ id: String) -> CompiledStep? { steps.first(where: { $0.id == id }) }

    /// Enabled guard steps, in order: they run after the cycle's segments.
    public var guards: [CompiledStep] { steps.filter { $0.isGuard && $0.enabled } }
}

extension WorkflowGraph {
    /// The settings of this workflow that the runner accepts and stores but does not act on,
    /// in words (`plan` shows them, a task records them when it starts), so no one mistakes a
    /// written safety setting for one that is enforced. See docs/runner.md, "Not (yet) executed".
    public var settingsNotExecuted: [String] {
        var notes: [String] = []
        if safety.autoRollback && safety.checkpointStrategy == .none {
            notes.append("safety.auto_rollback without a checkpoint_strategy: there is no checkpoint to roll back to")
        }
        func visit(_ steps: [CompiledStep]) {
            for step in steps {
                if let stall = step.stallTimeoutSecs { notes.append("\(step.id).stall_timeout_secs \(stall): only timeout_secs is enforced") }
                if step.tty { notes.append("\(step.id).tty: steps run without a terminal") }
                if step.collectArtifacts { notes.append("\(step.id).behavior.collect_artifacts: nothing is collected") }
                visit(step.children)
            }
        }
        visit(steps)
        return notes + fieldsNotExecuted
    }
}
