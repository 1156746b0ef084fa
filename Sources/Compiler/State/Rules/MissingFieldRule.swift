import Diagnostics
import YAML

extension StateRule {
    static let missingField = StateRule(
        .missingField,
        summary: "a required field is missing, null or empty",
        rationale: """
            A new session has nothing but these files: a task without a `verify` cannot be checked, one \
            without a `description` cannot be started, a file without `current_focus` leaves the agent to \
            guess. Every top-level field and every task field but `blocked_by` is required, and a string \
            of blanks or an empty `verify` list counts as missing. A missing field is reported at the `{` \
            of its object, an empty one at its value.
            """,
        examples: [
            StateExample(
                "a task without `verify`, and an empty title", triggers: true,
                """
                {
                  "project": "todo-api",
                  "last_updated": "2026-12-01",
                  "current_focus": "Ship the API.",
                  "tasks": [
                    {"id": "API-01", "title": " ", "description": "Return 404 for unknown todos.",
                //                            ^ expect
                //  ^ expect
                     "status": "pending", "priority": "high", "requires_eval": false}
                  ]
                }
                """),
            StateExample(
                "every field filled (`blocked_by` is optional)", triggers: false,
                """
                {
                  "project": "todo-api",
                  "last_updated": "2026-12-01",
                  "current_focus": "Ship the API.",
                  "tasks": [
                    {"id": "API-01", "title": "Fix 500 on unknown todo", "description": "Return 404 for unknown todos.",
                     "status": "pending", "priority": "high", "verify": "grep -q 404 README.md", "requires_eval": false}
                  ]
                }
                """),
        ],
        check: MissingField.check)
}

enum MissingField {
    static func check(_ context: StateLintContext) -> [Diagnostic] {
        var findings = fields(TasksField.topLevel, of: context.file.root, label: "tasks.json", context: context)
        for (index, task) in context.file.tasks.enumerated() {
            findings += fields(TasksField.task, of: task.node, label: "task \(task.label) (#\(index + 1))", context: context)
        }
        return findings
    }

    static func fields(_ fields: [TasksField], of object: Node, label: String, context: StateLintContext) -> [Diagnostic] {
        var findings: [Diagnostic] = []
        var missing: [String] = []
        for field in fields where field.isRequired {
            guard let entry = TasksFile.entry(field, in: object) else {
                missing.append(field.rawValue)
                continue
            }
            if let why = emptiness(entry.value, field: field) {
                findings.append(
                    StateRuleID.missingField.finding(
                        "\(label): `\(field.rawValue)` is \(why)", file: context.path, range: entry.value.range,
                        help: help(field)))
            }
        }
        if !missing.isEmpty {
            let names = missing.map { "`\($0)`" }.joined(separator: ", ")
            findings.insert(
                StateRuleID.missingField.finding(
                    "\(label) has no \(names)", file: context.path, range: SourceRange(at: object.range.start),
                    help: missing.count == 1 ? help(TasksField(rawValue: missing[0]) ?? .id) : "every field but `blocked_by` is required"),
                at: 0)
        }
        return findings
    }

    /// Why a present value counts as missing, or nil.
    static func emptiness(_ node: Node, field: TasksField) -> String? {
        if node.isNull { return "null" }
        if let text = TasksFileReader.stringValue(node), text.allSatisfy(\.isWhitespace) { return "empty" }
        if field == .verify, let items = node.sequence, items.isEmpty { return "an empty list" }
        return nil
    }

    static func help(_ field: TasksField) -> String {
        switch field {
        case .project: return "name the project"
        case .lastUpdated: return "the date of the last change, YYYY-MM-DD"
        case .currentFocus: return "one sentence: what the work is about now"
        case .tasks: return "the work list: [] when there is none yet"
        case .id: return "MODULE-NN, e.g. AUTH-01"
        case .title: return "one sentence"
        case .description: return "one to three sentences"
        case .status: return "pending, in_progress, done or blocked (new tasks start pending)"
        case .priority: return "high, medium or low"
        case .blockedBy: return "why the task is blocked"
        case .verify: return "the commands that prove the task done, e.g. \"swift test --filter AuthTests\""
        case .requiresEval: return "true or false, by the criteria of docs/state-files.md"
        }
    }
}
