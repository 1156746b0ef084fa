/// Writes JSON text. Compact by default; `pretty` indents by two spaces; `sortedKeys` writes
/// every object's keys in ascending order (a canonical form, without copying the value).
public struct JSONWriter: Sendable {
    public var pretty: Bool
    public var sortedKeys: Bool

    public init(pretty: Bool = false, sortedKeys: Bool = false) {
        self.pretty = pretty
        self.sortedKeys = sortedKeys
    }

    public func string(_ value: JSONValue) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(256)
        write(value, into: &bytes, depth: 0)
        return String(decoding: bytes, as: UTF8.self)
    }

    public func write(_ value: JSONValue, into out: inout String, depth: Int) {
        var bytes: [UInt8] = []
        write(value, into: &bytes, depth: depth)
        out += String(decoding: bytes, as: UTF8.self)
    }

    /// The same text as UTF-8 bytes: the writer works on bytes, as appending to a `String` piece
    /// by piece cost most of the stored form's time (issue 20: thousands of resources per apply).
    public func write(_ value: JSONValue, into out: inout [UInt8], depth: Int) {
        switch value {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .int(let i): out.append(contentsOf: String(i).utf8)
        case .double(let d): out.append(contentsOf: JSONWriter.number(d).utf8)
        case .string(let s): JSONWriter.quote(s, into: &out)
        case .array(let items):
            if items.isEmpty { out.append(contentsOf: "[]".utf8); return }
            out.append(UInt8(ascii: "["))
            for (index, item) in items.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                newline(&out, depth + 1)
                write(item, into: &out, depth: depth + 1)
            }
            newline(&out, depth)
            out.append(UInt8(ascii: "]"))
        case .object(let pairs):
            if pairs.isEmpty { out.append(contentsOf: "{}".utf8); return }
            out.append(UInt8(ascii: "{"))
            // Sorted only when they are not already in order (most objects of a canonical form
            // are small and many are sorted: no copy of their pairs then).
            let inOrder = !sortedKeys || pairs.indices.dropFirst().allSatisfy { pairs[$0 - 1].key <= pairs[$0].key }
            for (index, pair) in (inOrder ? pairs : pairs.sorted { $0.key < $1.key }).enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                newline(&out, depth + 1)
                JSONWriter.quote(pair.key, into: &out)
                if pretty { out.append(contentsOf: ": ".utf8) } else { out.append(UInt8(ascii: ":")) }
                write(pair.value, into: &out, depth: depth + 1)
            }
            newline(&out, depth)
            out.append(UInt8(ascii: "}"))
        }
    }

    private func newline(_ out: inout [UInt8], _ depth: Int) {
        guard pretty else { return }
        out.append(UInt8(ascii: "\n"))
        out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: 2 * depth))
    }

    /// JSON has no infinities or NaN: they are written as the strings ".inf", "-.inf", ".nan"
    /// (YAML's spelling), which is what a reader of our output can act on.
    public static func number(_ d: Double) -> String {
        if d.isNaN { return "\".nan\"" }
        if d.isInfinite { return d < 0 ? "\"-.inf\"" : "\".inf\"" }
        if d == d.rounded(), abs(d) < 1e15 {
            // Integral doubles keep a fraction so they read back as doubles.
            return String(Int64(d)) + ".0"
        }
        return "\(d)"
    }

    public static func quote(_ s: String, into out: inout String) {
        var bytes: [UInt8] = []
        quote(s, into: &bytes)
        out += String(decoding: bytes, as: UTF8.self)
    }

    public static func quote(_ s: String, into out: inout [UInt8]) {
        // On UTF-8 bytes: runs that need no escape are copied whole (bytes of multi-byte
        // characters are all >= 0x80 and never need one).
        var text = s
        text.withUTF8 { bytes in
            out.reserveCapacity(out.count + bytes.count + 2)
            out.append(0x22)
            var runStart = 0
            for index in 0..<bytes.count {
                let byte = bytes[index]
                if byte >= 0x20 && byte != 0x22 && byte != 0x5C && byte != 0x7F { continue }
                if runStart < index { out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<index])) }
                runStart = index + 1
                out.append(0x5C)
                switch byte {
                case 0x22: out.append(0x22)
                case 0x5C: out.append(0x5C)
                case 0x0A: out.append(0x6E)
                case 0x0D: out.append(0x72)
                case 0x09: out.append(0x74)
                case 0x08: out.append(0x62)
                case 0x0C: out.append(0x66)
                default:
                    out.append(contentsOf: [0x75, 0x30, 0x30, hexDigit(byte >> 4), hexDigit(byte & 0x0F)])
                }
            }
            if runStart < bytes.count { out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<bytes.count])) }
            out.append(0x22)
        }
    }

    private static func hexDigit(_ value: UInt8) -> UInt8 {
        value < 10 ? UInt8(ascii: "0") + value : UInt8(ascii: "a") + value - 10
    }

    public static func quoted(_ s: String) -> String {
        var out = ""
        quote(s, into: &out)
        return out
    }
}
