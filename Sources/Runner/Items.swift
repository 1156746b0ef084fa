import Compiler
import JSON
import Manifest

import Platform

import Store

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Items (execution.md "Tasks and items"), tickets, generate_items, and the small file helpers
// the runner needs.

public enum Items {
    /// Statuses that leave an item out of the next cycle's item segments. Every other status
    /// (`pending`, `skipped`, `unresolved`, a `set_status` word such as `blocked`) is worked on.
    public static let resolvedStatuses: Set<String> = [
        "qa_passed", "verified", "resolved", "passed", "fixed", "done", "completed",
    ]

    public static func isResolved(_ status: String) -> Bool { resolvedStatuses.contains(status) }

    /// Statuses of items no step has worked on yet (or whose steps were all skipped): they are
    /// worked on in the next cycle, but they are not failures (not unresolved).
    public static let openStatuses: Set<String> = ["pending", "skipped", "running"]

    /// Counts as unresolved for the loop guard, max_consecutive_failures and the task's end:
    /// neither resolved nor open (`unresolved`, or a set_status word such as `blocked`).
    public static func isUnresolved(_ status: String) -> Bool { !isResolved(status) && !openStatuses.contains(status) }

    /// The id of the task-level item.
    public static let taskItemID = "task"
    /// The origin of an item that is a task of a tasks.json (`items_from`).
    public static let tasksJSONOrigin = "tasks_json"

    /// A tasks.json item its gate marked `blocked` (its verify failed): unresolved, but not
    /// worked on again by this task (tasks.json says why).
    static func isSettledBlocked(_ item: ItemRecord) -> Bool { item.origin == tasksJSONOrigin && item.status == "blocked" }

    /// The static items of a new task: explicit targets, else every `*.md` under the workspace's
    /// `qa_targets` (sorted) when an enabled step is item-scoped, else the task-level item.
    /// Items stay inside the workspace (issue 23.4): a target that leaves the root (through
    /// `..` or a symlink) is refused.
    public static func discover(graph: WorkflowGraph, workspace: WorkspaceSpec, root: String, targets: [String]) throws -> [ItemRecord] {
        if targets.isEmpty, let source = graph.itemsFrom {
            return try StateFiles.items(source, root: root)
        }
        if !targets.isEmpty {
            var seen = Set<String>()
            var items: [ItemRecord] = []
            for target in targets {
                let absolute = target.hasPrefix("/") ? target : root + "/" + target
                guard let relative = contained(absolute, root: root) else {
                    throw RunnerError(
                        "-t \(target): outside the workspace root \(root) (resolved: \(canonicalPath(absolute) ?? absolute)); items stay inside the workspace")
                }
                guard seen.insert(relative).inserted else { continue }
                items.append(ItemRecord(ordinal: items.count, itemID: relative, path: relative, label: relative, origin: "target"))
            }
            return items
        }
        let itemScoped = graph.steps.contains { step in
            step.enabled && (step.scope == .item || step.children.contains { $0.enabled && $0.scope == .item })
        }
        if itemScoped {
            var paths: [String] = []
            var visited = Set<String>()
            for target in workspace.qaTargets.map(\.value) {
                let absolute = target.hasPrefix("/") ? target : root + "/" + target
                guard contained(absolute, root: root) != nil else { continue }
                if isDirectory(absolute) {
                    collectMarkdown(absolute, root: root, visited: &visited, into: &paths)
                } else if absolute.hasSuffix(".md"), fileExists(absolute) {
                    paths.append(absolute)
                }
            }
            let relative = Array(Set(paths.compactMap { contained($0, root: root) })).sorted()
            return relative.enumerated().map { index, path in
                ItemRecord(ordinal: index, itemID: path, path: path, label: path, origin: "qa_targets")
            }
        }
        return [ItemRecord(ordinal: 0, itemID: taskItemID, path: nil, label: "the task", origin: "task")]
    }

    /// `path` relative to `root` when it lies below it, else as given.
    public static func relativePath(_ path: String, root: String) -> String {
        let prefix = root.hasSuffix("/") ? root : root + "/"
        if path.hasPrefix(prefix) { return String(path.dropFirst(prefix.count)) }
        if path.hasPrefix("./") { return String(path.dropFirst(2)) }
        return path
    }

