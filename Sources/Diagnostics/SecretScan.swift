/// What of a source file must never be shown in a diagnostic: the values of the `data` of every
/// SecretStore document.
///
/// A tolerant pre-scan of the lines, not a parse, so it works on a file that does not parse:
/// documents are split at `---` / `...` lines; a document whose top-level `kind:` line names
/// `SecretStore` is a secret store; in it, the text after `data:` on its own line and every
/// following line indented deeper (or blank, or a comment) is secret. Of a `KEY: value` line
/// only the value is hidden, so a snippet still shows which key it is about.
public struct SecretScan: Sendable {
    /// Byte ranges of the file shown as `***`, ascending and disjoint.
    public private(set) var spans: [Range<Int>] = []
    /// The values found (quoted content and raw text), masked wherever they appear in output.
    public private(set) var values: [String] = []

    public init(_ bytes: [UInt8]) {
        guard Self.mentionsSecretStore(bytes) else { return }
        let lines = Self.lines(of: bytes)
        var documentStart = 0
        for (index, line) in lines.enumerated() where Self.isDocumentMarker(bytes, line) {
            scanDocument(bytes, lines[documentStart..<index])
            documentStart = index + 1
        }
        scanDocument(bytes, lines[documentStart...])
    }

    /// Values shorter than this are not masked everywhere (only inside the data block): masking
    /// every `1` or `yes` in a file would hide what the finding is about.
    public static let shortestMaskedValue = 4

    // MARK: scanning

    private static let needle = Array("SecretStore".utf8)

    private static func mentionsSecretStore(_ bytes: [UInt8]) -> Bool {
        guard bytes.count >= needle.count else { return false }
        var index = 0
        let last = bytes.count - needle.count
        while index <= last {
            if bytes[index] == 0x53, bytes[index..<index + needle.count].elementsEqual(needle) { return true }
            index += 1
        }
        return false
    }

    /// Every line as `start..<end` without its line break (a CR before the LF is dropped too).
    private static func lines(of bytes: [UInt8]) -> [Range<Int>] {
        var result: [Range<Int>] = []
        var start = 0
        for (index, byte) in bytes.enumerated() where byte == 0x0A {
            result.append(start..<(index > start && bytes[index - 1] == 0x0D ? index - 1 : index))
            start = index + 1
        }
        result.append(start..<bytes.count)
        return result
    }

    private static func isDocumentMarker(_ bytes: [UInt8], _ line: Range<Int>) -> Bool {
        guard line.count >= 3 else { return false }
        let head = bytes[line.lowerBound..<line.lowerBound + 3]
        guard head.elementsEqual("---".utf8) || head.elementsEqual("...".utf8) else { return false }
        return line.count == 3 || bytes[line.lowerBound + 3] == 0x20 || bytes[line.lowerBound + 3] == 0x09
    }

    private static func indent(_ bytes: [UInt8], _ line: Range<Int>) -> Int {
        var index = line.lowerBound
        while index < line.upperBound, bytes[index] == 0x20 || bytes[index] == 0x09 { index += 1 }
        return index - line.lowerBound
    }

    /// The offset just after `key:` when the line's content (after `indent`) is that key, bare or
    /// quoted; nil otherwise.
    private static func afterKey(_ key: String, _ bytes: [UInt8], _ line: Range<Int>, indent: Int) -> Int? {
        var index = line.lowerBound + indent
        var quote: UInt8?
        if index < line.upperBound, bytes[index] == 0x22 || bytes[index] == 0x27 {
            quote = bytes[index]
            index += 1
        }
        for byte in key.utf8 {
            guard index < line.upperBound, bytes[index] == byte else { return nil }
            index += 1
        }
        if let quote {
            guard index < line.upperBound, bytes[index] == quote else { return nil }
            index += 1
        }
        while index < line.upperBound, bytes[index] == 0x20 { index += 1 }
        guard index < line.upperBound, bytes[index] == 0x3A else { return nil }
        index += 1
        guard index == line.upperBound || bytes[index] == 0x20 || bytes[index] == 0x09 else { return nil }
        return index
    }

    private static func trimmed(_ bytes: [UInt8], _ range: Range<Int>) -> Range<Int> {
        var lower = range.lowerBound
        var upper = range.upperBound
        while lower < upper, bytes[lower] == 0x20 || bytes[lower] == 0x09 { lower += 1 }
        while upper > lower, bytes[upper - 1] == 0x20 || bytes[upper - 1] == 0x09 { upper -= 1 }
        return lower..<upper
    }

    private static func isBlankOrComment(_ bytes: [UInt8], _ line: Range<Int>) -> Bool {
        let content = trimmed(bytes, line)
        return content.isEmpty || bytes[content.lowerBound] == 0x23
    }

