import JSON

import Platform

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Maintenance mode of a data directory: while it is on, new tasks are refused and running ones
/// continue. It is a file, `DATA/maintenance.json`, so it holds whether a daemon runs or not and
/// survives restarts (the store takes it over later).
public enum MaintenanceMode {
    public static let fileName = "maintenance.json"

    public static func path(dataDirectory: String) -> String { dataDirectory + "/" + fileName }

    /// When maintenance mode was turned on (UTC, ISO 8601), or nil when it is off.
    public static func enabledSince(dataDirectory: String) -> String? {
        guard let bytes = SmallFile.contents(of: path(dataDirectory: dataDirectory)) else { return nil }
        guard let value = try? JSONParser.parse(bytes), value["enabled"] == .bool(true) else { return nil }
        return value["since"]?.stringValue ?? "an unknown time"
    }

    public static func isEnabled(dataDirectory: String) -> Bool { enabledSince(dataDirectory: dataDirectory) != nil }

    /// Turns the mode on (keeping the time it was first turned on) or off.
    public static func set(_ enabled: Bool, dataDirectory: String) throws(ControlFailure) {
        let file = path(dataDirectory: dataDirectory)
        guard enabled else {
            guard unlink(file) == 0 || errno == ENOENT else {
                throw ControlFailure("cannot remove \(file): \(errnoDescription(errno))")
            }
            return
        }
        if isEnabled(dataDirectory: dataDirectory) { return }
        let value = JSONValue.object([("enabled", .bool(true)), ("since", .string(utcTimestamp()))])
        do throws(AtomicWriteError) {
            try AtomicFile.write(file, Array((JSONWriter().string(value) + "\n").utf8))
        } catch {
            throw ControlFailure(error.description)
        }
    }

    /// The refusal every task-creating command gives while the mode is on.
    public static func refusal(dataDirectory: String, since: String) -> String {
        "maintenance mode is on for \(dataDirectory) (since \(since)): new tasks are refused, running ones continue"
    }

    public static let refusalHelp = "turn it off with `orchestrator daemon maintenance --disable`"
}

/// Reading the small files the daemon writes with `AtomicFile.write` (Platform).
public enum SmallFile {
    /// The whole file (at most 1 MiB), or nil when it cannot be read.
    public static func contents(of path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while result.count < 1 << 20 {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count < 0 { return nil }
            if count == 0 { break }
            result += chunk[..<count]
        }
        return result
    }
}

/// Now, as `2026-12-03T08:00:42Z`.
public func utcTimestamp() -> String {
    var now = time(nil)
    var parts = tm()
    gmtime_r(&now, &parts)
    var buffer = [CChar](repeating: 0, count: 32)
    strftime(&buffer, buffer.count, "%Y-%m-%dT%H:%M:%SZ", &parts)
    return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
