import Expr
import JSON

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Paths to the shared material beside the project (`../shared`), derived from this file.
enum Shared {
    /// The package root: Tests/ExprTests/Support.swift -> three levels up.
    static func packageRoot(_ file: String = #filePath) -> String {
        var parts = file.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        parts.removeLast(3)
        return parts.joined(separator: "/")
    }

    static func path(_ relative: String) -> String {
        packageRoot() + "/../shared/" + relative
    }

    /// The bytes of a file, nil when it cannot be read.
    static func read(_ path: String) -> [UInt8]? {
        guard let file = fopen(path, "rb") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
            if count <= 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
        }
        return bytes
    }
}

/// Parses, checks (unless `check` is false) and evaluates; nil bindings means none.
func run(_ text: String, _ bindings: [String: Value] = [:], check: Bool = true) -> EvalResult {
    let expression: Expression
    do {
        expression = try ExprParser.parse(text)
    } catch {
        return .error("syntax: \(error.diagnostic.message)")
    }
    if check {
        var declarations: [String: ExprType] = [:]
        for (name, value) in bindings { declarations[name] = ExprType(of: value) }
        let result = ExprChecker.check(expression, declarations: declarations)
        if let first = result.diagnostics.first(where: { $0.severity == .error }) {
            return .error("check: \(first.message)")
        }
    }
    return Program(expression).evaluate(bindings)
}

func value(_ text: String, _ bindings: [String: Value] = [:]) -> Value? {
    if case .value(let v) = run(text, bindings) { return v }
    return nil
}

func isError(_ result: EvalResult) -> Bool {
    if case .error = result { return true }
    return false
}
