import Diagnostics
import YAML

extension StateRule {
    static let fieldType = StateRule(
        .fieldType,
        summary: "a field holds the wrong kind of JSON value",
        rationale: """
            Text fields are JSON strings, `requires_eval` is `true` or `false` (not the string \"true\"), \
            `tasks` is a list of objects, and `verify` is a string or a list of strings. A value of \
            another kind is read as missing by every tool that expects the schema (docs/tasks.schema.json), \
            so the task silently loses the field.
            """,
        examples: [
            StateExample(
                "`requires_eval` as a string, and a number as a title", triggers: true,
                """
                {
                  "project": "todo-api",
                  "last_updated": "2026-12-01",
                  "current_focus": "Ship the API.",
                  "tasks": [
                    {"id": "API-01", "title": 404, "description": "Return 404 for unknown todos.",
                //                            ^ expect
                     "status": "pending", "priority": "high", "verify": "grep -q 404 README.md", "requires_eval": "false"}
                //                                                                                                ^ expect
                  ]
                }
                """),
            StateExample(
                "`verify` as a list of commands", triggers: false,
                """
                {
                  "project": "todo-api",
                  "last_updated": "2026-12-01",
                  "current_focus": "Ship the API.",
                  "tasks": [
                    {"id": "API-01", "title": "Fix 500 on unknown todo", "description": "Return 404 for unknown todos.",
                     "status": "pending", "priority": "high", "verify": ["test -f README.md", "grep -q 404 README.md"],
                     "requires_eval": false}
                  ]
                }
                """),
        ],
        check: FieldType.check)
}

enum FieldType {
    static func check(_ context: StateLintContext) -> [Diagnostic] {
        var findings = fields(TasksField.topLevel, of: context.file.root, label: "tasks.json", context: context)
        for (index, node) in (context.file.tasksNode?.sequence ?? []).enumerated() {
            guard node.mapping != nil else {
                findings.append(
                    StateRuleID.fieldType.finding(
                        "task #\(index + 1) is \(node.kindDescription), not an object", file: context.path, range: node.range,
                        help: "each task is an object: {\"id\": ..., \"title\": ..., ...}"))
                continue
            }
            let label = context.file.tasks.first(where: { $0.node.range == node.range })?.label ?? "#\(index + 1)"
            findings += fields(TasksField.task, of: node, label: "task \(label)", context: context)
        }
        return findings
    }

    static func fields(_ fields: [TasksField], of object: Node, label: String, context: StateLintContext) -> [Diagnostic] {
        var findings: [Diagnostic] = []
        for field in fields {
            guard let value = TasksFile.entry(field, in: object)?.value, !value.isNull, let expected = mismatch(value, field.kind) else {
                continue
            }
            findings.append(
                StateRuleID.fieldType.finding(
                    "\(label): `\(field.rawValue)` is \(kind(of: value)), not \(expected)", file: context.path, range: value.range,
                    help: field.kind == .boolean ? "write true or false without quotes" : nil))
        }
        return findings
    }

    /// What `node` should be, when it is not that.
    static func mismatch(_ node: Node, _ kind: TasksField.Kind) -> String? {
        switch kind {
        case .string:
            return TasksFileReader.stringValue(node) == nil ? "a string" : nil
        case .boolean:
            if let scalar = node.scalar, case .bool = scalar.value { return nil }
            return "a boolean"
        case .list:
            return node.sequence == nil ? "a list" : nil
        case .verify:
            if TasksFileReader.stringValue(node) != nil { return nil }
            if let items = node.sequence, items.allSatisfy({ TasksFileReader.stringValue($0) != nil }) { return nil }
            return "a string or a list of strings"
        }
    }

    /// The JSON kind of a node in words (a quoted "true" is a string).
    static func kind(of node: Node) -> String {
        if let scalar = node.scalar, scalar.style != .plain { return "a string" }
        switch node.content {
        case .mapping: return "an object"
        case .sequence: return "a list"
        case .scalar: return node.kindDescription
        }
    }
}
