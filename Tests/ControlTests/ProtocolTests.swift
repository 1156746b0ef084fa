import Control
import Daemon
import Foundation
import JSON
import Testing

@Suite("Protocol lines and daemon options")
struct ProtocolTests {
    func rejected(_ text: String) -> RejectedRequest? {
        if case .failure(let rejection) = ControlRequest.decode(Array(text.utf8)) { return rejection }
        return nil
    }

    @Test("a well-formed request decodes; args default to {} and unknown fields are ignored")
    func decodesRequest() throws {
        guard case .success(let request) = ControlRequest.decode(Array(#"{"v":1,"id":"a1","verb":"status","extra":true}"#.utf8)) else {
            Issue.record("the request was rejected")
            return
        }
        #expect(request.verb == "status")
        #expect(request.id == .string("a1"))
        #expect(request.args == .object([]))
        #expect(request.version == 1)
    }

    @Test("bad lines get structured errors, with the id when it could be read")
    func rejectsBadLines() {
        #expect(rejected("not json")?.error.code == .badRequest)
        #expect(rejected("[1,2]")?.error.code == .badRequest)
        #expect(rejected(#"{"id":4,"verb":"ping"}"#)?.error.code == .badRequest)
        #expect(rejected(#"{"id":4,"verb":"ping"}"#)?.id == .int(4))
        #expect(rejected(#"{"v":"1","id":4,"verb":"ping"}"#)?.error.code == .badRequest)
        #expect(rejected(#"{"v":1,"id":[1],"verb":"ping"}"#)?.error.code == .badRequest)
        #expect(rejected(#"{"v":1,"id":5}"#)?.error.code == .badRequest)
        #expect(rejected(#"{"v":1,"id":5,"verb":"ping","args":[]}"#)?.error.code == .badRequest)
        let future = rejected(#"{"v":2,"id":6,"verb":"ping"}"#)
        #expect(future?.error.code == .unsupportedVersion)
        #expect(future?.id == .int(6))
        #expect(future?.error.details?["supported"] == .array([.int(1)]))
        #expect(future?.error.help != nil)
    }

    @Test("every reply kind reads back from its line; only items leave an answer open")
    func repliesRoundTrip() throws {
        let error = ControlError(.unknownVerb, "unknown verb `x`", help: "did you mean `ping`?")
        let replies: [ControlReply] = [.result(.object([("a", .int(1))])), .item(.string("line")), .end(.object([])), .error(error)]
        for reply in replies {
            for streaming in [false, true] {
                let line = reply.line(id: .int(9), streaming: streaming)
                #expect(line.last == 0x0A)
                let decoded = ControlReply.decode(Array(line.dropLast()))
                #expect(decoded?.id == .int(9))
                #expect(decoded?.reply == reply)
            }
        }
        #expect(ControlReply.item(.null).isFinal == false)
        #expect(ControlReply.error(error).isFinal)
        let streamError = try JSONParser.parse(ControlReply.error(error).line(id: .int(1), streaming: true))
        #expect(streamError["end"]?["reason"] == .string("error"))
        #expect(streamError["ok"] == .bool(false))
    }

    @Test("options: defaults, environment, --data-dir precedence and normalisation")
    func optionDefaults() throws {
        let plain = try DaemonOptions.parse([], environment: [:], currentDirectory: "/work/repo")
        #expect(plain.dataDirectory == "/work/repo/.orchestrator")
        #expect(plain.foreground == false && plain.workers == 1 && plain.drainTimeoutSeconds == 30 && plain.mode == .serve)
        let fromEnvironment = try DaemonOptions.parse([], environment: ["ORCHESTRATOR_DATA_DIR": "state"], currentDirectory: "/w")
        #expect(fromEnvironment.dataDirectory == "/w/state")
        let explicit = try DaemonOptions.parse(
            ["--foreground", "--workers", "2", "--data-dir=../d/./x/", "--drain-timeout", "500ms"],
            environment: ["ORCHESTRATOR_DATA_DIR": "/elsewhere"], currentDirectory: "/w/repo")
        #expect(explicit.dataDirectory == "/w/d/x")
        #expect(explicit.foreground && explicit.workers == 2 && explicit.drainTimeoutSeconds == 0.5)
        #expect(
            explicit.serveArguments == [
                "--foreground", "--data-dir", "/w/d/x", "--workers", "2", "--drain-timeout", "500ms", "--event-retention-days", "30",
                "--log-retention-days", "30", "--task-retention-days", "0",
            ])
        let kept = try DaemonOptions.parse(["--event-retention-days", "0", "--task-retention-days=90"], environment: [:], currentDirectory: "/")
        #expect(kept.eventRetentionDays == 0 && kept.logRetentionDays == 30 && kept.taskRetentionDays == 90)
        #expect(throws: DaemonUsageError.self) { try DaemonOptions.parse(["--log-retention-days", "-1"], environment: [:], currentDirectory: "/") }
        let request = try DaemonOptions.parse(["--request", "status", "--args", "{}"], environment: [:], currentDirectory: "/")
        #expect(request.mode == .request(verb: "status", args: "{}"))
    }

    @Test("options: bad values are usage errors that say what to write")
    func optionErrors() {
        func failure(_ arguments: [String]) -> DaemonUsageError? {
            do {
                _ = try DaemonOptions.parse(arguments, environment: [:], currentDirectory: "/")
                return nil
            } catch { return error }
        }
        #expect(failure(["--workers", "0"])?.message.contains("1 to 256") == true)
        #expect(failure(["--workers"])?.message.contains("needs a value") == true)
        #expect(failure(["--drain-timeout", "-3"]) != nil)
        #expect(failure(["--drain-timeout", "soon"]) != nil)
        #expect(failure(["--foregrond"])?.help == "did you mean `--foreground`?")
        #expect(failure(["serve"]) != nil)
        #expect(failure(["--args", "{}"]) != nil)
        #expect(DaemonOptions.duration("2m") == 120)
        #expect(DaemonOptions.duration("1.5s") == 1.5)
    }

    @Test("the log rotates by size and keeps the configured number of old files")
    func logRotation() throws {
        let directory = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let log = DaemonLog(dataDirectory: directory, maxBytes: 10, keep: 2)
        #expect(log.rotateIfNeeded() == false)
        for round in 1...3 {
            try String(repeating: "\(round)", count: 20).write(toFile: log.path, atomically: false, encoding: .utf8)
            #expect(log.rotateIfNeeded())
        }
        #expect(!FileManager.default.fileExists(atPath: log.path))
        #expect(try String(contentsOfFile: log.path + ".1", encoding: .utf8).hasPrefix("3"))
        #expect(try String(contentsOfFile: log.path + ".2", encoding: .utf8).hasPrefix("2"))
        #expect(!FileManager.default.fileExists(atPath: log.path + ".3"))
        try "small".write(toFile: log.path, atomically: false, encoding: .utf8)
        #expect(log.rotateIfNeeded() == false)
    }

    @Test("the lock is exclusive per data directory and names its holder; releasing frees it")
    func lockIsExclusive() throws {
        let directory = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        guard case .success(let first) = DaemonLock.acquire(dataDirectory: directory) else {
            Issue.record("the first lock failed")
            return
        }
        #expect(try String(contentsOfFile: first.path, encoding: .utf8) == "\(getpid())\n")
        guard case .failure(.held(let pid, _)) = DaemonLock.acquire(dataDirectory: directory) else {
            Issue.record("a second lock on the same directory succeeded")
            return
        }
        #expect(pid == getpid())
        first.release()
        guard case .success(let again) = DaemonLock.acquire(dataDirectory: directory) else {
            Issue.record("the lock was not free after release")
            return
        }
        again.release()
    }
}