    /// The `*.md` files under `directory`. A symlink is followed only when it stays inside the
    /// root, and each directory is entered once (by its canonical path), so a symlink loop ends.
    static func collectMarkdown(_ directory: String, root: String, visited: inout Set<String>, into paths: inout [String]) {
        guard let canonical = canonicalPath(directory), visited.insert(canonical).inserted else { return }
        for name in directoryEntries(directory) where !name.hasPrefix(".") {
            let path = directory + "/" + name
            guard contained(path, root: root) != nil else { continue }
            if isDirectory(path) {
                collectMarkdown(path, root: root, visited: &visited, into: &paths)
            } else if name.hasSuffix(".md") {
                paths.append(path)
            }
        }
    }

    /// `path` relative to the workspace root when it lies inside it once both are canonical
    /// (symlinks and `..` resolved), else nil. A path that does not exist yet is judged by its
    /// existing parent.
    public static func contained(_ path: String, root: String) -> String? {
        guard let canonicalRoot = canonicalPath(root) else { return nil }
        var resolved = canonicalPath(path)
        if resolved == nil, let slash = path.lastIndex(of: "/"), let parent = canonicalPath(String(path[..<slash])) {
            let name = String(path[path.index(after: slash)...])
            guard name != "..", name != "." else { return nil }
            resolved = parent + "/" + name
        }
        guard let resolved else { return nil }
        if resolved == canonicalRoot { return "" }
        let prefix = canonicalRoot.hasSuffix("/") ? canonicalRoot : canonicalRoot + "/"
        guard resolved.hasPrefix(prefix) else { return nil }
        return String(resolved.dropFirst(prefix.count))
    }

    // MARK: tickets

    /// Ticket files of an item: `*.md` files directly in the workspace's `ticket_dir` whose name
    /// starts with the item document's stem (`01-validate-scenario-3.md` for
    /// `docs/qa/01-validate.md`) or whose text names the item's path. For the task-level item
    /// (no path) every ticket counts. Paths relative to the workspace root, sorted.
    public static func tickets(for item: ItemRecord, ticketDirectory: String, root: String) -> [String] {
        let directory = ticketDirectory.hasPrefix("/") ? ticketDirectory : root + "/" + ticketDirectory
        let names = directoryEntries(directory).filter { $0.hasSuffix(".md") && !$0.hasPrefix(".") }.sorted()
        guard let path = item.path, !path.isEmpty else {
            return names.map { relativePath(directory + "/" + $0, root: root) }
        }
        let fileName = path.split(separator: "/").last.map(String.init) ?? path
        let stem = fileName.hasSuffix(".md") ? String(fileName.dropLast(3)) : fileName
        var result: [String] = []
        for name in names {
            let full = directory + "/" + name
            let matchesName = name == fileName || name.hasPrefix(stem + "-") || name.hasPrefix(stem + "_") || name.hasPrefix(stem + ".")
            if matchesName {
                result.append(relativePath(full, root: root))
                continue
            }
            if let bytes = readFileBytes(full, limit: 65536), String(decoding: bytes, as: UTF8.self).contains(path) {
                result.append(relativePath(full, root: root))
            }
        }
        return result
    }

