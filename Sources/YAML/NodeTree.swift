import Diagnostics
import Synchronization

/// The nodes of one parsed stream, flat (issue 20): a node is an index into parallel arrays of
/// small integers, its children are a run of indices in `links`, a scalar's text is a slice of
/// the source when it is written there as it reads (most keys and plain values) and of `texts`
/// otherwise, and positions are offsets and line numbers from which columns are computed on
/// demand. About 30 bytes a node instead of a graph of boxed enums at 150 to 200, and nothing
/// to tear down node by node: a handful of arrays.
///
/// A tree is written by one parser (or one builder) and only read afterwards; that is why its
/// arrays skip the runtime's exclusivity checks (a third of the parse's time otherwise).
public final class NodeTree: @unchecked Sendable {
    /// One node: 20 bytes.
    struct Record {
        var startOffset: Int32
        var endOffset: Int32
        /// Scalars: where the text starts (>= 0: in `source`; < 0: at `-(first + 1)` in `texts`).
        /// Collections: where the children start in `links`.
        var first: Int32
        /// Scalars: the text's length in bytes. Mappings: entries (2 links each). Sequences: items.
        var length: Int32
        /// The end's line minus the start's (`UInt16.max`: see `endLineOverflow`). The start's line
        /// is the line holding `startOffset` (found in `lineStarts`).
        var endLines: UInt16
        /// Bits 0-1: kind (0 scalar, 1 mapping, 2 sequence); bits 2-4: scalar style; bits 5-7: value kind.
        var info: UInt8
    }

    @exclusivity(unchecked) var records: [Record] = []
    @exclusivity(unchecked) var endLineOverflow: [Int32: Int32] = [:]
    @exclusivity(unchecked) var links: [Int32] = []
    @exclusivity(unchecked) var texts: [UInt8] = []

    // Positions.
    let source: [UInt8]
    let isASCII: Bool
    let hasByteOrderMark: Bool
    /// The offset of each line's first byte (index: line - 1), as the parser met them.
    @exclusivity(unchecked) var lineStarts: [Int32]
    /// Nodes built from values rather than parsed (`Node(json:)`, `Node(_:range:)`): their ranges.
    @exclusivity(unchecked) var explicitRanges: [Int32: SourceRange] = [:]

    /// The line the parser is on (written only while parsing: afterwards the tree is read-only).
    @exclusivity(unchecked) var parsingLine = 1
    /// The line `lineOf` found by searching last (where the next search probably ends).
    private let lastLineFound = Atomic<Int>(1)
    /// The line table was given complete (a `LineIndex` of the source): the parser adds nothing.
    let linesGiven: Bool

    /// `lineStarts`: every line's first offset (`LineIndex.starts`: line 1 at 0 even after a byte
    /// order mark, which then counts as the line's first character: the same columns).
    /// `expectedBytes`: how much of the source the parser reads (a chunk of it), by default all;
    /// `firstLine`: the line it starts on.
    init(
        source: [UInt8], isASCII: Bool, hasByteOrderMark: Bool, lineStarts given: [Int32]? = nil, expectedBytes: Int? = nil,
        firstLine: Int = 1
    ) {
        self.source = source
        self.isASCII = isASCII
        self.hasByteOrderMark = hasByteOrderMark
        linesGiven = given != nil
        lineStarts = given ?? [hasByteOrderMark ? 3 : 0]
        parsingLine = firstLine
        // Real manifests hold a node every 15 bytes or so: room for one every 10, so that the
        // arrays never grow by copying (a copy doubles the memory touched, for a moment).
        // Capacity that is never written costs no memory.
        let bytes = expectedBytes ?? source.count
        records.reserveCapacity(bytes / 10)
        links.reserveCapacity(bytes / 10)
        texts.reserveCapacity(bytes / 2)
    }

    /// A tree for nodes that are not parsed from a source.
    convenience init() { self.init(source: [], isASCII: true, hasByteOrderMark: false) }

    /// How many nodes the tree holds.
    public var count: Int { records.count }

    // MARK: - Kinds and values

    static let scalarKind: UInt8 = 0, mappingKind: UInt8 = 1, sequenceKind: UInt8 = 2

    static func styleCode(_ style: ScalarStyle) -> UInt8 {
        switch style {
        case .plain: return 0
        case .singleQuoted: return 1
        case .doubleQuoted: return 2
        case .literal: return 3
        case .folded: return 4
        }
    }

    static let styles: [ScalarStyle] = [.plain, .singleQuoted, .doubleQuoted, .literal, .folded]

    static func valueCode(_ value: ScalarValue) -> UInt8 {
        switch value {
        case .null: return 0
        case .bool(false): return 1
        case .bool(true): return 2
        case .int: return 3
        case .float: return 4
        case .string: return 5
        }
    }

    @inline(__always) func kind(_ id: Int32) -> UInt8 { records[Int(id)].info & 0b11 }
    @inline(__always) func valueCode(_ id: Int32) -> UInt8 { records[Int(id)].info >> 5 }
    @inline(__always) func length(_ id: Int32) -> Int { Int(records[Int(id)].length) }

