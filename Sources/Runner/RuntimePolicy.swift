import Expr
import JSON
import Manifest
import YAML

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// A project's RuntimePolicy, executed (docs/runner.md "RuntimePolicy"): the shell every step runs
// under and which shells are allowed, the variables of the runner's environment that reach
// steps, the names of secrets whose values are redacted from everything stored and shown, and
// whether a daemon resumes the project's interrupted tasks by itself. One per project; without
// one, the defaults below apply.

public struct RuntimePolicy: Sendable, Equatable {
    public enum Mode: String, Sendable {
        /// The shell and its argument must be in `allowedShells` and `allowedShellArguments`.
        case allowlist
        /// Any shell (the replaced system's `unsafe`, also spelled `legacy`).
        case unsafe
    }

    /// The RuntimePolicy it comes from; nil: the defaults (the project has none).
    public var name: String?
    public var shell: String
    public var shellArgument: String
    public var mode: Mode
    public var allowedShells: [String]
    public var allowedShellArguments: [String]
    /// The runner's variables that reach steps (an agent's own `env` is added to them).
    public var environmentAllowlist: [String]
    public var redactionPatterns: [String]
    /// A daemon queues the project's interrupted tasks again when it starts.
    public var resumeAutomatically: Bool

    public static let defaultAllowedShells = ["/bin/bash", "/bin/zsh", "/bin/sh"]
    public static let defaultAllowedShellArguments = ["-lc", "-c"]
    public static let defaultEnvironmentAllowlist = ["PATH", "HOME", "USER", "LANG", "TERM"]
    public static let defaultRedactionPatterns = ["token", "password", "secret", "api_key", "authorization"]

    /// Without a RuntimePolicy: bash as the replaced system ran it, but not as a login shell
    /// (`-c`, not `-lc`: a login shell re-reads the user's profile for every step, which resets
    /// PATH and costs ~190 ms a step on our machine; docs/compatibility.md), `/bin/sh` where there
    /// is no bash; the allowlist, the five variables and the five redaction patterns.
    public static var defaults: RuntimePolicy {
        RuntimePolicy(
            name: nil, shell: access("/bin/bash", X_OK) == 0 ? "/bin/bash" : "/bin/sh", shellArgument: "-c", mode: .allowlist,
            allowedShells: defaultAllowedShells, allowedShellArguments: defaultAllowedShellArguments,
            environmentAllowlist: defaultEnvironmentAllowlist, redactionPatterns: defaultRedactionPatterns, resumeAutomatically: true)
    }

    /// A RuntimePolicy's spec as decoded (the field tables check the types; what is missing takes
    /// the replaced system's default).
    public init(name: String, spec: Node) {
        let runner = spec["runner"]
        func text(_ node: Node?, _ key: String) -> String? {
            guard case .string(let value)? = node?[key]?.scalar?.value else { return node?[key]?.scalar?.text }
            return value
        }
        func list(_ node: Node?, _ key: String) -> [String]? {
            node?[key]?.sequence?.compactMap { $0.scalar?.text }
        }
        self.name = name
        shell = text(runner, "shell") ?? "/bin/bash"
        shellArgument = text(runner, "shell_arg") ?? "-lc"
        mode = ["unsafe", "legacy"].contains(text(runner, "policy") ?? "") ? .unsafe : .allowlist
        allowedShells = list(runner, "allowed_shells") ?? RuntimePolicy.defaultAllowedShells
        allowedShellArguments = list(runner, "allowed_shell_args") ?? RuntimePolicy.defaultAllowedShellArguments
        environmentAllowlist = list(runner, "env_allowlist") ?? RuntimePolicy.defaultEnvironmentAllowlist
        redactionPatterns = list(runner, "redaction_patterns") ?? RuntimePolicy.defaultRedactionPatterns
        if case .bool(let auto)? = spec["resume"]?["auto"]?.scalar?.value {
            resumeAutomatically = auto
        } else {
            resumeAutomatically = true
        }
    }

    init(
        name: String?, shell: String, shellArgument: String, mode: Mode, allowedShells: [String], allowedShellArguments: [String],
        environmentAllowlist: [String], redactionPatterns: [String], resumeAutomatically: Bool
    ) {
        self.name = name
        self.shell = shell
        self.shellArgument = shellArgument
        self.mode = mode
        self.allowedShells = allowedShells
        self.allowedShellArguments = allowedShellArguments
        self.environmentAllowlist = environmentAllowlist
        self.redactionPatterns = redactionPatterns
        self.resumeAutomatically = resumeAutomatically
    }

    /// Why a step may not start under this policy; nil when it may.
    public var refusal: String? {
        guard mode == .allowlist else { return nil }
        let source = name.map { "RuntimePolicy \($0)" } ?? "the default runtime policy"
        if !allowedShells.contains(shell) {
            return "the shell \(shell) is not in the allowed_shells of \(source) (\(allowedShells.joined(separator: ", ")))"
        }
        if !allowedShellArguments.contains(shellArgument) {
            return "the shell argument \(shellArgument) is not in the allowed_shell_args of \(source) (\(allowedShellArguments.joined(separator: ", ")))"
        }
        return nil
    }

    /// The redaction of `redactionPatterns`; a pattern that is not a valid regular expression is
    /// an error naming it.
    public func redaction() throws(RunnerError) -> Redaction {
        var compiled: [Regex] = []
        for pattern in redactionPatterns {
            do throws(RegexError) {
                compiled.append(try Regex(pattern))
            } catch {
                throw RunnerError("the redaction pattern `\(pattern)` of \(name.map { "RuntimePolicy \($0)" } ?? "the defaults") is not a regular expression: \(error)")
            }
        }
        return Redaction(patterns: compiled)
    }

    /// `shell shell_arg (source)`, for `plan`, `task info` and `task_started`.
    public var summary: String {
        "\(shell) \(shellArgument); env \(environmentAllowlist.joined(separator: ",")); "
            + "redacts \(redactionPatterns.isEmpty ? "nothing" : redactionPatterns.joined(separator: ","))"
            + " (\(name.map { "RuntimePolicy \($0)" } ?? "defaults: the project has no RuntimePolicy"))"
    }

    public var json: JSONValue {
        .object([
            ("source", name.map { .string($0) } ?? .null), ("shell", .string(shell)), ("shell_arg", .string(shellArgument)),
            ("policy", .string(mode.rawValue)), ("env_allowlist", .array(environmentAllowlist.map { .string($0) })),
            ("redaction_patterns", .array(redactionPatterns.map { .string($0) })), ("resume_auto", .bool(resumeAutomatically)),
        ])
    }

    /// The policy of a project's resources: its one RuntimePolicy, or the defaults; several is an error.
    public static func of(_ resources: [Resource], project: String) throws(RunnerError) -> RuntimePolicy {
        var found: [RuntimePolicy] = []
        for resource in resources {
            if case .runtimePolicy(let stored) = resource.spec { found.append(RuntimePolicy(name: resource.name, spec: stored.node)) }
        }
        guard found.count <= 1 else {
            throw RunnerError(
                "project \(project) has \(found.count) RuntimePolicies (\(found.compactMap(\.name).joined(separator: ", "))): one per project; delete all but one")
        }
        return found.first ?? .defaults
    }
}
