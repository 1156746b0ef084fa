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
        var out = ""
        write(value, into: &out, depth: 0)
        return out
    }

    public func write(_ value: JSONValue, into out: inout String, depth: Int) {
        switch value {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .double(let d): out += JSONWriter.number(d)
        case .string(let s): JSONWriter.quote(s, into: &out)
        case .array(let items):
            if items.isEmpty { out += "[]"; return }
            out += "["
            for (index, item) in items.enumerated() {
                if index > 0 { out += "," }
                newline(&out, depth + 1)
                write(item, into: &out, depth: depth + 1)
            }
            newline(&out, depth)
            out += "]"
        case .object(let pairs):
            if pairs.isEmpty { out += "{}"; return }
            out += "{"
            for (index, pair) in (sortedKeys ? pairs.sorted { $0.key < $1.key } : pairs).enumerated() {
                if index > 0 { out += "," }
                newline(&out, depth + 1)
                JSONWriter.quote(pair.key, into: &out)
                out += pretty ? ": " : ":"
                write(pair.value, into: &out, depth: depth + 1)
            }
            newline(&out, depth)
            out += "}"
        }
    }

    private func newline(_ out: inout String, _ depth: Int) {
        guard pretty else { return }
        out += "\n"
        out += String(repeating: "  ", count: depth)
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
        // On UTF-8 bytes: runs that need no escape are copied whole (bytes of multi-byte
        // characters are all >= 0x80 and never need one).
        var text = s
        let escaped = text.withUTF8 { bytes -> [UInt8] in
            var result = [UInt8]()
            result.reserveCapacity(bytes.count + 2)
            result.append(0x22)
            var runStart = 0
            for index in 0..<bytes.count {
                let byte = bytes[index]
                if byte >= 0x20 && byte != 0x22 && byte != 0x5C && byte != 0x7F { continue }
                if runStart < index { result.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<index])) }
                runStart = index + 1
                switch byte {
                case 0x22: result += [0x5C, 0x22]
                case 0x5C: result += [0x5C, 0x5C]
                case 0x0A: result += [0x5C, 0x6E]
                case 0x0D: result += [0x5C, 0x72]
                case 0x09: result += [0x5C, 0x74]
                case 0x08: result += [0x5C, 0x62]
                case 0x0C: result += [0x5C, 0x66]
                default:
                    let hex = Array("0123456789abcdef".utf8)
                    result += [0x5C, 0x75, 0x30, 0x30, hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]]
                }
            }
            if runStart < bytes.count { result.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<bytes.count])) }
            result.append(0x22)
            return result
        }
        out += String(decoding: escaped, as: UTF8.self)
    }

    public static func quoted(_ s: String) -> String {
        var out = ""
        quote(s, into: &out)
        return out
    }
}
