import Diagnostics

/// Where a block node starts, which decides what it may be.
enum BlockPlacement: Equatable {
    /// First thing on its line: anything.
    case ownLine
    /// After `- ` on the same line: a compact mapping or list is allowed (not after a tab).
    case afterSequenceDash(tab: Bool)
    /// After `key: ` on the same line: no block mapping or list.
    case afterMappingColon
    /// After `--- ` on the same line: no block mapping or list.
    case afterDocumentStart
}

/// The recursive-descent parser over the UTF-8 bytes of one stream.
///
/// Block structure follows the indentation: a node's parent indentation `parentIndent` (-1 at the
/// top) bounds its continuation lines, a block collection's column is that of its first key or `-`.
/// Every block-level parse function ends positioned at the first non-blank character of the next
/// line with content (or at the end of the input), with `indent` and `tabInIndent` describing it.
struct StreamParser {
    let input: UnsafeBufferPointer<UInt8>
    let end: Int
    let limits: YAMLLimits
    let isASCII: Bool

    var pos = 0
    /// The 1-based line of `pos` and the offset of its first byte.
    var line = 1
    var lineStart = 0
    /// Leading spaces of the current line (valid after skipping to a content line).
    var indent = 0
    /// Whether a tab followed the leading spaces of the current line.
    var tabInIndent = false

    var depth = 0
    var nodeCount = 0
    var hasByteOrderMark = false
    /// The keys of the mappings being built, innermost last (see `MappingKeys`).
    var keyStack: [String] = []
    var buffer = ContentBuffer()

    /// Column cache for non-ASCII input: the last (lineStart, offset, column) computed.
    var cachedLineStart = -1
    var cachedOffset = 0
    var cachedColumn = 1

    /// Content origins recorded for `ScalarSourceMap` (never while parsing normally): the start
    /// offsets of the scalars to record, and whether to record every scalar built in the content
    /// buffer as well (every scalar whose content is not a plain copy of one source run).
    let probeTargets: Set<Int>
    let probeEveryRewritten: Bool
    /// `probeTargets` not empty or `probeEveryRewritten`: one test on the normal path.
    let isProbing: Bool
    /// Scalar start offset -> where the runs of its content come from, in content order.
    var probeResults: [Int: [ContentSegment]] = [:]

    /// Where the nodes go (issue 20: flat, see NodeTree).
    let tree: NodeTree

    /// `chunk` (with `lineStarts` given): parse only those bytes, a run of whole documents that
    /// starts at a line start on line `firstLine` (see `YAMLParser.documentChunks`).
    init(
        input: UnsafeBufferPointer<UInt8>, source: [UInt8] = [], lineStarts: [Int32]? = nil, limits: YAMLLimits, isASCII: Bool,
        probeTargets: Set<Int> = [], probeEveryRewritten: Bool = false, chunk: Range<Int>? = nil, firstLine: Int = 1
    ) {
        self.input = input
        self.tree = NodeTree(
            source: source, isASCII: isASCII, hasByteOrderMark: source.count >= 3 && source[0] == 0xEF && source[1] == 0xBB && source[2] == 0xBF,
            lineStarts: lineStarts, expectedBytes: chunk?.count, firstLine: firstLine)
        self.end = chunk?.upperBound ?? input.count
        self.pos = chunk?.lowerBound ?? 0
        self.lineStart = chunk?.lowerBound ?? 0
        self.line = firstLine
        self.limits = limits
        self.isASCII = isASCII
        self.probeTargets = probeTargets
        self.probeEveryRewritten = probeEveryRewritten
        self.isProbing = probeEveryRewritten || !probeTargets.isEmpty
    }

    /// Whether the content origin of the scalar starting at `offset` is to be recorded.
    @inline(__always) func isProbeTarget(_ offset: Int) -> Bool { isProbing && probeTargets.contains(offset) }

    /// Whether a scalar starting in the content buffer records its origin.
    @inline(__always) func recordsRewritten(_ probing: Bool) -> Bool { probing || probeEveryRewritten }

    // MARK: - Bytes and positions

    @inline(__always) func byte(_ offset: Int) -> UInt8 { offset < end ? input[offset] : Byte.end }

    @inline(__always) var atEnd: Bool { pos >= end }

    /// The location of `offset` on line `line` starting at `lineStart`.
    @inline(__always)
    mutating func location(_ offset: Int, line: Int, lineStart: Int) -> SourceLocation {
        if isASCII { return SourceLocation(line: line, column: offset - lineStart + 1, offset: offset) }
        return slowLocation(offset, line: line, lineStart: lineStart)
    }

