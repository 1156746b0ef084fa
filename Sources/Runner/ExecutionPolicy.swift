import Manifest
import Store
import Platform

// What an ExecutionProfile asks for, split into what this platform enforces (resource limits,
// applied to the child process only) and what it cannot (reported as notices, never dropped).

/// Resource limits for one child process (and what it starts: limits are inherited). Each is set
/// as both the soft and the hard limit of the child, so the command cannot raise it again.
public struct ResourceLimits: Sendable, Equatable {
    /// RLIMIT_AS (address space), in MiB.
    public var maxMemoryMB: Int?
    /// RLIMIT_CPU, in seconds of CPU time (per process).
    public var maxCPUSeconds: Int?
    /// RLIMIT_NPROC (processes of the user, counted by the kernel per real user id).
    public var maxProcesses: Int?
    /// RLIMIT_NOFILE.
    public var maxOpenFiles: Int?

    public static let none = ResourceLimits()

    public init(maxMemoryMB: Int? = nil, maxCPUSeconds: Int? = nil, maxProcesses: Int? = nil, maxOpenFiles: Int? = nil) {
        self.maxMemoryMB = maxMemoryMB
        self.maxCPUSeconds = maxCPUSeconds
        self.maxProcesses = maxProcesses
        self.maxOpenFiles = maxOpenFiles
    }

    public var isEmpty: Bool { self == .none }
}

/// A profile setting that this platform does not enforce, or enforces only in part. The runner
/// records each one as an event when the profile is used.
public struct EnforcementNotice: Sendable, Equatable, CustomStringConvertible {
    public enum Level: String, Sendable, Equatable {
        /// Nothing on this platform enforces the setting: the step runs without it.
        case notEnforced = "not_enforced"
        /// Enforced, but not exactly as written (the message says how).
        case partiallyEnforced = "partially_enforced"
    }

    /// The profile key, e.g. `network_mode`.
    public var setting: String
    /// The value as written, e.g. `deny`.
    public var value: String
    public var level: Level
    public var message: String

    public init(setting: String, value: String, level: Level, message: String) {
        self.setting = setting
        self.value = value
        self.level = level
        self.message = message
    }

    public var description: String { "\(setting): \(value): \(level.rawValue): \(message)" }
}

/// An ExecutionProfile read for the launcher: the limits to apply and the notices to record.
public struct ExecutionPolicy: Sendable, Equatable {
    public var limits: ResourceLimits
    public var notices: [EnforcementNotice]

    public init(limits: ResourceLimits = .none, notices: [EnforcementNotice] = []) {
        self.limits = limits
        self.notices = notices
    }

    /// The implicit `host` profile: no limits, nothing to report.
    public static let host = ExecutionPolicy()

    /// Reads a profile. Every setting that asks for isolation this platform cannot give is a
    /// notice; the resource limits become `limits` (their notices, if any, come from the launch,
    /// which knows the user and the hard limits).
    public init(profile: ExecutionProfileSpec) {
        var notices: [EnforcementNotice] = []
        let mode = profile.mode?.value ?? .host
        if mode == .sandbox {
            notices.append(
                EnforcementNotice(
                    setting: "mode", value: mode.rawValue, level: .notEnforced,
                    message: "no sandbox is available on this platform; the step runs on the host as the runner's user"))
        }
        if let fsMode = profile.fsMode?.value, fsMode != .inherit {
            notices.append(
                EnforcementNotice(
                    setting: "fs_mode", value: fsMode.rawValue, level: .notEnforced,
                    message: "filesystem isolation is not enforced; the step can read and write what the runner's user can"))
        }
        if !profile.writablePaths.isEmpty {
            notices.append(
                EnforcementNotice(
                    setting: "writable_paths", value: profile.writablePaths.map(\.value).joined(separator: ", "),
                    level: .notEnforced, message: "write access is not restricted to these paths"))
        }
        if !profile.readablePaths.isEmpty {
            notices.append(
                EnforcementNotice(
                    setting: "readable_paths", value: profile.readablePaths.map(\.value).joined(separator: ", "),
                    level: .notEnforced, message: "read access is not restricted to these paths"))
        }
        if let network = profile.networkMode?.value, network != .inherit {
            let what =
                network == .deny
                ? "network access is not blocked"
                : "network access is not limited to the allowlist (\(profile.networkAllowlist.map(\.value).joined(separator: ", ")))"
            notices.append(
                EnforcementNotice(setting: "network_mode", value: network.rawValue, level: .notEnforced, message: what))
        }
        limits = ResourceLimits(
            maxMemoryMB: profile.maxMemoryMB?.value, maxCPUSeconds: profile.maxCPUSeconds?.value,
            maxProcesses: profile.maxProcesses?.value, maxOpenFiles: profile.maxOpenFiles?.value)
        if let cpu = limits.maxCPUSeconds {
            notices.append(
                EnforcementNotice(
                    setting: "max_cpu_seconds", value: String(cpu), level: .partiallyEnforced,
                    message: "RLIMIT_CPU limits each process of the step separately, not the step's processes together"))
        }
        if let processes = limits.maxProcesses {
            notices.append(
                EnforcementNotice(
                    setting: "max_processes", value: String(processes), level: .partiallyEnforced,
                    message: "RLIMIT_NPROC counts every process of the runner's user, not only the step's"))
        }
        if let memory = limits.maxMemoryMB {
            notices.append(
                EnforcementNotice(
                    setting: "max_memory_mb", value: String(memory), level: .partiallyEnforced,
                    message: "RLIMIT_AS limits the virtual address space of each process, not the resident memory of the step"))
        }
        self.notices = notices
    }
}
