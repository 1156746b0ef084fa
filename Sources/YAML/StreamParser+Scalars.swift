import Diagnostics

/// Why a plain scalar's line scan stopped.
enum PlainStop {
    case keyIndicator
    case comment
    case lineEnd
    case flowIndicator
}

/// How a block scalar treats its final line break and trailing empty lines.
enum Chomping {
    case strip
    case clip
    case keep
}

extension StreamParser {
    // MARK: - Plain scalars

    /// A plain scalar in block context starting at `pos`. Continuation lines must be indented more
    /// than `parentIndent`. When `isKey` the scalar is followed by `: ` and `pos` is at the `:`;
    /// otherwise the parser is positioned at the next content line.
    mutating func scanPlainBlock(parentIndent: Int) throws(ParseFailure) -> (node: Node, isKey: Bool, multiLine: Bool) {
        let start = pos
        let startLocation = here()
        try countNode(at: start)
        let probing = isProbeTarget(start)
        var multiLine = false
        var lineContentStart = pos
        while true {
            var offset = pos
            var stop = PlainStop.lineEnd
            scan: while offset < end {
                let current = input[offset]
                if current > Byte.colon {
                    // Letters and most punctuation: never special in a block plain scalar.
                    offset += 1
                    continue
                }
                switch current {
                case Byte.colon:
                    if Byte.isBlankOrBreakOrEnd(byte(offset + 1)) {
                        stop = .keyIndicator
                        break scan
                    }
                    offset += 1
                case Byte.hash:
                    // The first character of a line's content is never `#` here.
                    if Byte.isBlank(input[offset - 1]) {
                        stop = .comment
                        break scan
                    }
                    offset += 1
                case Byte.lineFeed, Byte.carriageReturn:
                    break scan
                default:
                    offset += 1
                }
            }
            var contentEnd = offset
            while contentEnd > lineContentStart, Byte.isBlank(input[contentEnd - 1]) { contentEnd -= 1 }
            pos = offset
            if multiLine { buffer.append(input, from: lineContentStart, to: contentEnd) }
            let endLocation = location(contentEnd)
            if stop == .lineEnd {
                let skipped = skipToNextContentLine()
                if !atEnd, !skipped.sawComment, indent > parentIndent, !atDocumentMarker,
                    !(input[pos] == Byte.colon && Byte.isBlankOrBreakOrEnd(byte(pos + 1)))
                {
                    foldPlainLineBreaks(
                        skipped.breaks, firstLine: &multiLine, start: start, contentEnd: contentEnd, probing: probing)
                    lineContentStart = pos
                    continue
                }
            }
            let node: Node
            if multiLine {
                let text = buffer.makeString()
                node = tree.addScalar(Scalar(text: text, style: .plain, value: .string(text)), range: SourceRange(start: startLocation, end: endLocation))
                if buffer.recording { probeResults[start] = buffer.segments }
            } else {
                if CoreSchema.isString(input, start, contentEnd) {
                    // Most keys and values: a string as written, no String made.
                    node = tree.addSourceString(from: start, to: contentEnd, input: input, range: SourceRange(start: startLocation, end: endLocation))
                } else {
                    let text = String(decoding: UnsafeBufferPointer(rebasing: input[start..<contentEnd]), as: UTF8.self)
                    let scalar = Scalar(text: text, style: .plain, value: CoreSchema.resolve(input, start, contentEnd, text: text))
                    node = tree.addScalar(scalar, range: SourceRange(start: startLocation, end: endLocation))
                }
                if probing { probeResults[start] = [ContentSegment(contentOffset: 0, sourceOffset: start, verbatim: true)] }
            }
            if stop == .comment { skipToNextContentLine() }
            return (node, stop == .keyIndicator, multiLine)
        }
    }

