import Diagnostics
import YAML

// The typed resources of spec/manifests.md. The decoder (ManifestDecoder) fills these from YAML
// nodes; the compiler reads them. Every value a later check may point at keeps its source range
// (`Located`), so a diagnostic can name the exact key or value.

/// A value with the source range it was written at.
public struct Located<Value: Sendable>: Sendable {
    public var value: Value
    public var range: SourceRange

    public init(_ value: Value, range: SourceRange) {
        self.value = value
        self.range = range
    }
}

extension Located: Equatable where Value: Equatable {}
extension Located: Hashable where Value: Hashable {}

/// An expression as written in a YAML scalar: its text and where it stands, so the compiler can
/// map an offset inside the expression back to the file (`ScalarSourceMap`).
public struct ExpressionSource: Sendable, Hashable {
    public var text: String
    /// The scalar node holding the expression (its range and style).
    public var node: Node

    public init(text: String, node: Node) {
        self.text = text
        self.node = node
    }

    public var range: SourceRange { node.range }
}

public enum ResourceKind: String, Sendable, Hashable, CaseIterable {
    case project = "Project"
    case workspace = "Workspace"
    case agent = "Agent"
    case stepTemplate = "StepTemplate"
    case executionProfile = "ExecutionProfile"
    case envStore = "EnvStore"
    case secretStore = "SecretStore"
    case workflow = "Workflow"
    case runtimePolicy = "RuntimePolicy"
    case trigger = "Trigger"
    case workflowStore = "WorkflowStore"
    case storeBackendProvider = "StoreBackendProvider"
    case customResourceDefinition = "CustomResourceDefinition"
    /// An instance of a kind a CustomResourceDefinition defines (`Resource.kindName` is its kind).
    case custom = "CustomResource"

    /// The kinds a manifest names itself (every case but `custom`).
    public static var builtin: [ResourceKind] { allCases.filter { $0 != .custom } }

}

public struct Metadata: Sendable {
    public var name: Located<String>
    /// nil when the document names no project (the command line's `--project`, else `default`).
    public var project: Located<String>?
    public var labels: [(key: String, value: String)]
    public var annotations: [(key: String, value: String)]
    public var description: String?

    public init(
        name: Located<String>, project: Located<String>? = nil, labels: [(key: String, value: String)] = [],
        annotations: [(key: String, value: String)] = [], description: String? = nil
    ) {
        self.name = name
        self.project = project
        self.labels = labels
        self.annotations = annotations
        self.description = description
    }
}

/// One decoded document.
///
/// A value type whose fields live in one shared box, copied on the first write to a shared one:
/// resources pass through arrays, loops and checks many times per apply, and each copy of the
/// dozen fields cost a retain each (issue 20: copies and their teardown were 8% of an apply of
/// 1,000 resources); now a copy is one retain.
public struct Resource: Sendable {
    private final class Storage: @unchecked Sendable {
        // Written only through `Resource`'s setters, on a box no other value shares.
        var kind: ResourceKind
        var apiVersion: String
        var metadata: Metadata
        var spec: ResourceSpec
        var file: String
        var node: Node
        var kindRange: SourceRange
        var projectOverride: String?
        var notExecutedSettings: [String]
        var customKind: String?

        init(
            kind: ResourceKind, apiVersion: String, metadata: Metadata, spec: ResourceSpec, file: String, node: Node,
            kindRange: SourceRange, projectOverride: String? = nil, notExecutedSettings: [String] = [], customKind: String? = nil
        ) {
            self.kind = kind
            self.apiVersion = apiVersion
            self.metadata = metadata
            self.spec = spec
            self.file = file
            self.node = node
            self.kindRange = kindRange
            self.projectOverride = projectOverride
            self.notExecutedSettings = notExecutedSettings
            self.customKind = customKind
        }

        func copy() -> Storage {
            Storage(
                kind: kind, apiVersion: apiVersion, metadata: metadata, spec: spec, file: file, node: node, kindRange: kindRange,
                projectOverride: projectOverride, notExecutedSettings: notExecutedSettings, customKind: customKind)
        }
    }

    private var storage: Storage

    /// The box, copied first when another value shares it.
    private var writable: Storage {
        mutating get {
            if !isKnownUniquelyReferenced(&storage) { storage = storage.copy() }
            return storage
        }
    }

