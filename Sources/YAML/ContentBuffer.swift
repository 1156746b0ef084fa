/// Where a run of a scalar's content came from in the source: `verbatim` runs are copied byte for
/// byte from `sourceOffset`; other runs (escapes, folded line breaks) were produced by the syntax
/// written at `sourceOffset`.
struct ContentSegment: Sendable, Hashable {
    var contentOffset: Int
    var sourceOffset: Int
    var verbatim: Bool
}

/// The reusable byte buffer scalars that need rewriting (escapes, folding, chomping) are built in.
/// When `recording` is on it also remembers where every run came from (for `ScalarSourceMap`;
/// never on while parsing normally).
struct ContentBuffer {
    var bytes: [UInt8] = []
    var recording = false
    var segments: [ContentSegment] = []

    init() { bytes.reserveCapacity(1024) }

    mutating func reset(recording: Bool) {
        bytes.removeAll(keepingCapacity: true)
        self.recording = recording
        if recording { segments.removeAll() }
    }

    /// Appends `source[from..<to]` verbatim.
    @inline(__always)
    mutating func append(_ source: UnsafeBufferPointer<UInt8>, from: Int, to: Int) {
        guard from < to else { return }
        if recording { segments.append(ContentSegment(contentOffset: bytes.count, sourceOffset: from, verbatim: true)) }
        bytes.append(contentsOf: UnsafeBufferPointer(rebasing: source[from..<to]))
    }

    /// Appends one byte produced by the syntax at `sourceOffset` (a folded line break, an escape).
    @inline(__always)
    mutating func append(byte: UInt8, producedAt sourceOffset: Int) {
        if recording { segments.append(ContentSegment(contentOffset: bytes.count, sourceOffset: sourceOffset, verbatim: false)) }
        bytes.append(byte)
    }

    /// Appends `count` copies of `byte` produced by the syntax at `sourceOffset`.
    mutating func append(byte: UInt8, count: Int, producedAt sourceOffset: Int) {
        guard count > 0 else { return }
        if recording { segments.append(ContentSegment(contentOffset: bytes.count, sourceOffset: sourceOffset, verbatim: false)) }
        for _ in 0..<count { bytes.append(byte) }
    }

    /// Appends the UTF-8 encoding of a code point produced by an escape at `sourceOffset`.
    mutating func append(scalar: Unicode.Scalar, producedAt sourceOffset: Int) {
        if recording { segments.append(ContentSegment(contentOffset: bytes.count, sourceOffset: sourceOffset, verbatim: false)) }
        let value = scalar.value
        switch value {
        case 0..<0x80:
            bytes.append(UInt8(value))
        case 0x80..<0x800:
            bytes.append(UInt8(0xC0 | (value >> 6)))
            bytes.append(UInt8(0x80 | (value & 0x3F)))
        case 0x800..<0x10000:
            bytes.append(UInt8(0xE0 | (value >> 12)))
            bytes.append(UInt8(0x80 | ((value >> 6) & 0x3F)))
            bytes.append(UInt8(0x80 | (value & 0x3F)))
        default:
            bytes.append(UInt8(0xF0 | (value >> 18)))
            bytes.append(UInt8(0x80 | ((value >> 12) & 0x3F)))
            bytes.append(UInt8(0x80 | ((value >> 6) & 0x3F)))
            bytes.append(UInt8(0x80 | (value & 0x3F)))
        }
    }

    /// The content so far as a String (the bytes are valid UTF-8: the input was validated and
    /// escapes append whole code points).
    func makeString() -> String { String(decoding: bytes, as: UTF8.self) }
}
