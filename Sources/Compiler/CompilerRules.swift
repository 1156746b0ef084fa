import Diagnostics

/// The rule ids the compiler reports, with what each is about (listed in SARIF output).
/// Expressions are checked by the expression layer, whose findings keep its rule ids
/// (`expr-syntax`, `expr-type`, `expr-unknown-function`, ...: `ExprRule.all`).
public enum CompilerRule: String, Sendable, CaseIterable {
    case unresolvedReference = "unresolved-reference"
    case capabilityNotServed = "capability-not-served"
    case duplicateStepID = "duplicate-step-id"
    case duplicateResource = "duplicate-resource"
    case profileOnNonAgentStep = "profile-on-non-agent-step"
    case profileFilesystemNeedsSandbox = "profile-fs-mode-needs-sandbox"
    case profileEmptyAllowlist = "profile-empty-allowlist"
    case undefinedVariable = "undefined-variable"
    case fixedLoopWithoutMaxCycles = "fixed-loop-without-max-cycles"
    case maxCyclesNotPositive = "max-cycles-not-positive"
    case loopCannotEnd = "loop-cannot-end"
    case selfReferentialUnsafe = "self-referential-unsafe"
    case secretTooShort = "secret-too-short"
    case customResourceVersion = "custom-resource-version"
    case customResourceSchema = "custom-resource-schema"
    case customResourceRule = "custom-resource-rule"
    case workspaceWithoutQATargets = "workspace-without-qa-targets"
    case workspacePathOutsideRoot = "workspace-path-outside-root"
    case profileAllowlistEntry = "profile-allowlist-entry"
    case commandRuleWithoutPrompt = "command-rule-without-prompt"
    case captureJSONPathSource = "capture-json-path-source"
    case noEnabledSteps = "no-enabled-steps"
    case loopGuardMissing = "loop-guard-missing"
    case adaptivePlanner = "adaptive-planner"
    case selfReferentialProbe = "self-referential-probe"
    case runtimePolicyDuplicate = "runtime-policy-duplicate"
    case runtimePolicyPattern = "runtime-policy-pattern"
    case runtimePolicyShell = "runtime-policy-shell"
    case triggerWebhookUnsigned = "trigger-webhook-unsigned"
    case triggerPathOutsideWorkspace = "trigger-path-outside-workspace"
    case invariantCheckPoint = "invariant-check"
    case storeVariable = "store-variable"
    case storeReference = "store-reference"

    public var summary: String {
        switch self {
        case .unresolvedReference:
            return "a template, execution profile, env store or CRD reference names nothing in the given files (warning) or the store (error)"
        case .capabilityNotServed: return "no enabled agent in the project has the capability an agent step needs"
        case .duplicateStepID: return "two steps of a workflow have the same id"
        case .duplicateResource: return "a file defines the same resource (kind, project, name) twice"
        case .profileOnNonAgentStep: return "`execution_profile` applies to agent steps only"
        case .profileFilesystemNeedsSandbox: return "an `fs_mode` other than inherit needs `mode: sandbox`"
        case .profileEmptyAllowlist: return "`network_mode: allowlist` needs a non-empty `network_allowlist`"
        case .fixedLoopWithoutMaxCycles: return "`loop.mode: fixed` without `max_cycles`"
        case .maxCyclesNotPositive: return "`max_cycles` must be at least 1"
        case .customResourceVersion: return "a custom resource's apiVersion is not GROUP/VERSION of a served version of its CRD"
        case .customResourceSchema: return "a custom resource's spec breaks its CRD's JSON Schema (the keyword is named)"
        case .customResourceRule: return "a custom resource's spec breaks one of its CRD's CEL rules"
        case .workspaceWithoutQATargets: return "a workspace without qa_targets (the replaced system refused it; a warning here)"
        case .workspacePathOutsideRoot: return "a qa_targets entry or ticket_dir that is absolute or leaves the workspace root with `..`"
        case .profileAllowlistEntry: return "a network_allowlist entry that is no host, host:port, IP or [IPv6]:port"
        case .commandRuleWithoutPrompt: return "a command_rules command without the `{prompt}` placeholder"
        case .captureJSONPathSource: return "a capture's json_path with a source other than stdout or stderr"
        case .noEnabledSteps: return "a workflow whose steps are all disabled"
        case .loopGuardMissing: return "a repeating loop with neither a loop_guard step nor an agent with capability loop_guard (the replaced system refused it; a warning here)"
        case .adaptivePlanner: return "adaptive planning enabled without a planner_agent that exists and has capability adaptive_plan"
        case .selfReferentialProbe: return "safety.profile self_referential_probe with a workflow or project that breaks its conditions"
        case .runtimePolicyDuplicate: return "a second RuntimePolicy in one project (the runner takes one per project)"
        case .runtimePolicyPattern: return "a RuntimePolicy redaction pattern that is not a regular expression"
        case .runtimePolicyShell: return "a RuntimePolicy whose shell or shell_arg its own allowlist refuses: every step would fail"
        case .triggerWebhookUnsigned: return "a webhook Trigger without a secret and without the annotation that accepts unsigned requests: every request is refused"
        case .invariantCheckPoint: return "a safety invariant with an unknown check point, or one that checks nothing"
        case .triggerPathOutsideWorkspace: return "a filesystem Trigger's path that is absolute or leaves the workspace with `..`"
        case .storeVariable: return "a store write or spawn_tasks reads a variable no step sets (it is taken from the step's JSON output at run time)"
        case .storeReference: return "a WorkflowStore whose provider is unknown or incomplete, or a spawn of a workflow the project lacks"
        // Shared with lint: the lint registry holds their metadata (docs/lint.md).
        case .undefinedVariable, .loopCannotEnd, .selfReferentialUnsafe, .secretTooShort: return LintRegistry.rule(rawValue)?.summary ?? rawValue
        }
    }

    public var defaultSeverity: Severity {
        if self == .workspaceWithoutQATargets || self == .loopGuardMissing || self == .triggerWebhookUnsigned || self == .storeVariable {
            return .warning
        }
        // Shared with lint: the lint registry holds their metadata (docs/lint.md).
        return LintRegistry.rule(rawValue)?.defaultSeverity ?? .error
    }

    /// Every compiler rule, for SARIF `tool.driver.rules`.
    public static var descriptions: [RuleDescription] {
        allCases.map { RuleDescription(id: $0.rawValue, summary: $0.summary, defaultSeverity: $0.defaultSeverity) }
    }
}
