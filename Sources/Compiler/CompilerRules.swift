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

    public var summary: String {
        switch self {
        case .unresolvedReference:
            return "a template, execution profile or env store reference names nothing in the project"
        case .capabilityNotServed: return "no enabled agent in the project has the capability an agent step needs"
        case .duplicateStepID: return "two steps of a workflow have the same id"
        case .duplicateResource: return "a file defines the same resource (kind, project, name) twice"
        case .profileOnNonAgentStep: return "`execution_profile` applies to agent steps only"
        case .profileFilesystemNeedsSandbox: return "an `fs_mode` other than inherit needs `mode: sandbox`"
        case .profileEmptyAllowlist: return "`network_mode: allowlist` needs a non-empty `network_allowlist`"
        case .fixedLoopWithoutMaxCycles: return "`loop.mode: fixed` without `max_cycles`"
        case .maxCyclesNotPositive: return "`max_cycles` must be at least 1"
        // Shared with lint: the lint registry holds their metadata (docs/lint.md).
        case .undefinedVariable, .loopCannotEnd, .selfReferentialUnsafe, .secretTooShort: return LintRegistry.rule(rawValue)?.summary ?? rawValue
        }
    }

    public var defaultSeverity: Severity {
        // Shared with lint: the lint registry holds their metadata (docs/lint.md).
        LintRegistry.rule(rawValue)?.defaultSeverity ?? .error
    }

    /// Every compiler rule, for SARIF `tool.driver.rules`.
    public static var descriptions: [RuleDescription] {
        allCases.map { RuleDescription(id: $0.rawValue, summary: $0.summary, defaultSeverity: $0.defaultSeverity) }
    }
}
