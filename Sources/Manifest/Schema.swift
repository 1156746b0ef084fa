import Diagnostics

/// The known keys of every mapping level of spec/manifests.md, and where each level sits, so an
/// unknown key gets a "did you mean" from its own level or a hint at the level where it belongs.
///
/// To accept a new field: add its key here and decode it in the matching `decode...` function.
public enum SchemaLevel: String, Sendable, Hashable, CaseIterable {
    case document
    case metadata
    case projectSpec
    case workspaceSpec
    case agentSpec
    case agentMetadata
    case agentEnv
    case agentEnvRef
    case commandRule
    case stepTemplateSpec
    case executionProfileSpec
    case storeSpec
    case storeValue
    case workflowSpec
    case loop
    /// A Workflow's `items_from` (ours, state-files.md): items from a tasks.json.
    case itemsFrom
    case convergence
    case safety
    case finalize
    case finalizeRule
    case step
    case prehook
    case behavior
    case onFailure
    case onSuccess
    case capture
    case postAction
    case generateMapping
    case healthPolicy
    case agentSelection
    case selectionWeights
    case invariant
    case adaptive
    case itemIsolation
    case dynamicStep
    case prehookUI
    case execution
    case spawnInherit
    case itemSelect
    case storeTarget
    case storeInput
    case storeOutput
    case runtimePolicySpec
    case runner
    case resume
    case observability
    case logging
    case consoleLogging
    case fileLogging
    case triggerSpec
    case triggerCron
    case triggerEvent
    case triggerFilter
    case triggerWebhook
    case webhookSecret
    case triggerFilesystem
    case triggerAction
    case triggerHistoryLimit
    case triggerThrottle
    case workflowStoreSpec
    case storeRetention
    case storeBackendProviderSpec
    case storeBackendCommands
    case crdSpec
    case crdVersion
    case celRule
    case crdHooks
    case crdPlugin

    /// The keys a mapping at this level may have, in documentation order (SchemaFields.swift).
    public var keys: [String] { fields.map(\.key) }

    /// The kinds whose documents contain this level; empty for the kind-independent envelope.
    public var kinds: [ResourceKind] {
        switch self {
        case .document, .metadata: return []
        case .projectSpec: return [.project]
        case .workspaceSpec: return [.workspace]
        case .agentSpec, .agentMetadata, .agentEnv, .agentEnvRef, .commandRule: return [.agent]
        case .stepTemplateSpec: return [.stepTemplate]
        case .executionProfileSpec: return [.executionProfile]
        case .storeSpec, .storeValue: return [.envStore, .secretStore]
        case .workflowSpec, .loop, .itemsFrom, .convergence, .safety, .finalize, .finalizeRule, .step, .prehook, .behavior,
            .onFailure, .onSuccess, .capture, .postAction, .generateMapping, .invariant, .adaptive, .itemIsolation, .dynamicStep,
            .prehookUI, .execution, .spawnInherit, .itemSelect, .storeTarget, .storeInput, .storeOutput:
            return [.workflow]
        case .healthPolicy: return [.workspace, .agent]
        case .agentSelection, .selectionWeights: return [.agent]
        case .runtimePolicySpec, .runner, .resume, .observability, .logging, .consoleLogging, .fileLogging: return [.runtimePolicy]
        case .triggerSpec, .triggerCron, .triggerEvent, .triggerFilter, .triggerWebhook, .webhookSecret, .triggerFilesystem,
            .triggerAction, .triggerHistoryLimit, .triggerThrottle:
            return [.trigger]
        case .workflowStoreSpec, .storeRetention: return [.workflowStore]
        case .storeBackendProviderSpec, .storeBackendCommands: return [.storeBackendProvider]
        case .crdSpec, .crdVersion, .celRule, .crdHooks, .crdPlugin: return [.customResourceDefinition]
        }
    }

