import Diagnostics
import Manifest

extension LintRule {
    /// Found by the compiler (`checkSecretLengths`), which `validate` runs too.
    static let secretTooShort = LintRule(
        id: "secret-too-short", severity: .warning, origin: .compiler,
        summary: "a SecretStore value shorter than 4 characters, which the runner does not mask",
        rationale: """
            The runner masks SecretStore values as `***` in logs, events and outputs. A value of 1 \
            to 3 characters is not masked: masking it would replace every `1`, `id` or `yes` in \
            every log (`retries=*** step *** of 1***`) and could turn a captured JSON key into \
            `***`. Such a value is no secret worth the name anyway: a 3-character value is guessed \
            in at most a few million tries. The runner records the names of the values it leaves \
            unmasked (`unmasked_secrets` in `task_started`, and a note in the progress lines). \
            Use a longer value, or keep a value that is not secret in an EnvStore.
            """,
        examples: [
            LintExample(
                "a one-digit value and a two-letter one in a SecretStore", triggers: true,
                """
                apiVersion: orchestrator.dev/v2
                kind: SecretStore
                metadata:
                  name: deploy
                spec:
                  data:
                    API_TOKEN: {fromEnv: API_TOKEN}
                    REGION: eu
                #           ^ expect
                    RETRIES: "3"
                #            ^ expect
                """),
            LintExample(
                "short settings in an EnvStore, the secret from the environment", triggers: false,
                """
                apiVersion: orchestrator.dev/v2
                kind: EnvStore
                metadata:
                  name: deploy-settings
                spec:
                  data:
                    REGION: eu
                    RETRIES: "3"
                ---
                apiVersion: orchestrator.dev/v2
                kind: SecretStore
                metadata:
                  name: deploy
                spec:
                  data:
                    API_TOKEN: {fromEnv: API_TOKEN}
                    PIN: "4821"
                """),
        ],
        check: { _ in [] })
}

/// The length below which the runner does not mask a secret (its `SecretMasker.minimumLength`).
public enum SecretLength {
    public static let minimumMasked = 4
}

extension CompileContext {
    /// `secret-too-short` at each literal SecretStore value of 1 to 3 characters.
    mutating func checkSecretLengths(_ store: StoreSpec, of resource: Resource) {
        for entry in store.data {
            guard case .literal(let value) = entry.value.value, !value.isEmpty, value.count < SecretLength.minimumMasked else { continue }
            report(
                .secretTooShort,
                "`\(entry.key.value)` of SecretStore `\(resource.name)` is \(value.count) character\(value.count == 1 ? "" : "s") long: "
                    + "shorter than \(SecretLength.minimumMasked), it is not masked in logs, events or outputs",
                file: resource.file, range: entry.value.range,
                help: "use a value of at least \(SecretLength.minimumMasked) characters, or move a value that is not secret to an EnvStore")
        }
    }
}
