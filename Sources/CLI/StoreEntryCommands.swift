import JSON
import Manifest
import Runner
import Store

/// `orchestrator store get|put|delete|list|prune` (docs/stores.md "Commands").
enum StoreEntryCommand: CommandGroup {
    static let name = "store"
    static let summary = "read and write the entries of WorkflowStores"
    static let discussion = """
        A WorkflowStore keeps values across tasks of a project: steps read them (`store_inputs`)
        and write them (`store_outputs`, `store_put`). A store no WorkflowStore declares is a
        built-in store without schema or retention. In a step, `orchestrator store put ...` writes
        to the task's own data directory ($ORCHESTRATOR_DATA_DIR is set for every step).
        """
    static let subcommands: [any CommandEntry.Type] = [
        StoreGetCommand.self, StorePutCommand.self, StoreDeleteCommand.self, StoreListCommand.self, StorePruneCommand.self,
    ]

    /// The store named by the first positional, checked, with the project's definitions.
    static func access(
        _ names: [String], count: ClosedRange<Int>, usage: String, project: String?, dataDirectory: String?, creating: Bool,
        context: CommandContext
    ) throws -> (WorkflowStoreAccess, [String]) {
        guard count.contains(names.count) else { throw UsageError("`\(usage)`: expected \(describe(count)) argument\(count.upperBound == 1 ? "" : "s"), found \(names.count)") }
        for (position, value) in names.enumerated() {
            if let problem = WorkflowStoreAccess.keyProblem(value) {
                throw UsageError("argument \(position + 1) (`\(value.debugDescription.dropFirst().dropLast())`): \(problem)", help: "usage: \(usage)")
            }
        }
        let project = project ?? "default"
        let (store, tasks) = try TaskCommand.open(dataDirectory, context: context, creating: creating)
        let resources = PinnedWorkflow.resources(from: try PinnedWorkflow.snapshot(store, project: project), project: project)
        do {
            let access = try WorkflowStoreAccess(store: names[0], project: project, resources: resources, tasks: tasks, environment: context.environment)
            return (access, Array(names.dropFirst()))
        } catch let error as WorkflowStoreError {
            throw UsageError("argument 1 (`\(names[0])`): \(error.message)", help: "fix the WorkflowStore and apply it again")
        }
    }

    /// `get` and `delete` of a key that holds nothing: exit 1, saying where it looked.
    static func noSuchKey(_ key: String, in access: WorkflowStoreAccess, context: CommandContext) -> ExitStatus {
        context.stderr.write("orchestrator: error: store \(access.definition.name) has no key \(key) in project \(access.project)\n")
        return .findings
    }

    static func describe(_ range: ClosedRange<Int>) -> String {
        range.lowerBound == range.upperBound ? "\(range.lowerBound)" : "\(range.lowerBound) to \(range.upperBound)"
    }

    /// A value as `store get` prints it: strings as they are, everything else as JSON.
    static func text(_ value: JSONValue, pretty: Bool = true) -> String {
        if case .string(let string) = value { return string }
        return JSONWriter(pretty: pretty).string(value)
    }
}

extension Option {
    /// `-p/--project` of the `store` commands: whose stores.
    static func storeProject(_ path: WritableKeyPath<Root, String?>) -> Option {
        project(path, help: "the store's project (default `default`)")
    }
}

/// Runs a store body; a provider failure (schema, command) is exit 1 with its message.
func runEntryCommand(_ context: CommandContext, _ body: () throws -> ExitStatus) -> ExitStatus {
    runStoreCommand(context) {
        do {
            return try body()
        } catch let error as WorkflowStoreError {
            context.stderr.write("orchestrator: error: \(error.message)\n")
            return .findings
        }
    }
}

struct StoreGetCommand: Command {
    static let name = "get"
    static let summary = "print the value of a key"
    static let usage = """
        Usage: orchestrator store get STORE KEY [-p P] [-o text|json]

        Prints the value (a string as it is, anything else as JSON). -o json prints the entry:
        key, value, version (built-in provider) and when it was written. Exit 1 when the key
        holds no value.
        """
    var project: String?
    var output = TaskCommand.Output.text
    var dataDirectory: String?
    var names: [String] = []
    var routing: DaemonRouting { .daemon(dataDirectory: dataDirectory) }

    static var options: [Option<Self>] {
        [.storeProject(\.project), .output(\.output), .dataDirectory(\.dataDirectory)]
    }
    static var positionals: Positionals<Self>? { Positionals(\.names) }