    /// False when the item's document says `self_referential_safe: false`.
    public static func selfReferentialSafe(_ item: ItemRecord, root: String) -> Bool {
        guard let path = item.path, !path.isEmpty else { return true }
        guard let bytes = readFileBytes(path.hasPrefix("/") ? path : root + "/" + path, limit: 65536) else { return true }
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
            let trimmed = line.trimmingCharacters(in: " \t\r")
            if trimmed.hasPrefix("self_referential_safe:") {
                return !trimmed.dropFirst("self_referential_safe:".count).trimmingCharacters(in: " \t\"'").hasPrefix("false")
            }
        }
        return true
    }

    // MARK: generate_items

    /// Items from a `generate_items` post-action: the JSON of `from_var` (a JSON text, or the
    /// JSON inside an agent's output), through `json_path`, must be an array; each element gives
    /// an item: `mapping.item_id` / `mapping.label` / `mapping.vars` are JSON paths into the
    /// element (a non-path text is taken literally). Without `item_id` a string element is its own
    /// id, else `item-N`. An item's path is `vars.qa_file_path` or `vars.path` when given, else
    /// the id when it names a file under the workspace root.
    public static func generate(
        _ binding: GenerateItemsBinding, source: JSONValue?, root: String
    ) -> (items: [GeneratedItem], problem: String?) {
        guard let source else { return ([], "generate_items: `\(binding.fromVariable)` has no value") }
        var document: JSONValue? = source
        if case .string(let text) = source { document = JSONOutput.extract(from: text) }
        guard var value = document else {
            return ([], "generate_items: `\(binding.fromVariable)` holds no JSON")
        }
        if let pathText = binding.jsonPath {
            do {
                let path = try JSONPath(pathText)
                guard let found = path.evaluate(value) else {
                    return ([], "generate_items: json_path \(pathText) does not resolve in `\(binding.fromVariable)`")
                }
                value = found
            } catch {
                return ([], "generate_items: \(error.description)")
            }
        }
        guard let elements = value.arrayValue else {
            return ([], "generate_items: `\(binding.fromVariable)`\(binding.jsonPath.map { " at \($0)" } ?? "") is not an array")
        }
        var items: [GeneratedItem] = []
        var seen = Set<String>()
        for (index, element) in elements.enumerated() {
            func pick(_ expression: String?) -> JSONValue? {
                guard let expression else { return nil }
                guard expression.hasPrefix("$") else { return .string(expression) }
                guard let path = try? JSONPath(expression) else { return nil }
                return path.evaluate(element)
            }
            let id: String
            if let picked = pick(binding.itemID) {
                id = PipelineValue.text(picked)
            } else if case .string(let text) = element {
                id = text
            } else {
                id = "item-\(index + 1)"
            }
            guard !id.isEmpty, seen.insert(id).inserted else { continue }
            let label = pick(binding.label).map(PipelineValue.text)
            var vars: [(key: String, value: JSONValue)] = []
            // Item variables are text, as the replaced system's `mapping.vars` (string -> string)
            // made them: `api_publishable == "true"` in its promotion example compares text.
            for name in binding.vars.keys.sorted() {
                if let picked = pick(binding.vars[name]) { vars.append((name, .string(PipelineValue.text(picked)))) }
            }
            var path: String?
            if let explicit = vars.first(where: { $0.key == "qa_file_path" || $0.key == "path" })?.value.stringValue {
                // An agent's output names the path: it must stay inside the workspace.
                guard contained(explicit.hasPrefix("/") ? explicit : root + "/" + explicit, root: root) != nil else {
                    return ([], "generate_items: item `\(id)` names the path `\(explicit)`, which leaves the workspace root \(root)")
                }
                path = explicit
            } else if fileExists(id.hasPrefix("/") ? id : root + "/" + id), !isDirectory(id.hasPrefix("/") ? id : root + "/" + id) {
                // An id naming a file is its path only inside the workspace.
                guard let inside = contained(id.hasPrefix("/") ? id : root + "/" + id, root: root) else {
                    return ([], "generate_items: item `\(id)` names a file that leaves the workspace root \(root)")
                }
                path = inside
            }
            items.append(GeneratedItem(id: id, path: path, label: label, vars: .object(vars)))
        }
        return (items, nil)
    }
}

// MARK: - Files

func directoryEntries(_ path: String) -> [String] {
    guard let directory = opendir(path) else { return [] }
    defer { closedir(directory) }
    var names: [String] = []
    while let entry = readdir(directory) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { raw -> String in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        if name != "." && name != ".." { names.append(name) }
    }
    return names.sorted()
}

func isDirectory(_ path: String) -> Bool { fileExistsAsDirectory(path) }

func fileExists(_ path: String) -> Bool {
    var info = stat()
    return stat(path, &info) == 0
}

