import Diagnostics
import YAML

/// A mapping being decoded at one schema level: its entries, and where a missing key is reported.
struct Fields {
    let node: Node
    let entries: [MappingEntry]
    let level: SchemaLevel
    /// Where a missing required key is reported: the parent's key, or the mapping's first key.
    /// Computed when a finding needs it: most mappings have nothing missing.
    var anchor: SourceRange { anchorRange ?? anchorNode?.range ?? node.range }
    private let anchorRange: SourceRange?
    private let anchorNode: Node?
    /// Keys an unknown key of this mapping was taken for (their absence is not reported again).
    var suggested: Set<String> = []
    /// The entries the typed decoder looked at (the rest get the table-driven check).
    let reads: ReadKeys

    /// `anchor` when given, else the range of `anchorNode`, else the mapping's first key's.
    init(
        node: Node, entries: [MappingEntry], level: SchemaLevel, anchor: SourceRange?, anchorNode: Node? = nil,
        tracksNames: Bool = false
    ) {
        self.node = node
        self.entries = entries
        self.level = level
        self.anchorRange = anchor
        self.anchorNode = anchorNode ?? entries.first?.key
        self.reads = ReadKeys(count: entries.count, tracksNames: tracksNames)
    }

    func entry(_ key: String) -> MappingEntry? {
        if reads.names != nil { reads.names?.append(key) }
        for index in entries.indices where entries[index].key.hasText(key) {
            reads.entries[index] = true
            return entries[index]
        }
        return nil
    }

    /// The value of `key`, nil when absent or written empty (`key:` or `key: ~`).
    func value(_ key: String) -> (key: Node, value: Node)? {
        guard let entry = entry(key), !entry.value.isNull else { return nil }
        return (entry.key, entry.value)
    }

    func has(_ key: String) -> Bool { value(key) != nil }
}

/// What a decoder read of one mapping: which entries (by position; every decoded mapping has
/// one of these, so no set of key names), and every key asked for when the schema-table test
/// records them.
final class ReadKeys {
    // One decoder (one thread) reads and writes them: no exclusivity checks (issue 20: they
    // were 4% of decoding).
    @exclusivity(unchecked) var entries: [Bool]
    @exclusivity(unchecked) var names: [String]?

    init(count: Int, tracksNames: Bool) {
        entries = [Bool](repeating: false, count: count)
        names = tracksNames ? [] : nil
    }
}

/// Collects the diagnostics of one file and offers typed readers that report, at the exact key
/// or value, everything that does not fit.
final class DecodeContext {
    let file: String
    /// The kind of the document being decoded (for hints); nil when unknown.
    var kind: ResourceKind?
    /// The findings kept (up to the decode's `DiagnosticLimit`; the rest are counted).
    private(set) var collected: DiagnosticCollector
    var diagnostics: [Diagnostic] { collected.kept }
    /// Every error found, kept or not (a document with one is rejected).
    private(set) var errorCount = 0
    /// The expressions read in the document being decoded (with the key that holds them): when
    /// the document is rejected, their syntax is still checked here, as the compiler never sees
    /// them.
    var expressionsRead: [(key: String, source: ExpressionSource)] = []

    /// `--strict`: the replaced system's ignored keys (`unknown-key` warnings) are errors.
    let strict: Bool
    /// The mappings of the document being decoded (checked against the field tables at its end).
    var mappings: [Fields] = []
    /// The fields of the current document reported `not-executed` by the tables (path: why).
    var notExecutedNotes: [String] = []
    /// When set, every `LEVEL.KEY` a typed decoder read (the schema-table test).
    var typedReads: Set<String>?

    init(file: String, strict: Bool = false, limit: DiagnosticLimit = .unlimited) {
        self.file = file
        self.strict = strict
        self.collected = DiagnosticCollector(limit: limit)
    }

    /// Adds findings made elsewhere (the syntax of a rejected document's expressions).
    func append(_ diagnostic: Diagnostic) {
        if diagnostic.severity == .error { errorCount += 1 }
        collected.append(diagnostic)
    }

    // MARK: Reporting

    func error(_ rule: ManifestRule, _ message: String, at range: SourceRange, help: String?) {
        errorCount += 1
        collected.append(.error(rule.id, message, file: file, range: range, help: help))
    }

