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
            // An unknown key under an Agent's metadata is a warning (the replaced system ignored it).
            #expect(result.status == 0)
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

    /// Runs the executable with standard input from `stdinPath` (or /dev/null), output to files,
    /// and returns its status, its peak resident memory (KiB, from `wait4`'s rusage) and stderr.
    private func runMeasured(_ arguments: [String], stdinPath: String = "/dev/null", in directory: String) throws -> (status: Int32, maxRSSKiB: Int, stderr: String) {
        let errorPath = directory + "/stderr.txt"
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, stdinPath, O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, errorPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let argv = ([orchestratorExecutable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, orchestratorExecutable, &actions, nil, argv, environ)
        guard spawned == 0 else { throw POSIXError(POSIXErrorCode(rawValue: spawned) ?? .EIO) }
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) < 0 && errno == EINTR {}
        let stderr = (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? ""
        return ((status >> 8) & 0xFF, Int(usage.ru_maxrss), stderr)
    }

    @Test func aFileOverTheLimitIsRefusedBeforeItIsRead() throws {
        let directory = try makeTemporaryDirectory("big")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // 50 MB of manifest text: one valid document repeated.
        let document = "---\napiVersion: orchestrator.dev/v2\nkind: Agent\nmetadata:\n  name: a\nspec:\n  command: echo\n"
        let chunk = String(repeating: document, count: 1 << 14)
        let path = directory + "/big.yaml"
        FileManager.default.createFile(atPath: path, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        var written = 0
        while written < 50_000_000 {
            handle.write(Data(chunk.utf8))
            written += chunk.utf8.count
        }
        try handle.close()

        let small = directory + "/small.yaml"
        try document.write(toFile: small, atomically: true, encoding: .utf8)
        let baseline = try runMeasured(["validate", "-f", small], in: directory)
        #expect(baseline.status == 0, "\(baseline.stderr)")

        let refused = try runMeasured(["validate", "-f", path], in: directory)
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("more than the input limit of 33554432 bytes"), "\(refused.stderr)")
        // Nothing of the 50 MB was read: the peak is that of a tiny validate, give or take 8 MiB.
        #expect(refused.maxRSSKiB < baseline.maxRSSKiB + 8 * 1024, "peak \(refused.maxRSSKiB) KiB, a small file takes \(baseline.maxRSSKiB) KiB")

        // Standard input has no size to stat: it is read in chunks up to the limit, then refused.
        let piped = try runMeasured(["validate", "-f", "-"], stdinPath: path, in: directory)
        #expect(piped.status == 2)
        #expect(piped.stderr.contains("cannot read `-`: it holds more than the input limit"), "\(piped.stderr)")
        #expect(piped.maxRSSKiB < baseline.maxRSSKiB + 48 * 1024, "peak \(piped.maxRSSKiB) KiB for at most 32 MiB read")
    }

    @Test func maxErrorsStopsCollectingAndSaysHowManyMoreThereWere() throws {
        let broken = String(repeating: "---\nkind: Agent\n", count: 1_500)
        let byDefault = runInProcess(["validate", "-f", "-", "--format", "json"], stdin: broken)
        #expect(byDefault.status == 1)
        let summary = try JSONParser.parse(byDefault.stdout)["summary"]
        #expect(summary?["errors"] == .int(1_000))
        #expect(summary?["skipped"] == .int(3_500))
        let text = runInProcess(["validate", "-f", "-", "--max-errors", "10"], stdin: broken)
        #expect(text.stderr.components(separatedBy: ": error: ").count - 1 == 10)
        #expect(text.stderr.contains("10 errors, 0 warnings in 1 file; 4490 more findings skipped"), "\(text.stderr.suffix(300))")
        let github = runInProcess(["lint", "-f", "-", "--max-errors", "10", "--format", "github"], stdin: broken)
        #expect(github.stdout.hasSuffix("::warning title=max-errors::4490 more findings skipped after the first 10 errors (--max-errors; 0 shows all)\n"))
        let sarif = try JSONParser.parse(runInProcess(["validate", "-f", "-", "--max-errors", "10", "--format", "sarif"], stdin: broken).stdout)
        let notification = sarif["runs"]?.arrayValue?.first?["invocations"]?.arrayValue?.first?["toolExecutionNotifications"]?.arrayValue?.first
        #expect(notification?["message"]?["text"]?.stringValue?.hasPrefix("4490 more findings skipped") == true)
        let plan = runInProcess(["plan", "-f", "-", "--max-errors", "10"], stdin: broken)
        #expect(plan.stderr.contains("4490 more findings skipped"))
        let all = runInProcess(["validate", "-f", "-", "--max-errors", "0", "--format", "json"], stdin: broken)
        #expect(try JSONParser.parse(all.stdout)["summary"]?["errors"] == .int(4_500))
        #expect(try JSONParser.parse(all.stdout)["summary"]?["skipped"] == nil)
        let bad = runInProcess(["validate", "-f", "-", "--max-errors", "many"], stdin: broken)
        #expect(bad.status == 2)
    }
}
