import JSON

/// Encrypts and decrypts SecretStore values with the keys of the user's key file.
///
/// A stored SecretStore keeps its shape; each literal value of `spec.data` (a string, a number,
/// any non-object JSON value) is replaced by a string `enc:v1:KEYID:BASE64`, the AES-256-GCM
/// encryption (random 96-bit nonce, 128-bit tag) of the value's JSON text under the key `KEYID`,
/// which is also authenticated. `{fromEnv: NAME}` entries name a variable and stay as they are.
/// The key file is read on each call that needs it and created only when a value is sealed.
public struct SecretCipher: Sendable {
    public let keyFile: SecretKeyFile

    public static let prefix = "enc:v1:"

    public init(keyFile: SecretKeyFile) { self.keyFile = keyFile }

    /// True for a value this cipher wrote.
    public static func isSealed(_ value: JSONValue) -> Bool {
        if case .string(let text) = value { return text.hasPrefix(prefix) }
        return false
    }

    /// The id of the key a sealed value was encrypted with.
    public static func keyID(of value: JSONValue) -> String? {
        guard case .string(let text) = value, text.hasPrefix(prefix) else { return nil }
        let rest = text.dropFirst(prefix.count)
        guard let colon = rest.firstIndex(of: ":") else { return nil }
        return String(rest[..<colon])
    }

    private static func associatedData(_ keyID: String) -> [UInt8] { Array("orchestrator secret v1 \(keyID)".utf8) }

    // MARK: values

    /// `value` encrypted with the current key of `keys`.
    static func seal(_ value: JSONValue, keys: [SecretKey]) throws(SecretKeyError) -> JSONValue {
        guard let current = keys.last else { throw SecretKeyError("no secret key to encrypt with") }
        let plaintext = Array(JSONWriter().string(value).utf8)
        let sealed = try SecretCrypto.seal(plaintext, key: current.bytes, aad: associatedData(current.id))
        return .string(prefix + current.id + ":" + Base64.encode(sealed))
    }

    /// The plaintext value of a sealed one (a value that is not sealed is returned as it is).
    func open(_ value: JSONValue, keys: [SecretKey]) throws(SecretKeyError) -> JSONValue {
        guard case .string(let text) = value, text.hasPrefix(SecretCipher.prefix) else { return value }
        let rest = text.dropFirst(SecretCipher.prefix.count)
        guard let colon = rest.firstIndex(of: ":"), let sealed = Base64.decode(rest[rest.index(after: colon)...]) else {
            throw SecretKeyError(
                "a stored secret is damaged (not a well-formed encrypted value)",
                help: "apply the SecretStore's values again")
        }
        let id = String(rest[..<colon])
        guard let key = keys.first(where: { $0.id == id }) else {
            let held = keys.isEmpty ? (keyFile.exists ? "it holds no key" : "it does not exist") : "it holds \(keys.map(\.id).joined(separator: ", "))"
            throw SecretKeyError(
                "a stored secret was encrypted with key \(id), which the secret key file \(keyFile.path) does not hold (\(held)): this database was written with another key file",
                help: "use the key file it was written with (XDG_CONFIG_HOME selects the directory holding orchestrator/secret.key), or apply the SecretStore's values again")
        }
        guard let plaintext = SecretCrypto.open(sealed, key: key.bytes, aad: SecretCipher.associatedData(id)),
            let opened = try? JSONParser.parse(plaintext)
        else {
            throw SecretKeyError(
                "a stored secret does not decrypt with key \(id) of the secret key file \(keyFile.path): the value or the key file is damaged",
                help: "restore the key file from a backup, or apply the SecretStore's values again")
        }
        return opened
    }

    // MARK: task variables

    /// A task's `--set` and trigger variables with every value encrypted with the current key
    /// (creating the key file when it has none): a value may be a token, and the store keeps
    /// nothing secret in plain text. Nothing is read or created when there are none.
    func sealVariables(_ variables: [(name: String, value: String)]) throws(SecretKeyError) -> [(name: String, value: JSONValue)] {
        guard !variables.isEmpty else { return [] }
        let keys = try keyFile.loadOrCreate()
        var sealed: [(name: String, value: JSONValue)] = []
        for variable in variables { sealed.append((variable.name, try SecretCipher.seal(.string(variable.value), keys: keys))) }
        return sealed
    }

