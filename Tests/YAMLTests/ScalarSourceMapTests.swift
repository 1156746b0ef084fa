import Diagnostics
import Testing

@testable import YAML

/// `ScalarSourceMap`: content offsets of scalars of every shape map to where their characters are
/// written, and re-scanning a scalar alone records what parsing the whole file records.
@Suite struct ScalarSourceMapTests {
    /// Every marker `<name>` is written once; in each scalar's content it must map back to where it
    /// is written (escapes, folding and block indentation in between).
    static let document = """
        plain: run <a> now
        single: 'run <b> now'
        double: "run <c> now"
        escaped: "run \\"<d>\\" then \\u00e9\\t<d2> and \\\\<d3>"
        multi: run <e>
          and <f>


            then <f2>
        quoted multi: "one <g1>
          two <g2>

          three <g3> \\
          four <g4>"
        single multi: 'it''s <h1>
            <h2>'
        literal: |
          first <g>
            indented <h>

          after a blank <i>
        folded: >-
          one <j>
          two <k>

          para <l>
            kept <m>
          back <n>
        keep: |+
          x <o>

        strip: >-
          ünïcödé <p>
          <q>
        list:
          - >
            item <r>
            more <s>
          - plain <pa>
            over <pb>
        indicator: |2
            two more <t>
          <u>
        nested:
          - key: >1-
               <v> more
              <w>
        flow: [run <x>
          and <y>, 'q <z>', "é <za>
           <zb>"]
        flow map: {k: plain <aa>
           continued <ab>, <ac>: v}
        """

    static func scalars(_ node: Node, into result: inout [Node]) {
        switch node.content {
        case .scalar: result.append(node)
        case .sequence(let items): for item in items { scalars(item, into: &result) }
        case .mapping(let entries):
            for entry in entries {
                scalars(entry.key, into: &result)
                scalars(entry.value, into: &result)
            }
        }
    }

    /// The markers `<name>` in `text`: (name, content byte range).
    static func markers(_ text: String) -> [(String, Range<Int>)] {
        let bytes = Array(text.utf8)
        var result: [(String, Range<Int>)] = []
        var index = 0
        while index < bytes.count {
            guard bytes[index] == UInt8(ascii: "<") else {
                index += 1
                continue
            }
            var close = index + 1
            while close < bytes.count, bytes[close] != UInt8(ascii: ">"), bytes[close] != UInt8(ascii: "<") { close += 1 }
            guard close < bytes.count, bytes[close] == UInt8(ascii: ">") else {
                index += 1
                continue
            }
            result.append((String(decoding: bytes[(index + 1)..<close], as: UTF8.self), index..<(close + 1)))
            index = close + 1
        }
        return result
    }

    /// The source offset where `needle` is written (once).
    static func offset(of needle: String, in bytes: [UInt8]) -> Int? {
        let pattern = Array(needle.utf8)
        guard bytes.count >= pattern.count else { return nil }
        var found: Int?
        for start in 0...(bytes.count - pattern.count) where bytes[start..<(start + pattern.count)].elementsEqual(pattern) {
            guard found == nil else { return nil }
            found = start
        }
        return found
    }

    /// The variants of the document: LF, CR LF, and LF after a byte order mark.
    static var variants: [(String, [UInt8])] {
        let lf = Array(document.utf8)
        var crlf: [UInt8] = []
        for byte in lf {
            if byte == 0x0A { crlf.append(0x0D) }
            crlf.append(byte)
        }
        return [("LF", lf), ("CRLF", crlf), ("BOM", [0xEF, 0xBB, 0xBF] + lf)]
    }

