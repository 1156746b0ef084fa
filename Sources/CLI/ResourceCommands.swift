import Automation
import Compiler
import Diagnostics
import JSON
import Manifest
import Store
import Triggers
import YAML

/// Finds one stored resource by kind and name, in `--project` or, without it, in whichever
/// project holds it (an error when several do).
func findResource(_ store: any ResourceStore, kind: String, name: String, project: String?) throws -> StoredResource {
    if let project {
        guard let found = try store.resource(ResourceKey(kind: kind, project: project, name: name)) else {
            throw UsageError(
                "\(kind)/\(name) is not stored in project `\(project)`",
                help: "list what is stored with `orchestrator get \(kind.lowercased())s --project \(project)`")
        }
        return found
    }
    let matches = try store.resources(kind: kind, name: name)
    guard let first = matches.first else {
        throw UsageError("\(kind)/\(name) is not stored", help: "list what is stored with `orchestrator get \(kind.lowercased())s`")
    }
    guard matches.count == 1 else {
        throw UsageError(
            "\(kind)/\(name) is stored in several projects: \(matches.map(\.key.project).joined(separator: ", "))",
            help: "choose one with --project")
    }
    return first
}

/// The resources that would lose a reference if `key` were gone: the project is compiled with
/// and without it, and every resource that gains an error without it references it. One
/// mechanism (the compiler's reference resolution), so `describe` and `delete` agree with
/// `apply`.
func referrers(of key: ResourceKey, in store: any ResourceStore) throws -> [ResourceKey] {
    let all = try ApplyPreparation.storedResources(store, projects: [key.project], excluding: [])
    let without = all.filter { !($0.kindName == key.kind && $0.name == key.name) }
    func others(_ resources: [Resource], than resource: Resource) -> [Resource] {
        resources.filter { $0.name != resource.name || $0.kind != resource.kind }
    }
    func errorCount(_ compilation: Compilation) -> Int {
        compilation.diagnostics.filter { $0.severity == .error }.count
    }
    // Only workflows and agents hold references (to templates, agents by capability, profiles,
    // env and secret stores).
    var result: [ResourceKey] = []
    for resource in without where resource.kind == .workflow || resource.kind == .agent {
        let with = Compiler.compile([resource], store: .read(others(all, than: resource)))
        let lacking = Compiler.compile([resource], store: .read(others(without, than: resource)))
        if errorCount(lacking) > errorCount(with) {
            result.append(ResourceKey(kind: resource.kindName, project: key.project, name: resource.name))
        }
    }
    return result.sorted()
}

/// `orchestrator get KIND [NAME]`
struct GetCommand: Command {
    static let name = "get"
    static let summary = "list stored resources, or show one"
    static let usage = """
        Usage: orchestrator get KIND [NAME] [-p P] [-o table|json|yaml] [-l key=value]...

        KIND: workspace(s)/ws, agent(s), workflow(s)/wf, steptemplate(s)/template(s),
        executionprofile(s)/profile(s), envstore(s), secretstore(s), project(s); any case.
        Without --project, every project. -o yaml prints a manifest stream that `apply` accepts;
        SecretStore values print as `***` in every format.
        """
    var project: String?
    var output = Output.table
    var labels: [String] = []
    var dataDirectory: String?
    var routing: DaemonRouting { .daemon(dataDirectory: dataDirectory) }
    var words: [String] = []

    static var options: [Option<Self>] {
        [
            .project(\.project, help: "only this project (default: every project)"),
            .output(\.output),
            .values(\.labels, "-l", "--selector", value: "key=value", help: "only resources with this label (all must match)"),
            .dataDirectory(\.dataDirectory),
        ]
    }
    static var positionals: Positionals<Self>? { Positionals(\.words) }

    enum Output: String, OptionChoice { case table, json, yaml }

    func run(context: CommandContext) -> ExitStatus {
        runStoreCommand(context) {
            guard let kindWord = words.first, words.count <= 2 else {
                throw UsageError("`get` needs a KIND and at most one NAME", help: "e.g. `orchestrator get workflows`")
            }
            let kind = try KindName.resolve(kindWord)
            var selectors: [(String, String)] = []
            for selector in labels {
                guard let eq = selector.firstIndex(of: "=") else {
                    throw UsageError("label selector `\(selector)` is not key=value")
                }
                selectors.append((String(selector[..<eq]), String(selector[selector.index(after: eq)...])))
            }
            let store = try DataDirectory.openExisting(dataDirectory, context: context)
            var resources: [StoredResource]
            if words.count == 2 {
                resources = [try findResource(store, kind: kind, name: words[1], project: project)]
            } else {
                resources = try store.resources(kind: kind, project: project)
            }
            resources = resources.filter { resource in
                selectors.allSatisfy { key, value in resource.metadata["labels"]?[key] == .string(value) }
            }
            let single = words.count == 2
            switch output {
            case .json:
                let documents = resources.map { ManifestRecords.document($0) }
                let value = single ? documents.first ?? .null : .array(documents)
                context.stdout.write(JSONWriter(pretty: true).string(value) + "\n")
            case .yaml:
                context.stdout.write(YAMLEmitter.emitStream(resources.map { ManifestRecords.document($0) }))
            case .table:
                if resources.isEmpty {
                    context.stderr.write("no \(kind) resources\(project.map { " in project \($0)" } ?? "")\n")
                    return .success
                }
                if kind == ResourceKind.trigger.rawValue {
                    // Triggers show when they fired last and fire next (`trigger list`).
                    let wanted = Set(resources.map { TriggerKey(project: $0.key.project, name: $0.key.name) })
                    let triggers = try TriggerCatalog.load(store).filter { wanted.contains($0.key) }
                    context.stdout.write(TriggerCommand.table(triggers, tasks: store.taskStore(), now: SystemClock().now()))
                } else {
                    context.stdout.write(Self.table(resources))
                }
            }
            return .success
        }
    }