    /// The variables as stored, decrypted (a value stored in plain text by an earlier version
    /// is taken as it is). `keys` are loaded on the first sealed value.
    func openVariables(_ stored: [(name: String, value: JSONValue)], keys: inout [SecretKey]?) throws(SecretKeyError) -> [(name: String, value: String)] {
        var opened: [(name: String, value: String)] = []
        for variable in stored {
            guard SecretCipher.isSealed(variable.value) else {
                opened.append((variable.name, variable.value.stringValue ?? ""))
                continue
            }
            let loaded: [SecretKey]
            if let keys {
                loaded = keys
            } else {
                loaded = try keyFile.load()
            }
            keys = loaded
            let value = try open(variable.value, keys: loaded)
            opened.append((variable.name, value.stringValue ?? JSONWriter().string(value)))
        }
        return opened
    }

    // MARK: SecretStore specs

    /// The literal entries of a SecretStore spec's `data`, each passed through `transform`.
    static func mapLiterals(
        _ spec: JSONValue, _ transform: (JSONValue) throws(SecretKeyError) -> JSONValue
    ) throws(SecretKeyError) -> JSONValue {
        guard case .object(var pairs) = spec, let index = pairs.firstIndex(where: { $0.key == "data" }),
            case .object(var data) = pairs[index].value
        else { return spec }
        for entry in data.indices {
            if case .object = data[entry].value { continue }
            data[entry].value = try transform(data[entry].value)
        }
        pairs[index].value = .object(data)
        return .object(pairs)
    }

    /// The literal values of a SecretStore spec (sealed or not).
    static func literals(_ spec: JSONValue) -> [JSONValue] {
        guard case .object(let data) = spec["data"] ?? .null else { return [] }
        return data.compactMap { entry in
            if case .object = entry.value { return nil }
            return entry.value
        }
    }

    /// A SecretStore spec with every literal value decrypted (reads the key file only when a
    /// value is sealed).
    public func openSpec(_ spec: JSONValue) throws(SecretKeyError) -> JSONValue {
        guard SecretCipher.literals(spec).contains(where: SecretCipher.isSealed) else { return spec }
        let keys = try keyFile.load()
        return try SecretCipher.mapLiterals(spec) { (value) throws(SecretKeyError) in try open(value, keys: keys) }
    }

    /// A SecretStore spec with every literal value encrypted with the current key (values sealed
    /// with another key are re-encrypted). Creates the key file when it has no key yet.
    public func sealSpec(_ spec: JSONValue) throws(SecretKeyError) -> JSONValue {
        guard !SecretCipher.literals(spec).isEmpty else { return spec }
        let keys = try keyFile.loadOrCreate()
        return try SecretCipher.mapLiterals(spec) { (value) throws(SecretKeyError) in
            try SecretCipher.seal(try open(value, keys: keys), keys: keys)
        }
    }

    /// Manifest documents (a task's snapshot) with every SecretStore's values decrypted.
    public func openDocuments(_ documents: JSONValue) throws -> JSONValue {
        try SecretCipher.mapSecretStoreSpecs(documents) { try openSpec($0) }
    }

    /// Manifest documents with the spec of each SecretStore passed through `transform`.
    static func mapSecretStoreSpecs(_ documents: JSONValue, _ transform: (JSONValue) throws -> JSONValue) rethrows -> JSONValue {
        guard case .array(let items) = documents else { return documents }
        var mapped: [JSONValue] = []
        mapped.reserveCapacity(items.count)
        for document in items {
            guard document["kind"]?.stringValue == "SecretStore", case .object(var pairs) = document,
                let index = pairs.firstIndex(where: { $0.key == "spec" })
            else {
                mapped.append(document)
                continue
            }
            pairs[index].value = try transform(pairs[index].value)
            mapped.append(.object(pairs))
        }
        return .array(mapped)
    }

    // MARK: keyed content hashes

    /// HMAC-SHA256 (hex) of `text` under a key derived from the current secret key: the content
    /// hash of a SecretStore, so that what `describe` prints cannot be brute-forced back to a
    /// short secret without the key file. `create` makes the key file when there is none; without
    /// it, nil when there is no key.
    public func keyedHash(_ text: String, create: Bool) throws(SecretKeyError) -> String? {
        let keys = create ? try keyFile.loadOrCreate() : try keyFile.load()
        guard let current = keys.last else { return nil }
        return SecretCipher.keyedHash(text, key: current)
    }

    static func keyedHash(_ text: String, key: SecretKey) -> String {
        let hashKey = SecretCrypto.hmacSHA256(key: key.bytes, Array("orchestrator content hash v1".utf8))
        return SecretKey.hex(SecretCrypto.hmacSHA256(key: hashKey, Array(text.utf8)))
    }
}
