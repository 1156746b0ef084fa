import Compiler
import Expr
import JSON
import Manifest
import Platform
import Store

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Bindings: the values an expression (prehook, finalize rule, guard) or a placeholder sees: the
// cycle facts and built-in variables, then the item's pipeline variables, then the task's.

extension TaskRunner {
    /// The values of `names` for an expression: the cycle facts and built-ins, then the item's
    /// pipeline variables, then the task's. Names with no value are left out (an expression that
    /// needs one fails to evaluate: `prehook_error`).
    func bindings(_ names: [String], item: ItemState?, cycle: Int, taskScope: Bool, extra: [String: Value] = [:]) -> [String: Value] {
        var result: [String: Value] = [:]
        for name in names {
            if let value = extra[name] {
                result[name] = value
            } else if let value = builtinValue(name, item: item, cycle: cycle, taskScope: taskScope) {
                result[name] = value
            } else if let value = item?.vars[name] ?? ledger.taskVars[name] {
                result[name] = Value(json: value)
            }
        }
        return result
    }

    /// "qa_failed is true, cycle is 2": the values an expression read (secrets masked).
    func describe(_ expression: CompiledExpression, item: ItemState?, cycle: Int, taskScope: Bool) -> String? {
        let values = bindings(expression.variables, item: item, cycle: cycle, taskScope: taskScope)
        let parts = expression.variables.compactMap { name -> String? in
            guard let value = values[name] else { return "\(name) is unset" }
            var text = "\(value)"
            if text.count > 60 { text = String(text.prefix(57)) + "..." }
            return "\(name) is \(masker.mask(text))"
        }
        return parts.isEmpty ? nil : parts.joined(separator: ", ")
    }

    func builtinValue(_ name: String, item: ItemState?, cycle: Int, taskScope: Bool) -> Value? {
        let facts = CycleFacts(cycle: cycle, cycleLimit: graph.loop.cycleLimit)
        switch name {
        case "cycle": return .int(Int64(cycle))
        case "max_cycles": return .int(Int64(facts.maxCycles))
        case "is_last_cycle": return .bool(facts.isLastCycle)
        case "task_id": return .string(taskID)
        case "item_id": return .string(taskScope ? "" : item?.id ?? "")
        case "qa_file_path": return .string(taskScope ? "" : item?.record.path ?? "")
        case "item_status": return .string(item.map { $0.statusOverride ?? $0.record.status } ?? "")
        case "active_ticket_count":
            guard let item, !taskScope else {
                return .int(Int64(Items.tickets(for: taskLevelRecord, ticketDirectory: pinned.workspace.ticketDirectory, root: pinned.root).count))
            }
            return .int(Int64(Items.tickets(for: item.record, ticketDirectory: pinned.workspace.ticketDirectory, root: pinned.root).count))
        case "self_referential_safe":
            guard let item, !taskScope else { return .bool(true) }
            return .bool(Items.selfReferentialSafe(item.record, root: pinned.root))
        default: return nil
        }
    }

    var taskLevelRecord: ItemRecord { ItemRecord(ordinal: 0, itemID: Items.taskItemID, path: nil, label: nil, origin: "task") }

    /// Text values for the placeholders of `texts` (execution.md "Placeholders").
    func placeholderValues(for texts: [String], step: CompiledStep, item: ItemState?, cycle: Int) -> [String: String] {
        var names: [String] = []
        for text in texts { for name in Placeholders.names(in: text) where !names.contains(name) { names.append(name) } }
        var values: [String: String] = [:]
        let scopeItem = item
        for name in names {
            if let builtin = BuiltinPlaceholder(rawValue: name) {
                // Exhaustive: a built-in placeholder the runner cannot fill does not compile.
                switch builtin {
                case .prompt: continue
                case .goal: values[name] = task.goal
                case .taskID: values[name] = taskID
                case .itemID: values[name] = scopeItem?.id ?? ""
                case .cycle: values[name] = String(cycle)
                case .phase: values[name] = step.id
                case .sourceTree, .workspaceRoot: values[name] = scopeItem?.workingDirectory ?? pinned.root
                case .relPath, .qaFilePath: values[name] = scopeItem?.record.path ?? ""
                case .ticketPaths:
                    let record = scopeItem?.record ?? taskLevelRecord
                    values[name] = Items.tickets(for: record, ticketDirectory: pinned.workspace.ticketDirectory, root: pinned.root)
                        .joined(separator: " ")
                case .diff: values[name] = gitDiff()
                }
            } else if let value = scopeItem?.vars[name] ?? ledger.taskVars[name] {
                values[name] = PipelineValue.text(value)
                // A step that printed nothing has no log file yet: the path must name a file.
                if name.hasSuffix("_path"), case .string(let path) = value, path.hasPrefix(tasks.logDirectory(taskID) + "/"),
                    !fileExists(path)
                {
                    writeTextFile(path, "")
                }
            } else if let value = builtinValue(name, item: scopeItem, cycle: cycle, taskScope: item == nil) {
                values[name] = value.placeholderText
            }
        }
        return values
    }

    func gitDiff() -> String {
        guard fileExists(pinned.root + "/.git") else { return "" }
        let directory = tasks.logDirectory(taskID)
        try? makeDirectories(directory)
        var request = ProcessRequest(
            command: "git diff", workingDirectory: pinned.root, environment: childEnvironment(adding: [:]), stdoutLogPath: directory + "/.diff.stdout",
            stderrLogPath: directory + "/.diff.stderr", timeout: .seconds(60), masker: masker)
        request.inheritedVariables = []
        guard let result = try? ProcessLauncher.runBlocking(request), result.succeeded else { return "" }
        return String(decoding: readFileBytes(result.stdoutLogPath, limit: 1 << 20) ?? [], as: UTF8.self)
    }
}
