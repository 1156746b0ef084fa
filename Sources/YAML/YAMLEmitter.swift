import JSON

/// Writes values as block-style YAML that our parser (and any YAML 1.2 parser) reads back to the
/// same values. Used by `get -o yaml`, `export` and `diff`.
///
/// Strings stay plain only when plain is unambiguous (it would not resolve to null, a boolean or
/// a number, and holds no indicator); multi-line strings become literal block scalars with the
/// right chomping; everything else is double-quoted with escapes.
public enum YAMLEmitter {
    /// A stream of documents, each started by `---`.
    public static func emitStream(_ documents: [JSONValue]) -> String {
        var out = ""
        for document in documents {
            out += "---\n"
            out += emit(document)
        }
        return out
    }

    /// One document (no `---`), ending in a newline.
    public static func emit(_ value: JSONValue) -> String {
        var out = ""
        switch value {
        case .object(let pairs) where !pairs.isEmpty:
            writeMapping(pairs, indent: 0, into: &out)
        case .array(let items) where !items.isEmpty:
            writeSequence(items, indent: 0, into: &out)
        default:
            out += inline(value, indent: 0) + "\n"
        }
        return out
    }

    private static func spaces(_ count: Int) -> String { String(repeating: " ", count: count) }

    private static func writeMapping(_ pairs: [(key: String, value: JSONValue)], indent: Int, into out: inout String) {
        for (key, value) in pairs {
            out += spaces(indent) + scalarString(key, indent: indent, allowBlock: false) + ":"
            writeValue(value, indent: indent, into: &out)
        }
    }

    private static func writeSequence(_ items: [JSONValue], indent: Int, into out: inout String) {
        for item in items {
            out += spaces(indent) + "-"
            switch item {
            case .object(let pairs) where !pairs.isEmpty:
                // `- key: value` with the rest of the mapping aligned under the first key.
                var nested = ""
                writeMapping(pairs, indent: indent + 2, into: &nested)
                out += " " + nested.dropFirst(indent + 2)
            case .array(let inner) where !inner.isEmpty:
                out += "\n"
                writeSequence(inner, indent: indent + 2, into: &out)
            default:
                out += " " + inline(item, indent: indent + 2) + "\n"
            }
        }
    }

    /// The part after `key:`: a nested block, or ` scalar` on the same line.
    private static func writeValue(_ value: JSONValue, indent: Int, into out: inout String) {
        switch value {
        case .object(let pairs) where !pairs.isEmpty:
            out += "\n"
            writeMapping(pairs, indent: indent + 2, into: &out)
        case .array(let items) where !items.isEmpty:
            out += "\n"
            writeSequence(items, indent: indent + 2, into: &out)
        default:
            out += " " + inline(value, indent: indent + 2) + "\n"
        }
    }

    private static func inline(_ value: JSONValue, indent: Int) -> String {
        switch value {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .double(let d):
            if d.isNaN { return ".nan" }
            if d.isInfinite { return d < 0 ? "-.inf" : ".inf" }
            let text = "\(d)"
            return text.contains(".") || text.contains("e") ? text : text + ".0"
        case .string(let s): return scalarString(s, indent: indent, allowBlock: true)
        case .array: return "[]"
        case .object: return "{}"
        }
    }

    /// A string as a plain, literal-block or double-quoted scalar.
    static func scalarString(_ s: String, indent: Int, allowBlock: Bool) -> String {
        if isSafePlain(s) { return s }
        if allowBlock, let block = literalBlock(s, indent: indent) { return block }
        return doubleQuoted(s)
    }

    static func isSafePlain(_ s: String) -> Bool {
        guard let first = s.unicodeScalars.first, let last = s.unicodeScalars.last else { return false }
        if first == " " || last == " " { return false }
        // Indicators that may not start a plain scalar.
        if "-?:,[]{}#&*!|>'\"%@`~".unicodeScalars.contains(first) {
            // `-x`, `?x`, `:x` are plain in YAML 1.2 when followed by a safe character, but be strict.
            return false
        }
        var previous: Unicode.Scalar = " "
        for scalar in s.unicodeScalars {
            if scalar.value < 0x20 || scalar.value == 0x7F || scalar.value == 0xFEFF { return false }
            if scalar.value > 0x7E && (scalar.value < 0xA0 || (0xD800...0xDFFF).contains(scalar.value)) { return false }
            if scalar == "#" && previous == " " { return false }
            if scalar == " " && previous == ":" { return false }
            // Flow indicators would break the value inside flow collections; we never emit flow
            // collections with content, but keep strings that look like them quoted.
            if "[]{},".unicodeScalars.contains(scalar) { return false }
            previous = scalar
        }
        if last == ":" { return false }
        // Anything the core schema would resolve to another type, or a document marker.
        if resolvesToNonString(s) || s == "---" || s == "..." || s.hasPrefix("--- ") || s.hasPrefix("... ") { return false }
        return true
    }

