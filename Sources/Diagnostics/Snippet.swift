/// The source line under a text finding, as it is shown: always printable, never long, never a
/// secret.
///
/// - A window of the line around the column: at most `before` bytes before it and `width` bytes
///   in all, with `…` where the line goes on (a 50 MB one-line file shows a few hundred
///   characters, not 50 MB).
/// - Control characters, invalid UTF-8 bytes and invisible format characters (bidi overrides,
///   line separators, BOM) escaped: `\x00`, `\xFF`, `\u202E`; a tab shows as one space.
/// - Hidden spans (a SecretStore's data, `SecretScan`) and text equal to a secret value shown as
///   `***`.
public struct Snippet: Sendable, Equatable {
    /// The text shown after the gutter.
    public var text: String
    /// The 1-based cell of `text` where the caret starts.
    public var caretColumn: Int
    /// How many cells the caret covers (at least 1).
    public var caretWidth: Int

    public static let before = 96
    public static let width = 320

    /// The snippet of `range`'s first line in `source`; nil when the line is not in the file.
    public init?(source: SourceFile, range: SourceRange, hidden: [Range<Int>] = [], secrets: SecretValues = SecretValues([String]())) {
        guard let snippet = source.bytes.withUnsafeBufferPointer({ bytes -> Snippet? in
            guard let line = source.lines.byteRange(ofLine: range.start.line, in: bytes) else { return nil }
            return Snippet(bytes: bytes, line: line, range: range, hidden: hidden, secrets: secrets)
        }) else { return nil }
        self = snippet
    }

    private init(bytes: UnsafeBufferPointer<UInt8>, line: Range<Int>, range: SourceRange, hidden: [Range<Int>], secrets: SecretValues) {
        let caretStart = Self.offset(of: range.start, fallbackFrom: line.lowerBound, column: 1, in: bytes, line: line)
        var caretEnd = line.upperBound
        if range.end.line == range.start.line {
            caretEnd = Self.offset(of: range.end, fallbackFrom: caretStart, column: range.start.column, in: bytes, line: line)
        }
        var windowStart = max(line.lowerBound, caretStart - Self.before)
        while windowStart < caretStart, bytes[windowStart] & 0xC0 == 0x80 { windowStart += 1 }
        var windowEnd = min(line.upperBound, windowStart + Self.width)
        while windowEnd < line.upperBound, windowEnd > caretStart, bytes[windowEnd] & 0xC0 == 0x80 { windowEnd -= 1 }

        // What is masked in the window: hidden spans and secret values overlapping it.
        let reach = min(secrets.longest, 4096)
        var masked = Self.overlapping(hidden, windowStart, windowEnd)
        masked += secrets.occurrences(in: bytes, from: max(line.lowerBound, windowStart - reach), to: windowEnd)
            .filter { $0.upperBound > windowStart }
        masked.sort { $0.lowerBound < $1.lowerBound }

        var out = windowStart > line.lowerBound ? "…" : ""
        var cells = out.isEmpty ? 0 : 1
        var startCell: Int?
        var endCell: Int?
        var maskIndex = 0
        var index = windowStart
        while index < windowEnd {
            while maskIndex < masked.count, masked[maskIndex].upperBound <= index { maskIndex += 1 }
            let next: Int
            let shown: String
            if maskIndex < masked.count, masked[maskIndex].lowerBound <= index {
                next = min(masked[maskIndex].upperBound, windowEnd)
                shown = "***"
            } else {
                let (length, text) = Self.printable(bytes, index, windowEnd)
                next = index + length
                shown = text
            }
            if startCell == nil, caretStart < next { startCell = cells }
            if endCell == nil, caretEnd <= index { endCell = cells }
            out += shown
            cells += shown.unicodeScalars.count
            index = next
        }
        if startCell == nil { startCell = cells }
        if endCell == nil { endCell = cells }
        if windowEnd < line.upperBound { out += "…" }
        text = out
        caretColumn = (startCell ?? 0) + 1
        caretWidth = max(1, (endCell ?? cells) - (startCell ?? 0))
    }

