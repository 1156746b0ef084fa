import Diagnostics
import JSON
import Testing
import YAML

/// Parses `text` and returns its documents as JSON (a failed parse records an issue).
func documentsJSON(_ text: String) -> [JSONValue]? {
    do {
        return try YAMLParser.parse(text).map { $0.root?.json ?? .null }
    } catch {
        Issue.record("unexpected error: \(error)")
        return nil
    }
}

/// The error `text` is refused with (a successful parse records an issue).
func refusal(_ text: String) -> YAMLError? {
    do {
        let documents = try YAMLParser.parse(text)
        Issue.record("accepted: \(documents.map { $0.root?.json ?? .null })")
        return nil
    } catch {
        return error
    }
}

/// The JSON value of `text` (a test's expectation).
func json(_ text: String) -> JSONValue {
    do {
        return try JSONParser.parse(text)
    } catch {
        Issue.record("bad expected JSON: \(error)")
        return .null
    }
}

@Suite struct ScalarTests {
    @Test func coreSchemaResolvesPlainScalarsOnly() throws {
        let documents = try YAMLParser.parse("""
            - ~
            - null
            -
            - true
            - False
            - yes
            - 12
            - -0x1
            - 0x1F
            - 0o17
            - +7
            - 1.5e3
            - .5
            - -.inf
            - .NaN
            - "12"
            - 'true'
            - 1_000
            - 9223372036854775808
            """)
        let items = try #require(documents.first?.root?.sequence)
        let values = items.map { $0.scalar?.value }
        #expect(values[0] == .null)
        #expect(values[1] == .null)
        #expect(values[2] == .null)
        #expect(values[3] == .bool(true))
        #expect(values[4] == .bool(false))
        #expect(values[5] == .string("yes"))
        #expect(values[6] == .int(12))
        #expect(values[7] == .string("-0x1"))
        #expect(values[8] == .int(31))
        #expect(values[9] == .int(15))
        #expect(values[10] == .int(7))
        #expect(values[11] == .float(1500))
        #expect(values[12] == .float(0.5))
        #expect(values[13] == .float(-.infinity))
        if case .float(let nan) = values[14] { #expect(nan.isNaN) } else { Issue.record("`.NaN` is \(String(describing: values[14]))") }
        #expect(values[15] == .string("12"))
        #expect(values[16] == .string("true"))
        #expect(values[17] == .string("1_000"))
        #expect(values[18] == .float(9_223_372_036_854_775_808))
        #expect(items[15].scalar?.style == .doubleQuoted)
        #expect(items[16].scalar?.style == .singleQuoted)
        #expect(items[2].scalar?.text == "")
        #expect(items[0].scalar?.text == "~")
    }

    @Test func everyDoubleQuoteEscape() throws {
        // `\<TAB>` is an escape too.
        let text = #""\0\a\b\t\"# + "\t" + #"\n\v\f\r\e\ \"\/\\\N\_\L\P\x41\u00e9\U0001F600\uD83D\uDE00""#
        let documents = try YAMLParser.parse(text)
        let expected = "\u{0}\u{7}\u{8}\t\t\n\u{B}\u{C}\r\u{1B} \"/\\\u{85}\u{A0}\u{2028}\u{2029}Aé😀😀"
        #expect(documents.first?.root?.scalar?.text == expected)
    }

    @Test func quotedScalarsFoldLines() {
        #expect(documentsJSON("a: 'one\n  two\n\n  three '' four'") == [json(#"{"a": "one two\nthree ' four"}"#)])
        #expect(documentsJSON("a: \"one  \n  two\\\n   three\\n\"") == [json(#"{"a": "one twothree\n"}"#)])
        #expect(documentsJSON("- \"x\\t \n  y\"") == [json(#"["x\t y"]"#)])
    }

    @Test func plainScalarsFoldLinesAndKeepHashesInside() {
        #expect(documentsJSON("key: a b#c\n  d\n\n  e # comment\nnext: 1") == [json(#"{"key": "a b#c d\ne", "next": 1}"#)])
        #expect(documentsJSON("- a: b\n  c: d:e\n- http://x.y/z?q=1") == [json(#"[{"a": "b", "c": "d:e"}, "http://x.y/z?q=1"]"#)])
    }

    @Test func literalAndFoldedBlockScalars() {
        let text = """
            literal: |
              line 1
                indented
              line 3

            folded: >
              a
              b

              c
                more
              d
            strip: |-
              x

            keep: |+
              y


            explicit: |2
                four spaces
            after: end
            """
        #expect(documentsJSON(text) == [json(#"""
            {"literal": "line 1\n  indented\nline 3\n", "folded": "a b\nc\n  more\nd\n", "strip": "x",
             "keep": "y\n\n\n", "explicit": "  four spaces\n", "after": "end"}
            """#)])
        #expect(documentsJSON("- >-\n  guard &&\n  other\n- |\n") == [json(#"["guard && other", ""]"#)])
    }
}

@Suite struct StructureTests {
    @Test func streamsOfDocuments() {
        #expect(documentsJSON("") == [])
        #expect(documentsJSON("# only a comment\n") == [])
        #expect(documentsJSON("---\n---\na: 1\n...\n--- x\n...\n") == [.null, json(#"{"a": 1}"#), .string("x")])
        #expect(documentsJSON("%YAML 1.2\n---\na\n...\n%YAML 1.2\n--- b") == [.string("a"), .string("b")])
    }

    @Test func listAtTheKeyColumnAndCompactNesting() {
        let text = """
            steps:
            - id: a
              needs: [x, y]
            - - nested
              - {k: v, "q": 'w'}
            empty:
            last: ~
            """
        #expect(documentsJSON(text) == [json(#"""
            {"steps": [{"id": "a", "needs": ["x", "y"]}, ["nested", {"k": "v", "q": "w"}]], "empty": null, "last": null}
            """#)])
    }

    @Test func flowCollectionsNestAndSpanLines() {
        let text = """
            a: [1, [2, 3], {b: c, d: [e]},
              "f", g: h, ]
            b: {x, y: , "z":w}
            """
        #expect(documentsJSON(text) == [json(#"""
            {"a": [1, [2, 3], {"b": "c", "d": ["e"]}, "f", {"g": "h"}], "b": {"x": null, "y": null, "z": "w"}}
            """#)])
    }

    @Test func keysKeepSourceOrderAndEveryNodeHasItsRange() throws {
        let text = "zeta: 1\nalpha:\n  - \"q\"\n"
        let root = try #require(try YAMLParser.parse(text).first?.root)
        let entries = try #require(root.mapping)
        #expect(entries.map { $0.key.scalar?.text } == ["zeta", "alpha"])
        #expect(entries[0].key.range == SourceRange(
            start: Diagnostics.SourceLocation(line: 1, column: 1, offset: 0), end: Diagnostics.SourceLocation(line: 1, column: 5, offset: 4)))
        let quoted = try #require(entries[1].value.sequence?.first)
        #expect(quoted.range == SourceRange(
            start: Diagnostics.SourceLocation(line: 3, column: 5, offset: 19), end: Diagnostics.SourceLocation(line: 3, column: 8, offset: 22)))
        #expect(entries[1].value.range.start == Diagnostics.SourceLocation(line: 3, column: 3, offset: 17))
        #expect(root["alpha"]?.kindDescription == "a list")
    }

    @Test func columnsCountUnicodeScalars() throws {
        let text = "é: [ü, \"ö\"]\n"
        let root = try #require(try YAMLParser.parse(text).first?.root)
        let items = try #require(root["é"]?.sequence)
        #expect(items[1].range.start == Diagnostics.SourceLocation(line: 1, column: 8, offset: 9))
        let error = try #require(refusal("é: ü: x"))
        #expect(error.range.start == Diagnostics.SourceLocation(line: 1, column: 5, offset: 6))
    }
}

@Suite struct RefusalTests {
    /// `text` is refused with `rule`, at `line:column`, with a help text.
    func expectRefused(_ text: String, _ rule: String, _ line: Int, _ column: Int, containing words: String,
                       sourceLocation: Testing.SourceLocation = #_sourceLocation) {
        guard let error = refusal(text) else { return }
        #expect(error.rule == rule, "\(error)", sourceLocation: sourceLocation)
        #expect(error.range.start.line == line && error.range.start.column == column, "\(error)", sourceLocation: sourceLocation)
        #expect(error.message.contains(words), "\(error.message)", sourceLocation: sourceLocation)
        #expect(error.help?.isEmpty == false, sourceLocation: sourceLocation)
        let file = SourceFile(path: "", bytes: Array(text.utf8))
        #expect(file.location(ofOffset: error.range.start.offset) == error.range.start, sourceLocation: sourceLocation)
        #expect(file.location(ofOffset: error.range.end.offset) == error.range.end, sourceLocation: sourceLocation)
    }

    @Test func unsupportedFeatures() {
        expectRefused("a: &x 1\nb: *x", "yaml-unsupported", 1, 4, containing: "anchors")
        expectRefused("a: 1\nb: *x", "yaml-unsupported", 2, 4, containing: "aliases")
        expectRefused("a: !!str 1", "yaml-unsupported", 1, 4, containing: "tags")
        expectRefused("? a\n: b", "yaml-unsupported", 1, 1, containing: "explicit keys")
        expectRefused("[a, b]: c", "yaml-unsupported", 1, 1, containing: "cannot be a mapping key")
        expectRefused("- {[a]: b}", "yaml-unsupported", 1, 4, containing: "cannot be a mapping key")
        expectRefused(": x", "yaml-unsupported", 1, 1, containing: "key cannot be empty")
        expectRefused("%TAG ! tag:x,2000:\n--- a", "yaml-unsupported", 1, 1, containing: "%TAG")
        expectRefused("%YAML 1.1\n--- a", "yaml-unsupported", 1, 1, containing: "%YAML 1.1")
    }

    @Test func syntaxErrors() {
        expectRefused("a: 1\nb: 2\na: 3", "yaml-syntax", 3, 1, containing: "duplicate key `a`")
        expectRefused("{a: 1, a: 2}", "yaml-syntax", 1, 8, containing: "first at line 1, column 2")
        expectRefused("a:\n\tb: 1", "yaml-syntax", 2, 1, containing: "tab")
        expectRefused("a:\n  b: [1]\n   c: 2", "yaml-syntax", 3, 4, containing: "indented more")
        // A more-indented line continues a plain value, which then cannot be a key.
        expectRefused("a:\n  b: 1\n   c: 2", "yaml-syntax", 2, 6, containing: "single line")
        expectRefused("a: \"unterminated\nb: 1", "yaml-syntax", 1, 4, containing: "unterminated double-quoted")
        expectRefused("a: 'x", "yaml-syntax", 1, 4, containing: "unterminated single-quoted")
        expectRefused("a: [1, 2\nb: 3", "yaml-syntax", 1, 4, containing: "never closed")
        expectRefused("a: {b: 1", "yaml-syntax", 1, 4, containing: "never closed")
        expectRefused("a: b: c", "yaml-syntax", 1, 5, containing: "mapping cannot start here")
        expectRefused("a: \"\\q\"", "yaml-syntax", 1, 5, containing: "invalid escape `\\q`")
        expectRefused("a: \"\\u12\"", "yaml-syntax", 1, 5, containing: "4 hexadecimal digits")
        expectRefused("a: |0\n  x", "yaml-syntax", 1, 4, containing: "block scalar header")
        expectRefused("key\nother: 1", "yaml-syntax", 1, 1, containing: "single line")
        expectRefused("a: 1\nb", "yaml-syntax", 2, 1, containing: "expected `:`")
        expectRefused("- a\nb: 1", "yaml-syntax", 2, 1, containing: "list item")
        expectRefused("a:\n  - [b]\n   - c", "yaml-syntax", 3, 4, containing: "indented more")
        expectRefused("a: \"b\nc\"", "yaml-syntax", 2, 1, containing: "not indented enough")
        expectRefused("a: \"b\" c", "yaml-syntax", 1, 8, containing: "unexpected text")
        expectRefused("key: [a,\nb]", "yaml-syntax", 2, 1, containing: "not indented enough")
        expectRefused("- \"a\n---\nb\"", "yaml-syntax", 2, 1, containing: "document marker")
    }

    @Test func encodingAndLimits() {
        guard let invalid = try? YAMLParser.parse([0x61, 0x3A, 0x20, 0xC3, 0x28]) else {
            do {
                _ = try YAMLParser.parse([0x61, 0x3A, 0x20, 0xC3, 0x28])
            } catch {
                #expect(error.rule == "yaml-encoding")
                #expect(error.range.start == Diagnostics.SourceLocation(line: 1, column: 4, offset: 3))
            }
            return
        }
        Issue.record("invalid UTF-8 accepted: \(invalid)")
    }

    @Test func controlCharactersAndLoneCarriageReturns() {
        expectRefused("a: b\u{7}", "yaml-encoding", 1, 5, containing: "U+0007")
        expectRefused("a: 1\rb: 2", "yaml-encoding", 1, 5, containing: "carriage return")
        #expect(documentsJSON("a: 1\r\nb: |\r\n  x\r\n  y\r\n") == [json(#"{"a": 1, "b": "x\ny\n"}"#)])
    }
}

@Suite struct SourceLocationTests {
    /// The location of `contentOffset` in the scalar at `path` (keys of nested mappings).
    func location(_ text: String, _ key: String, _ contentOffset: Int) throws -> Diagnostics.SourceLocation {
        let bytes = Array(text.utf8)
        let root = try #require(try YAMLParser.parse(bytes).first?.root)
        let node = try #require(root[key])
        return YAMLParser.sourceLocation(ofContentOffset: contentOffset, in: node, source: bytes)
    }

    @Test func doubleQuotedWithEscapes() throws {
        // guard: "a \"b\" c"  -> content a "b" c
        let text = "x: 1\nguard: \"a \\\"b\\\" c\"\n"
        let root = try #require(try YAMLParser.parse(text).first?.root)
        #expect(root["guard"]?.scalar?.text == "a \"b\" c")
        // `a` is right after the opening quote (line 2, column 9).
        #expect(try location(text, "guard", 0) == Diagnostics.SourceLocation(line: 2, column: 9, offset: 13))
        // The `"` before b comes from the escape `\"` at column 11.
        #expect(try location(text, "guard", 2) == Diagnostics.SourceLocation(line: 2, column: 11, offset: 15))
        // `b` follows the two-character escape: column 13.
        #expect(try location(text, "guard", 3) == Diagnostics.SourceLocation(line: 2, column: 13, offset: 17))
        // ` c` after the second escape: `c` at column 17.
        #expect(try location(text, "guard", 6) == Diagnostics.SourceLocation(line: 2, column: 17, offset: 21))
        // The end of the content: just before the closing quote.
        #expect(try location(text, "guard", 7) == Diagnostics.SourceLocation(line: 2, column: 18, offset: 22))
    }

    @Test func multiLinePlain() throws {
        let text = "guard: steps.a ==\n  'x' &&\n    b\n"
        let root = try #require(try YAMLParser.parse(text).first?.root)
        #expect(root["guard"]?.scalar?.text == "steps.a == 'x' && b")
        #expect(try location(text, "guard", 0) == Diagnostics.SourceLocation(line: 1, column: 8, offset: 7))
        // The folded line break becomes the space at content offset 10.
        #expect(try location(text, "guard", 10) == Diagnostics.SourceLocation(line: 1, column: 18, offset: 17))
        // `'x'` starts line 2 at column 3.
        #expect(try location(text, "guard", 11) == Diagnostics.SourceLocation(line: 2, column: 3, offset: 20))
        // `b` on line 3, column 5.
        #expect(try location(text, "guard", 18) == Diagnostics.SourceLocation(line: 3, column: 5, offset: 31))
    }

    @Test func foldedBlockScalar() throws {
        let text = """
            steps:
              - id: s
                guard: >-
                  steps.build.status == "done" &&
                  cycle < 3
            """
        let bytes = Array(text.utf8)
        let root = try #require(try YAMLParser.parse(bytes).first?.root)
        let step = try #require(root["steps"]?.sequence?.first)
        let guardNode = try #require(step["guard"])
        #expect(guardNode.scalar?.text == "steps.build.status == \"done\" && cycle < 3")
        func at(_ offset: Int) -> Diagnostics.SourceLocation { YAMLParser.sourceLocation(ofContentOffset: offset, in: guardNode, source: bytes) }
        #expect(at(0) == Diagnostics.SourceLocation(line: 4, column: 7, offset: 37))
        // `done` inside the first line.
        #expect(at(23) == Diagnostics.SourceLocation(line: 4, column: 30, offset: 60))
        // The line break folded into a space (content offset 31) maps to the break.
        #expect(at(31) == Diagnostics.SourceLocation(line: 4, column: 38, offset: 68))
        // `cycle` starts the second line.
        #expect(at(32) == Diagnostics.SourceLocation(line: 5, column: 7, offset: 75))
        // `3` at the end, and just after it.
        #expect(at(40) == Diagnostics.SourceLocation(line: 5, column: 15, offset: 83))
        #expect(at(41) == Diagnostics.SourceLocation(line: 5, column: 16, offset: 84))
        // Several offsets with one re-parse give the same answers.
        #expect(YAMLParser.sourceLocations(ofContentOffsets: [0, 32, 41], in: guardNode, source: bytes) == [at(0), at(32), at(41)])
        // A literal block scalar maps lines the same way.
        let literal = Array("a: |\n  one\n  two\n".utf8)
        let node = try #require(try YAMLParser.parse(literal).first?.root?["a"])
        #expect(YAMLParser.sourceLocation(ofContentOffset: 4, in: node, source: literal) == Diagnostics.SourceLocation(line: 3, column: 3, offset: 13))
    }

    @Test func nonScalarsAndForeignNodesFallBackToTheNodeStart() throws {
        let bytes = Array("a: [1, 2]".utf8)
        let root = try #require(try YAMLParser.parse(bytes).first?.root)
        let list = try #require(root["a"])
        #expect(YAMLParser.sourceLocation(ofContentOffset: 0, in: list, source: bytes) == list.range.start)
        let other = Array("b: 1".utf8)
        #expect(YAMLParser.sourceLocation(ofContentOffset: 0, in: list, source: other) == list.range.start)
    }
}