    public var kind: ResourceKind {
        get { storage.kind }
        set { writable.kind = newValue }
    }
    public var apiVersion: String {
        get { storage.apiVersion }
        set { writable.apiVersion = newValue }
    }
    public var metadata: Metadata {
        get { storage.metadata }
        set { writable.metadata = newValue }
    }
    public var spec: ResourceSpec {
        get { storage.spec }
        set { writable.spec = newValue }
    }
    /// The file it came from (as the user named it).
    public var file: String {
        get { storage.file }
        set { writable.file = newValue }
    }
    /// The whole document's root mapping, kept for storage, diff and export.
    public var node: Node {
        get { storage.node }
        set { writable.node = newValue }
    }
    /// The range of the `kind` value (where kind-level findings point).
    public var kindRange: SourceRange {
        get { storage.kindRange }
        set { writable.kindRange = newValue }
    }
    /// The command line's `--project` the document was decoded with (see `resolvedProject`).
    public var projectOverride: String? {
        get { storage.projectOverride }
        set { writable.projectOverride = newValue }
    }
    /// Fields written in the document that are stored but not executed ("path: why"), for `plan`
    /// and task start.
    public var notExecutedSettings: [String] {
        get { storage.notExecutedSettings }
        set { writable.notExecutedSettings = newValue }
    }
    /// For `.custom`: the kind the document names (defined by a CustomResourceDefinition).
    public var customKind: String? {
        get { storage.customKind }
        set { writable.customKind = newValue }
    }

    public init(
        kind: ResourceKind, apiVersion: String, metadata: Metadata, spec: ResourceSpec, file: String, node: Node,
        kindRange: SourceRange
    ) {
        storage = Storage(
            kind: kind, apiVersion: apiVersion, metadata: metadata, spec: spec, file: file, node: node, kindRange: kindRange)
    }

    public var name: String { storage.metadata.name.value }

    /// The kind as written and stored (a custom resource's own kind).
    public var kindName: String { storage.customKind ?? storage.kind.rawValue }
}

/// Indirect: a `Resource` is copied through arrays and passes many times per apply; its spec
/// (a workflow's is large) is then one shared box instead of a copy of every field.
public indirect enum ResourceSpec: Sendable {
    case project(ProjectSpec)
    case workspace(WorkspaceSpec)
    case agent(AgentSpec)
    case stepTemplate(StepTemplateSpec)
    case executionProfile(ExecutionProfileSpec)
    case envStore(StoreSpec)
    case secretStore(StoreSpec)
    case workflow(WorkflowSpec)
    case runtimePolicy(StoredSpec)
    case trigger(StoredSpec)
    case workflowStore(StoredSpec)
    case storeBackendProvider(StoredSpec)
    case customResourceDefinition(CRDSpec)
    case custom(CustomResourceSpec)
}

/// A spec decoded (type-checked against the field tables) and kept as written.
public struct StoredSpec: Sendable {
    public var node: Node
    public init(node: Node) { self.node = node }
}

// MARK: - CustomResourceDefinition

public struct CELRule: Sendable {
    public var rule: ExpressionSource
    public var message: Located<String>
    public init(rule: ExpressionSource, message: Located<String>) {
        self.rule = rule
        self.message = message
    }
}

public struct CRDVersion: Sendable {
    public var name: Located<String>
    /// The JSON Schema of an instance's `spec` (nil: `{type: object}`).
    public var schema: Node?
    public var served: Bool
    public var celRules: [CELRule]
    public init(name: Located<String>, schema: Node?, served: Bool, celRules: [CELRule]) {
        self.name = name
        self.schema = schema
        self.served = served
        self.celRules = celRules
    }
}

public struct CRDSpec: Sendable {
    public var kind: Located<String>
    public var plural: Located<String>
    public var shortNames: [Located<String>]
    public var group: Located<String>
    public var versions: [CRDVersion]
    public var node: Node
    public init(kind: Located<String>, plural: Located<String>, shortNames: [Located<String>], group: Located<String>, versions: [CRDVersion], node: Node) {
        self.kind = kind
        self.plural = plural
        self.shortNames = shortNames
        self.group = group
        self.versions = versions
        self.node = node
    }

    /// `group/version` of each served version.
    public var servedAPIVersions: [String] { versions.filter(\.served).map { group.value + "/" + $0.name.value } }
}

/// An instance of a CRD-defined kind: validated against its CRD by the compiler.
public struct CustomResourceSpec: Sendable {
    public var apiVersion: Located<String>
    public var kind: Located<String>
    /// The `spec` node (nil when absent).
    public var spec: Node?
    public init(apiVersion: Located<String>, kind: Located<String>, spec: Node?) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.spec = spec
    }
}