    func warning(_ rule: ManifestRule, _ message: String, at range: SourceRange, help: String?) {
        collected.append(.warning(rule.id, message, file: file, range: range, help: help))
    }

    func typeMismatch(_ expected: String, found node: Node, key: String?) {
        let what = key.map { " for `\($0)`" } ?? ""
        var help = "write \(expected) here"
        if case .scalar(let scalar) = node.content, scalar.style != .plain, expected.contains("boolean") || expected.contains("integer") {
            help = "remove the quotes: a quoted value is always a string"
        } else if node.isNull {
            help = "give it a value, or remove the key"
        } else if case .scalar(let scalar) = node.content, expected.hasPrefix("a list of strings") {
            help = "write a list, e.g. `[\(scalar.text)]`"
        }
        error(.typeMismatch, "expected \(expected)\(what), found \(node.kindDescription)", at: node.range, help: help)
    }

    /// Reports `key` missing from `fields` (unless an unknown key there was taken for it).
    func missing(_ key: String, in fields: Fields, what: String? = nil) {
        guard !fields.suggested.contains(key) else { return }
        let present = fields.entry(key) != nil
        let message =
            present
            ? "`\(key)` has no value in \(fields.level.place)"
            : "missing required field `\(key)` in \(fields.level.place)"
        let range = fields.entry(key)?.key.range ?? fields.anchor
        let help = present ? "write a value after `\(key):`" : "add `\(key): \(what ?? "...")`"
        error(.missingField, message, at: range, help: help)
    }

    // MARK: Mappings

    /// The mapping `node` at `level`, reporting its unknown keys (unless `checkKeys` is false).
    /// `anchor` (or the range of `anchorNode`) is where a missing key is reported; by default
    /// the mapping's first key.
    func fields(
        _ node: Node, _ level: SchemaLevel, anchor: SourceRange? = nil, anchorNode: Node? = nil, key: String? = nil,
        checkKeys: Bool = true
    ) -> Fields? {
        guard let entries = node.mapping else {
            typeMismatch("a mapping (\(level.place))", found: node, key: key)
            return nil
        }
        var fields = Fields(
            node: node, entries: entries, level: level, anchor: anchor, anchorNode: anchorNode, tracksNames: typedReads != nil)
        mappings.append(fields)
        guard checkKeys else { return fields }
        reportUnknownKeys(&fields)
        return fields
    }

    /// Unknown keys, by the replaced system's contract at this level: an error where it refused
    /// them; a warning where it ignored them or warned (`--strict`: an error), unless the key
    /// stands for a required field that is missing (the replaced system refuses that file too).
    func reportUnknownKeys(_ fields: inout Fields) {
        let level = fields.level
        for entry in fields.entries {
            guard level.position(ofKey: entry.key) == nil else { continue }
            let name = entry.key.scalarText ?? ""
            let advice = level.advice(forUnknownKey: name, kind: kind)
            if let target = advice.sameLevelTarget { fields.suggested.insert(target) }
            let message = "unknown key `\(name)` in \(level.place)"
            switch level.unknownKeys {
            case .refused:
                error(.unknownKey, message + " (the replaced system refused it too)", at: entry.key.range, help: advice.help)
            case .ignored, .warned:
                let before = level.unknownKeys == .ignored ? "the replaced system ignored it" : "the replaced system warned about it"
                if let target = advice.sameLevelTarget, level.field(target)?.required == true,
                    !fields.entries.contains(where: { $0.key.hasText(target) })
                {
                    error(
                        .unknownKey, message + "; \(before), but `\(target)` is required, so it refused this document",
                        at: entry.key.range, help: advice.help)
                } else if strict {
                    error(.unknownKey, message + " (--strict; \(before))", at: entry.key.range, help: advice.help)
                } else {
                    warning(
                        .unknownKey, message + "; \(before), and here it is stored but not used (`validate --strict`: an error)",
                        at: entry.key.range, help: advice.help)
                }
            }
        }
    }

