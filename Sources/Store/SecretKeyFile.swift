#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A secret key that is missing, wrong, unreadable or too open, or a stored secret that cannot be
/// decrypted: always names the key file and what to do. A usage error (exit 2): the fix is in the
/// user's environment, not in the manifests.
public struct SecretKeyError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var help: String?

    public init(_ message: String, help: String? = nil) {
        self.message = message
        self.help = help
    }

    public var description: String { message + (help.map { " (\($0))" } ?? "") }
}

/// One AES-256 key of the key file. `id` is its fingerprint: 16 hex digits of an HMAC of a fixed
/// label under the key, which names the key without revealing it.
public struct SecretKey: Sendable {
    public var id: String
    public var createdAt: String
    let bytes: [UInt8]

    init(bytes: [UInt8], createdAt: String) {
        self.bytes = bytes
        self.createdAt = createdAt
        id = SecretKey.fingerprint(bytes)
    }

    static func fingerprint(_ bytes: [UInt8]) -> String {
        String(hex(SecretCrypto.hmacSHA256(key: bytes, Array("orchestrator key fingerprint v1".utf8))).prefix(16))
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef")
        var out = ""
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return out
    }
}

/// The user's secret key file: `$XDG_CONFIG_HOME/orchestrator/secret.key`, else
/// `~/.config/orchestrator/secret.key`, mode 0600, never in a data directory (a copied data
/// directory or database must not carry its own key).
///
/// One key per line, oldest first; the last is the current key (new values are encrypted with
/// it), earlier ones are retired keys kept so that values they encrypted (in other data
/// directories, or before an interrupted rotation finished) still decrypt:
///
///     v1 <id> <created> <base64 of 32 bytes>
public struct SecretKeyFile: Sendable {
    public static let fileName = "secret.key"
    public let path: String

    public init(path: String) { self.path = path }

    /// The key file for an environment (`XDG_CONFIG_HOME`, `HOME`, else the passwd entry's home).
    public init(environment: [String: String]) {
        path = SecretKeyFile.configurationDirectory(environment: environment) + "/" + SecretKeyFile.fileName
    }

    /// The key file for this process's environment.
    public static func forProcess() -> SecretKeyFile {
        var environment: [String: String] = [:]
        for name in ["XDG_CONFIG_HOME", "HOME"] {
            if let value = getenv(name) { environment[name] = String(cString: value) }
        }
        return SecretKeyFile(environment: environment)
    }

    /// `$XDG_CONFIG_HOME/orchestrator` (when set and absolute), else `$HOME/.config/orchestrator`.
    public static func configurationDirectory(environment: [String: String]) -> String {
        if let xdg = environment["XDG_CONFIG_HOME"], xdg.hasPrefix("/") { return xdg + "/orchestrator" }
        if let home = environment["HOME"], home.hasPrefix("/") { return home + "/.config/orchestrator" }
        if let entry = getpwuid(getuid()), let directory = entry.pointee.pw_dir {
            return String(cString: directory) + "/.config/orchestrator"
        }
        return "/tmp/orchestrator-\(getuid())/.config/orchestrator"
    }

