import Compiler
import JSON
import Platform
import Store

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Item isolation (docs/safety.md "Item isolation"): with `item_isolation: {strategy:
// git_worktree}` each item of an item segment runs in its own git worktree, on its own branch,
// made from one snapshot of the workspace taken when the segment starts, so parallel agents
// never see each other's edits. When the segment has run, each item's changes are committed on
// its branch and applied to the workspace in item order; a change that does not apply (another
// item changed the same lines) fails the item with the conflicting paths, and its work stays on
// its branch. Worktrees live under DATA/worktrees/TASK and are removed when the task ends
// (`cleanup: after_workflow`), and at every start of a runner for the task (after a kill -9).

extension TaskRunner {
    var worktreeDirectory: String { tasks.dataDirectory + "/worktrees/" + taskID }

    func branch(for item: ItemState) -> String {
        let prefix = graph.itemIsolation?.branchPrefix ?? "orchestrator/\(taskID)"
        return prefix + "/" + fileNameSlug(item.id)
    }

    /// Makes a worktree per item of `worklist`; `.failTask` when the workspace cannot have them.
    func prepareWorktrees(_ worklist: [ItemState], cycle: Int, segment: Int) throws -> StepFlow {
        guard graph.itemIsolation != nil, !worklist.isEmpty else { return .next }
        let git = repository
        guard git.isRepository else {
            return .failTask("item_isolation git_worktree needs a git repository at the workspace root \(pinned.root) (`git init` it)")
        }
        removeWorktrees(reason: nil)
        let base: String
        do {
            base = try git.snapshot(message: "orchestrator: the workspace before cycle \(cycle), segment \(segment) of task \(taskID)")
            try git.setRef("refs/orchestrator/\(taskID)/base-c\(cycle)-s\(segment)", to: base)
            try makeDirectories(worktreeDirectory)
            for item in worklist {
                let path = worktreeDirectory + "/" + fileNameSlug(item.id)
                try git.git(["worktree", "add", "-q", "-f", "-B", branch(for: item), path, base])
                item.workingDirectory = path
            }
        } catch {
            for item in worklist { item.workingDirectory = nil }
            return .failTask("the items' worktrees could not be made: \(error)")
        }
        ledger.isolationBase = base
        try tasks.write { writer in
            try writer.append(
                NewEvent(
                    .worktreesCreated, cycle: cycle,
                    payload: .object([
                        ("base", .string(base)), ("segment", .int(Int64(segment))),
                        ("items", .array(worklist.map { .object([("item", .string($0.id)), ("branch", .string(branch(for: $0))), ("path", .string($0.workingDirectory ?? ""))]) })),
                    ])), task: taskID)
        }
        return .next
    }

    /// Commits each item's worktree on its branch and applies its changes to the workspace, in
    /// item order. A change that does not apply fails the item (a `merge` run) with the paths.
    func mergeWorktrees(_ worklist: [ItemState], cycle: Int) throws {
        guard graph.itemIsolation != nil, let base = ledger.isolationBase else { return }
        let git = repository
        var merged: [(item: String, paths: Set<String>)] = []
        for item in worklist {
            guard let path = item.workingDirectory else { continue }
            let worktree = GitCheckpoints(root: path, excluded: [])
            var payload: [(key: String, value: JSONValue)] = [("item", .string(item.id)), ("branch", .string(branch(for: item)))]
            var failure: String?
            do throws(GitCheckpoints.GitFailure) {
                let commit = try worktree.snapshot(message: "orchestrator: item \(item.id), cycle \(cycle) of task \(taskID)")
                try git.setRef("refs/heads/" + branch(for: item), to: commit)
                let changed = try git.changedPaths(from: base, to: commit)
                payload += [("commit", .string(commit)), ("paths", .array(changed.map { .string($0) }))]
                if !changed.isEmpty {
                    let patch = try git.git(["diff", "--binary", "--no-renames", base, commit])
                    do throws(GitCheckpoints.GitFailure) {
                        try git.git(["apply", "--binary", "--whitespace=nowarn", "-"], input: Array(patch.utf8))
                        merged.append((item.id, Set(changed)))
                    } catch {
                        let conflicting = TaskRunner.paths(inApplyError: error.description)
                        let paths = conflicting.isEmpty ? changed : conflicting
                        let others = merged.filter { !$0.paths.isDisjoint(with: paths) }.map(\.item)
                        payload.append(("conflict", .object([("paths", .array(paths.map { .string($0) })), ("with_items", .array(others.map { .string($0) }))])))
                        failure = "merge conflict: " + paths.joined(separator: ", ")
                            + (others.isEmpty ? "" : " (also changed by item\(others.count == 1 ? "" : "s") \(others.joined(separator: ", ")))")
                            + "; the item's work stays on branch \(branch(for: item))"
                    }
                }
            } catch {
                failure = "its worktree could not be committed: \(error.description)"
            }
            if let failure { payload.append(("error", .string(failure))) }
            item.history.append(("merge", failure == nil))
            let success = failure == nil
            let eventPayload = masker.mask(JSONValue.object(payload))
            try tasks.write { writer in
                let run = try writer.startRun(task: taskID, cycle: cycle, step: "merge", item: item.id, command: nil, stdout: nil, stderr: nil)
                try writer.append(NewEvent(.itemMerged, cycle: cycle, step: "merge", item: item.id, payload: eventPayload), task: taskID)
                try writer.finishRun(
                    run, exitCode: success ? 0 : 1, success: success, timedOut: false, durationMS: 0, variables: .object([]), outcome: RunOutcome().json)
            }
            if let failure { progress(.note("\(item.id): \(failure)"), cycle: cycle, item: item.id) }
            item.workingDirectory = nil
        }
        ledger.isolationBase = nil
    }

    /// Removes this task's worktrees (their branches stay); `reason` nil: silently (before new ones).
    func removeWorktrees(reason: String?) {
        guard graph.itemIsolation != nil || fileExistsAsDirectory(worktreeDirectory) else { return }
        let git = repository
        for entry in directoryEntries(worktreeDirectory) {
            _ = try? git.git(["worktree", "remove", "--force", worktreeDirectory + "/" + entry])
            removeTree(worktreeDirectory + "/" + entry)
        }
        _ = try? git.git(["worktree", "prune"])
        removeTree(worktreeDirectory)
        if let reason { progress(.note("item worktrees removed (\(reason))"), cycle: task.cycle) }
    }

    /// The paths `git apply` names in its errors.
    static func paths(inApplyError text: String) -> [String] {
        var paths: [String] = []
        for line in text.split(separator: "\n") {
            guard let start = line.firstRange(of: "error: ") else { continue }
            var rest = line[start.upperBound...]
            if rest.hasPrefix("patch failed: ") {
                rest = rest.dropFirst("patch failed: ".count)
                if let colon = rest.lastIndex(of: ":") { rest = rest[..<colon] }
            } else if let colon = rest.firstRange(of: ": ") {
                rest = rest[..<colon.lowerBound]
            } else {
                continue
            }
            let path = String(rest)
            if !path.isEmpty, !paths.contains(path) { paths.append(path) }
        }
        return paths
    }
}