    mutating func slowLocation(_ offset: Int, line: Int, lineStart: Int) -> SourceLocation {
        var from = lineStart
        // A byte order mark opening the stream is not part of the first line's indentation, but
        // it is a character of the line: it takes a column.
        var column = line == 1 && lineStart == 3 && hasByteOrderMark ? 2 : 1
        if cachedLineStart == lineStart, cachedOffset <= offset {
            from = cachedOffset
            column = cachedColumn
        }
        var index = from
        while index < offset {
            if input[index] & 0xC0 != 0x80 { column += 1 }
            index += 1
        }
        cachedLineStart = lineStart
        cachedOffset = offset
        cachedColumn = column
        return SourceLocation(line: line, column: column, offset: offset)
    }

    /// The location of `offset` on the current line.
    @inline(__always) mutating func location(_ offset: Int) -> SourceLocation {
        location(offset, line: line, lineStart: lineStart)
    }

    /// The location of `pos`.
    @inline(__always) mutating func here() -> SourceLocation { location(pos, line: line, lineStart: lineStart) }

    /// The offset of the line break (or the end) of the line holding `offset`.
    @inline(__always) func lineEndOffset(_ offset: Int) -> Int {
        var index = offset
        while index < end, input[index] != Byte.lineFeed, input[index] != Byte.carriageReturn { index += 1 }
        return index
    }

    /// The end of the word at `offset` (up to a blank, a line break or a flow indicator).
    @inline(__always) func wordEnd(_ offset: Int) -> Int {
        var index = offset + 1
        while index < end, !Byte.isBlankOrBreakOrEnd(input[index]), !Byte.isFlowIndicator(input[index]) { index += 1 }
        return index
    }

    /// `---` or `...` followed by a blank, a line break or the end, at `offset` (a line start).
    @inline(__always) func isDocumentMarker(at offset: Int) -> Bool {
        let first = byte(offset)
        guard first == Byte.minus || first == Byte.dot else { return false }
        return byte(offset + 1) == first && byte(offset + 2) == first && Byte.isBlankOrBreakOrEnd(byte(offset + 3))
    }

    /// The parser is at a `---` or `...` line.
    @inline(__always) var atDocumentMarker: Bool { pos == lineStart && isDocumentMarker(at: pos) }

    /// Consumes the line break at `pos` (LF or CR LF).
    @inline(__always) mutating func consumeBreak() {
        pos += input[pos] == Byte.carriageReturn ? 2 : 1
        line += 1
        lineStart = pos
        tree.lineBegins(line, at: pos)
    }

    /// Skips spaces and tabs on the current line.
    @inline(__always) mutating func skipBlanks() {
        while pos < end, Byte.isBlank(input[pos]) { pos += 1 }
    }

    // MARK: - Lines

    /// From a comment, a line break or the end of the input: moves to the first non-blank character
    /// of the next line with content, skipping blank and comment-only lines. Returns the line breaks
    /// crossed and whether a comment was skipped.
    @discardableResult
    mutating func skipToNextContentLine() -> (breaks: Int, sawComment: Bool) {
        var breaks = 0
        var sawComment = false
        while true {
            if byte(pos) == Byte.hash {
                sawComment = true
                while pos < end, input[pos] != Byte.lineFeed, input[pos] != Byte.carriageReturn { pos += 1 }
            }
            guard pos < end else {
                indent = 0
                tabInIndent = false
                return (breaks, sawComment)
            }
            let current = input[pos]
            guard current == Byte.lineFeed || current == Byte.carriageReturn else {
                // Not at a line end: the caller is on content already.
                return (breaks, sawComment)
            }
            consumeBreak()
            breaks += 1
            if scanLinePrefix() { return (breaks, sawComment) }
        }
    }

    /// At a line start: skips the line's leading spaces and tabs, setting `indent` and
    /// `tabInIndent`. True when the line has content (not blank, not a comment, not the end).
    @inline(__always)
    mutating func scanLinePrefix() -> Bool {
        var offset = pos
        while offset < end, input[offset] == Byte.space { offset += 1 }
        indent = offset - pos
        var tab = false
        while offset < end {
            let current = input[offset]
            if current == Byte.space {
                offset += 1
            } else if current == Byte.tab {
                tab = true
                offset += 1
            } else {
                break
            }
        }
        pos = offset
        tabInIndent = tab
        guard offset < end else { return false }
        let current = input[offset]
        return current != Byte.lineFeed && current != Byte.carriageReturn && current != Byte.hash
    }

