// Low-level POSIX helpers for the Runner: a mutex-protected box, errno text, whole-buffer
// writes, a dedicated-thread bridge for blocking work, and the Linux calls that the Swift Glibc
// module does not export (it is built without _GNU_SOURCE), looked up once with dlsym.

import Platform

import Store

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - Locking

/// Asks a running process to stop: the launcher polls it and then terminates the process group
/// exactly as on a timeout (SIGTERM, then SIGKILL after the grace period). Safe to share between
/// threads; cancelling twice is harmless.
public final class ProcessCancellation: Sendable {
    private let flag = Locked(false)

    public init() {}

    public func cancel() { flag.withLock { $0 = true } }

    public var isCancelled: Bool { flag.withLock { $0 } }
}

// MARK: - writes

/// Writes all of `bytes` to `fd`, retrying on EINTR and partial writes. Returns errno on failure.
@discardableResult
func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Int32? {
    var offset = 0
    while offset < bytes.count {
        let written = bytes.withUnsafeBytes { raw -> Int in
            guard let base = raw.baseAddress else { return 0 }
            return write(fd, base + offset, raw.count - offset)
        }
        if written < 0 {
            if errno == EINTR { continue }
            return errno
        }
        offset += written
    }
    return nil
}

/// Closes `fd` if it is valid; sets it to -1.
func closeFD(_ fd: inout Int32) {
    if fd >= 0 {
        close(fd)
        fd = -1
    }
}

/// The first non-empty line of a file (its first 4 KiB), trimmed and cut to 200 characters: what
/// a failed step's progress line shows of its stderr. Nil when the file is missing or blank.
func firstLine(ofFile path: String) -> String? {
    guard let bytes = readFileBytes(path, limit: 4096) else { return nil }
    let text = String(decoding: bytes, as: UTF8.self)
    for line in text.split(whereSeparator: { $0 == "\n" || $0 == "\r" }) {
        let trimmed = line.drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed()
        if trimmed.isEmpty { continue }
        return trimmed.count > 200 ? String(trimmed.prefix(200)) + "…" : String(trimmed)
    }
    return nil
}

/// The last `limit` bytes of a file (all of it when it is smaller), and whether bytes were left off.
func readFileTail(_ path: String, limit: Int) -> (bytes: [UInt8], truncated: Bool)? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    var info = stat()
    let size = fstat(fd, &info) == 0 ? Int(info.st_size) : 0
    close(fd)
    if size <= limit {
        guard let bytes = readFileBytes(path) else { return nil }
        return (bytes, false)
    }
    let fd2 = open(path, O_RDONLY | O_CLOEXEC)
    guard fd2 >= 0 else { return nil }
    defer { close(fd2) }
    guard lseek(fd2, off_t(size - limit), SEEK_SET) >= 0 else { return nil }
    var result = [UInt8](repeating: 0, count: limit)
    var filled = 0
    while filled < limit {
        let count = result.withUnsafeMutableBytes { raw -> Int in
            guard let base = raw.baseAddress else { return 0 }
            return read(fd2, base + filled, limit - filled)
        }
        if count < 0 {
            if errno == EINTR { continue }
            return nil
        }
        if count == 0 { break }
        filled += count
    }
    return (Array(result[0..<filled]), true)
}

/// The canonical absolute path (symlinks and `..` resolved), nil when it does not exist.
func canonicalPath(_ path: String) -> String? {
    guard let resolved = realpath(path, nil) else { return nil }
    defer { free(resolved) }
    return String(cString: resolved)
}

func fileExistsAsDirectory(_ path: String) -> Bool {
    var info = stat()
    guard stat(path, &info) == 0 else { return false }
    return (info.st_mode & S_IFMT) == S_IFDIR
}

// MARK: - Process groups

