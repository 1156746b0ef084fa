import Diagnostics

/// Where the content of YAML scalars comes from in their file, for putting diagnostics at the
/// exact spot inside quoted strings and block scalars.
///
/// A scalar's content (`node.scalar.text`: after escapes, line folding and chomping) is a series of
/// runs, each copied from the source or produced by some syntax (an escape, a folded line break);
/// the map holds those runs for the scalars added to it, as the parser records them, and a table of
/// the file's line starts, so a content offset becomes a line and a column without rescanning the
/// file (a binary search for the line, then Unicode scalars counted within it).
///
/// Cost: a scalar is re-scanned alone, by the parser's own code started at the scalar, whenever
/// that provably records what parsing the whole file records: every one-line plain scalar, every
/// quoted scalar, every block scalar without an indentation indicator (and with a character
/// other than a line break), and the multi-line plain scalars whose re-scanned content and end
/// match the node's. The others (a block scalar with an indentation indicator, whose content
/// indentation depends on the enclosing collection; a multi-line plain scalar that does not
/// re-scan alone) are recorded by re-parsing the file once, for all of them together. A map's
/// cost is thus the line table (one pass over the bytes) plus the size of the scalars mapped,
/// and one parse of the file only when such a scalar is among them.
public struct ScalarSourceMap: Sendable {
    /// The file's bytes.
    public let source: [UInt8]
    /// Where the file's lines start.
    private let lines: LineIndex
    /// Scalar start offset -> the runs of its content, in content order.
    private var runs: [Int: [ContentSegment]] = [:]
    /// Whether the file was re-parsed recording every scalar built in the parser's content buffer
    /// (after that no scalar of the file needs another re-parse).
    private var reparsedEverything = false

    /// An empty map of `source` (scalars are added with `add(_:)`).
    public init(source: [UInt8]) {
        self.source = source
        lines = LineIndex(source)
    }


    /// The map of the scalar nodes `nodes` of `source` (the file they were parsed from), with at most
    /// one re-parse of the file whatever their number. Other nodes (collections, nodes of another
    /// file) are left out: their offsets map to their start.
    public static func build(for nodes: [Node], source: [UInt8]) -> ScalarSourceMap {
        var map = ScalarSourceMap(source: source)
        map.include(nodes, reparseRecordsEverything: false)
        return map
    }

    /// Adds scalar nodes of `source` to the map (for a map grown as positions are asked for). When
    /// one of them needs the file re-parsed, the re-parse records every scalar of the file that
    /// could need it, so adding re-parses the file at most once however often the map grows.
    public mutating func add(_ nodes: [Node]) {
        include(nodes, reparseRecordsEverything: true)
    }

    /// Whether `node` is in the map (added, or recorded by a re-parse).
    public func contains(_ node: Node) -> Bool {
        node.scalar != nil && runs[node.range.start.offset] != nil
    }

    // MARK: positions

    /// The location of byte `offset` of the file (clamped to it): its 1-based line, and its
    /// column counted in Unicode scalars from the start of the line.
    public func location(ofOffset offset: Int) -> SourceLocation {
        source.withUnsafeBufferPointer { lines.location(ofOffset: offset, in: $0) }
    }

    /// Where, in the file, the character at `contentOffset` of `node`'s content comes from.
    ///
    /// `contentOffset` counts UTF-8 bytes of `node.scalar.text` (clamped to it). Escapes map to their
    /// backslash, folded line breaks to the line break they replace, and the end of the content to
    /// just after the scalar's last character. A node not in the map maps to its start.
    public func location(ofContentOffset contentOffset: Int, in node: Node) -> SourceLocation {
        guard let scalar = node.scalar, let segments = runs[node.range.start.offset] else { return node.range.start }
        return location(contentOffset, segments, total: scalar.text.utf8.count, node: node)
    }

    /// `location(ofContentOffset:in:)` for several offsets of one scalar.
    public func locations(ofContentOffsets contentOffsets: [Int], in node: Node) -> [SourceLocation] {
        guard let scalar = node.scalar, let segments = runs[node.range.start.offset] else {
            return contentOffsets.map { _ in node.range.start }
        }
        let total = scalar.text.utf8.count
        return contentOffsets.map { location($0, segments, total: total, node: node) }
    }