    static func table(_ resources: [StoredResource]) -> String {
        var rows: [[String]] = [["NAME", "PROJECT", "GENERATION", "UPDATED", "DESCRIPTION"]]
        for resource in resources {
            let description = resource.metadata["description"]?.stringValue ?? resource.spec["description"]?.stringValue ?? ""
            rows.append([resource.key.name, resource.key.project, String(resource.generation), resource.updatedAt, description])
        }
        return TextTable.render(rows)
    }
}

/// Aligned text columns.
enum TextTable {
    static func render(_ rows: [[String]]) -> String {
        guard let columns = rows.map(\.count).max() else { return "" }
        var widths = [Int](repeating: 0, count: columns)
        for row in rows { for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) } }
        var out = ""
        for row in rows {
            var line = ""
            for (index, cell) in row.enumerated() {
                line += cell
                if index < row.count - 1 { line += String(repeating: " ", count: widths[index] - cell.count + 3) }
            }
            while line.hasSuffix(" ") { line.removeLast() }
            out += line + "\n"
        }
        return out
    }
}

/// `orchestrator describe KIND/NAME`
struct DescribeCommand: Command {
    static let name = "describe"
    static let summary = "show one resource in detail: generation, revisions, what references it"
    static let usage = """
        Usage: orchestrator describe KIND/NAME [-p P]
               orchestrator describe KIND NAME [-p P]

        Shows the resource (secret values as `***`), its generation and content hash, its last
        revisions, and the resources that reference it.
        """
    var project: String?
    var dataDirectory: String?
    var routing: DaemonRouting { .daemon(dataDirectory: dataDirectory) }
    var words: [String] = []

    static var options: [Option<Self>] {
        [.project(\.project, help: "the project (needed when several hold the resource)"), .dataDirectory(\.dataDirectory)]
    }
    static var positionals: Positionals<Self>? { Positionals(\.words) }

    func run(context: CommandContext) -> ExitStatus {
        runStoreCommand(context) {
            let (kind, name) = try KindName.kindAndName(words, command: Self.name)
            let store = try DataDirectory.openExisting(dataDirectory, context: context)
            let resource = try findResource(store, kind: kind, name: name, project: project)
            var out = ""
            out += "Name:         \(resource.key.name)\n"
            out += "Kind:         \(resource.key.kind)\n"
            out += "Project:      \(resource.key.project)\n"
            if let description = resource.metadata["description"]?.stringValue { out += "Description:  \(description)\n" }
            if case .object(let labels) = resource.metadata["labels"] ?? .null, !labels.isEmpty {
                out += "Labels:       " + labels.map { "\($0.key)=\($0.value.stringValue ?? "")" }.joined(separator: ", ") + "\n"
            }
            out += "Generation:   \(resource.generation)\n"
            out += "Content hash: \(resource.contentHash)\n"
            out += "Created:      \(resource.createdAt)\n"
            out += "Updated:      \(resource.updatedAt)\n"
            out += "Spec:\n"
            for line in YAMLEmitter.emit(ManifestRecords.masked(kind: kind, spec: resource.spec)).split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
                out += "  \(line)\n"
            }
            out += "Revisions (newest first):\n"
            for revision in try store.revisions(resource.key, limit: 5) {
                out += "  generation \(revision.generation)  \(revision.change)  \(revision.recordedAt)\n"
            }
            let referencing = try referrers(of: resource.key, in: store)
            out += "Referenced by:\(referencing.isEmpty ? " nothing" : "")\n"
            for key in referencing { out += "  \(key.kind)/\(key.name)\n" }
            context.stdout.write(out)
            return .success
        }
    }
}

