import JSON
import Manifest

import Store

import Platform

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Captures (execution.md "Captures") and the `{step}_output` pipeline variables.

/// Pipeline variables are text where they are placeholders and typed where expressions read them.
public enum PipelineValue {
    /// How a value reads in a placeholder: strings as they are, numbers and booleans as written,
    /// null as "", arrays and objects as compact JSON.
    public static func text(_ value: JSONValue) -> String {
        switch value {
        case .null: return ""
        case .bool(let flag): return flag ? "true" : "false"
        case .int(let number): return String(number)
        case .double(let number): return JSONWriter.number(number)
        case .string(let string): return string
        case .array, .object: return JSONWriter().string(value)
        }
    }

    /// A text value typed for expressions: a JSON array becomes a list, a JSON number a number,
    /// `true`/`false` a boolean; anything else (objects included) stays a string.
    public static func typed(_ text: String) -> JSONValue {
        let trimmed = text.trimmingWhitespace()
        guard let first = trimmed.utf8.first else { return .string(text) }
        let mayBeTyped =
            first == UInt8(ascii: "[") || first == UInt8(ascii: "-") || (first >= 0x30 && first <= 0x39)
            || trimmed == "true" || trimmed == "false"
        guard mayBeTyped, let value = try? JSONParser.parse(trimmed) else { return .string(text) }
        switch value {
        case .array, .int, .double, .bool: return value
        default: return .string(text)
        }
    }
}

/// One capture rule: `{var, source, json_path}`.
public struct CaptureRule: Sendable, Equatable {
    public var variable: String
    public var source: CaptureSource
    public var jsonPath: String?

    public init(variable: String, source: CaptureSource, jsonPath: String? = nil) {
        self.variable = variable
        self.source = source
        self.jsonPath = jsonPath
    }

    public init(_ capture: Capture) {
        self.init(variable: capture.variable.value, source: capture.source.value, jsonPath: capture.jsonPath?.value)
    }
}

/// What a finished step offers to captures.
public struct StepFacts: Sendable, Equatable {
    public static let defaultReadLimit = 16 * 1024 * 1024

    public var exitCode: Int32
    /// The output (unmasked when taken from the process, masked when read back from its logs);
    /// only the last bytes when the output was larger than the window.
    public var stdout: String
    public var stderr: String
    public var stdoutTruncated: Bool
    public var stderrTruncated: Bool

    public init(exitCode: Int32, stdout: String, stderr: String, stdoutTruncated: Bool = false, stderrTruncated: Bool = false) {
        self.exitCode = exitCode
        self.stdout = stdout
        self.stderr = stderr
        self.stdoutTruncated = stdoutTruncated
        self.stderrTruncated = stderrTruncated
    }

    /// The unmasked output a process left in memory (the last `RawOutput.window` bytes of each
    /// stream): what captures read, so that masking a secret never changes a captured value.
    public init(exitCode: Int32, raw: RawOutput) {
        self.init(
            exitCode: exitCode, stdout: String(decoding: raw.stdout, as: UTF8.self), stderr: String(decoding: raw.stderr, as: UTF8.self),
            stdoutTruncated: raw.stdoutTruncated, stderrTruncated: raw.stderrTruncated)
    }

    /// Reads the logs of a finished process back (the tail, up to `readLimit` bytes each).
    public init(result: ProcessResult, readLimit: Int = StepFacts.defaultReadLimit) {
        let out = readFileTail(result.stdoutLogPath, limit: readLimit)
        let err = readFileTail(result.stderrLogPath, limit: readLimit)
        self.init(
            exitCode: result.exitCode, stdout: String(decoding: out?.bytes ?? [], as: UTF8.self),
            stderr: String(decoding: err?.bytes ?? [], as: UTF8.self), stdoutTruncated: out?.truncated ?? false,
            stderrTruncated: err?.truncated ?? false)
    }
}

/// The value a capture bound, and why it is "" when it could not be taken.
public struct CapturedValue: Sendable, Equatable {
    public var variable: String
    /// Typed: lists, numbers and booleans keep their type (what expressions see).
    public var value: JSONValue
    /// What `{variable}` becomes in a placeholder.
    public var text: String
    /// Set when the capture could not be taken as asked (reported on `step_finished`).
    public var problem: String?

    public init(variable: String, value: JSONValue, problem: String? = nil) {
        self.variable = variable
        self.value = value
        self.text = PipelineValue.text(value)
        self.problem = problem
    }
}

