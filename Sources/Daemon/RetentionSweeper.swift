import Platform
import Store

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Retention in the daemon (control-plane.md "Monitoring"): once at start and then hourly, events
// older than `--event-retention-days` are deleted, the step logs of tasks finished more than
// `--log-retention-days` ago are removed, and tasks finished more than `--task-retention-days` ago
// are deleted with their history (0 keeps each). Unfinished tasks are never touched.
final class RetentionSweeper: @unchecked Sendable {
    let options: DaemonOptions
    let say: @Sendable (String) -> Void
    private let stopping = Locked(false)
    private let thread = Locked<JoinableThread?>(nil)

    init(options: DaemonOptions, say: @escaping @Sendable (String) -> Void) {
        self.options = options
        self.say = say
    }

    func start() {
        guard options.eventRetentionDays > 0 || options.logRetentionDays > 0 || options.taskRetentionDays > 0 else { return }
        let started = Threads.start(joinable: true) { [self] in
            var next: Int64 = 0
            while !stopping.withLock({ $0 }) {
                if monotonicMilliseconds() >= next {
                    sweep()
                    next = monotonicMilliseconds() + 3_600_000
                }
                usleep(200_000)
            }
        }
        thread.withLock { $0 = started }
    }

    func stop() {
        stopping.withLock { $0 = true }
        thread.withLock { $0 }?.join()
    }

    /// One sweep; what it removed goes to the daemon's log.
    func sweep() {
        do {
            let store = try SQLResourceStore.connect(store: options.store, dataDirectory: options.dataDirectory)
            let tasks = store.taskStore()
            let now = realtimeMilliseconds()
            func cutoff(_ days: Int) -> String { StoreClock.timestamp(epochMilliseconds: now - Int64(days) * 86_400_000) }
            if options.eventRetentionDays > 0 {
                let deleted = try tasks.deleteEvents(
                    recordedBefore: cutoff(options.eventRetentionDays), stop: { stopping.withLock { $0 } })
                if deleted > 0 { say("retention: \(deleted) events older than \(options.eventRetentionDays) days deleted") }
            }
            let finished = try tasks.taskSummaries().filter { $0.status.isTerminal }
            if options.logRetentionDays > 0 {
                let limit = cutoff(options.logRetentionDays)
                for task in finished where (task.finishedAt ?? task.updatedAt) < limit {
                    let directory = tasks.logDirectory(task.id)
                    var info = stat()
                    if lstat(directory, &info) == 0 {
                        removeTree(directory)
                        say("retention: logs of task \(task.id) (finished \(task.finishedAt ?? "?")) removed")
                    }
                }
            }
            if options.taskRetentionDays > 0 {
                let limit = cutoff(options.taskRetentionDays)
                for task in finished where (task.finishedAt ?? task.updatedAt) < limit {
                    try tasks.deleteTask(task.id)
                    removeTree(tasks.logDirectory(task.id))
                    say("retention: task \(task.id) (finished \(task.finishedAt ?? "?")) deleted")
                }
            }
        } catch {
            say("retention: the sweep failed: \(error)")
        }
    }
}
