import Foundation
import Runner
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A fresh directory under /tmp, removed when the value goes away.
final class TemporaryDirectory: @unchecked Sendable {
    let path: String

    init(_ label: String) {
        var template = Array("/tmp/orchestrator-runner-\(label)-XXXXXX".utf8CString)
        path = template.withUnsafeMutableBufferPointer { buffer -> String in
            guard let base = buffer.baseAddress, let made = mkdtemp(base) else { return "/tmp/orchestrator-runner-\(label)-\(getpid())" }
            return String(cString: made)
        }
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func file(_ name: String) -> String { path + "/" + name }

    /// A request whose logs are `NAME.out` / `NAME.err` in this directory.
    func request(_ command: String, name: String = "step", timeout: Duration? = .seconds(20)) -> ProcessRequest {
        ProcessRequest(
            command: command, workingDirectory: path, stdoutLogPath: file("\(name).out"), stderrLogPath: file("\(name).err"),
            timeout: timeout)
    }
}

func contents(_ path: String) -> String {
    (try? String(contentsOfFile: path, encoding: .utf8)) ?? "<unreadable \(path)>"
}

func bytes(_ path: String) -> [UInt8] {
    guard let data = FileManager.default.contents(atPath: path) else { return [] }
    return [UInt8](data)
}

/// The process exists and is not a zombie waiting for its parent.
func isRunning(_ pid: pid_t) -> Bool {
    guard kill(pid, 0) == 0 else { return false }
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
        let close = stat.lastIndex(of: ")")
    else { return false }
    let state = stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).prefix(1)
    return state != "Z" && state != "X"
}
