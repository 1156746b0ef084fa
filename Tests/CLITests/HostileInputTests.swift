import CLI
import Foundation
import JSON
import Testing

/// Hostile input through the commands: what a diagnostic shows of it (issue 22).
@Suite struct HostileInputTests {
    /// A SecretStore with a YAML syntax error on its secret line, and an Agent whose broken
    /// name quotes the same secret value.
    static let leaky = """
        apiVersion: orchestrator.dev/v2
        kind: SecretStore
        metadata:
          name: keys
        spec:
          data:
            API_KEY: "sk-live-4242abcd" trailing
            OTHER: plain-secret-value
        ---
        apiVersion: orchestrator.dev/v2
        kind: Agent
        metadata:
          name: "!sk-live-4242abcd"
          stray: plain-secret-value
        spec:
          command: echo

        """

    static let secrets = ["sk-live-4242abcd", "plain-secret-value"]

    @Test(arguments: ["text", "json", "sarif", "github"])
    func secretStoreValuesNeverShow(format: String) throws {
        let directory = try makeTemporaryDirectory("secret")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Self.leaky.write(toFile: directory + "/leaky.yaml", atomically: true, encoding: .utf8)
        for command in ["validate", "lint"] {
            let result = try runExecutable([command, "-f", directory + "/leaky.yaml", "--format", format])
            #expect(result.status == 1, "\(command) \(format): \(result.stderr)")
            let output = result.stdout + result.stderr
            #expect(output.contains("yaml-syntax"), "\(command) \(format) reports the syntax error: \(output)")
            for secret in Self.secrets {
                #expect(!output.contains(secret), "\(command) \(format) leaks \(secret): \(output)")
            }
        }
    }

    @Test func theSecretLineShowsItsKeyAndAMask() throws {
        let result = runInProcess(["validate", "-f", "-"], stdin: Self.leaky)
        #expect(result.stderr.contains("API_KEY: ***"), "\(result.stderr)")
        // The document after the secret store still fails to parse with the file: the value
        // quoted in the Agent's name is masked when it is shown at all.
        #expect(!result.stderr.contains("sk-live"))
    }

    @Test func aSecretStoreThatParsesKeepsItsValuesOutOfOtherFindings() throws {
        let text = """
            apiVersion: orchestrator.dev/v2
            kind: SecretStore
            metadata:
              name: keys
            spec:
              data:
                TOKEN: "tok-123456789"
            ---
            apiVersion: orchestrator.dev/v2
            kind: Agent
            metadata:
              name: a
              tok-123456789: 1
            spec:
              command: echo

            """
        for format in ["text", "json", "sarif", "github"] {
            let result = runInProcess(["validate", "-f", "-", "--format", format], stdin: text)
            #expect(result.status == 1)
            let output = result.stdout + result.stderr
            #expect(output.contains("unknown-key"), "\(format): \(output)")
            #expect(!output.contains("tok-123456789"), "\(format): \(output)")
        }
    }

    @Test func controlCharactersAndInvalidBytesAreEscaped() throws {
        let directory = try makeTemporaryDirectory("nul")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/nul.yaml"
        FileManager.default.createFile(atPath: path, contents: Data("kind: Agent\nname: a\u{0}b".utf8 + [0xFF, 0x0A]))
        let result = try runExecutable(["validate", "-f", path])
        #expect(result.status == 1)
        #expect(result.stderr.contains("name: a\\x00b\\xFF"), "\(result.stderr)")
        #expect(!result.stderr.utf8.contains(0), "stderr is text")
        #expect(!result.stderr.contains("\u{FFFD}"))
    }

    @Test func aHugeLineShowsAWindowAroundTheColumn() throws {
        let directory = try makeTemporaryDirectory("long")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/long.yaml"
        // A 4 MB one-line document with an error near its middle.
        let half = String(repeating: "x", count: 2_000_000)
        try ("kind: " + half + ": [" + half + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        let result = try runExecutable(["validate", "-f", path])
        #expect(result.status == 1)
        #expect(result.stderr.utf8.count < 4_000, "stderr holds \(result.stderr.utf8.count) bytes")
        let lines = result.stderr.split(separator: "\n")
        // The caret stands under the `:` it points at.
        if let snippet = lines.first(where: { $0.hasPrefix("    1 | ") }), let caret = lines.first(where: { $0.contains("^") }),
            let caretIndex = caret.firstIndex(of: "^")
        {
            let column = caret.distance(from: caret.startIndex, to: caretIndex)
            let marked = snippet[snippet.index(snippet.startIndex, offsetBy: column)...]
            #expect(marked.hasPrefix(": ["), "\(snippet)\n\(caret)")
            #expect(snippet.hasPrefix("    1 | …") && snippet.hasSuffix("…"))
        } else {
            Issue.record("no snippet: \(result.stderr)")
        }
    }
}
