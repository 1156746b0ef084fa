import Manifest

// `{name}` placeholders in StepTemplate prompts and in agent and step commands
// (spec/execution.md "Placeholders"), found the way the runner substitutes them.

/// One `{name}` in a text: its name and its UTF-8 byte offsets (the braces included).
public struct PlaceholderOccurrence: Sendable, Hashable {
    public var name: String
    public var start: Int
    public var end: Int
}

/// The placeholders every step can use (spec/execution.md "Placeholders"), besides the built-in
/// variables (`PrehookVariables.builtins`, each a placeholder too). The runner gives each its
/// value in an exhaustive `switch`, so a case added here without teaching the runner does not
/// compile; lint knows them from the same list.
public enum BuiltinPlaceholder: String, Sendable, CaseIterable {
    case prompt, goal
    case taskID = "task_id"
    case itemID = "item_id"
    case cycle, phase
    case sourceTree = "source_tree"
    case workspaceRoot = "workspace_root"
    case relPath = "rel_path"
    case qaFilePath = "qa_file_path"
    case diff
    case ticketPaths = "ticket_paths"
}

/// The syntax of a placeholder, the one scanner lint and the runner share.
public enum PlaceholderSyntax {
    public static func isNameStart(_ byte: UInt8) -> Bool {
        (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || byte == 0x5F
    }

    public static func isNameByte(_ byte: UInt8) -> Bool { isNameStart(byte) || (byte >= 0x30 && byte <= 0x39) }

    /// `{name}` at `index` (which holds `{`): `[A-Za-z_][A-Za-z0-9_]*` between braces, so
    /// `{"a": 1}` and `{ x }` are not placeholders.
    public static func placeholder(in bytes: [UInt8], at index: Int) -> PlaceholderOccurrence? {
        var end = index + 1
        guard end < bytes.count, isNameStart(bytes[end]) else { return nil }
        while end < bytes.count, isNameByte(bytes[end]) { end += 1 }
        guard end < bytes.count, bytes[end] == UInt8(ascii: "}") else { return nil }
        return PlaceholderOccurrence(name: String(decoding: bytes[(index + 1)..<end], as: UTF8.self), start: index, end: end + 1)
    }

    /// Every placeholder of a text under plain substitution (prompts), in order.
    public static func occurrences(in text: String) -> [PlaceholderOccurrence] {
        let bytes = Array(text.utf8)
        var found: [PlaceholderOccurrence] = []
        var index = 0
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "{"), let occurrence = placeholder(in: bytes, at: index) {
                found.append(occurrence)
                index = occurrence.end
            } else {
                index += 1
            }
        }
        return found
    }
}

enum PlaceholderScanner {
    static let builtinNames: Set<String> = Set(BuiltinPlaceholder.allCases.map(\.rawValue) + PrehookVariables.builtins.map(\.name))

    static func isNameStart(_ byte: UInt8) -> Bool { PlaceholderSyntax.isNameStart(byte) }
    static func isNameByte(_ byte: UInt8) -> Bool { PlaceholderSyntax.isNameByte(byte) }
    static func placeholder(in bytes: [UInt8], at index: Int) -> PlaceholderOccurrence? { PlaceholderSyntax.placeholder(in: bytes, at: index) }

    /// Every placeholder of a prompt (plain substitution).
    static func prompt(_ text: String) -> [PlaceholderOccurrence] { PlaceholderSyntax.occurrences(in: text) }

    /// Every placeholder of a shell command, as the runner's quoting-aware substitution sees them:
    /// `${...}` is the shell's, `\{` is an escaped brace and a `#` comment is left alone.
    static func command(_ text: String) -> [PlaceholderOccurrence] {
        let bytes = Array(text.utf8)
        var found: [PlaceholderOccurrence] = []
        enum Quote { case none, single, double }
        var quote = Quote.none
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            switch quote {
            case .single:
                if byte == UInt8(ascii: "'") {
                    quote = .none
                } else if byte == UInt8(ascii: "{"), let occurrence = placeholder(in: bytes, at: index) {
                    found.append(occurrence)
                    index = occurrence.end
                    continue
                }
            case .double, .none:
                if byte == UInt8(ascii: "\\") {
                    index += 2
                    continue
                }
                if byte == UInt8(ascii: "$"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "{") {
                    index += 2
                    continue
                }
                if byte == UInt8(ascii: "{"), let occurrence = placeholder(in: bytes, at: index) {
                    found.append(occurrence)
                    index = occurrence.end
                    continue
                }
                if quote == .double {
                    if byte == UInt8(ascii: "\"") { quote = .none }
                } else if byte == UInt8(ascii: "'") {
                    quote = .single
                } else if byte == UInt8(ascii: "\"") {
                    quote = .double
                } else if byte == UInt8(ascii: "#"), index == 0 || isWordBreak(bytes[index - 1]) {
                    while index < bytes.count, bytes[index] != 0x0A { index += 1 }
                    continue
                }
            }
            index += 1
        }
        return found
    }

    private static func isWordBreak(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == UInt8(ascii: ";") || byte == UInt8(ascii: "&")
            || byte == UInt8(ascii: "|") || byte == UInt8(ascii: "(")
    }
}
