import CLI
import Foundation
import JSON
import Store
import Testing

/// A sandbox whose commands run with their own key directory (`XDG_CONFIG_HOME`).
private final class SecretSandbox: @unchecked Sendable {
    let root: String
    var data: String { root + "/data" }
    var config: String { root + "/config" }
    var keyFile: String { config + "/orchestrator/secret.key" }

    init(_ label: String) throws {
        root = try makeTemporaryDirectory(label)
        try FileManager.default.createDirectory(atPath: root + "/ws", withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }

    func cli(_ arguments: [String], config: String? = nil, data: String? = nil) -> CommandResult {
        runInProcess(
            arguments + ["--data-dir", data ?? self.data], environment: ["XDG_CONFIG_HOME": config ?? self.config], directory: root)
    }

    @discardableResult
    func file(_ name: String, _ text: String) throws -> String { try writeFile(root, name, text) }
}

/// `strings` over every file below `directory`: which of `values` it finds.
func stringsScan(_ values: [String], under directory: String) -> [String] {
    var found: [String] = []
    let enumerator = FileManager.default.enumerator(atPath: directory)
    while let relative = enumerator?.nextObject() as? String {
        let path = directory + "/" + relative
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue,
            let bytes = FileManager.default.contents(atPath: path)
        else { continue }
        var runs: [String] = []
        var current: [UInt8] = []
        for byte in Array(bytes) + [0] {
            if (0x20..<0x7F).contains(byte) || byte == 0x09 {
                current.append(byte)
            } else {
                if current.count >= 4 { runs.append(String(decoding: current, as: UTF8.self)) }
                current = []
            }
        }
        // A value counts where it stands as a word: `4821` inside a hash (`ab4821cd`) or a larger
        // number (`14821`) is chance, not a leak.
        func standsAlone(_ value: String, in run: String) -> Bool {
            let text = Array(run.utf8), needle = Array(value.utf8)
            guard needle.count <= text.count else { return false }
            func isWordByte(_ byte: UInt8) -> Bool { (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) }
            for start in 0...(text.count - needle.count) where Array(text[start..<(start + needle.count)]) == needle {
                let before = start == 0 || !isWordByte(text[start - 1])
                let after = start + needle.count == text.count || !isWordByte(text[start + needle.count])
                if before && after { return true }
            }
            return false
        }
        for value in values where runs.contains(where: { standsAlone(value, in: $0) }) { found.append("\(value) in \(relative)") }
    }
    return found
}

private let token = "tok-Zx81-Qm55-Lp09-secret"
private let pin = "4821"

/// A workspace, a SecretStore `keys` with `secrets` (YAML lines), an EnvStore, an agent running
/// `command` with both stores' variables, and a workflow `wf`: the agent's step capturing `capture`
/// (`VAR JSONPATH`) from its stdout, then a command step `then`.
private func manifestStream(secrets: String, command: String, capture: (String, String), then: String) -> String {
    """
    apiVersion: orchestrator.dev/v2
    kind: Workspace
    metadata: {name: ws}
    spec: {root_path: ws, qa_targets: []}
    ---
    apiVersion: orchestrator.dev/v2
    kind: SecretStore
    metadata: {name: keys}
    spec:
      data:
    \(secrets)
    ---
    apiVersion: orchestrator.dev/v2
    kind: EnvStore
    metadata: {name: settings}
    spec:
      data:
        REGION: eu-west-plain-setting
    ---
    apiVersion: orchestrator.dev/v2
    kind: StepTemplate
    metadata: {name: use}
    spec: {prompt: "use the token"}
    ---
    apiVersion: orchestrator.dev/v2
    kind: Agent
    metadata: {name: user}
    spec:
      capabilities: [use]
      env: [{fromRef: keys}, {fromRef: settings}]
      command: '\(command)'
    ---
    apiVersion: orchestrator.dev/v2
    kind: Workflow
    metadata: {name: wf}
    spec:
      steps:
        - id: use
          required_capability: use
          template: use
          behavior:
            captures: [{var: \(capture.0), source: stdout, json_path: "\(capture.1)"}]
        - {id: then, command: '\(then)'}
      loop: {mode: once}

    """
}

private let manifests = manifestStream(
    secrets: "    API_TOKEN: \"\(token)\"\n    PIN: \"\(pin)\"",
    command: #"echo "token=$API_TOKEN pin=$PIN region=$REGION"; printf "{\"t\": \"%s\"}\n" "$API_TOKEN""#,
    capture: ("t", "$.t"), then: #"echo "capture-length=$(printf %s "{t}" | wc -c)""#)

@Suite(.serialized) struct SecretCommandTests {
    @Test("a run leaves no SecretStore value in any file of the data directory; get, describe, export show none")
    func nothingAtRestNothingShown() throws {
        let box = try SecretSandbox("secret-rest")
        let path = try box.file("m.yaml", manifests)
        let run = box.cli(["run", "-f", path, "-W", "wf"])
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        let task = TaskSandbox.taskID(in: run.stdout)
        let logs = box.cli(["task", "logs", task]).stdout
        #expect(logs.contains("token=*** pin=*** region=eu-west-plain-setting"), "\(logs)")
        // Captures read the raw output (issue 11.3): the capture holds the whole token.
        #expect(logs.contains("capture-length=\(token.count)"), "captures read the raw output: \(logs)")
        #expect(stringsScan([token, pin], under: box.data).isEmpty, "\(stringsScan([token, pin], under: box.data))")
        // The control: the scan does find a value that is stored in plain text (an EnvStore's).
        #expect(!stringsScan(["eu-west-plain-setting"], under: box.data).isEmpty)
        #expect(FileManager.default.fileExists(atPath: box.keyFile))
        let mode = try FileManager.default.attributesOfItem(atPath: box.keyFile)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        var shown = ""
        for arguments in [
            ["get", "secretstore", "keys", "-o", "yaml"], ["get", "secretstore", "keys", "-o", "json"], ["get", "secretstores"],
            ["describe", "secretstore/keys"], ["export"], ["event", "list", "--task", task, "-o", "json"], ["task", "info", task, "-o", "json"],
        ] {
            let result = box.cli(arguments)
            #expect(result.status == 0, "\(arguments): \(result.stderr)")
            shown += result.stdout + result.stderr
        }
        #expect(!shown.contains(token))
        #expect(!shown.contains("PIN: \(pin)") && !shown.contains("\"PIN\": \"\(pin)\""))
        #expect(shown.contains("PIN: \"***\""))
    }

    @Test("a 4-digit PIN cannot be recovered from anything describe or get prints (all 10,000 tried)")
    func pinIsNotRecoverableFromHashes() throws {
        let box = try SecretSandbox("secret-pin")
        let path = try box.file("pin.yaml", """
            apiVersion: orchestrator.dev/v2
            kind: SecretStore
            metadata: {name: door}
            spec:
              data:
                PIN: "\(pin)"
            """)
        #expect(box.cli(["apply", "-f", path]).status == 0)
        var printed = ""
        for arguments in [
            ["describe", "secretstore/door"], ["get", "secretstore", "door", "-o", "json"], ["get", "secretstore", "door", "-o", "yaml"],
            ["get", "secretstores"], ["export"],
        ] {
            printed += box.cli(arguments).stdout
        }
        // Every 64-hex-digit string printed, and the PIN's unkeyed hashes (what was printed before).
        let hashes = Set(printed.split(whereSeparator: { !$0.isHexDigit }).map(String.init).filter { $0.count == 64 })
        #expect(!hashes.isEmpty, "describe prints a content hash")
        func unkeyed(_ candidate: String) -> [String] {
            let spec: JSONValue = .object([("data", .object([("PIN", .string(candidate))]))])
            return [JSONValue.object([]), .object([("description", .null)])].map {
                ManifestRecords.contentHash(kind: "SecretStore", apiVersion: "orchestrator.dev/v2", metadata: $0, spec: spec)
            }
        }
        func bruteForce(_ targets: Set<String>) -> String? {
            for number in 0..<10_000 {
                let candidate = String(repeating: "0", count: 4 - String(number).count) + String(number)
                if unkeyed(candidate).contains(where: targets.contains) { return candidate }
            }
            return nil
        }
        // The control: against the unkeyed hash the search finds the PIN.
        #expect(bruteForce([unkeyed(pin)[0]]) == pin)
        #expect(bruteForce(hashes) == nil)
        #expect(!printed.contains("PIN: \(pin)") && !printed.contains("\"\(pin)\""))
    }

    @Test("a copied data directory with another key file: tasks refuse naming the key file (exit 2), status exits 1, get still works")
    func copyWithAnotherKey() throws {
        let box = try SecretSandbox("secret-copy")
        let path = try box.file("m.yaml", manifests)
        #expect(box.cli(["apply", "-f", path]).status == 0)
        let copy = box.root + "/copy"
        try FileManager.default.copyItem(atPath: box.data, toPath: copy)
        let other = box.root + "/other-config"
        let create = box.cli(["task", "create", "-W", "wf", "--no-start"], config: other, data: copy)
        #expect(create.status == 2, "\(create.stdout)\(create.stderr)")
        #expect(create.stderr.contains(other + "/orchestrator/secret.key"))
        #expect(create.stderr.contains("another key file"))
        #expect(!create.stderr.contains(token))
        let status = box.cli(["secret", "key", "status"], config: other, data: copy)
        #expect(status.status == 1)
        #expect(status.stdout.contains("NOT IN THE KEY FILE"))
        let get = box.cli(["get", "secretstore", "keys", "-o", "yaml"], config: other, data: copy)
        #expect(get.status == 0 && get.stdout.contains("\"***\""))
        // With the right key file the copy works.
        #expect(box.cli(["task", "create", "-W", "wf", "--no-start"], data: copy).status == 0)
    }

    @Test("secret key status and rotate: fingerprints only, every value re-encrypted, the task still runs")
    func statusAndRotate() throws {
        let box = try SecretSandbox("secret-rotate")
        let none = box.cli(["secret", "key", "status"])
        #expect(none.status == 0 && none.stdout.contains("not created yet"))
        #expect(!FileManager.default.fileExists(atPath: box.data), "status creates no data directory")
        #expect(box.cli(["secret", "key", "rotate"]).status == 2)
        let path = try box.file("m.yaml", manifests)
        #expect(box.cli(["run", "-f", path, "-W", "wf", "-q"]).status == 0)
        let before = box.cli(["secret", "key", "status", "-o", "json"])
        #expect(before.status == 0, "\(before.stderr)")
        let json = try JSONParser.parse(before.stdout)
        #expect(json["values"]?["total"]?.int == 6)  // 2 in the resource, 2 in its revision, 2 in the task's snapshot
        #expect(json["values"]?["task_snapshots"]?.int == 2)
        let keyText = try String(contentsOfFile: box.keyFile, encoding: .utf8)
        let keyMaterial = keyText.split(separator: "\n").filter { $0.hasPrefix("v1 ") }.map { String($0.split(separator: " ")[3]) }
        #expect(keyMaterial.count == 1)
        #expect(!before.stdout.contains(keyMaterial[0]))
        let rotate = box.cli(["secret", "key", "rotate"])
        #expect(rotate.status == 0, "\(rotate.stderr)")
        #expect(rotate.stdout.contains("re-encrypted 6 value(s)"))
        #expect(!rotate.stdout.contains(keyMaterial[0]))
        let after = try JSONParser.parse(box.cli(["secret", "key", "status", "-o", "json"]).stdout)
        let current = try #require(after["current_key"]?.string)
        #expect(after["values"]?["by_key"] == .object([(current, .int(6))]))
        #expect(box.cli(["apply", "-f", path]).stdout.contains("SecretStore/keys unchanged"))
        let again = box.cli(["run", "-f", path, "-W", "wf"])
        #expect(again.status == 0 && again.stdout.contains("completed"), "\(again.stdout)\(again.stderr)")
        #expect(stringsScan([token, pin], under: box.data).isEmpty)
    }

    @Test("a rotation killed (SIGKILL) at any instant loses nothing")
    func killedRotationLosesNothing() throws {
        let box = try SecretSandbox("secret-kill")
        let path = try box.file("m.yaml", manifests)
        #expect(box.cli(["run", "-f", path, "-W", "wf", "-q"]).status == 0)
        var generator = SystemRandomNumberGenerator()
        for trial in 0..<20 {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: orchestratorExecutable)
            process.arguments = ["secret", "key", "rotate", "--data-dir", box.data]
            process.environment = ["XDG_CONFIG_HOME": box.config, "PATH": "/usr/bin:/bin"]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            usleep(UInt32.random(in: 0...(trial < 10 ? 30_000 : 120_000), using: &generator))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            let status = box.cli(["secret", "key", "status", "-o", "json"])
            #expect(status.status == 0, "trial \(trial): \(status.stdout)\(status.stderr)")
            let json = try JSONParser.parse(status.stdout)
            #expect(json["values"]?["total"]?.int == 6 && json["values"]?["undecryptable"]?.int == 0, "trial \(trial)")
        }
        let store = try SQLResourceStore(
            dataDirectory: box.data, keyFile: SecretKeyFile(environment: ["XDG_CONFIG_HOME": box.config]))
        let stored = try #require(try store.resource(ResourceKey(kind: "SecretStore", project: "default", name: "keys")))
        let opened = try store.secrets.openSpec(stored.spec)
        #expect(opened["data"]?["API_TOKEN"] == .string(token) && opened["data"]?["PIN"] == .string(pin))
        #expect(box.cli(["run", "-f", path, "-W", "wf", "-q"]).status == 0)
    }

    @Test("values under 4 characters: validate and lint warn at them, the runner records them and leaves them unmasked")
    func shortSecrets() throws {
        let box = try SecretSandbox("secret-short")
        let path = try box.file(
            "short.yaml",
            manifestStream(
                secrets: "    ID: id\n    TOKEN: long-enough-secret-value",
                command: #"echo "retries=1 id=$ID"; printf "{\"id\": 7, \"t\": \"%s\"}\n" "$TOKEN""#,
                capture: ("n", "$.id"), then: #"echo "n={n}""#))
        for command in ["validate", "lint"] {
            let result = runInProcess([command, "-f", path], directory: box.root)
            #expect(result.stderr.contains("short.yaml:11:9: warning:"), "\(command): \(result.stderr)")
            #expect(result.stderr.contains("[secret-too-short]"), "\(command): \(result.stderr)")
            #expect(!result.stderr.contains("TOKEN` of SecretStore"))
        }
        let run = box.cli(["run", "-f", path, "-W", "wf"])
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        #expect(run.stdout.contains("secret keys.ID is shorter than 4 characters and is not masked"))
        let task = TaskSandbox.taskID(in: run.stdout)
        let events = try JSONParser.parse(box.cli(["event", "list", "--task", task, "-o", "json"]).stdout).arrayValue ?? []
        let startedEvent = events.first { $0["type"]?.string == "task_started" }
        #expect(startedEvent?["payload"]?["unmasked_secrets"] == .array([.string("keys.ID")]))
        let logs = box.cli(["task", "logs", task]).stdout
        #expect(logs.contains("retries=1 id=id\n{\"id\": 7, \"t\": \"***\"}"), "\(logs)")
        #expect(logs.contains("n=7"), "\(logs)")
    }
}
