// POSIX plumbing for the transport: readiness waits (the mutex, threads, the clock, errno text and
// whole-buffer writes are the shared ones of the Platform target).

import Platform

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

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
