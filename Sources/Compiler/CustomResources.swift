import Diagnostics
import Expr
import Manifest
import YAML

// CustomResourceDefinitions and their instances: a CRD's CEL rules must compile; an instance
// must name a served version of its CRD, and its spec must satisfy the version's JSON Schema
// (the subset the replaced system checked: type, enum, minLength, maxLength, pattern, minimum,
// maximum, required, properties, additionalProperties, items, minItems, maxItems) and every CEL
// rule, with `self` bound to the spec. Each failure names the keyword or rule, at the value.

extension CompileContext {
    /// The CRD defining `kind`: in the resource's project first, then in any project (CRDs of the
    /// replaced system were cluster-wide), own file first, given before stored.
    func definition(ofKind kind: String, project: String, file: String) -> (Definition, CRDSpec)? {
        var candidates: [Definition] = []
        let ordered = [project] + projects.keys.filter { $0 != project }.sorted()
        for name in ordered {
            guard let index = projects[name] else { continue }
            for definitions in (index.given[.customResourceDefinition] ?? [:]).values { candidates += definitions }
            for definition in (index.stored[.customResourceDefinition] ?? [:]).values { candidates.append(definition) }
        }
        let matching = candidates.compactMap { definition -> (Definition, CRDSpec)? in
            guard case .customResourceDefinition(let spec) = definition.spec, spec.kind.value == kind else { return nil }
            return (definition, spec)
        }
        return matching.first { $0.0.file == file } ?? matching.first
    }

    mutating func checkDefinition(_ crd: CRDSpec, of resource: Resource) {
        for version in crd.versions {
            for rule in version.celRules {
                _ = checkExpression(
                    rule.rule, file: resource.file, declared: Declarations(types: ["self": .dyn]),
                    what: "CEL rule of CRD `\(resource.name)` version `\(version.name.value)`",
                    undeclaredHelp: "a CRD rule sees `self`, the instance's spec")
            }
        }
    }

    mutating func checkCustomResource(_ custom: CustomResourceSpec, of resource: Resource) {
        let project = Compiler.project(of: resource)
        guard let (definition, crd) = definition(ofKind: custom.kind.value, project: project, file: resource.file) else {
            let (severity, where_) = referenceSeverity("the CustomResourceDefinition of kind `\(custom.kind.value)`")
            report(
                .unresolvedReference,
                "kind `\(custom.kind.value)` is neither built in nor defined by a CustomResourceDefinition",
                file: resource.file, range: custom.kind.range, help: where_, severity: severity)
            return
        }
        let parts = custom.apiVersion.value.split(separator: "/", maxSplits: 1).map(String.init)
        guard parts.count == 2, parts[0] == crd.group.value,
            let version = crd.versions.first(where: { $0.name.value == parts[1] && $0.served })
        else {
            let served = crd.servedAPIVersions.map { "`\($0)`" }.joined(separator: ", ")
            report(
                .customResourceVersion,
                "apiVersion `\(custom.apiVersion.value)` is not a served version of CRD `\(definition.name)` (kind `\(crd.kind.value)`)",
                file: resource.file, range: custom.apiVersion.range, help: "write one of: \(served)")
            return
        }
        guard let spec = custom.spec else { return }
        if let schema = version.schema {
            var validator = SchemaValidator(file: resource.file, owner: "CRD `\(definition.name)`")
            validator.validate(spec, schema: schema, path: "$")
            diagnostics += validator.diagnostics
            if !validator.diagnostics.isEmpty { return }
        }
        let value = Value(json: spec.json)
        for rule in version.celRules {
            guard case .success(let expression) = ExprParser.parseResult(rule.rule.text) else { continue }  // reported at the CRD
            let where_ = "CRD `\(definition.name)`, line \(rule.rule.range.start.line)"
            switch Program(expression).evaluate(["self": value]) {
            case .value(.bool(true)):
                continue
            case .value(.bool(false)):
                report(
                    .customResourceRule, "CEL validation failed: \(rule.message.value) (rule `\(rule.rule.text)`)",
                    file: resource.file, range: spec.range, help: "change the spec so that the rule of \(where_) holds")
            case .value(let other):
                report(
                    .customResourceRule, "CEL rule `\(rule.rule.text)` gave \(other), not a boolean", file: resource.file,
                    range: spec.range, help: "fix the rule of \(where_): it must give true or false")
            case .error(let message):
                report(
                    .customResourceRule, "CEL rule `\(rule.rule.text)` failed: \(message)", file: resource.file, range: spec.range,
                    help: "the spec lacks what the rule of \(where_) reads, or the rule is wrong")
            }
        }
    }
}

/// The JSON Schema subset of the replaced system's CRDs, over YAML nodes (so each finding has
/// the position of the value that broke it).
struct SchemaValidator {
    let file: String
    /// Whose schema it is, for messages: "CRD `name`", "WorkflowStore `name`".
    let owner: String
    var diagnostics: [Diagnostic] = []

