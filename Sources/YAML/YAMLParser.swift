import Diagnostics

/// Bounds that keep hostile input from exhausting the stack or the memory.
public struct YAMLLimits: Sendable, Hashable {
    /// The largest input accepted, in bytes.
    public var maxInputBytes: Int
    /// The deepest nesting of collections (block or flow) accepted.
    public var maxDepth: Int
    /// The most nodes (scalars, keys and collections) one input may hold; a node costs about 24
    /// bytes in its `NodeTree`, up to about 55 at the peak of parsing one huge collection.
    public var maxNodes: Int

    public init(maxInputBytes: Int = 32 << 20, maxDepth: Int = 128, maxNodes: Int = 2_000_000) {
        self.maxInputBytes = maxInputBytes
        self.maxDepth = maxDepth
        self.maxNodes = maxNodes
    }

    /// 32 MiB, 128 levels, 2 million nodes (see grammar/yaml-subset.md, "Limits").
    public static let standard = YAMLLimits()
}

/// Entry point of the YAML layer: the subset of YAML 1.2 described in grammar/yaml-subset.md.
public enum YAMLParser {
    /// Parses a stream of documents from UTF-8 bytes.
    public static func parse(_ bytes: [UInt8]) throws(YAMLError) -> [Document] {
        try parse(bytes, limits: .standard)
    }

    /// Parses a stream of documents from a string.
    public static func parse(_ text: String) throws(YAMLError) -> [Document] {
        try parse(Array(text.utf8), limits: .standard)
    }

    /// Parses a file: its line index is the tree's (no second table of line starts is kept).
    public static func parse(_ file: SourceFile, limits: YAMLLimits = .standard) throws(YAMLError) -> [Document] {
        try parse(file.bytes, limits: limits, lineStarts: file.lines.starts)
    }

    /// Parses a stream of documents from UTF-8 bytes with explicit limits; `lineStarts`, when
    /// given, is the offset of every line's first byte (`LineIndex.starts` of `bytes`).
    public static func parse(_ bytes: [UInt8], limits: YAMLLimits, lineStarts: [Int32]? = nil) throws(YAMLError) -> [Document] {
        guard bytes.count <= limits.maxInputBytes else {
            throw YAMLError.inputTooLarge(bytes.count, limit: limits.maxInputBytes)
        }
        return try bytes.withUnsafeBufferPointer { (input: UnsafeBufferPointer<UInt8>) throws(YAMLError) -> [Document] in
            let isASCII = try EncodingCheck.validate(input)
            var parser = StreamParser(input: input, source: bytes, lineStarts: lineStarts, limits: limits, isASCII: isASCII)
            do throws(ParseFailure) {
                return try parser.parseStream()
            } catch {
                throw error.error(in: input)
            }
        }
    }

    /// Where, in the file, the character at `contentOffset` of a scalar's content comes from.
    ///
    /// `contentOffset` counts UTF-8 bytes of `node.scalar.text` (the content after escapes, line
    /// folding and chomping); `source` is the file `node` was parsed from. Escapes map to their
    /// backslash, folded line breaks to the line break they replace, and an offset at the end of the
    /// content to just after the scalar's last character. Returns the node's start when `node` is
    /// not a scalar of `source`. Builds a `ScalarSourceMap` for the one node: for many positions,
    /// build one map for all their scalars instead.
    public static func sourceLocation(ofContentOffset contentOffset: Int, in node: Node, source: [UInt8]) -> SourceLocation {
        ScalarSourceMap.build(for: [node], source: source).location(ofContentOffset: contentOffset, in: node)
    }

    /// `sourceLocation(ofContentOffset:in:source:)` for several offsets of one scalar (for example
    /// both ends of a range).
    public static func sourceLocations(ofContentOffsets contentOffsets: [Int], in node: Node, source: [UInt8]) -> [SourceLocation] {
        ScalarSourceMap.build(for: [node], source: source).locations(ofContentOffsets: contentOffsets, in: node)
    }
}
