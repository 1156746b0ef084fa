import Platform

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Turning a process into a daemon: double fork, `setsid`, stdin from /dev/null. The original
/// process learns through a pipe whether the daemon came up (`ready`) or why it did not.
///
/// Call `detach()` before the process starts any thread: only the calling thread survives a fork.
public enum Detach {
    public enum Role {
        /// The original process: wait for the daemon's word, report it and exit.
        case launcher(ReadinessWaiter)
        /// The detached grandchild (new session, no terminal): carry on as the daemon and say
        /// `ready` once the socket accepts.
        case daemon(ReadinessReporter)
    }

    public static func detach() throws(ControlFailure) -> Role {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { throw ControlFailure("cannot create a pipe: \(errnoDescription(errno))") }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        let first = fork()
        guard first >= 0 else {
            let code = errno
            close(fds[0])
            close(fds[1])
            throw ControlFailure("cannot fork: \(errnoDescription(code))")
        }
        if first > 0 {
            close(fds[1])
            var status: Int32 = 0
            while waitpid(first, &status, 0) < 0 && errno == EINTR {}
            return .launcher(ReadinessWaiter(fd: fds[0]))
        }
        // The intermediate child: a new session without a terminal, then a child that can never
        // acquire one again (it is not a session leader). The intermediate exits at once.
        close(fds[0])
        if setsid() < 0 { _exit(3) }
        let second = fork()
        if second != 0 { _exit(second > 0 ? 0 : 3) }
        let null = open("/dev/null", O_RDONLY)
        if null >= 0 {
            dup2(null, 0)
            if null > 0 { close(null) }
        }
        closeInheritedDescriptors(keeping: fds[1])
        return .daemon(ReadinessReporter(fd: fds[1]))
    }

    /// Closes every descriptor above stderr but `kept`. Whatever the launcher's caller left open
    /// (a database, a pipe or socket by which it watches its child) must not be held for the
    /// daemon's whole life: a caller that waits for end-of-file on it would wait for ever.
    static func closeInheritedDescriptors(keeping kept: Int32) {
        var open: [Int32] = []
        if let directory = opendir("/proc/self/fd") {
            while let entry = readdir(directory) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
                }
                if let fd = Int32(name) { open.append(fd) }
            }
            closedir(directory)
        } else {
            open = Array(3..<Int32(min(getdtablesize(), 65536)))
        }
        for fd in open where fd > 2 && fd != kept { close(fd) }
    }
}

/// The daemon's end of the readiness pipe. Say one thing, once.
public final class ReadinessReporter: @unchecked Sendable {
    private var fd: Int32

    init(fd: Int32) { self.fd = fd }

    deinit { finish() }

    /// The socket accepts.
    public func ready() { say("ready \(getpid())") }

    /// The daemon will not come up; the launcher prints `message` and exits with `status`.
    public func failed(status: Int32, message: String) {
        say("failed \(status) " + message.replacingNewlines())
    }

    private func say(_ text: String) {
        guard fd >= 0 else { return }
        _ = sendAll(fd, Array((text + "\n").utf8), socket: false)
        finish()
    }

    private func finish() {
        if fd >= 0 {
            close(fd)
            fd = -1
        }
    }
}

extension String {
    fileprivate func replacingNewlines() -> String {
        String(unicodeScalars.map { $0 == "\n" || $0 == "\r" ? " " : Character($0) })
    }
}

/// What the launcher heard from its daemon.
public enum DetachOutcome: Sendable, Equatable {
    case ready(pid: Int32)
    case failed(status: Int32, message: String)
    /// The daemon ended without a word (it crashed, or was killed): its log tells why.
    case vanished
    case timedOut
}

/// The launcher's end of the readiness pipe.
public final class ReadinessWaiter: @unchecked Sendable {
    private let fd: Int32

    init(fd: Int32) { self.fd = fd }

    deinit { close(fd) }

    public func wait(timeoutSeconds: Double) -> DetachOutcome {
        var reader = LineReader(fd: fd, limit: 64 << 10)
        let deadline = monotonicMilliseconds() + Int64(timeoutSeconds * 1000)
        let left = Int32(clamping: max(deadline - monotonicMilliseconds(), 0))
        switch reader.next(timeoutMilliseconds: left) {
        case .line(let bytes):
            let words = String(decoding: bytes, as: UTF8.self).split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
            if words.first == "ready", words.count == 2, let pid = Int32(words[1]) { return .ready(pid: pid) }
            if words.first == "failed", words.count == 3, let status = Int32(words[1]) {
                return .failed(status: status, message: String(words[2]))
            }
            return .vanished
        case .timedOut: return .timedOut
        case .tooLong, .end, .failed: return .vanished
        }
    }
}
