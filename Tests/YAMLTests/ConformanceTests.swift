import Diagnostics
import JSON
import Testing
import YAML

/// The public YAML test suite (../shared/yaml-test-suite) against the parser. See
/// docs/yaml-conformance.md for the criterion that puts a case outside the subset.
@Suite struct ConformanceTests {
    /// One case of the suite.
    struct SuiteCase {
        var id: String
        var name: String
        var tags: Set<String>
        var input: [UInt8]
        var json: [UInt8]?
        var isError: Bool
        var expected: ExpectedStream

        /// Why the case is outside the accepted subset (empty when inside), decided mechanically:
        /// features seen in its events (anchor, alias, tag, complex key, empty key, duplicate key),
        /// the `explicit-key` tag of tags.tsv (a `?` leaves no trace in events), and directives other
        /// than `%YAML 1.2` in the directive part of the stream.
        var outsideReasons: [String] {
            var reasons = expected.refusedFeatures
            if tags.contains("explicit-key") { reasons.insert("explicit key") }
            if usesOtherDirective { reasons.insert("directive") }
            return reasons.sorted()
        }

        /// A `%` line other than `%YAML 1.2` where directives go: at the start of the stream or
        /// after a `...` line, before the next `---` or document content.
        var usesOtherDirective: Bool {
            var inPrefix = true
            for rawLine in String(decoding: input, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false) {
                let line = rawLine.hasSuffix("\r") ? rawLine.dropLast() : rawLine
                if line.hasPrefix("...") {
                    inPrefix = true
                } else if line.hasPrefix("---") {
                    inPrefix = false
                } else if inPrefix, line.hasPrefix("%") {
                    let directive = line.split(separator: "#", maxSplits: 1).first.map { $0.split(separator: " ").joined(separator: " ") }
                    if directive != "%YAML 1.2" { return true }
                } else if inPrefix, !line.isEmpty, !line.hasPrefix("#"), !line.allSatisfy({ $0 == " " || $0 == "\t" }) {
                    inPrefix = false
                }
            }
            return false
        }
    }

    static func loadCases(_ root: String) -> [SuiteCase] {
        var tagsByCase: [String: Set<String>] = [:]
        if let tsv = TestFiles.readText(root + "/tags.tsv") {
            for line in tsv.split(separator: "\n").dropFirst() {
                let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
                guard let id = fields.first else { continue }
                tagsByCase[String(id)] = Set((fields.count > 1 ? fields[1] : "").split(separator: " ").map(String.init))
            }
        }
        var cases: [SuiteCase] = []
        for id in TestFiles.list(root + "/cases") {
            let directory = root + "/cases/" + id
            guard let input = TestFiles.read(directory + "/in.yaml"), let events = TestFiles.readText(directory + "/test.event") else {
                continue
            }
            cases.append(
                SuiteCase(
                    id: id, name: TestFiles.readText(directory + "/name")?.split(separator: "\n").first.map(String.init) ?? "",
                    tags: tagsByCase[id] ?? [], input: input, json: TestFiles.read(directory + "/in.json"),
                    isError: TestFiles.exists(directory + "/error"), expected: ExpectedStream(events: events)))
        }
        return cases
    }

    /// The error's range lies in the input and its line and column agree with its byte offset.
    static func isWellPositioned(_ error: YAMLError, in input: [UInt8]) -> Bool {
        let file = SourceFile(path: "", bytes: input)
        let range = error.range
        guard range.start.offset >= 0, range.start.offset <= range.end.offset, range.end.offset <= input.count else { return false }
        return file.location(ofOffset: range.start.offset) == range.start && file.location(ofOffset: range.end.offset) == range.end
            && error.help?.isEmpty == false
    }

    enum Outcome {
        case accepted([Document])
        case refused(YAMLError)
    }