// MARK: - Project, Workspace, StepTemplate

public struct ProjectSpec: Sendable {
    public var description: String?
    public init(description: String? = nil) { self.description = description }
}

public struct WorkspaceSpec: Sendable {
    /// As written; relative paths resolve against the working directory of `apply`.
    public var rootPath: Located<String>
    public var qaTargets: [Located<String>] = []
    public var ticketDir: Located<String>?
    public var selfReferential: Located<Bool>?
    public var artifactsDir: Located<String>?
    /// Shell commands run by the `self_test` builtin (our extension).
    public var selfTest: [Located<String>]?
    /// A smoke-check script run once before a task's first cycle (our extension).
    public var initScript: Located<String>?
    /// The session's smoke check (state-files.md `init_script`, e.g. `./init.sh`): run before the
    /// first cycle and after every resume; a failure pauses the task.
    public var sessionInitScript: Located<String>?
    /// The command the `self_restart` builtin runs to rebuild this tool (our extension).
    public var buildCommand: Located<String>?
    /// Where that build leaves its executables, relative to the root (our extension).
    public var buildOutput: Located<String>?

    public init(rootPath: Located<String>) { self.rootPath = rootPath }

    /// The folder `self_restart` takes the new executable from: `.build/release` unless set.
    public var buildOutputDirectory: String { buildOutput?.value ?? ".build/release" }

    public var ticketDirectory: String { ticketDir?.value ?? "tickets" }
    public var artifactsDirectory: String { artifactsDir?.value ?? ".orchestrator/artifacts" }
    public var isSelfReferential: Bool { selfReferential?.value ?? false }
}

public struct StepTemplateSpec: Sendable {
    public var prompt: Located<String>
    public var description: String?

    public init(prompt: Located<String>, description: String? = nil) {
        self.prompt = prompt
        self.description = description
    }
}

// MARK: - Agent

public enum PromptDelivery: String, Sendable, Hashable, CaseIterable {
    case arg, stdin, file, env
}

/// One entry of an agent's `env`.
public enum EnvEntry: Sendable {
    /// `{name, value}`
    case literal(name: Located<String>, value: Located<String>)
    /// `{fromRef: STORE}`: every key of an EnvStore or SecretStore.
    case fromRef(store: Located<String>)
    /// `{name, refValue: {name: STORE, key: KEY}}`
    case refValue(name: Located<String>, store: Located<String>, key: Located<String>)
}

public struct CommandRule: Sendable {
    public var when: ExpressionSource
    public var command: Located<String>

    public init(when: ExpressionSource, command: Located<String>) {
        self.when = when
        self.command = command
    }
}

public struct AgentSpec: Sendable {
    public var command: Located<String>
    public var capabilities: [Located<String>] = []
    public var enabled: Located<Bool>?
    public var env: [Located<EnvEntry>] = []
    public var promptDelivery: Located<PromptDelivery>?
    public var commandRules: [CommandRule] = []
    /// `metadata.cost` inside the spec (selection among capable agents: lowest cost, then name).
    public var cost: Located<Int>?
    public var agentDescription: String?
    /// Accepted and stored, not interpreted.
    public var selection: Node?
    public var healthPolicy: Node?

    public init(command: Located<String>) { self.command = command }

    public var isEnabled: Bool { enabled?.value ?? true }
    public var delivery: PromptDelivery { promptDelivery?.value ?? .arg }
}

// MARK: - ExecutionProfile

public enum ProfileMode: String, Sendable, Hashable, CaseIterable { case host, sandbox }
public enum FilesystemMode: String, Sendable, Hashable, CaseIterable {
    case inherit, workspace_readonly, workspace_rw_scoped
}
public enum NetworkMode: String, Sendable, Hashable, CaseIterable { case inherit, deny, allowlist }

public struct ExecutionProfileSpec: Sendable {
    public var mode: Located<ProfileMode>?
    public var fsMode: Located<FilesystemMode>?
    public var writablePaths: [Located<String>] = []
    public var readablePaths: [Located<String>] = []
    public var networkMode: Located<NetworkMode>?
    public var networkAllowlist: [Located<String>] = []
    public var maxMemoryMB: Located<Int>?
    public var maxCPUSeconds: Located<Int>?
    public var maxProcesses: Located<Int>?
    public var maxOpenFiles: Located<Int>?

