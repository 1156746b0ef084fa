import Diagnostics

extension StreamParser {
    /// Skips white space, comments and line breaks inside a flow collection opened at `opened`.
    /// Lines with content must be indented more than `parentIndent` and must not be document markers.
    mutating func skipFlowSpace(parentIndent: Int, opened: SourceLocation, isSequence: Bool) throws(ParseFailure) {
        while pos < end {
            let current = input[pos]
            if current == Byte.space || current == Byte.tab {
                pos += 1
            } else if current == Byte.hash {
                if pos > lineStart, !Byte.isBlank(input[pos - 1]) { return }
                while pos < end, input[pos] != Byte.lineFeed, input[pos] != Byte.carriageReturn { pos += 1 }
            } else if current == Byte.lineFeed || current == Byte.carriageReturn {
                consumeBreak()
                var offset = pos
                while offset < end, input[offset] == Byte.space { offset += 1 }
                let spaces = offset - pos
                while offset < end, Byte.isBlank(input[offset]) { offset += 1 }
                let next = byte(offset)
                if next == Byte.lineFeed || next == Byte.carriageReturn || next == Byte.hash || offset >= end {
                    pos = offset
                    continue
                }
                if spaces == 0, isDocumentMarker(at: lineStart) {
                    throw ParseFailure(isSequence ? .unterminatedFlowList : .unterminatedFlowMapping, opened.offset, lineStart + 3)
                }
                if spaces <= parentIndent {
                    let closer = isSequence ? Byte.rightBracket : Byte.rightBrace
                    if !input[offset..<end].contains(closer) {
                        throw ParseFailure(isSequence ? .unterminatedFlowList : .unterminatedFlowMapping, opened.offset, end)
                    }
                    throw ParseFailure(
                        isSequence ? .underIndentedFlowList : .underIndentedFlowMapping, lineStart, offset, parentIndent + 1)
                }
                pos = offset
            } else {
                return
            }
        }
    }

    /// A flow list or mapping at `pos` (`[` or `{`); ends just after the closing bracket.
    mutating func parseFlowCollection(parentIndent: Int) throws(ParseFailure) -> Node {
        let opened = here()
        try enterCollection(at: pos)
        defer { depth -= 1 }
        try countNode(at: pos)
        let isSequence = input[pos] == Byte.leftBracket
        pos += 1
        if isSequence {
            var items: [Node] = []
            while true {
                try skipFlowSpace(parentIndent: parentIndent, opened: opened, isSequence: true)
                guard pos < end else { throw ParseFailure(.unterminatedFlowList, opened.offset, pos) }
                if input[pos] == Byte.rightBracket {
                    pos += 1
                    break
                }
                items.append(try parseFlowSequenceEntry(parentIndent: parentIndent, opened: opened))
                try skipFlowSpace(parentIndent: parentIndent, opened: opened, isSequence: true)
                guard pos < end else { throw ParseFailure(.unterminatedFlowList, opened.offset, pos) }
                let current = input[pos]
                if current == Byte.comma {
                    pos += 1
                    continue
                }
                if current == Byte.rightBracket {
                    pos += 1
                    break
                }
                if current == Byte.colon {
                    throw ParseFailure(.flowKeyOnOtherLine, pos, pos + 1)
                }
                throw ParseFailure(.expectedFlowListSeparator, pos, pos + 1, opened.offset)
            }
            return tree.addSequence(items, range: SourceRange(start: opened, end: here()))
        }
        var entries: [MappingEntry] = []
        var keys = MappingKeys(base: keyStack.count)
        defer { keys.release(&keyStack) }
        while true {
            try skipFlowSpace(parentIndent: parentIndent, opened: opened, isSequence: false)
            guard pos < end else { throw ParseFailure(.unterminatedFlowMapping, opened.offset, pos) }
            if input[pos] == Byte.rightBrace {
                pos += 1
                break
            }
            let entry = try parseFlowMappingEntry(parentIndent: parentIndent, opened: opened)
            try appendEntry(&entries, key: entry.key, value: entry.value, keys: &keys)
            try skipFlowSpace(parentIndent: parentIndent, opened: opened, isSequence: false)
            guard pos < end else { throw ParseFailure(.unterminatedFlowMapping, opened.offset, pos) }
            let current = input[pos]
            if current == Byte.comma {
                pos += 1
                continue
            }
            if current == Byte.rightBrace {
                pos += 1
                break
            }
            throw ParseFailure(.expectedFlowMappingSeparator, pos, pos + 1, opened.offset)
        }
        return tree.addMapping(entries, range: SourceRange(start: opened, end: here()))
    }

    /// True when `pos` is at a `:` that separates a flow key from its value. After a quoted or
    /// bracketed key (`adjacentAllowed`) the `:` may touch the value (`"a":b`).
    @inline(__always)
    func atFlowValueIndicator(adjacentAllowed: Bool) -> Bool {
        guard byte(pos) == Byte.colon else { return false }
        let next = byte(pos + 1)
        return adjacentAllowed || Byte.isBlankOrBreakOrEnd(next) || Byte.isFlowIndicator(next)
    }

