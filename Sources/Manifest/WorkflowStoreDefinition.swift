import Diagnostics
import YAML

// WorkflowStore and StoreBackendProvider as the runner and the `store` commands use them
// (docs/stores.md), read from the spec the decoder checked against the field tables
// (parity.md, WorkflowStoreConfig and StoreBackendProviderConfig). A store that no WorkflowStore
// declares is a built-in store without schema or retention, as in the replaced system.

public struct WorkflowStoreDefinition: Sendable {
    /// Where the entries live.
    public enum Provider: Sendable, Equatable {
        /// In the orchestrator's own store, versioned per key (`local`, the default).
        case builtin
        /// One JSON file per key under a folder (`file`, with `base_path`).
        case files(basePath: String)
        /// A StoreBackendProvider with shell commands.
        case commands(provider: String, StoreBackendCommands)
    }

    public var name: String
    /// The provider as written (`local`, `file` or a StoreBackendProvider's name).
    public var providerName: Located<String>?
    public var basePath: Located<String>?
    /// The JSON Schema each entry (`{"key": ..., "value": ...}`) must satisfy when written.
    public var schema: Node?
    public var maxEntries: Int?
    public var ttlDays: Int?
    /// False for a store no WorkflowStore declares.
    public var declared: Bool
    public var file: String?
    public var nameRange: SourceRange?

    /// A store that no WorkflowStore declares: built-in, no schema, no retention.
    public static func undeclared(_ name: String) -> WorkflowStoreDefinition {
        WorkflowStoreDefinition(
            name: name, providerName: nil, basePath: nil, schema: nil, maxEntries: nil, ttlDays: nil, declared: false, file: nil, nameRange: nil)
    }

    init(
        name: String, providerName: Located<String>?, basePath: Located<String>?, schema: Node?, maxEntries: Int?, ttlDays: Int?,
        declared: Bool, file: String?, nameRange: SourceRange?
    ) {
        self.name = name
        self.providerName = providerName
        self.basePath = basePath
        self.schema = schema
        self.maxEntries = maxEntries
        self.ttlDays = ttlDays
        self.declared = declared
        self.file = file
        self.nameRange = nameRange
    }

    /// nil when the resource is not a WorkflowStore.
    public init?(_ resource: Resource) {
        guard case .workflowStore(let stored) = resource.spec else { return nil }
        let spec = stored.node
        name = resource.name
        providerName = StoreSpecReading.text(spec["provider"])
        basePath = StoreSpecReading.text(spec["base_path"])
        if let node = spec["schema"], !node.isNull { schema = node } else { schema = nil }
        maxEntries = StoreSpecReading.integer(spec["retention"]?["max_entries"])
        ttlDays = StoreSpecReading.integer(spec["retention"]?["ttl_days"])
        declared = true
        file = resource.file
        nameRange = resource.metadata.name.range
    }

    /// The retention in words (`max 100 entries, 30 days`), nil when none is set.
    public var retentionText: String? {
        let parts = [maxEntries.map { "at most \($0) entr\($0 == 1 ? "y" : "ies")" }, ttlDays.map { "\($0) day\($0 == 1 ? "" : "s")" }]
            .compactMap { $0 }
        return parts.isEmpty ? nil : parts.joined(separator: ", ")
    }
}

/// A StoreBackendProvider's shell commands (docs/stores.md "Command providers").
public struct StoreBackendCommands: Sendable, Equatable {
    public var get: String
    public var put: String
    public var delete: String
    public var list: String
    public var prune: String?
}

public struct StoreBackendProviderDefinition: Sendable {
    public var name: String
    /// `builtin: true`: the entries live in the orchestrator's store.
    public var builtin: Bool
    public var commands: StoreBackendCommands?
    public var nameRange: SourceRange

    /// nil when the resource is not a StoreBackendProvider.
    public init?(_ resource: Resource) {
        guard case .storeBackendProvider(let stored) = resource.spec else { return nil }
        let spec = stored.node
        name = resource.name
        nameRange = resource.metadata.name.range
        if case .bool(let flag)? = spec["builtin"]?.scalar?.value { builtin = flag } else { builtin = false }
        if let node = spec["commands"], let get = StoreSpecReading.text(node["get"])?.value, let put = StoreSpecReading.text(node["put"])?.value,
            let delete = StoreSpecReading.text(node["delete"])?.value, let list = StoreSpecReading.text(node["list"])?.value
        {
            commands = StoreBackendCommands(get: get, put: put, delete: delete, list: list, prune: StoreSpecReading.text(node["prune"])?.value)
        } else {
            commands = nil
        }
    }
}

/// The project's stores and providers, and how a store name resolves.
public struct WorkflowStoreCatalog: Sendable {
    public var stores: [String: WorkflowStoreDefinition]
    public var providers: [String: StoreBackendProviderDefinition]

    public init(_ resources: [Resource]) {
        var stores: [String: WorkflowStoreDefinition] = [:]
        var providers: [String: StoreBackendProviderDefinition] = [:]
        for resource in resources {
            if let store = WorkflowStoreDefinition(resource) { stores[store.name] = store }
            if let provider = StoreBackendProviderDefinition(resource) { providers[provider.name] = provider }
        }
        self.stores = stores
        self.providers = providers
    }

    /// The definition of `name` (an undeclared store is built-in).
    public func definition(_ name: String) -> WorkflowStoreDefinition { stores[name] ?? .undeclared(name) }

    /// Where a store's entries live, or why it cannot be used.
    public func provider(of store: WorkflowStoreDefinition) -> Result<WorkflowStoreDefinition.Provider, StoreResolutionError> {
        let name = store.providerName?.value ?? "local"
        switch name {
        case "local", "builtin": return .success(.builtin)
        case "file":
            guard let base = store.basePath?.value, !base.isEmpty else {
                return .failure(StoreResolutionError(message: "WorkflowStore \(store.name) uses the `file` provider without a `base_path`"))
            }
            return .success(.files(basePath: base))
        default:
            guard let provider = providers[name] else {
                let known = (["local", "file"] + providers.keys.sorted()).joined(separator: ", ")
                return .failure(
                    StoreResolutionError(
                        message: "WorkflowStore \(store.name) names provider `\(name)`, which is neither built in nor an applied StoreBackendProvider (known: \(known))"))
            }
            if provider.builtin { return .success(.builtin) }
            guard let commands = provider.commands else {
                return .failure(
                    StoreResolutionError(
                        message: "StoreBackendProvider \(name) is neither `builtin: true` nor has `commands`"))
            }
            return .success(.commands(provider: name, commands))
        }
    }
}

/// A store that cannot be used (validate reports the same with positions: Compiler/StoreChecks.swift).
public struct StoreResolutionError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

enum StoreSpecReading {
    static func text(_ node: Node?) -> Located<String>? {
        guard let node, let scalar = node.scalar, !node.isNull else { return nil }
        if case .string(let value) = scalar.value { return Located(value, range: node.range) }
        return Located(scalar.text, range: node.range)
    }

    static func integer(_ node: Node?) -> Int? {
        if case .int(let value)? = node?.scalar?.value { return Int(exactly: value) }
        return nil
    }
}
