import Diagnostics

// The evaluator records of sprint_output.md (docs/state-files.md, "Evaluator records"): a line
// that names a task id and a verdict. The last verdict line of an id is its verdict.

public enum EvaluationVerdict: String, Sendable, Hashable {
    case approved, rejected
}

public enum EvaluationRecords {
    /// Verdict words, matched as whole words, ignoring case. Rejections are looked for first, so
    /// "not approved" is a rejection.
    static let rejections = ["not approved", "rejected", "reject", "changes requested", "fail", "failed", "驳回", "不通过", "未通过"]
    static let approvals = ["approved", "approve", "pass", "passed", "lgtm", "通过", "批准"]

    /// The verdict of every id that has one, by the last line naming it with a verdict.
    public static func verdicts(_ text: String) -> [String: (verdict: EvaluationVerdict, line: Int)] {
        var result: [String: (verdict: EvaluationVerdict, line: Int)] = [:]
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let lowered = line.lowercased()
            let verdict: EvaluationVerdict
            if rejections.contains(where: { contains(lowered, word: $0) }) {
                verdict = .rejected
            } else if approvals.contains(where: { contains(lowered, word: $0) }) {
                verdict = .approved
            } else {
                continue
            }
            for id in ids(in: String(line)) { result[id] = (verdict, index + 1) }
        }
        return result
    }

    /// The MODULE-NN ids written in `line`.
    static func ids(in line: String) -> [String] {
        line.split(whereSeparator: { !($0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_")) })
            .map(String.init).filter(IDPattern.matches)
    }

    /// True when `phrase` occurs in `text` with no letter right before or after it (CJK: anywhere).
    static func contains(_ text: String, word phrase: String) -> Bool {
        if phrase.unicodeScalars.contains(where: { $0.value > 0x2E80 }) { return text.contains(phrase) }
        var searchStart = text.startIndex
        while let found = text[searchStart...].firstRange(of: phrase) {
            let before = found.lowerBound == text.startIndex ? nil : text[text.index(before: found.lowerBound)]
            let after = found.upperBound == text.endIndex ? nil : text[found.upperBound]
            if !(before?.isLetter ?? false), !(after?.isLetter ?? false) { return true }
            searchStart = found.upperBound
        }
        return false
    }
}
