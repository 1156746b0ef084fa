import Compiler
import JSON
import Store
import Platform

/// Replaces every occurrence of a secret value with `***`. Used on everything the runner stores
/// or prints: log files (while they stream), events, outputs, error messages. Captures, JSON
/// paths and decisions read the raw output; masking applies to what is stored and shown.
///
/// Matching is on UTF-8 bytes, left to right. Overlapping occurrences (of one secret or of
/// several) are masked as their union: one `***` for the whole stretch, so no part of a longer
/// secret that overlaps a shorter one is left showing. Values shorter than `minimumLength`
/// characters are not secrets to mask (masking `id` or `1` would turn logs and captured JSON into
/// noise); `validate` and `lint` warn about them (`secret-too-short`) and the runner records them.
public struct SecretMasker: Sendable {
    public static let mask: [UInt8] = Array("***".utf8)
    /// The shortest value that is masked, in characters.
    public static let minimumLength = SecretLength.minimumMasked

    /// Secrets, longest first, by first byte (a quick filter for the scan).
    private let byFirstByte: [UInt8: [[UInt8]]]
    /// `startsSecret[b]`: some secret starts with byte `b` (checked before the dictionary).
    private let startsSecret: [Bool]
    /// The length of the longest secret (0: no secret value to mask).
    public let longestSecretLength: Int
    /// The RuntimePolicy's redaction of values written after secrets' names (applied first).
    public let redaction: Redaction

    public init(secrets: some Sequence<String>, redaction: Redaction = Redaction(patterns: [])) {
        self.redaction = redaction
        var unique = Set<[UInt8]>()
        for secret in secrets where secret.count >= SecretMasker.minimumLength { unique.insert(Array(secret.utf8)) }
        var table: [UInt8: [[UInt8]]] = [:]
        for secret in unique.sorted(by: { $0.count != $1.count ? $0.count > $1.count : $0.lexicographicallyPrecedes($1) }) {
            if let first = secret.first { table[first, default: []].append(secret) }
        }
        byFirstByte = table
        var starts = [Bool](repeating: false, count: 256)
        for byte in table.keys { starts[Int(byte)] = true }
        startsSecret = starts
        longestSecretLength = unique.map(\.count).max() ?? 0
    }

    /// A masker that masks nothing.
    public static let none = SecretMasker(secrets: [String]())

    /// Nothing to mask or redact.
    public var isEmpty: Bool { longestSecretLength == 0 && redaction.isEmpty }

    public func mask(_ text: String) -> String {
        if isEmpty { return text }
        return String(decoding: mask(Array(text.utf8)), as: UTF8.self)
    }

    public func mask(_ bytes: [UInt8]) -> [UInt8] {
        if isEmpty { return bytes }
        return maskSecrets(redaction.redact(bytes))
    }

    /// The secret values only (the stream has redacted its lines already).
    func maskSecrets(_ bytes: [UInt8]) -> [UInt8] {
        if longestSecretLength == 0 { return bytes }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var maskEnd = 0
        _ = scan(bytes, from: 0, upTo: bytes.count, maskEnd: &maskEnd, into: &out)
        return out
    }

    /// Every string in a JSON value masked (object keys too).
    public func mask(_ value: JSONValue) -> JSONValue {
        if isEmpty { return value }
        switch value {
        case .string(let s): return .string(mask(s))
        case .array(let items): return .array(items.map { mask($0) })
        case .object(let pairs): return .object(pairs.map { (key: mask($0.key), value: mask($0.value)) })
        default: return value
        }
    }

    /// A masking stream for bytes that arrive in chunks (a secret may straddle two chunks).
    public func stream() -> SecretMaskingStream { SecretMaskingStream(masker: self) }