    /// At a line start: moves to the next content line (this one if it has content).
    mutating func skipToContentFromLineStart() {
        if !scanLinePrefix() { skipToNextContentLine() }
    }

    /// After a node that ends mid-line: only blanks and a comment may follow on its line. Then moves
    /// to the next content line.
    mutating func finishLine(after context: ParseFailure.ContentContext) throws(ParseFailure) {
        skipBlanks()
        let current = byte(pos)
        if current == Byte.hash {
            if pos > lineStart, !Byte.isBlank(input[pos - 1]) { throw ParseFailure(.commentWithoutSpace, pos, pos + 1) }
        } else if !Byte.isBreakOrEnd(current) {
            throw ParseFailure(.unexpectedContent, pos, lineEndOffset(pos), context.rawValue)
        }
        skipToNextContentLine()
    }

    // MARK: - Nodes and limits

    @inline(__always)
    mutating func countNode(at offset: Int) throws(ParseFailure) {
        nodeCount += 1
        if nodeCount > limits.maxNodes {
            throw ParseFailure(.tooManyNodes, offset, offset + 1, limits.maxNodes)
        }
    }

    @inline(__always)
    mutating func enterCollection(at offset: Int) throws(ParseFailure) {
        depth += 1
        if depth > limits.maxDepth {
            throw ParseFailure(.tooDeep, offset, offset + 1, limits.maxDepth)
        }
    }

    /// An empty (null) plain scalar at `location`.
    mutating func emptyNode(at location: SourceLocation) throws(ParseFailure) -> Node {
        try countNode(at: location.offset)
        return tree.addScalar(Scalar(text: "", style: .plain, value: .null), range: SourceRange(at: location))
    }

    /// Appends `key: value` to `entries`, refusing a key already present.
    mutating func appendEntry(
        _ entries: inout [MappingEntry], key: consuming Node, value: consuming Node, keys: inout MappingKeys
    ) throws(ParseFailure) {
        let text = key.scalar?.text ?? ""
        if let first = keys.insert(text, at: entries.count, stack: &keyStack) {
            throw ParseFailure(.duplicateKey, key.startOffset, key.endOffset, entries[first].key.startOffset)
        }
        entries.append(MappingEntry(key: key, value: value))
    }

    // MARK: - Stream and documents

    mutating func parseStream() throws(ParseFailure) -> [Document] {
        // A byte order mark may open the stream.
        if pos == 0, end >= 3, input[0] == 0xEF, input[1] == 0xBB, input[2] == 0xBF {
            pos = 3
            lineStart = 3
            hasByteOrderMark = true
        }
        var documents: [Document] = []
        skipToContentFromLineStart()
        // Directives may only start the stream or follow an explicit `...`.
        var directivesAllowed = true
        var documentStarted = false  // the previous document ended at a `---` that opens the next one
        while !atEnd {
            let documentStart = here()
            var sawDirective = false
            var sawYAMLDirective = false
            while pos == lineStart, byte(pos) == Byte.percent, !documentStarted {
                guard directivesAllowed else { throw ParseFailure(.directiveWithoutDocumentEnd, pos, lineEndOffset(pos)) }
                try parseDirective(sawYAMLDirective: &sawYAMLDirective)
                sawDirective = true
                if atEnd { break }
            }
            if sawDirective, !(atDocumentMarker && byte(pos) == Byte.minus) {
                throw ParseFailure(.directivesWithoutDocument, pos, lineEndOffset(pos))
            }
            if atDocumentMarker, byte(pos) == Byte.dot {
                // `...` with no document before it.
                pos += 3
                try finishLine(after: .documentEnd)
                directivesAllowed = true
                documentStarted = false
                continue
            }
            var root: Node?
            if atDocumentMarker, byte(pos) == Byte.minus {
                pos += 3
                skipBlanks()
                let current = byte(pos)
                if current == Byte.hash || Byte.isBreakOrEnd(current) {
                    skipToNextContentLine()
                    if !atEnd, !atDocumentMarker {
                        root = try parseBlockNode(parentIndent: -1, placement: .ownLine)
                    }
                } else {
                    root = try parseBlockNode(parentIndent: -1, placement: .afterDocumentStart)
                }
            } else {
                root = try parseBlockNode(parentIndent: -1, placement: .ownLine)
            }
            var documentEnd = root?.endLocation ?? documentStart
            if !atEnd, !atDocumentMarker {
                if tabInIndent, indent == 0 { throw ParseFailure(.tabIndentation, lineStart, pos) }
                throw ParseFailure(.contentAfterDocument, pos, lineEndOffset(pos), root?.startOffset ?? -1)
            }
            documentStarted = false
            directivesAllowed = false
            if atDocumentMarker, byte(pos) == Byte.dot {
                pos += 3
                documentEnd = here()
                try finishLine(after: .documentEnd)
                directivesAllowed = true
            } else if atDocumentMarker {
                documentStarted = true
            }
            documents.append(Document(root: root, range: SourceRange(start: documentStart, end: documentEnd)))
            if documentStarted {
                // The `---` that ended this document opens the next one.
                continue
            }
        }
        return documents
    }

