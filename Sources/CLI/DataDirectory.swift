import Store

/// Where the embedded store lives (spec/cli.md, Data directory): `--data-dir DIR`, else
/// `$ORCHESTRATOR_DATA_DIR`, else `.orchestrator/` in the current directory.
public enum DataDirectory {
    public static let option = OptionSpec(
        ["--data-dir"], value: "DIR", help: "the data directory (default $ORCHESTRATOR_DATA_DIR, else ./.orchestrator)")

    public static func path(_ arguments: ParsedArguments, context: CommandContext) -> String {
        let chosen = arguments.value(option.key) ?? context.environment["ORCHESTRATOR_DATA_DIR"] ?? ".orchestrator"
        if chosen.hasPrefix("/") { return chosen }
        return context.currentDirectory + "/" + chosen
    }

    /// Opens the store, creating the directory and the database on first use.
    public static func open(_ arguments: ParsedArguments, context: CommandContext) throws -> ResourceStore {
        try ResourceStore(dataDirectory: path(arguments, context: context))
    }

    /// Opens the store for a command that writes nothing: an existing database, else an empty
    /// one in memory (so `apply --dry-run` and `diff` never create the data directory).
    public static func openForReading(_ arguments: ParsedArguments, context: CommandContext) throws -> ResourceStore {
        let directory = path(arguments, context: context)
        if ResourceStore.exists(in: directory) { return try ResourceStore(dataDirectory: directory) }
        return try ResourceStore(inMemoryFor: directory)
    }
}

/// Resource kinds as the command line names them: singular, plural or short, any case.
public enum KindName {
    static let table: [(kind: String, names: [String])] = [
        ("Workspace", ["workspace", "workspaces", "ws"]),
        ("Agent", ["agent", "agents"]),
        ("Workflow", ["workflow", "workflows", "wf"]),
        ("StepTemplate", ["steptemplate", "steptemplates", "template", "templates"]),
        ("ExecutionProfile", ["executionprofile", "executionprofiles", "profile", "profiles"]),
        ("EnvStore", ["envstore", "envstores"]),
        ("SecretStore", ["secretstore", "secretstores"]),
        ("Project", ["project", "projects"]),
        ("RuntimePolicy", ["runtimepolicy", "runtimepolicies"]),
        ("Trigger", ["trigger", "triggers", "tg"]),
        ("WorkflowStore", ["workflowstore", "workflowstores"]),
        ("StoreBackendProvider", ["storebackendprovider", "storebackendproviders"]),
        ("CustomResourceDefinition", ["customresourcedefinition", "customresourcedefinitions", "crd", "crds"]),
    ]

    /// The manifest kind for a command-line word, or a usage error with a suggestion.
    public static func resolve(_ word: String) throws(UsageError) -> String {
        let lowered = word.lowercased()
        for entry in table where entry.names.contains(lowered) { return entry.kind }
        // A custom resource's kind, written as its CRD defines it (`PromptLibrary`).
        if let first = word.first, first.isUppercase, word.allSatisfy({ $0.isLetter || $0.isNumber }) { return word }
        let all = table.flatMap(\.names)
        let suggestion = Suggestions.closest(to: lowered, in: all)
        throw UsageError(
            "unknown resource kind `\(word)`",
            help: suggestion.map { "did you mean `\($0)`?" }
                ?? "use one of: workspace (ws), agent, workflow (wf), template, profile, envstore, secretstore, project, runtimepolicy, trigger, workflowstore, storebackendprovider, crd, or a custom kind as its CRD spells it")
    }

    /// `KIND/NAME` or `KIND NAME` from the positionals.
    public static func kindAndName(_ positionals: [String], command: String) throws(UsageError) -> (kind: String, name: String) {
        if positionals.count == 1, let slash = positionals[0].firstIndex(of: "/") {
            let kind = try resolve(String(positionals[0][..<slash]))
            let name = String(positionals[0][positionals[0].index(after: slash)...])
            guard !name.isEmpty else { throw UsageError("`\(positionals[0])` names no resource", help: "write KIND/NAME, e.g. workflow/demo") }
            return (kind, name)
        }
        if positionals.count == 2 { return (try resolve(positionals[0]), positionals[1]) }
        throw UsageError("`\(command)` needs one resource: KIND/NAME or KIND NAME", help: "e.g. `orchestrator \(command) workflow/demo`")
    }
}

import Diagnostics