    private mutating func scanDocument(_ bytes: [UInt8], _ lines: ArraySlice<Range<Int>>) {
        let isSecretStore = lines.contains { line in
            guard let after = Self.afterKey("kind", bytes, line, indent: 0) else { return false }
            var value = Self.trimmed(bytes, after..<line.upperBound)
            if let hash = bytes[value].firstIndex(of: 0x23) { value = Self.trimmed(bytes, value.lowerBound..<hash) }
            if value.count >= 2, bytes[value.lowerBound] == 0x22 || bytes[value.lowerBound] == 0x27,
                bytes[value.upperBound - 1] == bytes[value.lowerBound]
            {
                value = value.lowerBound + 1..<value.upperBound - 1
            }
            return bytes[value].elementsEqual(Self.needle)
        }
        guard isSecretStore else { return }
        var index = lines.startIndex
        while index < lines.endIndex {
            let line = lines[index]
            let dataIndent = Self.indent(bytes, line)
            index += 1
            guard let after = Self.afterKey("data", bytes, line, indent: dataIndent) else { continue }
            hide(bytes, Self.trimmed(bytes, after..<line.upperBound))
            while index < lines.endIndex {
                let inner = lines[index]
                if !Self.isBlankOrComment(bytes, inner), Self.indent(bytes, inner) <= dataIndent { break }
                hideEntry(bytes, inner)
                index += 1
            }
        }
    }

    /// Hides the value of a `KEY: value` line, or the whole content of any other line.
    private mutating func hideEntry(_ bytes: [UInt8], _ line: Range<Int>) {
        let content = Self.trimmed(bytes, line)
        guard !content.isEmpty else { return }
        var index = content.lowerBound
        var quote: UInt8?
        if bytes[index] == 0x22 || bytes[index] == 0x27 {
            quote = bytes[index]
            index += 1
            while index < content.upperBound, bytes[index] != quote { index += bytes[index] == 0x5C && quote == 0x22 ? 2 : 1 }
            index += 1
        }
        while index < content.upperBound {
            if bytes[index] == 0x3A, index + 1 == content.upperBound || bytes[index + 1] == 0x20 || bytes[index + 1] == 0x09 {
                hide(bytes, Self.trimmed(bytes, index + 1..<content.upperBound))
                return
            }
            if quote != nil { break }
            index += 1
        }
        hide(bytes, content)
    }

    /// Hides `range` and records its text (and the text inside its quotes) as secret values.
    private mutating func hide(_ bytes: [UInt8], _ range: Range<Int>) {
        guard !range.isEmpty else { return }
        if let last = spans.last, last.upperBound > range.lowerBound {
            spans[spans.count - 1] = last.lowerBound..<max(last.upperBound, range.upperBound)
        } else {
            spans.append(range)
        }
        record(bytes[range])
        let first = bytes[range.lowerBound]
        if first == 0x22 || first == 0x27 {
            var end = range.lowerBound + 1
            while end < range.upperBound, bytes[end] != first { end += bytes[end] == 0x5C && first == 0x22 ? 2 : 1 }
            if end > range.lowerBound + 1 { record(bytes[range.lowerBound + 1..<min(end, range.upperBound)]) }
        }
    }

    private mutating func record(_ value: ArraySlice<UInt8>) {
        let text = String(decoding: value, as: UTF8.self)
        if text.unicodeScalars.count >= Self.shortestMaskedValue, !values.contains(text) { values.append(text) }
    }
}

/// Secret values to mask wherever they appear, longest first (so a secret containing a shorter
/// one is masked whole).
public struct SecretValues: Sendable {
    private let values: [[UInt8]]
    private let startsValue: [Bool]
    /// The length of the longest value in bytes.
    public let longest: Int

    public init(_ secrets: some Sequence<String>) {
        var unique = Set<[UInt8]>()
        for secret in secrets where secret.unicodeScalars.count >= SecretScan.shortestMaskedValue { unique.insert(Array(secret.utf8)) }
        values = unique.sorted { $0.count != $1.count ? $0.count > $1.count : $0.lexicographicallyPrecedes($1) }
        var starts = [Bool](repeating: false, count: 256)
        for value in values { if let first = value.first { starts[Int(first)] = true } }
        startsValue = starts
        longest = values.first?.count ?? 0
    }

    public var isEmpty: Bool { values.isEmpty }

    /// Where values occur in `bytes`, starting at offsets in `from..<to` (a match may run past
    /// `to`), left to right, not overlapping.
    public func occurrences(in bytes: UnsafeBufferPointer<UInt8>, from: Int, to: Int) -> [Range<Int>] {
        guard !values.isEmpty else { return [] }
        var found: [Range<Int>] = []
        var index = max(0, from)
        let end = min(to, bytes.count)
        scanning: while index < end {
            if startsValue[Int(bytes[index])] {
                for value in values where index + value.count <= bytes.count && value[0] == bytes[index] {
                    if UnsafeBufferPointer(rebasing: bytes[index..<index + value.count]).elementsEqual(value) {
                        found.append(index..<index + value.count)
                        index += value.count
                        continue scanning
                    }
                }
            }
            index += 1
        }
        return found
    }

    /// `text` with every value replaced by `***`.
    public func mask(_ text: String) -> String {
        guard !values.isEmpty else { return text }
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBufferPointer { buffer in
            let found = occurrences(in: buffer, from: 0, to: buffer.count)
            guard !found.isEmpty else { return text }
            var out: [UInt8] = []
            var index = 0
            for range in found {
                out += buffer[index..<range.lowerBound]
                out += Array("***".utf8)
                index = range.upperBound
            }
            out += buffer[index...]
            return String(decoding: out, as: UTF8.self)
        }
    }
}
