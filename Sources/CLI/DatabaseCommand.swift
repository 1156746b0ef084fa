import JSON
import Store

/// `orchestrator db status|vacuum`: the data directory's database.
enum DatabaseCommand: CommandGroup {
    static let name = "db"
    static let summary = "the store's database: sizes and counts, and reclaiming space"
    static let discussion = "`db status` says where the database is, its size, schema version and rows per table; `db vacuum` rebuilds it to reclaim the space of deleted rows (after `event cleanup`)."
    static let subcommands: [any CommandEntry.Type] = [DatabaseStatusCommand.self, DatabaseVacuumCommand.self]
}

/// `db status`
struct DatabaseStatusCommand: Command {
    static let name = "status"
    static let summary = "database files, sizes, schema version, rows per table"
    static let usage = """
        Usage: orchestrator db status [-o text|json]

        The database of the data directory: its files and their sizes, the schema version, and
        the rows of each table (resources, tasks, items, runs, events).
        """
    var output = TaskCommand.Output.text
    var dataDirectory: String?
    var routing: DaemonRouting { .daemon(dataDirectory: dataDirectory) }

    static var options: [Option<Self>] { [.output(\.output), .dataDirectory(\.dataDirectory)] }

    func run(context: CommandContext) -> ExitStatus {
        runStoreCommand(context) {
            let store = try DataDirectory.openExisting(dataDirectory, context: context)
            let files = try store.databaseFiles()
            var counts = try store.taskStore().counts()
            counts.insert(("resources", try store.resources().count), at: 0)
            let version = try store.schemaVersion()
            if output == .json {
                let value: JSONValue = .object([
                    ("data_directory", .string(store.dataDirectory)), ("schema_version", .int(Int64(version))),
                    ("files", .array(files.map { .object([("path", .string($0.path)), ("bytes", .int($0.bytes))]) })),
                    ("bytes", .int(files.map(\.bytes).reduce(0, +))),
                    ("rows", .object(counts.map { ($0.table, .int(Int64($0.rows))) })),
                ])
                context.stdout.write(JSONWriter(pretty: true).string(value) + "\n")
            } else {
                var text = "data directory:  \(store.dataDirectory)\nschema version:  \(version)\n"
                // SQLite: the file and its journals; PostgreSQL: the database on its server.
                let label = context.storeLocation == nil ? "file:            " : "database:        "
                for file in files { text += label + "\(file.path) (\(file.bytes) bytes)\n" }
                text += "total:           \(files.map(\.bytes).reduce(0, +)) bytes\n"
                for count in counts { text += ForegroundRun.pad(count.table + ":", 17) + "\(count.rows)\n" }
                context.stdout.write(text)
            }
            return .success
        }
    }
}

/// `db vacuum`
struct DatabaseVacuumCommand: Command {
    static let name = "vacuum"
    static let summary = "rebuild the database to reclaim the space of deleted rows"
    static let usage = """
        Usage: orchestrator db vacuum

        Checkpoints the write-ahead log and rebuilds the database file (SQLite VACUUM), so the
        space of deleted events and tasks returns to the file system. It needs free space about
        the size of the database while it runs.
        """
    var dataDirectory: String?
    var routing: DaemonRouting { .daemon(dataDirectory: dataDirectory) }

    static var options: [Option<Self>] { [.dataDirectory(\.dataDirectory)] }

    func run(context: CommandContext) -> ExitStatus {
        runStoreCommand(context) {
            let store = try DataDirectory.openExisting(dataDirectory, context: context)
            let sizes = try store.vacuum()
            context.stdout.write("vacuumed \(store.dataDirectory): \(sizes.before) bytes before, \(sizes.after) after\n")
            return .success
        }
    }
}
