import JSON

/// The `command` verb (docs/protocol.md): one `orchestrator` command line that the client hands
/// to the daemon serving its data directory, with what the command may read of the client's
/// surroundings. The daemon runs it in-process and streams what it writes, then its exit status.
public struct ForwardedCommand: Sendable, Equatable {
    /// The command line without the program name (`["get", "workflows", "-o", "json"]`).
    public var arguments: [String]
    /// The client's working directory (absolute): relative paths resolve against it.
    public var currentDirectory: String
    /// The client's environment, as the command would have seen it embedded.
    public var environment: [String: String]
    /// What the client read from its standard input; nil when the command line reads none (`-`).
    public var standardInput: String?
    /// Whether the client's stdout and stderr are terminals (colour, redrawn panels).
    public var stdoutIsTerminal: Bool
    public var stderrIsTerminal: Bool
    /// The client's terminal width in columns, when it has one.
    public var columns: Int?

    public init(
        arguments: [String], currentDirectory: String, environment: [String: String], standardInput: String? = nil,
        stdoutIsTerminal: Bool = false, stderrIsTerminal: Bool = false, columns: Int? = nil
    ) {
        self.arguments = arguments
        self.currentDirectory = currentDirectory
        self.environment = environment
        self.standardInput = standardInput
        self.stdoutIsTerminal = stdoutIsTerminal
        self.stderrIsTerminal = stderrIsTerminal
        self.columns = columns
    }

    /// The largest standard input the client forwards (bytes): the request line must stay under
    /// `ControlProtocol.maxRequestBytes` with the rest of the request. A larger input runs embedded.
    public static let maxForwardedInputBytes = 768 << 10

    /// Whether the command line reads standard input: a `-` argument before any `--`.
    public static func readsStandardInput(_ arguments: [String]) -> Bool {
        for argument in arguments {
            if argument == "--" { return false }
            if argument == "-" { return true }
        }
        return false
    }

    /// The request's `args`.
    public var json: JSONValue {
        var pairs: [(key: String, value: JSONValue)] = [
            ("argv", .array(arguments.map { .string($0) })),
            ("cwd", .string(currentDirectory)),
            ("env", .object(environment.keys.sorted().map { ($0, .string(environment[$0] ?? "")) })),
        ]
        if let standardInput { pairs.append(("stdin", .string(standardInput))) }
        pairs.append(("tty", .object([("stdout", .bool(stdoutIsTerminal)), ("stderr", .bool(stderrIsTerminal))])))
        if let columns { pairs.append(("columns", .int(Int64(columns)))) }
        return .object(pairs)
    }

    /// Reads the request's `args`; an `invalid_arguments` error names the field that is wrong.
    public init(json: JSONValue) throws(ControlError) {
        func invalid(_ message: String) -> ControlError {
            ControlError(.invalidArguments, message, help: "see docs/protocol.md, verb `command`")
        }
        guard case .array(let words)? = json["argv"] else { throw invalid("`argv` must be an array of strings") }
        var arguments: [String] = []
        for word in words {
            guard let text = word.stringValue else { throw invalid("`argv` must be an array of strings") }
            arguments.append(text)
        }
        guard let directory = json["cwd"]?.stringValue, directory.hasPrefix("/") else {
            throw invalid("`cwd` must be an absolute path")
        }
        var environment: [String: String] = [:]
        switch json["env"] {
        case nil, .null?: break
        case .object(let pairs)?:
            for (key, value) in pairs {
                guard let text = value.stringValue else { throw invalid("`env` values must be strings (`\(key)` is not)") }
                environment[key] = text
            }
        default: throw invalid("`env` must be an object of strings")
        }
        var input: String?
        switch json["stdin"] {
        case nil, .null?: break
        case .string(let text)?: input = text
        default: throw invalid("`stdin` must be a string")
        }
        var columns: Int?
        switch json["columns"] {
        case nil, .null?: break
        case .int(let value)? where value > 0 && value < 100_000: columns = Int(value)
        default: throw invalid("`columns` must be a positive integer")
        }
        self.init(
            arguments: arguments, currentDirectory: directory, environment: environment, standardInput: input,
            stdoutIsTerminal: json["tty"]?["stdout"] == .bool(true), stderrIsTerminal: json["tty"]?["stderr"] == .bool(true),
            columns: columns)
    }
}

/// One stream item of a `command` answer: text the command wrote to its stdout or stderr.
public struct ForwardedOutput: Sendable, Equatable {
    public enum Stream: String, Sendable {
        case stdout
        case stderr
    }

    public var stream: Stream
    public var text: String

    public init(stream: Stream, text: String) {
        self.stream = stream
        self.text = text
    }

    public var json: JSONValue { .object([("stream", .string(stream.rawValue)), ("text", .string(text))]) }

    public init?(json: JSONValue) {
        guard let stream = json["stream"]?.stringValue.flatMap(Stream.init(rawValue:)), let text = json["text"]?.stringValue else {
            return nil
        }
        self.init(stream: stream, text: text)
    }

    /// The `end` payload of a `command` answer.
    public static func end(exitStatus: Int32) -> JSONValue { .object([("exit", .int(Int64(exitStatus)))]) }

    /// The exit status an `end` payload carries.
    public static func exitStatus(ofEnd end: JSONValue) -> Int32? {
        guard case .int(let value)? = end["exit"], (0...255).contains(value) else { return nil }
        return Int32(value)
    }
}
