/// A position in a source file, as users count it.
///
/// `line` and `column` are 1-based; `column` counts Unicode scalars from the start of the line
/// (so a caret lines up with what an editor shows). `offset` is the 0-based byte offset in the
/// UTF-8 input.
public struct SourceLocation: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var line: Int
    public var column: Int
    public var offset: Int

    public init(line: Int, column: Int, offset: Int) {
        self.line = line
        self.column = column
        self.offset = offset
    }

    public static let start = SourceLocation(line: 1, column: 1, offset: 0)

    public static func < (lhs: SourceLocation, rhs: SourceLocation) -> Bool {
        if lhs.line != rhs.line { return lhs.line < rhs.line }
        if lhs.column != rhs.column { return lhs.column < rhs.column }
        return lhs.offset < rhs.offset
    }

    public var description: String { "\(line):\(column)" }
}

/// A half-open range `[start, end)` in a source file.
public struct SourceRange: Sendable, Hashable, CustomStringConvertible {
    public var start: SourceLocation
    public var end: SourceLocation

    public init(start: SourceLocation, end: SourceLocation) {
        self.start = start
        self.end = end
    }

    /// An empty range at one location.
    public init(at location: SourceLocation) {
        self.start = location
        self.end = location
    }

    public var description: String { "\(start)-\(end)" }
}

/// A file's path and its bytes, kept so diagnostics can show the offending source line.
public struct SourceFile: Sendable {
    /// The path as the user wrote it (`-` or `<stdin>` for standard input).
    public let path: String
    public let bytes: [UInt8]
    /// Where its lines start (built once, one pass over the bytes).
    public let lines: LineIndex

    public init(path: String, bytes: [UInt8]) {
        self.path = path
        self.bytes = bytes
        self.lines = LineIndex(bytes)
    }

    public init(path: String, text: String) {
        self.init(path: path, bytes: Array(text.utf8))
    }

    /// The text of the 1-based line `line`, without its line break; nil when out of range.
    /// The whole line, however long: diagnostics show a window of it (`Snippet`).
    public func lineText(_ line: Int) -> String? {
        bytes.withUnsafeBufferPointer { buffer in
            lines.byteRange(ofLine: line, in: buffer).map { String(decoding: buffer[$0], as: UTF8.self) }
        }
    }

    /// The location of a byte offset (clamped to the file), computing line and column.
    public func location(ofOffset offset: Int) -> SourceLocation {
        bytes.withUnsafeBufferPointer { lines.location(ofOffset: offset, in: $0) }
    }
}
