import Diagnostics
import YAML

// Positions inside a scalar's content, fast: lint may point at hundreds of placeholders in one
// large file, and the YAML layer's general mapping (`YAMLParser.sourceLocation`) re-parses the
// file for each position. For the common shapes (a plain or quoted scalar on one line without
// escapes, a literal or folded block scalar) the content is rebuilt here from the source with its
// byte offsets and compared with the parser's content; only when they differ (escapes, multi-line
// flow scalars, indentation indicators) is the general mapping used.

enum ScalarOffsets {
    /// The source byte offset of every content byte of `node`'s scalar (plus one past the end),
    /// or nil when the shape is not one this mapper rebuilds exactly.
    static func sourceOffsets(of node: Node, in bytes: [UInt8]) -> [Int]? {
        guard let scalar = node.scalar else { return nil }
        let content = Array(scalar.text.utf8)
        let start = node.range.start.offset, end = min(node.range.end.offset, bytes.count)
        guard start < end else { return nil }
        switch scalar.style {
        case .plain, .singleQuoted, .doubleQuoted:
            guard node.range.start.line == node.range.end.line else { return nil }
            let inner = scalar.style == .plain ? start..<end : (start + 1)..<(end - 1)
            guard inner.lowerBound <= inner.upperBound, Array(bytes[inner]) == content else { return nil }
            return Array(inner) + [inner.upperBound]
        case .literal, .folded:
            return block(scalar.style == .folded, start: start, end: end, bytes: bytes, content: content)
        }
    }

    private static func block(_ folded: Bool, start: Int, end: Int, bytes: [UInt8], content: [UInt8]) -> [Int]? {
        // The header line: the indicator, chomping, no indentation digit, maybe a comment.
        var index = start + 1
        while index < end, bytes[index] != 0x0A {
            if bytes[index] >= 0x31 && bytes[index] <= 0x39 { return nil }
            index += 1
        }
        index += 1
        // The lines of the block: (start offset of the text after the indentation, text end).
        var lines: [(from: Int, to: Int, blank: Bool)] = []
        var indent: Int?
        while index < end {
            var lineEnd = index
            while lineEnd < end, bytes[lineEnd] != 0x0A { lineEnd += 1 }
            var spaces = 0
            while index + spaces < lineEnd, bytes[index + spaces] == 0x20 { spaces += 1 }
            let blank = index + spaces == lineEnd || (bytes[lineEnd - 1] == 0x0D && index + spaces == lineEnd - 1)
            if !blank, indent == nil { indent = spaces }
            let textEnd = lineEnd > index && bytes[lineEnd - 1] == 0x0D ? lineEnd - 1 : lineEnd
            let from = min(index + (blank ? spaces : (indent ?? spaces)), textEnd)
            lines.append((from, textEnd, blank))
            index = lineEnd + 1
        }
        guard indent != nil else { return nil }
        var text: [UInt8] = []
        var offsets: [Int] = []
        var previous: (to: Int, moreIndented: Bool)?
        var pendingBlanks: [Int] = []
        for line in lines {
            if line.blank {
                if previous != nil { pendingBlanks.append(line.from) }
                continue
            }
            let moreIndented = bytes[line.from] == 0x20 || bytes[line.from] == 0x09
            if let before = previous {
                if !folded || before.moreIndented || moreIndented {
                    text.append(0x0A)
                    offsets.append(before.to)
                    for blank in pendingBlanks {
                        text.append(0x0A)
                        offsets.append(blank)
                    }
                } else if pendingBlanks.isEmpty {
                    text.append(0x20)
                    offsets.append(before.to)
                } else {
                    for blank in pendingBlanks {
                        text.append(0x0A)
                        offsets.append(blank)
                    }
                }
            }
            pendingBlanks = []
            for position in line.from..<line.to {
                text.append(bytes[position])
                offsets.append(position)
            }
            previous = (line.to, moreIndented)
        }
        // Chomping only changes trailing line breaks: the rebuilt text must equal the content
        // up to them.
        var trimmed = content
        while trimmed.last == 0x0A { trimmed.removeLast() }
        guard text == trimmed else { return nil }
        return offsets + [previous?.to ?? end]
    }

    /// The location of byte `offset`, counted from `origin` (a location at or before it).
    static func location(ofOffset offset: Int, from origin: SourceLocation, in bytes: [UInt8]) -> SourceLocation {
        var line = origin.line, column = origin.column
        var index = origin.offset
        while index < offset, index < bytes.count {
            if bytes[index] == 0x0A {
                line += 1
                column = 1
            } else if bytes[index] & 0xC0 != 0x80 {
                column += 1
            }
            index += 1
        }
        return SourceLocation(line: line, column: column, offset: index)
    }
}
