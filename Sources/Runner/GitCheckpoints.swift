import Platform

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Checkpoints and rollback in the workspace's git repository (docs/safety.md). A checkpoint is
// a commit of the whole working tree (tracked and untracked files, not ignored ones, never the
// data directory) built in a private index, so the user's index, HEAD and branch are untouched;
// a ref names it. Objects are written first and the ref last (`update-ref` is atomic), so a kill
// at any instant leaves either no checkpoint or a whole one, and at worst unreferenced objects
// that `git gc` removes: never a half-written tree or a damaged repository.

public struct GitCheckpoints: Sendable {
    public let root: String
    /// Paths (relative to the root) that a checkpoint never holds: the store's data directory.
    public let excluded: [String]

    public init(root: String, excluded: [String] = [".orchestrator"]) {
        self.root = root
        self.excluded = excluded
    }

    public struct GitFailure: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    /// Whether the root is inside a git work tree.
    public var isRepository: Bool { (try? git(["rev-parse", "--is-inside-work-tree"]))?.trimmed == "true" }

    /// The commit HEAD names, nil in a repository without commits.
    public func head() -> String? {
        guard let text = try? git(["rev-parse", "--verify", "-q", "HEAD"]) else { return nil }
        let id = text.trimmed
        return id.isEmpty ? nil : id
    }

    /// The commit a ref names, nil when there is none.
    public func resolve(_ ref: String) -> String? {
        guard let text = try? git(["rev-parse", "--verify", "-q", ref + "^{commit}"]) else { return nil }
        let id = text.trimmed
        return id.isEmpty ? nil : id
    }

    /// A commit of the working tree as it is now, with HEAD (if any) as its parent.
    public func snapshot(message: String) throws(GitFailure) -> String {
        let scratch = try temporaryDirectory()
        defer { removeTree(scratch) }
        let index = ["GIT_INDEX_FILE": scratch + "/index"]
        let parent = head()
        if let parent { _ = try git(["read-tree", parent], environment: index) }
        _ = try git(["add", "-A", "--", "."] + excluded.map { ":(exclude)" + $0 }, environment: index)
        let tree = try git(["write-tree"], environment: index).trimmed
        let commit = try git(["commit-tree", tree] + (parent.map { ["-p", $0] } ?? []) + ["-m", message], environment: index).trimmed
        guard commit.count >= 40 else { throw GitFailure(description: "git commit-tree gave no commit id") }
        return commit
    }

    /// Points `ref` at `commit` (atomic).
    public func setRef(_ ref: String, to commit: String) throws(GitFailure) {
        _ = try git(["update-ref", ref, commit])
    }

    /// Paths that differ between two commits' trees (the working tree of each).
    public func changedPaths(from: String, to: String) throws(GitFailure) -> [String] {
        try git(["diff-tree", "-r", "--name-only", "--no-renames", from, to]).split(separator: "\n").map(String.init)
    }

    /// Puts the working tree back to `checkpoint`'s tree: its files restored, files added since
    /// removed (ignored files and the data directory untouched); HEAD back to `head` (the commit
    /// it named at the checkpoint) and the index to HEAD, so the repository reads as it did then.
    /// `current` is the snapshot of the state being left.
    public func restore(checkpoint: String, head: String?, current: String) throws(GitFailure) {
        let scratch = try temporaryDirectory()
        defer { removeTree(scratch) }
        let index = ["GIT_INDEX_FILE": scratch + "/index"]
        _ = try git(["read-tree", checkpoint], environment: index)
        _ = try git(["checkout-index", "-a", "-f"], environment: index)
        let added = try git(["diff-tree", "-r", "--name-only", "--no-renames", "--diff-filter=A", checkpoint, current])
        for path in added.split(separator: "\n") where !path.isEmpty && !path.hasPrefix("/") && !path.split(separator: "/").contains("..") {
            unlink(root + "/" + path)
        }
        if let head {
            _ = try git(["reset", "-q", "--soft", head])
            _ = try git(["reset", "-q", "--", "."])
        }
    }

    // MARK: - Running git

    private func temporaryDirectory() throws(GitFailure) -> String {
        var template = Array("/tmp/orchestrator-git-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw GitFailure(description: "cannot create a temporary directory: \(errnoDescription(errno))") }
        return String(cString: made)
    }

    /// Runs `git ARGS` in the root; its stdout, or the failure with its stderr.
    @discardableResult
    public func git(_ arguments: [String], environment: [String: String] = [:], input: [UInt8]? = nil) throws(GitFailure) -> String {
        let scratch = try temporaryDirectory()
        defer { removeTree(scratch) }
        var variables = environment
        // commit-tree needs an identity; hooks never run (no `git commit`).
        for (name, value) in [
            ("GIT_AUTHOR_NAME", "orchestrator"), ("GIT_AUTHOR_EMAIL", "orchestrator@localhost"), ("GIT_COMMITTER_NAME", "orchestrator"),
            ("GIT_COMMITTER_EMAIL", "orchestrator@localhost"), ("GIT_TERMINAL_PROMPT", "0"), ("LC_ALL", "C"),
        ] where variables[name] == nil {
            variables[name] = value
        }
        let request = ProcessRequest(
            command: (["git"] + arguments).map { ShellQuoting.singleQuoted($0) }.joined(separator: " "), workingDirectory: root, environment: variables,
            inheritedVariables: ["PATH", "HOME", "USER", "LANG"], standardInput: input.map { .bytes($0) } ?? .null,
            stdoutLogPath: scratch + "/stdout", stderrLogPath: scratch + "/stderr", timeout: .seconds(300))
        let result: ProcessResult
        do {
            result = try ProcessLauncher.runBlocking(request)
        } catch {
            throw GitFailure(description: "cannot run git: \(error)")
        }
        let stdout = String(decoding: readFileBytes(scratch + "/stdout") ?? [], as: UTF8.self)
        guard result.succeeded else {
            let stderr = String(decoding: readFileBytes(scratch + "/stderr", limit: 4096) ?? [], as: UTF8.self)
            throw GitFailure(description: "git \(arguments.prefix(2).joined(separator: " ")) failed (\(result.termination)): \(stderr.trimmed)")
        }
        return stdout
    }
}

extension String {
    fileprivate var trimmed: String {
        String(drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}
