import Compiler
import Diagnostics
import JSON
import Manifest
import YAML

/// How resources move between manifests and the store: what `apply` stores, what `get`,
/// `export` and `diff` show.
public enum ManifestRecords {
    /// What SecretStore values look like in every output.
    public static let mask = "***"

    /// The stored form of a decoded resource. `baseDirectory` is the working directory of the
    /// command that applies it: a Workspace's relative `root_path` is stored absolute, resolved
    /// against it (as the replaced system resolves it).
    public static func desired(_ resource: Resource, project: String, baseDirectory: String) -> DesiredResource {
        var metadata: [(key: String, value: JSONValue)] = []
        if case .object(let pairs) = resource.node["metadata"]?.json ?? .null {
            metadata = pairs.filter { $0.key != "name" && $0.key != "project" }
        }
        var spec = resource.node["spec"]?.json ?? .object([])
        if resource.kind == .workspace, case .object(var pairs) = spec,
            let index = pairs.firstIndex(where: { $0.key == "root_path" }), case .string(let root) = pairs[index].value
        {
            pairs[index].value = .string(absolutePath(root, base: baseDirectory))
            spec = .object(pairs)
        }
        let key = ResourceKey(kind: resource.kindName, project: project, name: resource.name)
        return DesiredResource(
            key: key, apiVersion: resource.apiVersion, metadata: .object(metadata), spec: spec,
            contentHash: contentHash(kind: key.kind, apiVersion: resource.apiVersion, metadata: .object(metadata), spec: spec))
    }

    /// SHA-256 (hex) of the canonical form: keys sorted, numbers normalised, so formatting,
    /// comments and key order never count as a change.
    /// A SecretStore's hash is not this one: the store replaces it by a keyed hash
    /// (`ResourceStore`), so that a short secret cannot be recovered from what `describe` prints.
    public static func contentHash(kind: String, apiVersion: String, metadata: JSONValue, spec: JSONValue) -> String {
        FileDigest.sha256(of: canonicalBytes(kind: kind, apiVersion: apiVersion, metadata: metadata, spec: spec))
    }

    /// The canonical form as JSON text: what content hashes are computed over.
    public static func canonicalText(kind: String, apiVersion: String, metadata: JSONValue, spec: JSONValue) -> String {
        String(decoding: canonicalBytes(kind: kind, apiVersion: apiVersion, metadata: metadata, spec: spec), as: UTF8.self)
    }

    /// The canonical form as UTF-8 bytes (hashed as they are: no String is made).
    static func canonicalBytes(kind: String, apiVersion: String, metadata: JSONValue, spec: JSONValue) -> [UInt8] {
        let document: JSONValue = .object([
            ("apiVersion", .string(apiVersion)), ("kind", .string(kind)), ("metadata", metadata), ("spec", spec),
        ])
        var bytes: [UInt8] = []
        bytes.reserveCapacity(512)
        JSONWriter(sortedKeys: true).write(document, into: &bytes, depth: 0)
        return bytes
    }

    /// `root` made absolute against `base`, with `.` and `..` segments folded.
    public static func absolutePath(_ root: String, base: String) -> String {
        let joined = root.hasPrefix("/") ? root : base + "/" + root
        var parts: [Substring] = []
        for part in joined.split(separator: "/") {
            if part == "." || part.isEmpty { continue }
            if part == ".." { if !parts.isEmpty { parts.removeLast() }; continue }
            parts.append(part)
        }
        return "/" + parts.joined(separator: "/")
    }

    /// A stored resource as a manifest document (`apiVersion`, `kind`, `metadata`, `spec`),
    /// SecretStore values masked unless `maskSecrets` is false (never for output; stored values
    /// are encrypted, see `SecretCipher`).
    public static func document(_ stored: StoredResource, maskSecrets: Bool = true) -> JSONValue {
        var metadata: [(key: String, value: JSONValue)] = [("name", .string(stored.key.name))]
        if stored.key.kind != "Project" { metadata.append(("project", .string(stored.key.project))) }
        if case .object(let pairs) = stored.metadata { metadata += pairs }
        let spec = maskSecrets ? masked(kind: stored.key.kind, spec: stored.spec) : stored.spec
        return .object([
            ("apiVersion", .string(stored.apiVersion)), ("kind", .string(stored.key.kind)),
            ("metadata", .object(metadata)), ("spec", spec),
        ])
    }

    /// The same for a resource about to be applied (for `diff`).
    public static func document(_ desired: DesiredResource) -> JSONValue {
        document(
            StoredResource(
                key: desired.key, apiVersion: desired.apiVersion, metadata: desired.metadata, spec: desired.spec,
                contentHash: desired.contentHash, generation: 0, createdAt: "", updatedAt: ""))
    }

    /// Manifest documents read back from the store, decoded into resources of `project` (to
    /// compile against). Each is decoded as its own "file", `<store:KIND/NAME>`: stored resources
    /// come from no common file, so no same-file rule (a bundle's own workspace, a reference's
    /// own-file preference) pairs them.
    public static func resources(fromDocuments documents: [JSONValue], project: String) -> [Resource] {
        var resources: [Resource] = []
        for document in documents {
            let kind = document["kind"]?.stringValue ?? "?"
            let name = document["metadata"]?["name"]?.stringValue ?? "?"
            let decoded = ManifestDecoder.decode(
                documents: [Document(root: Node(json: document), range: SourceRange(at: .start))],
                file: "<store:\(kind)/\(name)>", projectOverride: project)
            resources += decoded.resources
        }
        return resources
    }

    /// A SecretStore spec with every literal value replaced by `***` (`{fromEnv: NAME}` entries
    /// name a variable, not a secret, and stay).
    public static func masked(kind: String, spec: JSONValue) -> JSONValue {
        guard kind == "SecretStore", case .object(var pairs) = spec,
            let index = pairs.firstIndex(where: { $0.key == "data" }), case .object(let data) = pairs[index].value
        else { return spec }
        pairs[index].value = .object(data.map { entry in
            if case .object = entry.value { return entry }
            return (entry.key, .string(mask))
        })
        return .object(pairs)
    }
}
