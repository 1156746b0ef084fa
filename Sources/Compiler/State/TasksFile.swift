import Diagnostics
import JSON
import Manifest
import YAML

// The typed model of a `tasks.json` (docs/state-files.md), read with positions: the strict JSON
// parser decides what is valid JSON (and where it is not), the YAML parser (JSON is YAML flow
// syntax) gives every value its line and column. Decoding is lenient: a field that is missing
// or of the wrong type is nil in the model and the lint rules report it from the nodes.

/// `status` of a task.
public enum TaskState: String, Sendable, Hashable, CaseIterable {
    case pending
    case inProgress = "in_progress"
    case done
    case blocked
}

/// `priority` of a task; `rank` orders high first.
public enum TaskPriority: String, Sendable, Hashable, CaseIterable {
    case high, medium, low

    public var rank: Int {
        switch self {
        case .high: return 0
        case .medium: return 1
        case .low: return 2
        }
    }
}

/// The fields of the recipe's schema and what each holds.
public enum TasksField: String, Sendable, CaseIterable {
    case project, lastUpdated = "last_updated", currentFocus = "current_focus", tasks
    case id, title, description, status, priority, blockedBy = "blocked_by", verify, requiresEval = "requires_eval"

    public enum Kind: Sendable { case string, list, boolean, verify }

    public var kind: Kind {
        switch self {
        case .tasks: return .list
        case .requiresEval: return .boolean
        case .verify: return .verify
        default: return .string
        }
    }

    public static let topLevel: [TasksField] = [.project, .lastUpdated, .currentFocus, .tasks]
    public static let task: [TasksField] = [.id, .title, .description, .status, .priority, .blockedBy, .verify, .requiresEval]
    /// Every task field but `blocked_by` is required.
    public var isRequired: Bool { self != .blockedBy }
}

/// One entry of `tasks`.
public struct StateTask: Sendable {
    /// The task's object (its range starts at `{`).
    public var node: Node
    public var id: Located<String>?
    public var title: Located<String>?
    public var description: Located<String>?
    /// nil when missing or not one of the values (the text is in `node`).
    public var status: Located<TaskState>?
    public var priority: Located<TaskPriority>?
    public var blockedBy: Located<String>?
    /// A string is one step (its lines are steps); a list holds one step per entry.
    public var verify: Located<[String]>?
    public var requiresEval: Located<Bool>?

    /// The task's name for messages: its id, else its position in the list.
    public var label: String
}

/// A decoded `tasks.json`.
public struct TasksFile: Sendable {
    public var source: SourceFile
    /// The top-level object.
    public var root: Node
    public var project: Located<String>?
    public var lastUpdated: Located<String>?
    public var currentFocus: Located<String>?
    /// The `tasks` node (nil when missing); entries that are not objects are not in `tasks`.
    public var tasksNode: Node?
    public var tasks: [StateTask]

    /// The field node named `field` of `object`, and its key.
    public static func entry(_ field: TasksField, in object: Node) -> MappingEntry? {
        object.mapping?.first(where: { $0.key.hasText(field.rawValue) })
    }
}

/// Why a tasks.json could not be read: the positioned `tasks-json-syntax` finding.
public struct TasksFileError: Error, Sendable {
    public var diagnostic: Diagnostic
}

public enum TasksFileReader {
    /// Reads `source` as a tasks.json: the model, or the positioned error that keeps it from
    /// being read (invalid JSON, or a top level that is not an object).
    public static func read(_ source: SourceFile) -> Result<TasksFile, TasksFileError> {
        func failure(_ message: String, at range: SourceRange?, help: String) -> Result<TasksFile, TasksFileError> {
            .failure(TasksFileError(diagnostic: StateRuleID.jsonSyntax.finding(message, file: source.path, range: range, help: help)))
        }
        let strictHelp = "tasks.json must be strict JSON (RFC 8259): double-quoted keys and strings, no comments, no trailing commas"
        do {
            _ = try JSONParser.parse(source.bytes)
        } catch {
            let location = source.location(ofOffset: error.offset)
            return failure("tasks.json is not valid JSON: \(error.message)", at: SourceRange(at: location), help: strictHelp)
        }
        let documents: [Document]
        do {
            documents = try YAMLParser.parse(source)
        } catch {
            // Valid JSON the positioned reader refuses: beyond its limits (nesting, size).
            return failure(
                "tasks.json could not be read: \(error.message)", at: error.range,
                help: "tasks.json is read within the YAML reader's limits (128 levels of nesting, 32 MiB); keep it within them")
        }
        guard let root = documents.first?.root, root.mapping != nil else {
            let range = documents.first?.root?.range
            return failure(
                "the top level of tasks.json must be an object, not \(documents.first?.root?.kindDescription ?? "empty")", at: range,
                help: "write {\"project\": ..., \"last_updated\": ..., \"current_focus\": ..., \"tasks\": [...]}")
        }
        return .success(decode(root, source: source))
    }

    static func decode(_ root: Node, source: SourceFile) -> TasksFile {
        let tasksNode = TasksFile.entry(.tasks, in: root)?.value
        var tasks: [StateTask] = []
        for (index, node) in (tasksNode?.sequence ?? []).enumerated() where node.mapping != nil {
            let id = string(.id, in: node)
            tasks.append(
                StateTask(
                    node: node, id: id, title: string(.title, in: node), description: string(.description, in: node),
                    status: enumeration(.status, in: node), priority: enumeration(.priority, in: node),
                    blockedBy: string(.blockedBy, in: node), verify: verify(in: node), requiresEval: boolean(.requiresEval, in: node),
                    label: id.map { "`\($0.value)`" } ?? "#\(index + 1)"))
        }
        return TasksFile(
            source: source, root: root, project: string(.project, in: root), lastUpdated: string(.lastUpdated, in: root),
            currentFocus: string(.currentFocus, in: root), tasksNode: tasksNode, tasks: tasks)
    }

    /// A JSON string (a quoted scalar) field.
    static func string(_ field: TasksField, in object: Node) -> Located<String>? {
        guard let value = TasksFile.entry(field, in: object)?.value, let text = stringValue(value) else { return nil }
        return Located(text, range: value.range)
    }

    static func stringValue(_ node: Node) -> String? {
        guard let scalar = node.scalar, case .string(let text) = scalar.value, scalar.style != .plain else { return nil }
        return text
    }

    static func enumeration<T: RawRepresentable & Sendable>(_ field: TasksField, in object: Node) -> Located<T>? where T.RawValue == String {
        guard let text = string(field, in: object), let value = T(rawValue: text.value) else { return nil }
        return Located(value, range: text.range)
    }

    static func boolean(_ field: TasksField, in object: Node) -> Located<Bool>? {
        guard let value = TasksFile.entry(field, in: object)?.value, let scalar = value.scalar, case .bool(let flag) = scalar.value else { return nil }
        return Located(flag, range: value.range)
    }

    static func verify(in object: Node) -> Located<[String]>? {
        guard let value = TasksFile.entry(.verify, in: object)?.value else { return nil }
        if let text = stringValue(value) { return Located([text], range: value.range) }
        guard let items = value.sequence else { return nil }
        let steps = items.compactMap(stringValue)
        guard steps.count == items.count else { return nil }
        return Located(steps, range: value.range)
    }
}
