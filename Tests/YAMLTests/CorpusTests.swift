import JSON
import Testing
import YAML

/// The real manifests of ../shared/corpus/anchor: each FILE.yaml parses to exactly FILE.yaml.json
/// (the list of its documents).
@Suite struct CorpusTests {
    @Test func anchorCorpusParsesToItsJSON() throws {
        guard let shared = TestFiles.sharedDirectory, TestFiles.isDirectory(shared + "/corpus/anchor") else {
            print("note: ../shared/corpus/anchor is absent; skipping the corpus test")
            return
        }
        let files = TestFiles.files(under: shared + "/corpus/anchor", suffix: ".yaml")
        #expect(files.count >= 60)
        var checked = 0
        for path in files {
            guard let bytes = TestFiles.read(path), let jsonBytes = TestFiles.read(path + ".json") else {
                Issue.record("\(path): missing file or its .json")
                continue
            }
            let expected = try JSONParser.parse(jsonBytes)
            do {
                let documents = try YAMLParser.parse(bytes)
                let actual = JSONValue.array(documents.map { $0.root?.json ?? .null })
                #expect(actual.semanticallyEquals(expected), "\(path) parses to its JSON")
                // Key order is kept too.
                #expect(orderedEquals(actual, expected), "\(path) keeps key order")
                checked += 1
            } catch {
                Issue.record("\(path): \(error)")
            }
        }
        #expect(checked == files.count)
        print("corpus: \(checked) of \(files.count) manifests parse to their JSON")
    }

    /// Equality with object key order significant and numbers compared by value.
    func orderedEquals(_ a: JSONValue, _ b: JSONValue) -> Bool {
        switch (a, b) {
        case let (.array(x), .array(y)):
            return x.count == y.count && zip(x, y).allSatisfy { orderedEquals($0, $1) }
        case let (.object(x), .object(y)):
            return x.count == y.count && zip(x, y).allSatisfy { $0.key == $1.key && orderedEquals($0.value, $1.value) }
        default:
            return a.semanticallyEquals(b)
        }
    }
}