/// `mkdir -p` with mode 0700 for what it creates.
func makeDirectories(_ path: String) throws(RunnerError) {
    var current = path.hasPrefix("/") ? "" : "."
    for part in path.split(separator: "/") where !part.isEmpty {
        current += "/" + part
        if mkdir(current, 0o700) != 0, errno != EEXIST {
            throw RunnerError("cannot create the directory \(current): \(errnoDescription(errno))")
        }
    }
}

/// Writes `text` to a new file with mode 0600, replacing what was there; a symlink at `path` is
/// removed, never followed (the logs folder is the runner's, whatever an agent planted in it).
func writeTextFile(_ path: String, _ text: String) {
    var info = stat()
    if lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFLNK { unlink(path) }
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o600)
    guard fd >= 0 else { return }
    writeAll(fd, Array(text.utf8))
    close(fd)
}

/// `[A-Za-z0-9._-]` kept, everything else `_` (file names from item ids).
func fileNameSlug(_ text: String) -> String {
    var out = ""
    for scalar in text.unicodeScalars {
        let ok = (scalar >= "a" && scalar <= "z") || (scalar >= "A" && scalar <= "Z") || (scalar >= "0" && scalar <= "9")
            || scalar == "." || scalar == "-" || scalar == "_"
        out.unicodeScalars.append(ok ? scalar : "_")
    }
    if out.count > 100 { out = String(out.prefix(100)) }
    return out
}

extension StringProtocol {
    func trimmingCharacters(in set: String) -> String {
        let characters = Set(set)
        var slice = Substring(self)
        while let first = slice.first, characters.contains(first) { slice = slice.dropFirst() }
        while let last = slice.last, characters.contains(last) { slice = slice.dropLast() }
        return String(slice)
    }
}

/// Runs `count` jobs on at most `limit` threads (real OS threads: each job blocks on a child
/// process). Job starts are at least `stagger` milliseconds apart. Returns when all are done.
enum Workers {
    static func run(count: Int, limit: Int, staggerMs: Int, _ body: @escaping @Sendable (Int) -> Void) {
        guard count > 0 else { return }
        let threads = max(1, min(limit, count))
        let state = Locked((next: 0, lastStart: Int64(0)))
        let job: @Sendable () -> Void = {
            while true {
                let (index, startAt) = state.withLock { value -> (Int, Int64) in
                    guard value.next < count else { return (-1, 0) }
                    let index = value.next
                    value.next += 1
                    var start = monotonicMilliseconds()
                    if staggerMs > 0 && index > 0 { start = max(start, value.lastStart + Int64(staggerMs)) }
                    value.lastStart = start
                    return (index, start)
                }
                if index < 0 { return }
                let wait = startAt - monotonicMilliseconds()
                if wait > 0 { usleep(UInt32(min(wait, 3_600_000)) * 1000) }
                body(index)
            }
        }
        if threads == 1 {
            job()
            return
        }
        // The calling thread is one of the workers; whatever could not get a thread runs here
        // (also when no thread could be created).
        let handles = (0..<(threads - 1)).compactMap { _ in Threads.start(joinable: true, job) }
        job()
        for handle in handles { handle.join() }
    }
}

// MARK: - What a workspace's paths hold (for the checks of validate, apply and task creation)

extension Items {
    /// What one `qa_targets` entry yields: nothing there, nothing to work on, or some documents.
    public enum TargetContents: Sendable, Equatable {
        case missing
        case noMarkdown
        case documents(Int)
    }

    /// The `*.md` files a `qa_targets` entry yields, counted the way `discover` collects them.
    public static func contents(ofTarget target: String, root: String) -> TargetContents {
        let absolute = target.hasPrefix("/") ? target : root + "/" + target
        if isDirectory(absolute) {
            var paths: [String] = []
            var visited = Set<String>()
            collectMarkdown(absolute, root: root, visited: &visited, into: &paths)
            return paths.isEmpty ? .noMarkdown : .documents(paths.count)
        }
        guard fileExists(absolute) else { return .missing }
        return absolute.hasSuffix(".md") ? .documents(1) : .noMarkdown
    }

    /// True when `path` names an existing directory.
    public static func directoryExists(_ path: String) -> Bool { isDirectory(path) }
}