    /// `%YAML 1.2` (accepted once per document); every other directive is refused.
    mutating func parseDirective(sawYAMLDirective: inout Bool) throws(ParseFailure) {
        let start = pos
        pos += 1
        let nameStart = pos
        while pos < end, !Byte.isBlankOrBreakOrEnd(input[pos]) { pos += 1 }
        let name = String(decoding: UnsafeBufferPointer(rebasing: input[nameStart..<pos]), as: UTF8.self)
        guard name == "YAML" else {
            throw ParseFailure(.unsupportedDirective, start, pos)
        }
        skipBlanks()
        let versionStart = pos
        while pos < end, !Byte.isBlankOrBreakOrEnd(input[pos]) { pos += 1 }
        let version = String(decoding: UnsafeBufferPointer(rebasing: input[versionStart..<pos]), as: UTF8.self)
        guard version == "1.2" else {
            throw ParseFailure(.unsupportedYAMLVersion, start, pos, versionStart)
        }
        if sawYAMLDirective { throw ParseFailure(.repeatedYAMLDirective, start, pos) }
        sawYAMLDirective = true
        try finishLine(after: .yamlDirective)
    }

    // MARK: - Block nodes

    /// A node in block context starting at `pos` (its first character).
    mutating func parseBlockNode(parentIndent: Int, placement: BlockPlacement) throws(ParseFailure) -> Node {
        let start = pos
        let column = pos - lineStart
        let first = input[pos]
        let next = byte(pos + 1)
        let collectionAllowed: Bool
        switch placement {
        case .ownLine: collectionAllowed = true
        case .afterSequenceDash(let tab): collectionAllowed = !tab
        case .afterMappingColon, .afterDocumentStart: collectionAllowed = false
        }
        switch first {
        case Byte.minus where Byte.isBlankOrBreakOrEnd(next):
            guard collectionAllowed else { throw ParseFailure(.sequenceNotAllowed, pos, pos + 1, ParseFailure.placementCode(placement)) }
            if placement == .ownLine, tabInIndent { throw ParseFailure(.tabIndentation, lineStart, pos) }
            return try parseBlockSequence(column: column, atKeyColumn: false)
        case Byte.question where Byte.isBlankOrBreakOrEnd(next):
            throw ParseFailure(.explicitKey, pos, pos + 1)
        case Byte.colon where Byte.isBlankOrBreakOrEnd(next):
            throw ParseFailure(.emptyKey, pos, pos + 1)
        case Byte.pipe, Byte.greaterThan:
            return try parseBlockScalar(parentIndent: parentIndent)
        case Byte.leftBracket, Byte.leftBrace:
            let node = try parseFlowCollection(parentIndent: parentIndent)
            skipBlanks()
            if byte(pos) == Byte.colon, Byte.isBlankOrBreakOrEnd(byte(pos + 1)) || node.endOffset == pos {
                throw ParseFailure(.complexKey, node.startOffset, node.endOffset)
            }
            try finishLine(after: first == Byte.leftBracket ? .flowList : .flowMapping)
            return node
        case Byte.doubleQuote, Byte.singleQuote:
            let startLine = line
            let node = try parseQuotedScalar(parentIndent: parentIndent)
            skipBlanks()
            if byte(pos) == Byte.colon, Byte.isBlankOrBreakOrEnd(byte(pos + 1)) {
                if line != startLine { throw ParseFailure(.multiLineKey, node.startOffset, node.endOffset) }
                guard collectionAllowed else { throw ParseFailure(.mappingNotAllowed, pos, pos + 1, ParseFailure.placementCode(placement)) }
                if placement == .ownLine, tabInIndent { throw ParseFailure(.tabIndentation, lineStart, start) }
                return try parseBlockMapping(column: column, firstKey: node)
            }
            try finishLine(after: .quotedString)
            return node
        case Byte.ampersand:
            throw ParseFailure(.anchor, pos, wordEnd(pos))
        case Byte.asterisk:
            throw ParseFailure(.alias, pos, wordEnd(pos))
        case Byte.exclamation:
            throw ParseFailure(.tag, pos, wordEnd(pos))
        case Byte.percent:
            throw ParseFailure(.directiveInsideDocument, pos, lineEndOffset(pos))
        case Byte.at, Byte.backtick:
            throw ParseFailure(.reservedIndicator, pos, pos + 1)
        case Byte.comma, Byte.rightBracket, Byte.rightBrace:
            throw ParseFailure(.unexpectedFlowIndicator, pos, pos + 1)
        default:
            let scanned = try scanPlainBlock(parentIndent: parentIndent)
            guard scanned.isKey else { return scanned.node }
            if scanned.multiLine { throw ParseFailure(.multiLineKey, scanned.node.startOffset, scanned.node.endOffset) }
            guard collectionAllowed else { throw ParseFailure(.mappingNotAllowed, pos, pos + 1, ParseFailure.placementCode(placement)) }
            if placement == .ownLine, tabInIndent { throw ParseFailure(.tabIndentation, lineStart, start) }
            return try parseBlockMapping(column: column, firstKey: scanned.node)
        }
    }

