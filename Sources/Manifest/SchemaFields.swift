// The field tables of every mapping level: key, type, default, aliases and whether the tool
// executes it. The decoder checks keys against them (`SchemaLevel.position(ofKey:)`), decodes
// the kinds it only stores with them (`GenericDecoder`), and `orchestrator schema` turns them
// into a JSON Schema; a test decodes a document generated from them and fails when the decoder reads a key
// the table lacks or leaves a key of the table unread.

import YAML

/// A field's value type.
public indirect enum FieldType: Sendable, Hashable {
    case string
    case bool
    /// An integer of at least `minimum`.
    case integer(minimum: Int)
    case number
    /// A list of strings.
    case strings
    /// A mapping of strings to strings.
    case stringMap
    /// A mapping of strings to lists of strings.
    case stringListMap
    /// A mapping of strings to numbers.
    case numberMap
    /// One of these strings.
    case values([String])
    /// A mapping of the given level.
    case object(SchemaLevel)
    /// A list of mappings of the given level.
    case objects(SchemaLevel)
    /// A mapping of the level, or a list of them (`dynamic_steps`).
    case objectOrObjects(SchemaLevel)
    /// A store's `data`: strings or `{fromEnv: NAME}`.
    case storeData
    /// Any value (kept as written).
    case any

    /// In words, for type-mismatch messages and the docs.
    public var words: String {
        switch self {
        case .string: return "string"
        case .bool: return "boolean"
        case .integer(let minimum): return minimum == 0 ? "integer >= 0" : "integer >= \(minimum)"
        case .number: return "number"
        case .strings: return "list of strings"
        case .stringMap: return "map of strings"
        case .stringListMap: return "map of string lists"
        case .numberMap: return "map of numbers"
        case .values(let values): return values.joined(separator: " \\| ")
        case .object(let level): return "mapping (\(level.rawValue))"
        case .objects(let level): return "list of mappings (\(level.rawValue))"
        case .objectOrObjects(let level): return "mapping or list (\(level.rawValue))"
        case .storeData: return "map of strings or `{fromEnv}`"
        case .any: return "any"
        }
    }
}

/// What this tool does with a field.
public enum FieldStatus: Sendable, Hashable {
    /// Read and acted on.
    case executed
    /// Accepted, type-checked and stored; `validate`/`plan` and task start say it is not executed.
    case notExecuted(String)
    /// Our extension (the replaced system ignores it).
    case ours
}

/// One key of a mapping level.
public struct Field: Sendable, Hashable {
    public var key: String
    public var type: FieldType
    public var required: Bool = false
    /// The value used when absent, as written in YAML.
    public var defaultValue: String?
    /// Other accepted spellings (none today: every alias of the replaced system is its YAML key).
    public var aliases: [String] = []
    public var status: FieldStatus = .executed
    public var doc: String = ""

    public var isExecuted: Bool { if case .executed = status { return true } else { return false } }
}

/// What the replaced system did with a key it did not know, level by level (parity.md).
public enum UnknownKeyContract: String, Sendable, Hashable {
    /// `deny_unknown_fields`: an error there, an error here.
    case refused
    /// Silently dropped there; a warning here (`--strict`: an error).
    case ignored
    /// Kept and warned about there (a step's flattened `extra`); a warning here.
    case warned
}

private func f(
    _ key: String, _ type: FieldType, required: Bool = false, default value: String? = nil, _ status: FieldStatus = .executed,
    _ doc: String = ""
) -> Field {
    Field(key: key, type: type, required: required, defaultValue: value, status: status, doc: doc)
}

private func f(_ key: String, _ type: FieldType, required: Bool = false, default value: String? = nil, _ doc: String) -> Field {
    Field(key: key, type: type, required: required, defaultValue: value, status: .executed, doc: doc)
}

private let runnerNotYet = FieldStatus.notExecuted("stored; the daemon's logging is configured by its own options, not by a RuntimePolicy's observability")
private let crdRefNotYet = FieldStatus.notExecuted("webhook plugins of a CRD are stored; they are never run")
private let crdHookNotYet = FieldStatus.notExecuted("CRD hooks and plugins are stored; they are never run")
private let healthNotYet = FieldStatus.notExecuted("agent health and disease tracking is not implemented; the policy is stored")
private let selectionNotYet = FieldStatus.notExecuted("agents are chosen by lowest metadata.cost, then name; the selection strategy is stored")

