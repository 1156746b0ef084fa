import Diagnostics
import YAML

// The typed parts of the kinds added for parity: a CustomResourceDefinition (its kind, group,
// versions, schemas and CEL rules are executed: instances are validated against them) and the
// load-time rules of a Trigger.

extension ManifestDecoder {
    static func decodeCRD(_ fields: Fields, context: DecodeContext) -> CRDSpec? {
        let kind = context.nonEmptyString(fields, "kind", required: true)
        if let kind, kind.value.first?.isUppercase != true || kind.value.contains(where: { !$0.isLetter && !$0.isNumber }) {
            context.error(
                .invalidValue, "CRD kind `\(kind.value)` must be PascalCase (letters and digits, starting upper-case)",
                at: kind.range, help: "e.g. `PromptLibrary`")
        }
        if let kind, let builtin = ResourceKind(rawValue: kind.value) {
            context.error(
                .invalidValue, "CRD kind `\(kind.value)` conflicts with the built-in kind `\(builtin.rawValue)`", at: kind.range,
                help: "choose another kind name")
        }
        let plural = context.nonEmptyString(fields, "plural", required: true)
        let shortNames = context.stringList(fields, "short_names") ?? []
        for name in (plural.map { [$0] } ?? []) + shortNames where builtinAliases.contains(name.value.lowercased()) {
            context.error(
                .invalidValue, "`\(name.value)` is a name of a built-in kind on the command line; a CRD cannot take it",
                at: name.range, help: "choose another plural or short name")
        }
        let group = context.nonEmptyString(fields, "group", required: true)
        var versions: [CRDVersion] = []
        let items = context.list(fields, "versions", of: "`{name, schema, served, cel_rules}` entries", required: true)
        for item in items ?? [] {
            guard let version = context.fields(item, .crdVersion) else { continue }
            let name = context.nonEmptyString(version, "name", required: true)
            let served = context.bool(version, "served")?.value ?? true
            var schema: Node?
            if let (_, node) = version.value("schema") {
                schema = node
                if case .mapping = node.content, let type = node["type"], type.scalar?.text != "object" {
                    context.error(
                        .invalidValue, "a CRD version's schema must have `type: object` at its root", at: type.range,
                        help: "write `type: object` and describe the spec's fields under `properties`")
                } else if case .mapping = node.content {
                } else {
                    context.typeMismatch("a mapping (a JSON Schema with `type: object`)", found: node, key: "schema")
                }
            }
            var rules: [CELRule] = []
            for entry in context.list(version, "cel_rules", of: "`{rule, message}` entries") ?? [] {
                guard let rule = context.fields(entry, .celRule) else { continue }
                let expression = context.expression(rule, "rule", required: true)
                let message = context.nonEmptyString(rule, "message", required: true)
                if let expression, let message { rules.append(CELRule(rule: expression, message: message)) }
            }
            if let name { versions.append(CRDVersion(name: name, schema: schema, served: served, celRules: rules)) }
        }
        if let items, let value = fields.value("versions")?.value {
            if items.isEmpty {
                context.error(.invalidValue, "a CRD needs at least one version", at: value.range, help: "add `- name: v1`")
            } else if !versions.isEmpty, !versions.contains(where: \.served) {
                context.error(.invalidValue, "a CRD needs at least one served version", at: value.range, help: "set `served: true` on a version")
            }
        }
        guard let kind, let plural, let group else { return nil }
        return CRDSpec(kind: kind, plural: plural, shortNames: shortNames, group: group, versions: versions, node: fields.node)
    }

    /// Command-line names of the built-in kinds (`get ws`, `get workflows`, ...), which a CRD's
    /// plural and short names may not take.
    static let builtinAliases: Set<String> = Set(
        ResourceKind.builtin.flatMap { [$0.rawValue.lowercased(), $0.rawValue.lowercased() + "s"] }
            + ["ws", "wf", "tg", "template", "templates", "profile", "profiles", "crd", "crds", "task", "tasks", "event", "events",
               "runtimepolicies"])

    /// The replaced system's load-time rules of a Trigger (parity-analysis.md, rule 18).
    static func decodeTriggerRules(_ fields: Fields, context: DecodeContext) {
        let cron = fields.value("cron"), event = fields.value("event")
        if (cron == nil) == (event == nil) {
            let range = cron?.key.range ?? event?.key.range ?? fields.anchor
            context.error(
                .conflictingFields, cron == nil ? "a Trigger needs `cron` or `event`" : "a Trigger has both `cron` and `event`",
                at: range, help: "write exactly one of `cron: {schedule: ...}` or `event: {source: ...}`")
        }
        guard let event = event?.value, let source = event["source"]?.scalar?.text, source == "filesystem" else { return }
        guard let filesystem = event["filesystem"], !filesystem.isNull else {
            context.error(
                .missingField, "a Trigger with `source: filesystem` needs a `filesystem` block", at: event["source"]?.range ?? event.range,
                help: "add `filesystem: {paths: [DIR]}`")
            return
        }
        if case .sequence(let paths) = filesystem["paths"]?.content ?? .sequence([]), paths.isEmpty {
            context.error(
                .invalidValue, "`filesystem.paths` must not be empty", at: filesystem["paths"]?.range ?? filesystem.range,
                help: "list the directories to watch")
        }
        if case .scalar(let scalar) = filesystem["debounce_ms"]?.content, case .int(let value) = scalar.value, value > 60000 {
            context.error(
                .invalidValue, "`filesystem.debounce_ms` must be at most 60000, found \(value)", at: filesystem["debounce_ms"]?.range ?? filesystem.range,
                help: "write a value up to 60000 (one minute)")
        }
        for item in filesystem["events"]?.sequence ?? [] {
            if let text = item.scalar?.text, !["create", "modify", "delete"].contains(text) {
                context.error(
                    .invalidValue, "`\(text)` is not a filesystem event; expected `create`, `modify` or `delete`", at: item.range,
                    help: Suggestions.closest(to: text, in: ["create", "modify", "delete"]).map { "did you mean `\($0)`?" } ?? "use create, modify or delete")
            }
        }
    }
}