    /// The value after a `-` or `key:` indicator (`pos` just after it), nested under `parentIndent`.
    mutating func parseIndicatorValue(parentIndent: Int, isMappingValue: Bool) throws(ParseFailure) -> Node {
        let indicatorEnd = here()
        var sawTab = false
        while pos < end, Byte.isBlank(input[pos]) {
            if input[pos] == Byte.tab { sawTab = true }
            pos += 1
        }
        let current = byte(pos)
        if current == Byte.hash || Byte.isBreakOrEnd(current) {
            skipToNextContentLine()
            if atEnd || atDocumentMarker { return try emptyNode(at: indicatorEnd) }
            if isMappingValue, indent == parentIndent, byte(pos) == Byte.minus, Byte.isBlankOrBreakOrEnd(byte(pos + 1)) {
                if tabInIndent { throw ParseFailure(.tabIndentation, lineStart, pos) }
                return try parseBlockSequence(column: parentIndent, atKeyColumn: true)
            }
            if indent > parentIndent {
                return try parseBlockNode(parentIndent: parentIndent, placement: .ownLine)
            }
            return try emptyNode(at: indicatorEnd)
        }
        return try parseBlockNode(
            parentIndent: parentIndent,
            placement: isMappingValue ? .afterMappingColon : .afterSequenceDash(tab: sawTab))
    }

    /// A block list whose `-` indicators are at `column`; `pos` is at the first `-`.
    /// `atKeyColumn`: the list is a mapping value written at its key's column.
    mutating func parseBlockSequence(column: Int, atKeyColumn: Bool) throws(ParseFailure) -> Node {
        let start = here()
        try enterCollection(at: pos)
        defer { depth -= 1 }
        try countNode(at: pos)
        var items: [Node] = []
        items.reserveCapacity(4)
        while true {
            pos += 1  // the `-`
            let item = try parseIndicatorValue(parentIndent: column, isMappingValue: false)
            items.append(item)
            if atEnd || atDocumentMarker || indent < column { break }
            if indent > column {
                throw ParseFailure(.overIndentedList, pos, lineEndOffset(pos), column + 1)
            }
            if tabInIndent { throw ParseFailure(.tabIndentation, lineStart, pos) }
            if byte(pos) == Byte.minus, Byte.isBlankOrBreakOrEnd(byte(pos + 1)) { continue }
            if atKeyColumn { break }
            throw ParseFailure(.expectedSequenceItem, pos, lineEndOffset(pos))
        }
        let last = items.last?.endLocation ?? start
        return tree.addSequence(items, range: SourceRange(start: start, end: last))
    }