extension SchemaLevel {
    /// What the replaced system did with unknown keys at this level.
    public var unknownKeys: UnknownKeyContract {
        switch self {
        case .projectSpec, .healthPolicy, .stepTemplateSpec, .executionProfileSpec, .storeSpec, .storeValue, .workflowSpec,
            .triggerSpec, .triggerCron, .triggerEvent, .triggerFilter, .triggerWebhook, .webhookSecret, .triggerFilesystem,
            .triggerAction, .triggerHistoryLimit, .triggerThrottle:
            return .refused
        case .step: return .warned
        default: return .ignored
        }
    }

    /// The fields of this level, in documentation order (built once per level: every mapping of
    /// every decoded document reads them).
    public var fields: [Field] { SchemaLevel.tables[self]?.fields ?? [] }

    /// The field `key` of this level.
    public func field(_ key: String) -> Field? {
        guard let table = SchemaLevel.tables[self], let index = table.positions[key] else { return nil }
        return table.fields[index]
    }

    /// Where the key `node` (a mapping key of a document) stands in this level's table; nil for
    /// a key the level does not have.
    func position(ofKey node: Node) -> Int? { SchemaLevel.tables[self]?.position(ofKey: node) }

    /// Each level's fields, their positions by key and the set of keys, built on first use.
    private static let tables: [SchemaLevel: LevelTable] = Dictionary(
        uniqueKeysWithValues: allCases.map { level in (level, LevelTable(fields: level.declaredFields)) })

