import Compiler
import Diagnostics

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The tasks.json part of `lint`: the `-f` inputs named `tasks.json` and every `--state FILE`
/// are read as state files (docs/state-files.md), the other `-f` inputs as manifests.
struct StateLintInputs {
    var sources: [SourceFile] = []
    var diagnostics: [Diagnostic] = []
    var tasks = 0
    /// The manifest inputs (the `-f` inputs that are not tasks.json); nil when every input was
    /// a tasks.json.
    var manifestFiles: [String]?

    static func isStateFile(_ path: String) -> Bool {
        path == "tasks.json" || path.hasSuffix("/tasks.json")
    }

    /// `--enable`/`--disable` values that name tasks.json rules.
    static func stateRules(_ names: [String]) -> Set<StateRuleID> { Set(names.compactMap(StateRuleID.init(rawValue:))) }
    /// The other `--enable`/`--disable` values, for the manifest lint configuration.
    static func manifestRules(_ names: [String]) -> [String] { names.filter { StateRuleID(rawValue: $0) == nil } }

    /// `files` are lint's `-f` inputs, `state` its `--state` files, `stray` its positionals.
    init(files: [String], state: [String], enable: [String], disable: [String], stray: [String], context: CommandContext) throws(UsageError) {
        let statePaths = files.filter(StateLintInputs.isStateFile) + state
        let manifests = files.filter { !StateLintInputs.isStateFile($0) }
        if statePaths.isEmpty || !manifests.isEmpty {
            manifestFiles = manifests
        } else if let first = stray.first {
            throw UsageError("unexpected argument `\(first)`", help: "pass files with -f or --state")
        }
        let disabled = StateLintInputs.stateRules(disable).subtracting(StateLintInputs.stateRules(enable))
        for path in statePaths {
            let read: [SourceFile]
            do {
                read = try FileSystem.readInputs([path], context: context)
            } catch {
                throw UsageError(error.description, help: "`--state` and `-f .../tasks.json` take a tasks.json file")
            }
            for source in read {
                let absolute = path.hasPrefix("/") ? path : context.currentDirectory + "/" + path
                let workspace = StateFiles.directory(of: absolute)
                sources.append(source)
                diagnostics += StateLinter.lint(
                    source, environment: StateFiles.environment(workspace: workspace, context: context), disabled: disabled)
                if case .success(let file) = TasksFileReader.read(source) { tasks += file.tasks.count }
            }
        }
    }

    /// `7 tasks in 1 state file`.
    var tasksPhrase: String {
        "\(tasks) task\(tasks == 1 ? "" : "s") in \(sources.count) state file\(sources.count == 1 ? "" : "s")"
    }

    /// `lint: 7 tasks in 1 state file; 0 warnings`, when no manifest was given.
    func summaryLine(warnings: Int) -> String {
        "lint: \(tasksPhrase); \(warnings) warning\(warnings == 1 ? "" : "s")"
    }
}

/// What the state commands and the state lint share: paths and the real environment of the rules.
enum StateFiles {
    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// PATH from the command's environment, files relative to `workspace`, its sprint_output.md.
    static func environment(workspace: String, context: CommandContext) -> StateEnvironment {
        let searchPath = (context.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":").map(String.init)
        let sprint = workspace + "/sprint_output.md"
        let sprintOutput = (try? FileSystem.readFile(sprint)).map { SourceFile(path: sprint, bytes: $0) }
        return StateEnvironment(
            isRunnable: { word in
                if word.contains("/") {
                    let path = word.hasPrefix("/") ? word : workspace + "/" + word
                    return FileSystem.type(of: path) == .file
                }
                return searchPath.contains { directory in
                    let candidate = (directory.isEmpty ? "." : directory) + "/" + word
                    return FileSystem.type(of: candidate) == .file && access(candidate, X_OK) == 0
                }
            },
            sprintOutput: sprintOutput)
    }
}
