import Compiler
import Diagnostics
import JSON
import Manifest
import Platform
import Store
import YAML

/// What `apply` and `diff` share: read the files, decode and compile them together with what is
/// already stored in their projects, and compute the records to store.
struct ApplyPreparation {
    var sources: [SourceFile]
    var diagnostics: [Diagnostic]
    var desired: [DesiredResource]
    var pruneScope: Set<PruneScope>
    /// The files compiled together with the stored resources (a `run` reuses its graph: the
    /// workflow is compiled once per process).
    var compilation: Compilation

    var hasErrors: Bool { diagnostics.contains { $0.severity == .error } }

    /// Reads `-f` inputs. A usage error when none is given or a file is missing.
    static func readSources(_ paths: [String], context: CommandContext, command: String) throws(UsageError) -> [SourceFile] {
        guard !paths.isEmpty else {
            throw UsageError("`\(command)` needs manifests: -f FILE|DIR|-", help: "e.g. `orchestrator \(command) -f manifests/`")
        }
        do {
            return try FileSystem.readInputs(paths, context: context)
        } catch {
            throw UsageError(error.description)
        }
    }

    /// Decodes the resources stored in `projects` back into manifest resources (for compiling
    /// new files against them).
    static func storedResources(_ store: any ResourceStore, projects: Set<String>, excluding: Set<ResourceKey>) throws -> [Resource] {
        var resources: [Resource] = []
        for project in projects.sorted() {
            let documents = try store.resources(project: project, excluding: excluding)
                .map { ManifestRecords.document($0, maskSecrets: false) }
            resources += ManifestRecords.resources(fromDocuments: documents, project: project)
        }
        return resources
    }

    /// `-f` files, `--project` and `--prune` from the command line, prepared against `store`;
    /// the findings are reported on stderr (in the format of `report`) before the command goes on.
    /// The store is opened only after the inputs are read, so a usage error creates nothing.
    static func prepareAndReport(
        files: [String], project: String?, prune: Bool, report: DiagnosticOptions,
        openStore: () throws -> any ResourceStore, context: CommandContext, command: String
    ) throws -> (prepared: ApplyPreparation, store: any ResourceStore) {
        let sources = try readSources(files, context: context, command: command)
        // The store is opened on another thread while the files are parsed and decoded (issue
        // 20: creating a new data directory, its database and key file, took 4 ms of an apply of
        // 1,000 resources, mostly waiting for the disk). Without a thread, it is opened here.
        let (loaded, opening) = withoutActuallyEscaping(openStore) { openStore in
            // The thread is joined before this closure returns.
            let opened = Locked<Result<any ResourceStore, any Error>?>(nil)
            let opener = Threads.start(joinable: true) {
                let result = Result { try openStore() }
                opened.withLock { $0 = result }
            }
            let loaded = ManifestLoader.load(sources, projectOverride: project)
            opener?.join()
            return (loaded, opened.withLock { $0 } ?? Result { try openStore() })
        }
        let store = try opening.get()
        let prepared = try prepare(loaded: loaded, project: project, prune: prune, store: store, context: context)
        if !prepared.diagnostics.isEmpty {
            report.emit(
                prepared.diagnostics, sources: prepared.sources, files: prepared.sources.count,
                context: context, alwaysToStandardError: true)
        }
        return (prepared, store)
    }

    /// `loaded`: the `-f` files loaded with `--project`.
    static func prepare(
        loaded: LoadedManifests, project: String?, prune: Bool, store: any ResourceStore, context: CommandContext
    ) throws -> ApplyPreparation {
        var diagnostics = loaded.diagnostics
        // Relative root paths mean the directory the command runs in (as in the replaced system);
        // it is asked for once, not once per resource. The stored forms (JSON and content hash)
        // are computed in slices on the machine's cores (issue 20), kept in resource order.
        let directory = context.absoluteDirectory
        let resources = loaded.resources
        let slice = 64
        let slices = stride(from: 0, to: resources.count, by: slice).map { $0..<min($0 + slice, resources.count) }
        var desired: [DesiredResource] = []
        desired.reserveCapacity(resources.count)
        for part in Parallel.map(slices, { range in
            range.map { ManifestRecords.desired(resources[$0], project: resources[$0].resolvedProject, baseDirectory: directory) }
        }) {
            desired += part
        }
        diagnostics += WorkspacePaths.check(loaded.resources, currentDirectory: directory)
        diagnostics += conflictingDefinitions(loaded.resources)
        let keys = Set(desired.map(\.key))
        let projects = Set(desired.map(\.key.project))
        let stored = try storedResources(store, projects: projects, excluding: keys)
        let compilation = Compiler.compile(loaded.resources, sources: loaded.sources, store: .read(stored))
        diagnostics += compilation.diagnostics
        // A SecretStore value written as `***` (as `export` writes them) keeps the stored value.
        for index in desired.indices where desired[index].key.kind == ResourceKind.secretStore.rawValue {
            let previous = try store.resource(desired[index].key)
            switch keepStoredSecrets(desired[index], stored: previous) {
            case .resolved(let updated): desired[index] = updated
            case .missing(let finding):
                let file = loaded.resources.first { $0.kind == .secretStore && $0.name == desired[index].key.name }
                var located = finding
                located.file = file?.file
                located.range = file.map { $0.node["spec"]?.range ?? $0.kindRange }
                diagnostics.append(located)
            }
        }
        var scope = Set<PruneScope>()
        if prune { for key in keys { scope.insert(PruneScope(project: key.project, kind: key.kind)) } }
        return ApplyPreparation(
            sources: loaded.sources, diagnostics: diagnostics, desired: desired, pruneScope: scope, compilation: compilation)
    }

