// Independent pieces of work spread over the machine's cores (issue 20): the documents of a
// large manifest stream are parsed and decoded in chunks, the stored form of each resource is
// computed on its own. Results keep their order: piece i's result is at index i.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public enum Parallel {
    /// The most threads `map` uses: the cores this process may run on, at most 8
    /// (`setMaximumWorkers` changes it, e.g. to 1 to measure the work on one core).
    public static var maximumWorkers: Int { limit.withLock { $0 } }

    public static func setMaximumWorkers(_ count: Int) { limit.withLock { $0 = max(1, count) } }

    private static let limit = Locked<Int>(min(8, usableCores))

    /// The cores the process is allowed on (`taskset`, a container's cpuset), else those online.
    static var usableCores: Int {
        // Linux: the affinity mask in /proc/self/status ("Cpus_allowed:\t3", hex, commas
        // between 32-bit groups).
        if let status = readFileBytes("/proc/self/status", limit: 1 << 16) {
            let text = String(decoding: status, as: UTF8.self)
            for line in text.split(separator: "\n") where line.hasPrefix("Cpus_allowed:") {
                let count = line.dropFirst("Cpus_allowed:".count).reduce(0) { total, character in
                    total + (character.hexDigitValue?.nonzeroBitCount ?? 0)
                }
                if count > 0 { return count }
            }
        }
        return max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }

    /// `transform` of each of `items`, in their order, computed by up to `workers` threads (the
    /// caller's among them); one item at a time is taken from a shared counter, so uneven pieces
    /// even out. With one worker, or a single item, it runs here and now. A thread the system
    /// refuses leaves its share to the others.
    public static func map<Item: Sendable, Result: Sendable>(
        _ items: [Item], workers: Int = maximumWorkers, _ transform: @escaping @Sendable (Item) -> Result
    ) -> [Result] {
        let workers = min(workers, items.count)
        guard workers > 1 else { return items.map(transform) }
        let results = Locked<[Result?]>(Array(repeating: nil, count: items.count))
        let next = Locked<Int>(0)
        let work: @Sendable () -> Void = {
            while true {
                let index = next.withLock { value -> Int in
                    defer { value += 1 }
                    return value
                }
                guard index < items.count else { return }
                let result = transform(items[index])
                results.withLock { $0[index] = result }
            }
        }
        var threads: [JoinableThread] = []
        for _ in 1..<workers {
            if let thread = Threads.start(joinable: true, work) { threads.append(thread) }
        }
        work()
        for thread in threads { thread.join() }
        // Every index was taken by exactly one worker, which stored its result before taking the
        // next, and every worker has been joined: no slot is empty. Were one empty, its item is
        // computed here rather than dropped.
        let stored = results.withLock { $0 }
        return stored.indices.map { stored[$0] ?? transform(items[$0]) }
    }
}
