// The one place for the POSIX primitives every layer shares: a value behind a mutex, starting a
// thread (detached, or joinable), the monotonic clock, errno text and reading a file whole. It depends on
// nothing, so the transport (Control), the trigger engine and the runner use the same ones.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A value behind a pthread mutex. Shared mutable state lives in these.
public final class Locked<Value>: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var value: Value

    public init(_ value: Value) {
        self.value = value
        mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deinitialize(count: 1)
        mutex.deallocate()
    }

    public func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}

private final class ThreadBody {
    let run: () -> Void
    init(_ run: @escaping () -> Void) { self.run = run }
}

/// A thread started by `Threads.start(joinable: true)`; `join()` waits for it.
public struct JoinableThread: @unchecked Sendable {
    fileprivate let handle: pthread_t

    public func join() { pthread_join(handle, nil) }
}

public enum Threads {
    /// Starts `body` on a new pthread. Detached unless `joinable`; nil when the system refuses a
    /// thread (the caller decides whether to run the work itself).
    @discardableResult
    public static func start(joinable: Bool = false, _ body: @escaping () -> Void) -> JoinableThread? {
        let box = Unmanaged.passRetained(ThreadBody(body))
        var thread = pthread_t()
        let rc = pthread_create(
            &thread, nil,
            { raw in
                guard let raw else { return nil }
                Unmanaged<ThreadBody>.fromOpaque(raw).takeRetainedValue().run()
                return nil
            }, box.toOpaque())
        guard rc == 0 else {
            box.release()
            return nil
        }
        if !joinable { pthread_detach(thread) }
        return JoinableThread(handle: thread)
    }
}

/// Milliseconds on the monotonic clock (timeouts and durations, never wall time).
public func monotonicMilliseconds() -> Int64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
}

/// "No such file or directory (errno 2)".
public func errnoDescription(_ code: Int32) -> String {
    guard let text = strerror(code) else { return "errno \(code)" }
    return "\(String(cString: text)) (errno \(code))"
}

/// The whole content of a (small) file, nil when it cannot be read.
public func readFileBytes(_ path: String, limit: Int = Int.max) -> [UInt8]? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var result: [UInt8] = []
    // Not zero-filled: every byte used was read. Small reads (/proc files) need no 64 KiB.
    var buffer = [UInt8](unsafeUninitializedCapacity: min(65536, max(1, limit))) { _, count in count = min(65536, max(1, limit)) }
    while result.count < limit {
        let wanted = min(buffer.count, limit - result.count)
        let count = buffer.withUnsafeMutableBytes { raw -> Int in
            guard let base = raw.baseAddress else { return 0 }
            return read(fd, base, wanted)
        }
        if count < 0 {
            if errno == EINTR { continue }
            return nil
        }
        if count == 0 { break }
        result.append(contentsOf: buffer[0..<count])
    }
    return result
}

/// Milliseconds since 1970-01-01 UTC (wall time, for timestamps and ages; never for timeouts).
public func realtimeMilliseconds() -> Int64 {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
}

/// `rm -r PATH` without following symlinks (a symlink is removed, never what it points at).
public func removeTree(_ path: String) {
    var info = stat()
    guard lstat(path, &info) == 0 else { return }
    if (info.st_mode & S_IFMT) == S_IFDIR, let directory = opendir(path) {
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            if name != "." && name != ".." { names.append(name) }
        }
        closedir(directory)
        for name in names { removeTree(path + "/" + name) }
        rmdir(path)
    } else {
        unlink(path)
    }
}

/// Writes every byte of `bytes` to a file descriptor (stdout, a pipe, a file); errno on failure.
@discardableResult
public func writeFully(_ fd: Int32, _ bytes: [UInt8]) -> Int32? {
    sendAll(fd, bytes, socket: false)
}

/// Writes every byte of `bytes` to `fd` (retrying on EINTR and short writes); errno on failure.
/// Uses `send` with MSG_NOSIGNAL on sockets so a vanished peer is an error, not a SIGPIPE.
public func sendAll(_ fd: Int32, _ bytes: [UInt8], socket: Bool) -> Int32? {
    var done = 0
    while done < bytes.count {
        let count = bytes.withUnsafeBytes { raw -> Int in
            guard let base = raw.baseAddress else { return 0 }
            #if os(Linux)
            if socket { return send(fd, base + done, raw.count - done, Int32(MSG_NOSIGNAL)) }
            #endif
            return write(fd, base + done, raw.count - done)
        }
        if count < 0 {
            if errno == EINTR { continue }
            return errno
        }
        done += count
    }
    return nil
}
