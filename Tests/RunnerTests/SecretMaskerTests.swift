import Expr
import JSON
import Runner
import Testing

@Suite struct SecretMaskerTests {
    let masker = SecretMasker(secrets: ["sk-12345", "sk-123456789", "", "pass"])

    @Test func masksEveryOccurrenceLongestFirst() {
        #expect(masker.mask("key sk-123456789 and sk-12345x and passpass") == "key *** and ***x and ******")
        #expect(masker.mask("nothing here") == "nothing here")
        #expect(SecretMasker.none.mask("sk-12345") == "sk-12345")
        #expect(SecretMasker(secrets: ["é✓ü∂"]).mask("aé✓ü∂b") == "a***b")
    }

    @Test("values shorter than 4 characters are not masked (counted in characters, not bytes)")
    func shortValuesAreNotMasked() {
        let short = SecretMasker(secrets: ["id", "1", "abc", "é✓"])
        #expect(short.isEmpty)
        let log = #"retries=1 step 1 of 12 {"id": "abc", "x": "é✓"}"#
        #expect(short.mask(log) == log)
        // A captured JSON key stays a key.
        #expect(short.mask(JSONValue.object([("id", .string("1"))])) == .object([("id", .string("1"))]))
        let mixed = SecretMasker(secrets: ["id", "abcd"])
        #expect(mixed.mask("id=abcd") == "id=***")
        #expect(SecretMasker.minimumLength == 4)
    }

    @Test("overlapping secrets are masked as their union: no tail or head of either is left")
    func overlappingSecretsAreMaskedAsTheirUnion() {
        let overlapping = SecretMasker(secrets: ["HEADPART-ABCDEF", "ABCDEF-TAILPART"])
        #expect(overlapping.mask("x HEADPART-ABCDEF-TAILPART y") == "x *** y")
        #expect(overlapping.mask("HEADPART-ABCDEF") == "***")
        #expect(overlapping.mask("ABCDEF-TAILPART") == "***")
        // A chain of three overlaps, and one secret overlapping itself.
        let chain = SecretMasker(secrets: ["aaaaXbbbb", "bbbbYcccc", "ccccZdddd"])
        #expect(chain.mask("<aaaaXbbbbYccccZdddd>") == "<***>")
        #expect(SecretMasker(secrets: ["abab"]).mask("-ababab-") == "-***-")
        // Adjacent (not overlapping) occurrences stay separate.
        #expect(SecretMasker(secrets: ["wxyz"]).mask("wxyzwxyz") == "******")
        // Streaming gives the same bytes for every split of an overlap.
        let text = Array("x HEADPART-ABCDEF-TAILPART y HEADPART-ABCDEF".utf8)
        let expected = overlapping.mask(text)
        #expect(String(decoding: expected, as: UTF8.self) == "x *** y ***")
        for first in 0...text.count {
            for second in first...text.count {
                var stream = overlapping.stream()
                var out = stream.feed(Array(text[0..<first]))
                out += stream.feed(Array(text[first..<second]))
                out += stream.feed(Array(text[second...]))
                out += stream.finish()
                #expect(out == expected, "split at \(first), \(second)")
            }
        }
    }

    @Test func masksJSONValues() {
        let value = JSONValue.object([
            ("token", .string("pass")), ("list", .array([.string("a sk-12345 b"), .int(3)])), ("pass", .bool(true)),
        ])
        #expect(
            masker.mask(value)
                == .object([("token", .string("***")), ("list", .array([.string("a *** b"), .int(3)])), ("***", .bool(true))]))
    }

    @Test func streamingMatchesWholeTextForEverySplit() {
        let text = Array("xsk-123456789ysk-12345zpassk-1sk-12345".utf8)
        let expected = masker.mask(text)
        #expect(String(decoding: expected, as: UTF8.self) == "x***y***z***k-1***")
        // Every way of cutting the stream in two and three pieces gives the same bytes.
        for first in 0...text.count {
            for second in first...text.count {
                var stream = masker.stream()
                var out = stream.feed(Array(text[0..<first]))
                out += stream.feed(Array(text[first..<second]))
                out += stream.feed(Array(text[second...]))
                out += stream.finish()
                #expect(out == expected, "split at \(first), \(second)")
            }
        }
        // One byte at a time.
        var stream = masker.stream()
        var out: [UInt8] = []
        for byte in text { out += stream.feed([byte]) }
        out += stream.finish()
        #expect(out == expected)
    }

    @Test func streamHoldsBackOnlyAPossiblePrefix() {
        var stream = masker.stream()
        let out = stream.feed(Array("hello world, no secrets".utf8))
        // At most longest - 1 bytes stay buffered.
        #expect(out.count >= "hello world, no secrets".utf8.count - (masker.longestSecretLength - 1))
        #expect(out + stream.finish() == Array("hello world, no secrets".utf8))
    }
}

@Suite struct RedactionTests {
    static let redaction = Redaction(patterns: ["token", "password", "api_key", "authorization"].compactMap { try? Regex($0) })

    func redact(_ text: String) -> String { String(decoding: Self.redaction.redact(Array(text.utf8)), as: UTF8.self) }

    @Test("the value after a matching name is masked, in the forms logs and JSON write; the name stays")
    func forms() {
        #expect(redact("API_KEY=abc123 next") == "API_KEY=*** next")
        #expect(redact("{\"access_token\": \"t-1\", \"user\": \"me\"}") == "{\"access_token\": \"***\", \"user\": \"me\"}")
        #expect(redact("Authorization: Bearer abc.def") == "Authorization: Bearer ***")
        #expect(redact("db_password: 'p w'") == "db_password: '***'")
        // Not assignments: a word in prose, a YAML key with a block below, a URL.
        #expect(redact("the token expired") == "the token expired")
        #expect(redact("password:\n  - x") == "password:\n  - x")
        #expect(redact("see https://example.com/token") == "see https://example.com/token")
        #expect(redact("user=me") == "user=me")
        // Values that are no credential stay readable.
        #expect(redact("{\"password_policy\": {\"min\": 8}, \"max_tokens\": 4096, \"secret_set\": true}")
            == "{\"password_policy\": {\"min\": 8}, \"max_tokens\": 4096, \"secret_set\": true}")
        #expect(redact("api_key=12345678") == "api_key=***")
    }

    @Test("a stream redacts whole lines: any chunking gives what masking the whole text gives")
    func streaming() {
        let masker = SecretMasker(secrets: ["s3cr3t-value"], redaction: Self.redaction)
        let text = "start\ntoken=abcdef and s3cr3t-value\npassword: \"x y\"\nno newline api_key=zz"
        let whole = masker.mask(Array(text.utf8))
        for size in [1, 2, 3, 7, 16, 1000] {
            var stream = masker.stream()
            var out: [UInt8] = []
            var index = 0
            let bytes = Array(text.utf8)
            while index < bytes.count {
                out += stream.feed(Array(bytes[index..<min(bytes.count, index + size)]))
                index += size
            }
            out += stream.finish()
            #expect(out == whole, "chunks of \(size)")
        }
        #expect(String(decoding: whole, as: UTF8.self) == "start\ntoken=*** and ***\npassword: \"***\"\nno newline api_key=***")
    }
}
