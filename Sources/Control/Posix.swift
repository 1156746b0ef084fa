// POSIX plumbing for the transport: whole-buffer writes and readiness waits (the mutex, threads,
// the clock and errno text are the shared ones of the Platform target).

import Platform

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

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
