import Compiler
import Expr
import JSON
import Platform
import Store

// The safety settings executed (docs/safety.md): a checkpoint of the workspace before each
// cycle, the rollback to it when `self_test` fails (`auto_rollback`) or an invariant says so,
// and `safety.invariants` checked at their check points.

extension TaskRunner {
    var checkpointing: Bool { graph.safety.checkpointStrategy != .none }

    /// The ref of a cycle's checkpoint: a tag for `git_tag`, a private ref for `git_stash`.
    func checkpointRef(_ cycle: Int) -> String {
        let name = "orchestrator/\(taskID)/c\(cycle)"
        return graph.safety.checkpointStrategy == .git_tag ? "refs/tags/" + name : "refs/" + name
    }

    func failedRef(_ cycle: Int) -> String {
        let name = "orchestrator/\(taskID)/failed-c\(cycle)"
        return graph.safety.checkpointStrategy == .git_tag ? "refs/tags/" + name : "refs/" + name
    }

    var repository: GitCheckpoints { GitCheckpoints(root: pinned.root, excluded: excludedFromCheckpoints) }

    /// The data directory, when it lies inside the workspace: never part of a checkpoint.
    var excludedFromCheckpoints: [String] {
        var excluded = [".orchestrator"]
        let data = tasks.dataDirectory
        if data.hasPrefix(pinned.root + "/") { excluded.append(String(data.dropFirst(pinned.root.count + 1))) }
        return excluded
    }

    /// Takes the cycle's checkpoint unless it exists (a resume takes none again). A failure
    /// fails the task: a run that was asked to be able to roll back never runs without it.
    func ensureCheckpoint(_ cycle: Int) throws -> StepFlow {
        guard checkpointing else { return .next }
        let git = repository
        let ref = checkpointRef(cycle)
        if git.resolve(ref) != nil { return .next }
        guard git.isRepository else {
            // The replaced system runs on without its checkpoint; so do we, but it is said in the
            // progress, `task info` (a note) and the events, and a rollback says it has nothing.
            let reason =
                "no checkpoint before cycle \(cycle): the workspace root \(pinned.root) is not a git repository (checkpoint_strategy \(graph.safety.checkpointStrategy.rawValue) needs one: `git init` it)"
            try tasks.write { writer in
                try writer.append(NewEvent(.checkpointSkipped, cycle: cycle, step: "checkpoint", payload: .object([("reason", .string(reason))])), task: taskID)
            }
            progress(.note(reason), cycle: cycle)
            return .next
        }
        let commit: String
        do throws(GitCheckpoints.GitFailure) {
            commit = try git.snapshot(message: "orchestrator checkpoint: task \(taskID) before cycle \(cycle)")
            try git.setRef(ref, to: commit)
        } catch {
            return .failTask("the checkpoint before cycle \(cycle) could not be taken: \(error.description)")
        }
        let head = git.head()
        try tasks.write { writer in
            try writer.append(
                NewEvent(
                    .checkpointCreated, cycle: cycle,
                    payload: .object([
                        ("ref", .string(ref)), ("commit", .string(commit)), ("head", head.map { .string($0) } ?? .null),
                        ("strategy", .string(graph.safety.checkpointStrategy.rawValue)),
                    ])), task: taskID)
        }
        progress(.note("checkpoint \(ref.replacingPrefix("refs/tags/", "").replacingPrefix("refs/", "")) = \(commit.prefix(12))"), cycle: cycle)
        return .next
    }

