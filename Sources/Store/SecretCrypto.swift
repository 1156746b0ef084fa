import CCrypto

// The cryptography of secrets at rest, all from the system's libcrypto: AES-256-GCM (an AEAD:
// a wrong key or a changed byte fails the tag check, never decrypts to garbage), HMAC-SHA256,
// and the operating system's random numbers.

enum SecretCrypto {
    static let keyLength = 32
    static let nonceLength = 12
    static let tagLength = 16

    /// `count` random bytes from libcrypto's generator (seeded by the operating system).
    static func randomBytes(_ count: Int) throws(SecretKeyError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        let ok = bytes.withUnsafeMutableBufferPointer { RAND_bytes($0.baseAddress, Int32(count)) }
        guard ok == 1 else { throw SecretKeyError("the system's random number generator failed (libcrypto RAND_bytes)") }
        return bytes
    }

    /// HMAC-SHA256 of `message` under `key`.
    static func hmacSHA256(key: [UInt8], _ message: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        key.withUnsafeBufferPointer { k in
            message.withUnsafeBufferPointer { m in
                out.withUnsafeMutableBufferPointer { o in
                    _ = HMAC(EVP_sha256(), k.baseAddress, Int32(k.count), m.baseAddress, m.count, o.baseAddress, &length)
                }
            }
        }
        return out
    }

    /// `nonce || ciphertext || tag` of `plaintext` under `key`, authenticating `aad` too.
    static func seal(_ plaintext: [UInt8], key: [UInt8], aad: [UInt8]) throws(SecretKeyError) -> [UInt8] {
        let nonce = try randomBytes(nonceLength)
        guard let context = EVP_CIPHER_CTX_new() else { throw SecretKeyError("libcrypto could not allocate a cipher context") }
        defer { EVP_CIPHER_CTX_free(context) }
        var ciphertext = [UInt8](repeating: 0, count: plaintext.count + 16)
        var tag = [UInt8](repeating: 0, count: tagLength)
        var written: Int32 = 0
        var total = 0
        let ok: Bool = key.withUnsafeBufferPointer { k in
            nonce.withUnsafeBufferPointer { n in
                guard EVP_EncryptInit_ex(context, EVP_aes_256_gcm(), nil, nil, nil) == 1,
                    EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_SET_IVLEN, Int32(nonceLength), nil) == 1,
                    EVP_EncryptInit_ex(context, nil, nil, k.baseAddress, n.baseAddress) == 1
                else { return false }
                if !aad.isEmpty {
                    let added = aad.withUnsafeBufferPointer { EVP_EncryptUpdate(context, nil, &written, $0.baseAddress, Int32($0.count)) }
                    guard added == 1 else { return false }
                }
                let updated = ciphertext.withUnsafeMutableBufferPointer { out in
                    plaintext.withUnsafeBufferPointer { EVP_EncryptUpdate(context, out.baseAddress, &written, $0.baseAddress, Int32($0.count)) }
                }
                guard updated == 1 else { return false }
                total = Int(written)
                let finished = ciphertext.withUnsafeMutableBufferPointer { EVP_EncryptFinal_ex(context, $0.baseAddress! + total, &written) }
                guard finished == 1 else { return false }
                total += Int(written)
                return tag.withUnsafeMutableBufferPointer {
                    EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_GET_TAG, Int32(tagLength), $0.baseAddress) == 1
                }
            }
        }
        guard ok else { throw SecretKeyError("libcrypto failed to encrypt a secret (AES-256-GCM)") }
        return nonce + ciphertext[..<total] + tag
    }

    /// The plaintext of `nonce || ciphertext || tag`, or nil when the key is wrong or a byte changed.
    static func open(_ sealed: [UInt8], key: [UInt8], aad: [UInt8]) -> [UInt8]? {
        guard sealed.count >= nonceLength + tagLength, let context = EVP_CIPHER_CTX_new() else { return nil }
        defer { EVP_CIPHER_CTX_free(context) }
        let nonce = Array(sealed[..<nonceLength])
        let ciphertext = Array(sealed[nonceLength..<(sealed.count - tagLength)])
        var tag = Array(sealed[(sealed.count - tagLength)...])
        var plaintext = [UInt8](repeating: 0, count: ciphertext.count + 16)
        var written: Int32 = 0
        var total = 0
        let ok: Bool = key.withUnsafeBufferPointer { k in
            nonce.withUnsafeBufferPointer { n in
                guard EVP_DecryptInit_ex(context, EVP_aes_256_gcm(), nil, nil, nil) == 1,
                    EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_SET_IVLEN, Int32(nonceLength), nil) == 1,
                    EVP_DecryptInit_ex(context, nil, nil, k.baseAddress, n.baseAddress) == 1
                else { return false }
                if !aad.isEmpty {
                    let added = aad.withUnsafeBufferPointer { EVP_DecryptUpdate(context, nil, &written, $0.baseAddress, Int32($0.count)) }
                    guard added == 1 else { return false }
                }
                let updated = plaintext.withUnsafeMutableBufferPointer { out in
                    ciphertext.withUnsafeBufferPointer { EVP_DecryptUpdate(context, out.baseAddress, &written, $0.baseAddress, Int32($0.count)) }
                }
                guard updated == 1 else { return false }
                total = Int(written)
                let tagSet = tag.withUnsafeMutableBufferPointer {
                    EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_SET_TAG, Int32(tagLength), $0.baseAddress)
                }
                guard tagSet == 1 else { return false }
                // The tag check: fails for a wrong key or any changed byte.
                let finished = plaintext.withUnsafeMutableBufferPointer { EVP_DecryptFinal_ex(context, $0.baseAddress! + total, &written) }
                guard finished == 1 else { return false }
                total += Int(written)
                return true
            }
        }
        return ok ? Array(plaintext[..<total]) : nil
    }
}

