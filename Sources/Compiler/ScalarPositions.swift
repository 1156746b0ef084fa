import Diagnostics
import YAML

/// Maps byte offsets inside a YAML scalar's content (an expression, a placeholder) to file
/// positions through the YAML layer's `ScalarSourceMap` (quoted, escaped, folded and block scalars
/// included): one map per file, grown as scalars are asked about, so many positions in one large
/// file cost neither a re-parse nor a rescan of the file each.
struct ScalarPositions {
    /// File path -> the map of the scalars asked about so far.
    private var maps: [String: ScalarSourceMap] = [:]

    /// The file range of bytes `start..<end` of the content of `node` (a scalar of `file`).
    mutating func range(in node: Node, start: Int, end: Int, of file: SourceFile) -> SourceRange {
        let key = file.path
        if maps[key]?.contains(node) != true {
            maps[key, default: ScalarSourceMap(source: file.bytes)].add([node])
        }
        guard let map = maps[key] else { return SourceRange(at: node.range.start) }
        return map.range(ofContentRange: start..<max(start, end), in: node)
    }
}