    // MARK: - Building

    private func appendNode(info: UInt8, first: Int32, length: Int32, range: SourceRange, explicit: Bool) -> Int32 {
        let id = Int32(records.count)
        let lines = range.end.line - range.start.line
        var endLines = UInt16.max
        if lines >= 0 && lines < Int(UInt16.max) {
            endLines = UInt16(lines)
        } else {
            endLineOverflow[id] = Int32(truncatingIfNeeded: range.end.line)
        }
        records.append(
            Record(
                startOffset: Int32(truncatingIfNeeded: range.start.offset), endOffset: Int32(truncatingIfNeeded: range.end.offset),
                first: first, length: length, endLines: endLines, info: info))
        if explicit { explicitRanges[id] = range }
        return id
    }

    /// Adds a scalar; its text is taken from the source when it is written there as it reads.
    func addScalar(_ scalar: Scalar, range: SourceRange, explicit: Bool = false) -> Node {
        let info = NodeTree.scalarKind | NodeTree.styleCode(scalar.style) << 2 | NodeTree.valueCode(scalar.value) << 5
        var text = scalar.text
        let count = text.utf8.count
        var first: Int32?
        if !explicit, count > 0 {
            // Where the text would sit in the source, written as it reads.
            let from: Int
            switch scalar.style {
            case .plain: from = range.start.offset
            case .singleQuoted, .doubleQuoted: from = range.start.offset + 1
            case .literal, .folded: from = -1
            }
            if from >= 0, from + count <= source.count {
                let same = text.withUTF8 { bytes in
                    source.withUnsafeBufferPointer { all in memcmp(all.baseAddress! + from, bytes.baseAddress!, count) == 0 }
                }
                if same { first = Int32(from) }
            }
        }
        if first == nil {
            first = -Int32(texts.count) - 1
            texts.append(contentsOf: text.utf8)
        }
        let id = appendNode(info: info, first: first ?? 0, length: Int32(count), range: range, explicit: explicit)
        return Node(tree: self, id: id)
    }

    /// Adds a plain scalar that is the string `input[from..<to]` as written (`input` is the
    /// parser's view of `source`; a tree without the source array keeps a copy of the bytes).
    func addSourceString(from: Int, to: Int, input: UnsafeBufferPointer<UInt8>, range: SourceRange) -> Node {
        let info = NodeTree.scalarKind | NodeTree.styleCode(.plain) << 2 | NodeTree.valueCode(.string("")) << 5
        var first = Int32(truncatingIfNeeded: from)
        if to > source.count {
            first = -Int32(texts.count) - 1
            texts.append(contentsOf: UnsafeBufferPointer(rebasing: input[from..<to]))
        }
        let id = appendNode(info: info, first: first, length: Int32(truncatingIfNeeded: to - from), range: range, explicit: false)
        return Node(tree: self, id: id)
    }

    func addMapping(_ entries: [MappingEntry], range: SourceRange, explicit: Bool = false) -> Node {
        // Children first (a copy of a node of another tree adds nodes), then the mapping.
        var children: [Int32] = []
        children.reserveCapacity(2 * entries.count)
        for entry in entries {
            children.append(adopt(entry.key))
            children.append(adopt(entry.value))
        }
        let start = Int32(links.count)
        links.append(contentsOf: children)
        let id = appendNode(info: NodeTree.mappingKind, first: start, length: Int32(entries.count), range: range, explicit: explicit)
        return Node(tree: self, id: id)
    }

    func addSequence(_ items: [Node], range: SourceRange, explicit: Bool = false) -> Node {
        var children: [Int32] = []
        children.reserveCapacity(items.count)
        for item in items { children.append(adopt(item)) }
        let start = Int32(links.count)
        links.append(contentsOf: children)
        let id = appendNode(info: NodeTree.sequenceKind, first: start, length: Int32(items.count), range: range, explicit: explicit)
        return Node(tree: self, id: id)
    }

    /// The id in this tree of `node`: itself when it is of this tree, else a copy.
    private func adopt(_ node: Node) -> Int32 {
        if node.tree === self { return node.id }
        let range = node.range
        switch node.content {
        case .scalar(let scalar): return addScalar(scalar, range: range, explicit: true).id
        case .mapping(let entries): return addMapping(entries, range: range, explicit: true).id
        case .sequence(let items): return addSequence(items, range: range, explicit: true).id
        }
    }

    /// Records the start of line `line` (the parser calls it at each line break).
    @inline(__always) func lineBegins(_ line: Int, at offset: Int) {
        // Only in step (a parser started mid-stream at some line records nothing).
        if !linesGiven, lineStarts.count == line - 1 { lineStarts.append(Int32(truncatingIfNeeded: offset)) }
        parsingLine = line
    }

    // MARK: - Reading