    /// A plain scalar inside a flow collection starting at `pos`; ends just after its last
    /// character (continuation lines are folded in).
    mutating func scanPlainFlow(parentIndent: Int) throws(ParseFailure) -> Node {
        let start = pos
        let startLocation = here()
        try countNode(at: start)
        let probing = isProbeTarget(start)
        var multiLine = false
        var lineContentStart = pos
        while true {
            var offset = pos
            var stop = PlainStop.lineEnd
            scan: while offset < end {
                let current = input[offset]
                switch current {
                case Byte.colon:
                    let next = byte(offset + 1)
                    if Byte.isBlankOrBreakOrEnd(next) || Byte.isFlowIndicator(next) {
                        stop = .keyIndicator
                        break scan
                    }
                    offset += 1
                case Byte.hash:
                    if Byte.isBlank(input[offset - 1]) {
                        stop = .comment
                        break scan
                    }
                    offset += 1
                case Byte.comma, Byte.leftBracket, Byte.rightBracket, Byte.leftBrace, Byte.rightBrace:
                    stop = .flowIndicator
                    break scan
                case Byte.lineFeed, Byte.carriageReturn:
                    break scan
                default:
                    offset += 1
                }
            }
            var contentEnd = offset
            while contentEnd > lineContentStart, Byte.isBlank(input[contentEnd - 1]) { contentEnd -= 1 }
            pos = offset
            if multiLine { buffer.append(input, from: lineContentStart, to: contentEnd) }
            let endLocation = location(contentEnd)
            if stop == .lineEnd, offset < end {
                let saved = (pos, line, lineStart)
                let skipped = skipToNextContentLine()
                let next = byte(pos)
                if !atEnd, !skipped.sawComment, indent > parentIndent, !atDocumentMarker, !Byte.isFlowIndicator(next),
                    !(next == Byte.colon
                        && (Byte.isBlankOrBreakOrEnd(byte(pos + 1)) || Byte.isFlowIndicator(byte(pos + 1))))
                {
                    foldPlainLineBreaks(
                        skipped.breaks, firstLine: &multiLine, start: start, contentEnd: contentEnd, probing: probing)
                    lineContentStart = pos
                    continue
                }
                (pos, line, lineStart) = saved
            }
            let scalar: Scalar
            if multiLine {
                let text = buffer.makeString()
                scalar = Scalar(text: text, style: .plain, value: .string(text))
                if buffer.recording { probeResults[start] = buffer.segments }
            } else {
                let text = String(decoding: UnsafeBufferPointer(rebasing: input[start..<contentEnd]), as: UTF8.self)
                scalar = Scalar(text: text, style: .plain, value: CoreSchema.resolve(input, start, contentEnd, text: text))
                if probing { probeResults[start] = [ContentSegment(contentOffset: 0, sourceOffset: start, verbatim: true)] }
            }
            return tree.addScalar(scalar, range: SourceRange(start: startLocation, end: endLocation))
        }
    }

    // MARK: - Quoted scalars

