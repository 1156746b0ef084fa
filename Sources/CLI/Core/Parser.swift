import Diagnostics

/// Turns one command's arguments into the command's value, reading its declaration table.
/// `--` ends option parsing; `-` alone is a positional (stdin) or a value; `--opt=value` and
/// `--opt value` are the same.
enum CommandParser {
    static func parse<C: Command>(_ type: C.Type, _ arguments: [String], path: String) throws(UsageError) -> C {
        let specs = C.options.flatMap(\.specs)
        var byName: [String: OptionSpec<C>] = [:]
        for spec in specs { for name in spec.names { byName[name] = spec } }
        var command = C()
        var positionals: [String] = []
        var index = 0
        var onlyPositionals = false
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            if onlyPositionals || argument == "-" || !argument.hasPrefix("-") || looksLikeValue(argument) {
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
            // The global `--verbose` (read by `Orchestrator.main`) is accepted by every command.
            if name == "--verbose", byName[name] == nil, inlineValue == nil { continue }
            guard let spec = byName[name] else { throw unknownOption(name, specs: specs, path: path) }
            if spec.valueName != nil {
                let value: String
                if let inlineValue {
                    value = inlineValue
                } else {
                    guard index < arguments.count else {
                        throw UsageError("option `\(name)` of `\(path)` needs a value (\(spec.valueName ?? ""))", help: spec.help)
                    }
                    value = arguments[index]
                    index += 1
                }
                try spec.store(&command, value)
            } else {
                if inlineValue != nil { throw UsageError("option `\(name)` takes no value", help: spec.help) }
                try spec.store(&command, "")
            }
        }
        if let declared = C.positionals {
            command[keyPath: declared.path] = positionals
        } else if let first = positionals.first {
            throw UsageError("`\(path)` takes no arguments, got `\(first)`", help: "see `orchestrator \(path) --help`")
        }
        return command
    }

    /// The message for an option the command does not declare: the command's own options, the
    /// closest one when it looks like a typo, and which other commands take it.
    static func unknownOption<C>(_ name: String, specs: [OptionSpec<C>], path: String) -> UsageError {
        let own = specs.map { $0.names.joined(separator: "/") } + ["-h/--help"]
        var help = ""
        if let suggestion = Suggestions.closest(to: name, in: specs.flatMap(\.names)) {
            help += "did you mean `\(suggestion)`? "
        }
        help += "`\(path)` takes: " + own.joined(separator: ", ") + "."
        let elsewhere = Orchestrator.commandsTaking(name).filter { $0 != path }
        if !elsewhere.isEmpty {
            help += " `\(name)` is an option of " + elsewhere.map { "`\($0)`" }.joined(separator: ", ") + "."
        }
        help += " See `orchestrator \(path) --help`."
        return UsageError("unknown option `\(name)` for `\(path)`", help: help)
    }

    /// `-1`, `-2.5`, `-(a + b)`, `- x`: a leading minus followed by what no option starts with
    /// is a value (a negative number, an expression), not an option.
    static func looksLikeValue(_ argument: String) -> Bool {
        let scalars = Array(argument.unicodeScalars)
        guard scalars.count > 1, scalars[0] == "-" else { return false }
        let second = scalars[1]
        return ("0"..."9").contains(second) || second == "." || second == "(" || second == " "
    }
}