    func run(context: CommandContext) -> ExitStatus {
        runEntryCommand(context) {
            let (access, rest) = try StoreEntryCommand.access(
                names, count: 2...2, usage: "store get STORE KEY", project: project, dataDirectory: dataDirectory, creating: false, context: context)
            guard let found = try access.get(rest[0]) else { return StoreEntryCommand.noSuchKey(rest[0], in: access, context: context) }
            switch output {
            case .json: context.stdout.write(JSONWriter(pretty: true).string(found.json) + "\n")
            case .text: context.stdout.write(StoreEntryCommand.text(found.value) + "\n")
            }
            return .success
        }
    }
}

struct StorePutCommand: Command {
    static let name = "put"
    static let summary = "write the value of a key"
    static let usage = """
        Usage: orchestrator store put STORE KEY VALUE|- [--json] [-p P] [-q] [-o text|json]

        Writes VALUE (- reads it from stdin) as a string, or parsed as JSON with --json. The
        store's schema is checked first (exit 1 when the entry breaks it: nothing is written) and
        its retention applied after.
        """
    var json = false
    var quiet = false
    var output = TaskCommand.Output.text
    var project: String?
    var dataDirectory: String?
    var names: [String] = []
    var routing: DaemonRouting { .daemon(dataDirectory: dataDirectory) }

    static var options: [Option<Self>] {
        [
            .flag(\.json, "--json", help: "VALUE is JSON (an object, array, number, ...), not a string"), .quiet(\.quiet), .output(\.output),
            .storeProject(\.project), .dataDirectory(\.dataDirectory),
        ]
    }
    static var positionals: Positionals<Self>? { Positionals(\.names) }

    func run(context: CommandContext) -> ExitStatus {
        runEntryCommand(context) {
            guard names.count == 3 else { throw UsageError("`store put STORE KEY VALUE`: expected 3 arguments, found \(names.count)") }
            var text = names[2]
            if text == "-" { text = String(decoding: context.readStandardInput(), as: UTF8.self) }
            var value = JSONValue.string(text)
            if json {
                do {
                    value = try JSONParser.parse(text)
                } catch {
                    throw UsageError("argument 3: --json, but the value is not JSON: \(error)", help: #"e.g. '{"score": 0.9}', or leave out --json for a string"#)
                }
            }
            let (access, rest) = try StoreEntryCommand.access(
                Array(names.prefix(2)), count: 2...2, usage: "store put STORE KEY VALUE", project: project, dataDirectory: dataDirectory,
                creating: true, context: context)
            let task = context.environment[TaskRunner.taskIDVariable]
            let written = try access.put(rest[0], value: value, task: task, step: nil)
            if output == .json {
                context.stdout.write(
                    JSONWriter(pretty: true).string(
                        .object([
                            ("store", .string(access.definition.name)), ("project", .string(access.project)), ("key", .string(rest[0])),
                            ("version", written.version.map { .int(Int64($0)) } ?? .null), ("pruned", .array(written.pruned.map { .string($0) })),
                        ])) + "\n")
            } else if !quiet {
                var line = "\(access.definition.name)/\(rest[0]) written"
                if let version = written.version { line += " (version \(version))" }
                if !written.pruned.isEmpty { line += "; retention removed \(written.pruned.count): \(written.pruned.joined(separator: ", "))" }
                context.stdout.write(line + "\n")
            }
            return .success
        }
    }
}

struct StoreDeleteCommand: Command {
    static let name = "delete"
    static let summary = "delete a key"
    static let usage = """
        Usage: orchestrator store delete STORE KEY [-p P] [-o text|json]

        Exit 1 when the key held no value.
        """
    var output = TaskCommand.Output.text
    var project: String?
    var dataDirectory: String?
    var names: [String] = []
    var routing: DaemonRouting { .daemon(dataDirectory: dataDirectory) }

    static var options: [Option<Self>] { [.storeProject(\.project), .output(\.output), .dataDirectory(\.dataDirectory)] }
    static var positionals: Positionals<Self>? { Positionals(\.names) }

