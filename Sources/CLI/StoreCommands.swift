import Compiler
import Diagnostics
import JSON
import Manifest
import Runner
import Store
import YAML

/// Runs a store command body, mapping failures to exit codes: usage errors 2, store errors 3.
func runStoreCommand(_ context: CommandContext, _ body: () throws -> ExitStatus) -> ExitStatus {
    do {
        return try body()
    } catch let error as UsageError {
        Orchestrator.reportUsage(error, context: context)
        return .usage
    } catch let error as SecretKeyError {
        Orchestrator.reportUsage(UsageError(error.message, help: error.help), context: context)
        return .usage
    } catch let error as TaskClaimRefused {
        Orchestrator.reportUsage(UsageError(error.message, help: error.help), context: context)
        return .usage
    } catch let error as ResourceInUse {
        context.stderr.write("orchestrator: error: \(error)\n")
        return .findings
    } catch {
        context.stderr.write("orchestrator: error: \(error)\n")
        return .internalError
    }
}

/// `orchestrator init`
struct InitCommand: Command {
    static let name = "init"
    static let summary = "create the data directory and the database"
    static let usage = """
        Usage: orchestrator init [--data-dir DIR]

        Creates the data directory (mode 0700) and its database (mode 0600) and runs the schema
        migrations. Every command that needs the store does this on first use; `init` only makes
        it explicit. Running it again changes nothing.
        """
    var dataDirectory: String?

    static var options: [Option<Self>] { [.dataDirectory(\.dataDirectory)] }

    func run(context: CommandContext) -> ExitStatus {
        runStoreCommand(context) {
            let store = try DataDirectory.open(dataDirectory, context: context)
            context.stdout.write(
                "data directory \(store.dataDirectory) ready (schema version \(try store.schemaVersion()))\n")
            return .success
        }
    }
}

/// `orchestrator apply -f ...`
struct ApplyCommand: Command {
    static let name = "apply"
    static let summary = "store resources from manifests, all or nothing"
    static let usage = """
        Usage: orchestrator apply -f FILE|DIR|- ... [-p P] [--dry-run] [--prune]

        Parses, decodes and compiles the files together with what is already stored in their
        projects (so a workflow may use an agent applied earlier), then stores every resource in
        one transaction, or nothing when anything is wrong. Prints one line per resource:
        `KIND/NAME created|configured|unchanged (project: P)`. Re-applying the same files changes
        nothing. --dry-run prints what would happen (`would be ...`) and writes nothing.
        --prune also deletes stored resources of the kinds in the files, in their projects, that
        the files no longer contain. A SecretStore value written as `***` keeps the stored value.
        Exit 0 on success, 1 when the manifests have errors (nothing stored), 2 on bad usage.
        """
    var files: [String] = []
    var project: String?
    var dryRun = false
    var prune = false
    var report = DiagnosticOptions()
    var dataDirectory: String?
    var routing: DaemonRouting { .daemon(dataDirectory: dataDirectory) }

    static var options: [Option<Self>] {
        [
            .filename(\.files), .project(\.project),
            .flag(\.dryRun, "--dry-run", help: "show what would change; write nothing"),
            .flag(\.prune, "--prune", help: "delete stored resources of these kinds that the files no longer contain"),
            .group(\.report), .dataDirectory(\.dataDirectory),
        ]
    }

    func run(context: CommandContext) -> ExitStatus {
        runStoreCommand(context) {
            let (prepared, store) = try ApplyPreparation.prepareAndReport(
                files: files, project: project, prune: prune, report: report,
                openStore: {
                    dryRun
                        ? try DataDirectory.openForReading(dataDirectory, context: context)
                        : try DataDirectory.open(dataDirectory, context: context)
                }, context: context, command: Self.name)
            if prepared.hasErrors {
                if report.format == .text {
                    context.stderr.write("nothing applied: fix the errors above and apply again\n")
                }
                return .findings
            }
            if dryRun {
                // The same refusal as the real apply, without writing.
                for outcome in try store.planApply(prepared.desired, pruneScope: prepared.pruneScope) where outcome.change == .deleted {
                    let tasks = try store.unfinishedTasks(using: outcome.key)
                    if !tasks.isEmpty { throw ResourceInUse(key: outcome.key, tasks: tasks) }
                }
            }
            let outcomes =
                dryRun
                ? try store.planApply(prepared.desired, pruneScope: prepared.pruneScope)
                : try store.apply(prepared.desired, pruneScope: prepared.pruneScope)
            for outcome in outcomes { context.stdout.write(prepared.line(for: outcome, dryRun: dryRun)) }
            return .success
        }
    }
}

