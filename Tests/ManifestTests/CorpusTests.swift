import Diagnostics
import Foundation
import Manifest
import Testing

/// The real manifests of the replaced system (`../shared/corpus/anchor` next to the package):
/// every file decodes, with errors exactly where docs/compatibility.md lists them.
@Suite struct CorpusTests {
    static let corpus: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("../shared/corpus/anchor").standardizedFileURL

    static var available: Bool { FileManager.default.fileExists(atPath: corpus.path) }

    /// docs/compatibility.md, as data: corpus file -> its errors (rule, line).
    static let expectedErrors: [String: [Pair]] = [
        "docs/workflow/scheduled-scan.yaml": [.init("unknown-key", 121), .init("unknown-key", 123)],
        "fixtures/manifests/bundles/prehook-test.yaml": [.init("unknown-key", 16), .init("unknown-key", 26)],
    ]

    struct Pair: Hashable, Comparable, CustomStringConvertible {
        var rule: String
        var line: Int
        init(_ rule: String, _ line: Int) {
            self.rule = rule
            self.line = line
        }
        static func < (a: Pair, b: Pair) -> Bool { (a.line, a.rule) < (b.line, b.rule) }
        var description: String { "\(rule)@\(line)" }
    }

    static func yamlFiles() -> [String] {
        guard let walker = FileManager.default.enumerator(atPath: corpus.path) else { return [] }
        var paths: [String] = []
        while let path = walker.nextObject() as? String {
            if path.hasSuffix(".yaml") || path.hasSuffix(".yml") { paths.append(path) }
        }
        return paths.sorted()
    }

    @Test(.enabled(if: CorpusTests.available, "corpus not found next to the package (../shared/corpus/anchor): skipped"))
    func everyCorpusFileDecodesAsDocumented() throws {
        let files = Self.yamlFiles()
        #expect(files.count >= 60, "found \(files.count) corpus files")
        var seen: Set<String> = []
        for path in files {
            let bytes = try [UInt8](Data(contentsOf: Self.corpus.appendingPathComponent(path)))
            let loaded = ManifestLoader.load([SourceFile(path: path, bytes: bytes)], projectOverride: nil)
            let errors = loaded.diagnostics.filter { $0.severity == .error }
                .map { Pair($0.rule, $0.range?.start.line ?? 0) }.sorted()
            let expected = Self.expectedErrors[path] ?? []
            #expect(errors == expected.sorted(), "\(path): \(loaded.diagnostics.filter { $0.severity == .error })")
            for warning in loaded.diagnostics where warning.severity == .warning {
                #expect(["unknown-key", "not-executed"].contains(warning.rule), "\(path): \(warning)")
            }
            for diagnostic in loaded.diagnostics {
                #expect(diagnostic.range != nil && diagnostic.help != nil, "\(path): \(diagnostic) has a position and help")
            }
            // A valid file yields resources.
            if expected.isEmpty {
                #expect(!loaded.resources.isEmpty, "\(path) yields resources")
            }
            seen.insert(path)
        }
        for path in Self.expectedErrors.keys { #expect(seen.contains(path), "\(path) is in the corpus") }
    }

    @Test(.enabled(if: CorpusTests.available, "corpus not found next to the package (../shared/corpus/anchor): skipped"))
    func deliberateFixturesGetTheDocumentedHelp() throws {
        // The replaced system warns about unknown step keys (its test-yaml-warnings fixtures): so do
        // we, with its did-you-mean; `--strict` makes them errors.
        func help(_ path: String, strict: Bool = false) throws -> [String] {
            let bytes = try [UInt8](Data(contentsOf: Self.corpus.appendingPathComponent(path)))
            return ManifestLoader.load([SourceFile(path: path, bytes: bytes)], projectOverride: nil, strict: strict)
                .diagnostics.filter { $0.rule == "unknown-key" && $0.severity == (strict ? .error : .warning) }.compactMap(\.help)
        }
        #expect(try help("test-yaml-warnings/s1-capture-at-step-level.yaml") == ["did you mean `behavior.captures`?"])
        #expect(try help("test-yaml-warnings/s1-capture-at-step-level.yaml", strict: true) == ["did you mean `behavior.captures`?"])
        #expect(try help("test-yaml-warnings/s2-unknown-field-no-suggestion.yaml").first?.hasPrefix("remove it;") == true)
    }
}