    /// Puts the workspace back to the cycle's checkpoint, keeping the state left on
    /// `failed-cN`; records `rolled_back`. False (with a note) when there is no checkpoint.
    /// `announce: false` leaves the progress line to the caller (`rollBackNote`), so that a
    /// failed step's own line comes first.
    @discardableResult
    func rollBack(_ cycle: Int, reason: String, announce: Bool = true) throws -> Bool {
        let git = repository
        guard checkpointing, let checkpoint = git.resolve(checkpointRef(cycle)) else {
            let note = "auto_rollback: no checkpoint of cycle \(cycle) to roll back to (set safety.checkpoint_strategy); nothing was rolled back"
            if announce { progress(.note(note), cycle: cycle) } else { rollBackNote.withLock { $0 = note } }
            return false
        }
        let failed: String
        do throws(GitCheckpoints.GitFailure) {
            failed = try git.snapshot(message: "orchestrator: the state rolled back in task \(taskID), cycle \(cycle): \(reason)")
            try git.setRef(failedRef(cycle), to: failed)
            try git.restore(checkpoint: checkpoint, head: git.resolve(checkpoint + "^"), current: failed)
        } catch {
            let message = "the rollback to \(checkpoint.prefix(12)) failed: \(error.description)"
            try tasks.write { writer in
                try writer.append(NewEvent(.rolledBack, cycle: cycle, payload: .object([("error", .string(message)), ("reason", .string(reason))])), task: taskID)
            }
            throw RunnerError(message)
        }
        let changed = (try? git.changedPaths(from: checkpoint, to: failed)) ?? []
        try tasks.write { writer in
            try writer.append(
                NewEvent(
                    .rolledBack, cycle: cycle,
                    payload: masker.mask(
                        .object([
                            ("from", .string(failed)), ("to", .string(checkpoint)), ("failed_ref", .string(failedRef(cycle))),
                            ("reason", .string(reason)), ("paths", .array(changed.prefix(200).map { .string($0) })),
                        ]))), task: taskID)
        }
        let note =
            "rolled back to the checkpoint of cycle \(cycle) (\(checkpoint.prefix(12))): \(reason); the state left is kept on \(failedRef(cycle).replacingPrefix("refs/tags/", "").replacingPrefix("refs/", ""))"
        if announce { progress(.note(note), cycle: cycle) } else { rollBackNote.withLock { $0 = note } }
        return true
    }

    // MARK: - Invariants

    /// Checks the invariants of `point`; `.pause` when one with `on_violation: halt` is broken
    /// (the task pauses with its output), else `.next`.
    func checkInvariants(_ point: CompiledInvariant.CheckPoint, cycle: Int) throws -> StepFlow {
        for invariant in graph.safety.invariants where invariant.checkAt.contains(point) {
            guard let violation = try violation(of: invariant, cycle: cycle) else { continue }
            try tasks.write { writer in
                try writer.append(
                    NewEvent(
                        .invariantViolated, cycle: cycle, step: "invariant:" + invariant.name,
                        payload: masker.mask(
                            .object([
                                ("invariant", .string(invariant.name)), ("check_at", .string(point.rawValue)),
                                ("on_violation", .string(invariant.onViolation.rawValue)), ("reason", .string(violation)),
                            ]))), task: taskID)
            }
            let line = "invariant \(invariant.name) violated (\(point.rawValue)): \(violation)"
            switch invariant.onViolation {
            case .warn:
                progress(.note(line), cycle: cycle)
            case .rollback:
                progress(.note(line), cycle: cycle)
                try rollBack(cycle, reason: "invariant \(invariant.name) violated")
            case .halt:
                pauseReason.withLock { $0 = $0 ?? masker.mask(line) }
                pauseFlag.withLock { $0 = true }
                return .pause
            }
        }
        return .next
    }

