import Compiler
import Diagnostics
import Expr
import JSON
import Platform
import Store
import YAML

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// A workflow's `items_from: {tasks_json: PATH, when: EXPR}` (state-files.md, "What our tool does
// with them"): the tasks.json's tasks that `when` selects become the task's items; the runner
// marks each `in_progress` when its steps start, runs its `verify` as the item's gate, asks the
// workflow's evaluator step when `requires_eval` is true, then marks it `done` or `blocked` (with
// `blocked_by`), sets `last_updated` and prepends a progress.md entry.
//
// Writes edit the file's text in place: only the values that change are replaced, so key order,
// formatting and everything else stay as written. Each write reads the file fresh, and renames
// its result over the file only when the file still has the hash it was read with: a person
// editing it between our read and our write is never overwritten (we read again and re-apply).

enum StateFiles {
    /// The task fields an `items_from.when` and the item's placeholders see.
    static func variables(_ task: StateTask) -> [(key: String, value: JSONValue)] {
        let verify = task.verify?.value ?? []
        return [
            ("id", .string(task.id?.value ?? "")), ("title", .string(task.title?.value ?? "")),
            ("description", .string(task.description?.value ?? "")), ("status", .string(task.status?.value.rawValue ?? "")),
            ("priority", .string(task.priority?.value.rawValue ?? "")), ("blocked_by", .string(task.blockedBy?.value ?? "")),
            ("verify", .string(verify.joined(separator: "\n"))), ("requires_eval", .bool(task.requiresEval?.value ?? false)),
        ]
    }

    /// The items of a new task: the tasks of `source.tasksJSON` that `source.when` selects.
    static func items(_ source: ItemsSource, root: String) throws -> [ItemRecord] {
        let path = source.tasksJSON.hasPrefix("/") ? source.tasksJSON : root + "/" + source.tasksJSON
        guard let bytes = readFileBytes(path) else {
            throw RunnerError("items_from: cannot read \(path): \(errnoDescription(errno))")
        }
        let file: TasksFile
        switch TasksFileReader.read(SourceFile(path: path, bytes: bytes)) {
        case .success(let read): file = read
        case .failure(let failure):
            throw RunnerError("items_from: \(where_(failure.diagnostic, path)): \(failure.diagnostic.message); fix it (`orchestrator lint --state \(path)`) and create the task again")
        }
        let program: Program
        do throws(ExprSyntaxError) {
            program = try ExprParser.parse(source.when).compile()
        } catch {
            throw RunnerError("items_from.when `\(source.when)` is not an expression: \(error)")
        }
        var items: [ItemRecord] = []
        for task in file.tasks {
            guard let id = task.id?.value, !id.isEmpty else { continue }
            let vars = variables(task)
            var bindings: [String: Value] = [:]
            for (key, value) in vars { bindings[key] = Value(json: value) }
            switch program.evaluate(bindings) {
            case .value(.bool(true)):
                items.append(
                    ItemRecord(
                        ordinal: items.count, itemID: id, path: source.tasksJSON, label: task.title?.value ?? id, vars: .object(vars),
                        origin: Items.tasksJSONOrigin))
            case .value(.bool(false)):
                continue
            case .value(let other):
                throw RunnerError("items_from.when `\(source.when)` gave \(other) for task \(id), not a boolean")
            case .error(let message):
                throw RunnerError("items_from.when `\(source.when)` failed for task \(id): \(message)")
            }
        }
        return items
    }

    /// `PATH:LINE:COLUMN` of a tasks.json finding (the path alone when it has no position).
    static func where_(_ diagnostic: Diagnostic, _ path: String) -> String {
        diagnostic.range.map { "\(path):\($0.start.line):\($0.start.column)" } ?? path
    }

    /// Today in the recipe's form, `YYYY-MM-DD` (local time, as `state init` writes it).
    static func today() -> String { localDate() }