    @Test(arguments: [0, 1, 2])
    func markersMapToWhereTheyAreWritten(variant: Int) throws {
        let (name, bytes) = Self.variants[variant]
        let root = try #require(try YAMLParser.parse(bytes).first?.root)
        var nodes: [Node] = []
        Self.scalars(root, into: &nodes)
        let map = ScalarSourceMap.build(for: nodes, source: bytes)
        let file = SourceFile(path: "", bytes: bytes)
        var seen = 0
        for node in nodes {
            #expect(map.contains(node), "\(name): \(node.range)")
            guard let text = node.scalar?.text else { continue }
            for (marker, range) in Self.markers(text) {
                let written = try #require(Self.offset(of: "<\(marker)>", in: bytes), "\(name): <\(marker)>")
                let expected = SourceRange(
                    start: file.location(ofOffset: written), end: file.location(ofOffset: written + range.count))
                #expect(map.range(ofContentRange: range, in: node) == expected, "\(name): <\(marker)> in \(text)")
                #expect(map.location(ofContentOffset: range.lowerBound, in: node) == expected.start)
                // The one-node wrappers agree.
                #expect(YAMLParser.sourceLocation(ofContentOffset: range.lowerBound, in: node, source: bytes) == expected.start)
                seen += 1
            }
        }
        #expect(seen == 42, "\(name)")
    }

    @Test(arguments: [0, 1, 2])
    func reScanningAloneRecordsWhatTheWholeParseRecords(variant: Int) throws {
        let (name, bytes) = Self.variants[variant]
        let root = try #require(try YAMLParser.parse(bytes).first?.root)
        var nodes: [Node] = []
        Self.scalars(root, into: &nodes)
        let whole: [Int: [ContentSegment]] = bytes.withUnsafeBufferPointer { input in
            var parser = StreamParser(
                input: input, limits: .standard, isASCII: false, probeTargets: Set(nodes.map(\.range.start.offset)))
            _ = try? parser.parseStream()
            return parser.probeResults
        }
        var alone = 0
        var notAlone: [String] = []
        bytes.withUnsafeBufferPointer { input in
            for node in nodes {
                let recorded = whole[node.range.start.offset]
                #expect(recorded != nil, "\(name): \(node.range)")
                guard let runs = StreamParser.rescanAlone(node, in: input) else {
                    notAlone.append(node.scalar?.text ?? "")
                    continue
                }
                alone += 1
                #expect(runs == recorded, "\(name): \(node.scalar?.text ?? "")")
            }
        }
        // Only the block scalars with an indentation indicator need the whole file.
        #expect(notAlone == ["  two more <t>\n<u>\n", "  <v> more\n <w>"], "\(name)")
        #expect(alone == nodes.count - 2)
    }

    @Test func growingAMapReParsesOnceForAllScalarsThatNeedIt() throws {
        let bytes = Array(Self.document.utf8)
        let root = try #require(try YAMLParser.parse(bytes).first?.root)
        let indicator = try #require(root["indicator"])
        let nested = try #require(root["nested"]?.sequence?.first?["key"])
        let plain = try #require(root["plain"])
        let literal = try #require(root["literal"])
        // Built for one node: the re-parse records that one.
        let built = ScalarSourceMap.build(for: [indicator], source: bytes)
        #expect(built.contains(indicator) && !built.contains(nested))
        // Grown: the re-parse records every scalar that the parser rewrites, so the other block
        // scalar with an indentation indicator is there before it is asked for.
        var grown = ScalarSourceMap(source: bytes)
        grown.add([plain])
        #expect(grown.contains(plain) && !grown.contains(indicator) && !grown.contains(literal))
        grown.add([indicator])
        #expect(grown.contains(indicator) && grown.contains(nested) && grown.contains(literal))
        #expect(grown.location(ofContentOffset: 2, in: nested) == built.location(ofOffset: nested.range.start.offset + 11))
    }