    /// The level's path in its document (`[]` marks a list entry, `*` any key).
    public var path: String {
        switch self {
        case .document: return ""
        case .metadata: return "metadata"
        case .projectSpec, .workspaceSpec, .agentSpec, .stepTemplateSpec, .executionProfileSpec, .storeSpec,
            .workflowSpec, .runtimePolicySpec, .triggerSpec, .workflowStoreSpec, .storeBackendProviderSpec, .crdSpec:
            return "spec"
        case .agentMetadata: return "spec.metadata"
        case .agentEnv: return "spec.env[]"
        case .agentEnvRef: return "spec.env[].refValue"
        case .commandRule: return "spec.command_rules[]"
        case .storeValue: return "spec.data.*"
        case .loop: return "spec.loop"
        case .itemsFrom: return "spec.items_from"
        case .convergence: return "spec.loop.convergence_expr[]"
        case .safety: return "spec.safety"
        case .finalize: return "spec.finalize"
        case .finalizeRule: return "spec.finalize.rules[]"
        case .step: return "spec.steps[]"
        case .prehook: return "spec.steps[].prehook"
        case .behavior: return "spec.steps[].behavior"
        case .onFailure: return "spec.steps[].behavior.on_failure"
        case .onSuccess: return "spec.steps[].behavior.on_success"
        case .capture: return "spec.steps[].behavior.captures[]"
        case .postAction: return "spec.steps[].behavior.post_actions[]"
        case .generateMapping: return "spec.steps[].behavior.post_actions[].mapping"
        case .healthPolicy: return "spec.health_policy"
        case .agentSelection: return "spec.selection"
        case .selectionWeights: return "spec.selection.weights"
        case .invariant: return "spec.safety.invariants[]"
        case .adaptive: return "spec.adaptive"
        case .itemIsolation: return "spec.item_isolation"
        case .dynamicStep: return "spec.dynamic_steps[]"
        case .prehookUI: return "spec.steps[].prehook.ui"
        case .execution: return "spec.steps[].behavior.execution"
        case .spawnInherit: return "spec.steps[].behavior.post_actions[].inherit"
        case .itemSelect: return "spec.steps[].item_select_config"
        case .storeTarget: return "spec.steps[].item_select_config.store_result"
        case .storeInput: return "spec.steps[].store_inputs[]"
        case .storeOutput: return "spec.steps[].store_outputs[]"
        case .runner: return "spec.runner"
        case .resume: return "spec.resume"
        case .observability: return "spec.observability"
        case .logging: return "spec.observability.logging"
        case .consoleLogging: return "spec.observability.logging.console"
        case .fileLogging: return "spec.observability.logging.file"
        case .triggerCron: return "spec.cron"
        case .triggerEvent: return "spec.event"
        case .triggerFilter: return "spec.event.filter"
        case .triggerWebhook: return "spec.event.webhook"
        case .webhookSecret: return "spec.event.webhook.secret"
        case .triggerFilesystem: return "spec.event.filesystem"
        case .triggerAction: return "spec.action"
        case .triggerHistoryLimit: return "spec.historyLimit"
        case .triggerThrottle: return "spec.throttle"
        case .storeRetention: return "spec.retention"
        case .storeBackendCommands: return "spec.commands"
        case .crdVersion: return "spec.versions[]"
        case .celRule: return "spec.versions[].cel_rules[]"
        case .crdHooks: return "spec.hooks"
        case .crdPlugin: return "spec.plugins[]"
        }
    }

