import Diagnostics
import Manifest

extension LintRule {
    static let secretInPlainText = LintRule(
        id: "secret-in-plain-text", severity: .warning,
        summary: "an Agent env value or an EnvStore (or SecretStore) value written in the file that looks like a credential",
        rationale: """
            A credential written into a manifest ends up in version control, in every copy of the \
            file and, for Agent `env` and EnvStores, in plain output: `get`, `describe` and `export` \
            print them, since only SecretStore values are masked. Take credentials from the \
            environment instead: a SecretStore entry `{fromEnv: NAME}`, named by the agent's `env`. \
            The rule reports a literal Agent env or EnvStore value whose name says it is a credential \
            (its words include token, password, secret, credential, api key, access key, private key) \
            and any literal value, SecretStores included, shaped like a known key format (Anthropic, \
            OpenAI, GitHub, GitLab, Slack, AWS, Google, Hugging Face, npm, Stripe keys, JWTs, PEM \
            private keys). Placeholder values (`changeme`, `<token>`, `${TOKEN}`, `xxxx`) are not reported.
            """,
        examples: [
            LintExample(
                "a GitHub token in an EnvStore, an API key in an agent's env", triggers: true,
                """
                apiVersion: orchestrator.dev/v2
                kind: EnvStore
                metadata:
                  name: ci
                spec:
                  data:
                    REPO: acme/shop
                    GITHUB_TOKEN: ghp_4fJ8kLm2Nq7Rs9Tv1Wx3Yz5Ab6Cd8Ef0Gh2
                #                 ^ expect
                ---
                apiVersion: orchestrator.dev/v2
                kind: Agent
                metadata:
                  name: reviewer
                spec:
                  capabilities: [review]
                  command: review-bot -p "{prompt}"
                  env:
                    - fromRef: ci
                    - name: REVIEW_API_KEY
                      value: r3v13w-8d7f6a5e4c3b
                #            ^ expect
                """),
            LintExample(
                "credentials taken from the environment", triggers: false,
                """
                apiVersion: orchestrator.dev/v2
                kind: SecretStore
                metadata:
                  name: ci
                spec:
                  data:
                    GITHUB_TOKEN: {fromEnv: GITHUB_TOKEN}
                    MAX_TOKENS: "4096"
                ---
                apiVersion: orchestrator.dev/v2
                kind: Agent
                metadata:
                  name: reviewer
                spec:
                  capabilities: [review]
                  command: review-bot -p "{prompt}"
                  env:
                    - fromRef: ci
                    - name: REVIEW_MODEL
                      value: claude-sonnet-4-6
                """),
        ],
        check: SecretInPlainText.check)
}

enum SecretInPlainText {
    static func check(_ context: LintContext) -> [Diagnostic] {
        var findings: [Diagnostic] = []
        func report(_ resource: Resource, _ name: String, _ value: String, range: SourceRange, keyNameCounts: Bool) {
            let shape = CredentialShapes.knownFormat(value)
            let named = keyNameCounts && CredentialShapes.isCredentialName(name) && !CredentialShapes.isPlaceholderValue(value)
            guard shape != nil || named else { return }
            let why = shape.map { "looks like \($0)" } ?? "is named like a credential"
            let place: String
            switch resource.kind {
            case .agent: place = "env `\(name)` of agent `\(resource.name)`"
            default: place = "`\(name)` of \(resource.kind.rawValue) `\(resource.name)`"
            }
            findings.append(
                LintRule.secretInPlainText.finding(
                    "\(place) is written in plain text and \(why)", file: resource.file, range: range,
                    help: resource.kind == .secretStore
                        ? "take it from the environment: `\(name): {fromEnv: \(name)}`"
                        : "move it to a SecretStore as `\(name): {fromEnv: \(name)}` and name the store in the agent's `env`"))
        }
        for resource in context.resources {
            switch resource.spec {
            case .agent(let agent):
                for entry in agent.env {
                    guard case .literal(let name, let value) = entry.value else { continue }
                    report(resource, name.value, value.value, range: value.range, keyNameCounts: true)
                }
            case .envStore(let store), .secretStore(let store):
                for entry in store.data {
                    guard case .literal(let value) = entry.value.value else { continue }
                    report(resource, entry.key.value, value, range: entry.value.range, keyNameCounts: resource.kind == .envStore)
                }
            default:
                break
            }
        }
        return findings
    }
}