    /// A block mapping whose keys are at `column`; `pos` is at the `:` after `firstKey`.
    mutating func parseBlockMapping(column: Int, firstKey: Node) throws(ParseFailure) -> Node {
        try enterCollection(at: firstKey.startOffset)
        defer { depth -= 1 }
        try countNode(at: firstKey.startOffset)
        var entries: [MappingEntry] = []
        entries.reserveCapacity(4)
        var keys = MappingKeys(base: keyStack.count)
        defer { keys.release(&keyStack) }
        var key = firstKey
        while true {
            pos += 1  // the `:`
            let value = try parseIndicatorValue(parentIndent: column, isMappingValue: true)
            try appendEntry(&entries, key: key, value: value, keys: &keys)
            if atEnd || atDocumentMarker || indent < column { break }
            if indent > column {
                throw ParseFailure(.overIndentedMapping, pos, lineEndOffset(pos), column + 1)
            }
            if tabInIndent { throw ParseFailure(.tabIndentation, lineStart, pos) }
            key = try parseBlockKey(column: column)
        }
        let last = entries.last?.value.endLocation ?? firstKey.endLocation
        return tree.addMapping(entries, range: SourceRange(start: firstKey.startLocation, end: last))
    }

    /// The next key of a block mapping (at `pos`, on its own line); ends at the `:`.
    mutating func parseBlockKey(column: Int) throws(ParseFailure) -> Node {
        let first = input[pos]
        let next = byte(pos + 1)
        switch first {
        case Byte.minus where Byte.isBlankOrBreakOrEnd(next):
            throw ParseFailure(.sequenceItemInMapping, pos, pos + 1)
        case Byte.question where Byte.isBlankOrBreakOrEnd(next):
            throw ParseFailure(.explicitKey, pos, pos + 1)
        case Byte.colon where Byte.isBlankOrBreakOrEnd(next):
            throw ParseFailure(.emptyKey, pos, pos + 1)
        case Byte.ampersand:
            throw ParseFailure(.anchor, pos, wordEnd(pos))
        case Byte.asterisk:
            throw ParseFailure(.alias, pos, wordEnd(pos))
        case Byte.exclamation:
            throw ParseFailure(.tag, pos, wordEnd(pos))
        case Byte.leftBracket, Byte.leftBrace:
            let node = try parseFlowCollection(parentIndent: column)
            skipBlanks()
            if byte(pos) == Byte.colon { throw ParseFailure(.complexKey, node.startOffset, node.endOffset) }
            throw ParseFailure(.expectedKey, node.startOffset, node.endOffset)
        case Byte.doubleQuote, Byte.singleQuote:
            let startLine = line
            let node = try parseQuotedScalar(parentIndent: column)
            skipBlanks()
            guard byte(pos) == Byte.colon, Byte.isBlankOrBreakOrEnd(byte(pos + 1)) else {
                throw ParseFailure(.missingColon, node.startOffset, node.endOffset)
            }
            if line != startLine { throw ParseFailure(.multiLineKey, node.startOffset, node.endOffset) }
            return node
        case Byte.pipe, Byte.greaterThan, Byte.percent, Byte.at, Byte.backtick, Byte.comma, Byte.rightBracket,
            Byte.rightBrace, Byte.hash:
            throw ParseFailure(.expectedKey, pos, lineEndOffset(pos))
        default:
            let scanned = try scanPlainBlock(parentIndent: column)
            guard scanned.isKey else { throw ParseFailure(.missingColon, scanned.node.startOffset, scanned.node.endOffset) }
            if scanned.multiLine { throw ParseFailure(.multiLineKey, scanned.node.startOffset, scanned.node.endOffset) }
            return scanned.node
        }
    }
}

/// The keys of one mapping being built, for the duplicate check. While the mapping is small its
/// keys sit on the parser's shared `keyStack` (from `base` on; nested mappings push above and pop
/// before the next key arrives); past 16 keys they move to a dictionary so huge mappings stay linear.
struct MappingKeys {
    let base: Int
    var index: [String: Int]?

    init(base: Int) { self.base = base }

    /// Records `text` as the key of entry `position`; returns the position of an earlier equal key.
    mutating func insert(_ text: String, at position: Int, stack: inout [String]) -> Int? {
        if index == nil {
            var earlier = base
            while earlier < stack.count {
                if stack[earlier] == text { return earlier - base }
                earlier += 1
            }
            stack.append(text)
            if stack.count - base > 16 {
                var built: [String: Int] = [:]
                built.reserveCapacity(64)
                for earlier in base..<stack.count { built[stack[earlier]] = earlier - base }
                index = built
                stack.removeLast(stack.count - base)
            }
            return nil
        }
        if let earlier = index?[text] { return earlier }
        index?[text] = position
        return nil
    }

    /// Pops this mapping's keys off the shared stack.
    func release(_ stack: inout [String]) {
        if stack.count > base { stack.removeLast(stack.count - base) }
    }
}
