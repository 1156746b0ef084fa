import Expr

/// A RuntimePolicy's `redaction_patterns`: regular expressions for the *names* of secrets
/// (`token`, `api_key`, `authorization`, ...). In everything the runner stores or prints, the
/// value written after such a name is replaced with `***`: `NAME=VALUE`, `NAME: VALUE`,
/// `"NAME": "VALUE"` (not `--NAME VALUE`: a flag's value is an argument, not an assignment),
/// and `Authorization: Bearer VALUE` keeps the scheme and masks the credential. The name stays
/// readable, so a log still says which setting was there. A name matches when a pattern matches
/// anywhere in it, case-insensitively (the name is also tried in lower case). Values that cannot
/// be a credential stay: a structure (`{`, `[`), true/false/null, a number of under 8 digits.
public struct Redaction: Sendable {
    public let patterns: [Regex]

    public init(patterns: [Regex]) {
        self.patterns = patterns
    }

    public var isEmpty: Bool { patterns.isEmpty }

    /// The longest line redacted as a whole; a longer line is redacted in pieces of this size.
    static let lineLimit = 64 << 10

    func namesSecret(_ name: ArraySlice<UInt8>) -> Bool {
        let text = String(decoding: name, as: UTF8.self)
        let lower = text.lowercased()
        return patterns.contains { $0.matches(text) || (lower != text && $0.matches(lower)) }
    }

    /// `bytes` with every value after a secret's name replaced by `***`.
    public func redact(_ bytes: [UInt8]) -> [UInt8] {
        if isEmpty || bytes.isEmpty { return bytes }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = 0
        let count = bytes.count
        while index < count {
            let byte = bytes[index]
            guard Redaction.isNameByte(byte), index == 0 || !Redaction.isNameByte(bytes[index - 1]) else {
                out.append(byte)
                index += 1
                continue
            }
            // A name: letters, digits, `_`, `-`, `.`.
            var end = index
            while end < count, Redaction.isNameByte(bytes[end]) { end += 1 }
            let name = bytes[index..<end]
            out.append(contentsOf: name)
            index = end
            guard let valueStart = Redaction.valueStart(bytes, after: end), namesSecret(name) else { continue }
            // Copy the separator (and an opening quote, and a `Bearer ` scheme) as written.
            out.append(contentsOf: bytes[end..<valueStart])
            var valueEnd = valueStart
            let quote: UInt8? = valueStart > end && (bytes[valueStart - 1] == 0x22 || bytes[valueStart - 1] == 0x27) ? bytes[valueStart - 1] : nil
            while valueEnd < count {
                let next = bytes[valueEnd]
                if let quote {
                    if next == quote || next == 0x0A { break }
                    if next == 0x5C, valueEnd + 1 < count { valueEnd += 2; continue }  // an escaped character
                } else if next == 0x20 || next == 0x09 || next == 0x0A || next == 0x0D || next == 0x2C || next == 0x3B || next == 0x22
                    || next == 0x27 || next == 0x7D || next == 0x5D || next == 0x26
                {
                    break
                }
                valueEnd += 1
            }
            if valueEnd > valueStart, !Redaction.isPlainValue(bytes[valueStart..<valueEnd]) {
                out.append(contentsOf: SecretMasker.mask)
                index = valueEnd
            } else {
                index = valueStart
            }
        }
        return out
    }

    /// Values that are no credential, left readable: the start of a structure (`{`, `[`), a
    /// boolean or null, a number of fewer than 8 digits (`max_tokens: 4096`).
    static func isPlainValue(_ value: ArraySlice<UInt8>) -> Bool {
        guard let first = value.first else { return true }
        if first == 0x7B || first == 0x5B { return true }
        let text = String(decoding: value, as: UTF8.self)
        if ["true", "false", "null"].contains(text.lowercased()) { return true }
        return value.count < 8 && value.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
    }

    static func isNameByte(_ byte: UInt8) -> Bool {
        (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x30 && byte <= 0x39) || byte == 0x5F || byte == 0x2D
    }

    /// Where the value after a name begins: after optional closing quote, spaces, `=` or `:`,
    /// spaces, an opening quote and a `Bearer `/`Basic `/`Token ` scheme; nil when no `=`/`:`
    /// follows the name.
    static func valueStart(_ bytes: [UInt8], after end: Int) -> Int? {
        var index = end
        let count = bytes.count
        if index < count, bytes[index] == 0x22 || bytes[index] == 0x27 { index += 1 }  // "name":
        while index < count, bytes[index] == 0x20 || bytes[index] == 0x09 { index += 1 }
        guard index < count, bytes[index] == 0x3D || bytes[index] == 0x3A else { return nil }
        index += 1
        // `name:` at the end of a line (a YAML mapping key with a block below) has no value here.
        while index < count, bytes[index] == 0x20 || bytes[index] == 0x09 { index += 1 }
        guard index < count, bytes[index] != 0x0A, bytes[index] != 0x0D else { return nil }
        if bytes[index] == 0x22 || bytes[index] == 0x27 { index += 1 }
        for scheme in ["bearer ", "basic ", "token "] {
            let word = Array(scheme.utf8)
            if index + word.count <= count, zip(bytes[index..<(index + word.count)], word).allSatisfy({ lowered($0.0) == $0.1 }) {
                index += word.count
                break
            }
        }
        return index
    }

    static func lowered(_ byte: UInt8) -> UInt8 { byte >= 0x41 && byte <= 0x5A ? byte + 32 : byte }
}