    /// The field table of this level as declared (documentation order).
    private var declaredFields: [Field] {
        switch self {
        case .document:
            return [
                f("apiVersion", .string, required: true, "`orchestrator.dev/v2`; a custom resource: `GROUP/VERSION` of its CRD"),
                f("kind", .string, required: true, "the resource kind"), f("metadata", .object(.metadata), required: true),
                f("spec", .any, required: true, "the kind's spec"),
            ]
        case .metadata:
            return [
                f("name", .string, required: true), f("project", .string, "the project (default: `--project`, else `default`)"),
                f("labels", .stringMap), f("annotations", .stringMap), f("description", .string, .ours),
            ]
        case .projectSpec: return [f("description", .string)]
        case .workspaceSpec:
            return [
                f("root_path", .string, required: true), f("qa_targets", .strings, default: "[]"),
                f("ticket_dir", .string, default: "tickets"), f("self_referential", .bool, default: "false"),
                f("health_policy", .object(.healthPolicy), healthNotYet), f("artifacts_dir", .string, default: ".orchestrator/artifacts"),
                f("self_test", .strings, .ours), f("init", .string, .ours), f("init_script", .string, .ours),
                f("build_command", .string, .ours),
                f("build_output", .string, default: ".build/release", .ours),
            ]
        case .healthPolicy:
            return [
                f("disease_duration_hours", .integer(minimum: 0), default: "5", healthNotYet),
                f("disease_threshold", .integer(minimum: 0), default: "2", healthNotYet),
                f("capability_success_threshold", .number, default: "0.5", healthNotYet),
            ]
        case .agentSpec:
            return [
                f("command", .string, required: true), f("capabilities", .strings, default: "[]"), f("enabled", .bool, default: "true"),
                f("env", .objects(.agentEnv)), f("promptDelivery", .values(PromptDelivery.allCases.map(\.rawValue)), default: "arg"),
                f("command_rules", .objects(.commandRule)), f("metadata", .object(.agentMetadata)),
                f("selection", .object(.agentSelection), selectionNotYet), f("health_policy", .object(.healthPolicy), healthNotYet),
            ]
        case .agentMetadata: return [f("cost", .integer(minimum: 0), default: "0"), f("description", .string)]
        case .agentEnv: return [f("name", .string), f("value", .string), f("fromRef", .string), f("refValue", .object(.agentEnvRef))]
        case .agentEnvRef: return [f("name", .string, required: true), f("key", .string, required: true)]
        case .commandRule: return [f("when", .string, required: true), f("command", .string, required: true)]
        case .agentSelection:
            return [
                f("strategy", .values(["cost_based", "success_rate_weighted", "performance_first", "adaptive", "load_balanced", "capability_aware"]), default: "cost_based", selectionNotYet),
                f("weights", .object(.selectionWeights), selectionNotYet),
            ]
        case .selectionWeights:
            return ["cost", "success_rate", "performance", "load"].map { f($0, .number, required: true, selectionNotYet) }
        case .stepTemplateSpec: return [f("prompt", .string, required: true), f("description", .string)]
        case .executionProfileSpec:
            return [
                f("mode", .values(ProfileMode.allCases.map(\.rawValue)), default: "host"),
                f("fs_mode", .values(FilesystemMode.allCases.map(\.rawValue)), default: "inherit"),
                f("writable_paths", .strings), f("readable_paths", .strings),
                f("network_mode", .values(NetworkMode.allCases.map(\.rawValue)), default: "inherit"),
                f("network_allowlist", .strings), f("max_memory_mb", .integer(minimum: 1)), f("max_cpu_seconds", .integer(minimum: 1)),
                f("max_processes", .integer(minimum: 1)), f("max_open_files", .integer(minimum: 1)),
            ]
        case .storeSpec: return [f("data", .storeData, default: "{}")]
        case .storeValue: return [f("fromEnv", .string, required: true, .ours)]
        case .workflowSpec:
            return [
                f("steps", .objects(.step), required: true), f("loop", .object(.loop)), f("max_parallel", .integer(minimum: 1), default: "1"),
                f("stagger_delay_ms", .integer(minimum: 0)), f("safety", .object(.safety)), f("finalize", .object(.finalize)),
                f("items_from", .object(.itemsFrom), .ours),
                f("item_isolation", .object(.itemIsolation)),
                f("adaptive", .object(.adaptive), .notExecuted("no adaptive planner runs")),
                f("dynamic_steps", .objectOrObjects(.dynamicStep), .notExecuted("no dynamic step runs")),
            ]
        case .loop:
            return [
                f("mode", .values(LoopMode.allCases.map(\.rawValue)), default: "once"), f("max_cycles", .integer(minimum: 0)),
                f("enabled", .bool, default: "true"), f("stop_when_no_unresolved", .bool, default: "true"),
                f("agent_template", .string, .notExecuted("the replaced system clears it when it loads the workflow")),
                f("convergence_expr", .objects(.convergence)),
            ]
        case .convergence:
            return [f("engine", .values(["cel"]), default: "cel"), f("when", .string, required: true), f("reason", .string)]
        case .safety:
            return [
                f("max_consecutive_failures", .integer(minimum: 1), default: "3"), f("auto_rollback", .bool, default: "false"),
                f("checkpoint_strategy", .values(CheckpointStrategy.allCases.map(\.rawValue)), default: "none"),
                f("step_timeout_secs", .integer(minimum: 1)), f("binary_snapshot", .bool, default: "false"),
                f("max_item_step_failures", .integer(minimum: 1), default: "3"), f("min_cycle_interval_secs", .integer(minimum: 0)),
                f("on_drift", .values(DriftPolicy.allCases.map(\.rawValue)), default: "pin", .ours),
                f("invariants", .objects(.invariant)),
                f("max_spawn_depth", .integer(minimum: 0), default: "3"), f("max_spawned_tasks", .integer(minimum: 0), default: "10"),
                f("profile", .values(["standard", "self_referential_probe"]), default: "standard", .notExecuted("the probe profile's extra checks are validated, the profile itself changes nothing at run time")),
                f("spawn_cooldown_seconds", .integer(minimum: 0), .notExecuted("spawns are bounded by max_spawn_depth and max_spawned_tasks; no cooldown is applied")),
                f("stall_timeout_secs", .integer(minimum: 0), .notExecuted("only timeout_secs is enforced")),
                f("inflight_wait_timeout_secs", .integer(minimum: 0), default: "300", .notExecuted("the runner has no in-flight heartbeat wait")),
                f("inflight_heartbeat_grace_secs", .integer(minimum: 0), default: "60", .notExecuted("the runner has no in-flight heartbeat wait")),
            ]
        case .invariant:
            return [
                f("name", .string, required: true), f("description", .string), f("command", .string), f("expect_exit", .integer(minimum: Int.min)),
                f("capture_as", .string), f("assert_expr", .string), f("immutable", .bool, default: "false"),
                f("check_at", .any, default: "[after_implement, before_complete]"),
                f("on_violation", .values(["halt", "rollback", "warn"]), default: "halt"), f("protected_files", .strings),
            ]
        case .finalize: return [f("rules", .objects(.finalizeRule), required: true)]
        case .itemsFrom: return [f("tasks_json", .string, required: true, .ours), f("when", .string, default: "status == \"pending\" || status == \"in_progress\"", .ours)]
        case .finalizeRule:
            return [
                f("id", .string), f("engine", .values(["cel"]), default: "cel"), f("when", .string, required: true),
                f("status", .string, required: true), f("reason", .string),
            ]
        case .adaptive:
            return [
                f("enabled", .bool, default: "false"), f("planner_agent", .string), f("max_history", .integer(minimum: 0), default: "10"),
                f("temperature", .number, default: "0.7"), f("fallback_mode", .values(["soft_fallback", "fail_closed"]), default: "soft_fallback"),
            ]
        case .itemIsolation:
            return [
                f("strategy", .values(["none", "git_worktree"]), default: "none"), f("branch_prefix", .string),
                f("cleanup", .values(["after_workflow", "never"]), default: "after_workflow"),
            ]
        case .dynamicStep:
            return [
                f("id", .string, required: true), f("description", .string), f("step_type", .string, required: true), f("agent_id", .string),
                f("template", .string), f("trigger", .string), f("priority", .integer(minimum: Int.min), default: "0"),
                f("max_runs", .integer(minimum: 0)),
            ]
        case .step:
            return [
                f("id", .string, required: true), f("type", .string, "defaults to the id"),
                f("builtin", .values(Builtin.allCases.map(\.rawValue))), f("required_capability", .string), f("template", .string),
                f("command", .string), f("chain_steps", .objects(.step)), f("scope", .values(StepScope.allCases.map(\.rawValue))),
                f("enabled", .bool, default: "true"), f("repeatable", .bool, default: "true"), f("is_guard", .bool, default: "false"),
                f("tty", .bool, default: "false"), f("execution_profile", .string), f("max_parallel", .integer(minimum: 1)),
                f("stagger_delay_ms", .integer(minimum: 0)), f("timeout_secs", .integer(minimum: 1)),
                f("stall_timeout_secs", .integer(minimum: 1)), f("prehook", .object(.prehook)), f("behavior", .object(.behavior)),
                f("cost_preference", .values(CostPreference.allCases.map(\.rawValue))),
                f("store_inputs", .objects(.storeInput)), f("store_outputs", .objects(.storeOutput)),
                f("step_vars", .stringMap, .notExecuted("step_vars are not bound")),
                f("item_select_config", .object(.itemSelect)),
            ]
        case .prehook:
            return SchemaLevel.convergence.declaredFields + [
                f("ui", .object(.prehookUI), .notExecuted("editor metadata of the replaced system's GUI")),
                f("extended", .bool, default: "false", .notExecuted("prehooks decide run or skip only")),
            ]
        case .prehookUI:
            return [f("mode", .values(["visual", "cel"])), f("preset_id", .string), f("expr", .any)]
        case .behavior:
            return [
                f("on_failure", .object(.onFailure)), f("on_success", .object(.onSuccess)), f("captures", .objects(.capture)),
                f("post_actions", .objects(.postAction)),
                f("execution", .object(.execution), .notExecuted("the execution mode is derived from the step's shape")),
                f("collect_artifacts", .bool, default: "false"),
            ]
        case .execution:
            return [f("type", .values(["agent", "builtin", "chain"]), required: true), f("name", .string)]
        case .onFailure:
            return [f("action", .values(FailureAction.allCases.map(\.rawValue)), required: true), f("status", .string)]
        case .onSuccess:
            return [f("action", .values(SuccessAction.allCases.map(\.rawValue)), required: true), f("status", .string)]
        case .capture:
            return [
                f("var", .string, required: true), f("source", .values(CaptureSource.allCases.map(\.rawValue)), required: true),
                f("json_path", .string),
            ]
        case .postAction:
            return [
                f("type", .values(PostActionType.allCases.map(\.rawValue)), required: true), f("from_var", .string),
                f("json_path", .string), f("mapping", .object(.generateMapping)), f("replace", .bool, default: "false"),
                f("goal", .string), f("workflow", .string), f("inherit", .object(.spawnInherit)),
                f("max_tasks", .integer(minimum: 0), default: "5"), f("queue", .bool, default: "true"),
                f("store", .string), f("key", .string),
            ]
        case .generateMapping:
            return [
                f("item_id", .string), f("label", .string), f("vars", .stringMap),
                f("goal", .string), f("workflow", .string), f("name", .string),
            ]
        case .spawnInherit:
            return [f("workspace", .bool, default: "true"), f("project", .bool, default: "true"), f("target_files", .bool, default: "false")]
        case .itemSelect:
            return [
                f("strategy", .values(ItemSelectSpec.Strategy.allCases.map(\.rawValue)), required: true), f("metric_var", .string),
                f("weights", .numberMap), f("threshold", .number), f("store_result", .object(.storeTarget)),
                f("tie_break", .values(ItemSelectSpec.TieBreak.allCases.map(\.rawValue)), default: "first"),
            ]
        case .storeTarget: return [f("namespace", .string, required: true), f("key", .string, required: true)]
        case .storeInput:
            return [
                f("store", .string, required: true), f("key", .string, required: true), f("as_var", .string, required: true),
                f("required", .bool, default: "false"),
            ]
        case .storeOutput:
            return [f("store", .string, required: true), f("key", .string, required: true), f("from_var", .string, required: true)]
        // RuntimePolicy
        case .runtimePolicySpec:
            return [
                f("runner", .object(.runner), required: true), f("resume", .object(.resume), required: true),
                f("observability", .object(.observability), runnerNotYet),
            ]
        case .runner:
            return [
                f("shell", .string, required: true), f("shell_arg", .string, default: "-lc"),
                f("policy", .values(["allowlist", "unsafe", "legacy"]), default: "allowlist"),
                f("executor", .values(["shell"]), default: "shell"),
                f("allowed_shells", .strings, default: "[/bin/bash, /bin/zsh, /bin/sh]"),
                f("allowed_shell_args", .strings, default: "[-lc, -c]"),
                f("env_allowlist", .strings, default: "[PATH, HOME, USER, LANG, TERM]"),
                f("redaction_patterns", .strings, default: "[token, password, secret, api_key, authorization]"),
            ]
        case .resume: return [f("auto", .bool, required: true)]
        case .observability: return [f("logging", .object(.logging), runnerNotYet)]
        case .logging:
            return [
                f("level", .values(["error", "warn", "info", "debug", "trace"]), default: "info", runnerNotYet),
                f("console", .object(.consoleLogging), runnerNotYet), f("file", .object(.fileLogging), runnerNotYet),
                f("event_bridge", .bool, default: "true", runnerNotYet),
            ]
        case .consoleLogging:
            return [
                f("enabled", .bool, default: "true", runnerNotYet), f("format", .values(["pretty", "json"]), default: "pretty", runnerNotYet),
                f("ansi", .bool, default: "true", runnerNotYet),
            ]
        case .fileLogging:
            return [
                f("enabled", .bool, default: "true", runnerNotYet), f("format", .values(["pretty", "json"]), default: "json", runnerNotYet),
                f("directory", .string, default: "logs/system", runnerNotYet),
            ]
        // Trigger
        case .triggerSpec:
            return [
                f("cron", .object(.triggerCron)), f("event", .object(.triggerEvent)),
                f("action", .object(.triggerAction), required: true),
                f("concurrencyPolicy", .values(["Allow", "Forbid", "Replace"]), default: "Forbid"),
                f("suspend", .bool, default: "false"), f("historyLimit", .object(.triggerHistoryLimit)),
                f("throttle", .object(.triggerThrottle)),
            ]
        case .triggerCron: return [f("schedule", .string, required: true), f("timezone", .string, default: "UTC")]
        case .triggerEvent:
            return [
                f("source", .values(["task_completed", "task_failed", "webhook", "filesystem"]), required: true),
                f("filter", .object(.triggerFilter)), f("webhook", .object(.triggerWebhook)),
                f("filesystem", .object(.triggerFilesystem)),
            ]
        case .triggerFilter: return [f("workflow", .string), f("condition", .string)]
        case .triggerWebhook:
            return [
                f("secret", .object(.webhookSecret)), f("signatureHeader", .string),
                f("crdRef", .string, crdRefNotYet),
            ]
        case .webhookSecret: return [f("fromRef", .string, required: true)]
        case .triggerFilesystem:
            return [
                f("paths", .strings, required: true), f("events", .strings, default: "[create, modify, delete]"),
                f("debounce_ms", .integer(minimum: 0), default: "500"),
            ]
        case .triggerAction:
            return [
                f("workflow", .string, required: true), f("workspace", .string, required: true),
                f("args", .stringListMap), f("start", .bool, default: "true"),
            ]
        case .triggerHistoryLimit: return [f("successful", .integer(minimum: 0)), f("failed", .integer(minimum: 0))]
        case .triggerThrottle: return [f("minInterval", .integer(minimum: 0), default: "0")]
        // WorkflowStore, StoreBackendProvider
        case .workflowStoreSpec:
            return [
                f("provider", .string, default: "local"), f("base_path", .string), f("schema", .any),
                f("retention", .object(.storeRetention)),
            ]
        case .storeRetention: return [f("max_entries", .integer(minimum: 0)), f("ttl_days", .integer(minimum: 0))]
        case .storeBackendProviderSpec:
            return [f("builtin", .bool, default: "false"), f("commands", .object(.storeBackendCommands))]
        case .storeBackendCommands:
            return ["get", "put", "delete", "list"].map { f($0, .string, required: true) } + [f("prune", .string)]
        // CustomResourceDefinition
        case .crdSpec:
            return [
                f("kind", .string, required: true), f("plural", .string, required: true), f("short_names", .strings),
                f("group", .string, required: true), f("versions", .objects(.crdVersion), required: true),
                f("hooks", .object(.crdHooks), crdHookNotYet),
                f("scope", .values(["namespaced", "cluster", "singleton"]), default: "cluster", .notExecuted("every custom resource belongs to a project")),
                f("builtin", .bool, default: "false", .notExecuted("no CRD is protected")), f("plugins", .objects(.crdPlugin), crdHookNotYet),
            ]
        case .crdVersion:
            return [
                f("name", .string, required: true), f("schema", .any, default: "{type: object}"), f("served", .bool, default: "true"),
                f("cel_rules", .objects(.celRule)),
            ]
        case .celRule: return [f("rule", .string, required: true), f("message", .string, required: true)]
        case .crdHooks: return ["on_create", "on_update", "on_delete"].map { f($0, .string, crdHookNotYet) }
        case .crdPlugin:
            return [
                f("name", .string, required: true, crdHookNotYet), f("type", .values(["interceptor", "transformer", "cron"]), required: true, crdHookNotYet),
                f("phase", .values(["webhook.authenticate", "webhook.transform"]), crdHookNotYet), f("command", .string, required: true, crdHookNotYet),
                f("timeout", .integer(minimum: 0), default: "5", crdHookNotYet), f("schedule", .string, crdHookNotYet),
                f("timezone", .string, crdHookNotYet), f("execution_profile", .object(.executionProfileSpec), crdHookNotYet),
            ]
        }
    }
}

/// One level's fields with their lookup structures.
private struct LevelTable: Sendable {
    let fields: [Field]
    let positions: [String: Int]
    /// The keys and their positions by their length in UTF-8 bytes: a mapping key of the source
    /// is matched by comparing bytes with the few keys of its length, no String made or hashed
    /// (issue 20: every key of every document is looked up).
    let byLength: [[(key: String, position: Int)]]

    init(fields: [Field]) {
        self.fields = fields
        // The first declaration of a key wins, as the linear search it replaces did.
        self.positions = Dictionary(fields.enumerated().map { ($0.element.key, $0.offset) }, uniquingKeysWith: { first, _ in first })
        var byLength: [[(key: String, position: Int)]] = Array(repeating: [], count: (fields.map(\.key.utf8.count).max() ?? 0) + 1)
        for (index, field) in fields.enumerated() where positions[field.key] == index {
            byLength[field.key.utf8.count].append((field.key, index))
        }
        self.byLength = byLength
    }

    func position(ofKey node: Node) -> Int? {
        guard let count = node.scalarUTF8Count, count < byLength.count else { return nil }
        for candidate in byLength[count] where node.hasText(candidate.key) { return candidate.position }
        return nil
    }
}
