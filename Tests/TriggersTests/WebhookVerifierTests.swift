import Testing
import Triggers

@Suite struct WebhookVerifierTests {
    let now = Instant(secondsSinceEpoch: 1_780_000_000)
    let body = Array(#"{"ref":"refs/heads/main"}"#.utf8)

    func headers(_ fields: [(String, String)]) -> HTTPHeaders { HTTPHeaders(fields.map { (name: $0.0, value: $0.1) }) }

    @Test func acceptsTheSignatureWithOrWithoutPrefixAndInAnyCase() {
        let key = WebhookKey("s3cret")
        let verifier = WebhookVerifier(keys: [key])
        let signature = WebhookVerifier.signature(of: body, key: key)
        #expect(signature.hasPrefix("sha256="))
        #expect(verifier.verify(body: body, headers: headers([("X-Webhook-Signature", signature)]), now: now) == .signed(keyIndex: 0))
        let bare = String(signature.dropFirst(7))
        #expect(verifier.verify(body: body, headers: headers([("x-webhook-signature", bare.uppercased())]), now: now) == .signed(keyIndex: 0))
    }

    @Test func anyKeyOfTheStoreIsValid() {
        let old = WebhookKey("old-key"), new = WebhookKey("new-key")
        let verifier = WebhookVerifier(keys: [old, new])
        let signed = WebhookVerifier.signature(of: body, key: new)
        #expect(verifier.verify(body: body, headers: headers([("X-Webhook-Signature", signed)]), now: now) == .signed(keyIndex: 1))
        let foreign = WebhookVerifier.signature(of: body, key: WebhookKey("other"))
        #expect(verifier.verify(body: body, headers: headers([("X-Webhook-Signature", foreign)]), now: now) == .refused(.wrongSignature))
    }

    @Test func refusesMissingMalformedAndTamperedSignatures() {
        let key = WebhookKey("s3cret")
        let verifier = WebhookVerifier(keys: [key])
        #expect(verifier.verify(body: body, headers: headers([]), now: now) == .refused(.missingSignature))
        #expect(verifier.verify(body: body, headers: headers([("X-Webhook-Signature", "sha256=abc")]), now: now) == .refused(.malformedSignature))
        #expect(verifier.verify(body: body, headers: headers([("X-Webhook-Signature", "sha1=" + String(repeating: "0", count: 64))]), now: now)
            == .refused(.malformedSignature))
        var tampered = body
        tampered[2] ^= 1
        let signature = WebhookVerifier.signature(of: body, key: key)
        #expect(verifier.verify(body: tampered, headers: headers([("X-Webhook-Signature", signature)]), now: now) == .refused(.wrongSignature))
        #expect(WebhookRefusal.wrongSignature.status == .unauthorized)
    }

    @Test func aConfiguredHeaderReplacesTheDefault() {
        let key = WebhookKey("k")
        let verifier = WebhookVerifier(keys: [key], signatureHeader: "X-Hub-Signature-256")
        let signature = WebhookVerifier.signature(of: body, key: key)
        #expect(verifier.verify(body: body, headers: headers([("X-Hub-Signature-256", signature)]), now: now) == .signed(keyIndex: 0))
        #expect(verifier.verify(body: body, headers: headers([("X-Webhook-Signature", signature)]), now: now) == .refused(.missingSignature))
    }

    @Test func unsignedOnlyWhenExplicitlyAllowed() {
        #expect(WebhookVerifier(keys: []).verify(body: body, headers: headers([]), now: now) == .refused(.noKey))
        #expect(WebhookVerifier(keys: [], allowUnsigned: true).verify(body: body, headers: headers([]), now: now) == .unsigned)
        let key = WebhookKey("k")
        let lenient = WebhookVerifier(keys: [key], allowUnsigned: true)
        #expect(lenient.verify(body: body, headers: headers([]), now: now) == .unsigned)
        // A signature that is present is still checked.
        #expect(lenient.verify(body: body, headers: headers([("X-Webhook-Signature", WebhookVerifier.signature(of: body, key: WebhookKey("x")))]), now: now)
            == .refused(.wrongSignature))
    }

    @Test func replayWindowAppliesWhenATimestampIsSent() {
        let key = WebhookKey("k")
        let verifier = WebhookVerifier(keys: [key], replayWindowSeconds: 300)
        let signature = WebhookVerifier.signature(of: body, key: key)
        func verify(_ stamp: String) -> WebhookVerification {
            verifier.verify(body: body, headers: headers([("X-Webhook-Signature", signature), ("X-Webhook-Timestamp", stamp)]), now: now)
        }
        #expect(verify(String(now.secondsSinceEpoch - 299)) == .signed(keyIndex: 0))
        #expect(verify(String(now.secondsSinceEpoch - 301)) == .refused(.staleTimestamp))
        #expect(verify(String(now.secondsSinceEpoch + 400)) == .refused(.staleTimestamp))
        #expect(verify("yesterday") == .refused(.malformedTimestamp))
        #expect(WebhookRefusal.malformedTimestamp.status == .badRequest)
    }

    @Test func bodyCapAndRedactedKeys() {
        let key = WebhookKey("super-secret-value")
        let verifier = WebhookVerifier(keys: [key])
        let big = [UInt8](repeating: 0x20, count: WebhookVerifier.maxBodyBytes + 1)
        #expect(verifier.verify(body: big, headers: headers([("X-Webhook-Signature", WebhookVerifier.signature(of: big, key: key))]), now: now)
            == .refused(.bodyTooLarge))
        #expect(!String(describing: key).contains("super"))
        #expect(!String(reflecting: verifier).contains("super"))
        #expect(!String(describing: verifier).contains("super"))
    }
}
