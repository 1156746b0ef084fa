import Platform

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `DATA/daemon.log`: a detached daemon's stdout and stderr, rotated by size
/// (`daemon.log` → `daemon.log.1` → … → `daemon.log.KEEP`, the oldest dropped).
public struct DaemonLog: Sendable {
    public let path: String
    /// Rotate once the file is larger than this many bytes.
    public var maxBytes: Int
    /// How many rotated files to keep.
    public var keep: Int

    public static let defaultMaxBytes = 10 << 20
    public static let defaultKeep = 3

    public init(dataDirectory: String, maxBytes: Int = DaemonLog.defaultMaxBytes, keep: Int = DaemonLog.defaultKeep) {
        self.init(path: dataDirectory + "/daemon.log", maxBytes: maxBytes, keep: keep)
    }

    public init(path: String, maxBytes: Int = DaemonLog.defaultMaxBytes, keep: Int = DaemonLog.defaultKeep) {
        self.path = path
        self.maxBytes = maxBytes
        self.keep = max(keep, 1)
    }

    /// The size of the current file (0 when there is none).
    public var size: Int {
        var info = stat()
        return stat(path, &info) == 0 ? Int(info.st_size) : 0
    }

    /// Shifts the files by one when the current one is over the limit; true when it did.
    @discardableResult
    public func rotateIfNeeded() -> Bool {
        guard size > maxBytes else { return false }
        unlink("\(path).\(keep)")
        for index in stride(from: keep - 1, through: 1, by: -1) {
            rename("\(path).\(index)", "\(path).\(index + 1)")
        }
        return rename(path, "\(path).1") == 0
    }

    /// Points stdout and stderr at the (possibly new) file, appending.
    public func redirectStandardStreams() throws(ControlFailure) {
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw ControlFailure("cannot open the daemon log \(path): \(errnoDescription(errno))") }
        defer { close(fd) }
        guard dup2(fd, 1) >= 0, dup2(fd, 2) >= 0 else {
            throw ControlFailure("cannot redirect output to \(path): \(errnoDescription(errno))")
        }
    }

    /// Rotates when needed and, when it did, reopens the standard streams on the new file.
    public func rotateAndReopenIfNeeded() throws(ControlFailure) {
        if rotateIfNeeded() { try redirectStandardStreams() }
    }
}
