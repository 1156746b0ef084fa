@testable import Compiler
import Diagnostics
import Testing
import YAML

/// The fast content-to-source mapping lint uses for placeholders agrees with the YAML layer's
/// general one (`YAMLParser.sourceLocation`) at every offset of every scalar it accepts.
@Suite struct LintScalarOffsetsTests {
    static let document = """
        plain: run {a} now
        single: 'run {b} now'
        double: "run {c} now"
        escaped: "run \\"{d}\\" now"
        multi: run {e}
          and {f}
        literal: |
          first {g}
            indented {h}

          after a blank {i}
        folded: >-
          one {j}
          two {k}

          para {l}
            kept {m}
          back {n}
        keep: |+
          x {o}

        strip: >-
          ünïcödé {p}
          {q}
        list:
          - >
            item {r}
            more {s}
        """

    @Test func agreesWithTheYAMLLayer() throws {
        let bytes = Array(Self.document.utf8)
        let documents = try YAMLParser.parse(bytes)
        let root = try #require(documents.first?.root)
        var scalars: [Node] = []
        func walk(_ node: Node) {
            switch node.content {
            case .scalar: scalars.append(node)
            case .sequence(let items): items.forEach(walk)
            case .mapping(let entries): entries.forEach { walk($0.value) }
            }
        }
        walk(root)
        var fast = 0
        for node in scalars {
            guard let offsets = ScalarOffsets.sourceOffsets(of: node, in: bytes), let text = node.scalar?.text else { continue }
            fast += 1
            // Every byte up to the trailing line breaks (which chomping decides) is mapped.
            var mapped = Array(text.utf8)
            while mapped.last == 0x0A { mapped.removeLast() }
            #expect(offsets.count == mapped.count + 1, "\(text)")
            for (offset, byte) in text.utf8.enumerated() where byte == UInt8(ascii: "{") || byte == UInt8(ascii: "}") {
                let mine = ScalarOffsets.location(ofOffset: offsets[offset], from: node.range.start, in: bytes)
                let theirs = YAMLParser.sourceLocation(ofContentOffset: offset, in: node, source: bytes)
                #expect(mine == theirs, "\(text) at \(offset)")
            }
        }
        // Everything but the escaped and the multi-line plain scalar takes the fast path.
        #expect(fast == scalars.count - 2)
    }
}
