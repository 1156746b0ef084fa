import JSON
import Store
import Platform

/// The JSONPath subset of captures and `generate_items`: `$`, `.key`, `['key']`, `[n]` (a negative
/// n counts from the end), `[*]` and `.*`. Without a wildcard a path names one value; with one it
/// names a list (a JSON array) of every match, skipping elements where the rest does not resolve.
public struct JSONPath: Sendable, Equatable, CustomStringConvertible {
    public enum Segment: Sendable, Equatable {
        case key(String)
        case index(Int)
        case wildcard
    }

    public let segments: [Segment]
    public let text: String

    public var description: String { text }

    public var hasWildcard: Bool { segments.contains(.wildcard) }

    public init(_ text: String) throws(JSONPathError) {
        self.text = text
        let bytes = Array(text.utf8)
        var index = 0
        func fail(_ message: String) -> JSONPathError { JSONPathError(path: text, offset: index, message: message) }
        guard bytes.first == UInt8(ascii: "$") else {
            throw fail("a JSON path starts with `$`")
        }
        index = 1
        var segments: [Segment] = []
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "."):
                index += 1
                if index < bytes.count, bytes[index] == UInt8(ascii: "*") {
                    index += 1
                    segments.append(.wildcard)
                    continue
                }
                let start = index
                while index < bytes.count, bytes[index] != UInt8(ascii: "."), bytes[index] != UInt8(ascii: "[") {
                    index += 1
                }
                guard index > start else { throw fail("expected a key after `.`") }
                segments.append(.key(String(decoding: bytes[start..<index], as: UTF8.self)))
            case UInt8(ascii: "["):
                index += 1
                guard index < bytes.count else { throw fail("unclosed `[`") }
                let opener = bytes[index]
                if opener == UInt8(ascii: "*") {
                    index += 1
                    segments.append(.wildcard)
                } else if opener == UInt8(ascii: "'") || opener == UInt8(ascii: "\"") {
                    index += 1
                    var key: [UInt8] = []
                    while index < bytes.count, bytes[index] != opener {
                        if bytes[index] == UInt8(ascii: "\\"), index + 1 < bytes.count { index += 1 }
                        key.append(bytes[index])
                        index += 1
                    }
                    guard index < bytes.count else { throw fail("unclosed quoted key") }
                    index += 1
                    segments.append(.key(String(decoding: key, as: UTF8.self)))
                } else {
                    let start = index
                    if index < bytes.count, bytes[index] == UInt8(ascii: "-") { index += 1 }
                    while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39 { index += 1 }
                    guard let number = Int(String(decoding: bytes[start..<index], as: UTF8.self)) else {
                        index = start
                        throw fail("expected an index, `*` or a quoted key inside `[…]`")
                    }
                    segments.append(.index(number))
                }
                guard index < bytes.count, bytes[index] == UInt8(ascii: "]") else { throw fail("expected `]`") }
                index += 1
            default:
                throw fail("expected `.` or `[`")
            }
        }
        self.segments = segments
    }

    /// The value the path names, or nil when it does not resolve. With a wildcard: a JSON array
    /// of the matches (nil only when a wildcard meets something that is neither array nor object
    /// or a segment before the first wildcard does not resolve).
    public func evaluate(_ root: JSONValue) -> JSONValue? {
        guard let firstWildcard = segments.firstIndex(of: .wildcard) else {
            return JSONPath.walk(root, segments[...])
        }
        guard let base = JSONPath.walk(root, segments[..<firstWildcard]) else { return nil }
        guard let matches = JSONPath.expand(base, segments[firstWildcard...]) else { return nil }
        return .array(matches)
    }

    private static func step(_ value: JSONValue, _ segment: Segment) -> JSONValue? {
        switch segment {
        case .key(let key):
            return value[key]
        case .index(let position):
            guard case .array(let items) = value else { return nil }
            let resolved = position < 0 ? items.count + position : position
            return items.indices.contains(resolved) ? items[resolved] : nil
        case .wildcard:
            return nil
        }
    }

    private static func walk(_ value: JSONValue, _ segments: ArraySlice<Segment>) -> JSONValue? {
        var current = value
        for segment in segments {
            guard let next = step(current, segment) else { return nil }
            current = next
        }
        return current
    }

    /// Every match of `segments` (which start with a wildcard) under `value`.
    private static func expand(_ value: JSONValue, _ segments: ArraySlice<Segment>) -> [JSONValue]? {
        guard let first = segments.first else { return [value] }
        let rest = segments.dropFirst()
        if first == .wildcard {
            let children: [JSONValue]
            switch value {
            case .array(let items): children = items
            case .object(let pairs): children = pairs.map(\.value)
            default: return nil
            }
            return children.flatMap { expand($0, rest) ?? [] }
        }
        guard let next = step(value, first) else { return nil }
        return expand(next, rest)
    }
}

public struct JSONPathError: Error, Sendable, Equatable, CustomStringConvertible {
    public var path: String
    /// Byte offset in the path.
    public var offset: Int
    public var message: String

    public init(path: String, offset: Int, message: String) {
        self.path = path
        self.offset = offset
        self.message = message
    }

    public var description: String { "invalid JSON path \(path) at offset \(offset): \(message)" }
}

/// Finds the JSON in a program's output, which may be surrounded by log noise. In order:
/// 1. the whole output (surrounding white space ignored);
/// 2. the last fenced code block (```` ``` ```` or ```` ```json ````) whose content is JSON;
/// 3. the last line that is a JSON object or array on its own (stream-json output ends with
///    its result line).
public enum JSONOutput {
    public static func extract(from text: String) -> JSONValue? {
        let bytes = Array(text.utf8)
        if let whole = try? JSONParser.parse(bytes) { return whole }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map {
            $0.hasSuffix("\r") ? $0.dropLast() : $0
        }
        // Fenced blocks, last first.
        var fences: [Int] = []
        for (number, line) in lines.enumerated() where line.trimmingLeadingSpaces().hasPrefix("```") {
            fences.append(number)
        }
        var pairs: [(Int, Int)] = []
        var position = 0
        while position + 1 < fences.count {
            pairs.append((fences[position], fences[position + 1]))
            position += 2
        }
        for (open, close) in pairs.reversed() {
            let content = lines[(open + 1)..<close].joined(separator: "\n")
            if let value = try? JSONParser.parse(content) { return value }
        }
        for line in lines.reversed() {
            let trimmed = line.trimmingLeadingSpaces()
            guard let first = trimmed.first, first == "{" || first == "[" else { continue }
            if let value = try? JSONParser.parse(String(trimmed)) { return value }
        }
        return nil
    }
}

extension Substring {
    fileprivate func trimmingLeadingSpaces() -> Substring {
        drop(while: { $0 == " " || $0 == "\t" })
    }
}
