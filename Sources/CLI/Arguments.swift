import Diagnostics

/// One option a command accepts.
public struct OptionSpec: Sendable {
    /// All spellings, e.g. `["-f", "--filename"]`. The last long one is the canonical key.
    public var names: [String]
    /// True for options that take a value (`--format json`, `--format=json`).
    public var takesValue: Bool
    public var valueName: String
    public var help: String

    public init(_ names: [String], value: String? = nil, help: String) {
        self.names = names
        self.takesValue = value != nil
        self.valueName = value ?? ""
        self.help = help
    }

    public var key: String { names.last(where: { $0.hasPrefix("--") }) ?? names[names.count - 1] }
}

/// A usage error (exit 2) with what to do.
public struct UsageError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var help: String?

    public init(_ message: String, help: String? = nil) {
        self.message = message
        self.help = help
    }

    public var description: String { message }
}

/// The parsed command line of one command.
public struct ParsedArguments: Sendable {
    public private(set) var values: [String: [String]] = [:]
    public private(set) var positionals: [String] = []

    /// All values of a repeatable option, in order.
    public func all(_ key: String) -> [String] { values[key] ?? [] }

    /// The last value of an option.
    public func value(_ key: String) -> String? { values[key]?.last }

    public func flag(_ key: String) -> Bool { values[key] != nil }

    /// Parses `arguments` against `options`. `--` ends option parsing; `-` alone is a positional
    /// (stdin) or a value.
    public init(_ arguments: [String], options: [OptionSpec], command: String) throws(UsageError) {
        var byName: [String: OptionSpec] = [:]
        for option in options { for name in option.names { byName[name] = option } }
        var index = 0
        var onlyPositionals = false
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            if onlyPositionals || argument == "-" || !argument.hasPrefix("-") || ParsedArguments.looksLikeValue(argument) {
                positionals.append(argument)
                continue
            }
            if argument == "--" { onlyPositionals = true; continue }
            var name = argument
            var inlineValue: String?
            if argument.hasPrefix("--"), let eq = argument.firstIndex(of: "=") {
                name = String(argument[..<eq])
                inlineValue = String(argument[argument.index(after: eq)...])
            }
            guard let option = byName[name] else {
                let suggestion = Suggestions.closest(to: name, in: byName.keys.sorted())
                throw UsageError(
                    "unknown option `\(name)` for `\(command)`",
                    help: suggestion.map { "did you mean `\($0)`? See `orchestrator \(command) --help`." }
                        ?? "see `orchestrator \(command) --help` for the options")
            }
            if option.takesValue {
                let value: String
                if let inlineValue {
                    value = inlineValue
                } else {
                    guard index < arguments.count else {
                        throw UsageError("option `\(name)` needs a value (\(option.valueName))", help: option.help)
                    }
                    value = arguments[index]
                    index += 1
                }
                values[option.key, default: []].append(value)
            } else {
                if inlineValue != nil { throw UsageError("option `\(name)` takes no value") }
                values[option.key, default: []].append("")
            }
        }
    }

    /// `-1`, `-2.5`, `-(a + b)`, `- x`: a leading minus followed by what no option starts with
    /// is a value (a negative number, an expression), not an option.
    static func looksLikeValue(_ argument: String) -> Bool {
        let scalars = Array(argument.unicodeScalars)
        guard scalars.count > 1, scalars[0] == "-" else { return false }
        let second = scalars[1]
        return ("0"..."9").contains(second) || second == "." || second == "(" || second == " "
    }

    /// The value of `key` checked against a closed set of choices.
    public func choice<T: RawRepresentable & CaseIterable>(_ key: String, default defaultValue: T) throws(UsageError) -> T
    where T.RawValue == String {
        guard let raw = value(key) else { return defaultValue }
        guard let chosen = T(rawValue: raw) else {
            let allowed = T.allCases.map(\.rawValue).joined(separator: ", ")
            throw UsageError("`\(raw)` is not a valid value for `\(key)`", help: "use one of: \(allowed)")
        }
        return chosen
    }

    /// A non-negative integer option.
    public func integer(_ key: String) throws(UsageError) -> Int? {
        guard let raw = value(key) else { return nil }
        guard let number = Int(raw), number >= 0 else {
            throw UsageError("`\(key)` needs a whole number, got `\(raw)`")
        }
        return number
    }
}
