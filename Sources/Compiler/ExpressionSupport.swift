import Diagnostics
import Expr

// The narrow surface the compiler layer needs from the expression language (Sources/Expr).
// Everything that touches the Expr API goes through here.

/// A finding about an expression, positioned by UTF-8 byte offsets inside the expression text.
struct ExpressionProblem: Sendable {
    var severity: Severity
    var rule: String
    var message: String
    var help: String?
    var start: Int
    var end: Int
}

/// An identifier the expression reads that is not declared.
struct UndeclaredIdentifier: Sendable {
    var name: String
    var start: Int
    var end: Int
}

struct ExpressionCheck: Sendable {
    var problems: [ExpressionProblem]
    var undeclared: [UndeclaredIdentifier]
    /// Free variables in order of first appearance.
    var variables: [String]
}

/// How a prehook turned out with what is known.
public enum PrehookOutcome: Sendable, Hashable {
    /// A definite value.
    case value(Bool)
    /// Depends on these variables' run-time values.
    case unknown([String])
    /// Evaluation failed (a type error at run time, a missing value).
    case error(String)
}

enum ExpressionEngine {
    /// Parses and type-checks `text` against `declared` variables; the result must be a bool.
    static func check(_ text: String, declared: [String: VariableType]) -> ExpressionCheck {
        // Placeholder until the expression language lands: identifiers only.
        var variables: [String] = []
        var undeclared: [UndeclaredIdentifier] = []
        for (name, start, end) in scanIdentifiers(text) where !variables.contains(name) {
            variables.append(name)
            if declared[name] == nil { undeclared.append(UndeclaredIdentifier(name: name, start: start, end: end)) }
        }
        return ExpressionCheck(problems: [], undeclared: undeclared, variables: variables)
    }

    /// Evaluates `text` with `known` values; every other variable is unknown.
    static func partialEvaluate(_ text: String, known: [String: PlanValue]) -> PrehookOutcome {
        let unknown = check(text, declared: [:]).variables.filter { known[$0] == nil }
        if text.trimmingSpaces == "true" { return .value(true) }
        if text.trimmingSpaces == "false" { return .value(false) }
        if unknown.isEmpty, let only = known.first, text.trimmingSpaces == only.key, case .bool(let b) = only.value {
            return .value(b)
        }
        return .unknown(unknown)
    }

    private static func scanIdentifiers(_ text: String) -> [(String, Int, Int)] {
        let bytes = Array(text.utf8)
        var found: [(String, Int, Int)] = []
        var index = 0
        func isStart(_ b: UInt8) -> Bool { (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x5F }
        func isPart(_ b: UInt8) -> Bool { isStart(b) || (b >= 0x30 && b <= 0x39) }
        while index < bytes.count {
            let byte = bytes[index]
            if byte == 0x22 || byte == 0x27 {
                index += 1
                while index < bytes.count, bytes[index] != byte {
                    if bytes[index] == 0x5C { index += 1 }
                    index += 1
                }
                index += 1
            } else if isStart(byte) {
                let start = index
                while index < bytes.count, isPart(bytes[index]) { index += 1 }
                let name = String(decoding: bytes[start..<index], as: UTF8.self)
                let previous = start > 0 ? bytes[start - 1] : 0
                var next = index
                while next < bytes.count, bytes[next] == 0x20 { next += 1 }
                let isCall = next < bytes.count && bytes[next] == 0x28
                let keywords: Set<String> = ["true", "false", "null", "in"]
                if previous != 0x2E, !isCall, !keywords.contains(name) { found.append((name, start, index)) }
            } else if byte >= 0x30 && byte <= 0x39 {
                while index < bytes.count, isPart(bytes[index]) || bytes[index] == 0x2E { index += 1 }
            } else {
                index += 1
            }
        }
        return found
    }
}

extension String {
    var trimmingSpaces: String {
        var scalars = Substring(self)
        while let first = scalars.first, first == " " || first == "\n" || first == "\t" { scalars = scalars.dropFirst() }
        while let last = scalars.last, last == " " || last == "\n" || last == "\t" { scalars = scalars.dropLast() }
        return String(scalars)
    }
}
