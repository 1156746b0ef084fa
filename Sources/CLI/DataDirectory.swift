import Control
import Store

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where the embedded store lives, found as git finds `.git`: `--data-dir DIR`, else
/// `$ORCHESTRATOR_DATA_DIR`, else the nearest `.orchestrator/` in the working directory or one
/// of its parents, else (for commands that write) `./.orchestrator/`, created on first use.
/// Commands that only read never create one: with none found they say where they looked.
public enum DataDirectory {
    /// The directory a command uses and how it was chosen.
    public struct Location: Sendable, Equatable {
        public enum Origin: String, Sendable {
            case option = "--data-dir"
            case environment = "$ORCHESTRATOR_DATA_DIR"
            case discovered = "the nearest .orchestrator/"
            case fallback = "./.orchestrator (none found)"
        }

        public var path: String
        public var origin: Origin
        /// The directories searched for `.orchestrator/`, nearest first (discovery only).
        public var searched: [String]
    }

    public static let directoryName = ".orchestrator"

    /// `given` is the `--data-dir` value (Option.dataDirectory).
    public static func locate(_ given: String?, context: CommandContext) -> Location {
        let current = context.absoluteDirectory
        if let given, !given.isEmpty { return Location(path: absolute(given, base: current), origin: .option, searched: []) }
        if let chosen = context.environment["ORCHESTRATOR_DATA_DIR"], !chosen.isEmpty {
            return Location(path: absolute(chosen, base: current), origin: .environment, searched: [])
        }
        var searched: [String] = []
        var directory = current
        while true {
            searched.append(directory)
            let candidate = (directory == "/" ? "" : directory) + "/" + directoryName
            if isDirectory(candidate) { return Location(path: candidate, origin: .discovered, searched: searched) }
            guard directory != "/", let slash = directory.lastIndex(of: "/") else { break }
            directory = slash == directory.startIndex ? "/" : String(directory[..<slash])
        }
        return Location(path: (current == "/" ? "" : current) + "/" + directoryName, origin: .fallback, searched: searched)
    }

    /// The path a command uses (see `locate`).
    public static func path(_ given: String?, context: CommandContext) -> String {
        locate(given, context: context).path
    }

    /// Opens the store for a command that writes, creating the directory and the database on
    /// first use. What opening changed (permissions made private) is said on stderr.
    public static func open(_ given: String?, context: CommandContext) throws -> any ResourceStore {
        let location = locate(given, context: context)
        let store = try SQLResourceStore.connect(
            store: context.storeLocation, dataDirectory: location.path, keyFile: SecretKeyFile(environment: context.environment))
        for notice in store.notices { context.stderr.write("orchestrator: warning: \(notice)\n") }
        if context.verbose { context.stderr.write(modeLine(location, context: context)) }
        return store
    }

    /// `--verbose`: the data directory in use, where it came from, and the mode.
    static func modeLine(_ location: Location, context: CommandContext) -> String {
        let mode: String
        if let store = context.storeLocation {
            mode = "shared store \(store.display): the daemons on it run queued tasks"
        } else if let host = context.daemonHost {
            mode = "daemon mode: the command runs in orchestratord (pid \(host.pid), \(host.workers) worker\(host.workers == 1 ? "" : "s"))"
        } else if case .success(let status) = DaemonControl.status(dataDirectory: location.path, timeoutSeconds: 2) {
            mode = "daemon mode: orchestratord (pid \(status.pid), \(status.workers) worker\(status.workers == 1 ? "" : "s")) serves it"
        } else {
            mode = "embedded mode: no daemon serves it"
        }
        return "orchestrator: data directory \(location.path) (from \(location.origin.rawValue)); \(mode)\n"
    }

    /// Opens the store for a command that only reads: an existing database, else a usage error
    /// that says where it looked and how to choose one. Nothing is created.
    public static func openExisting(_ given: String?, context: CommandContext) throws -> any ResourceStore {
        // In the daemon the data directory is the one it serves: it exists, even when the
        // command arrives before the daemon's own first use of the database created it.
        if context.daemonHost != nil { return try open(given, context: context) }
        let location = locate(given, context: context)
        // A shared store exists on its server; the data directory only keeps this machine's logs.
        guard context.storeLocation != nil || SQLResourceStore.exists(in: location.path) else { throw missing(location) }
        return try open(given, context: context)
    }

    /// Opens the store for a command that writes nothing but wants an answer without one
    /// (`apply --dry-run`): an existing database, else an empty one in memory.
    public static func openForReading(_ given: String?, context: CommandContext) throws -> any ResourceStore {
        let directory = path(given, context: context)
        if context.storeLocation != nil || SQLResourceStore.exists(in: directory) { return try open(given, context: context) }
        return try SQLResourceStore(inMemoryFor: directory, keyFile: SecretKeyFile(environment: context.environment))
    }

    /// The refusal of a reading command when there is no data directory.
    static func missing(_ location: Location) -> UsageError {
        switch location.origin {
        case .option, .environment:
            return UsageError(
                "no data directory at \(location.path) (from \(location.origin.rawValue))",
                help: "check the path, or create it with `orchestrator init --data-dir \(location.path)`")
        case .discovered, .fallback:
            let first = location.searched.first ?? location.path
            let through = location.searched.count > 1 ? " and its \(location.searched.count - 1) parent directories" : ""
            return UsageError(
                "no data directory found: looked for \(directoryName)/ in \(first)\(through)",
                help: "run the command where `orchestrator init` (or `apply`) created one, or choose one with --data-dir DIR or $ORCHESTRATOR_DATA_DIR")
        }
    }

    static func workingDirectory() -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard getcwd(&buffer, buffer.count) != nil else { return "/" }
        return String(cString: buffer)
    }

    /// `path` made absolute against `base`, with `.`, `..` and empty segments folded.
    static func absolute(_ path: String, base: String) -> String {
        ManifestRecords.absolutePath(path, base: base)
    }

    static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
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

extension CommandContext {
    /// The working directory of the command as an absolute path (a context made for tests may
    /// say `.`): what relative paths of the command line and of manifests resolve against.
    var absoluteDirectory: String {
        DataDirectory.absolute(currentDirectory, base: DataDirectory.workingDirectory())
    }
}