    /// A single- or double-quoted scalar at `pos` (the opening quote); ends just after the closing
    /// quote. Continuation lines must be indented more than `parentIndent`.
    mutating func parseQuotedScalar(parentIndent: Int) throws(ParseFailure) -> Node {
        let quote = input[pos]
        let isDouble = quote == Byte.doubleQuote
        let style: ScalarStyle = isDouble ? .doubleQuoted : .singleQuoted
        let start = pos
        let startLocation = here()
        try countNode(at: start)
        let probing = isProbeTarget(start)
        pos += 1
        // Fast path: no escape and no line break before the closing quote.
        var offset = pos
        if isDouble {
            while offset < end {
                let current = input[offset]
                if current == Byte.doubleQuote || current == Byte.backslash || current == Byte.lineFeed
                    || current == Byte.carriageReturn
                {
                    break
                }
                offset += 1
            }
        } else {
            while offset < end {
                let current = input[offset]
                if current == Byte.singleQuote || current == Byte.lineFeed || current == Byte.carriageReturn { break }
                offset += 1
            }
        }
        if offset < end, input[offset] == quote, isDouble || byte(offset + 1) != Byte.singleQuote {
            let text = String(decoding: UnsafeBufferPointer(rebasing: input[pos..<offset]), as: UTF8.self)
            if probing { probeResults[start] = [ContentSegment(contentOffset: 0, sourceOffset: pos, verbatim: true)] }
            pos = offset + 1
            return tree.addScalar(Scalar(text: text, style: style, value: .string(text)), range: SourceRange(start: startLocation, end: here()))
        }
        // General path: escapes, doubled single quotes, folded line breaks.
        buffer.reset(recording: recordsRewritten(probing))
        var segmentStart = pos
        while true {
            guard pos < end else { throw ParseFailure(isDouble ? .unterminatedDoubleQuote : .unterminatedSingleQuote, start, pos) }
            let current = input[pos]
            if current == quote {
                if !isDouble, byte(pos + 1) == Byte.singleQuote {
                    buffer.append(input, from: segmentStart, to: pos + 1)
                    pos += 2
                    segmentStart = pos
                    continue
                }
                buffer.append(input, from: segmentStart, to: pos)
                pos += 1
                break
            }
            if current == Byte.backslash, isDouble {
                buffer.append(input, from: segmentStart, to: pos)
                try decodeEscape(parentIndent: parentIndent, opened: start)
                segmentStart = pos
                continue
            }
            if current == Byte.lineFeed || current == Byte.carriageReturn {
                var contentEnd = pos
                while contentEnd > segmentStart, Byte.isBlank(input[contentEnd - 1]) { contentEnd -= 1 }
                buffer.append(input, from: segmentStart, to: contentEnd)
                let breakOffset = pos
                let breaks = try foldQuotedLineBreaks(parentIndent: parentIndent, isDouble: isDouble, opened: start)
                if breaks == 1 {
                    buffer.append(byte: Byte.space, producedAt: breakOffset)
                } else {
                    buffer.append(byte: Byte.lineFeed, count: breaks - 1, producedAt: breakOffset)
                }
                segmentStart = pos
                continue
            }
            pos += 1
        }
        let text = buffer.makeString()
        if buffer.recording { probeResults[start] = buffer.segments }
        return tree.addScalar(Scalar(text: text, style: style, value: .string(text)), range: SourceRange(start: startLocation, end: here()))
    }

    /// At a line break inside a quoted scalar: consumes it, the empty lines after it and the next
    /// line's leading white space. Returns the number of line breaks.
    mutating func foldQuotedLineBreaks(parentIndent: Int, isDouble: Bool, opened: Int) throws(ParseFailure) -> Int {
        var breaks = 0
        while true {
            consumeBreak()
            breaks += 1
            var offset = pos
            while offset < end, input[offset] == Byte.space { offset += 1 }
            let spaces = offset - pos
            while offset < end, Byte.isBlank(input[offset]) { offset += 1 }
            let current = byte(offset)
            if current == Byte.lineFeed || current == Byte.carriageReturn {
                pos = offset
                continue
            }
            if offset >= end {
                pos = offset
                throw ParseFailure(isDouble ? .unterminatedDoubleQuote : .unterminatedSingleQuote, opened, pos)
            }
            if spaces == 0, isDocumentMarker(at: lineStart) {
                throw ParseFailure(isDouble ? .documentMarkerInDoubleQuote : .documentMarkerInSingleQuote, lineStart, lineStart + 3, opened)
            }
            if spaces <= parentIndent {
                if !hasClosingQuote(from: offset, isDouble: isDouble) {
                    throw ParseFailure(isDouble ? .unterminatedDoubleQuote : .unterminatedSingleQuote, opened, end)
                }
                throw ParseFailure(.underIndentedQuoted, lineStart, offset, parentIndent + 1)
            }
            pos = offset
            return breaks
        }
    }

    /// Whether a closing quote follows `offset` anywhere in the input (to tell an unterminated
    /// string from a badly indented one; error path only).
    func hasClosingQuote(from offset: Int, isDouble: Bool) -> Bool {
        var index = offset
        while index < end {
            let current = input[index]
            if isDouble {
                if current == Byte.backslash {
                    index += 2
                    continue
                }
                if current == Byte.doubleQuote { return true }
            } else if current == Byte.singleQuote {
                if index + 1 < end, input[index + 1] == Byte.singleQuote {
                    index += 2
                    continue
                }
                return true
            }
            index += 1
        }
        return false
    }