    /// One apply stores one resource per kind, project and name: a second definition in another
    /// file would silently replace the first (a template of one workflow taking another's
    /// place), so it is an error at the second definition. (Within one file the compiler reports
    /// it as `duplicate-resource`.)
    static func conflictingDefinitions(_ resources: [Resource]) -> [Diagnostic] {
        // Only definitions in different files conflict here: with one file there is nothing to
        // look for (issue 20: the keys of 1,000 resources hashed for nothing).
        guard let firstFile = resources.first?.file, resources.contains(where: { $0.file != firstFile }) else { return [] }
        var first: [ResourceKey: Int] = [:]
        first.reserveCapacity(resources.count)
        var findings: [Diagnostic] = []
        for (index, resource) in resources.enumerated() {
            let key = ResourceKey(kind: resource.kindName, project: resource.resolvedProject, name: resource.name)
            guard let earlierIndex = first[key] else {
                first[key] = index
                continue
            }
            let earlier = resources[earlierIndex]
            guard earlier.file != resource.file else { continue }
            findings.append(
                .error(
                    "duplicate-resource",
                    "\(key.kind) `\(key.name)` (project `\(key.project)`) is also defined in \(earlier.file):\(earlier.metadata.name.range.start.line); apply stores one resource per kind, project and name",
                    file: resource.file, range: resource.metadata.name.range,
                    help: "rename one of them, or give the files different projects (`metadata.project` or --project)"))
        }
        return findings
    }

    enum SecretResolution {
        case resolved(DesiredResource)
        case missing(Diagnostic)
    }

    static func keepStoredSecrets(_ desired: DesiredResource, stored: StoredResource?) -> SecretResolution {
        guard case .object(var specPairs) = desired.spec, let dataIndex = specPairs.firstIndex(where: { $0.key == "data" }),
            case .object(var data) = specPairs[dataIndex].value
        else { return .resolved(desired) }
        var changed = false
        for index in data.indices where data[index].value == .string(ManifestRecords.mask) {
            guard let previous = stored?.spec["data"]?[data[index].key] else {
                return .missing(
                    Diagnostic.error(
                        "secret-placeholder",
                        "SecretStore/\(desired.key.name) key `\(data[index].key)` is `***` but no value is stored for it",
                        help: "`***` keeps a stored secret (it is what `export` writes); give the real value, or `{fromEnv: NAME}`"))
            }
            data[index].value = previous
            changed = true
        }
        guard changed else { return .resolved(desired) }
        specPairs[dataIndex].value = .object(data)
        var updated = desired
        updated.spec = .object(specPairs)
        updated.contentHash = ManifestRecords.contentHash(
            kind: desired.key.kind, apiVersion: desired.apiVersion, metadata: desired.metadata, spec: updated.spec)
        return .resolved(updated)
    }

    /// The line `apply` prints for one resource; a Workspace's names the root it resolved to.
    func line(for outcome: ApplyOutcome, dryRun: Bool) -> String {
        let verb = dryRun ? "would be \(outcome.change.rawValue)" : outcome.change.rawValue
        var detail = "project: \(outcome.key.project)"
        if outcome.key.kind == ResourceKind.workspace.rawValue,
            let resource = desired.first(where: { $0.key == outcome.key }),
            case .string(let root) = resource.spec["root_path"] ?? .null
        {
            detail += ", root: \(root)"
        }
        return "\(outcome.key.kind)/\(outcome.key.name) \(verb) (\(detail))\n"
    }
}