    /// Sets a task's `status` (and `blocked_by` with it: written when blocked, removed otherwise)
    /// and the file's `last_updated`. Returns why it could not, nil when it did.
    static func setStatus(path: String, taskID: String, status: String, blockedBy: String?) -> String? {
        for _ in 0..<5 {
            guard let bytes = readFileBytes(path) else { return "cannot read \(path): \(errnoDescription(errno))" }
            let file: TasksFile
            switch TasksFileReader.read(SourceFile(path: path, bytes: bytes)) {
            case .success(let read): file = read
            case .failure(let failure): return "\(where_(failure.diagnostic, path)): \(failure.diagnostic.message); nothing written"
            }
            guard let task = file.tasks.first(where: { $0.id?.value == taskID }) else {
                return "task \(taskID) is no longer in \(path); nothing written"
            }
            var edits: [(range: Range<Int>, text: String)] = []
            if let entry = TasksFile.entry(.status, in: task.node) {
                edits.append((entry.value.range.start.offset..<entry.value.range.end.offset, JSONWriter.quoted(status)))
            }
            let blocked = TasksFile.entry(.blockedBy, in: task.node)
            if let blockedBy {
                if let blocked {
                    edits.append((blocked.value.range.start.offset..<blocked.value.range.end.offset, JSONWriter.quoted(blockedBy)))
                } else if let entry = TasksFile.entry(.status, in: task.node) {
                    // After the status, on a line of its own when the object spans lines.
                    let indent = String(repeating: " ", count: max(0, entry.key.range.start.column - 1))
                    let multiline = task.node.range.start.line != task.node.range.end.line
                    let separator = multiline ? ",\n" + indent : ", "
                    let at = entry.value.range.end.offset
                    edits.append((at..<at, separator + JSONWriter.quoted(TasksField.blockedBy.rawValue) + ": " + JSONWriter.quoted(blockedBy)))
                }
            } else if let blocked {
                // Remove `, "blocked_by": "..."` (with the comma before it, or after it when first).
                let entries = task.node.mapping ?? []
                if let index = entries.firstIndex(where: { $0.key.range == blocked.key.range }) {
                    if index > 0 {
                        edits.append((entries[index - 1].value.range.end.offset..<blocked.value.range.end.offset, ""))
                    } else if entries.count > 1 {
                        edits.append((blocked.key.range.start.offset..<entries[1].key.range.start.offset, ""))
                    }
                }
            }
            if let entry = TasksFile.entry(.lastUpdated, in: file.root) {
                edits.append((entry.value.range.start.offset..<entry.value.range.end.offset, JSONWriter.quoted(today())))
            }
            var text = bytes
            for edit in edits.sorted(by: { $0.range.lowerBound > $1.range.lowerBound }) {
                text.replaceSubrange(edit.range, with: Array(edit.text.utf8))
            }
            guard (try? JSONParser.parse(text)) != nil else { return "editing \(path) would not leave valid JSON; nothing written" }
            switch replace(path, expected: bytes, with: text) {
            case .written: return nil
            case .changedMeanwhile: continue
            case .failed(let message): return message
            }
        }
        return "\(path) kept changing while it was being written; the status of \(taskID) was not recorded"
    }

    /// Prepends `entry` to progress.md (after its title lines, before the newest entry), keeping
    /// the history below it.
    static func prependProgress(path: String, entry: String) -> String? {
        for _ in 0..<5 {
            let bytes = readFileBytes(path) ?? []
            let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
            // The header: everything before the first `## ` entry.
            let firstEntry = lines.firstIndex { $0.hasPrefix("## ") } ?? lines.count
            var head = lines[..<firstEntry].joined(separator: "\n")
            let rest = lines[firstEntry...].joined(separator: "\n")
            if !head.isEmpty && !head.hasSuffix("\n\n") { head += head.hasSuffix("\n") ? "\n" : "\n\n" }
            let text = head + entry + (rest.isEmpty ? "" : "\n" + rest)
            switch replace(path, expected: bytes, with: Array(text.utf8)) {
            case .written: return nil
            case .changedMeanwhile: continue
            case .failed(let message): return message
            }
        }
        return "\(path) kept changing while it was being written; the progress entry was not recorded"
    }

    enum Replaced {
        case written
        case changedMeanwhile
        case failed(String)
    }

    /// Writes `text` to a temporary file next to `path`, syncs it, and renames it over `path`
    /// only if `path` still holds `expected` (what the caller read).
    static func replace(_ path: String, expected: [UInt8], with text: [UInt8]) -> Replaced {
        do throws(AtomicWriteError) {
            // The last look before the rename: a change since our read is kept, and we start over.
            let written = try AtomicFile.write(path, text, mode: 0o644, onlyIf: { (readFileBytes(path) ?? []) == expected })
            return written ? .written : .changedMeanwhile
        } catch {
            return .failed(error.description)
        }
    }
}
