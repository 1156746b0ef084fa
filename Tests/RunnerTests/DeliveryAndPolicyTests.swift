import Diagnostics
import Foundation
import Manifest
import Runner
import Testing

private func located<T: Sendable>(_ value: T) -> Located<T> { Located(value, range: SourceRange(at: .start)) }

private let hostilePrompt = "Fix \"it\"; rm -rf ~; echo \"\n$(id) `id` it's \\ {goal} {other}\n"

@Suite struct PromptDeliveryTests {
    private func run(_ invocation: AgentInvocation, in dir: TemporaryDirectory, name: String) throws -> String {
        var request = dir.request(invocation.command, name: name)
        request.standardInput = invocation.standardInput
        request.environment = invocation.environment
        return contents(try ProcessLauncher.runBlocking(request).stdoutLogPath)
    }

    @Test func argSubstitutesTheQuotedPrompt() throws {
        let dir = TemporaryDirectory("arg")
        let invocation = try PromptDelivering.prepare(
            command: "printf '%s' \"{prompt}\" && printf '|%s' {goal}", prompt: hostilePrompt, delivery: .arg,
            values: ["goal": "g o"], promptDirectory: dir.path)
        #expect(invocation.missing.isEmpty && invocation.unsafe.isEmpty)
        #expect(invocation.standardInput == .null)
        #expect(try run(invocation, in: dir, name: "arg") == hostilePrompt + "|g o")
    }

    @Test func stdinCarriesThePrompt() throws {
        let dir = TemporaryDirectory("stdin-delivery")
        let invocation = try PromptDelivering.prepare(
            command: "cat", prompt: hostilePrompt, delivery: .stdin, values: [:], promptDirectory: dir.path)
        #expect(invocation.command == "cat")
        #expect(try run(invocation, in: dir, name: "stdin") == hostilePrompt)
        // `{prompt}` has no value with stdin delivery: literal and reported.
        let mentioned = try PromptDelivering.prepare(
            command: "agent -p {prompt}", prompt: "x", delivery: .stdin, values: [:], promptDirectory: dir.path)
        #expect(mentioned.command == "agent -p {prompt}")
        #expect(mentioned.missing == ["prompt"])
    }

    @Test func fileIsOwnerOnlyAndItsPathIsThePlaceholder() throws {
        let dir = TemporaryDirectory("file-delivery")
        let invocation = try PromptDelivering.prepare(
            command: "cat {prompt}", prompt: hostilePrompt, delivery: .file, values: [:], promptDirectory: dir.path)
        let path = try #require(invocation.promptFilePath)
        #expect(path.hasPrefix(dir.path + "/prompt-") && path.hasSuffix(".txt"))
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        #expect(try run(invocation, in: dir, name: "file") == hostilePrompt)
        invocation.removePromptFile()
        #expect(!FileManager.default.fileExists(atPath: path))

        #expect(throws: PromptDeliveryError.self) {
            try PromptDelivering.prepare(
                command: "cat {prompt}", prompt: "x", delivery: .file, values: [:], promptDirectory: dir.file("missing"))
        }
    }

    @Test func envSetsORCHESTRATOR_PROMPT() throws {
        let dir = TemporaryDirectory("env-delivery")
        let invocation = try PromptDelivering.prepare(
            command: "printf '%s' \"$ORCHESTRATOR_PROMPT\"", prompt: hostilePrompt, delivery: .env, values: [:],
            promptDirectory: dir.path)
        #expect(invocation.environment == ["ORCHESTRATOR_PROMPT": hostilePrompt])
        #expect(try run(invocation, in: dir, name: "env") == hostilePrompt)
    }
}

@Suite struct ExecutionPolicyTests {
    @Test func hostProfileHasNothingToReport() {
        let policy = ExecutionPolicy(profile: ExecutionProfileSpec())
        #expect(policy == .host)
    }

    @Test func everyUnenforceableSettingIsANotice() {
        var profile = ExecutionProfileSpec()
        profile.mode = located(.sandbox)
        profile.fsMode = located(.workspace_readonly)
        profile.writablePaths = [located("out")]
        profile.readablePaths = [located("src")]
        profile.networkMode = located(.allowlist)
        profile.networkAllowlist = [located("api.example.com:443")]
        profile.maxMemoryMB = located(256)
        profile.maxCPUSeconds = located(60)
        profile.maxProcesses = located(50)
        profile.maxOpenFiles = located(128)
        let policy = ExecutionPolicy(profile: profile)
        #expect(policy.limits == ResourceLimits(maxMemoryMB: 256, maxCPUSeconds: 60, maxProcesses: 50, maxOpenFiles: 128))
        #expect(
            policy.notices.map(\.setting) == [
                "mode", "fs_mode", "writable_paths", "readable_paths", "network_mode", "max_cpu_seconds", "max_processes",
                "max_memory_mb",
            ])
        #expect(policy.notices.filter { $0.level == .notEnforced }.count == 5)
        #expect(policy.notices[4].message.contains("api.example.com:443"))
        var deny = ExecutionProfileSpec()
        deny.networkMode = located(.deny)
        #expect(ExecutionPolicy(profile: deny).notices.map(\.description) == ["network_mode: deny: not_enforced: network access is not blocked"])
    }

    @Test func aProfilesLimitsReachTheChild() async throws {
        let dir = TemporaryDirectory("profile")
        var profile = ExecutionProfileSpec()
        profile.maxOpenFiles = located(100)
        profile.maxCPUSeconds = located(7)
        let policy = ExecutionPolicy(profile: profile)
        var request = dir.request("ulimit -n; ulimit -t")
        request.limits = policy.limits
        let result = try await ProcessLauncher.run(request)
        #expect(contents(result.stdoutLogPath) == "100\n7\n")
    }
}
