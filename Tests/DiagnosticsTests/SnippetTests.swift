import Diagnostics
import Testing

@Suite struct SnippetTests {
    private func at(_ line: Int, _ column: Int, _ offset: Int) -> Diagnostics.SourceLocation {
        Diagnostics.SourceLocation(line: line, column: column, offset: offset)
    }

    @Test func controlCharactersAndInvalidBytesAreEscaped() throws {
        let source = SourceFile(path: "x.yaml", bytes: Array("a: b".utf8) + [0x00, 0x1B, 0xFF, 0xC3] + Array("z\n".utf8))
        let snippet = try #require(Snippet(source: source, range: SourceRange(start: at(1, 5, 4), end: at(1, 6, 5))))
        #expect(snippet.text == "a: b\\x00\\x1B\\xFF\\xC3z")
        #expect(snippet.caretColumn == 5)
        #expect(snippet.caretWidth == 4)
    }

    @Test func invisibleFormatCharactersAreEscaped() throws {
        let source = SourceFile(path: "x.yaml", text: "name: \u{202E}abc\u{2028}\n")
        let snippet = try #require(Snippet(source: source, range: SourceRange(at: at(1, 1, 0))))
        #expect(snippet.text == "name: \\u202Eabc\\u2028")
    }

    @Test func aLongLineShowsAWindowWithTheCaretOnItsColumn() throws {
        let line = String(repeating: "a", count: 100_000) + "X" + String(repeating: "b", count: 100_000)
        let source = SourceFile(path: "x.yaml", text: line + "\n")
        let snippet = try #require(Snippet(source: source, range: SourceRange(start: at(1, 100_001, 100_000), end: at(1, 100_002, 100_001))))
        #expect(snippet.text.unicodeScalars.count <= Snippet.width + 2)
        #expect(snippet.text.hasPrefix("…") && snippet.text.hasSuffix("…"))
        let scalars = Array(snippet.text.unicodeScalars)
        #expect(scalars[snippet.caretColumn - 1] == "X")
        #expect(snippet.caretWidth == 1)
    }

    @Test func aColumnWithoutAnOffsetIsFoundByCounting() throws {
        let source = SourceFile(path: "x.yaml", text: "one\nkey: välue\n")
        let snippet = try #require(Snippet(source: source, range: SourceRange(start: at(2, 6, 0), end: at(2, 11, 0))))
        #expect(snippet.text == "key: välue")
        #expect(snippet.caretColumn == 6)
        #expect(snippet.caretWidth == 5)
    }

    @Test func secretStoreDataIsHiddenEvenWhenItDoesNotParse() throws {
        let text = """
            kind: SecretStore
            spec:
              data:
                API_KEY: "sk-live-1" trailing
                "QUOTED": 'x-secret-2'
                |broken line
            other: visible
            ---
            kind: Agent
            data:
              KEY: shown-value

            """
        let scan = SecretScan(Array(text.utf8))
        let source = SourceFile(path: "s.yaml", text: text)
        func shown(_ line: Int) -> String? {
            Snippet(source: source, range: SourceRange(at: at(line, 1, 0)), hidden: scan.spans, secrets: SecretValues(scan.values))?.text
        }
        #expect(shown(4) == "    API_KEY: ***")
        #expect(shown(5) == "    \"QUOTED\": ***")
        #expect(shown(6) == "    ***")
        #expect(shown(7) == "other: visible")
        #expect(shown(11) == "  KEY: shown-value")
        #expect(scan.values.contains("sk-live-1"))
        #expect(scan.values.contains("x-secret-2"))
        #expect(!scan.values.contains("shown-value"))
    }

    @Test func secretValuesAreMaskedInEveryFormatsMessages() {
        let text = "kind: SecretStore\nspec:\n  data:\n    K: hunter2hunter2\n"
        let source = SourceFile(path: "s.yaml", text: text)
        let finding = Diagnostic.error("x", "bad value `hunter2hunter2`\u{0}", file: "s.yaml", range: SourceRange(at: at(4, 8, 0)), help: "hunter2hunter2?")
        for format in DiagnosticFormat.allCases {
            let out = DiagnosticRenderer(sources: [source]).render([finding], format: format, files: 1)
            #expect(!out.contains("hunter2"), "\(format): \(out)")
            #expect(out.contains("***"), "\(format): \(out)")
            #expect(!out.utf8.contains(0), "\(format)")
        }
    }

    @Test func longMessagesAreShortened() {
        let finding = Diagnostic.error("x", "unknown key `" + String(repeating: "k", count: 1_000_000) + "`")
        let out = DiagnosticRenderer().render([finding], format: .text, files: 1)
        #expect(out.utf8.count < 1_000)
        #expect(out.contains(" … "))
    }

    @Test func lineIndexAgreesWithCounting() {
        let text = "ab\ncé\r\n\nxyz"
        let bytes = Array(text.utf8)
        let index = LineIndex(bytes)
        bytes.withUnsafeBufferPointer { buffer in
            for offset in 0...bytes.count {
                #expect(index.location(ofOffset: offset, in: buffer) == LineIndex.locate(offset, in: buffer))
            }
            #expect(index.byteRange(ofLine: 2, in: buffer) == 3..<6)
            #expect(index.location(ofOffset: 6, in: buffer) == Diagnostics.SourceLocation(line: 2, column: 3, offset: 6))
        }
    }
}

@Suite struct DiagnosticLimitTests {
    @Test func keepsTheFirstErrorsAndWhatCameBeforeTheLast() {
        let findings: [Diagnostic] = [
            .warning("w", "1"), .error("e", "2"), .note("n", "3"), .error("e", "4"), .warning("w", "5"), .error("e", "6"),
        ]
        let (kept, skipped) = DiagnosticLimit(maxErrors: 2).apply(findings)
        #expect(kept.map(\.message) == ["1", "2", "3", "4"])
        #expect(skipped == 2)
        #expect(DiagnosticLimit(option: 0).apply(findings).skipped == 0)
        #expect(DiagnosticLimit(option: nil).maxErrors == 1_000)
        let summary = DiagnosticSummary(diagnostics: kept, files: 1, skipped: skipped)
        #expect(summary.line == "2 errors, 1 warning in 1 file; 2 more findings skipped after the first 2 errors (--max-errors; 0 shows all)")
    }
}