    /// True when a plain scalar with this text would not be a string under the YAML 1.2 core
    /// schema (null, booleans, numbers), or under YAML 1.1 readers (yes/no/on/off), so such
    /// strings are always quoted.
    static func resolvesToNonString(_ s: String) -> Bool {
        switch s {
        case "null", "Null", "NULL", "~", "true", "True", "TRUE", "false", "False", "FALSE",
            "yes", "Yes", "YES", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF", "y", "Y", "n", "N",
            ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF", ".nan", ".NaN", ".NAN":
            return true
        default:
            break
        }
        // Numbers: anything that starts like one is quoted (conservative and cheap).
        guard let first = s.unicodeScalars.first else { return true }
        if ("0"..."9").contains(first) { return true }
        if first == "+" || first == "-" || first == "." {
            let rest = s.unicodeScalars.dropFirst()
            if let second = rest.first, ("0"..."9").contains(second) || second == "." { return true }
        }
        return false
    }

    /// A literal block scalar (`|`, `|-`, `|+`), or nil when the text cannot be one faithfully.
    static func literalBlock(_ s: String, indent: Int) -> String? {
        guard s.contains("\n") else { return nil }
        for scalar in s.unicodeScalars {
            if scalar == "\n" || scalar == "\t" { continue }
            if scalar.value < 0x20 || scalar.value == 0x7F || scalar.value == 0xFEFF || scalar == "\r" { return nil }
            if scalar.value >= 0x80 && scalar.value < 0xA0 { return nil }
        }
        // Count trailing newlines for the chomping indicator.
        var body = Substring(s)
        var trailing = 0
        while body.hasSuffix("\n") { body = body.dropLast(); trailing += 1 }
        guard !body.isEmpty else { return nil }
        let lines = body.split(separator: "\n", omittingEmptySubsequences: false)
        // A line of only spaces would read back as an empty line.
        for line in lines where !line.isEmpty && line.allSatisfy({ $0 == " " }) { return nil }
        // A first line starting with a space would need an indentation indicator, whose meaning
        // depends on the parent's indentation; such (rare) strings are double-quoted instead.
        if lines.first.map({ $0.hasPrefix(" ") }) ?? true { return nil }
        let chomp = trailing == 0 ? "-" : (trailing == 1 ? "" : "+")
        let blockIndent = max(indent, 2)
        var out = "|" + chomp
        for line in lines {
            out += "\n" + (line.isEmpty ? "" : spaces(blockIndent) + line)
        }
        // Keep-chomping: the extra trailing newlines are written as empty lines.
        if trailing > 1 { out += String(repeating: "\n", count: trailing - 1) }
        return out
    }

    static func doubleQuoted(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            case "\0": out += "\\0"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F || (scalar.value >= 0x80 && scalar.value < 0xA0) || scalar.value == 0xFEFF {
                    let hex = String(scalar.value, radix: 16, uppercase: true)
                    out += "\\x" + String(repeating: "0", count: max(0, 2 - hex.count)) + hex
                    if scalar.value > 0xFF {
                        out.removeLast(2 + max(hex.count, 2))
                        out += "\\u" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
                    }
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}

extension Node {
    /// A node built from a JSON value (for resources read back from the store). It has no
    /// source: every range is the empty range at 1:1.
    public init(json: JSONValue) {
        self = NodeTree().build(json)
    }
}

extension NodeTree {
    /// `json` as nodes of this tree, children first (nothing is copied), every range at the start.
    func build(_ json: JSONValue) -> Node {
        let nowhere = SourceRange(at: .start)
        switch json {
        case .null: return addScalar(Scalar(text: "", style: .plain, value: .null), range: nowhere, explicit: true)
        case .bool(let b): return addScalar(Scalar(text: b ? "true" : "false", style: .plain, value: .bool(b)), range: nowhere, explicit: true)
        case .int(let i): return addScalar(Scalar(text: String(i), style: .plain, value: .int(i)), range: nowhere, explicit: true)
        case .double(let d): return addScalar(Scalar(text: "\(d)", style: .plain, value: .float(d)), range: nowhere, explicit: true)
        case .string(let s): return addScalar(Scalar(text: s, style: .doubleQuoted, value: .string(s)), range: nowhere, explicit: true)
        case .array(let items): return addSequence(items.map { build($0) }, range: nowhere, explicit: true)
        case .object(let pairs):
            let entries = pairs.map { pair in
                MappingEntry(
                    key: addScalar(Scalar(text: pair.key, style: .plain, value: .string(pair.key)), range: nowhere, explicit: true),
                    value: build(pair.value))
            }
            return addMapping(entries, range: nowhere, explicit: true)
        }
    }
}

import Diagnostics
