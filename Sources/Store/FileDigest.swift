import CCrypto
import Hashing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// SHA-256 of a whole file through the system's libcrypto: what identifies an executable (a
/// daemon's build id, the binaries of a restart in place). Tens of megabytes hash in tens of
/// milliseconds, in a debug build too (the Hashing module's pure Swift is for short texts).
public enum FileDigest {
    /// The hex SHA-256 of the file at `path`; nil when it cannot be read.
    public static func sha256(ofFile path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        guard let context = EVP_MD_CTX_new() else { return nil }
        defer { EVP_MD_CTX_free(context) }
        guard EVP_DigestInit_ex(context, EVP_sha256(), nil) == 1 else { return nil }
        var block = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let count = block.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                return nil
            }
            if count == 0 { break }
            let added = block.withUnsafeBytes { EVP_DigestUpdate(context, $0.baseAddress, count) }
            guard added == 1 else { return nil }
        }
        var digest = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        guard digest.withUnsafeMutableBufferPointer({ EVP_DigestFinal_ex(context, $0.baseAddress, &length) }) == 1, length == 32 else {
            return nil
        }
        return Hex.encode(digest)
    }

    /// The hex SHA-256 of `text` (its UTF-8) through libcrypto: the content hash of every applied
    /// resource (thousands per `apply`). The same digest as the Hashing module's `SHA256.hex`,
    /// which it falls back to should libcrypto refuse.
    public static func sha256(of text: String) -> String {
        var text = text
        return text.withUTF8 { hexDigest($0) } ?? SHA256.hex(text)
    }

    /// The same for bytes (a text written as UTF-8 bytes need not become a String first).
    public static func sha256(of bytes: [UInt8]) -> String {
        bytes.withUnsafeBufferPointer { hexDigest($0) } ?? SHA256.hex(String(decoding: bytes, as: UTF8.self))
    }

    private static func hexDigest(_ bytes: UnsafeBufferPointer<UInt8>) -> String? {
        var digest = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        let done = digest.withUnsafeMutableBufferPointer { out in
            EVP_Digest(bytes.baseAddress, bytes.count, out.baseAddress, &length, EVP_sha256(), nil)
        }
        return done == 1 && length == 32 ? Hex.encode(digest) : nil
    }
}