    func run(context: CommandContext) -> ExitStatus {
        runEntryCommand(context) {
            let (access, rest) = try StoreEntryCommand.access(
                names, count: 2...2, usage: "store delete STORE KEY", project: project, dataDirectory: dataDirectory, creating: false, context: context)
            guard try access.delete(rest[0]) else { return StoreEntryCommand.noSuchKey(rest[0], in: access, context: context) }
            if output == .json {
                context.stdout.write(
                    JSONWriter(pretty: true).string(
                        .object([
                            ("store", .string(access.definition.name)), ("project", .string(access.project)), ("key", .string(rest[0])),
                            ("deleted", .bool(true)),
                        ])) + "\n")
            } else {
                context.stdout.write("\(access.definition.name)/\(rest[0]) deleted\n")
            }
            return .success
        }
    }
}

struct StoreListCommand: Command {
    static let name = "list"
    static let summary = "the keys of a store"
    static let usage = """
        Usage: orchestrator store list STORE [-p P] [-o table|json]

        Every key with its version and when it was written, and the store's provider and
        retention.
        """
    var project: String?
    var output = TaskCommand.Output.text
    var dataDirectory: String?
    var names: [String] = []
    var routing: DaemonRouting { .daemon(dataDirectory: dataDirectory) }

    static var options: [Option<Self>] {
        [.storeProject(\.project), .output(\.output), .dataDirectory(\.dataDirectory)]
    }
    static var positionals: Positionals<Self>? { Positionals(\.names) }

    func run(context: CommandContext) -> ExitStatus {
        runEntryCommand(context) {
            let (access, _) = try StoreEntryCommand.access(
                names, count: 1...1, usage: "store list STORE", project: project, dataDirectory: dataDirectory, creating: false, context: context)
            let entries = try access.list()
            switch output {
            case .json:
                context.stdout.write(
                    JSONWriter(pretty: true).string(
                        .object([
                            ("store", .string(access.definition.name)), ("project", .string(access.project)),
                            ("provider", .string(access.providerDescription)), ("declared", .bool(access.definition.declared)),
                            ("max_entries", access.definition.maxEntries.map { .int(Int64($0)) } ?? .null),
                            ("ttl_days", access.definition.ttlDays.map { .int(Int64($0)) } ?? .null),
                            ("entries", .array(entries.map(\.json))),
                        ])) + "\n")
            case .text:
                var rows: [[String]] = [["KEY", "VERSION", "UPDATED", "VALUE"]]
                for entry in entries {
                    let value = StoreEntryCommand.text(entry.value, pretty: false).split(separator: "\n", omittingEmptySubsequences: false).joined(separator: " ")
                    rows.append([entry.key, entry.version.map(String.init) ?? "-", entry.updatedAt ?? "-", value.count > 60 ? String(value.prefix(57)) + "..." : value])
                }
                context.stdout.write(TextTable.render(rows))
                let retention = access.definition.retentionText.map { "; retention: \($0)" } ?? ""
                context.stderr.write(
                    "\(entries.count) entr\(entries.count == 1 ? "y" : "ies") in store \(access.definition.name) (project \(access.project), \(access.providerDescription)"
                        + (access.definition.declared ? "" : ", not declared by a WorkflowStore") + retention + ")\n")
            }
            return .success
        }
    }
}

struct StorePruneCommand: Command {
    static let name = "prune"
    static let summary = "apply a store's retention now"
    static let usage = """
        Usage: orchestrator store prune STORE [-p P] [-o text|json]

        Deletes the entries older than the WorkflowStore's retention.ttl_days and beyond its
        retention.max_entries newest (every write applies it too) and prints their keys.
        """
    var output = TaskCommand.Output.text
    var project: String?
    var dataDirectory: String?
    var names: [String] = []
    var routing: DaemonRouting { .daemon(dataDirectory: dataDirectory) }

    static var options: [Option<Self>] { [.storeProject(\.project), .output(\.output), .dataDirectory(\.dataDirectory)] }
    static var positionals: Positionals<Self>? { Positionals(\.names) }

    func run(context: CommandContext) -> ExitStatus {
        runEntryCommand(context) {
            let (access, _) = try StoreEntryCommand.access(
                names, count: 1...1, usage: "store prune STORE", project: project, dataDirectory: dataDirectory, creating: false, context: context)
            let pruned = try access.prune()
            if output == .json {
                context.stdout.write(
                    JSONWriter(pretty: true).string(
                        .object([
                            ("store", .string(access.definition.name)), ("project", .string(access.project)),
                            ("retention", access.definition.retentionText.map { .string($0) } ?? .null), ("pruned", .array(pruned.map { .string($0) })),
                        ])) + "\n")
                return .success
            }
            guard access.definition.retentionText != nil else {
                context.stderr.write("store \(access.definition.name) has no retention (retention.max_entries, retention.ttl_days): nothing to prune\n")
                return .success
            }
            for key in pruned { context.stdout.write(key + "\n") }
            context.stderr.write("\(pruned.count) entr\(pruned.count == 1 ? "y" : "ies") pruned from store \(access.definition.name) (\(access.definition.retentionText ?? ""))\n")
            return .success
        }
    }
}