    /// The file range of bytes `contentRange` of `node`'s content (clamped to it): from the
    /// location of its first byte to the location of the offset just after it, except when its last
    /// byte is copied from the source and the content after it is produced by some syntax (a folded
    /// line break, an empty line, an escape): then the range ends right after that byte, not where
    /// that syntax is written (after trailing blanks, or a line or more further on). An empty range
    /// sits at its start.
    public func range(ofContentRange contentRange: Range<Int>, in node: Node) -> SourceRange {
        guard let scalar = node.scalar, let segments = runs[node.range.start.offset] else { return SourceRange(at: node.range.start) }
        let total = scalar.text.utf8.count
        let lower = max(0, min(contentRange.lowerBound, total))
        let upper = max(lower, min(contentRange.upperBound, total))
        let start = location(lower, segments, total: total, node: node)
        guard upper > lower else { return SourceRange(at: start) }
        let lastIndex = Self.run(holding: upper - 1, in: segments)
        let last = segments[lastIndex]
        if last.verbatim, lastIndex + 1 < segments.count, segments[lastIndex + 1].contentOffset == upper,
            !segments[lastIndex + 1].verbatim
        {
            return SourceRange(start: start, end: location(ofOffset: last.sourceOffset + (upper - last.contentOffset)))
        }
        return SourceRange(start: start, end: location(upper, segments, total: total, node: node))
    }

    private func location(_ contentOffset: Int, _ segments: [ContentSegment], total: Int, node: Node) -> SourceLocation {
        guard let last = segments.last else { return node.range.start }
        let offset = max(0, min(contentOffset, total))
        if offset == total {
            // Just after the last character.
            if last.verbatim { return location(ofOffset: last.sourceOffset + (total - last.contentOffset)) }
            return node.range.end
        }
        let run = segments[Self.run(holding: offset, in: segments)]
        if run.verbatim { return location(ofOffset: run.sourceOffset + (offset - run.contentOffset)) }
        return location(ofOffset: run.sourceOffset)
    }

    /// The index of the last run starting at or before `offset` (runs are in content order).
    private static func run(holding offset: Int, in segments: [ContentSegment]) -> Int {
        var low = 0
        var high = segments.count - 1
        while low < high {
            let middle = (low + high + 1) / 2
            if segments[middle].contentOffset <= offset { low = middle } else { high = middle - 1 }
        }
        return low
    }

    // MARK: building

    private mutating func include(_ nodes: [Node], reparseRecordsEverything: Bool) {
        var remaining: Set<Int> = []
        source.withUnsafeBufferPointer { input in
            for node in nodes where node.scalar != nil {
                let start = node.range.start.offset
                if runs[start] != nil { continue }
                if let alone = StreamParser.rescanAlone(node, in: input) {
                    runs[start] = alone
                } else {
                    remaining.insert(start)
                }
            }
        }
        guard !remaining.isEmpty, !reparsedEverything else { return }
        let recorded: [Int: [ContentSegment]]? = source.withUnsafeBufferPointer { input in
            guard let isASCII = try? EncodingCheck.validate(input) else { return nil }
            var parser = StreamParser(
                input: input, source: source, limits: .standard, isASCII: isASCII, probeTargets: remaining,
                probeEveryRewritten: reparseRecordsEverything)
            // A parse error after a scalar leaves what was recorded before it.
            _ = try? parser.parseStream()
            return parser.probeResults
        }
        guard let recorded else { return }
        for (start, segments) in recorded where runs[start] == nil { runs[start] = segments }
        if reparseRecordsEverything { reparsedEverything = true }
    }
}

