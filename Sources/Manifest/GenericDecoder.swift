import Diagnostics
import YAML

// The table-driven half of the decoder: checks a value against a `Field`'s type (SchemaFields.swift),
// recursively, with the same readers and diagnostics as the typed decoder. It decodes the kinds
// this tool stores without executing them, and every field of a level the typed decoder did not
// read, so no key of the tables is silently dropped.

extension DecodeContext {
    /// Checks `node` as a mapping of `level`; nil when it is not a mapping. `quiet` silences
    /// `not-executed` warnings (the document or an enclosing field already gave one).
    @discardableResult
    func generic(_ node: Node, _ level: SchemaLevel, anchor: SourceRange? = nil, key: String? = nil, quiet: Bool) -> Fields? {
        guard let fields = fields(node, level, anchor: anchor, key: key) else { return nil }
        genericFields(fields, quiet: quiet)
        return fields
    }

    /// Checks every field of an already opened mapping against its level's table.
    func genericFields(_ fields: Fields, quiet: Bool, skipping skipped: Set<String> = []) {
        let level = fields.level
        for field in level.fields where !skipped.contains(field.key) {
            guard let entry = fields.entry(field.key) else {
                if field.required { missing(field.key, in: fields) }
                continue
            }
            if entry.value.isNull {
                if field.required { missing(field.key, in: fields) }
                continue
            }
            check(field, entry: entry, in: fields, quiet: quiet)
        }
    }

    /// One field's value, and its `not-executed` warning unless `quiet`.
    func check(_ field: Field, entry: MappingEntry, in fields: Fields, quiet: Bool) {
        var quietBelow = quiet
        if case .notExecuted(let why) = field.status, !quiet {
            let path = fields.level.path.isEmpty ? field.key : fields.level.path + "." + field.key
            notExecutedNotes.append("\(path.hasPrefix("spec.") ? String(path.dropFirst(5)) : path): \(why)")
            warning(
                .notExecuted, "`\(path)` is accepted and stored but not executed by this tool: \(why)", at: entry.key.range,
                help: "see docs/manifests.md; remove it to silence this warning")
            quietBelow = true
        }
        value(entry.value, field.type, key: field.key, anchor: entry.key.range, quiet: quietBelow)
    }

    /// Checks `node` against `type`.
    func value(_ node: Node, _ type: FieldType, key: String, anchor: SourceRange, quiet: Bool) {
        switch type {
        case .any:
            return
        case .string:
            _ = scalarString(node, key: key)
        case .bool:
            guard case .scalar(let scalar) = node.content, case .bool = scalar.value else {
                typeMismatch("a boolean (true or false)", found: node, key: key)
                return
            }
        case .integer(let minimum):
            guard case .scalar(let scalar) = node.content, case .int(let wide) = scalar.value, let number = Int(exactly: wide) else {
                typeMismatch("an integer", found: node, key: key)
                return
            }
            if number < minimum {
                let bound = minimum == 0 ? "zero or more" : "at least \(minimum)"
                error(.invalidValue, "`\(key)` must be \(bound), found \(number)", at: node.range, help: "write an integer that is \(bound)")
            } else if let excess = IntegerRanges.excess(number, key: key) {
                error(.invalidValue, excess.message, at: node.range, help: excess.help)
            }
        case .number:
            guard case .scalar(let scalar) = node.content else {
                typeMismatch("a number", found: node, key: key)
                return
            }
            switch scalar.value {
            case .int, .float: return
            default: typeMismatch("a number", found: node, key: key)
            }
        case .strings:
            guard case .sequence(let items) = node.content else {
                typeMismatch("a list of strings", found: node, key: key)
                return
            }
            for item in items { _ = scalarString(item, key: nil, expected: "a string in `\(key)`") }
        case .stringMap:
            _ = stringMap(node, key: key)
        case .stringListMap, .numberMap:
            guard case .mapping(let entries) = node.content else {
                typeMismatch(type == .numberMap ? "a mapping of names to numbers" : "a mapping of names to lists of strings", found: node, key: key)
                return
            }
            for entry in entries {
                let name = "\(key).\(entry.key.scalar?.text ?? "")"
                value(entry.value, type == .numberMap ? .number : .strings, key: name, anchor: entry.key.range, quiet: quiet)
            }
        case .values(let allowed):
            guard let text = scalarString(node, key: key, expected: "one of " + allowed.map { "`\($0)`" }.joined(separator: ", ")) else { return }
            if !allowed.contains(text.value) {
                let list = allowed.map { "`\($0)`" }.joined(separator: ", ")
                var help = "use one of: \(list)"
                if let close = Suggestions.closest(to: text.value, in: allowed) { help = "did you mean `\(close)`? " + help }
                error(.invalidValue, "`\(text.value)` is not a valid value for `\(key)`; expected one of \(list)", at: node.range, help: help)
            }
        case .object(let level):
            generic(node, level, anchor: anchor, key: key, quiet: quiet)
        case .objects(let level):
            guard case .sequence(let items) = node.content else {
                typeMismatch("a list of mappings (\(level.place))", found: node, key: key)
                return
            }
            for item in items { generic(item, level, quiet: quiet) }
        case .objectOrObjects(let level):
            if case .sequence(let items) = node.content {
                for item in items { generic(item, level, quiet: quiet) }
            } else {
                generic(node, level, anchor: anchor, key: key, quiet: quiet)
            }
        case .storeData:
            guard case .mapping = node.content else {
                typeMismatch("a mapping of names to values", found: node, key: key)
                return
            }
        }
    }

    /// At the end of a document: the fields of every mapping that the typed decoder did not read
    /// are checked against the tables (type, and `not-executed` when so marked).
    func finishDocument() {
        var index = 0
        let typedCount = mappings.count
        while index < mappings.count {
            let fields = mappings[index]
            index += 1
            if typedReads != nil, index <= typedCount {
                for key in fields.reads.names ?? [] { typedReads?.insert(fields.level.rawValue + "." + key) }
            }
            // The entries the typed decoder did not read, in the table's order (the order of
            // the findings): a mapping has a few entries, its level up to dozens of fields.
            let read = fields.reads.entries
            var unread: [(position: Int, entry: MappingEntry)] = []
            for (index, entry) in fields.entries.enumerated() where !read[index] {
                // The first entry of a key only, and none of a key the decoder read (a duplicated
                // key is reported elsewhere).
                guard let position = fields.level.position(ofKey: entry.key), let name = entry.key.scalarText,
                    !unread.contains(where: { $0.position == position }),
                    !fields.entries.indices.contains(where: { read[$0] && fields.entries[$0].key.hasText(name) })
                else { continue }
                unread.append((position, entry))
            }
            if unread.isEmpty { continue }
            let table = fields.level.fields
            for item in unread.sorted(by: { $0.position < $1.position }) where !item.entry.value.isNull {
                check(table[item.position], entry: item.entry, in: fields, quiet: false)
            }
        }
        // The array's storage is reused by the next document (one per resource).
        mappings.removeAll(keepingCapacity: true)
    }
}
