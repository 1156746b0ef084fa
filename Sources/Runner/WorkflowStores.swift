import Compiler
import JSON
import Manifest
import Platform
import Store
import YAML

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Reading and writing WorkflowStore entries (docs/stores.md), for the runner (store_inputs,
// store_outputs, store_put) and the `store` commands alike: one access type over the three
// providers: the built-in one (entries in our store, versioned per key), `file` (a JSON file per
// key under base_path) and StoreBackendProvider commands (the documented contract below).
// Every write checks the store's schema first and applies its retention after.

/// A store operation that could not be done; the message says what and why.
public struct WorkflowStoreError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// One entry as a provider returns it.
public struct StoreValue: Sendable, Equatable {
    public var key: String
    public var value: JSONValue
    /// The built-in provider's version of the key (nil for the others).
    public var version: Int?
    public var updatedAt: String?

    public var json: JSONValue {
        .object([
            ("key", .string(key)), ("value", value), ("version", version.map { .int(Int64($0)) } ?? .null),
            ("updated_at", updatedAt.map { .string($0) } ?? .null),
        ])
    }
}

/// What a write did.
public struct StoreWriteResult: Sendable {
    /// The built-in provider's new version of the key.
    public var version: Int?
    /// Keys the store's retention deleted after the write.
    public var pruned: [String]
}

public struct WorkflowStoreAccess: Sendable {
    public let definition: WorkflowStoreDefinition
    public let provider: WorkflowStoreDefinition.Provider
    public let project: String
    let tasks: any TaskStore
    /// Variables passed to command providers (PATH, HOME, ... of the caller).
    let environment: [String: String]

    /// The store `name` of `project` as the resources define it (an undeclared store is built-in).
    public init(store name: String, project: String, resources: [Resource], tasks: any TaskStore, environment: [String: String]) throws {
        try self.init(store: name, project: project, catalog: WorkflowStoreCatalog(resources), tasks: tasks, environment: environment)
    }

    public init(store name: String, project: String, catalog: WorkflowStoreCatalog, tasks: any TaskStore, environment: [String: String]) throws {
        let definition = catalog.definition(name)
        switch catalog.provider(of: definition) {
        case .success(let provider): self.provider = provider
        case .failure(let error): throw WorkflowStoreError(error.message)
        }
        self.definition = definition
        self.project = project
        self.tasks = tasks
        self.environment = environment
    }

    /// `builtin`, `file DIR` or `commands of PROVIDER`.
    public var providerDescription: String {
        switch provider {
        case .builtin: return "built-in"
        case .files(let base): return "file (\(resolvedBase(base)))"
        case .commands(let name, _): return "commands of StoreBackendProvider \(name)"
        }
    }

    /// A key the stores accept: 1 to 512 bytes, no control characters.
    public static func keyProblem(_ key: String) -> String? {
        if key.isEmpty { return "the key is empty" }
        if key.utf8.count > 512 { return "the key is longer than 512 bytes" }
        if key.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) { return "the key contains a control character" }
        return nil
    }

    // MARK: - Operations

    public func get(_ key: String) throws -> StoreValue? {
        if let problem = Self.keyProblem(key) { throw WorkflowStoreError("store \(definition.name): \(problem)") }
        switch provider {
        case .builtin:
            guard let entry = try tasks.storeEntry(StoreEntryKey(project: project, store: definition.name, key: key)) else { return nil }
            return StoreValue(key: key, value: entry.value, version: entry.version, updatedAt: entry.updatedAt)
        case .files(let base):
            guard let bytes = readFileBytes(resolvedBase(base) + "/" + Self.fileName(key)) else { return nil }
            let value = (try? JSONParser.parse(bytes)) ?? .string(String(decoding: bytes, as: UTF8.self))
            return StoreValue(key: key, value: value, version: nil, updatedAt: nil)
        case .commands(let name, let commands):
            let ran = try runCommand(commands.get, operation: "get", provider: name, key: key)
            if ran.exitCode == 2 { return nil }
            guard ran.exitCode == 0 else { throw failure(ran, operation: "get", provider: name) }
            return StoreValue(key: key, value: Self.parseValue(ran.stdout), version: nil, updatedAt: nil)
        }
    }

    /// Writes `value` under `key` after checking the schema; applies the retention after.
    public func put(_ key: String, value: JSONValue, task: String?, step: String?) throws -> StoreWriteResult {
        if let problem = Self.keyProblem(key) { throw WorkflowStoreError("store \(definition.name): \(problem)") }
        if let problem = schemaProblem(key: key, value: value) { throw WorkflowStoreError(problem) }
        var version: Int?
        switch provider {
        case .builtin:
            version = try tasks.write { writer in
                try writer.putStoreEntry(StoreEntryKey(project: project, store: definition.name, key: key), value: value, task: task, step: step)
            }
        case .files(let base):
            let directory = resolvedBase(base)
            do {
                try makeDirectories(directory)
                try AtomicFile.write(directory + "/" + Self.fileName(key), Array(JSONWriter().string(value).utf8))
            } catch {
                throw WorkflowStoreError("store \(definition.name): \(error)")
            }
        case .commands(let name, let commands):
            let ran = try runCommand(commands.put, operation: "put", provider: name, key: key, input: Array(JSONWriter().string(value).utf8))
            guard ran.exitCode == 0 else { throw failure(ran, operation: "put", provider: name) }
        }
        let pruned = definition.maxEntries != nil || definition.ttlDays != nil ? try prune() : []
        return StoreWriteResult(version: version, pruned: pruned)
    }

    public func delete(_ key: String) throws -> Bool {
        if let problem = Self.keyProblem(key) { throw WorkflowStoreError("store \(definition.name): \(problem)") }
        switch provider {
        case .builtin:
            return try tasks.write { writer in try writer.deleteStoreEntry(StoreEntryKey(project: project, store: definition.name, key: key)) }
        case .files(let base):
            return unlink(resolvedBase(base) + "/" + Self.fileName(key)) == 0
        case .commands(let name, let commands):
            let ran = try runCommand(commands.delete, operation: "delete", provider: name, key: key)
            if ran.exitCode == 2 { return false }
            guard ran.exitCode == 0 else { throw failure(ran, operation: "delete", provider: name) }
            return true
        }
    }

    /// Every entry, by key (command providers: the keys their `list` prints, values read with `get`).
    public func list() throws -> [StoreValue] {
        switch provider {
        case .builtin:
            return try tasks.storeEntries(project: project, store: definition.name).map {
                StoreValue(key: $0.key.key, value: $0.value, version: $0.version, updatedAt: $0.updatedAt)
            }
        case .files(let base):
            let directory = resolvedBase(base)
            return directoryEntries(directory).compactMap { name -> StoreValue? in
                guard name.hasSuffix(".json"), let key = Self.key(fromFileName: name), let bytes = readFileBytes(directory + "/" + name) else { return nil }
                var info = stat()
                let modified = stat(directory + "/" + name, &info) == 0 ? StoreClock.timestamp(epochMilliseconds: Int64(info.st_mtim.tv_sec) * 1000) : nil
                return StoreValue(
                    key: key, value: (try? JSONParser.parse(bytes)) ?? .string(String(decoding: bytes, as: UTF8.self)), version: nil,
                    updatedAt: modified)
            }
        case .commands(let name, let commands):
            let ran = try runCommand(commands.list, operation: "list", provider: name, key: nil)
            guard ran.exitCode == 0 else { throw failure(ran, operation: "list", provider: name) }
            let keys: [String]
            if case .array(let values)? = try? JSONParser.parse(ran.stdout) {
                keys = values.compactMap(\.stringValue)
            } else {
                keys = ran.stdout.split(separator: "\n").map(String.init).filter { !$0.isEmpty }
            }
            return try keys.sorted().compactMap { try get($0) }
        }
    }

    /// The store's retention now: entries older than `ttl_days` and beyond the `max_entries`
    /// newest are deleted. Returns the deleted keys (a command provider's prune prints them).
    public func prune() throws -> [String] {
        guard definition.maxEntries != nil || definition.ttlDays != nil else { return [] }
        let cutoffMilliseconds = definition.ttlDays.map { realtimeMilliseconds() - Int64($0) * 86_400_000 }
        switch provider {
        case .builtin:
            return try tasks.write { writer in
                try writer.pruneStoreEntries(
                    project: project, store: definition.name, keepNewest: definition.maxEntries,
                    updatedBefore: cutoffMilliseconds.map { StoreClock.timestamp(epochMilliseconds: $0) })
            }
        case .files(let base):
            let directory = resolvedBase(base)
            var files: [(name: String, modified: Int64)] = directoryEntries(directory).filter { $0.hasSuffix(".json") }.map { name in
                var info = stat()
                let modified = stat(directory + "/" + name, &info) == 0 ? Int64(info.st_mtim.tv_sec) * 1000 + Int64(info.st_mtim.tv_nsec / 1_000_000) : 0
                return (name, modified)
            }
            files.sort { ($0.modified, $0.name) > ($1.modified, $1.name) }
            var doomed: [String] = []
            for (index, file) in files.enumerated() {
                if let limit = definition.maxEntries, index >= limit { doomed.append(file.name) } else if let cutoff = cutoffMilliseconds, file.modified < cutoff { doomed.append(file.name) }
            }
            return doomed.compactMap { name in unlink(directory + "/" + name) == 0 ? Self.key(fromFileName: name) : nil }
        case .commands(let name, let commands):
            guard let prune = commands.prune else { return [] }
            let ran = try runCommand(prune, operation: "prune", provider: name, key: nil)
            guard ran.exitCode == 0 else { throw failure(ran, operation: "prune", provider: name) }
            return ran.stdout.split(separator: "\n").map(String.init).filter { !$0.isEmpty }
        }
    }

    // MARK: - Schema

    /// Why `{"key": KEY, "value": VALUE}` breaks the store's schema; nil when it conforms.
    public func schemaProblem(key: String, value: JSONValue) -> String? {
        guard let schema = definition.schema else { return nil }
        let entry = JSONValue.object([("key", .string(key)), ("value", value)])
        guard let instance = try? YAMLParser.parse(JSONWriter().string(entry)).first?.root else {
            return "store \(definition.name): the entry cannot be checked against the schema"
        }
        let violations = JSONSchemaCheck.violations(
            of: instance, against: schema, file: definition.file ?? definition.name, owner: "WorkflowStore `\(definition.name)`")
        guard !violations.isEmpty else { return nil }
        return "store \(definition.name): key \(key) breaks the schema of WorkflowStore \(definition.name) (it describes the entry {key, value}): "
            + violations.prefix(3).map(\.message).joined(separator: "; ")
    }

    // MARK: - Providers

    /// A relative `base_path` is relative to the data directory.
    func resolvedBase(_ base: String) -> String {
        base.hasPrefix("/") ? base : tasks.dataDirectory + "/" + base
    }

    /// `%XX` for every byte outside `[A-Za-z0-9._-]`, then `.json`.
    static func fileName(_ key: String) -> String {
        var name = ""
        for byte in key.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "_"), UInt8(ascii: "-"):
                name.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = String(byte, radix: 16, uppercase: true)
                name += "%" + (hex.count == 1 ? "0" : "") + hex
            }
        }
        return name + ".json"
    }

    static func key(fromFileName name: String) -> String? {
        var bytes: [UInt8] = []
        var iterator = Array(name.dropLast(5).utf8).makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%") {
                guard let high = iterator.next(), let low = iterator.next(),
                    let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16)
                else { return nil }
                bytes.append(value)
            } else {
                bytes.append(byte)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    /// A command's output as a value: JSON when it parses, else the text without its last newline.
    static func parseValue(_ text: String) -> JSONValue {
        if let value = try? JSONParser.parse(text) { return value }
        return .string(text.hasSuffix("\n") ? String(text.dropLast()) : text)
    }

    struct CommandRun {
        var exitCode: Int32
        var stdout: String
        var stderr: String
    }

    /// The contract (docs/stores.md "Command providers"): `sh -c COMMAND` in the data directory
    /// with ORCHESTRATOR_STORE, ORCHESTRATOR_PROJECT, ORCHESTRATOR_KEY (get, put, delete),
    /// ORCHESTRATOR_MAX_ENTRIES and ORCHESTRATOR_TTL_DAYS (prune); `put` gets the value as JSON on
    /// stdin. Exit 0: done (get prints the value); exit 2: no such key (get, delete).
    func runCommand(_ command: String, operation: String, provider: String, key: String?, input: [UInt8]? = nil) throws -> CommandRun {
        var template = Array("/tmp/orchestrator-store-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else {
            throw WorkflowStoreError("cannot create a temporary directory: \(errnoDescription(errno))")
        }
        let scratch = String(cString: made)
        defer { removeTree(scratch) }
        var variables: [String: String] = ["ORCHESTRATOR_STORE": definition.name, "ORCHESTRATOR_PROJECT": project, "ORCHESTRATOR_OPERATION": operation]
        if let key { variables["ORCHESTRATOR_KEY"] = key }
        if let limit = definition.maxEntries { variables["ORCHESTRATOR_MAX_ENTRIES"] = String(limit) }
        if let days = definition.ttlDays { variables["ORCHESTRATOR_TTL_DAYS"] = String(days) }
        for name in ["PATH", "HOME", "USER", "LANG", "TMPDIR"] where variables[name] == nil {
            if let value = environment[name] { variables[name] = value }
        }
        var request = ProcessRequest(
            command: command, workingDirectory: tasks.dataDirectory, environment: variables, standardInput: input.map { .bytes($0) } ?? .null,
            stdoutLogPath: scratch + "/stdout", stderrLogPath: scratch + "/stderr", timeout: .seconds(300))
        request.inheritedVariables = []
        let result: ProcessResult
        do {
            result = try ProcessLauncher.runBlocking(request)
        } catch {
            throw WorkflowStoreError("store \(definition.name): cannot run the \(operation) command of StoreBackendProvider \(provider): \(error)")
        }
        let code: Int32
        switch result.termination {
        case .exited(let status): code = status
        default: code = 128
        }
        return CommandRun(
            exitCode: result.timedOut ? 124 : code, stdout: String(decoding: readFileBytes(scratch + "/stdout") ?? [], as: UTF8.self),
            stderr: String(decoding: readFileBytes(scratch + "/stderr", limit: 4096) ?? [], as: UTF8.self))
    }

    func failure(_ ran: CommandRun, operation: String, provider: String) -> WorkflowStoreError {
        let line = ran.stderr.split(separator: "\n").first.map(String.init) ?? "no output on stderr"
        return WorkflowStoreError(
            "store \(definition.name): the \(operation) command of StoreBackendProvider \(provider) exited \(ran.exitCode): \(line)")
    }
}
