import Diagnostics
import Manifest
import YAML

/// Maps byte offsets inside an expression (a YAML scalar's content) to file positions, through
/// the YAML layer (quoted, escaped, folded and block scalars included).
enum ScalarPositions {
    static func range(of source: ExpressionSource, start: Int, end: Int, in file: SourceFile) -> SourceRange {
        let from = YAMLParser.sourceLocation(ofContentOffset: start, in: source.node, source: file.bytes)
        let to = end > start ? YAMLParser.sourceLocation(ofContentOffset: end, in: source.node, source: file.bytes) : from
        return SourceRange(start: from, end: to)
    }
}