/// Standard base64 (RFC 4648, with padding), for keys and ciphertext stored as text.
enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var index = 0
        while index < bytes.count {
            let b0 = bytes[index]
            let b1 = index + 1 < bytes.count ? bytes[index + 1] : 0
            let b2 = index + 2 < bytes.count ? bytes[index + 2] : 0
            out.append(alphabet[Int(b0 >> 2)])
            out.append(alphabet[Int((b0 & 0x03) << 4 | b1 >> 4)])
            out.append(index + 1 < bytes.count ? alphabet[Int((b1 & 0x0F) << 2 | b2 >> 6)] : UInt8(ascii: "="))
            out.append(index + 2 < bytes.count ? alphabet[Int(b2 & 0x3F)] : UInt8(ascii: "="))
            index += 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// nil for anything that is not well-formed base64.
    static func decode(_ text: some StringProtocol) -> [UInt8]? {
        let chars = Array(text.utf8)
        guard chars.count % 4 == 0 else { return nil }
        var values: [UInt8] = []
        var padding = 0
        for (offset, char) in chars.enumerated() {
            if char == UInt8(ascii: "=") {
                guard offset >= chars.count - 2 else { return nil }
                padding += 1
                values.append(0)
                continue
            }
            guard padding == 0, let value = alphabet.firstIndex(of: char) else { return nil }
            values.append(UInt8(value))
        }
        var out: [UInt8] = []
        out.reserveCapacity(chars.count / 4 * 3)
        var index = 0
        while index < values.count {
            out.append(values[index] << 2 | values[index + 1] >> 4)
            out.append((values[index + 1] & 0x0F) << 4 | values[index + 2] >> 2)
            out.append((values[index + 2] & 0x03) << 6 | values[index + 3])
            index += 4
        }
        return Array(out.dropLast(padding))
    }
}

/// Random bytes from the operating system (through libcrypto), for what is not a secret at rest
/// but must not be guessed (the dashboard's token, a page's script nonce).
public enum SystemRandom {
    public static func bytes(_ count: Int) throws(SecretKeyError) -> [UInt8] { try SecretCrypto.randomBytes(count) }
}