/// Heuristics for credentials: names that say so, and the shapes of well-known key formats.
enum CredentialShapes {
    /// The words of a name: split at `_`, `-`, `.` and lower-to-upper case changes, lowercased.
    static func words(_ name: String) -> [String] {
        var words: [String] = []
        var current = ""
        var previousLower = false
        for character in name {
            if character == "_" || character == "-" || character == "." || character == " " {
                if !current.isEmpty { words.append(current.lowercased()) }
                current = ""
                previousLower = false
                continue
            }
            if character.isUppercase, previousLower, !current.isEmpty {
                words.append(current.lowercased())
                current = ""
            }
            current.append(character)
            previousLower = character.isLowercase || character.isNumber
        }
        if !current.isEmpty { words.append(current.lowercased()) }
        return words
    }

    static let credentialWords: Set<String> = [
        "token", "password", "passwd", "pwd", "secret", "credential", "credentials", "apikey", "passphrase",
    ]
    static let credentialPairs: [(String, String)] = [
        ("api", "key"), ("access", "key"), ("private", "key"), ("secret", "key"), ("client", "secret"), ("auth", "key"),
    ]

    static func isCredentialName(_ name: String) -> Bool {
        let parts = words(name)
        if parts.contains(where: credentialWords.contains) { return true }
        for (first, second) in credentialPairs {
            for index in parts.indices.dropLast() where parts[index] == first && parts[index + 1] == second { return true }
        }
        return false
    }

    /// Values that stand for a credential without being one.
    static func isPlaceholderValue(_ value: String) -> Bool {
        let trimmed = value.trimmingBlanks
        if trimmed.count < 6 { return true }
        let lower = trimmed.lowercased()
        if trimmed.hasPrefix("$") || trimmed.hasPrefix("<") || trimmed.hasPrefix("{") || trimmed.hasPrefix("***") { return true }
        if trimmed.contains(" ") { return true }
        if trimmed.allSatisfy({ $0.isNumber }) { return true }
        for word in ["changeme", "change-me", "change_me", "placeholder", "example", "your", "dummy", "redacted", "todo", "xxx", "none", "null"]
        where lower.contains(word) {
            return true
        }
        return Set(lower).count <= 2
    }

    /// The key format `value` has, in words ("a GitHub token"), or nil.
    static func knownFormat(_ value: String) -> String? {
        let text = value.trimmingBlanks
        func body(after prefix: String, minimum: Int, uppercase: Bool = false) -> Bool {
            CredentialShapes.hasBody(text, after: prefix, minimum: minimum, uppercase: uppercase)
        }
        if body(after: "sk-ant-", minimum: 20) { return "an Anthropic API key" }
        if body(after: "sk-proj-", minimum: 20) || body(after: "sk-", minimum: 32) { return "an OpenAI API key" }
        for prefix in ["ghp_", "gho_", "ghu_", "ghs_", "ghr_"] where body(after: prefix, minimum: 30) { return "a GitHub token" }
        if body(after: "github_pat_", minimum: 22) { return "a GitHub token" }
        if body(after: "glpat-", minimum: 20) { return "a GitLab token" }
        for prefix in ["xoxb-", "xoxp-", "xoxa-", "xoxr-", "xoxs-"] where body(after: prefix, minimum: 10) { return "a Slack token" }
        for prefix in ["AKIA", "ASIA"]
        where body(after: prefix, minimum: 16, uppercase: true) && text.count == 20 {
            return "an AWS access key id"
        }
        if body(after: "AIza", minimum: 35) { return "a Google API key" }
        if body(after: "hf_", minimum: 30) { return "a Hugging Face token" }
        if body(after: "npm_", minimum: 36) { return "an npm token" }
        for prefix in ["sk_live_", "rk_live_"] where body(after: prefix, minimum: 20) { return "a Stripe key" }
        if text.hasPrefix("-----BEGIN"), text.contains("PRIVATE KEY") { return "a PEM private key" }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        if text.hasPrefix("eyJ"), parts.count == 3, text.count >= 40, parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(isTokenCharacter) }) {
            return "a JSON Web Token"
        }
        return nil
    }

    static func hasBody(_ text: String, after prefix: String, minimum: Int, uppercase: Bool) -> Bool {
        guard text.hasPrefix(prefix) else { return false }
        let rest = text.dropFirst(prefix.count)
        guard rest.count >= minimum else { return false }
        if uppercase { return rest.allSatisfy { $0.isASCII && ($0.isUppercase || $0.isNumber) } }
        return rest.allSatisfy(isTokenCharacter)
    }

    static func isTokenCharacter(_ character: Character) -> Bool {
        character.isASCII && (character.isLetter || character.isNumber || character == "_" || character == "-")
    }
}

extension String {
    var trimmingBlanks: String {
        var scalars = Substring(self)
        while let first = scalars.first, first.isWhitespace { scalars = scalars.dropFirst() }
        while let last = scalars.last, last.isWhitespace { scalars = scalars.dropLast() }
        return String(scalars)
    }
}
