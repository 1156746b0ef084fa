import Diagnostics
import Manifest
import YAML

/// Maps byte offsets inside an expression (a YAML scalar's content) to file positions.
enum ScalarPositions {
    static func range(of source: ExpressionSource, start: Int, end: Int, in file: SourceFile) -> SourceRange {
        let from = location(of: source, offset: start, in: file)
        let to = end > start ? location(of: source, offset: end, in: file) : from
        return SourceRange(start: from, end: to)
    }

    static func location(of source: ExpressionSource, offset: Int, in file: SourceFile) -> SourceLocation {
        // Placeholder until YAMLParser.sourceLocation(ofContentOffset:in:source:) lands: exact for
        // plain scalars on one line, the scalar's start otherwise.
        let node = source.node
        if node.scalar?.style == .plain, node.range.start.line == node.range.end.line {
            return file.location(ofOffset: node.range.start.offset + offset)
        }
        return node.range.start
    }
}