    /// The escape at `pos` (a backslash) in a double-quoted scalar.
    mutating func decodeEscape(parentIndent: Int, opened: Int) throws(ParseFailure) {
        let escapeStart = pos
        let code = byte(pos + 1)
        pos += 2
        switch code {
        case Byte.zero: buffer.append(byte: 0x00, producedAt: escapeStart)
        case 0x61: buffer.append(byte: 0x07, producedAt: escapeStart)  // a
        case 0x62: buffer.append(byte: 0x08, producedAt: escapeStart)  // b
        case 0x74, Byte.tab: buffer.append(byte: 0x09, producedAt: escapeStart)  // t, tab
        case 0x6E: buffer.append(byte: 0x0A, producedAt: escapeStart)  // n
        case 0x76: buffer.append(byte: 0x0B, producedAt: escapeStart)  // v
        case 0x66: buffer.append(byte: 0x0C, producedAt: escapeStart)  // f
        case 0x72: buffer.append(byte: 0x0D, producedAt: escapeStart)  // r
        case 0x65: buffer.append(byte: 0x1B, producedAt: escapeStart)  // e
        case Byte.space, Byte.doubleQuote, Byte.slash, Byte.backslash:
            buffer.append(byte: code, producedAt: escapeStart)
        case 0x4E: buffer.append(scalar: "\u{85}", producedAt: escapeStart)  // N
        case 0x5F: buffer.append(scalar: "\u{A0}", producedAt: escapeStart)  // _
        case 0x4C: buffer.append(scalar: "\u{2028}", producedAt: escapeStart)  // L
        case 0x50: buffer.append(scalar: "\u{2029}", producedAt: escapeStart)  // P
        case 0x78, 0x75, 0x55:  // x u U
            let digits = code == 0x78 ? 2 : code == 0x75 ? 4 : 8
            var value = try hexValue(digits: digits, escapeStart: escapeStart)
            if code == 0x75, value >= 0xD800, value < 0xDC00 {
                // A UTF-16 surrogate pair written as two \u escapes.
                guard byte(pos) == Byte.backslash, byte(pos + 1) == 0x75 else {
                    throw ParseFailure(.surrogateEscape, escapeStart, pos)
                }
                pos += 2
                let low = try hexValue(digits: 4, escapeStart: escapeStart)
                guard low >= 0xDC00, low < 0xE000 else { throw ParseFailure(.surrogateEscape, escapeStart, pos) }
                value = 0x10000 + ((value - 0xD800) << 10) + (low - 0xDC00)
            }
            guard let scalar = Unicode.Scalar(value) else {
                if value >= 0xD800, value < 0xE000 { throw ParseFailure(.surrogateEscape, escapeStart, pos) }
                throw ParseFailure(.invalidCodePoint, escapeStart, pos, Int(value))
            }
            buffer.append(scalar: scalar, producedAt: escapeStart)
        case Byte.lineFeed, Byte.carriageReturn:
            // An escaped line break: joins the lines without a space.
            pos = escapeStart + 1
            let breaks = try foldQuotedLineBreaks(parentIndent: parentIndent, isDouble: true, opened: opened)
            buffer.append(byte: Byte.lineFeed, count: breaks - 1, producedAt: escapeStart)
        case Byte.end:
            pos = escapeStart + 1
            throw ParseFailure(.unterminatedDoubleQuote, opened, pos)
        default:
            // Cover the whole escaped character (it may be several bytes).
            var after = escapeStart + 2
            while after < end, input[after] & 0xC0 == 0x80 { after += 1 }
            throw ParseFailure(.invalidEscape, escapeStart, after)
        }
    }