    /// One entry of a flow list: a node, or a single-pair mapping `key: value`.
    mutating func parseFlowSequenceEntry(parentIndent: Int, opened: SourceLocation) throws(ParseFailure) -> Node {
        let keyLine = line
        let node = try parseFlowNode(parentIndent: parentIndent, opened: opened, isSequence: true)
        skipBlanks()
        let isJSONLike = node.scalar.map { $0.style != .plain } ?? true
        guard atFlowValueIndicator(adjacentAllowed: isJSONLike) else { return node }
        if node.scalar == nil { throw ParseFailure(.complexKey, node.startOffset, node.endOffset) }
        if line != keyLine || node.endLocation.line != node.startLocation.line { throw ParseFailure(.multiLineKey, node.startOffset, node.endOffset) }
        try enterCollection(at: node.startOffset)
        defer { depth -= 1 }
        try countNode(at: node.startOffset)
        let colon = pos
        pos += 1
        let value = try parseFlowValue(parentIndent: parentIndent, opened: opened, isSequence: true, colon: colon)
        return tree.addMapping([MappingEntry(key: node, value: value)], range: SourceRange(start: node.startLocation, end: value.endLocation))
    }

    /// One entry of a flow mapping: `key: value`, `key:` or `key`.
    mutating func parseFlowMappingEntry(parentIndent: Int, opened: SourceLocation) throws(ParseFailure) -> (key: Node, value: Node) {
        let key = try parseFlowNode(parentIndent: parentIndent, opened: opened, isSequence: false)
        if key.scalar == nil { throw ParseFailure(.complexKey, key.startOffset, key.endOffset) }
        try skipFlowSpace(parentIndent: parentIndent, opened: opened, isSequence: false)
        let isJSONLike = key.scalar.map { $0.style != .plain } ?? true
        if atFlowValueIndicator(adjacentAllowed: isJSONLike) {
            let colon = pos
            pos += 1
            let value = try parseFlowValue(parentIndent: parentIndent, opened: opened, isSequence: false, colon: colon)
            return (key, value)
        }
        return (key, try emptyNode(at: key.endLocation))
    }

    /// The value after a flow `:` (at `colon`); empty when a `,` or the closing bracket follows.
    mutating func parseFlowValue(parentIndent: Int, opened: SourceLocation, isSequence: Bool, colon: Int) throws(ParseFailure) -> Node {
        let afterColon = here()
        try skipFlowSpace(parentIndent: parentIndent, opened: opened, isSequence: isSequence)
        let current = byte(pos)
        if current == Byte.comma || current == (isSequence ? Byte.rightBracket : Byte.rightBrace) {
            return try emptyNode(at: afterColon)
        }
        guard pos < end else { throw ParseFailure(isSequence ? .unterminatedFlowList : .unterminatedFlowMapping, opened.offset, pos) }
        return try parseFlowNode(parentIndent: parentIndent, opened: opened, isSequence: isSequence)
    }

    /// A node inside a flow collection at `pos`.
    mutating func parseFlowNode(parentIndent: Int, opened: SourceLocation, isSequence: Bool) throws(ParseFailure) -> Node {
        let first = input[pos]
        let next = byte(pos + 1)
        switch first {
        case Byte.leftBracket, Byte.leftBrace:
            return try parseFlowCollection(parentIndent: parentIndent)
        case Byte.doubleQuote, Byte.singleQuote:
            return try parseQuotedScalar(parentIndent: parentIndent)
        case Byte.ampersand:
            throw ParseFailure(.anchor, pos, wordEnd(pos))
        case Byte.asterisk:
            throw ParseFailure(.alias, pos, wordEnd(pos))
        case Byte.exclamation:
            throw ParseFailure(.tag, pos, wordEnd(pos))
        case Byte.question where Byte.isBlankOrBreakOrEnd(next) || Byte.isFlowIndicator(next):
            throw ParseFailure(.explicitKey, pos, pos + 1)
        case Byte.colon where Byte.isBlankOrBreakOrEnd(next) || Byte.isFlowIndicator(next):
            throw ParseFailure(.emptyKey, pos, pos + 1)
        case Byte.minus where Byte.isBlankOrBreakOrEnd(next) || Byte.isFlowIndicator(next):
            throw ParseFailure(.blockEntryInFlow, pos, pos + 1)
        case Byte.pipe, Byte.greaterThan:
            throw ParseFailure(.blockScalarInFlow, pos, pos + 1)
        case Byte.comma:
            throw ParseFailure(.emptyFlowEntry, pos, pos + 1)
        case Byte.rightBracket, Byte.rightBrace:
            throw ParseFailure(isSequence ? .mismatchedListBracket : .mismatchedMappingBracket, pos, pos + 1, opened.offset)
        case Byte.hash, Byte.percent, Byte.at, Byte.backtick:
            throw ParseFailure(.unexpectedCharacterInFlow, pos, pos + 1)
        default:
            return try scanPlainFlow(parentIndent: parentIndent)
        }
    }
}
