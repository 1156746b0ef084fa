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

    /// The file cut at document markers into at most `count` runs of whole documents, each of
    /// at least `minimumBytes` (but the last), to be parsed on several threads
    /// (`parse(_:chunk:limits:)`); in file order, together the whole file. One run, the whole
    /// file, when it is small or has what ties a document to the one before it or makes a line
    /// break other than LF: a directive or `...` line, a carriage return.
    ///
    /// A line that starts with `---` and a blank or line break always starts a document (YAML
    /// forbids it inside any node), so each run parses as it does within the stream.
    public static func documentChunks(of file: SourceFile, count: Int, minimumBytes: Int) -> [Range<Int>] {
        let bytes = file.bytes
        let whole = [0..<bytes.count]
        guard count > 1, bytes.count >= 2 * minimumBytes else { return whole }
        let starts = file.lines.starts
        func byte(_ offset: Int) -> UInt8 { offset < bytes.count ? bytes[offset] : 0x0A }
        func isBreakOrBlank(_ value: UInt8) -> Bool { value == 0x20 || value == 0x09 || value == 0x0A || value == 0x0D }
        var markers: [Int] = []
        for start in starts {
            let offset = Int(start)
            guard offset < bytes.count else { continue }
            switch bytes[offset] {
            case UInt8(ascii: "%"):
                return whole
            case UInt8(ascii: "."):
                if byte(offset + 1) == 0x2E, byte(offset + 2) == 0x2E, isBreakOrBlank(byte(offset + 3)) { return whole }
            case UInt8(ascii: "-"):
                if offset > 0, byte(offset + 1) == 0x2D, byte(offset + 2) == 0x2D, isBreakOrBlank(byte(offset + 3)) {
                    markers.append(offset)
                }
            default:
                break
            }
        }
        if bytes.contains(0x0D) { return whole }
        let size = max(minimumBytes, bytes.count / count)
        var chunks: [Range<Int>] = []
        var from = 0
        for marker in markers where marker - from >= size && bytes.count - marker >= minimumBytes {
            chunks.append(from..<marker)
            from = marker
        }
        chunks.append(from..<bytes.count)
        return chunks
    }

    /// Parses the documents of `chunk`, one of `documentChunks(of: file, ...)`: the documents the
    /// whole file's parse gives for those bytes, with the same positions, and how many nodes
    /// they hold (the caller checks the whole file's `maxNodes`). When it fails, parse the
    /// whole file for the error: a run's error may differ from the stream's.
    public static func parse(_ file: SourceFile, chunk: Range<Int>, limits: YAMLLimits = .standard) throws(YAMLError) -> (
        documents: [Document], nodes: Int
    ) {
        let bytes = file.bytes
        guard bytes.count <= limits.maxInputBytes else { throw YAMLError.inputTooLarge(bytes.count, limit: limits.maxInputBytes) }
        guard chunk.lowerBound >= 0, chunk.upperBound <= bytes.count else {
            throw YAMLError(
                rule: "yaml-limit", message: "bytes \(chunk) are not in the file (\(bytes.count) bytes)", range: SourceRange(at: .start),
                help: "parse the whole file")
        }
        let starts = file.lines.starts
        // The chunk's first line (chunks start at line starts).
        var low = 0
        var high = starts.count - 1
        while low < high {
            let middle = (low + high + 1) / 2
            if Int(starts[middle]) <= chunk.lowerBound { low = middle } else { high = middle - 1 }
        }
        return try bytes.withUnsafeBufferPointer { (input: UnsafeBufferPointer<UInt8>) throws(YAMLError) -> (documents: [Document], nodes: Int) in
            let isASCII = try EncodingCheck.validate(UnsafeBufferPointer(rebasing: input[chunk]))
            var parser = StreamParser(
                input: input, source: bytes, lineStarts: starts, limits: limits, isASCII: isASCII, chunk: chunk, firstLine: low + 1)
            do throws(ParseFailure) {
                let documents = try parser.parseStream()
                return (documents, parser.nodeCount)
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
