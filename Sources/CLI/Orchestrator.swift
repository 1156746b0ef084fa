import Diagnostics

/// The `orchestrator` command line: finds the subcommand, parses its options, runs it.
public enum Orchestrator {
    public static let version = "0.1.0"

    /// Every command and group of subcommands, in the order `--help` lists them.
    public static let commands: [any CommandEntry.Type] = [
        ParseCommand.self,
        ValidateCommand.self,
        LintCommand.self,
        PlanCommand.self,
        ExprCommand.self,
        SchemaCommand.self,
        InitCommand.self,
        ApplyCommand.self,
        DiffCommand.self,
        GetCommand.self,
        DescribeCommand.self,
        DeleteCommand.self,
        ExportCommand.self,
        SecretCommand.self,
        RunCommand.self,
        TaskCommand.self,
        EventCommand.self,
        TriggerCommand.self,
        StoreEntryCommand.self,
        DatabaseCommand.self,
        StateCommand.self,
        DaemonCommand.self,
        DashboardCommand.self,
    ]

    /// Runs one command line (without the program name) and returns the exit status.
    public static func main(_ arguments: [String], context: CommandContext) -> ExitStatus {
        // `--verbose` (or `-v` before the command) is global: the command says which data
        // directory it uses and whether a daemon serves it. A command with a `--verbose` of its
        // own (`task trace`) keeps it too.
        var arguments = arguments
        var context = context
        if arguments.first == "--verbose" || arguments.first == "-v" {
            arguments.removeFirst()
            context.verbose = true
        } else if arguments[..<(arguments.firstIndex(of: "--") ?? arguments.count)].contains("--verbose") {
            context.verbose = true
        }
        // `--store URL` (anywhere before `--`) is global too, as is `$ORCHESTRATOR_STORE`.
        if context.daemonHost == nil {
            switch StoreOption.take(&arguments, environment: context.environment) {
            case .success(let location): context.storeLocation = location
            case .failure(let error):
                reportUsage(error, context: context)
                return .usage
            }
        }
        guard let first = arguments.first else {
            context.stderr.write(overview)
            return .usage
        }
        if first == "-h" || first == "--help" || first == "help" {
            // `help task create` is `task create --help`.
            if arguments.count > 1, commands.contains(where: { $0.name == arguments[1] }) {
                return main(Array(arguments.dropFirst()) + ["--help"], context: context)
            }
            context.stdout.write(overview)
            return .success
        }
        if first == "--version" || first == "version" {
            context.stdout.write("orchestrator \(version)\n")
            return .success
        }
        guard let command = commands.first(where: { $0.name == first }) else {
            let suggestion = Suggestions.closest(to: first, in: commands.map { $0.name })
            reportUsage(
                UsageError(
                    "unknown command `\(first)`",
                    help: suggestion.map { "did you mean `\($0)`? See `orchestrator --help`." } ?? "see `orchestrator --help` for the commands"),
                context: context)
            return .usage
        }
        return command.main(Array(arguments.dropFirst()), path: command.name, context: context)
    }

    /// Every command (`plan`, `task create`) that declares the option spelled `name`.
    static func commandsTaking(_ name: String) -> [String] {
        commands.flatMap { $0.commands(taking: name, path: $0.name) }
    }

    /// Prints a usage error the way every command does.
    public static func reportUsage(_ error: UsageError, context: CommandContext) {
        var text = "orchestrator: error: \(error.message)\n"
        if let help = error.help { text += "  = help: \(help)\n" }
        context.stderr.write(text)
    }

    public static var overview: String {
        var out = """
            orchestrator \(version): compile, check, plan and run AI-agent workflow manifests.

            Usage: orchestrator COMMAND [OPTIONS]

            Commands:

            """
        let width = (commands.map { $0.name.count }.max() ?? 0) + 2
        for command in commands {
            out += "  " + command.name + String(repeating: " ", count: width - command.name.count) + command.summary + "\n"
        }
        out += """

            Run `orchestrator COMMAND --help` for a command's options.
            Exit codes: 0 success, 1 findings (invalid manifest, lint error, failed task, drift), 2 usage error, 3 internal error.

            """
        return out
    }
}
