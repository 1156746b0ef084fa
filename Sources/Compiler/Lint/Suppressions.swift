import Diagnostics
import YAML

// Inline suppression: a comment `# orchestrator-lint: disable=RULE[,RULE]` silences those rules'
// findings on its own line and on the line below it:
//
//   - id: qa
//     max_parallel: 4   # orchestrator-lint: disable=no-effect
//
//   # orchestrator-lint: disable=unused-resource
//   name: spare-template

/// The suppression comments of one file.
struct FileSuppressions {
    /// line -> rule ids silenced on that line.
    var silenced: [Int: Set<String>] = [:]
    /// Unknown rule names and malformed directives (rule `lint-config`).
    var problems: [Diagnostic] = []

    func isSilenced(_ rule: String, line: Int) -> Bool { silenced[line]?.contains(rule) ?? false }
}

enum Suppressions {
    static let marker = Array("orchestrator-lint:".utf8)
    static let disable = Array("disable=".utf8)

    /// Finds the directives of `file`. A `#` inside a quoted or block scalar is not a comment.
    static func scan(_ file: SourceFile) -> FileSuppressions {
        var result = FileSuppressions()
        let bytes = file.bytes
        guard contains(bytes, marker) else { return result }
        let scalars = multiLineScalarRanges(bytes)
        var lineStart = 0
        var line = 1
        while lineStart <= bytes.count {
            var lineEnd = lineStart
            while lineEnd < bytes.count, bytes[lineEnd] != 0x0A { lineEnd += 1 }
            if let hash = commentStart(bytes, lineStart, lineEnd),
                !scalars.contains(where: { $0.lowerBound <= hash && hash < $0.upperBound })
            {
                directive(in: file, hash: hash, lineEnd: lineEnd, line: line, into: &result)
            }
            line += 1
            lineStart = lineEnd + 1
        }
        return result
    }

    /// The offset of the `#` starting a comment on the line, if any (outside quotes; at the start
    /// of the line or after a blank).
    private static func commentStart(_ bytes: [UInt8], _ start: Int, _ end: Int) -> Int? {
        var quote: UInt8?
        var index = start
        while index < end {
            let byte = bytes[index]
            if let open = quote {
                if byte == open {
                    if open == UInt8(ascii: "'"), index + 1 < end, bytes[index + 1] == open {
                        index += 2
                        continue
                    }
                    quote = nil
                } else if byte == UInt8(ascii: "\\"), open == UInt8(ascii: "\"") {
                    index += 1
                }
            } else if byte == UInt8(ascii: "#"), index == start || bytes[index - 1] == 0x20 || bytes[index - 1] == 0x09 {
                return index
            } else if byte == UInt8(ascii: "'") || byte == UInt8(ascii: "\""),
                index == start || [0x20, 0x09, UInt8(ascii: "["), UInt8(ascii: "{"), UInt8(ascii: ","), UInt8(ascii: ":"), UInt8(ascii: "-")]
                    .contains(bytes[index - 1])
            {
                quote = byte
            }
            index += 1
        }
        return nil
    }

    private static func directive(in file: SourceFile, hash: Int, lineEnd: Int, line: Int, into result: inout FileSuppressions) {
        let bytes = file.bytes
        var index = hash + 1
        while index < lineEnd, bytes[index] == 0x20 || bytes[index] == 0x09 { index += 1 }
        guard starts(bytes, at: index, with: marker) else { return }
        index += marker.count
        while index < lineEnd, bytes[index] == 0x20 || bytes[index] == 0x09 { index += 1 }
        guard starts(bytes, at: index, with: disable) else {
            var wordEnd = index
            while wordEnd < lineEnd, bytes[wordEnd] != 0x20, bytes[wordEnd] != 0x09 { wordEnd += 1 }
            let range = SourceRange(start: file.location(ofOffset: index), end: file.location(ofOffset: max(wordEnd, index)))
            result.problems.append(
                LintRegistry.lintConfig.finding(
                    "a lint directive must read `orchestrator-lint: disable=RULE[,RULE]`", file: file.path, range: range,
                    help: "write `# orchestrator-lint: disable=` followed by rule ids separated by commas"))
            return
        }
        index += disable.count
        // Rule ids separated by commas (blanks after a comma allowed), up to a blank or the end.
        var silenced = Set<String>()
        while index < lineEnd {
            var nameEnd = index
            while nameEnd < lineEnd, bytes[nameEnd] != UInt8(ascii: ","), bytes[nameEnd] != 0x20, bytes[nameEnd] != 0x09,
                bytes[nameEnd] != 0x0D
            {
                nameEnd += 1
            }
            let name = String(decoding: bytes[index..<nameEnd], as: UTF8.self)
            if !name.isEmpty {
                if LintRegistry.rule(name) != nil {
                    silenced.insert(name)
                } else {
                    let range = SourceRange(start: file.location(ofOffset: index), end: file.location(ofOffset: nameEnd))
                    result.problems.append(LintRegistry.unknownRuleDiagnostic(name, file: file.path, range: range, where: "in a lint directive"))
                }
            }
            guard nameEnd < lineEnd, bytes[nameEnd] == UInt8(ascii: ",") else { break }
            index = nameEnd + 1
            while index < lineEnd, bytes[index] == 0x20 || bytes[index] == 0x09 { index += 1 }
        }
        result.silenced[line, default: []].formUnion(silenced)
        result.silenced[line + 1, default: []].formUnion(silenced)
    }

    /// Byte ranges of scalars that span lines (block and multi-line quoted scalars), where a `#`
    /// is content. Empty when the file does not parse (its comments are then taken as written).
    private static func multiLineScalarRanges(_ bytes: [UInt8]) -> [Range<Int>] {
        guard let documents = try? YAMLParser.parse(bytes) else { return [] }
        var ranges: [Range<Int>] = []
        func walk(_ node: Node) {
            switch node.content {
            case .scalar:
                if node.range.end.line > node.range.start.line { ranges.append(node.range.start.offset..<node.range.end.offset) }
            case .sequence(let items): items.forEach(walk)
            case .mapping(let entries):
                for entry in entries {
                    walk(entry.key)
                    walk(entry.value)
                }
            }
        }
        for document in documents { if let root = document.root { walk(root) } }
        return ranges
    }

    private static func starts(_ bytes: [UInt8], at index: Int, with prefix: [UInt8]) -> Bool {
        guard index + prefix.count <= bytes.count else { return false }
        for (offset, byte) in prefix.enumerated() where bytes[index + offset] != byte { return false }
        return true
    }

    private static func contains(_ bytes: [UInt8], _ needle: [UInt8]) -> Bool {
        guard let first = needle.first, bytes.count >= needle.count else { return false }
        var index = 0
        while index + needle.count <= bytes.count {
            if bytes[index] == first, starts(bytes, at: index, with: needle) { return true }
            index += 1
        }
        return false
    }
}