public enum Captures {
    /// Applies the rules in order.
    public static func evaluate(_ rules: [CaptureRule], facts: StepFacts) -> [CapturedValue] {
        rules.map { evaluate($0, facts: facts) }
    }

    /// - `exit_code`: the exit code (128 + signal when killed); `failed_flag`: exit code != 0;
    ///   `success_flag`: exit code == 0.
    /// - `stdout` / `stderr` without `json_path`: the text with trailing line breaks removed,
    ///   typed (`PipelineValue.typed`).
    /// - with `json_path`: the JSON found in the output (`JSONOutput.extract`), then the path. A
    ///   path that does not resolve, output without JSON, or an invalid path: "" and a problem.
    public static func evaluate(_ rule: CaptureRule, facts: StepFacts) -> CapturedValue {
        let text: String
        switch rule.source {
        case .exit_code: return CapturedValue(variable: rule.variable, value: .int(Int64(facts.exitCode)))
        case .failed_flag: return CapturedValue(variable: rule.variable, value: .bool(facts.exitCode != 0))
        case .success_flag: return CapturedValue(variable: rule.variable, value: .bool(facts.exitCode == 0))
        case .stdout: text = facts.stdout
        case .stderr: text = facts.stderr
        }
        guard let pathText = rule.jsonPath else {
            return CapturedValue(variable: rule.variable, value: PipelineValue.typed(text.trimmingTrailingLineBreaks()))
        }
        let path: JSONPath
        do {
            path = try JSONPath(pathText)
        } catch {
            return CapturedValue(variable: rule.variable, value: .string(""), problem: error.description)
        }
        guard let document = JSONOutput.extract(from: text) else {
            return CapturedValue(
                variable: rule.variable, value: .string(""),
                problem: "\(rule.source.rawValue) holds no JSON, so json_path \(pathText) does not resolve")
        }
        guard let value = path.evaluate(document) else {
            return CapturedValue(
                variable: rule.variable, value: .string(""),
                problem: "json_path \(pathText) does not resolve in the JSON of \(rule.source.rawValue)")
        }
        return CapturedValue(variable: rule.variable, value: value)
    }
}

/// A step's stdout as pipeline variables: `{step}_output` holds it when it is at most 4 KiB;
/// `{step}_output_path` is always the path of the file holding all of it (the stdout log).
public struct StepOutput: Sendable, Equatable {
    public static let inlineLimit = 4096

    public var step: String
    /// The whole stdout when it is at most `inlineLimit` bytes.
    public var inline: String?
    public var path: String
    public var size: Int64

    public init(step: String, inline: String?, path: String, size: Int64) {
        self.step = step
        self.inline = inline
        self.path = path
        self.size = size
    }

    /// Reads the stdout log of a finished step.
    public init(step: String, stdoutLogPath: String) {
        var info = stat()
        let size = stat(stdoutLogPath, &info) == 0 ? Int64(info.st_size) : 0
        var inline: String?
        if size <= Int64(StepOutput.inlineLimit) {
            inline = String(decoding: readFileBytes(stdoutLogPath, limit: StepOutput.inlineLimit) ?? [], as: UTF8.self)
        }
        self.init(step: step, inline: inline, path: stdoutLogPath, size: size)
    }

    public var outputVariable: String { "\(step)_output" }
    public var pathVariable: String { "\(step)_output_path" }

    /// The variables to bind, by name.
    public var variables: [String: String] {
        var result = [pathVariable: path]
        if let inline { result[outputVariable] = inline }
        return result
    }

    /// The whole output (from the file when it was spilled).
    public func fullText() -> String {
        if let inline { return inline }
        return String(decoding: readFileBytes(path) ?? [], as: UTF8.self)
    }
}

extension String {
    func trimmingWhitespace() -> String {
        let scalars = unicodeScalars
        let isSpace: (Unicode.Scalar) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard let start = scalars.firstIndex(where: { !isSpace($0) }),
            let end = scalars.lastIndex(where: { !isSpace($0) })
        else { return "" }
        return String(scalars[start...end])
    }

    fileprivate func trimmingTrailingLineBreaks() -> String {
        var result = Substring(self)
        while let last = result.last, last == "\n" || last == "\r\n" || last == "\r" { result = result.dropLast() }
        return String(result)
    }
}
