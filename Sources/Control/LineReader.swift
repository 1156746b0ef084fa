#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads newline-terminated lines from a descriptor (socket or pipe), never holding more than `limit` bytes of
/// one line: a longer line is reported once as `tooLong` and skipped up to its newline, so the
/// next line is read normally.
struct LineReader {
    enum Event: Equatable {
        case line([UInt8])
        /// A line longer than the limit was discarded (the count is what had arrived when it was cut).
        case tooLong(Int)
        case end
        case failed(Int32)
        case timedOut
    }

    let fd: Int32
    let limit: Int
    private var buffer: [UInt8] = []
    /// How far `buffer` has been searched for a newline.
    private var scanned = 0
    private var discarding = false
    private var atEnd = false

    init(fd: Int32, limit: Int) {
        self.fd = fd
        self.limit = limit
    }

    /// The next line (without its newline; a trailing CR is dropped too). Blank lines are skipped.
    /// A final line without a newline counts as a line. `timeoutMilliseconds` -1 waits forever.
    mutating func next(timeoutMilliseconds: Int32 = -1) -> Event {
        while true {
            if let newline = buffer[scanned...].firstIndex(of: 0x0A) {
                var line = Array(buffer[..<newline])
                buffer.removeSubrange(...newline)
                scanned = 0
                if discarding {
                    discarding = false
                    continue
                }
                if line.last == 0x0D { line.removeLast() }
                if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
                return .line(line)
            }
            scanned = buffer.count
            if discarding {
                buffer.removeAll(keepingCapacity: true)
                scanned = 0
            } else if buffer.count > limit {
                let count = buffer.count
                buffer.removeAll(keepingCapacity: true)
                scanned = 0
                discarding = true
                return .tooLong(count)
            }
            if atEnd {
                if discarding || buffer.isEmpty { return .end }
                let line = buffer
                buffer.removeAll()
                scanned = 0
                return line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) ? .end : .line(line)
            }
            if timeoutMilliseconds >= 0 && !waitReadable(fd, timeoutMilliseconds: timeoutMilliseconds) { return .timedOut }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let count = chunk.withUnsafeMutableBytes { raw -> Int in
                guard let base = raw.baseAddress else { return -1 }
                return read(fd, base, raw.count)
            }
            if count < 0 {
                if errno == EINTR { continue }
                if errno == ECONNRESET { atEnd = true; continue }
                return .failed(errno)
            }
            if count == 0 {
                atEnd = true
                continue
            }
            buffer.append(contentsOf: chunk[..<count])
        }
    }
}
