import Platform

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One daemon per data directory: an exclusive `flock` on `DATA/daemon.lock`, held for the
/// daemon's life. The kernel releases it when the process dies however it dies, so it cannot
/// lie the way a PID file can; the PID written into the file only names the holder in messages.
public final class DaemonLock: @unchecked Sendable {
    public let path: String
    private var fd: Int32

    public enum Failure: Error, Sendable, CustomStringConvertible {
        /// Another process holds the lock; its PID when the file names one.
        case held(pid: Int32?, dataDirectory: String)
        case system(ControlFailure)

        public var description: String {
            switch self {
            case .held(let pid?, let directory): return "a daemon (PID \(pid)) already serves \(directory)"
            case .held(nil, let directory): return "a daemon already serves \(directory) (its PID is not recorded)"
            case .system(let failure): return failure.description
            }
        }
    }

    public static func path(dataDirectory: String) -> String { dataDirectory + "/daemon.lock" }

    private init(path: String, fd: Int32) {
        self.path = path
        self.fd = fd
    }

    deinit { release() }

    /// Takes the lock without waiting and writes this process's PID into the file.
    public static func acquire(dataDirectory: String) -> Result<DaemonLock, Failure> {
        let path = path(dataDirectory: dataDirectory)
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            return .failure(.system(ControlFailure("cannot open the lock file \(path): \(errnoDescription(errno))")))
        }
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let code = errno
            if code == EINTR { continue }
            close(fd)
            if code == EWOULDBLOCK {
                return .failure(.held(pid: holderPID(path: path), dataDirectory: dataDirectory))
            }
            return .failure(.system(ControlFailure("cannot lock \(path): \(errnoDescription(code))")))
        }
        let lock = DaemonLock(path: path, fd: fd)
        if let failure = lock.recordPID() { return .failure(.system(failure)) }
        return .success(lock)
    }

    /// Takes over the lock a previous incarnation of this process handed over across `execve`
    /// (`handOver`): the descriptor must be open on this data directory's lock file, and the lock
    /// must be held through it (re-locking an open file description that holds it succeeds).
    public static func adopt(fd: Int32, dataDirectory: String) -> Result<DaemonLock, Failure> {
        let path = path(dataDirectory: dataDirectory)
        var held = stat()
        var onDisk = stat()
        guard fd >= 0, fstat(fd, &held) == 0, stat(path, &onDisk) == 0, held.st_dev == onDisk.st_dev, held.st_ino == onDisk.st_ino
        else {
            return .failure(.system(ControlFailure("descriptor \(fd) handed over by the previous incarnation is not \(path)")))
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            return .failure(.held(pid: holderPID(path: path), dataDirectory: dataDirectory))
        }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        return .success(DaemonLock(path: path, fd: fd))
    }

    /// Keeps the lock open across the coming `execve` (the descriptor loses close-on-exec) and
    /// returns its number for the next incarnation's `adopt`. The lock is never released.
    public func handOver() -> Int32 {
        _ = fcntl(fd, F_SETFD, 0)
        return fd
    }

    /// Writes the current PID into the lock file (again after a fork moved the daemon).
    public func recordPID() -> ControlFailure? {
        let text = Array("\(getpid())\n".utf8)
        guard ftruncate(fd, 0) == 0 else { return ControlFailure("cannot write \(path): \(errnoDescription(errno))") }
        let written = text.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        guard written == text.count else { return ControlFailure("cannot write \(path): \(errnoDescription(errno))") }
        return nil
    }

    /// Gives the lock up (the process's end does the same).
    public func release() {
        if fd >= 0 {
            // Unlocked before it is closed: a child forked at this instant by another thread
            // (its copy of the descriptor lives until its exec closes it) must not keep it held.
            _ = flock(fd, LOCK_UN)
            close(fd)
            fd = -1
        }
    }

    /// The PID recorded in a lock file held by another process. The holder writes it right after
    /// locking, so an empty file is read again for a moment before giving up.
    static func holderPID(path: String) -> Int32? {
        for attempt in 0..<50 {
            if attempt > 0 { usleep(20_000) }
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { return nil }
            var buffer = [UInt8](repeating: 0, count: 32)
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            close(fd)
            guard count > 0 else { continue }
            let text = String(decoding: buffer[..<count], as: UTF8.self)
            guard text.hasSuffix("\n") else { continue }
            return Int32(text.dropLast())
        }
        return nil
    }
}
