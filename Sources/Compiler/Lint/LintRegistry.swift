import Diagnostics
import Expr
import Manifest

/// Every lint rule, in the order docs/lint.md lists them. The one place rule metadata lives:
/// `CompilerRule` takes the summary and severity of the ids it shares with lint from here.
public enum LintRegistry {
    public static let rules: [LintRule] = [
        .loopCannotEnd,
        .guardNotLast,
        .stepNeverRuns,
        .prehookConstant,
        .undefinedVariable,
        .captureUnused,
        .unknownPlaceholder,
        .promptNotDelivered,
        .unusedResource,
        .secretInPlainText,
        .secretTooShort,
        .unexpandedEnvReference,
        .ignoredGateFailure,
        .selfReferentialUnsafe,
        .itemStepsWithoutItems,
        .builtinDoesNothing,
        .noEffect,
        .storeInputNeverWritten,
        .foldedHeredoc,
        .lintConfig,
    ]

    private static let byID: [String: LintRule] = {
        var table: [String: LintRule] = [:]
        for rule in rules { table[rule.id] = rule }
        return table
    }()

    public static func rule(_ id: String) -> LintRule? { byID[id] }

    /// For SARIF `tool.driver.rules`.
    public static var descriptions: [RuleDescription] { rules.map(\.ruleDescription) }

    /// Rule ids of the other layers (`validate`): lint does not configure them.
    static var validateRuleIDs: Set<String> {
        Set(ManifestRule.allCases.map(\.id) + CompilerRule.allCases.map(\.rawValue) + ExprRule.all.map(\.id)).subtracting(byID.keys)
    }

    /// A rule name in a configuration or a directive that names no lint rule.
    static func unknownRuleDiagnostic(_ name: String, file: String, range: SourceRange, where place: String) -> Diagnostic {
        let help: String
        if validateRuleIDs.contains(name) {
            help = "`\(name)` is a rule of `validate`, which lint reports as it is; only lint rules can be configured"
        } else if let close = Suggestions.closest(to: name, in: rules.map(\.id)) {
            help = "did you mean `\(close)`?"
        } else {
            help = "`orchestrator lint --list-rules` lists the rules"
        }
        return LintRule.lintConfig.finding("unknown lint rule `\(name)` \(place)", file: file, range: range, help: help)
    }

    static var lintConfig: LintRule { LintRule.lintConfig }
}
