import Diagnostics
import JSON
import Testing
import YAML

/// A large stream parsed in runs of documents (issue 20, `YAMLParser.documentChunks`): the same
/// documents, values and positions as one parse of the whole stream; streams whose documents
/// depend on each other are never cut.
@Suite struct ChunkedParseTests {
    /// Documents of many shapes: block and flow collections, block scalars, multi-line quoted
    /// scalars, comments, non-ASCII text (columns count characters), empty documents.
    static func stream(documents: Int) -> String {
        var out = "# a stream\n"
        for index in 0..<documents {
            out += index == 0 ? "apiVersion: v\(index)\n" : "---\napiVersion: v\(index)\n"
            switch index % 5 {
            case 0:
                out += "kind: Agent\nmetadata: {name: a\(index), labels: {team: core}}\nspec:\n  capabilities: [c\(index), review]\n  command: \"run \\\"\(index)\\\"\"\n"
            case 1:
                out += "kind: StepTemplate\nspec:\n  prompt: |\n    line one of \(index)\n\n    line three — é\n  note: >-\n    folded \(index)\n    text\n# a comment\n"
            case 2:
                out += "kind: Workflow\nspec:\n  steps:\n    - id: s\(index)\n      when: 'cycle > 1'\n    - {id: t\(index), count: \(index)}\n  text: \"two\n    lines \(index)\"\n"
            case 3:
                out += "kind: Note\nspec: ~\nlist:\n- ü\(index)\n- [x, {y: z}]\n"
            default:
                out += "kind: Empty\n---\n# nothing but a comment\n"
            }
        }
        return out
    }

    /// Every node's range and kind, depth first, with the JSON of scalars.
    func shape(_ node: Node?) -> [String] {
        guard let node else { return ["nil"] }
        var out = ["\(node.range)"]
        switch node.content {
        case .scalar(let scalar): out.append("scalar \(scalar.style) \(scalar.text)")
        case .mapping(let entries):
            for entry in entries { out += shape(entry.key) + shape(entry.value) }
        case .sequence(let items):
            for item in items { out += shape(item) }
        }
        return out
    }

    @Test func runsParseToTheSameDocumentsAndPositions() throws {
        let file = SourceFile(path: "stream.yaml", text: Self.stream(documents: 600))
        let chunks = YAMLParser.documentChunks(of: file, count: 8, minimumBytes: 4096)
        #expect(chunks.count == 8)
        #expect(chunks.first?.lowerBound == 0 && chunks.last?.upperBound == file.bytes.count)
        for (earlier, later) in zip(chunks, chunks.dropFirst()) { #expect(earlier.upperBound == later.lowerBound) }
        let whole = try YAMLParser.parse(file)
        var pieces: [Document] = []
        var nodes = 0
        for chunk in chunks {
            let parsed = try YAMLParser.parse(file, chunk: chunk)
            pieces += parsed.documents
            nodes += parsed.nodes
        }
        #expect(pieces.count == whole.count)
        #expect(nodes >= whole.reduce(0) { $0 + ($1.root == nil ? 0 : 1) })
        for (one, other) in zip(whole, pieces) {
            #expect(one.range == other.range)
            #expect(shape(one.root) == shape(other.root))
        }
    }

    @Test func streamsWithDirectivesEndMarkersOrCarriageReturnsAreNotCut() {
        let body = Self.stream(documents: 600)
        for text in ["%YAML 1.2\n---\n" + body, body + "...\n", body.split(separator: "\n", omittingEmptySubsequences: false).joined(separator: "\r\n")] {
            let file = SourceFile(path: "stream.yaml", text: text)
            #expect(YAMLParser.documentChunks(of: file, count: 8, minimumBytes: 4096) == [0..<file.bytes.count])
        }
        let small = SourceFile(path: "small.yaml", text: Self.stream(documents: 3))
        #expect(YAMLParser.documentChunks(of: small, count: 8, minimumBytes: 4096).count == 1)
    }

    @Test func anErrorInALaterRunIsAnErrorOfThatRun() throws {
        let file = SourceFile(path: "stream.yaml", text: Self.stream(documents: 600) + "---\nkey: [unclosed\n")
        let chunks = YAMLParser.documentChunks(of: file, count: 8, minimumBytes: 4096)
        #expect(chunks.count > 1)
        for chunk in chunks.dropLast() { _ = try YAMLParser.parse(file, chunk: chunk) }
        #expect(throws: YAMLError.self) { try YAMLParser.parse(file, chunk: chunks[chunks.count - 1]) }
        #expect(throws: YAMLError.self) { try YAMLParser.parse(file) }
    }
}