    /// The nested mapping under `key`, nil when absent, empty or of the wrong type (reported).
    func nested(_ fields: Fields, _ key: String, _ level: SchemaLevel, required: Bool = false) -> Fields? {
        guard let (keyNode, value) = fields.value(key) else {
            if required { missing(key, in: fields) }
            return nil
        }
        return self.fields(value, level, anchorNode: keyNode, key: key)
    }

    // MARK: Scalars

    /// The text of any non-null scalar (numbers and booleans keep their written text, as the
    /// replaced system's loader does for string fields).
    func scalarString(_ node: Node, key: String?, expected: String = "a string") -> Located<String>? {
        guard let text = node.nonNullScalarText else {
            typeMismatch(expected, found: node, key: key)
            return nil
        }
        return Located(text, range: node.range)
    }

    func string(_ fields: Fields, _ key: String, required: Bool = false) -> Located<String>? {
        guard let (_, value) = fields.value(key) else {
            if required { missing(key, in: fields) }
            return nil
        }
        return scalarString(value, key: key)
    }

    /// Whether `text` is empty or only whitespace; a first byte that is a visible ASCII
    /// character answers at once (no Character is made).
    static func isBlank(_ text: String) -> Bool {
        if let first = text.utf8.first, first > 0x20, first < 0x7F { return false }
        return text.allSatisfy(\.isWhitespace)
    }

    /// A string that must not be empty (names, ids, commands, expressions).
    func nonEmptyString(_ fields: Fields, _ key: String, required: Bool = false) -> Located<String>? {
        guard let located = string(fields, key, required: required) else { return nil }
        if DecodeContext.isBlank(located.value) {
            error(
                .invalidValue, "`\(key)` is empty in \(fields.level.place)", at: located.range,
                help: "write a value, or remove the key")
            return nil
        }
        return located
    }

    func bool(_ fields: Fields, _ key: String) -> Located<Bool>? {
        guard let (_, value) = fields.value(key) else { return nil }
        guard case .scalar(let scalar) = value.content, case .bool(let flag) = scalar.value else {
            typeMismatch("a boolean (true or false)", found: value, key: key)
            return nil
        }
        return Located(flag, range: value.range)
    }

    /// An integer of at least `minimum`.
    func int(_ fields: Fields, _ key: String, minimum: Int = 0, required: Bool = false) -> Located<Int>? {
        guard let (_, value) = fields.value(key) else {
            if required { missing(key, in: fields) }
            return nil
        }
        guard case .scalar(let scalar) = value.content, case .int(let wide) = scalar.value,
            let number = Int(exactly: wide)
        else {
            typeMismatch("an integer", found: value, key: key)
            return nil
        }
        guard number >= minimum else {
            let bound = minimum == 0 ? "zero or more" : "at least \(minimum)"
            error(
                .invalidValue, "`\(key)` must be \(bound), found \(number)", at: value.range,
                help: "write an integer that is \(bound)")
            return nil
        }
        if let excess = IntegerRanges.excess(number, key: key) {
            error(.invalidValue, excess.message, at: value.range, help: excess.help)
            return nil
        }
        return Located(number, range: value.range)
    }

    /// One of an enum's raw values; anything else is `invalid-value` listing the allowed set.
    func enumValue<E: RawRepresentable & CaseIterable & Sendable>(
        _ fields: Fields, _ key: String, _ type: E.Type, required: Bool = false
    ) -> Located<E>? where E.RawValue == String {
        guard let (_, value) = fields.value(key) else {
            if required { missing(key, in: fields) }
            return nil
        }
        return enumValue(value, key: key, type)
    }

    func enumValue<E: RawRepresentable & CaseIterable & Sendable>(_ node: Node, key: String, _ type: E.Type)
        -> Located<E>? where E.RawValue == String
    {
        let allowed = E.allCases.map(\.rawValue)
        let list = allowed.map { "`\($0)`" }.joined(separator: ", ")
        guard let text = scalarString(node, key: key, expected: "one of \(list)") else { return nil }
        if let parsed = E(rawValue: text.value) { return Located(parsed, range: node.range) }
        var help = "use one of: \(list)"
        if let close = Suggestions.closest(to: text.value, in: allowed)
            ?? DecodeContext.valueAliases[text.value.lowercased()].flatMap({ allowed.contains($0) ? $0 : nil })
        {
            help = "did you mean `\(close)`? " + help
        }
        error(
            .invalidValue, "`\(text.value)` is not a valid value for `\(key)`; expected one of \(list)",
            at: node.range, help: help)
        return nil
    }

