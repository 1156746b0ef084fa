import Diagnostics

/// The rule ids of every finding the Manifest layer reports, in one place (for `--format sarif`
/// and the docs). YAML parse errors keep the YAML layer's own rules (`yaml-syntax`, ...).
public enum ManifestRule: String, Sendable, Hashable, CaseIterable {
    case unknownKey = "unknown-key"
    case typeMismatch = "type-mismatch"
    case invalidValue = "invalid-value"
    case missingField = "missing-field"
    case conflictingFields = "conflicting-fields"
    case apiVersion = "api-version"
    case unknownKind = "unknown-kind"
    case invalidName = "invalid-name"
    case projectMismatch = "project-mismatch"
    case notExecuted = "not-executed"

    /// The rule id as it appears in diagnostics.
    public var id: String { rawValue }

    public var defaultSeverity: Severity {
        switch self {
        case .notExecuted: return .warning
        default: return .error
        }
    }

    /// One line: what the rule finds.
    public var summary: String {
        switch self {
        case .unknownKey: return "a key that the manifest schema does not define at this level (an error where the replaced system refused it, else a warning; --strict: an error)"
        case .typeMismatch: return "a value of the wrong type (e.g. a mapping where a list of strings is expected)"
        case .invalidValue: return "a value outside its allowed set or range"
        case .missingField: return "a required field is absent"
        case .conflictingFields: return "two fields that cannot be used together"
        case .apiVersion: return "an apiVersion other than orchestrator.dev/v2"
        case .unknownKind: return "a kind this tool does not know"
        case .invalidName: return "a metadata.name or metadata.project that breaks the naming rules"
        case .projectMismatch: return "metadata.project disagrees with the --project of the command line"
        case .notExecuted: return "a field that is accepted and stored but not executed by this tool"
        }
    }

    public var ruleDescription: RuleDescription {
        RuleDescription(id: id, summary: summary, defaultSeverity: defaultSeverity)
    }

    /// Every rule of this layer, for SARIF's `tool.driver.rules`.
    public static var descriptions: [RuleDescription] { allCases.map(\.ruleDescription) }
}