    public init() {}
}

// MARK: - EnvStore / SecretStore

/// A store value: a literal, or `{fromEnv: NAME}` taken from the environment at run time.
public enum StoreValue: Sendable, Hashable {
    case literal(String)
    case fromEnv(String)
}

public struct StoreEntry: Sendable {
    public var key: Located<String>
    public var value: Located<StoreValue>

    public init(key: Located<String>, value: Located<StoreValue>) {
        self.key = key
        self.value = value
    }
}

public struct StoreSpec: Sendable {
    public var data: [StoreEntry] = []
    public init(data: [StoreEntry] = []) { self.data = data }
}

// MARK: - Workflow

public enum LoopMode: String, Sendable, Hashable, CaseIterable { case once, fixed, infinite }

public struct ConvergenceRule: Sendable {
    public var when: ExpressionSource
    public var reason: String?

    public init(when: ExpressionSource, reason: String? = nil) {
        self.when = when
        self.reason = reason
    }
}

public struct LoopSpec: Sendable {
    /// nil when `loop` is absent or has no `mode` (= once).
    public var mode: Located<LoopMode>?
    public var maxCycles: Located<Int>?
    public var enabled: Located<Bool>?
    public var stopWhenNoUnresolved: Located<Bool>?
    public var convergence: [ConvergenceRule] = []
    /// The `loop` key's range when written.
    public var range: SourceRange?

    public init() {}

    public var loopMode: LoopMode { mode?.value ?? .once }
    public var isEnabled: Bool { enabled?.value ?? true }
    public var stopsWhenNothingUnresolved: Bool { stopWhenNoUnresolved?.value ?? true }
}

public enum CheckpointStrategy: String, Sendable, Hashable, CaseIterable { case none, git_tag, git_stash }
public enum DriftPolicy: String, Sendable, Hashable, CaseIterable { case pin, adopt, fail }

public struct SafetySpec: Sendable {
    public var maxConsecutiveFailures: Located<Int>?
    public var autoRollback: Located<Bool>?
    public var checkpointStrategy: Located<CheckpointStrategy>?
    public var stepTimeoutSecs: Located<Int>?
    public var binarySnapshot: Located<Bool>?
    public var maxItemStepFailures: Located<Int>?
    public var minCycleIntervalSecs: Located<Int>?
    public var onDrift: Located<DriftPolicy>?
    /// `safety.invariants`, decoded (docs/safety.md "Invariants").
    public var invariants: [InvariantSpec] = []
    /// Bounds of `spawn_task`/`spawn_tasks` (docs/stores.md "Spawned tasks").
    public var maxSpawnDepth: Located<Int>?
    public var maxSpawnedTasks: Located<Int>?
    /// The `safety` key's range when written.
    public var range: SourceRange?

    public init() {}

    public var consecutiveFailureLimit: Int { maxConsecutiveFailures?.value ?? 3 }
    public var rollsBack: Bool { autoRollback?.value ?? false }
    public var checkpoint: CheckpointStrategy { checkpointStrategy?.value ?? .none }
    public var drift: DriftPolicy { onDrift?.value ?? .pin }
    public var itemStepFailureLimit: Int { maxItemStepFailures?.value ?? 3 }
    /// How deep a chain of spawned tasks may grow below a task nobody spawned (default 3).
    public var spawnDepthLimit: Int { maxSpawnDepth?.value ?? 3 }
    /// How many tasks one task may spawn in all (default 10).
    public var spawnedTaskLimit: Int { maxSpawnedTasks?.value ?? 10 }
}

public struct FinalizeRule: Sendable {
    public var id: Located<String>?
    public var when: ExpressionSource
    public var status: Located<String>
    public var reason: String?

    public init(id: Located<String>?, when: ExpressionSource, status: Located<String>, reason: String? = nil) {
        self.id = id
        self.when = when
        self.status = status
        self.reason = reason
    }
}

public enum StepScope: String, Sendable, Hashable, CaseIterable { case task, item }

public enum Builtin: String, Sendable, Hashable, CaseIterable {
    case init_once, loop_guard, self_test, self_restart, ticket_scan, item_select
}

public enum FailureAction: String, Sendable, Hashable, CaseIterable { case `continue`, set_status, early_return }
public enum SuccessAction: String, Sendable, Hashable, CaseIterable { case `continue`, set_status }