    /// The secret matching at `position`, longest first.
    func match(_ bytes: [UInt8], at position: Int) -> Int? {
        let first = bytes[position]
        guard startsSecret[Int(first)], let candidates = byFirstByte[first] else { return nil }
        let remaining = bytes.count - position
        for secret in candidates where secret.count <= remaining {
            var equal = true
            var k = 1
            while k < secret.count {
                if bytes[position + k] != secret[k] {
                    equal = false
                    break
                }
                k += 1
            }
            if equal { return secret.count }
        }
        return nil
    }

    /// Masks the positions `start..<limit` of `bytes` (a match that starts before `limit` may end
    /// past it) and returns `limit`. `maskEnd` is where the masked stretch around the scan ends:
    /// bytes before it are inside an occurrence whose `***` is written already (a stream carries
    /// it from one chunk to the next); a match starting inside the stretch extends it.
    func scan(_ bytes: [UInt8], from start: Int, upTo limit: Int, maskEnd: inout Int, into out: inout [UInt8]) -> Int {
        var copyStart = max(start, maskEnd)
        var index = start
        while index < limit {
            if let length = match(bytes, at: index) {
                if index >= maskEnd {
                    out.append(contentsOf: bytes[copyStart..<index])
                    out.append(contentsOf: SecretMasker.mask)
                }
                maskEnd = max(maskEnd, index + length)
                copyStart = maskEnd
            }
            index += 1
        }
        if copyStart < index { out.append(contentsOf: bytes[copyStart..<index]) }
        return index
    }
}

/// Masks a byte stream chunk by chunk with the same result as masking the whole stream at once.
/// Holds back at most `longestSecretLength - 1` bytes until more input (or `finish()`) decides them.
public struct SecretMaskingStream: Sendable {
    public let masker: SecretMasker
    private var pending: [UInt8] = []
    /// In `pending`'s positions: the end of a masked stretch that started in an earlier chunk.
    private var maskEnd = 0
    /// With a redaction: the start of a line not ended yet (redaction works on whole lines).
    private var partialLine: [UInt8] = []

    public init(masker: SecretMasker) { self.masker = masker }

    /// The masked bytes that can be decided now.
    public mutating func feed(_ chunk: [UInt8]) -> [UInt8] {
        if masker.isEmpty { return chunk }
        if masker.redaction.isEmpty { return feedSecrets(chunk) }
        partialLine.append(contentsOf: chunk)
        let ready: [UInt8]
        if let newline = partialLine.lastIndex(of: 0x0A) {
            ready = masker.redaction.redact(Array(partialLine[...newline]))
            partialLine.removeFirst(newline + 1)
        } else if partialLine.count >= Redaction.lineLimit {
            // A line this long is redacted in pieces (a name and its value split across two
            // pieces stay unredacted: the limit keeps memory bounded for endless lines).
            ready = masker.redaction.redact(partialLine)
            partialLine = []
        } else {
            return []
        }
        return feedSecrets(ready)
    }

    private mutating func feedSecrets(_ chunk: [UInt8]) -> [UInt8] {
        if masker.longestSecretLength == 0 { return chunk }
        pending.append(contentsOf: chunk)
        // A position is decided when every secret fits in what is buffered from it.
        let decidable = pending.count - (masker.longestSecretLength - 1)
        guard decidable > 0 else { return [] }
        var out: [UInt8] = []
        out.reserveCapacity(decidable)
        let decided = masker.scan(pending, from: 0, upTo: decidable, maskEnd: &maskEnd, into: &out)
        pending.removeFirst(decided)
        maskEnd = max(0, maskEnd - decided)
        return out
    }

    /// The rest, masked, at the end of the stream.
    public mutating func finish() -> [UInt8] {
        var out: [UInt8] = []
        if !partialLine.isEmpty {
            let rest = masker.redaction.redact(partialLine)
            partialLine = []
            out = feedSecrets(rest)
        }
        if masker.longestSecretLength == 0 { return out }
        _ = masker.scan(pending, from: 0, upTo: pending.count, maskEnd: &maskEnd, into: &out)
        pending = []
        maskEnd = 0
        return out
    }
}