    @Test func everyContentOffsetOfAScalarMapsLikeTheWholeParse() throws {
        // Offsets that are not markers too: escapes map to their backslash, folded line breaks to
        // the break, the end of the content to just after the last character.
        let bytes = Array("a: \"x\\ty \\\n  z\"\nb: >\n  one\n\n  two\n".utf8)
        let root = try #require(try YAMLParser.parse(bytes).first?.root)
        let quoted = try #require(root["a"])
        let folded = try #require(root["b"])
        #expect(quoted.scalar?.text == "x\ty z")
        #expect(folded.scalar?.text == "one\ntwo\n")
        let map = ScalarSourceMap.build(for: [quoted, folded], source: bytes)
        let file = SourceFile(path: "", bytes: bytes)
        func at(_ offset: Int) -> Diagnostics.SourceLocation { file.location(ofOffset: offset) }
        // "x" at 4, "\t" is the escape at 5, "y " at 7-8, the escaped line break at 9 joins
        // without a space, "z" at 13, the end just before the closing quote (14).
        #expect(map.locations(ofContentOffsets: [0, 1, 2, 3, 4, 5, 99], in: quoted) == [at(4), at(5), at(7), at(8), at(13), at(14), at(14)])
        // "one" from 23; the line break after it folds away and the empty line (27) gives the
        // "\n"; "two" at 30; the final break (clip) is the one at 33; the end is the scalar's end.
        #expect(map.locations(ofContentOffsets: [0, 3, 4, 7, 8], in: folded) == [at(23), at(27), at(30), at(33), folded.range.end])
        #expect(map.range(ofContentRange: 4..<7, in: folded) == SourceRange(start: at(30), end: at(33)))
        #expect(map.range(ofContentRange: 2..<2, in: folded) == SourceRange(at: at(25)))
        // A range ends where the content after it comes from ("y" ends at 8, after the escape
        // `\t` at 5-6 before it), except after a copied byte followed by produced content: "one"
        // ends at 26, not at the empty line (27) its line break folds into.
        #expect(map.range(ofContentRange: 0..<3, in: folded) == SourceRange(start: at(23), end: at(26)))
        #expect(map.range(ofContentRange: 0..<2, in: quoted) == SourceRange(start: at(4), end: at(7)))
        #expect(map.range(ofContentRange: 1..<3, in: quoted) == SourceRange(start: at(5), end: at(8)))
        // `''` is one quote: a range ending with it ends after both.
        let quotes = Array("c: 'a ''b'''".utf8)
        let single = try #require(try YAMLParser.parse(quotes).first?.root?["c"])
        #expect(single.scalar?.text == "a 'b'")
        let singleMap = ScalarSourceMap.build(for: [single], source: quotes)
        let singleFile = SourceFile(path: "", bytes: quotes)
        #expect(
            singleMap.range(ofContentRange: 2..<3, in: single)
                == SourceRange(start: singleFile.location(ofOffset: 6), end: singleFile.location(ofOffset: 8)))
    }

    @Test func nodesOutsideTheMapMapToTheirStart() throws {
        let bytes = Array("a: [1, 2]\nb: 'x'\n".utf8)
        let root = try #require(try YAMLParser.parse(bytes).first?.root)
        let list = try #require(root["a"])
        let quoted = try #require(root["b"])
        var map = ScalarSourceMap.build(for: [list], source: bytes)
        #expect(!map.contains(list))
        #expect(!map.contains(quoted))
        #expect(map.location(ofContentOffset: 0, in: quoted) == quoted.range.start)
        #expect(map.range(ofContentRange: 0..<1, in: list) == SourceRange(at: list.range.start))
        map.add([quoted])
        #expect(map.contains(quoted))
        #expect(map.location(ofContentOffset: 0, in: quoted) == Diagnostics.SourceLocation(line: 2, column: 5, offset: 14))
        // A node of another file.
        let other = try #require(try YAMLParser.parse("zzzz: 'longer text'").first?.root?["zzzz"])
        map.add([other])
        #expect(!map.contains(other))
        #expect(map.location(ofContentOffset: 3, in: other) == other.range.start)
    }

    @Test func lineStartTable() {
        // Line feeds at every position of an eight-byte word, CR LF, non-ASCII, empty lines.
        var text = "ab\r\nçd\n\nx"
        for length in 0..<20 { text += String(repeating: length % 3 == 0 ? "é" : "a", count: length) + "\n" }
        text += "\n\n\n\n\n\n\n\n\n\nend"
        let bytes = Array(text.utf8)
        let map = ScalarSourceMap(source: bytes)
        let file = SourceFile(path: "", bytes: bytes)
        for offset in -1...(bytes.count + 1) {
            #expect(map.location(ofOffset: offset) == file.location(ofOffset: offset), "\(offset)")
        }
        #expect(map.location(ofOffset: bytes.count).line == 34)
        #expect(ScalarSourceMap(source: []).location(ofOffset: 3) == Diagnostics.SourceLocation.start)
    }
}