public struct OnFailure: Sendable {
    public var action: Located<FailureAction>
    public var status: Located<String>?
    public init(action: Located<FailureAction>, status: Located<String>? = nil) {
        self.action = action
        self.status = status
    }
}

public struct OnSuccess: Sendable {
    public var action: Located<SuccessAction>
    public var status: Located<String>?
    public init(action: Located<SuccessAction>, status: Located<String>? = nil) {
        self.action = action
        self.status = status
    }
}

public enum CaptureSource: String, Sendable, Hashable, CaseIterable {
    case stdout, stderr, exit_code, failed_flag, success_flag
}

public struct Capture: Sendable {
    public var variable: Located<String>
    public var source: Located<CaptureSource>
    public var jsonPath: Located<String>?

    public init(variable: Located<String>, source: Located<CaptureSource>, jsonPath: Located<String>? = nil) {
        self.variable = variable
        self.source = source
        self.jsonPath = jsonPath
    }
}

public enum PostActionType: String, Sendable, Hashable, CaseIterable {
    case generate_items, create_ticket, scan_tickets, spawn_task, spawn_tasks, store_put
}

public struct GenerateItems: Sendable {
    public var fromVar: Located<String>
    public var jsonPath: Located<String>?
    public var itemID: Located<String>?
    public var label: Located<String>?
    public var vars: [(key: String, value: Located<String>)] = []
    public var replace: Bool = false

    public init(fromVar: Located<String>) { self.fromVar = fromVar }
}

/// A `store_inputs` entry: a WorkflowStore value bound as a pipeline variable before a step.
public struct StoreRead: Sendable {
    public var store: Located<String>
    public var key: Located<String>
    public var asVar: Located<String>
    /// The step fails without running when the key holds no value.
    public var required: Bool

    public init(store: Located<String>, key: Located<String>, asVar: Located<String>, required: Bool) {
        self.store = store
        self.key = key
        self.asVar = asVar
        self.required = required
    }
}

/// A `store_outputs` entry or a `store_put` post-action: a pipeline variable written to a
/// WorkflowStore after a step.
public struct StoreWrite: Sendable {
    public var store: Located<String>
    public var key: Located<String>
    public var fromVar: Located<String>

    public init(store: Located<String>, key: Located<String>, fromVar: Located<String>) {
        self.store = store
        self.key = key
        self.fromVar = fromVar
    }
}

/// A step's `item_select_config`: how the `item_select` builtin picks the winning item.
public struct ItemSelectSpec: Sendable {
    public enum Strategy: String, Sendable, CaseIterable { case min, max, threshold, weighted }
    public enum TieBreak: String, Sendable, CaseIterable { case first, last, random }

    public var strategy: Located<Strategy>
    public var metricVar: Located<String>?
    /// `weighted`: variable -> weight.
    public var weights: [(key: String, value: Double)] = []
    public var threshold: Double?
    /// Where the winner is written (`namespace` is the WorkflowStore).
    public var storeResult: (store: Located<String>, key: Located<String>)?
    public var tieBreak: TieBreak = .first

    public init(strategy: Located<Strategy>) { self.strategy = strategy }
}

/// `spawn_task` (one task) or `spawn_tasks` (one per element of a JSON array).
public struct SpawnSpec: Sendable {
    public struct Many: Sendable {
        public var fromVar: Located<String>
        public var jsonPath: Located<String>?
        /// JSON paths into each element.
        public var goal: Located<String>
        public var workflow: Located<String>?
        public var name: Located<String>?
        public var maxTasks: Int
        public var queue: Bool
    }

    /// `spawn_task`: the goal (placeholders rendered) and the workflow (nil: the parent's).
    public var goal: Located<String>?
    public var workflow: Located<String>?
    /// `spawn_tasks`.
    public var many: Many?
    public var inheritWorkspace: Bool = true
    public var inheritProject: Bool = true
    public var inheritTargets: Bool = false

    public init() {}
}

public struct PostAction: Sendable {
    public var type: Located<PostActionType>
    /// Set for `generate_items`.
    public var generateItems: GenerateItems?
    /// Set for `store_put`.
    public var storePut: StoreWrite?
    /// Set for `spawn_task` and `spawn_tasks`.
    public var spawn: SpawnSpec?
    /// The whole entry, kept for the kinds that are accepted and stored only.
    public var node: Node

    public init(type: Located<PostActionType>, generateItems: GenerateItems? = nil, node: Node) {
        self.type = type
        self.generateItems = generateItems
        self.node = node
    }
}

