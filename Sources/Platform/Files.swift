#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why an atomic write did not happen: the message names the file and the system's reason.
public struct AtomicWriteError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Files written whole, all or nothing: a temporary file next to the target, synced, then
/// renamed over it. A crash at any instant leaves the old file or the new one, never a mix.
public enum AtomicFile {
    /// Writes `bytes` to `path`. `onlyIf` is asked right before the rename (the new bytes are
    /// synced by then): false leaves `path` as it is and returns false (a compare-and-swap for
    /// files others may edit). True when the file was replaced.
    @discardableResult
    public static func write(
        _ path: String, _ bytes: [UInt8], mode: mode_t = 0o600, onlyIf proceed: () -> Bool = { true }
    ) throws(AtomicWriteError) -> Bool {
        let temporary = path + ".tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode)
        guard fd >= 0 else { throw AtomicWriteError("cannot write \(temporary): \(errnoDescription(errno))") }
        if let code = writeFully(fd, bytes) {
            close(fd)
            unlink(temporary)
            throw AtomicWriteError("cannot write \(temporary): \(errnoDescription(code))")
        }
        fchmod(fd, mode)
        let synced = fsync(fd) == 0
        let code = errno
        close(fd)
        guard synced else {
            unlink(temporary)
            throw AtomicWriteError("cannot write \(temporary): \(errnoDescription(code))")
        }
        guard proceed() else {
            unlink(temporary)
            return false
        }
        guard rename(temporary, path) == 0 else {
            let code = errno
            unlink(temporary)
            throw AtomicWriteError("cannot replace \(path): \(errnoDescription(code))")
        }
        return true
    }
}

/// The process's environment as a dictionary.
public func processEnvironment() -> [String: String] {
    var result: [String: String] = [:]
    var pointer = environ
    while let entry = pointer.pointee {
        let text = String(cString: entry)
        if let equals = text.firstIndex(of: "=") {
            result[String(text[..<equals])] = String(text[text.index(after: equals)...])
        }
        pointer += 1
    }
    return result
}

/// Replaces this process with `arguments[0]` (`execve`: same PID, open descriptors without
/// close-on-exec kept); returns errno only when that fails.
public func replaceProcess(_ arguments: [String], environment: [String: String]) -> Int32 {
    let argv = arguments.map { strdup($0) }
    let envp = environment.keys.sorted().map { strdup($0 + "=" + (environment[$0] ?? "")) }
    defer {
        for pointer in argv { free(pointer) }
        for pointer in envp { free(pointer) }
    }
    guard let first = argv.first, let program = first else { return EINVAL }
    execve(program, argv + [nil], envp + [nil])
    return errno
}

/// Today in the local time zone, `YYYY-MM-DD` (the date of the state files of state-files.md).
public func localDate() -> String {
    var now = time(nil)
    var parts = tm()
    localtime_r(&now, &parts)
    func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
    return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))"
}