    mutating func fail(_ keyword: String, _ message: String, at node: Node, path: String, help: String) {
        diagnostics.append(
            Diagnostic(
                severity: .error, rule: CompilerRule.customResourceSchema.rawValue,
                message: "`\(path)`: \(message) (schema keyword `\(keyword)` of \(owner))", file: file, range: node.range,
                help: help))
    }

    static func typeName(_ node: Node) -> String {
        switch node.content {
        case .mapping: return "object"
        case .sequence: return "array"
        case .scalar(let scalar):
            switch scalar.value {
            case .null: return "null"
            case .bool: return "boolean"
            case .int: return "integer"
            case .float: return "number"
            case .string: return "string"
            }
        }
    }

    static func number(_ node: Node?) -> Double? {
        guard case .scalar(let scalar) = node?.content else { return nil }
        switch scalar.value {
        case .int(let value): return Double(value)
        case .float(let value): return value
        default: return nil
        }
    }

    mutating func validate(_ node: Node, schema: Node, path: String) {
        guard case .mapping = schema.content else { return }
        let actual = SchemaValidator.typeName(node)
        if let type = schema["type"] {
            let allowed = type.sequence?.compactMap { $0.scalar?.text } ?? [type.scalar?.text ?? ""]
            let fits = allowed.contains(actual) || (actual == "integer" && allowed.contains("number"))
            if !fits {
                fail("type", "expected \(allowed.joined(separator: " or ")), found \(actual)", at: node, path: path, help: "write a value of type \(allowed.joined(separator: " or "))")
                return
            }
        }
        if let options = schema["enum"]?.sequence, !options.contains(where: { $0.json == node.json }) {
            let list = options.map { $0.scalar?.text ?? "…" }.map { "`\($0)`" }.joined(separator: ", ")
            fail("enum", "`\(node.scalar?.text ?? actual)` is not one of \(list)", at: node, path: path, help: "use one of \(list)")
        }
        if case .scalar(let scalar) = node.content, case .string(let text) = scalar.value {
            let length = text.count
            if let minimum = SchemaValidator.number(schema["minLength"]), Double(length) < minimum {
                fail("minLength", "is \(length) characters long, at least \(Int(minimum)) required", at: node, path: path, help: "write a longer value")
            }
            if let maximum = SchemaValidator.number(schema["maxLength"]), Double(length) > maximum {
                fail("maxLength", "is \(length) characters long, at most \(Int(maximum)) allowed", at: node, path: path, help: "write a shorter value")
            }
            if let pattern = schema["pattern"]?.scalar?.text, let regex = try? Regex(pattern), !regex.matches(text) {
                fail("pattern", "`\(text)` does not match `\(pattern)`", at: node, path: path, help: "write a value matching `\(pattern)`")
            }
        }
        if let value = SchemaValidator.number(node) {
            if let minimum = SchemaValidator.number(schema["minimum"]), value < minimum {
                fail("minimum", "\(node.scalar?.text ?? "") is less than \(schema["minimum"]?.scalar?.text ?? "")", at: node, path: path, help: "write a larger value")
            }
            if let maximum = SchemaValidator.number(schema["maximum"]), value > maximum {
                fail("maximum", "\(node.scalar?.text ?? "") is more than \(schema["maximum"]?.scalar?.text ?? "")", at: node, path: path, help: "write a smaller value")
            }
        }
        if case .sequence(let items) = node.content {
            if let minimum = SchemaValidator.number(schema["minItems"]), Double(items.count) < minimum {
                fail("minItems", "has \(items.count) items, at least \(Int(minimum)) required", at: node, path: path, help: "add items")
            }
            if let maximum = SchemaValidator.number(schema["maxItems"]), Double(items.count) > maximum {
                fail("maxItems", "has \(items.count) items, at most \(Int(maximum)) allowed", at: node, path: path, help: "remove items")
            }
            if let itemSchema = schema["items"] {
                for (index, item) in items.enumerated() { validate(item, schema: itemSchema, path: "\(path)[\(index)]") }
            }
        }
        if case .mapping(let entries) = node.content {
            for name in schema["required"]?.sequence?.compactMap({ $0.scalar?.text }) ?? [] where !entries.contains(where: { $0.key.hasText(name) }) {
                fail("required", "missing required field `\(name)`", at: node, path: path, help: "add `\(name):`")
            }
            let properties = schema["properties"]
            for entry in entries {
                let name = entry.key.scalar?.text ?? ""
                let child = path + "." + name
                if let propertySchema = properties?[name] {
                    validate(entry.value, schema: propertySchema, path: child)
                } else if let additional = schema["additionalProperties"] {
                    if case .scalar(let scalar) = additional.content, case .bool(false) = scalar.value {
                        let known = properties?.mapping?.compactMap { $0.key.scalar?.text } ?? []
                        let close = Suggestions.closest(to: name, in: known).map { "did you mean `\($0)`? " } ?? ""
                        fail("additionalProperties", "unexpected property `\(name)`", at: entry.key, path: path, help: close + "remove it; the schema allows: \(known.map { "`\($0)`" }.joined(separator: ", "))")
                    } else if case .mapping = additional.content {
                        validate(entry.value, schema: additional, path: child)
                    }
                }
            }
        }
    }
}