    @Test func yamlTestSuite() throws {
        guard let shared = TestFiles.sharedDirectory, TestFiles.isDirectory(shared + "/yaml-test-suite/cases") else {
            print("note: ../shared/yaml-test-suite is absent; skipping the YAML test suite")
            return
        }
        let cases = Self.loadCases(shared + "/yaml-test-suite")
        #expect(cases.count >= 400)

        var errorCasesRefused = 0
        var errorCasesAccepted: [String] = []
        var outsideRefusedAsUnsupported = 0
        var outsideWrong: [String] = []
        var insideTotal = 0
        var insideCorrect = 0
        var insideWrong: [String] = []
        var insideRefused: [String] = []
        var badPositions: [String] = []
        var outsideList: [String] = []

        for suiteCase in cases {
            let outcome: Outcome
            do {
                outcome = .accepted(try YAMLParser.parse(suiteCase.input))
            } catch {
                outcome = .refused(error)
                if !Self.isWellPositioned(error, in: suiteCase.input) {
                    badPositions.append("\(suiteCase.id): \(error) \(error.range)")
                }
            }
            if suiteCase.isError {
                switch outcome {
                case .accepted: errorCasesAccepted.append("\(suiteCase.id) \(suiteCase.name)")
                case .refused: errorCasesRefused += 1
                }
                continue
            }
            let reasons = suiteCase.outsideReasons
            if !reasons.isEmpty {
                outsideList.append("| \(suiteCase.id) | \(suiteCase.name) | \(reasons.joined(separator: ", ")) |")
                // Duplicate keys are invalid YAML (yaml-syntax); the other features are valid YAML
                // outside the subset (yaml-unsupported).
                let expectedRule = reasons == ["duplicate key"] ? "yaml-syntax" : "yaml-unsupported"
                switch outcome {
                case .refused(let error) where error.rule == expectedRule || (reasons.count > 1 && error.rule == "yaml-unsupported"):
                    outsideRefusedAsUnsupported += 1
                case .refused(let error):
                    outsideWrong.append("\(suiteCase.id) \(suiteCase.name) [\(reasons.joined(separator: ", "))]: refused as \(error)")
                case .accepted:
                    outsideWrong.append("\(suiteCase.id) \(suiteCase.name) [\(reasons.joined(separator: ", "))]: accepted")
                }
                continue
            }
            insideTotal += 1
            switch outcome {
            case .refused(let error):
                insideRefused.append("\(suiteCase.id) \(suiteCase.name): \(error)")
            case .accepted(let documents):
                var correct = documents.count == suiteCase.expected.documents.count
                    && zip(documents, suiteCase.expected.documents).allSatisfy { ExpectedStream.matches($0.root, $1) }
                if let json = suiteCase.json {
                    let expectedValues = try JSONParser.parseSequence(json)
                    let values = documents.map { $0.root?.json ?? .null }
                    correct = correct && values.count == expectedValues.count
                        && zip(values, expectedValues).allSatisfy { $0.semanticallyEquals($1) }
                }
                if correct {
                    insideCorrect += 1
                } else {
                    insideWrong.append("\(suiteCase.id) \(suiteCase.name)")
                }
            }
        }

        let errorTotal = cases.filter(\.isError).count
        print("""
            YAML test suite: \(cases.count) cases
              error cases: \(errorTotal), refused \(errorCasesRefused)
              outside the subset: \(outsideList.count), refused with the expected rule \(outsideRefusedAsUnsupported)
              inside the subset: \(insideTotal), accepted and correct \(insideCorrect), accepted with a wrong result \(insideWrong.count), refused \(insideRefused.count)
            """)
        if ProcessInfoLite.environment("YAML_CONFORMANCE_REPORT") != nil {
            print("outside the subset:\n" + outsideList.joined(separator: "\n"))
        }
        for line in insideRefused { print("  refused inside the subset: \(line)") }
        for line in insideWrong { print("  WRONG: \(line)") }
        for line in errorCasesAccepted { print("  error case accepted: \(line)") }
        for line in outsideWrong { print("  outside case not refused as expected: \(line)") }
        for line in badPositions { print("  badly positioned error: \(line)") }

        #expect(errorCasesAccepted.isEmpty, "every error case is refused")
        #expect(errorCasesRefused == errorTotal)
        #expect(insideWrong.isEmpty, "no case is accepted with a wrong result")
        #expect(outsideWrong.isEmpty, "every case outside the subset is refused as unsupported")
        #expect(badPositions.isEmpty, "every error has a range inside the input, consistent line/column and a help text")
        #expect(insideTotal > 0)
        #expect(Double(insideCorrect) >= 0.95 * Double(insideTotal), "at least 95% of the cases inside the subset are accepted and correct")
    }
}