    /// Why `invariant` does not hold now, nil when it holds.
    func violation(of invariant: CompiledInvariant, cycle: Int) throws -> String? {
        var extra: [String: Value] = [:]
        if let command = invariant.command {
            let ran = try runCheck(command, name: invariant.name, cycle: cycle)
            let stdout = String(decoding: readFileBytes(ran.stdout, limit: 64 << 10) ?? [], as: UTF8.self)
            let stderr = String(decoding: readFileBytes(ran.stderr, limit: 4 << 10) ?? [], as: UTF8.self)
            extra["exit_code"] = .int(Int64(ran.exitCode))
            if let name = invariant.captureAs {
                let value = String(stdout.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
                extra[name] = .string(value)
                ledger.taskVars[name] = .string(value)
            }
            if ran.timedOut || ran.error != nil || Int(ran.exitCode) != invariant.expectExit {
                let output = masker.mask((stdout + stderr).split(separator: "\n").suffix(20).joined(separator: "\n"))
                let why = ran.timedOut ? "timed out" : ran.error ?? "exited \(ran.exitCode), expected \(invariant.expectExit)"
                return "`\(command)` \(why)" + (output.isEmpty ? "" : ":\n" + output)
            }
        }
        if let assertion = invariant.assertion {
            var bindings = self.bindings(assertion.variables, item: ledger.taskItem, cycle: cycle, taskScope: true)
            for (name, value) in extra { bindings[name] = value }
            switch assertion.evaluate(bindings) {
            case .value(true): break
            case .value(false): return "assert_expr `\(assertion.text)` is false"
            case .error(let message): return "assert_expr `\(assertion.text)` could not be evaluated: \(message)"
            case .unknown(let names): return "assert_expr `\(assertion.text)` depends on \(names.joined(separator: ", ")), which have no value"
            }
        }
        if !invariant.protectedFiles.isEmpty {
            let baseline = protectedBaseline()
            var changed: [String] = []
            for path in invariant.protectedFiles where FileDigestText.of(pinned.root + "/" + path) != baseline[path] { changed.append(path) }
            if !changed.isEmpty { return "protected file\(changed.count == 1 ? "" : "s") changed: " + changed.joined(separator: ", ") }
        }
        return nil
    }

    /// Runs an invariant's command in the workspace root as steps run (shell, policy, timeout,
    /// masked logs under `cycle-N/invariant-NAME.*`), recorded by `invariant_checked`; it is not a
    /// step run, so it never counts for an item's status.
    func runCheck(_ command: String, name: String, cycle: Int) throws
        -> (exitCode: Int32, timedOut: Bool, error: String?, stdout: String, stderr: String)
    {
        let directory = tasks.logDirectory(taskID) + "/cycle-\(cycle)"
        try makeDirectories(directory)
        let base = directory + "/invariant-" + fileNameSlug(name)
        var request = ProcessRequest(
            command: command, workingDirectory: pinned.root, environment: childEnvironment(adding: [:]), stdoutLogPath: base + ".stdout",
            stderrLogPath: base + ".stderr", timeout: .seconds(graph.safety.stepTimeoutSecs ?? TaskRunner.defaultTimeoutSecs),
            terminationGracePeriod: options.terminationGrace, masker: masker)
        request.inheritedVariables = []
        request.shell = pinned.runtime.shell
        request.shellArgument = pinned.runtime.shellArgument
        var exitCode: Int32 = 127
        var timedOut = false
        var error: String?
        if let refusal = pinned.runtime.refusal {
            exitCode = 126
            error = refusal
        } else {
            do {
                let result = try ProcessLauncher.runBlocking(request)
                exitCode = result.exitCode
                timedOut = result.timedOut
            } catch let launch {
                error = masker.mask(launch.description)
            }
        }
        try tasks.write { writer in
            try writer.append(
                NewEvent(
                    .invariantChecked, cycle: cycle, step: "invariant:" + name,
                    payload: .object([
                        ("invariant", .string(name)), ("exit_code", .int(Int64(exitCode))), ("timed_out", .bool(timedOut)),
                        ("error", error.map { .string($0) } ?? .null), ("stdout", .string(base + ".stdout")),
                    ])), task: taskID)
        }
        return (exitCode, timedOut, error, base + ".stdout", base + ".stderr")
    }

    /// The protected files' digests when the task started: recorded then (`protected_files_recorded`)
    /// and read back on resume, so a change made while the task was paused still counts.
    func protectedBaseline() -> [String: String] {
        if let baseline = ledger.protectedBaseline { return baseline }
        var baseline: [String: String] = [:]
        if let recorded = try? tasks.events(taskID, types: [.protectedFilesRecorded], after: 0, limit: 1).first,
            case .object(let pairs)? = recorded.payload["digests"]
        {
            for (path, digest) in pairs { baseline[path] = digest.stringValue }
        } else {
            for invariant in graph.safety.invariants {
                for path in invariant.protectedFiles { baseline[path] = FileDigestText.of(pinned.root + "/" + path) }
            }
            let digests = baseline
            _ = try? tasks.write { writer in
                try writer.append(
                    NewEvent(.protectedFilesRecorded, payload: .object([("digests", .object(digests.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) }))])),
                    task: taskID)
            }
        }
        ledger.protectedBaseline = baseline
        return baseline
    }
}

/// A file's SHA-256 as text, `missing` when it cannot be read.
enum FileDigestText {
    static func of(_ path: String) -> String {
        FileDigest.sha256(ofFile: path) ?? "missing"
    }
}

extension String {
    func replacingPrefix(_ prefix: String, _ replacement: String) -> String {
        hasPrefix(prefix) ? replacement + dropFirst(prefix.count) : self
    }
}