    var directory: String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return String(path[..<slash])
    }

    public var exists: Bool { access(path, F_OK) == 0 }

    /// The keys in the file, oldest first ([] when there is no file yet).
    public func load() throws(SecretKeyError) -> [SecretKey] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return [] }
            throw SecretKeyError("cannot read the secret key file \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw SecretKeyError("cannot read the secret key file \(path): \(String(cString: strerror(errno)))")
        }
        if info.st_mode & 0o077 != 0 {
            throw SecretKeyError(
                "the secret key file \(path) is readable by other users (mode \(String(info.st_mode & 0o777, radix: 8)))",
                help: "make it private with `chmod 600 \(path)`; anyone who read it can decrypt the stored secrets, so rotate the key too (`orchestrator secret key rotate`)")
        }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw SecretKeyError("cannot read the secret key file \(path): \(String(cString: strerror(errno)))")
            }
            if count == 0 { break }
            bytes += buffer[..<count]
        }
        var keys: [SecretKey] = []
        for (number, line) in String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingPrefix(while: { $0 == " " })
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            let fields = trimmed.split(separator: " ")
            guard fields.count == 4, fields[0] == "v1", let key = Base64.decode(fields[3]), key.count == SecretCrypto.keyLength else {
                throw SecretKeyError(
                    "the secret key file \(path) is damaged at line \(number + 1): expected `v1 ID CREATED BASE64-KEY`",
                    help: "restore it from a backup; without it the stored secrets cannot be decrypted")
            }
            let loaded = SecretKey(bytes: key, createdAt: String(fields[2]))
            guard loaded.id == fields[1] else {
                throw SecretKeyError(
                    "the secret key file \(path) is damaged at line \(number + 1): the key does not match its fingerprint \(fields[1])",
                    help: "restore it from a backup; without it the stored secrets cannot be decrypted")
            }
            keys.append(loaded)
        }
        return keys
    }

    /// The keys, creating the file with one new key when there is none (or it holds no key).
    public func loadOrCreate() throws(SecretKeyError) -> [SecretKey] {
        let keys = try load()
        if !keys.isEmpty { return keys }
        return try withLock { () throws(SecretKeyError) -> [SecretKey] in
            let again = try load()
            if !again.isEmpty { return again }
            let created = [try SecretKeyFile.newKey()]
            try write(created)
            return created
        }
    }

    /// Appends a new current key (the others become retired) and returns every key. The file is
    /// replaced atomically: a crash leaves the old file or the new one, never a partial one.
    public func addKey() throws(SecretKeyError) -> [SecretKey] {
        try withLock { () throws(SecretKeyError) -> [SecretKey] in
            let keys = try load() + [try SecretKeyFile.newKey()]
            try write(keys)
            return keys
        }
    }

    static func newKey() throws(SecretKeyError) -> SecretKey {
        SecretKey(bytes: try SecretCrypto.randomBytes(SecretCrypto.keyLength), createdAt: StoreClock.timestamp())
    }

    /// Serialises key-file changes between processes (an exclusive lock on the directory).
    private func withLock<T>(_ body: () throws(SecretKeyError) -> T) throws(SecretKeyError) -> T {
        do {
            try SQLResourceStore.createDirectory(directory, what: "configuration directory")
        } catch {
            throw SecretKeyError("cannot create the directory of the secret key file \(path): \(error)")
        }
        let fd = open(directory, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SecretKeyError("cannot open \(directory): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        while flock(fd, LOCK_EX) != 0 {
            if errno != EINTR { throw SecretKeyError("cannot lock \(directory): \(String(cString: strerror(errno)))") }
        }
        defer { flock(fd, LOCK_UN) }
        return try body()
    }

    /// Writes a temporary file (0600) beside the key file, syncs it, renames it over the key file
    /// and syncs the directory.
    private func write(_ keys: [SecretKey]) throws(SecretKeyError) {
        var text = """
            # orchestrator secret keys: keep this file private (mode 0600) and backed up; without it
            # the SecretStore values of every data directory that uses it cannot be decrypted.
            # The last line is the current key; earlier lines are retired keys (see docs/security.md).

            """
        for key in keys { text += "v1 \(key.id) \(key.createdAt) \(Base64.encode(key.bytes))\n" }
        let temporary = path + ".tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw SecretKeyError("cannot write the secret key file \(temporary): \(String(cString: strerror(errno)))")
        }
        let bytes = Array(text.utf8)
        var offset = 0
        var failure: Int32 = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { systemWrite(fd, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                failure = errno
                break
            }
            offset += written
        }
        if failure == 0 && fsync(fd) != 0 { failure = errno }
        close(fd)
        if failure == 0 && rename(temporary, path) != 0 { failure = errno }
        if failure != 0 {
            unlink(temporary)
            throw SecretKeyError("cannot write the secret key file \(path): \(String(cString: strerror(failure)))")
        }
        let directoryFD = open(directory, O_RDONLY | O_CLOEXEC)
        if directoryFD >= 0 {
            fsync(directoryFD)
            close(directoryFD)
        }
    }
}

/// write(2), named apart from the Swift method names in scope.
private func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer?, _ count: Int) -> Int {
    #if canImport(Glibc)
    Glibc.write(fd, buffer, count)
    #else
    Darwin.write(fd, buffer, count)
    #endif
}
