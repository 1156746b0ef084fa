/// The offsets where the lines of a file start, so a byte offset becomes a line and a column
/// without rescanning the file: a binary search for the line, then Unicode scalars counted
/// within it. The one place that turns offsets into `SourceLocation`s (the YAML layer's error
/// paths and scalar source map, `SourceFile`, lint suppressions all use it).
public struct LineIndex: Sendable {
    /// 0, then the offset after every line feed, ascending (32 bits: inputs are far below 2 GiB).
    public let starts: [Int32]
    /// The size of the file in bytes.
    public let byteCount: Int

    public init(_ bytes: [UInt8]) {
        self = bytes.withUnsafeBufferPointer { LineIndex($0) }
    }

    public init(_ bytes: UnsafeBufferPointer<UInt8>) {
        var starts: [Int32] = [0]
        starts.reserveCapacity(bytes.count / 32 + 1)
        let count = bytes.count
        if let base = bytes.baseAddress {
            var index = 0
            // Eight bytes at a time: the high bit of each byte of `found` is set where it is a line
            // feed (exact per-byte masks, no borrows between bytes).
            while index + 8 <= count {
                let word = UInt64(littleEndian: UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self))
                let x = word ^ 0x0A0A_0A0A_0A0A_0A0A
                var found = ~(((x & 0x7F7F_7F7F_7F7F_7F7F) &+ 0x7F7F_7F7F_7F7F_7F7F) | x | 0x7F7F_7F7F_7F7F_7F7F)
                while found != 0 {
                    starts.append(Int32(truncatingIfNeeded: index + found.trailingZeroBitCount / 8 + 1))
                    found &= found &- 1
                }
                index += 8
            }
            while index < count {
                if base[index] == 0x0A { starts.append(Int32(truncatingIfNeeded: index + 1)) }
                index += 1
            }
        }
        self.starts = starts
        self.byteCount = count
    }

    /// How many lines the file has (a final line feed starts an empty last line).
    public var lineCount: Int { starts.count }

    /// The 1-based line holding byte `offset` (clamped to the file).
    public func line(ofOffset offset: Int) -> Int {
        let target = max(0, min(offset, byteCount))
        var low = 0
        var high = starts.count - 1
        while low < high {
            let middle = (low + high + 1) / 2
            if Int(starts[middle]) <= target { low = middle } else { high = middle - 1 }
        }
        return low + 1
    }

    /// The bytes of the 1-based line `line`, without its line break (LF or CR LF); nil when out
    /// of range.
    public func byteRange(ofLine line: Int, in bytes: UnsafeBufferPointer<UInt8>) -> Range<Int>? {
        guard line >= 1, line <= starts.count else { return nil }
        let start = Int(starts[line - 1])
        var end = line < starts.count ? Int(starts[line]) - 1 : byteCount
        if end > start, end - 1 < bytes.count, bytes[end - 1] == 0x0D { end -= 1 }
        return start..<max(start, end)
    }

    /// The location of byte `offset` of `bytes` (the file this index was built from).
    public func location(ofOffset offset: Int, in bytes: UnsafeBufferPointer<UInt8>) -> SourceLocation {
        let target = max(0, min(offset, byteCount, bytes.count))
        let line = line(ofOffset: target)
        return LineIndex.location(of: target, lineStart: Int(starts[line - 1]), line: line, in: bytes)
    }

    /// The location of byte `offset` of `bytes` without an index: one pass from the start (for
    /// error paths that locate one or two offsets).
    public static func locate(_ offset: Int, in bytes: UnsafeBufferPointer<UInt8>) -> SourceLocation {
        let target = max(0, min(offset, bytes.count))
        var line = 1
        var lineStart = 0
        var index = 0
        while index < target {
            if bytes[index] == 0x0A {
                line += 1
                lineStart = index + 1
            }
            index += 1
        }
        return location(of: target, lineStart: lineStart, line: line, in: bytes)
    }

    /// The column of `target` counted in Unicode scalars from `lineStart`: every byte but a UTF-8
    /// continuation byte starts one.
    private static func location(of target: Int, lineStart: Int, line: Int, in bytes: UnsafeBufferPointer<UInt8>) -> SourceLocation {
        var column = 1
        var index = lineStart
        while index < target {
            if bytes[index] & 0xC0 != 0x80 { column += 1 }
            index += 1
        }
        return SourceLocation(line: line, column: column, offset: target)
    }
}