/// `orchestrator delete KIND/NAME --force`
struct DeleteCommand: Command {
    static let name = "delete"
    static let summary = "delete a stored resource, or a whole project"
    static let usage = """
        Usage: orchestrator delete KIND/NAME --force [--dry-run] [-p P]
               orchestrator delete project/P --force [--dry-run]

        Refuses (exit 1) to delete what other stored resources still reference (and lists them),
        and a Workflow or Workspace an unfinished task runs. `delete project/P` deletes the
        project and every resource in it; a project that does not exist is not an error (exit 0,
        saying so). --force is required; --dry-run says what would be deleted, refuses what the
        real delete refuses (same exit code) and deletes nothing.
        """
    var project: String?
    var force = false
    var dryRun = false
    var dataDirectory: String?
    var routing: DaemonRouting { .daemon(dataDirectory: dataDirectory) }
    var words: [String] = []

    static var options: [Option<Self>] {
        [
            .project(\.project, help: "the project (needed when several hold the resource)"),
            .flag(\.force, "--force", help: "really delete"),
            .flag(\.dryRun, "--dry-run", help: "show what would be deleted, refusing what delete refuses; delete nothing"),
            .dataDirectory(\.dataDirectory),
        ]
    }
    static var positionals: Positionals<Self>? { Positionals(\.words) }

    func run(context: CommandContext) -> ExitStatus {
        runStoreCommand(context) {
            let (kind, name) = try KindName.kindAndName(words, command: Self.name)
            guard dryRun || force else {
                throw UsageError("`delete` needs --force", help: "add --force to delete, or --dry-run to see what would be deleted")
            }
            let location = DataDirectory.locate(dataDirectory, context: context)
            guard context.storeLocation != nil || SQLResourceStore.exists(in: location.path) else {
                // Nothing stored anywhere: a project to delete is simply not there (the guide runs
                // this first, before `init`); anything else names a data directory that is missing.
                guard kind == "Project" else { throw DataDirectory.missing(location) }
                context.stdout.write("project/\(name): nothing to delete, the project does not exist (no data directory yet)\n")
                return .success
            }
            let store = try DataDirectory.open(dataDirectory, context: context)
            if kind == "Project" {
                let stored = try store.resources(project: name)
                guard try store.projects().contains(name) || !stored.isEmpty else {
                    // Not an error: a set-up script deletes the project first, then applies (under `set -e`).
                    context.stdout.write("project/\(name): nothing to delete, the project does not exist\n")
                    return .success
                }
                // What the real delete refuses (ResourceStore.deleteProject), checked before a dry run too.
                for resource in stored {
                    let tasks = try store.unfinishedTasks(using: resource.key)
                    if !tasks.isEmpty { throw ResourceInUse(key: resource.key, tasks: tasks) }
                }
                if dryRun {
                    for resource in stored { context.stdout.write("\(resource.key.kind)/\(resource.key.name) would be deleted (project: \(name))\n") }
                    context.stdout.write("project/\(name) would be deleted\n")
                    return .success
                }
                for key in try store.deleteProject(name) { context.stdout.write("\(key.kind)/\(key.name) deleted (project: \(name))\n") }
                context.stdout.write("project/\(name) deleted\n")
                return .success
            }
            let resource = try findResource(store, kind: kind, name: name, project: project)
            let tasks = try store.unfinishedTasks(using: resource.key)
            if !tasks.isEmpty { throw ResourceInUse(key: resource.key, tasks: tasks) }
            let referencing = try referrers(of: resource.key, in: store)
            if !referencing.isEmpty {
                context.stderr.write(
                    "orchestrator: error: \(kind)/\(name) is still referenced by: "
                        + referencing.map { "\($0.kind)/\($0.name)" }.joined(separator: ", ") + "\n"
                        + "  = help: change or delete those first, then delete \(kind)/\(name)\n")
                return .findings
            }
            if dryRun {
                context.stdout.write("\(kind)/\(name) would be deleted (project: \(resource.key.project))\n")
            } else {
                try store.delete(resource.key)
                context.stdout.write("\(kind)/\(name) deleted (project: \(resource.key.project))\n")
            }
            return .success
        }
    }
}

/// `orchestrator export`
struct ExportCommand: Command {
    static let name = "export"
    static let summary = "print the stored resources as a manifest stream"
    static let usage = """
        Usage: orchestrator export [-p P]

        Prints every stored resource (of one project, or all) as a YAML manifest stream that
        `apply` accepts: export, then apply, reports every resource `unchanged`. SecretStore
        values are written as `***`, which `apply` reads as "keep the stored value".
        """
    var project: String?
    var dataDirectory: String?
    var routing: DaemonRouting { .daemon(dataDirectory: dataDirectory) }

    static var options: [Option<Self>] {
        [.project(\.project, help: "only this project (default: every project)"), .dataDirectory(\.dataDirectory)]
    }

    func run(context: CommandContext) -> ExitStatus {
        runStoreCommand(context) {
            let store = try DataDirectory.openExisting(dataDirectory, context: context)
            let resources = try store.resources(project: project)
            context.stdout.write(YAMLEmitter.emitStream(resources.map { ManifestRecords.document($0) }))
            return .success
        }
    }
}