    func text(_ id: Int32) -> String {
        let record = records[Int(id)]
        let count = Int(record.length)
        if count == 0 { return "" }
        let start = Int(record.first)
        if start >= 0 {
            return source.withUnsafeBufferPointer { String(decoding: UnsafeBufferPointer(rebasing: $0[start..<(start + count)]), as: UTF8.self) }
        }
        let from = Int(-start - 1)
        return texts.withUnsafeBufferPointer { String(decoding: UnsafeBufferPointer(rebasing: $0[from..<(from + count)]), as: UTF8.self) }
    }

    /// Whether scalar `id`'s text is `other`, without making a String.
    func textEquals(_ id: Int32, _ other: String) -> Bool {
        let record = records[Int(id)]
        let count = Int(record.length)
        var other = other
        return other.withUTF8 { bytes in
            guard bytes.count == count else { return false }
            if count == 0 { return true }
            let start = Int(record.first)
            if start >= 0 {
                return source.withUnsafeBufferPointer { memcmp($0.baseAddress! + start, bytes.baseAddress!, count) == 0 }
            }
            let from = Int(-start - 1)
            return texts.withUnsafeBufferPointer { memcmp($0.baseAddress! + from, bytes.baseAddress!, count) == 0 }
        }
    }

    func value(_ id: Int32) -> ScalarValue {
        switch valueCode(id) {
        case 0: return .null
        case 1: return .bool(false)
        case 2: return .bool(true)
        case 3, 4: return CoreSchema.resolve(text(id))
        default: return .string(text(id))
        }
    }

    func scalar(_ id: Int32) -> Scalar {
        let style = NodeTree.styles[Int((records[Int(id)].info >> 2) & 0b111)]
        let text = self.text(id)
        let value: ScalarValue
        switch valueCode(id) {
        case 0: value = .null
        case 1: value = .bool(false)
        case 2: value = .bool(true)
        case 3, 4: value = CoreSchema.resolve(text)
        default: value = .string(text)
        }
        return Scalar(text: text, style: style, value: value)
    }

    @inline(__always) func child(_ id: Int32, _ position: Int) -> Int32 { links[Int(records[Int(id)].first) + position] }

    // MARK: - Positions

    func range(_ id: Int32) -> SourceRange {
        // Parsed trees have no explicit ranges: no hashing of the id then.
        if !explicitRanges.isEmpty, let explicit = explicitRanges[id] { return explicit }
        let record = records[Int(id)]
        let start = Int(record.startOffset)
        let line = lineOf(start)
        let endLine = record.endLines == UInt16.max ? Int(endLineOverflow[id] ?? Int32(line)) : line + Int(record.endLines)
        return SourceRange(start: location(offset: start, line: line), end: location(offset: Int(record.endOffset), line: endLine))
    }

    func startLocation(_ id: Int32) -> SourceLocation {
        let start = Int(records[Int(id)].startOffset)
        return location(offset: start, line: lineOf(start))
    }

    /// The line holding `offset` among the lines the parser met (the last one that starts at or
    /// before it).
    func lineOf(_ offset: Int) -> Int {
        let target = Int32(truncatingIfNeeded: offset)
        // While parsing, nodes are read back near the line being parsed: try it and the two
        // before it first.
        let count = lineStarts.count
        var line = min(parsingLine, count)
        for _ in 0..<3 where line >= 1 {
            if lineStarts[line - 1] <= target, line == count || target < lineStarts[line] { return line }
            line -= 1
        }
        // Read afterwards, nodes are mostly asked for in document order (a decoder walks the
        // tree): try the line found last and the few after it before searching (issue 20: the
        // search was 1.5% of an apply). A hint only: readers on other threads may move it.
        let hint = min(lastLineFound.load(ordering: .relaxed), count)
        line = hint
        for _ in 0..<4 where line >= 1 && line <= count {
            if lineStarts[line - 1] <= target, line == count || target < lineStarts[line] {
                if line != hint { lastLineFound.store(line, ordering: .relaxed) }
                return line
            }
            line += 1
        }
        var low = 0
        var high = count - 1
        while low < high {
            let middle = (low + high + 1) / 2
            if lineStarts[middle] <= target { low = middle } else { high = middle - 1 }
        }
        lastLineFound.store(low + 1, ordering: .relaxed)
        return low + 1
    }

    /// The location the parser gave `offset` on line `line`: the column counts characters from
    /// the line's start (a byte order mark opening the stream takes one).
    func location(offset: Int, line: Int) -> SourceLocation {
        var lineStart: Int
        if line >= 1, line <= lineStarts.count {
            lineStart = Int(lineStarts[line - 1])
        } else {
            // A line this tree did not see begin (a parser started mid-stream): from the source.
            lineStart = min(offset, source.count)
            while lineStart > 0, source[lineStart - 1] != 0x0A { lineStart -= 1 }
        }
        if isASCII { return SourceLocation(line: line, column: offset - lineStart + 1, offset: offset) }
        var column = line == 1 && lineStart == 3 && hasByteOrderMark ? 2 : 1
        var index = lineStart
        let limit = min(offset, source.count)
        while index < limit {
            if source[index] & 0xC0 != 0x80 { column += 1 }
            index += 1
        }
        column += offset - limit
        return SourceLocation(line: line, column: column, offset: offset)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
