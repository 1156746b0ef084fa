import Diagnostics
import Foundation
import JSON
import Manifest
import Testing
import YAML

/// The field tables (SchemaFields.swift) against the typed decoder, the JSON Schema export and
/// docs/manifests.md: a field in one and not the other fails here.
@Suite struct SchemaTableTests {
    /// A value of `type` that decodes without a type error.
    static func sample(_ type: FieldType) -> JSONValue {
        switch type {
        case .string, .any: return .string("x")
        case .bool: return .bool(true)
        case .integer(let minimum): return .int(Int64(minimum == Int.min ? 1 : max(minimum, 1)))
        case .number: return .double(0.5)
        case .strings: return .array([.string("x")])
        case .stringMap, .storeData: return .object([("k", .string("v"))])
        case .stringListMap: return .object([("k", .array([.string("v")]))])
        case .numberMap: return .object([("k", .int(1))])
        case .values(let values): return .string(values[0])
        case .object(let level): return minimal(level)
        case .objects(let level), .objectOrObjects(let level): return .array([minimal(level)])
        }
    }

    /// A mapping of `level` with its required fields.
    static func minimal(_ level: SchemaLevel, plus extra: (key: String, value: JSONValue)? = nil) -> JSONValue {
        var pairs: [(key: String, value: JSONValue)] = []
        for field in level.fields where field.required && field.key != extra?.key {
            pairs.append((field.key, sample(field.type)))
        }
        if let extra { pairs.append(extra) }
        return .object(pairs)
    }

    /// The chain of (level, key) from `root` down to `target`, nil when unreachable.
    static func path(from root: SchemaLevel, to target: SchemaLevel) -> [(SchemaLevel, Field)]? {
        if root == target { return [] }
        var queue: [(SchemaLevel, [(SchemaLevel, Field)])] = [(root, [])]
        var seen: Set<SchemaLevel> = [root]
        while !queue.isEmpty {
            let (level, trail) = queue.removeFirst()
            for field in level.fields {
                let child: SchemaLevel
                switch field.type {
                case .object(let next), .objects(let next), .objectOrObjects(let next): child = next
                default: continue
                }
                guard !seen.contains(child) else { continue }
                seen.insert(child)
                let next = trail + [(level, field)]
                if child == target { return next }
                queue.append((child, next))
            }
        }
        return nil
    }

    /// A document of `kind` in which `field` of `level` is written.
    static func document(_ kind: ResourceKind, level: SchemaLevel, field: Field) -> JSONValue? {
        guard let spec = SchemaExport.specLevel(kind), let trail = path(from: spec, to: level) else { return nil }
        var value = minimal(level, plus: (field.key, sample(field.type)))
        let actionType = postActionType(level: level, key: field.key)
        if level == .postAction, let actionType, case .object(let pairs) = value {
            value = .object(pairs.map { $0.key == "type" ? ("type", .string(actionType)) : $0 })
        }
        for (parent, via) in trail.reversed() {
            if case .objects = via.type { value = .array([value]) }
            value = minimal(parent, plus: (via.key, value))
            if parent == .postAction, let actionType, case .object(let pairs) = value {
                value = .object(pairs.map { $0.key == "type" ? ("type", .string(actionType)) : $0 })
            }
        }
        return .object([
            ("apiVersion", .string(ManifestDecoder.apiVersion)), ("kind", .string(kind.rawValue)),
            ("metadata", .object([("name", .string("n"))])), ("spec", value),
        ])
    }

    /// A post-action's fields belong to its type: the document names the type that reads `key`.
    static func postActionType(level: SchemaLevel, key: String) -> String? {
        switch (level, key) {
        case (.postAction, "goal"), (.postAction, "workflow"), (.postAction, "inherit"), (.spawnInherit, _): return "spawn_task"
        case (.postAction, "max_tasks"), (.postAction, "queue"), (.generateMapping, "goal"), (.generateMapping, "workflow"), (.generateMapping, "name"):
            return "spawn_tasks"
        case (.postAction, "store"), (.postAction, "key"): return "store_put"
        default: return nil
        }
    }

    static func reads(_ document: JSONValue) -> Set<String> {
        ManifestDecoder.typedKeysRead(documents: [Document(root: Node(json: document), range: SourceRange(at: .start))])
    }

    /// Every executed field of every kind is read by the typed decoder (not merely type-checked by
    /// the tables), and the typed decoder reads no key the tables lack.
    @Test func theDecoderReadsExactlyTheTables() {
        var checked = 0
        for kind in ResourceKind.builtin {
            guard let spec = SchemaExport.specLevel(kind) else { continue }
            var levels: [SchemaLevel] = [spec]
            var index = 0
            while index < levels.count {
                let level = levels[index]
                index += 1
                for field in level.fields {
                    switch field.type {
                    case .object(let child), .objects(let child), .objectOrObjects(let child):
                        if !levels.contains(child), field.isExecuted || field.status == .ours { levels.append(child) }
                    default: break
                    }
                    guard field.isExecuted || field.status == .ours else { continue }
                    guard let document = Self.document(kind, level: level, field: field) else {
                        Issue.record("no path to \(level).\(field.key) in \(kind)")
                        continue
                    }
                    let read = Self.reads(document)
                    #expect(read.contains(level.rawValue + "." + field.key), "\(kind.rawValue): the decoder never reads `\(level.path).\(field.key)`")
                    for key in read {
                        let parts = key.split(separator: ".", maxSplits: 1).map(String.init)
                        let known = SchemaLevel(rawValue: parts[0])?.field(parts[1]) != nil
                        #expect(known, "the decoder reads `\(key)`, which the tables lack")
                    }
                    checked += 1
                }
            }
        }
        #expect(checked > 100, "checked \(checked) fields")
    }

    /// The exported JSON Schema has, for every level, exactly the table's keys.
    @Test func theJSONSchemaHasExactlyTheTables() {
        let schema = SchemaExport.schema(for: nil)
        guard case .object(let defs) = schema["$defs"] ?? .null else {
            Issue.record("no $defs")
            return
        }
        var levels = 0
        for (name, definition) in defs where !name.hasPrefix("kind.") {
            guard let level = SchemaLevel(rawValue: name), case .object(let properties) = definition["properties"] ?? .null else {
                Issue.record("\(name) is no level with properties")
                continue
            }
            #expect(properties.map(\.key) == level.keys, "\(name)")
            let required = definition["required"]?.arrayValue?.compactMap(\.stringValue) ?? []
            #expect(required == level.fields.filter(\.required).map(\.key), "\(name)")
            #expect((definition["additionalProperties"] == .bool(false)) == (level.unknownKeys == .refused), "\(name)")
            levels += 1
        }
        #expect(levels == SchemaLevel.allCases.count, "every level is exported")
    }

    /// docs/manifests.md holds the field reference generated from the tables, as generated.
    @Test func docsListEveryField() throws {
        let docs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("docs/manifests.md")
        let text = try String(contentsOf: docs, encoding: .utf8)
        let generated = SchemaExport.markdown()
        let begin = "<!-- field-reference:begin -->\n", end = "<!-- field-reference:end -->"
        guard let start = text.range(of: begin), let stop = text.range(of: end) else {
            Issue.record("docs/manifests.md has no field-reference markers")
            return
        }
        let current = String(text[start.upperBound..<stop.lowerBound])
        if current != generated {
            try? generated.write(toFile: NSTemporaryDirectory() + "/field-reference.md", atomically: true, encoding: .utf8)
        }
        #expect(current == generated, "regenerate the field reference (written to $TMPDIR/field-reference.md)")
    }
}
