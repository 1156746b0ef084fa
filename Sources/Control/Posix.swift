// POSIX plumbing for the transport: a mutex box, errno text, whole-buffer writes and a thread
// starter. The Control layer sits below Store and Runner, so it keeps its own small copies.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A value guarded by a pthread mutex (the shared state of the server and the daemon lives in these).
public final class Guarded<Value>: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private var value: Value

    public init(_ value: Value) {
        self.value = value
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deinitialize(count: 1)
        mutex.deallocate()
    }

    public func access<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}

/// "Connection refused (errno 111)".
public func describeErrno(_ code: Int32) -> String {
    guard let text = strerror(code) else { return "errno \(code)" }
    return "\(String(cString: text)) (errno \(code))"
}

/// Writes every byte of `bytes` to a file descriptor (stdout, a pipe, a file); errno on failure.
@discardableResult
public func writeFully(_ fd: Int32, _ bytes: [UInt8]) -> Int32? {
    sendAll(fd, bytes, socket: false)
}

/// Writes every byte of `bytes` to `fd` (retrying on EINTR and short writes); errno on failure.
/// Uses `send` with MSG_NOSIGNAL on sockets so a vanished peer is an error, not a SIGPIPE.
func sendAll(_ fd: Int32, _ bytes: [UInt8], socket: Bool) -> Int32? {
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

private final class ThreadStart {
    let body: () -> Void
    init(_ body: @escaping () -> Void) { self.body = body }
}

/// Runs `body` on a new detached pthread; false when no thread could be created.
@discardableResult
func startThread(_ body: @escaping () -> Void) -> Bool {
    let box = Unmanaged.passRetained(ThreadStart(body))
    var thread = pthread_t()
    let rc = pthread_create(
        &thread, nil,
        { raw in
            guard let raw else { return nil }
            Unmanaged<ThreadStart>.fromOpaque(raw).takeRetainedValue().body()
            return nil
        }, box.toOpaque())
    guard rc == 0 else {
        box.release()
        return false
    }
    pthread_detach(thread)
    return true
}

/// Milliseconds on the monotonic clock.
func monotonicMilliseconds() -> Int64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
}

/// Waits until `fd` is readable or `timeoutMilliseconds` pass (-1: forever). True when readable
/// (or hung up: the next read tells which).
func waitReadable(_ fd: Int32, timeoutMilliseconds: Int32) -> Bool {
    var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
    while true {
        let rc = poll(&entry, 1, timeoutMilliseconds)
        if rc < 0 && errno == EINTR { continue }
        return rc > 0
    }
}
