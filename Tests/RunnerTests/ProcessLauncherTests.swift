import Foundation
import Manifest
import Runner
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `ls -l /proc/self/fd` shows only 0, 1, 2 and the directory ls itself reads (nothing the
/// runner or its parent had open leaked into the child).
func onlyStandardDescriptors(listing: String) -> Bool {
    var descriptors: [String: String] = [:]
    for line in listing.split(separator: "\n") {
        let parts = line.components(separatedBy: " -> ")
        guard parts.count == 2, let fd = parts[0].split(separator: " ").last else { continue }
        descriptors[String(fd)] = parts[1]
    }
    let others = descriptors.filter { !["0", "1", "2"].contains($0.key) }
    return descriptors.keys.contains("1") && others.count == 1 && others.values.allSatisfy { $0.hasPrefix("/proc/") }
}

@Suite struct ProcessLauncherTests {
    @Test func exitCodesAndSignals() async throws {
        let dir = TemporaryDirectory("exit")
        let ok = try await ProcessLauncher.run(dir.request("true", name: "ok"))
        #expect(ok.termination == .exited(0))
        #expect(ok.succeeded)
        let three = try await ProcessLauncher.run(dir.request("exit 3", name: "three"))
        #expect(three.termination == .exited(3))
        #expect(three.exitCode == 3)
        #expect(!three.succeeded)
        let killed = try await ProcessLauncher.run(dir.request("kill -9 $$", name: "killed"))
        #expect(killed.termination == .signaled(9))
        #expect(killed.exitCode == 137)
        #expect(!killed.timedOut)
    }

    @Test func outputStreamsLandInTheirLogs() async throws {
        let dir = TemporaryDirectory("logs")
        let result = try await ProcessLauncher.run(dir.request("echo out; echo err >&2; printf 'no newline'"))
        #expect(contents(result.stdoutLogPath) == "out\nno newline")
        #expect(contents(result.stderrLogPath) == "err\n")
        #expect(result.stdoutBytes == 14)
        #expect(result.stderrBytes == 4)
        // Logs are for the owner only.
        let attributes = try FileManager.default.attributesOfItem(atPath: result.stdoutLogPath)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
    }

    @Test func runsInTheWorkingDirectoryAndRefusesAMissingOne() async throws {
        let dir = TemporaryDirectory("cwd")
        try FileManager.default.createDirectory(atPath: dir.file("sub dir"), withIntermediateDirectories: false)
        var request = dir.request("pwd")
        request.workingDirectory = dir.file("sub dir")
        let result = try await ProcessLauncher.run(request)
        #expect(contents(result.stdoutLogPath) == dir.file("sub dir") + "\n")

        request.workingDirectory = dir.file("missing")
        await #expect(throws: LaunchError.workingDirectoryMissing(dir.file("missing"))) {
            try await ProcessLauncher.run(request)
        }
    }

    @Test func timeoutKillsTheWholeProcessTree() async throws {
        let dir = TemporaryDirectory("timeout")
        // The shell prints its own pid, starts a background sleep, prints its pid, then becomes a
        // foreground sleep (exec keeps the pid).
        var request = dir.request("echo $$; sleep 100 & echo $!; exec sleep 100", timeout: .seconds(1))
        request.terminationGracePeriod = .seconds(1)
        let started = Date()
        let result = try await ProcessLauncher.run(request)
        let elapsed = Date().timeIntervalSince(started)
        #expect(result.timedOut)
        #expect(result.termination == .signaled(SIGTERM))
        #expect(elapsed < 60)  // far below the 100 s sleeps, with room for a loaded machine
        #expect(result.durationMS >= 1000)
        let pids = contents(result.stdoutLogPath).split(separator: "\n").compactMap { pid_t($0) }
        #expect(pids.count == 2)
        #expect(pids.first == result.pid)
        for pid in pids { #expect(!isRunning(pid), "process \(pid) survived the timeout") }
    }

    @Test func aProcessIgnoringSIGTERMIsKilledAfterTheGracePeriod() async throws {
        let dir = TemporaryDirectory("sigkill")
        var request = dir.request("trap '' TERM; echo $$; sleep 100 & echo $!; wait", timeout: .milliseconds(300))
        request.terminationGracePeriod = .milliseconds(300)
        let result = try await ProcessLauncher.run(request)
        #expect(result.timedOut)
        #expect(result.termination == .signaled(SIGKILL))
        let pids = contents(result.stdoutLogPath).split(separator: "\n").compactMap { pid_t($0) }
        #expect(pids.count == 2)
        for pid in pids { #expect(!isRunning(pid)) }
    }

    @Test func leftoverBackgroundProcessesEndWithTheStep() async throws {
        let dir = TemporaryDirectory("leftover")
        let started = Date()
        let result = try await ProcessLauncher.run(dir.request("sleep 100 & echo $!"))
        #expect(Date().timeIntervalSince(started) < 60)  // not the 100 s of the sleep (room for a loaded machine)
        #expect(result.termination == .exited(0))
        #expect(result.terminatedLeftoverProcesses)
        let pid = pid_t(contents(result.stdoutLogPath).trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(pid != nil)
        if let pid { #expect(!isRunning(pid)) }
    }

    @Test func cancellingTheTaskTerminatesTheGroup() async throws {
        let dir = TemporaryDirectory("cancel")
        let request = dir.request("echo $$; exec sleep 100", timeout: nil)
        let task = Task { try await ProcessLauncher.run(request) }
        try await Task.sleep(for: .milliseconds(300))
        task.cancel()
        let result = try await task.value
        #expect(result.cancelled)
        #expect(!result.timedOut)
        #expect(result.termination == .signaled(SIGTERM))
        #expect(!result.succeeded)
    }

    @Test func aCancellationTokenStopsABlockingRun() async throws {
        let dir = TemporaryDirectory("token")
        var request = dir.request("exec sleep 100", timeout: nil)
        let token = ProcessCancellation()
        request.cancellation = token
        request.terminationGracePeriod = .milliseconds(200)
        let frozen = request
        let running = Task.detached { try ProcessLauncher.runBlocking(frozen) }
        try await Task.sleep(for: .milliseconds(200))
        token.cancel()
        let result = try await running.value
        #expect(result.cancelled && !result.timedOut)
        #expect(result.durationMS < 60000)
    }

    @Test func environmentIsExactlyTheAllowlistPlusExtras() async throws {
        let dir = TemporaryDirectory("env")
        var request = dir.request("env")
        request.environment = ["AGENT_TOKEN": "it's $HOME", "LANG": "C.UTF-8"]
        let result = try await ProcessLauncher.run(request)
        var seen: [String: String] = [:]
        for line in contents(result.stdoutLogPath).split(separator: "\n") {
            guard let eq = line.firstIndex(of: "=") else { continue }
            seen[String(line[..<eq])] = String(line[line.index(after: eq)...])
        }
        #expect(seen["AGENT_TOKEN"] == "it's $HOME")
        #expect(seen["LANG"] == "C.UTF-8")  // an extra wins over the inherited value
        #expect(seen["PATH"] == ProcessInfo.processInfo.environment["PATH"])
        // Nothing else of the runner's environment leaks (the shell itself may add PWD).
        let parent = ProcessInfo.processInfo.environment
        let leaked = parent.keys.filter { !["PATH", "HOME", "USER", "LANG", "TERM", "PWD"].contains($0) && seen[$0] != nil }
        #expect(leaked.isEmpty, "leaked: \(leaked)")
        #expect(parent.keys.contains { !["PATH", "HOME", "USER", "LANG", "TERM", "PWD"].contains($0) })
        let allowed: Set<String> = ["PATH", "HOME", "USER", "LANG", "TERM", "PWD", "AGENT_TOKEN"]
        #expect(Set(seen.keys).subtracting(allowed).isEmpty, "unexpected: \(Set(seen.keys).subtracting(allowed))")

        var none = dir.request("env", name: "none")
        none.inheritedVariables = []
        let empty = try await ProcessLauncher.run(none)
        #expect(!contents(empty.stdoutLogPath).contains("PATH="))
    }

    @Test func standardInputFromBytesFileOrNothing() async throws {
        let dir = TemporaryDirectory("stdin")
        var request = dir.request("cat", name: "bytes")
        let text = "line one\n'quoted' \"double\" $(id)\n" + String(repeating: "x", count: 200_000)
        request.standardInput = .text(text)
        #expect(contents(try await ProcessLauncher.run(request).stdoutLogPath) == text)

        try "from a file".write(toFile: dir.file("input.txt"), atomically: true, encoding: .utf8)
        var fromFile = dir.request("cat", name: "file")
        fromFile.standardInput = .file(dir.file("input.txt"))
        #expect(contents(try await ProcessLauncher.run(fromFile).stdoutLogPath) == "from a file")

        let nothing = try await ProcessLauncher.run(dir.request("cat; echo done", name: "null"))
        #expect(contents(nothing.stdoutLogPath) == "done\n")

        var missing = dir.request("cat", name: "missing")
        missing.standardInput = .file(dir.file("nope"))
        await #expect(throws: LaunchError.cannotOpenInput(path: dir.file("nope"), errno: ENOENT)) {
            try await ProcessLauncher.run(missing)
        }
    }

    @Test func fiftyMegabytesStreamToTheLogWithoutBeingHeldInMemory() async throws {
        let dir = TemporaryDirectory("big")
        var before = rusage()
        getrusage(RUSAGE_SELF.rawValue, &before)
        let size = 50 * 1024 * 1024
        let result = try await ProcessLauncher.run(dir.request("head -c \(size) /dev/zero; echo tail >&2"))
        var after = rusage()
        getrusage(RUSAGE_SELF.rawValue, &after)
        #expect(result.stdoutBytes == Int64(size))
        let attributes = try FileManager.default.attributesOfItem(atPath: result.stdoutLogPath)
        #expect((attributes[.size] as? Int) == size)
        #expect(contents(result.stderrLogPath) == "tail\n")
        // ru_maxrss is in KiB: the peak grew by far less than the output.
        #expect(after.ru_maxrss - before.ru_maxrss < 25 * 1024)
    }

    @Test func secretsAreMaskedInTheLogsEvenAcrossReads() async throws {
        let dir = TemporaryDirectory("mask")
        var request = dir.request("printf 'token=hunter2-secret\\n'; printf 'hunter2-'; sleep 0.2; printf 'secret done'; echo hunter2-secret >&2")
        request.masker = SecretMasker(secrets: ["hunter2-secret"])
        let result = try await ProcessLauncher.run(request)
        #expect(contents(result.stdoutLogPath) == "token=***\n*** done")
        #expect(contents(result.stderrLogPath) == "***\n")
    }

    @Test func resourceLimitsApplyToTheChildOnly() async throws {
        let dir = TemporaryDirectory("limits")
        var request = dir.request("ulimit -n; ulimit -v; ulimit -t; ulimit -p; echo $0 \"$1\"; ls -l /proc/self/fd >&2")
        request.limits = ResourceLimits(maxMemoryMB: 512, maxCPUSeconds: 30, maxProcesses: 200, maxOpenFiles: 64)
        var mine = rlimit()
        getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &mine)
        let result = try await ProcessLauncher.run(request)
        #expect(result.succeeded)
        let lines = contents(result.stdoutLogPath).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(Array(lines.prefix(4)) == ["64", String(512 * 1024), "30", "200"])
        // The command runs as `/bin/sh -c COMMAND` would: no wrapper arguments visible.
        #expect(lines.count > 4 && lines[4] == "/bin/sh ")
        // The gate descriptor is closed before the command runs.
        #expect(onlyStandardDescriptors(listing: contents(result.stderrLogPath)))
        var still = rlimit()
        getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &still)
        #expect(still.rlim_cur == mine.rlim_cur)
        if geteuid() == 0 {
            #expect(result.notices.contains { $0.setting == "max_processes" && $0.level == .notEnforced })
        }

        // Enforced: with 64 descriptors, opening the 70th fails.
        var files = dir.request("for i in $(seq 3 70); do eval \"exec $i>/dev/null\" || exit 9; done", name: "nofile")
        files.limits = ResourceLimits(maxOpenFiles: 64)
        let limited = try await ProcessLauncher.run(files)
        #expect(limited.termination != .exited(0))

        var invalid = dir.request("true", name: "invalid")
        invalid.limits = ResourceLimits(maxOpenFiles: 0)
        await #expect(throws: LaunchError.invalidLimit(name: "max_open_files", value: 0)) {
            try await ProcessLauncher.run(invalid)
        }
    }

    @Test func eightConcurrentSpawns() async throws {
        let dir = TemporaryDirectory("parallel")
        let results = try await withThrowingTaskGroup(of: (Int, ProcessResult).self) { group in
            for index in 0..<8 {
                // A barrier: each child waits until all eight have started, which only happens
                // when they really run side by side (the blocking supervision is off the
                // cooperative pool). Each holds exactly stdin, stdout and stderr: no descriptor of
                // a concurrent launch leaks into it.
                let request = dir.request(
                    """
                    touch started-\(index); n=0
                    while [ "$(ls started-* | wc -l)" -lt 8 ]; do
                      n=$((n+1)); [ $n -gt 300 ] && { echo barrier-missed; exit 99; }; sleep 0.05
                    done
                    echo item-\(index); ls -l /proc/self/fd >&2; exit \(index)
                    """, name: "item\(index)")
                group.addTask { (index, try await ProcessLauncher.run(request)) }
            }
            var all: [(Int, ProcessResult)] = []
            for try await result in group { all.append(result) }
            return all
        }
        #expect(results.count == 8)
        for (index, result) in results {
            #expect(result.termination == .exited(Int32(index)))
            #expect(contents(result.stdoutLogPath) == "item-\(index)\n")
            #expect(onlyStandardDescriptors(listing: contents(result.stderrLogPath)))
        }
    }

    @Test func anOversizedArgumentExplainsTheLimit() async throws {
        let dir = TemporaryDirectory("e2big")
        let huge = "printf '%s' '" + String(repeating: "x", count: 200_000) + "'"
        do {
            _ = try await ProcessLauncher.run(dir.request(huge))
            Issue.record("a 200 KB argument was accepted")
        } catch {
            #expect(error == .spawnFailed(program: "/bin/sh", errno: E2BIG))
            #expect(error.description.contains("promptDelivery stdin or file"))
        }
    }

    @Test func aCommandWithANulByteIsRefused() async throws {
        let dir = TemporaryDirectory("nul")
        await #expect(throws: LaunchError.invalidCommand("it contains a NUL byte")) {
            try await ProcessLauncher.run(dir.request("echo a\u{0}b"))
        }
    }
}