public struct Behavior: Sendable {
    public var onFailure: OnFailure?
    public var onSuccess: OnSuccess?
    public var captures: [Capture] = []
    public var postActions: [PostAction] = []
    public var collectArtifacts: Located<Bool>?

    public init() {}
}

public enum CostPreference: String, Sendable, Hashable, CaseIterable { case performance, quality, balance }

public struct Prehook: Sendable {
    public var engine: Located<String>?
    public var when: ExpressionSource
    public var reason: String?

    public init(engine: Located<String>? = nil, when: ExpressionSource, reason: String? = nil) {
        self.engine = engine
        self.when = when
        self.reason = reason
    }
}

public struct StepSpec: Sendable {
    public var id: Located<String>
    public var type: Located<String>?
    public var builtin: Located<Builtin>?
    public var requiredCapability: Located<String>?
    public var template: Located<String>?
    public var command: Located<String>?
    public var chainSteps: [StepSpec]?
    public var scope: Located<StepScope>?
    public var enabled: Located<Bool>?
    public var repeatable: Located<Bool>?
    public var isGuard: Located<Bool>?
    public var tty: Located<Bool>?
    public var executionProfile: Located<String>?
    public var maxParallel: Located<Int>?
    public var staggerDelayMs: Located<Int>?
    public var timeoutSecs: Located<Int>?
    public var stallTimeoutSecs: Located<Int>?
    public var prehook: Prehook?
    public var behavior = Behavior()
    public var costPreference: Located<CostPreference>?
    /// `item_select_config` (the `item_select` builtin).
    public var itemSelect: ItemSelectSpec?
    /// `store_inputs` and `store_outputs` (docs/stores.md).
    public var storeInputs: [StoreRead] = []
    public var storeOutputs: [StoreWrite] = []
    /// Accepted and stored: `step_vars`.
    public var storedOnly: [(key: String, value: Node)] = []
    /// The step's mapping (where step-level findings point: its `id` value is usually better).
    public var range: SourceRange

    public init(id: Located<String>, range: SourceRange) {
        self.id = id
        self.range = range
    }

    public var isEnabled: Bool { enabled?.value ?? true }
    public var isRepeatable: Bool { repeatable?.value ?? true }
    /// `type`, else the id.
    public var stepType: String { type?.value ?? id.value }
}

/// `items_from` (ours, state-files.md): the task's items are the tasks of a tasks.json that
/// `when` selects (default: pending or in progress).
public struct ItemsFromSpec: Sendable {
    /// Relative to the workspace root.
    public var tasksJSON: Located<String>
    public var when: ExpressionSource?

    public init(tasksJSON: Located<String>, when: ExpressionSource?) {
        self.tasksJSON = tasksJSON
        self.when = when
    }
}

/// One `safety.invariants` entry as written.
public struct InvariantSpec: Sendable {
    public var name: Located<String>
    public var description: String?
    public var command: Located<String>?
    public var expectExit: Int?
    public var captureAs: String?
    public var assertion: ExpressionSource?
    public var immutable: Bool
    /// The check points as written (nil: the default, after_implement and before_complete).
    public var checkAt: [Located<String>]?
    public var onViolation: String?
    public var protectedFiles: [String]
    /// The entry's mapping (findings about the whole invariant point here).
    public var range: SourceRange
}

/// `item_isolation` (docs/safety.md "Item isolation").
public struct ItemIsolationSpec: Sendable {
    /// `none` or `git_worktree`.
    public var strategy: Located<String>?
    public var branchPrefix: Located<String>?
    /// `after_workflow` or `never`.
    public var cleanup: Located<String>?

    public init(strategy: Located<String>?, branchPrefix: Located<String>?, cleanup: Located<String>?) {
        self.strategy = strategy
        self.branchPrefix = branchPrefix
        self.cleanup = cleanup
    }
}

public struct WorkflowSpec: Sendable {
    public var steps: [StepSpec] = []
    public var itemsFrom: ItemsFromSpec?
    public var itemIsolation: ItemIsolationSpec?
    public var loop = LoopSpec()
    public var maxParallel: Located<Int>?
    public var staggerDelayMs: Located<Int>?
    public var safety = SafetySpec()
    /// nil = the built-in default rules.
    public var finalizeRules: [FinalizeRule]?
    /// Accepted, stored, warned as not executed: `item_isolation`, `adaptive`, `dynamic_steps`.
    public var storedOnly: [(key: String, value: Node)] = []

    public init() {}
}
