import Hashing

/// A webhook signing key (one value of the trigger's SecretStore). Never printed.
public struct WebhookKey: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    let bytes: [UInt8]

    public init(_ secret: String) { bytes = Array(secret.utf8) }

    public init(bytes: [UInt8]) { self.bytes = bytes }

    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
    public var customMirror: Mirror { Mirror(self, children: []) }
}

/// Why a delivery was refused by verification.
public enum WebhookRefusal: String, Sendable, CaseIterable {
    /// No signature header, and unsigned deliveries are not allowed.
    case missingSignature = "missing_signature"
    /// The header is not `sha256=HEX` / `HEX` with 64 hex digits.
    case malformedSignature = "malformed_signature"
    /// The signature matches none of the keys.
    case wrongSignature = "wrong_signature"
    /// The trigger has no key and does not allow unsigned deliveries.
    case noKey = "no_key"
    /// The body is larger than the cap.
    case bodyTooLarge = "body_too_large"
    /// The timestamp header is outside the replay window.
    case staleTimestamp = "stale_timestamp"
    /// The timestamp header is not whole seconds since the epoch.
    case malformedTimestamp = "malformed_timestamp"

    public var status: HTTPStatus {
        switch self {
        case .missingSignature, .malformedSignature, .wrongSignature, .noKey, .staleTimestamp: return .unauthorized
        case .bodyTooLarge: return .payloadTooLarge
        case .malformedTimestamp: return .badRequest
        }
    }

    /// What the sender reads (never a key, never the expected signature).
    public var message: String {
        switch self {
        case .missingSignature: return "the request carries no signature header"
        case .malformedSignature: return "the signature must be 'sha256=' followed by 64 hex digits (the prefix is optional)"
        case .wrongSignature: return "the signature does not match the body"
        case .noKey: return "the trigger has no secret and does not accept unsigned requests"
        case .bodyTooLarge: return "the body is larger than \(WebhookVerifier.maxBodyBytes) bytes"
        case .staleTimestamp: return "the timestamp is outside the replay window"
        case .malformedTimestamp: return "the timestamp must be whole seconds since 1970-01-01T00:00:00Z"
        }
    }
}

/// The result of verifying one delivery.
public enum WebhookVerification: Sendable, Equatable {
    /// Signed with the key at `keyIndex` of `keys`.
    case signed(keyIndex: Int)
    /// Not signed, and the trigger explicitly allows that.
    case unsigned
    case refused(WebhookRefusal)
}

/// Verifies a webhook delivery as the replaced system does: HMAC-SHA256 over the raw body, read
/// from `X-Webhook-Signature` (or the trigger's `signatureHeader`) as `sha256=HEX` with the prefix
/// optional; any key of the referenced SecretStore is valid (rotation); comparison in constant
/// time; a 1 MiB body cap. When the request carries a timestamp header (`X-Webhook-Timestamp`,
/// whole seconds since the epoch) it must lie within `replayWindowSeconds` of now.
public struct WebhookVerifier: Sendable {
    public static let defaultSignatureHeader = "X-Webhook-Signature"
    public static let defaultTimestampHeader = "X-Webhook-Timestamp"
    public static let maxBodyBytes = 1 << 20
    public static let defaultReplayWindowSeconds: Int64 = 300

    public var keys: [WebhookKey]
    public var signatureHeader: String
    public var timestampHeader: String
    public var replayWindowSeconds: Int64
    /// Accept requests without a signature header (never the default).
    public var allowUnsigned: Bool

    public init(
        keys: [WebhookKey], signatureHeader: String? = nil, timestampHeader: String = defaultTimestampHeader,
        replayWindowSeconds: Int64 = defaultReplayWindowSeconds, allowUnsigned: Bool = false
    ) {
        self.keys = keys
        self.signatureHeader = signatureHeader ?? WebhookVerifier.defaultSignatureHeader
        self.timestampHeader = timestampHeader
        self.replayWindowSeconds = replayWindowSeconds
        self.allowUnsigned = allowUnsigned
    }

    /// The header value a sender puts on `body` signed with `key`: `sha256=HEX`.
    public static func signature(of body: some Sequence<UInt8>, key: WebhookKey) -> String {
        "sha256=" + Hex.encode(HMACSHA256.mac(key: key.bytes, message: body))
    }

    public func verify(body: [UInt8], headers: HTTPHeaders, now: Instant) -> WebhookVerification {
        guard body.count <= WebhookVerifier.maxBodyBytes else { return .refused(.bodyTooLarge) }
        let verdict: WebhookVerification
        if let header = headers[signatureHeader] {
            guard let provided = WebhookVerifier.parseSignature(header) else { return .refused(.malformedSignature) }
            if keys.isEmpty { return allowUnsigned ? .unsigned : .refused(.noKey) }
            // Every key is tried, whichever matches, so the time taken says nothing about which.
            var matched: Int?
            for (index, key) in keys.enumerated() {
                let expected = HMACSHA256.mac(key: key.bytes, message: body)
                if Hex.constantTimeEqual(expected, provided), matched == nil { matched = index }
            }
            guard let matched else { return .refused(.wrongSignature) }
            verdict = .signed(keyIndex: matched)
        } else {
            guard allowUnsigned else { return .refused(keys.isEmpty ? .noKey : .missingSignature) }
            verdict = .unsigned
        }
        if let stamp = headers[timestampHeader] {
            guard !stamp.isEmpty, stamp.utf8.count <= 15, stamp.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let seconds = Int64(stamp) else {
                return .refused(.malformedTimestamp)
            }
            guard abs(now.secondsSinceEpoch - seconds) <= replayWindowSeconds else { return .refused(.staleTimestamp) }
        }
        return verdict
    }

    /// `sha256=HEX` or `HEX` (64 hex digits, any case) -> 32 bytes.
    static func parseSignature(_ header: String) -> [UInt8]? {
        var text = Substring(header.trimmingSpaces())
        if text.lowercased().hasPrefix("sha256=") { text = text.dropFirst(7) }
        guard text.utf8.count == 64 else { return nil }
        return Hex.decode(text)
    }
}