    /// The byte offset of `location` on `line`: its own offset when it lies on the line, else
    /// found by counting `location.column - column` scalars from `fallbackFrom`.
    private static func offset(
        of location: SourceLocation, fallbackFrom start: Int, column: Int, in bytes: UnsafeBufferPointer<UInt8>, line: Range<Int>
    ) -> Int {
        // An offset that fits the column (a scalar takes one to four bytes) is trusted.
        let distance = location.offset - line.lowerBound
        if location.offset <= line.upperBound, location.offset >= start,
            distance >= location.column - 1, distance <= 4 * (location.column - 1)
        {
            return location.offset
        }
        var index = start
        var remaining = location.column - column
        while remaining > 0, index < line.upperBound {
            index += 1
            while index < line.upperBound, bytes[index] & 0xC0 == 0x80 { index += 1 }
            remaining -= 1
        }
        return index
    }

    private static func overlapping(_ spans: [Range<Int>], _ start: Int, _ end: Int) -> [Range<Int>] {
        // The first span ending after `start` (spans are ascending and disjoint).
        var low = 0
        var high = spans.count
        while low < high {
            let middle = (low + high) / 2
            if spans[middle].upperBound <= start { low = middle + 1 } else { high = middle }
        }
        var result: [Range<Int>] = []
        while low < spans.count, spans[low].lowerBound < end {
            result.append(spans[low])
            low += 1
        }
        return result
    }

    /// The character at `index` as shown, and how many bytes it takes.
    static func printable(_ bytes: UnsafeBufferPointer<UInt8>, _ index: Int, _ end: Int) -> (Int, String) {
        let lead = bytes[index]
        if lead < 0x80 {
            if lead == 0x09 { return (1, " ") }
            if lead < 0x20 || lead == 0x7F { return (1, hexByte(lead)) }
            return (1, String(Unicode.Scalar(lead)))
        }
        let length: Int
        var value: UInt32
        switch lead {
        case 0xC2...0xDF: length = 2; value = UInt32(lead & 0x1F)
        case 0xE0...0xEF: length = 3; value = UInt32(lead & 0x0F)
        case 0xF0...0xF4: length = 4; value = UInt32(lead & 0x07)
        default: return (1, hexByte(lead))
        }
        guard index + length <= end else { return (1, hexByte(lead)) }
        for offset in 1..<length {
            let byte = bytes[index + offset]
            guard byte & 0xC0 == 0x80 else { return (1, hexByte(lead)) }
            value = value << 6 | UInt32(byte & 0x3F)
        }
        let smallest: UInt32 = length == 3 ? 0x800 : length == 4 ? 0x10000 : 0x80
        guard value >= smallest, value <= 0x10FFFF, let scalar = Unicode.Scalar(value) else { return (1, hexByte(lead)) }
        return (length, Printable.isInvisible(scalar) ? Printable.escaped(scalar) : String(scalar))
    }

    private static func hexByte(_ byte: UInt8) -> String {
        let hex = String(byte, radix: 16, uppercase: true)
        return "\\x" + (hex.count == 1 ? "0" : "") + hex
    }
}

/// Text made safe to print in a diagnostic: control and invisible format characters escaped,
/// secret values masked, and at most `limit` characters (a 31 MB key quoted in a message shows
/// its start and end).
public enum Printable {
    public static let limit = 400

    /// Control characters (C0 but tab and line feed, DEL, C1), bidi controls, line and paragraph
    /// separators, zero-width marks and the BOM.
    static func isInvisible(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x08, 0x0B...0x1F, 0x7F...0x9F, 0x200B...0x200F, 0x2028...0x202E, 0x2066...0x2069, 0xFEFF: return true
        default: return false
        }
    }

    static func escaped(_ scalar: Unicode.Scalar) -> String {
        let hex = String(scalar.value, radix: 16, uppercase: true)
        if scalar.value < 0x80 { return "\\x" + (hex.count == 1 ? "0" : "") + hex }
        return "\\u" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    }

    public static func text(_ text: String, secrets: SecretValues) -> String {
        let masked = secrets.mask(text)
        let scalars = masked.unicodeScalars
        guard scalars.count > limit + 3 || scalars.contains(where: isInvisible) else { return masked }
        var out = ""
        let keep = scalars.count > limit + 3 ? limit / 2 : scalars.count
        for scalar in scalars.prefix(keep) { out += isInvisible(scalar) ? escaped(scalar) : String(scalar) }
        if scalars.count > limit + 3 {
            out += " … "
            for scalar in scalars.suffix(limit / 2) { out += isInvisible(scalar) ? escaped(scalar) : String(scalar) }
        }
        return out
    }
}