/// `orchestrator diff -f ...`
struct DiffCommand: Command {
    static let name = "diff"
    static let summary = "show what apply would change; exit 1 when anything would"
    static let usage = """
        Usage: orchestrator diff -f FILE|DIR|- ... [-p P] [--prune]

        For each resource, what `apply` would do, with a unified diff of the stored and the new
        YAML (secret values masked), then `N to create, N to change, N unchanged` (and
        `N to delete` with --prune). Exit 0 when nothing would change, 1 when something would,
        2 on bad usage or invalid manifests (nothing to compare), 3 on internal errors. Writes nothing.
        """
    var files: [String] = []
    var project: String?
    var prune = false
    var report = DiagnosticOptions()
    var dataDirectory: String?
    var routing: DaemonRouting { .daemon(dataDirectory: dataDirectory) }

    static var options: [Option<Self>] {
        [
            .filename(\.files), .project(\.project),
            .flag(\.prune, "--prune", help: "also show stored resources that apply --prune would delete"),
            .group(\.report), .dataDirectory(\.dataDirectory),
        ]
    }

    func run(context: CommandContext) -> ExitStatus {
        runStoreCommand(context) {
            let (prepared, store) = try ApplyPreparation.prepareAndReport(
                files: files, project: project, prune: prune, report: report,
                openStore: { try DataDirectory.openExisting(dataDirectory, context: context) }, context: context,
                command: Self.name)
            if prepared.hasErrors { return .usage }
            let outcomes = try store.planApply(prepared.desired, pruneScope: prepared.pruneScope)
            let byKey = Dictionary(prepared.desired.map { ($0.key, $0) }, uniquingKeysWith: { _, last in last })
            var counts: [ApplyChange: Int] = [:]
            for outcome in outcomes {
                counts[outcome.change, default: 0] += 1
                let label = "\(outcome.key.kind)/\(outcome.key.name) (project: \(outcome.key.project))"
                let old = try store.resource(outcome.key).map { YAMLEmitter.emit(ManifestRecords.document($0)) } ?? ""
                let new = byKey[outcome.key].map { YAMLEmitter.emit(ManifestRecords.document($0)) } ?? ""
                switch outcome.change {
                case .unchanged:
                    context.stdout.write("\(label): unchanged\n")
                    continue
                case .created: context.stdout.write("\(label): would be created\n")
                case .configured: context.stdout.write("\(label): would be configured\n")
                case .deleted: context.stdout.write("\(label): would be deleted\n")
                }
                let rendered = UnifiedDiff.render(
                        old: old, new: new, oldLabel: outcome.change == .created ? "/dev/null" : "stored/\(outcome.key.kind)/\(outcome.key.name)",
                        newLabel: outcome.change == .deleted ? "/dev/null" : "files/\(outcome.key.kind)/\(outcome.key.name)")
                // Masked secrets look the same on both sides: say that they differ.
                context.stdout.write(rendered.isEmpty ? "  (only secret values differ; they are not shown)\n" : rendered)
            }
            var summary = "\(counts[.created] ?? 0) to create, \(counts[.configured] ?? 0) to change, \(counts[.unchanged] ?? 0) unchanged"
            if prune { summary += ", \(counts[.deleted] ?? 0) to delete" }
            context.stdout.write(summary + "\n")
            let changes = (counts[.created] ?? 0) + (counts[.configured] ?? 0) + (counts[.deleted] ?? 0)
            return changes > 0 ? .findings : .success
        }
    }
}