extension StreamParser {
    /// The content runs of the scalar `node` of `input`, re-scanned alone with the parser's code
    /// started at the scalar; nil unless they are provably what parsing the whole input records.
    ///
    /// What a scanner records depends on the scalar's own bytes and on `parentIndent` (the column
    /// of the enclosing block collection), which a node does not keep. A one-line plain scalar is
    /// its bytes; a quoted scalar uses `parentIndent` only to refuse under-indented lines (the input
    /// parsed, so none is), and so does a block scalar whose content indentation is detected from
    /// its first line with content (when its content has a character other than a line break, the
    /// detection found that line, whatever `parentIndent` was). A multi-line plain scalar is
    /// re-scanned with `parentIndent` just under its least indented continuation line, which takes
    /// in the same lines; its content and end are compared with the node's (in block context, then
    /// in flow context). A block scalar with an indentation indicator is not re-scanned.
    static func rescanAlone(_ node: Node, in input: UnsafeBufferPointer<UInt8>) -> [ContentSegment]? {
        guard let scalar = node.scalar else { return nil }
        let start = node.range.start.offset
        let end = node.range.end.offset
        guard start >= 0, start <= end, end <= input.count else { return nil }
        let text = scalar.text
        let first = start < input.count ? input[start] : Byte.end

        /// Runs the scanner `scan` on a parser positioned at the scalar; the runs it recorded when
        /// its content and end are the node's.
        func rescan(_ scan: (inout StreamParser) throws(ParseFailure) -> Node) -> [ContentSegment]? {
            // Only offsets are used: the ASCII column arithmetic (wrong columns on non-ASCII lines,
            // right offsets) spares counting characters on every line.
            // (No source array: the scanned node's offsets and text are all that is read.)
            var parser = StreamParser(input: input, source: [], limits: .standard, isASCII: true, probeTargets: [start])
            parser.pos = start
            parser.line = node.range.start.line
            var lineStart = start
            while lineStart > 0, input[lineStart - 1] != Byte.lineFeed { lineStart -= 1 }
            parser.lineStart = lineStart
            do throws(ParseFailure) {
                let scanned = try scan(&parser)
                guard scanned.range.end.offset == end, scanned.scalar?.text == text else { return nil }
                return parser.probeResults[start]
            } catch {
                return nil
            }
        }

        switch scalar.style {
        case .plain where node.range.start.line == node.range.end.line:
            // One line: the content is the source bytes.
            guard text.utf8.elementsEqual(UnsafeBufferPointer(rebasing: input[start..<end])) else { return nil }
            return [ContentSegment(contentOffset: 0, sourceOffset: start, verbatim: true)]
        case .plain:
            guard let parentIndent = continuationParentIndent(start: start, end: end, in: input) else { return nil }
            if let runs = rescan({ (parser: inout StreamParser) throws(ParseFailure) -> Node in
                try parser.scanPlainBlock(parentIndent: parentIndent).node
            }) {
                return runs
            }
            return rescan { (parser: inout StreamParser) throws(ParseFailure) -> Node in try parser.scanPlainFlow(parentIndent: parentIndent) }
        case .singleQuoted, .doubleQuoted:
            guard first == (scalar.style == .doubleQuoted ? Byte.doubleQuote : Byte.singleQuote) else { return nil }
            return rescan { (parser: inout StreamParser) throws(ParseFailure) -> Node in try parser.parseQuotedScalar(parentIndent: -1) }
        case .literal, .folded:
            guard first == (scalar.style == .literal ? Byte.pipe : Byte.greaterThan) else { return nil }
            // The header: chomping and indentation indicators (at most one of each).
            var index = start + 1
            while index < end, index < start + 3 {
                let current = input[index]
                if current >= Byte.one, current <= Byte.nine { return nil }
                guard current == Byte.minus || current == Byte.plus else { break }
                index += 1
            }
            guard text.utf8.contains(where: { $0 != Byte.lineFeed }) else { return nil }
            return rescan { (parser: inout StreamParser) throws(ParseFailure) -> Node in try parser.parseBlockScalar(parentIndent: -1) }
        }
    }

    /// For a multi-line plain scalar from `start` to `end`: one less than the indentation of its
    /// least indented continuation line (nil if it has none).
    static func continuationParentIndent(start: Int, end: Int, in input: UnsafeBufferPointer<UInt8>) -> Int? {
        var least = Int.max
        var index = start
        while true {
            while index < end, input[index] != Byte.lineFeed { index += 1 }
            guard index < end else { break }
            index += 1
            let lineBegin = index
            while index < input.count, input[index] == Byte.space { index += 1 }
            let spaces = index - lineBegin
            while index < input.count, Byte.isBlank(input[index]) { index += 1 }
            // A continuation line has content before `end` (blank lines have none).
            if index < end, input[index] != Byte.lineFeed, input[index] != Byte.carriageReturn { least = min(least, spaces) }
        }
        return least == Int.max ? nil : least - 1
    }
}