    /// Words the replaced system's users write for an enum value, and the value they mean.
    static let valueAliases: [String: String] = [
        "output": "stdout", "error": "stderr", "errors": "stderr", "exit": "exit_code", "exitcode": "exit_code",
        "status": "exit_code", "failed": "failed_flag", "success": "success_flag", "loop": "infinite",
        "forever": "infinite", "single": "once", "stop": "early_return", "abort": "early_return", "fail": "early_return",
    ]

    /// `engine: cel`, the one expression engine.
    @discardableResult
    func checkEngine(_ fields: Fields) -> Located<String>? {
        guard let engine = string(fields, "engine") else { return nil }
        if engine.value != "cel" {
            var help = "write `engine: cel` (or leave it out: `cel` is the only engine)"
            if engine.value.lowercased() == "cel" { help = "did you mean `cel`? " + help }
            error(
                .invalidValue, "`\(engine.value)` is not a valid value for `engine`; expected `cel`", at: engine.range,
                help: help)
            return nil
        }
        return engine
    }

    /// An expression held in a string scalar.
    func expression(_ fields: Fields, _ key: String, required: Bool = false) -> ExpressionSource? {
        guard let (_, value) = fields.value(key) else {
            if required { missing(key, in: fields, what: "EXPRESSION") }
            return nil
        }
        guard let text = scalarString(value, key: key, expected: "an expression (a string)") else { return nil }
        if DecodeContext.isBlank(text.value) {
            error(.invalidValue, "the expression `\(key)` is empty", at: value.range, help: "write a condition, e.g. `cycle > 1`")
            return nil
        }
        let source = ExpressionSource(text: text.value, node: value)
        expressionsRead.append((key, source))
        return source
    }

    // MARK: Lists

    /// The entries of the list under `key`; nil when absent or of the wrong type (reported).
    func list(_ fields: Fields, _ key: String, of what: String, required: Bool = false) -> [Node]? {
        guard let (_, value) = fields.value(key) else {
            if required { missing(key, in: fields) }
            return nil
        }
        guard case .sequence(let items) = value.content else {
            typeMismatch("a list of \(what)", found: value, key: key)
            return nil
        }
        return items
    }

    func stringList(_ fields: Fields, _ key: String, required: Bool = false) -> [Located<String>]? {
        guard let items = list(fields, key, of: "strings", required: required) else { return nil }
        var result: [Located<String>] = []
        for item in items {
            if let text = scalarString(item, key: nil, expected: "a string in `\(key)`") { result.append(text) }
        }
        return result
    }

    /// A mapping of string keys to string values (labels, annotations, vars).
    func stringMap(_ node: Node, key: String) -> [(key: String, value: Located<String>)]? {
        guard case .mapping(let entries) = node.content else {
            typeMismatch("a mapping of strings to strings", found: node, key: key)
            return nil
        }
        var result: [(key: String, value: Located<String>)] = []
        for entry in entries {
            let name = entry.key.scalar?.text ?? ""
            if let text = scalarString(entry.value, key: "\(key).\(name)") { result.append((name, text)) }
        }
        return result
    }

    /// A value kept as written (accepted and stored): it must be one of the given shapes.
    func stored(_ fields: Fields, _ key: String, mapping: Bool, list: Bool) -> (key: Node, value: Node)? {
        guard let (keyNode, value) = fields.value(key) else { return nil }
        switch value.content {
        case .mapping where mapping, .sequence where list:
            return (keyNode, value)
        default:
            let expected = mapping && list ? "a mapping or a list" : mapping ? "a mapping" : "a list"
            typeMismatch(expected, found: value, key: key)
            return nil
        }
    }

    // MARK: Combinations

    /// Reports `second` when it is written together with `first`.
    func conflict(_ fields: Fields, _ first: String, _ second: String, help: String) {
        guard fields.has(first), let entry = fields.entry(second), !entry.value.isNull else { return }
        error(
            .conflictingFields, "`\(second)` cannot be used together with `\(first)` in \(fields.level.place)",
            at: entry.key.range, help: help)
    }
}
