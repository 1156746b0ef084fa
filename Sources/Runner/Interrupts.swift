import Platform

import Store

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Ctrl-C (SIGINT) or SIGTERM while a task runs in the foreground: the runner pauses the task
// (running steps are terminated and run again on resume) instead of dying and leaving its
// steps' process groups running.

/// Watches for SIGINT and SIGTERM on a thread of its own while a task runs. The signals are
/// blocked in the calling thread (and so in every thread it starts afterwards: the item workers)
/// and taken with `sigtimedwait` by the watcher. `stop()` restores the calling thread's mask.
public final class InterruptWatcher: @unchecked Sendable {
    private let stopped = Locked(false)
    private var thread: JoinableThread?
    private var previous = sigset_t()

    public init() {}

    /// Blocks the signals and starts watching; `onSignal` runs (on the watcher thread) once per signal.
    public func start(_ onSignal: @escaping @Sendable (Int32) -> Void) {
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGINT)
        sigaddset(&signals, SIGTERM)
        pthread_sigmask(SIG_BLOCK, &signals, &previous)
        let stopped = self.stopped
        let watcher = Threads.start(joinable: true) {
            var timeout = timespec(tv_sec: 0, tv_nsec: 100_000_000)
            var set = signals
            while !stopped.withLock({ $0 }) {
                let signal = sigtimedwait(&set, nil, &timeout)
                if signal > 0 { onSignal(signal) }
            }
        }
        if let watcher {
            thread = watcher
        } else {
            pthread_sigmask(SIG_SETMASK, &previous, nil)
        }
    }

    public func stop() {
        guard let running = thread else { return }
        stopped.withLock { $0 = true }
        running.join()
        thread = nil
        pthread_sigmask(SIG_SETMASK, &previous, nil)
    }
}
