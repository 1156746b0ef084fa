import Manifest

import Platform

import Store

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An agent command ready to launch: the rendered command plus what carries the prompt.
public struct AgentInvocation: Sendable, Equatable {
    public var command: String
    public var standardInput: StandardInput
    /// Variables to add to the child's environment (`ORCHESTRATOR_PROMPT` for `env` delivery).
    public var environment: [String: String]
    /// The prompt file of `file` delivery (mode 0600); remove it when the step is over.
    public var promptFilePath: String?
    /// Placeholders of the command with no value (left literal).
    public var missing: [String]
    /// Placeholders that could not be placed safely: do not run the command.
    public var unsafe: [UnsafePlaceholder]

    /// Deletes the prompt file, if there is one.
    public func removePromptFile() {
        if let promptFilePath { unlink(promptFilePath) }
    }
}

public enum PromptDeliveryError: Error, Sendable, Equatable, CustomStringConvertible {
    case cannotWritePromptFile(directory: String, errno: Int32)

    public var description: String {
        switch self {
        case .cannotWritePromptFile(let directory, let code):
            return "cannot write the prompt file in \(directory): \(errnoDescription(code))"
        }
    }
}

/// How `{prompt}` reaches an agent (the Agent's `promptDelivery`):
/// - `arg`: the prompt is the value of `{prompt}` in the command (quoted for its position);
/// - `stdin`: the prompt is the command's standard input;
/// - `file`: the prompt is written to a new file readable by the owner only (0600) in
///   `promptDirectory`, and `{prompt}` is that file's path;
/// - `env`: the prompt is the environment variable `ORCHESTRATOR_PROMPT`.
/// With `stdin` and `env` the command should not mention `{prompt}`: if it does, it has no value,
/// stays literal and is reported as missing.
public enum PromptDelivering {
    public static let environmentVariable = "ORCHESTRATOR_PROMPT"

    public static func prepare(
        command: String, prompt: String, delivery: PromptDelivery, values: [String: String],
        promptDirectory: String
    ) throws(PromptDeliveryError) -> AgentInvocation {
        var values = values
        var standardInput = StandardInput.null
        var environment: [String: String] = [:]
        var promptFile: String?
        switch delivery {
        case .arg:
            values["prompt"] = prompt
        case .stdin:
            values["prompt"] = nil
            standardInput = .text(prompt)
        case .env:
            values["prompt"] = nil
            environment[environmentVariable] = prompt
        case .file:
            let path = try writePromptFile(prompt, in: promptDirectory)
            values["prompt"] = path
            promptFile = path
        }
        let rendered = Placeholders.renderCommand(command, values: values)
        return AgentInvocation(
            command: rendered.text, standardInput: standardInput, environment: environment, promptFilePath: promptFile,
            missing: rendered.missing, unsafe: rendered.unsafe)
    }

    /// A new `prompt-XXXXXX.txt` in `directory`, created with mode 0600, holding `prompt`.
    static func writePromptFile(_ prompt: String, in directory: String) throws(PromptDeliveryError) -> String {
        var template = Array("\(directory)/prompt-XXXXXX.txt".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { buffer -> Int32 in
            guard let base = buffer.baseAddress else { return -1 }
            return mkstemps(base, 4)
        }
        if fd < 0 { throw .cannotWritePromptFile(directory: directory, errno: errno) }
        defer { close(fd) }
        let path = template.withUnsafeBufferPointer { buffer -> String in
            guard let base = buffer.baseAddress else { return "" }
            return String(cString: base)
        }
        fchmod(fd, 0o600)
        if let code = writeAll(fd, Array(prompt.utf8)) {
            unlink(path)
            throw .cannotWritePromptFile(directory: directory, errno: code)
        }
        return path
    }
}