    /// The level in words, as a diagnostic names it ("a step", "a Workflow's `loop`").
    public var place: String {
        switch self {
        case .document: return "a document's top level"
        case .metadata: return "`metadata`"
        case .projectSpec: return "a Project's spec"
        case .workspaceSpec: return "a Workspace's spec"
        case .agentSpec: return "an Agent's spec"
        case .agentMetadata: return "an Agent's `spec.metadata`"
        case .agentEnv: return "an Agent's `env` entry"
        case .agentEnvRef: return "an env entry's `refValue`"
        case .commandRule: return "a `command_rules` entry"
        case .stepTemplateSpec: return "a StepTemplate's spec"
        case .executionProfileSpec: return "an ExecutionProfile's spec"
        case .storeSpec: return "an EnvStore's or SecretStore's spec"
        case .storeValue: return "a store value (`{fromEnv: NAME}`)"
        case .workflowSpec: return "a Workflow's spec"
        case .loop: return "a Workflow's `loop`"
        case .itemsFrom: return "a Workflow's `items_from`"
        case .convergence: return "a `loop.convergence_expr` entry"
        case .safety: return "a Workflow's `safety`"
        case .finalize: return "a Workflow's `finalize`"
        case .finalizeRule: return "a `finalize.rules` entry"
        case .step: return "a step"
        case .prehook: return "a step's `prehook`"
        case .behavior: return "a step's `behavior`"
        case .onFailure: return "`behavior.on_failure`"
        case .onSuccess: return "`behavior.on_success`"
        case .capture: return "a `behavior.captures` entry"
        case .postAction: return "a post-action"
        case .generateMapping: return "a post-action's `mapping`"
        case .healthPolicy: return "a `health_policy`"
        case .agentSelection: return "an Agent's `selection`"
        case .selectionWeights: return "`selection.weights`"
        case .invariant: return "a `safety.invariants` entry"
        case .adaptive: return "a Workflow's `adaptive`"
        case .itemIsolation: return "a Workflow's `item_isolation`"
        case .dynamicStep: return "a `dynamic_steps` entry"
        case .prehookUI: return "a prehook's `ui`"
        case .execution: return "`behavior.execution`"
        case .spawnInherit: return "a post-action's `inherit`"
        case .itemSelect: return "a step's `item_select_config`"
        case .storeTarget: return "`item_select_config.store_result`"
        case .storeInput: return "a `store_inputs` entry"
        case .storeOutput: return "a `store_outputs` entry"
        case .runtimePolicySpec: return "a RuntimePolicy's spec"
        case .runner: return "a RuntimePolicy's `runner`"
        case .resume: return "a RuntimePolicy's `resume`"
        case .observability: return "a RuntimePolicy's `observability`"
        case .logging: return "`observability.logging`"
        case .consoleLogging: return "`observability.logging.console`"
        case .fileLogging: return "`observability.logging.file`"
        case .triggerSpec: return "a Trigger's spec"
        case .triggerCron: return "a Trigger's `cron`"
        case .triggerEvent: return "a Trigger's `event`"
        case .triggerFilter: return "a Trigger's `event.filter`"
        case .triggerWebhook: return "a Trigger's `event.webhook`"
        case .webhookSecret: return "a Trigger's `event.webhook.secret`"
        case .triggerFilesystem: return "a Trigger's `event.filesystem`"
        case .triggerAction: return "a Trigger's `action`"
        case .triggerHistoryLimit: return "a Trigger's `historyLimit`"
        case .triggerThrottle: return "a Trigger's `throttle`"
        case .workflowStoreSpec: return "a WorkflowStore's spec"
        case .storeRetention: return "a WorkflowStore's `retention`"
        case .storeBackendProviderSpec: return "a StoreBackendProvider's spec"
        case .storeBackendCommands: return "a StoreBackendProvider's `commands`"
        case .crdSpec: return "a CustomResourceDefinition's spec"
        case .crdVersion: return "a CRD's `versions` entry"
        case .celRule: return "a CRD's `cel_rules` entry"
        case .crdHooks: return "a CRD's `hooks`"
        case .crdPlugin: return "a CRD's `plugins` entry"
        }
    }

    /// Hints for keys that users of the replaced system write by habit, checked before any
    /// search: (level, key) -> help.
    static let habitHints: [SchemaLevel: [String: String]] = [
        .agentSpec: [
            "prompt":
                "an Agent has no prompt: write it in a StepTemplate (`spec.prompt`) and name that template in the step's `template`",
            "template": "templates are chosen by steps: set `template` on the step that uses this agent",
        ],
        .step: [
            "capabilities":
                "did you mean `required_capability`? (`capabilities` is an Agent's list; a step names the one it needs)",
            "capability": "did you mean `required_capability`?",
            "agent": "steps choose their agent by capability: did you mean `required_capability`?",
            "prompt": "a step's prompt comes from a StepTemplate: write it there and set `template` on the step",
            "timeout": "did you mean `timeout_secs`?",
            "name": "a step is named by its `id`: did you mean `id`?",
        ],
        .prehook: ["expression": "did you mean `when`? (the prehook's expression is written in `when`)"],
        .convergence: ["expression": "did you mean `when`? (the condition is written in `when`)"],
        .finalizeRule: ["expression": "did you mean `when`? (the condition is written in `when`)"],
        .commandRule: ["expression": "did you mean `when`? (the condition is written in `when`)"],
    ]

