import Diagnostics

/// What `orchestrator` dispatches to by its first word: a command (`validate`) or a group of
/// subcommands (`task`, `event`).
public protocol CommandEntry: Sendable {
    /// The word on the command line (`validate`, `task`, `list`).
    static var name: String { get }
    /// One line for the list of commands (`orchestrator --help`, `orchestrator task --help`).
    static var summary: String { get }
    /// Runs the arguments after the command's word; `path` is how messages name the command
    /// (`validate`, `task list`).
    static func main(_ arguments: [String], path: String, context: CommandContext) -> ExitStatus
    /// The `--help` text.
    static func helpText(path: String) -> String
    /// The commands (by path) that declare the option spelled `name`.
    static func commands(taking name: String, path: String) -> [String]
}

/// One command: a struct whose properties are its typed options, declared once in `options`.
/// The parser fills a fresh value (`init()` gives the defaults) and calls `run`.
public protocol Command: CommandEntry {
    init()
    /// The usage line(s) and a paragraph of explanation; `--help` adds the options from `options`.
    static var usage: String { get }
    /// The declaration table: every option, and which property it sets.
    static var options: [Option<Self>] { get }
    /// Where positional arguments go; nil (the default) when the command takes none.
    static var positionals: Positionals<Self>? { get }
    /// Where the parsed command runs when a daemon serves its data directory (Routing.swift).
    var routing: DaemonRouting { get }
    func run(context: CommandContext) -> ExitStatus
}

extension Command {
    public static var positionals: Positionals<Self>? { nil }
    public var routing: DaemonRouting { .here }

    public static func main(_ arguments: [String], path: String, context: CommandContext) -> ExitStatus {
        if wantsHelp(arguments) {
            context.stdout.write(helpText(path: path))
            return .success
        }
        let command: Self
        do {
            command = try CommandParser.parse(Self.self, arguments, path: path)
        } catch {
            Orchestrator.reportUsage(error, context: context)
            return .usage
        }
        var context = context
        switch command.routing {
        case .daemon(let dataDirectory):
            let words = path.split(separator: " ").map(String.init) + arguments
            if let status = CommandForwarder.forward(words, dataDirectory: dataDirectory, context: &context) { return status }
        case .here:
            if context.daemonHost != nil {
                Orchestrator.reportUsage(
                    UsageError("`\(path)` runs in the client, not in the daemon", help: "run it without a daemon connection"), context: context)
                return .usage
            }
        }
        return command.run(context: context)
    }

    /// The full `--help` text: usage, then every option with its default.
    public static func helpText(path: String) -> String {
        let defaults = Self()
        var rows = options.flatMap(\.specs).map { spec in
            (spec.label, spec.help + (spec.defaultText(defaults).map { " (default \($0))" } ?? ""))
        }
        rows.append(("-h, --help", "show this help"))
        return usage + "\n\nOptions:\n" + HelpText.columns(rows, maxWidth: 32)
    }

    public static func commands(taking name: String, path: String) -> [String] {
        options.flatMap(\.specs).contains { $0.names.contains(name) } ? [path] : []
    }
}

/// A word with subcommands (`task create`, `event list`, `secret key status`: a group may hold
/// groups). The subcommand comes first, then its
/// options: `orchestrator task list -o json`.
public protocol CommandGroup: CommandEntry {
    /// The paragraph `orchestrator NAME --help` shows under the list of subcommands.
    static var discussion: String { get }
    static var subcommands: [any CommandEntry.Type] { get }
}

extension CommandGroup {
    public static func main(_ arguments: [String], path: String, context: CommandContext) -> ExitStatus {
        let names = subcommands.map { $0.name }
        guard let word = arguments.first else {
            Orchestrator.reportUsage(
                UsageError("`\(path)` needs a subcommand", help: "one of: " + names.joined(separator: ", ")), context: context)
            return .usage
        }
        if word == "-h" || word == "--help" || word == "help" {
            context.stdout.write(helpText(path: path))
            return .success
        }
        guard let subcommand = subcommands.first(where: { $0.name == word }) else {
            let error: UsageError
            if word.hasPrefix("-") {
                error = UsageError(
                    "`\(path)` needs its subcommand before any option, got `\(word)`",
                    help: "write `orchestrator \(path) SUBCOMMAND [OPTIONS]`, SUBCOMMAND one of: " + names.joined(separator: ", "))
            } else {
                error = UsageError(
                    "unknown \(path) subcommand `\(word)`",
                    help: Suggestions.closest(to: word, in: names).map { "did you mean `\($0)`?" } ?? "one of: " + names.joined(separator: ", "))
            }
            Orchestrator.reportUsage(error, context: context)
            return .usage
        }
        return subcommand.main(Array(arguments.dropFirst()), path: path + " " + word, context: context)
    }

    public static func helpText(path: String) -> String {
        "Usage: orchestrator \(path) SUBCOMMAND [OPTIONS]\n\nSubcommands:\n"
            + HelpText.columns(subcommands.map { ($0.name, $0.summary) }, maxWidth: 12)
            + "\n" + discussion + "\n\nRun `orchestrator \(path) SUBCOMMAND --help` for a subcommand's options.\n"
    }

    public static func commands(taking name: String, path: String) -> [String] {
        subcommands.flatMap { $0.commands(taking: name, path: path + " " + $0.name) }
    }
}

/// `-h`/`--help` before any `--`.
func wantsHelp(_ arguments: [String]) -> Bool {
    for argument in arguments {
        if argument == "--" { return false }
        if argument == "-h" || argument == "--help" { return true }
    }
    return false
}

enum HelpText {
    /// Two aligned columns: `  LABEL   TEXT`, the label column at most `maxWidth` wide (a longer
    /// label keeps two spaces before its text).
    static func columns(_ rows: [(String, String)], maxWidth: Int) -> String {
        let width = min(maxWidth, (rows.map(\.0.count).max() ?? 0) + 2)
        var out = ""
        for (label, text) in rows {
            out += "  " + label + String(repeating: " ", count: max(2, width - label.count)) + text + "\n"
        }
        return out
    }
}
