// The recipe's `requires_eval` criteria (docs/state-files.md): a task needs an independent
// evaluator when it is a new feature, touches security/permissions/validation, changes more than
// 3 files, or is a refactor. Read from the task's title and description by word lists.

/// One criterion that makes `requires_eval` true.
public enum EvaluationCriterion: String, Sendable, Hashable, CaseIterable {
    case security
    case refactor
    case manyFiles = "many-files"
    case newFeature = "new-feature"

    public var summary: String {
        switch self {
        case .security: return "it touches security, permissions or data validation"
        case .refactor: return "it is a refactor, restructuring or architecture change"
        case .manyFiles: return "it is expected to change more than 3 files"
        case .newFeature: return "it is a new feature"
        }
    }
}

/// A criterion that holds, and the words that show it.
public struct CriterionMatch: Sendable, Hashable {
    public var criterion: EvaluationCriterion
    /// The word or phrase of the title or description, as written there (lower-cased).
    public var evidence: String
}

public enum EvaluationCriteria {
    /// Word starts (an English word matches when it starts with one) and CJK phrases (matched anywhere).
    static let security = ["secur", "authent", "authoriz", "authoris", "permission", "password", "credential", "encrypt",
        "decrypt", "sanitiz", "sanitis", "validat", "csrf", "xss", "injection", "rbac", "privilege", "access control", "oauth",
        "安全", "权限", "鉴权", "认证", "校验", "加密", "漏洞"]
    static let securityWords: Set<String> = ["auth", "login", "logout", "token", "tokens", "secret", "secrets", "acl", "acls", "jwt", "cors"]
    static let refactor = ["refactor", "restructur", "re-architect", "rearchitect", "architectur", "rewrite the", "重构", "架构调整", "架构"]
    static let feature = ["implement", "introduc", "new ", "feature", "support for", "新增", "新功能", "实现", "添加", "支持"]
    static let featureWords: Set<String> = ["add", "adds", "adding", "create", "creates", "enable", "enables", "allow", "allows", "build"]
    /// A title that starts with one of these is a bug fix, docs, configuration or tests (the
    /// recipe's cases where `requires_eval` may be false), so "add" in it is no new feature.
    static let exemptStarts = ["fix", "bugfix", "hotfix", "repair", "correct", "document", "docs", "doc:", "readme", "comment",
        "typo", "config", "configure", "set ", "bump", "upgrade", "chore", "test", "tests", "add test", "add unit test",
        "add tests", "add unit tests", "add a test", "add missing test", "write test", "write unit test", "cover ",
        "修复", "文档", "注释", "配置", "测试", "单元测试"]

    /// Every criterion that holds for a task, in the order of `EvaluationCriterion.allCases`.
    public static func matches(title: String, description: String) -> [CriterionMatch] {
        let text = (title + " \n " + description).lowercased()
        let words = tokens(text)
        var result: [CriterionMatch] = []
        if let evidence = find(security, words: securityWords, in: text, tokens: words) {
            result.append(CriterionMatch(criterion: .security, evidence: evidence))
        }
        if let evidence = find(refactor, words: [], in: text, tokens: words) {
            result.append(CriterionMatch(criterion: .refactor, evidence: evidence))
        }
        if let evidence = fileCount(in: text, tokens: words) {
            result.append(CriterionMatch(criterion: .manyFiles, evidence: evidence))
        }
        let loweredTitle = title.lowercased().trimmingBlanks
        if !exemptStarts.contains(where: { loweredTitle.hasPrefix($0) }),
            let evidence = find(feature, words: featureWords, in: text, tokens: words)
        {
            result.append(CriterionMatch(criterion: .newFeature, evidence: evidence))
        }
        return result
    }

    static func tokens(_ text: String) -> [String] {
        text.split(whereSeparator: { !($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }).map(String.init)
    }

    /// The first stem, phrase or whole word of the lists found in `text`.
    static func find(_ stems: [String], words: Set<String>, in text: String, tokens: [String]) -> String? {
        for stem in stems {
            if stem.unicodeScalars.contains(where: { $0.value > 0x2E80 }) || stem.contains(" ") {
                if text.contains(stem) { return stem.trimmingBlanks }
            } else if let token = tokens.first(where: { $0.hasPrefix(stem) }) {
                return token
            }
        }
        return tokens.first(where: { words.contains($0) })
    }

    /// "changes 5 files", "touches 12 files", "4 个文件": a number above 3 before "files"/"个文件".
    static func fileCount(in text: String, tokens: [String]) -> String? {
        for (index, token) in tokens.enumerated() where index > 0 && (token == "files" || token == "modules") {
            if let count = Int(tokens[index - 1]), count > 3 { return "\(count) \(token)" }
        }
        for token in tokens where token.hasSuffix("个文件") {
            if let count = Int(token.dropLast(3)), count > 3 { return token }
        }
        return nil
    }
}