    /// Where a key of `habitHints` belongs instead (a missing field it stands for is not reported twice).
    static let habitTargets: [SchemaLevel: [String: String]] = [
        .step: ["capability": "required_capability", "capabilities": "required_capability", "timeout": "timeout_secs", "name": "id"],
        .prehook: ["expression": "when"],
        .convergence: ["expression": "when"],
        .finalizeRule: ["expression": "when"],
        .commandRule: ["expression": "when"],
    ]
}

/// What to tell the user about an unknown key.
struct UnknownKeyAdvice {
    var help: String
    /// A key of the same level the unknown key probably stands for.
    var sameLevelTarget: String?
}

extension SchemaLevel {
    /// True when `other` is nested inside this level in the same document kind.
    func contains(_ other: SchemaLevel, kind: ResourceKind?) -> Bool {
        guard other != self else { return false }
        if self == .document {
            if other == .metadata { return true }
            guard let kind else { return false }
            return other.kinds.contains(kind)
        }
        guard !kinds.isEmpty, kinds == other.kinds else { return false }
        return other.path.hasPrefix(path + ".")
    }

    /// `other`'s path relative to this level (`behavior` from a step).
    func relativePath(to other: SchemaLevel) -> String {
        var rel = other.path
        if self != .document, rel.hasPrefix(path + ".") { rel.removeFirst(path.count + 1) }
        return rel
    }

    /// The advice for `key`, unknown at this level, in a document of `kind`.
    func advice(forUnknownKey key: String, kind: ResourceKind?) -> UnknownKeyAdvice {
        if let hint = SchemaLevel.habitHints[self]?[key] {
            return UnknownKeyAdvice(help: hint, sameLevelTarget: SchemaLevel.habitTargets[self]?[key])
        }
        let descendants = SchemaLevel.allCases.filter { contains($0, kind: kind) }
            .sorted { $0.path.count < $1.path.count }
        // 1. The exact key one or more levels down: `on_failure` on a step -> `behavior.on_failure`.
        for level in descendants where level.keys.contains(key) {
            return UnknownKeyAdvice(help: "did you mean `\(join(relativePath(to: level), key))`?")
        }
        // 2. A typo of a key of this level.
        if let close = Suggestions.closest(to: key, in: keys) {
            return UnknownKeyAdvice(help: "did you mean `\(close)`?", sameLevelTarget: close)
        }
        // 3. A typo of a key one level down (not inside lists): `capture` -> `behavior.captures`.
        for level in descendants where !relativePath(to: level).contains("[]") {
            if let close = Suggestions.closest(to: key, in: level.keys) {
                return UnknownKeyAdvice(help: "did you mean `\(join(relativePath(to: level), close))`?")
            }
        }
        // 4. The exact key elsewhere in the same kind, or in `metadata` for a spec.
        var elsewhere = SchemaLevel.allCases.filter { level in
            level != self && !descendants.contains(level) && level != .document && !level.kinds.isEmpty
                && !kinds.isEmpty && level.kinds == kinds
        }
        if path == "spec" { elsewhere.insert(.metadata, at: 0) }
        for level in elsewhere where level.keys.contains(key) {
            if level == .metadata {
                return UnknownKeyAdvice(help: "`\(key)` belongs in `metadata`: did you mean `metadata.\(key)`?")
            }
            return UnknownKeyAdvice(
                help: "`\(key)` is a field of \(level.place) (`\(level.path).\(key)`), not of \(place): move it there")
        }
        // 5. From a spec: the exact key in another kind (`prompt` on an Agent belongs to a StepTemplate).
        if path == "spec" {
            for level in SchemaLevel.allCases where !level.kinds.isEmpty && level.kinds != kinds && level.keys.contains(key) {
                return UnknownKeyAdvice(help: "`\(key)` is a field of \(level.place), not of \(place): remove it")
            }
        }
        return UnknownKeyAdvice(help: "remove it; the keys of \(place) are: \(keys.map { "`\($0)`" }.joined(separator: ", "))")
    }

    private func join(_ prefix: String, _ key: String) -> String {
        prefix.isEmpty ? key : prefix + "." + key
    }
}
