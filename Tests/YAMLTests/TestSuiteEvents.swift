import YAML

/// A node of a document as the YAML test suite's `test.event` file describes it.
indirect enum ExpectedNode {
    /// `style` is the event's style character: `:` plain, `'` single, `"` double, `|` literal, `>` folded.
    case scalar(text: String, style: Character)
    case mapping([(key: ExpectedNode, value: ExpectedNode)])
    case sequence([ExpectedNode])
    case alias

    var isCollection: Bool {
        switch self {
        case .mapping, .sequence: return true
        default: return false
        }
    }
}

/// The documents of a `test.event` file and the YAML features they use that the subset refuses.
struct ExpectedStream {
    var documents: [ExpectedNode] = []
    /// Reasons a case is outside the subset, found in its events: `anchor`, `alias`, `tag`,
    /// `complex key`, `empty key`, `duplicate key`.
    var refusedFeatures: Set<String> = []

    init(events: String) {
        enum Frame {
            case mapping([(key: ExpectedNode, value: ExpectedNode)], pendingKey: ExpectedNode?)
            case sequence([ExpectedNode])
        }
        var stack: [Frame] = []

        func add(_ node: ExpectedNode) {
            guard let top = stack.popLast() else {
                documents.append(node)
                return
            }
            switch top {
            case .sequence(var items):
                items.append(node)
                stack.append(.sequence(items))
            case .mapping(var pairs, let pendingKey):
                if let key = pendingKey {
                    if case .scalar(let text, _) = key {
                        for pair in pairs {
                            if case .scalar(let other, _) = pair.key, other == text { refusedFeatures.insert("duplicate key") }
                        }
                    }
                    pairs.append((key, node))
                    stack.append(.mapping(pairs, pendingKey: nil))
                } else {
                    if node.isCollection { refusedFeatures.insert("complex key") }
                    if case .scalar(let text, let style) = node, text.isEmpty, style == ":" {
                        refusedFeatures.insert("empty key")
                    }
                    stack.append(.mapping(pairs, pendingKey: node))
                }
            }
        }

        /// Removes leading `&anchor` and `<tag>` properties from `rest`, noting them.
        func stripProperties(_ rest: inout Substring) {
            while true {
                if rest.hasPrefix("&") {
                    refusedFeatures.insert("anchor")
                } else if rest.hasPrefix("<") {
                    refusedFeatures.insert("tag")
                } else {
                    return
                }
                if let space = rest.firstIndex(of: " ") {
                    rest = rest[rest.index(after: space)...]
                } else {
                    rest = rest[rest.endIndex...]
                }
            }
        }

        for rawLine in events.split(separator: "\n", omittingEmptySubsequences: true) {
            let line = rawLine
            if line.hasPrefix("+MAP") || line.hasPrefix("+SEQ") {
                var rest = line.dropFirst(4).drop(while: { $0 == " " })
                if rest.hasPrefix("{}") || rest.hasPrefix("[]") { rest = rest.dropFirst(2).drop(while: { $0 == " " }) }
                stripProperties(&rest)
                stack.append(line.hasPrefix("+MAP") ? .mapping([], pendingKey: nil) : .sequence([]))
            } else if line.hasPrefix("-MAP") || line.hasPrefix("-SEQ") {
                guard let top = stack.popLast() else { continue }
                switch top {
                case .mapping(let pairs, _): add(.mapping(pairs))
                case .sequence(let items): add(.sequence(items))
                }
            } else if line.hasPrefix("=VAL ") {
                var rest = line.dropFirst(5)
                stripProperties(&rest)
                guard let style = rest.first else { continue }
                add(.scalar(text: Self.unescape(rest.dropFirst()), style: style))
            } else if line.hasPrefix("=ALI") {
                refusedFeatures.insert("alias")
                add(.alias)
            }
        }
    }

    /// The test suite's event escapes: `\\`, `\n`, `\t`, `\r`, `\b`, `\0`, `\a`, `\v`, `\f`, `\e`.
    static func unescape(_ text: Substring) -> String {
        var result = ""
        var iterator = text.makeIterator()
        while let character = iterator.next() {
            guard character == "\\", let escaped = iterator.next() else {
                result.append(character)
                continue
            }
            switch escaped {
            case "\\": result.append("\\")
            case "n": result.append("\n")
            case "t": result.append("\t")
            case "r": result.append("\r")
            case "b": result.append("\u{08}")
            case "0": result.append("\u{00}")
            case "a": result.append("\u{07}")
            case "v": result.append("\u{0B}")
            case "f": result.append("\u{0C}")
            case "e": result.append("\u{1B}")
            default:
                result.append("\\")
                result.append(escaped)
            }
        }
        return result
    }

    /// Whether `node` (nil: an empty document) is `expected`, scalar text, style and key order included.
    static func matches(_ node: Node?, _ expected: ExpectedNode) -> Bool {
        guard let node else {
            if case .scalar(let text, let style) = expected { return text.isEmpty && style == ":" }
            return false
        }
        switch (node.content, expected) {
        case (.scalar(let scalar), .scalar(let text, let style)):
            return scalar.text == text && styleCharacter(scalar.style) == style
        case (.sequence(let items), .sequence(let expectedItems)):
            guard items.count == expectedItems.count else { return false }
            return zip(items, expectedItems).allSatisfy { matches($0, $1) }
        case (.mapping(let entries), .mapping(let expectedPairs)):
            guard entries.count == expectedPairs.count else { return false }
            return zip(entries, expectedPairs).allSatisfy { matches($0.key, $1.key) && matches($0.value, $1.value) }
        default:
            return false
        }
    }

    static func styleCharacter(_ style: ScalarStyle) -> Character {
        switch style {
        case .plain: return ":"
        case .singleQuoted: return "'"
        case .doubleQuoted: return "\""
        case .literal: return "|"
        case .folded: return ">"
        }
    }
}
