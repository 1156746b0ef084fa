/// HMAC-SHA256 (RFC 2104 over FIPS 180-4 SHA-256), written on the project's own `SHA256`.
public struct HMACSHA256: Sendable {
    private static let blockSize = 64
    private var inner: SHA256
    private var outer: SHA256

    /// Starts a MAC under `key`; a key longer than the 64-byte block is hashed first.
    public init(key: some Sequence<UInt8>) {
        var block = Array(key)
        if block.count > HMACSHA256.blockSize { block = SHA256.digest(block) }
        block += [UInt8](repeating: 0, count: HMACSHA256.blockSize - block.count)
        inner = SHA256()
        inner.update(block.map { $0 ^ 0x36 })
        outer = SHA256()
        outer.update(block.map { $0 ^ 0x5c })
    }

    public mutating func update(_ bytes: some Sequence<UInt8>) { inner.update(bytes) }

    /// The 32-byte tag.
    public func finalize() -> [UInt8] {
        var copy = outer
        copy.update(inner.finalize())
        return copy.finalize()
    }

    public static func mac(key: some Sequence<UInt8>, message: some Sequence<UInt8>) -> [UInt8] {
        var hmac = HMACSHA256(key: key)
        hmac.update(message)
        return hmac.finalize()
    }
}

extension SHA256 {
    /// The 32-byte digest of `bytes`.
    public static func digest(_ bytes: some Sequence<UInt8>) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(bytes)
        return hasher.finalize()
    }
}

/// Lowercase hex text of bytes, and bytes of hex text.
public enum Hex {
    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(2 * bytes.underestimatedCount)
        for byte in bytes {
            out.append(digit(byte >> 4))
            out.append(digit(byte & 0x0F))
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The same for an array: not generic, so callers in other modules (a content hash per
    /// resource applied) do not go through the unspecialised generic one.
    public static func encode(_ bytes: [UInt8]) -> String {
        String(unsafeUninitializedCapacity: 2 * bytes.count) { out in
            for (index, byte) in bytes.enumerated() {
                out[2 * index] = digit(byte >> 4)
                out[2 * index + 1] = digit(byte & 0x0F)
            }
            return 2 * bytes.count
        }
    }

    /// A lower-case hex digit by arithmetic: the table this used to build per call was most of
    /// the cost of a content hash (issue 20: one per resource applied).
    @inline(__always) private static func digit(_ value: UInt8) -> UInt8 {
        value < 10 ? UInt8(ascii: "0") + value : UInt8(ascii: "a") + value - 10
    }

    /// The bytes of `text` (upper or lower case digits); nil if it has an odd length or a non-hex character.
    public static func decode(_ text: some StringProtocol) -> [UInt8]? {
        let chars = Array(text.utf8)
        guard chars.count % 2 == 0 else { return nil }
        func value(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
            default: return nil
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(chars.count / 2)
        var index = 0
        while index < chars.count {
            guard let high = value(chars[index]), let low = value(chars[index + 1]) else { return nil }
            out.append(high << 4 | low)
            index += 2
        }
        return out
    }

    /// Compares two byte strings in time that depends only on their lengths, not on where they differ.
    public static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in 0..<a.count { difference |= a[index] ^ b[index] }
        return difference == 0
    }
}