/// Whether process group `pgid` has a member that is not a zombie. `kill(-pgid, 0)` alone counts
/// zombies, and an orphaned zombie lives until init gets round to reaping it (seconds, in some
/// containers), so members are confirmed through /proc when it is there.
func processGroupHasLiveMembers(_ pgid: pid_t) -> Bool {
    guard kill(-pgid, 0) == 0 else { return false }
    guard let directory = opendir("/proc") else { return true }
    defer { closedir(directory) }
    var buffer = [UInt8](repeating: 0, count: 512)
    while let entry = readdir(directory) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { raw -> String in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        guard let first = name.utf8.first, first >= 0x30, first <= 0x39 else { continue }
        let fd = open("/proc/\(name)/stat", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { continue }
        let count = buffer.withUnsafeMutableBytes { raw -> Int in
            guard let base = raw.baseAddress else { return -1 }
            return read(fd, base, raw.count)
        }
        close(fd)
        guard count > 0 else { continue }
        // "pid (comm) S ppid pgrp ...": comm may hold spaces and parentheses, so split after the last ')'.
        let stat = buffer[0..<count]
        guard let close = stat.lastIndex(of: UInt8(ascii: ")")) else { continue }
        let fields = stat[(close + 1)...].split(separator: UInt8(ascii: " "), maxSplits: 4)
        guard fields.count >= 3, let state = fields[0].first else { continue }
        let group = Int32(String(decoding: fields[2], as: UTF8.self))
        if group == pgid && state != UInt8(ascii: "Z") && state != UInt8(ascii: "X") { return true }
    }
    return false
}

// MARK: - Running blocking work off the cooperative pool

/// Runs `body` on a new detached thread and resumes with its result. Blocking process supervision
/// must not sit on Swift's cooperative pool (it has one thread per core: two concurrent steps
/// would starve every other task).
func onDedicatedThread<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { (continuation: CheckedContinuation<T, Never>) in
        let work = { continuation.resume(returning: body()) }
        // No thread available: run here rather than fail.
        if Threads.start(work) == nil { work() }
    }
}

// MARK: - Linux calls missing from the Swift Glibc module

/// Function pointers resolved from the C library at first use.
struct LinuxCalls: @unchecked Sendable {
    typealias Pipe2 = @convention(c) (UnsafeMutablePointer<Int32>, Int32) -> Int32
    typealias MemfdCreate = @convention(c) (UnsafePointer<CChar>, UInt32) -> Int32
    typealias Prlimit = @convention(c) (pid_t, Int32, UnsafePointer<rlimit>?, UnsafeMutablePointer<rlimit>?) -> Int32
    typealias AddChdir = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32
    typealias PidfdOpen = @convention(c) (pid_t, UInt32) -> Int32
    typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32

    let pipe2: Pipe2?
    let memfdCreate: MemfdCreate?
    let prlimit: Prlimit?
    let addChdir: AddChdir?
    let pidfdOpen: PidfdOpen?
    let addCloseFrom: AddCloseFrom?

    static let shared = LinuxCalls()

    private init() {
        let handle = dlopen(nil, RTLD_NOW)
        func symbol<F>(_ name: String, as type: F.Type) -> F? {
            guard let pointer = dlsym(handle, name) else { return nil }
            return unsafeBitCast(pointer, to: type)
        }
        pipe2 = symbol("pipe2", as: Pipe2.self)
        memfdCreate = symbol("memfd_create", as: MemfdCreate.self)
        prlimit = symbol("prlimit", as: Prlimit.self)
        addChdir = symbol("posix_spawn_file_actions_addchdir_np", as: AddChdir.self)
        pidfdOpen = symbol("pidfd_open", as: PidfdOpen.self)
        addCloseFrom = symbol("posix_spawn_file_actions_addclosefrom_np", as: AddCloseFrom.self)
    }

    /// A close-on-exec pipe (read end, write end), or errno.
    func makePipe() -> Result<(read: Int32, write: Int32), SystemCallFailure> {
        var fds: [Int32] = [-1, -1]
        guard let pipe2 else { return .failure(SystemCallFailure(call: "pipe2", code: ENOSYS)) }
        let rc = fds.withUnsafeMutableBufferPointer { buffer -> Int32 in
            guard let base = buffer.baseAddress else { return -1 }
            return pipe2(base, O_CLOEXEC)
        }
        if rc != 0 { return .failure(SystemCallFailure(call: "pipe2", code: errno)) }
        return .success((fds[0], fds[1]))
    }
}

/// The descriptors open in this process (from /proc/self/fd), for C libraries without closefrom.
func openDescriptors() -> [Int32] {
    guard let directory = opendir("/proc/self/fd") else { return [] }
    let own = dirfd(directory)
    defer { closedir(directory) }
    var result: [Int32] = []
    while let entry = readdir(directory) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { raw -> String in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        if let fd = Int32(name), fd != own { result.append(fd) }
    }
    return result
}

/// A failed system call and its errno.
struct SystemCallFailure: Error {
    var call: String
    var code: Int32
}
