import Diagnostics
import Manifest

extension LintRule {
    static let unexpandedEnvReference = LintRule(
        id: "unexpanded-env-reference", severity: .warning,
        summary: "an env or store value written as `${NAME}`, which is kept literally",
        rationale: """
            Store values and Agent `env` values are taken as written: `${DEVTO_API_KEY}` is not \
            expanded from the environment, so the agent gets those fourteen characters instead of the \
            key, and the step fails at run time (or, worse, sends the literal text to a remote API). \
            To take a value from the environment when the step runs, write `{fromEnv: NAME}` in an \
            EnvStore or SecretStore.
            """,
        examples: [
            LintExample(
                "shell syntax in a store value", triggers: true,
                """
                apiVersion: orchestrator.dev/v2
                kind: SecretStore
                metadata:
                  name: devto-api
                spec:
                  data:
                    DEVTO_API_KEY: "${DEVTO_API_KEY}"
                #                  ^ expect
                """),
            LintExample(
                "taken from the environment", triggers: false,
                """
                apiVersion: orchestrator.dev/v2
                kind: SecretStore
                metadata:
                  name: devto-api
                spec:
                  data:
                    DEVTO_API_KEY: {fromEnv: DEVTO_API_KEY}
                """),
        ],
        check: UnexpandedEnvReference.check)
}

private enum UnexpandedEnvReference {
    static func check(_ context: LintContext) -> [Diagnostic] {
        var findings: [Diagnostic] = []
        func inspect(_ resource: Resource, _ name: String, _ value: String, range: SourceRange) {
            guard let reference = reference(in: value) else { return }
            let fix: String
            if resource.kind == .agent {
                fix = "put `\(name): {fromEnv: \(reference)}` in a SecretStore (or EnvStore) and name it in the agent's `env`"
            } else {
                fix = "write `\(name): {fromEnv: \(reference)}`"
            }
            findings.append(
                LintRule.unexpandedEnvReference.finding(
                    "`\(name)` of \(resource.kind.rawValue) `\(resource.name)` is the literal text `\(value)`: values are not expanded from the environment",
                    file: resource.file, range: range, help: fix))
        }
        for resource in context.resources {
            switch resource.spec {
            case .agent(let agent):
                for entry in agent.env {
                    if case .literal(let name, let value) = entry.value { inspect(resource, name.value, value.value, range: value.range) }
                }
            case .envStore(let store), .secretStore(let store):
                for entry in store.data {
                    if case .literal(let value) = entry.value.value { inspect(resource, entry.key.value, value, range: entry.value.range) }
                }
            default:
                break
            }
        }
        return findings
    }

    /// The variable of a value that is a shell reference: `${NAME}` anywhere, or `$NAME` as the
    /// whole value.
    static func reference(in value: String) -> String? {
        let bytes = Array(value.utf8)
        var index = 0
        while index + 3 < bytes.count {
            if bytes[index] == UInt8(ascii: "$"), bytes[index + 1] == UInt8(ascii: "{"), PlaceholderScanner.isNameStart(bytes[index + 2]) {
                var end = index + 2
                while end < bytes.count, PlaceholderScanner.isNameByte(bytes[end]) { end += 1 }
                if end < bytes.count, bytes[end] == UInt8(ascii: "}") || bytes[end] == UInt8(ascii: ":") {
                    return String(decoding: bytes[(index + 2)..<end], as: UTF8.self)
                }
            }
            index += 1
        }
        if bytes.count > 1, bytes[0] == UInt8(ascii: "$"), PlaceholderScanner.isNameStart(bytes[1]),
            bytes.dropFirst().allSatisfy(PlaceholderScanner.isNameByte)
        {
            return String(decoding: bytes.dropFirst(), as: UTF8.self)
        }
        return nil
    }
}
