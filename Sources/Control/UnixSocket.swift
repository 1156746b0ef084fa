import Platform

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A failure of the transport's system calls, phrased for the person who reads it.
public struct ControlFailure: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var help: String?

    public init(_ message: String, help: String? = nil) {
        self.message = message
        self.help = help
    }

    public var description: String { help.map { "\(message); \($0)" } ?? message }
}

/// The process at the other end of a Unix socket, as the kernel reports it.
public struct PeerCredentials: Sendable, Equatable {
    public var pid: Int32
    public var uid: UInt32
    public var gid: UInt32

    public init(pid: Int32, uid: UInt32, gid: UInt32) {
        self.pid = pid
        self.uid = uid
        self.gid = gid
    }
}

/// Unix stream socket calls shared by the server and the client.
enum UnixSocket {
    /// sun_path holds 108 bytes on Linux (104 on macOS), the terminating NUL included.
    static func address(_ path: String) -> Result<sockaddr_un, ControlFailure> {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard bytes.count < capacity else {
            return .failure(ControlFailure(
                "the socket path \(path) is \(bytes.count) bytes long; Unix sockets allow at most \(capacity - 1)",
                help: "use a shorter data directory (--data-dir or $ORCHESTRATOR_DATA_DIR)"))
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in bytes.enumerated() { raw[index] = byte }
            raw[bytes.count] = 0
        }
        return .success(address)
    }

    static func makeSocket() -> Int32 {
        #if os(Linux)
        return socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        #else
        let fd = socket(AF_UNIX, SOCK_STREAM, 0)
        if fd >= 0 { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        return fd
        #endif
    }

    /// Connects to `path`; the errno of the failure otherwise.
    static func connect(_ path: String) -> Result<Int32, ConnectFailure> {
        let address: sockaddr_un
        switch UnixSocket.address(path) {
        case .success(let made): address = made
        case .failure(let failure): return .failure(.badPath(failure))
        }
        let fd = makeSocket()
        guard fd >= 0 else { return .failure(.system(errno)) }
        var copy = address
        while true {
            let rc = withUnsafePointer(to: &copy) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    #if canImport(Glibc)
                    Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                    #else
                    Darwin.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                    #endif
                }
            }
            if rc == 0 { return .success(fd) }
            let code = errno
            if code == EINTR { continue }
            close(fd)
            return .failure(.system(code))
        }
    }

    enum ConnectFailure: Error {
        case badPath(ControlFailure)
        case system(Int32)
    }

    /// Binds and listens on `path` (which must not exist), then sets its mode to 0600.
    static func listen(_ path: String, backlog: Int32 = 64) -> Result<Int32, ControlFailure> {
        let address: sockaddr_un
        switch UnixSocket.address(path) {
        case .success(let made): address = made
        case .failure(let failure): return .failure(failure)
        }
        let fd = makeSocket()
        guard fd >= 0 else { return .failure(ControlFailure("cannot create a Unix socket: \(errnoDescription(errno))")) }
        var copy = address
        let bound = withUnsafePointer(to: &copy) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0 else {
            let code = errno
            close(fd)
            return .failure(ControlFailure("cannot bind the socket \(path): \(errnoDescription(code))"))
        }
        guard chmod(path, 0o600) == 0 else {
            let code = errno
            close(fd)
            unlink(path)
            return .failure(ControlFailure("cannot set the mode of \(path) to 0600: \(errnoDescription(code))"))
        }
        #if canImport(Glibc)
        let listening = Glibc.listen(fd, backlog)
        #else
        let listening = Darwin.listen(fd, backlog)
        #endif
        guard listening == 0 else {
            let code = errno
            close(fd)
            unlink(path)
            return .failure(ControlFailure("cannot listen on \(path): \(errnoDescription(code))"))
        }
        return .success(fd)
    }

    /// The path a Unix socket is bound to (nil: not a bound Unix socket).
    static func boundPath(_ fd: Int32) -> String? {
        var address = sockaddr_un()
        var length = socklen_t(MemoryLayout<sockaddr_un>.size)
        let got = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard got == 0, address.sun_family == sa_family_t(AF_UNIX) else { return nil }
        return withUnsafeBytes(of: address.sun_path) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
    }

    /// The peer of a connected socket (SO_PEERCRED on Linux, getpeereid elsewhere).
    static func peer(_ fd: Int32) -> PeerCredentials? {
        #if os(Linux)
        // struct ucred { pid_t pid; uid_t uid; gid_t gid; } (not exported without _GNU_SOURCE).
        var raw: (Int32, UInt32, UInt32) = (0, 0, 0)
        var length = socklen_t(MemoryLayout<(Int32, UInt32, UInt32)>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &raw, &length) == 0,
            Int(length) == MemoryLayout<(Int32, UInt32, UInt32)>.size
        else { return nil }
        return PeerCredentials(pid: raw.0, uid: raw.1, gid: raw.2)
        #else
        var uid = uid_t(), gid = gid_t()
        guard getpeereid(fd, &uid, &gid) == 0 else { return nil }
        return PeerCredentials(pid: 0, uid: uid, gid: gid)
        #endif
    }

    /// What is at `path`: nothing, a socket, or something else.
    static func kind(_ path: String) -> PathKind {
        var info = stat()
        guard lstat(path, &info) == 0 else { return .missing }
        return (info.st_mode & S_IFMT) == S_IFSOCK ? .socket : .other
    }

    enum PathKind { case missing, socket, other }
}