    /// `digits` hex digits at `pos` (after `\x`, `\u` or `\U`).
    mutating func hexValue(digits: Int, escapeStart: Int) throws(ParseFailure) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<digits {
            let current = byte(pos)
            let digit: UInt32
            switch current {
            case 0x30...0x39: digit = UInt32(current - 0x30)
            case 0x41...0x46: digit = UInt32(current - 0x41 + 10)
            case 0x61...0x66: digit = UInt32(current - 0x61 + 10)
            default: throw ParseFailure(.shortHexEscape, escapeStart, max(pos, escapeStart + 2), digits)
            }
            value = value << 4 | digit
            pos += 1
        }
        return value
    }

    // MARK: - Block scalars

    /// A literal (`|`) or folded (`>`) block scalar at `pos` (the indicator). Ends positioned at the
    /// next content line.
    mutating func parseBlockScalar(parentIndent: Int) throws(ParseFailure) -> Node {
        let start = pos
        let startLocation = here()
        try countNode(at: start)
        let probing = isProbeTarget(start)
        let folded = input[pos] == Byte.greaterThan
        pos += 1
        var chomping = Chomping.clip
        var indentationIndicator = 0
        var sawChomping = false
        while pos < end {
            let current = input[pos]
            if current == Byte.minus || current == Byte.plus, !sawChomping {
                chomping = current == Byte.minus ? .strip : .keep
                sawChomping = true
            } else if current >= Byte.one, current <= Byte.nine, indentationIndicator == 0 {
                indentationIndicator = Int(current - Byte.zero)
            } else {
                break
            }
            pos += 1
        }
        let headerEnd = here()
        let beforeBlanks = pos
        skipBlanks()
        let current = byte(pos)
        if current == Byte.hash {
            if pos == beforeBlanks { throw ParseFailure(.invalidBlockHeader, start, lineEndOffset(start)) }
            while pos < end, input[pos] != Byte.lineFeed, input[pos] != Byte.carriageReturn { pos += 1 }
        } else if !Byte.isBreakOrEnd(current) {
            if pos == beforeBlanks {
                throw ParseFailure(.invalidBlockHeader, start, lineEndOffset(start))
            }
            throw ParseFailure(.textAfterBlockHeader, pos, lineEndOffset(pos))
        }
        if pos < end { consumeBreak() }

        // The content indentation: explicit, or that of the first non-empty line.
        let minimumIndent = parentIndent + 1
        var contentIndent: Int
        if indentationIndicator > 0 {
            contentIndent = max(parentIndent, 0) + indentationIndicator
        } else {
            var offset = pos
            var scanLine = line
            var scanLineStart = pos
            var widestBlank = 0
            var widestBlankLine = (line: line, start: pos, spaces: 0)
            var detected = -1
            while true {
                let lineBegin = offset
                while offset < end, input[offset] == Byte.space { offset += 1 }
                let spaces = offset - lineBegin
                let next = byte(offset)
                if next == Byte.lineFeed || next == Byte.carriageReturn {
                    if spaces > widestBlank {
                        widestBlank = spaces
                        widestBlankLine = (scanLine, scanLineStart, spaces)
                    }
                    offset += next == Byte.carriageReturn ? 2 : 1
                    scanLine += 1
                    scanLineStart = offset
                    continue
                }
                if offset < end { detected = spaces }
                if offset >= end, spaces > widestBlank {
                    widestBlank = spaces
                    widestBlankLine = (scanLine, scanLineStart, spaces)
                }
                break
            }
            if detected >= minimumIndent {
                if widestBlank > detected {
                    throw ParseFailure(
                        .overIndentedLeadingBlankLine, widestBlankLine.start, widestBlankLine.start + widestBlankLine.spaces, detected)
                }
                contentIndent = detected
            } else {
                contentIndent = max(minimumIndent, widestBlank)
            }
        }

        buffer.reset(recording: recordsRewritten(probing))
        var leadingBreak = false
        var leadingBreakOffset = 0
        var trailingBreaks = 0
        var trailingBreaksOffset = 0
        var leadingBlank = false
        var endLocation = headerEnd
        while pos < end {
            let lineBegin = pos
            if contentIndent == 0, isDocumentMarker(at: pos) { break }
            var offset = pos
            let limit = pos + contentIndent
            while offset < limit, offset < end, input[offset] == Byte.space { offset += 1 }
            let next = byte(offset)
            if next == Byte.lineFeed || next == Byte.carriageReturn {
                if trailingBreaks == 0 { trailingBreaksOffset = offset }
                trailingBreaks += 1
                pos = offset
                consumeBreak()
                continue
            }
            if offset >= end {
                // A last line of spaces without a line break counts as an empty line.
                if offset > lineBegin {
                    if trailingBreaks == 0 { trailingBreaksOffset = offset }
                    trailingBreaks += 1
                }
                pos = offset
                break
            }
            if offset - lineBegin < contentIndent {
                if next == Byte.tab {
                    // A blank line with a tab where the indentation should be: not an empty line of
                    // the scalar, and not allowed after it either.
                    var rest = offset
                    while rest < end, Byte.isBlank(input[rest]) { rest += 1 }
                    if Byte.isBreakOrEnd(byte(rest)) { throw ParseFailure(.tabIndentation, lineBegin, rest) }
                }
                pos = lineBegin
                break
            }
            let trailingBlank = Byte.isBlank(next)
            if folded, leadingBreak, !leadingBlank, !trailingBlank {
                if trailingBreaks == 0 { buffer.append(byte: Byte.space, producedAt: leadingBreakOffset) }
            } else if leadingBreak {
                buffer.append(byte: Byte.lineFeed, producedAt: leadingBreakOffset)
            }
            leadingBreak = false
            buffer.append(byte: Byte.lineFeed, count: trailingBreaks, producedAt: trailingBreaksOffset)
            trailingBreaks = 0
            leadingBlank = trailingBlank
            var lineEnd = offset
            while lineEnd < end, input[lineEnd] != Byte.lineFeed, input[lineEnd] != Byte.carriageReturn { lineEnd += 1 }
            buffer.append(input, from: offset, to: lineEnd)
            pos = lineEnd
            endLocation = here()
            if pos >= end {
                // A last line of white space without a line break ends as if it had one.
                var whiteSpaceOnly = true
                for index in offset..<lineEnd where !Byte.isBlank(input[index]) {
                    whiteSpaceOnly = false
                    break
                }
                if whiteSpaceOnly {
                    leadingBreak = true
                    leadingBreakOffset = lineEnd
                }
                break
            }
            leadingBreak = true
            leadingBreakOffset = pos
            consumeBreak()
        }
        if chomping != .strip, leadingBreak { buffer.append(byte: Byte.lineFeed, producedAt: leadingBreakOffset) }
        if chomping == .keep { buffer.append(byte: Byte.lineFeed, count: trailingBreaks, producedAt: trailingBreaksOffset) }
        let text = buffer.makeString()
        if buffer.recording { probeResults[start] = buffer.segments }
        let node = tree.addScalar(
            Scalar(text: text, style: folded ? .folded : .literal, value: .string(text)),
            range: SourceRange(start: startLocation, end: endLocation))
        skipToContentFromLineStart()
        return node
    }

    /// A multi-line plain scalar goes on at the next line: the line break(s) between the lines
    /// fold as YAML specifies (one break -> a space, n breaks -> n-1 line feeds). The first time,
    /// the content so far moves into the buffer.
    @inline(__always) mutating func foldPlainLineBreaks(
        _ breaks: Int, firstLine multiLine: inout Bool, start: Int, contentEnd: Int, probing: Bool
    ) {
        if !multiLine {
            multiLine = true
            buffer.reset(recording: recordsRewritten(probing))
            buffer.append(input, from: start, to: contentEnd)
        }
        if breaks == 1 {
            buffer.append(byte: Byte.space, producedAt: contentEnd)
        } else {
            buffer.append(byte: Byte.lineFeed, count: breaks - 1, producedAt: contentEnd)
        }
    }
}
