import Compiler
import Store
import Platform
// `{name}` placeholders in StepTemplate prompts and agent/step commands (execution.md
// "Placeholders" and "Quoting"). Prompts get plain substitution. Commands go to `/bin/sh -c`, and
// values come from agents' output, so command substitution follows the shell's quoting state at
// each placeholder and every value arrives at the program as exactly its characters.

/// A placeholder whose value could not be placed safely where it stands. It is left literal; the
/// caller must not run the command (the step fails with the reason).
public struct UnsafePlaceholder: Sendable, Equatable, CustomStringConvertible {
    public var name: String
    public var reason: String

    public init(name: String, reason: String) {
        self.name = name
        self.reason = reason
    }

    public var description: String { "{\(name)}: \(reason)" }
}

/// A rendered prompt or command.
public struct RenderedTemplate: Sendable, Equatable {
    public var text: String
    /// Placeholders with no value, left literal: each name once, in order of first appearance.
    public var missing: [String]
    /// Command rendering only: placeholders that were left literal because no quoting keeps their
    /// value in place (see `UnsafePlaceholder`).
    public var unsafe: [UnsafePlaceholder]

    public init(text: String, missing: [String] = [], unsafe: [UnsafePlaceholder] = []) {
        self.text = text
        self.missing = missing
        self.unsafe = unsafe
    }

    /// Safe to run (missing placeholders are reported but do not make a command unsafe).
    public var isSafe: Bool { unsafe.isEmpty }
}

public enum Placeholders {
    /// `[A-Za-z_][A-Za-z0-9_]*`: `{"a": 1}` and `{ x }` are not placeholders.
    public static func isValidName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard let first = bytes.first, isNameStart(first) else { return false }
        return bytes.dropFirst().allSatisfy(isNameByte)
    }

    /// The placeholder names in a text, each once, in order of first appearance.
    public static func names(in template: String) -> [String] {
        var names: [String] = []
        for occurrence in PlaceholderSyntax.occurrences(in: template) where !names.contains(occurrence.name) {
            names.append(occurrence.name)
        }
        return names
    }

    /// Plain substitution (StepTemplate prompts): every `{name}` with a value becomes the value.
    public static func renderPrompt(_ template: String, values: [String: String]) -> RenderedTemplate {
        let source = Array(template.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(source.count)
        var missing: [String] = []
        var index = 0
        while index < source.count {
            if source[index] == UInt8(ascii: "{"), let (name, end) = placeholder(in: source, at: index) {
                if let value = values[name] {
                    out.append(contentsOf: value.utf8)
                } else {
                    if !missing.contains(name) { missing.append(name) }
                    out.append(contentsOf: source[index..<end])
                }
                index = end
            } else {
                out.append(source[index])
                index += 1
            }
        }
        return RenderedTemplate(text: String(decoding: out, as: UTF8.self), missing: missing)
    }

    /// Quoting-aware substitution for a `/bin/sh -c` command:
    /// - bare `{x}` becomes one single-quoted word (`'it'"'"'s'`), also inside a word (`x{v}y`);
    /// - inside double quotes the value is escaped for double quotes (`\`, `"`, `$`, `` ` `` get a backslash);
    /// - inside single quotes the value closes the quote, is quoted, and reopens it;
    /// - inside `$(…)` and `` `…` `` the rules apply to the inner command (backquote escaping is
    ///   undone before and redone after);
    /// - in a here-document body: raw for a quoted delimiter (`<<'EOF'`), else `\`, `$`, `` ` ``
    ///   escaped; a value that would end the here-document early is unsafe;
    /// - in the word of `${X:-word}` inside double quotes or a here-document, `}` is escaped too;
    /// - in `$((…))` only an integer is placed; anything else is unsafe;
    /// - `${…}` is the shell's, `\{x}` is an escaped brace, and comments are left alone: none of
    ///   them is a placeholder.
    /// A value containing a NUL byte cannot reach a program and is unsafe everywhere.
    public static func renderCommand(_ template: String, values: [String: String]) -> RenderedTemplate {
        var renderer = CommandRenderer(source: Array(template.utf8), values: values)
        renderer.scanUnquoted(inSubstitution: false)
        return RenderedTemplate(
            text: String(decoding: renderer.out, as: UTF8.self), missing: renderer.missing, unsafe: renderer.unsafe)
    }

    // MARK: Scanning helpers (the syntax is Compiler's `PlaceholderSyntax`, shared with lint)

    static func isNameStart(_ byte: UInt8) -> Bool { PlaceholderSyntax.isNameStart(byte) }

    static func isNameByte(_ byte: UInt8) -> Bool { PlaceholderSyntax.isNameByte(byte) }

    /// A placeholder starting at `index` (which holds `{`): its name and the index after `}`.
    static func placeholder(in source: [UInt8], at index: Int) -> (String, Int)? {
        PlaceholderSyntax.placeholder(in: source, at: index).map { ($0.name, $0.end) }
    }
}

// MARK: - The command renderer

private enum Position {
    case bare, singleQuoted, doubleQuoted, heredoc, quotedHeredoc, arithmetic
    /// The word of `${X:-word}` inside double quotes or a here-document.
    case parameterWord
}

private struct PendingHeredoc {
    var delimiter: [UInt8]
    var quoted: Bool
    var stripTabs: Bool
}

private let backslash = UInt8(ascii: "\\")
private let singleQuote = UInt8(ascii: "'")
private let doubleQuote = UInt8(ascii: "\"")
private let backquote = UInt8(ascii: "`")
private let dollar = UInt8(ascii: "$")
private let openBrace = UInt8(ascii: "{")
private let openParen = UInt8(ascii: "(")
private let closeParen = UInt8(ascii: ")")
private let newline = UInt8(ascii: "\n")
private let tab = UInt8(ascii: "\t")
private let space = UInt8(ascii: " ")
private let hash = UInt8(ascii: "#")
private let lessThan = UInt8(ascii: "<")
private let minus = UInt8(ascii: "-")

/// Reserved words after which a command follows.
private let commandPrefixWords: Set<String> = ["then", "do", "else", "elif", "if", "while", "until", "!"]

/// Bytes after which a `#` starts a comment, and which end a here-document delimiter word.
private let wordBreaks: Set<UInt8> = Set(" \t\n;&|()<>".utf8)

private struct CommandRenderer {
    let source: [UInt8]
    let values: [String: String]
    var index = 0
    var out: [UInt8] = []
    var missing: [String] = []
    var unsafe: [UnsafePlaceholder] = []
    /// Names substituted so far (to report a here-document whose values end it early).
    var substituted: [String] = []
    var pendingHeredocs: [PendingHeredoc] = []

    init(source: [UInt8], values: [String: String]) {
        self.source = source
        self.values = values
        out.reserveCapacity(source.count)
    }

    private var atEnd: Bool { index >= source.count }

    private func peek(_ offset: Int = 0) -> UInt8? {
        let position = index + offset
        return position < source.count ? source[position] : nil
    }

    private mutating func copy(_ count: Int = 1) {
        let end = min(index + count, source.count)
        out.append(contentsOf: source[index..<end])
        index = end
    }

    private mutating func noteMissing(_ name: String) {
        if !missing.contains(name) { missing.append(name) }
    }

    private mutating func noteUnsafe(_ name: String, _ reason: String) {
        let entry = UnsafePlaceholder(name: name, reason: reason)
        if !unsafe.contains(entry) { unsafe.append(entry) }
    }

    private mutating func merge(_ inner: CommandRenderer) {
        for name in inner.missing { noteMissing(name) }
        for entry in inner.unsafe where !unsafe.contains(entry) { unsafe.append(entry) }
        substituted.append(contentsOf: inner.substituted)
    }

    /// Substitutes the placeholder at `index` if there is one; false when `{` is just a brace.
    private mutating func placeholder(_ position: Position) -> Bool {
        guard let (name, end) = Placeholders.placeholder(in: source, at: index) else { return false }
        let literal = source[index..<end]
        index = end
        guard let value = values[name] else {
            noteMissing(name)
            out.append(contentsOf: literal)
            return true
        }
        let bytes = Array(value.utf8)
        if bytes.contains(0) {
            noteUnsafe(name, "the value contains a NUL byte, which cannot be passed to a program")
            out.append(contentsOf: literal)
            return true
        }
        switch position {
        case .bare:
            out.append(singleQuote)
            out.append(contentsOf: ShellQuoting.insideSingleQuotes(bytes))
            out.append(singleQuote)
        case .singleQuoted:
            out.append(contentsOf: ShellQuoting.insideSingleQuotes(bytes))
        case .doubleQuoted:
            out.append(contentsOf: ShellQuoting.escaping(bytes, Array("\\\"$`".utf8)))
        case .heredoc:
            out.append(contentsOf: ShellQuoting.escaping(bytes, Array("\\$`".utf8)))
        case .parameterWord:
            out.append(contentsOf: ShellQuoting.escaping(bytes, Array("\\\"$`}".utf8)))
        case .quotedHeredoc:
            out.append(contentsOf: bytes)
        case .arithmetic:
            let digits = bytes.first == minus ? bytes.dropFirst() : bytes[...]
            guard !digits.isEmpty, digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
                noteUnsafe(name, "only an integer can be placed in an arithmetic expansion $((…))")
                out.append(contentsOf: literal)
                return true
            }
            out.append(contentsOf: bytes)
        }
        substituted.append(name)
        return true
    }

    /// Outside quotes (the top level, or inside `$(…)` when `inSubstitution`, which returns at
    /// the unmatched `)` without consuming it). `case … esac` is followed so that the `)` of a
    /// pattern does not end a `$(…)`.
    mutating func scanUnquoted(inSubstitution: Bool) {
        var depth = 0
        var caseDepth = 0
        var wordStart = true
        var commandPosition = true
        while let byte = peek() {
            let startsWord = wordStart
            wordStart = false
            if startsWord, let word = reservedWordCandidate() {
                switch word {
                case "case" where commandPosition:
                    caseDepth += 1
                    commandPosition = false
                case "esac" where commandPosition && caseDepth > 0:
                    caseDepth -= 1
                    commandPosition = false
                case "in" where caseDepth > 0 && !commandPosition:
                    commandPosition = true  // patterns (or `esac`) follow
                case let reserved where commandPosition && commandPrefixWords.contains(reserved):
                    break  // a command follows
                default:
                    commandPosition = false
                }
                copy(word.utf8.count)
                continue
            }
            switch byte {
            case backslash:
                copy(2)
                commandPosition = false
            case singleQuote:
                scanSingleQuoted()
                commandPosition = false
            case doubleQuote:
                scanDoubleQuoted()
                commandPosition = false
            case backquote:
                scanBackquoted(inDoubleQuotes: false)
                commandPosition = false
            case dollar:
                scanDollar(quoted: false)
                commandPosition = false
            case openBrace:
                if placeholder(.bare) {
                    commandPosition = false
                } else {
                    // `{ list; }`: a command follows the brace.
                    copy()
                    wordStart = true
                }
            case hash where startsWord:
                // A comment: nothing in it is substituted (a value could end it with a newline).
                while let next = peek(), next != newline { copy() }
            case newline:
                copy()
                wordStart = true
                commandPosition = true
                if !pendingHeredocs.isEmpty { scanHeredocBodies() }
            case openParen:
                depth += 1
                copy()
                wordStart = true
                commandPosition = true
            case closeParen:
                if depth == 0 && caseDepth > 0 {
                    // The end of a case pattern: its commands follow.
                    copy()
                    wordStart = true
                    commandPosition = true
                    continue
                }
                if inSubstitution && depth == 0 { return }
                depth -= 1
                copy()
                wordStart = true
                commandPosition = true
            case lessThan where peek(1) == lessThan && peek(2) != lessThan:
                scanHeredocOperator()
                commandPosition = false
            default:
                copy()
                wordStart = wordBreaks.contains(byte)
                if byte == UInt8(ascii: ";") || byte == UInt8(ascii: "&") || byte == UInt8(ascii: "|") {
                    commandPosition = true
                } else if byte != space && byte != tab {
                    commandPosition = false
                }
            }
        }
    }

    /// A word of letters (or `!`) at the current position that ends at a word break: a possible
    /// reserved word (`case`, `esac`, `in`, `then`, …).
    private func reservedWordCandidate() -> String? {
        var end = index
        while end < source.count {
            let byte = source[end]
            let isLetter = (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || byte == UInt8(ascii: "!")
            guard isLetter else { break }
            end += 1
        }
        guard end > index else { return nil }
        if end < source.count && !wordBreaks.contains(source[end]) { return nil }
        return String(decoding: source[index..<end], as: UTF8.self)
    }

    private mutating func scanSingleQuoted() {
        copy()  // '
        while let byte = peek() {
            if byte == singleQuote {
                copy()
                return
            }
            if byte == dollar && peek(1) == openBrace {
                copy(2)  // `${` is never a placeholder, quoted or not
                continue
            }
            if byte == openBrace, placeholder(.singleQuoted) { continue }
            copy()
        }
    }

    private mutating func scanDoubleQuoted() {
        copy()  // "
        while let byte = peek() {
            switch byte {
            case doubleQuote:
                copy()
                return
            case backslash:
                copy(2)
            case backquote:
                scanBackquoted(inDoubleQuotes: true)
            case dollar:
                scanDollar(quoted: true)
            case openBrace:
                if !placeholder(.doubleQuoted) { copy() }
            default:
                copy()
            }
        }
    }

    /// `$(…)`, `$((…))`, `${…}` (whose brace is never a placeholder), or a plain `$`. `quoted`:
    /// the `$` stands inside double quotes or an unquoted here-document body.
    private mutating func scanDollar(quoted: Bool) {
        if peek(1) == openParen && peek(2) == openParen {
            scanArithmetic()
        } else if peek(1) == openParen {
            copy(2)
            scanUnquoted(inSubstitution: true)
            if peek() == closeParen { copy() }
        } else if peek(1) == openBrace {
            copy(2)
            scanParameterExpansion(quoted: quoted)
        } else {
            copy()
        }
    }

    /// The rest of `${…}` up to its `}`. Its word (`${X:-word}`) follows the quoting around it:
    /// unquoted, quotes work as usual; inside double quotes (or a here-document), single quotes
    /// are ordinary characters and the word is double-quoted text.
    private mutating func scanParameterExpansion(quoted: Bool) {
        while let byte = peek() {
            switch byte {
            case UInt8(ascii: "}"):
                copy()
                return
            case backslash:
                copy(2)
            case singleQuote where !quoted:
                scanSingleQuoted()
            case doubleQuote:
                scanDoubleQuoted()
            case backquote:
                scanBackquoted(inDoubleQuotes: quoted)
            case dollar:
                scanDollar(quoted: quoted)
            case openBrace:
                if !placeholder(quoted ? .parameterWord : .bare) { copy() }
            default:
                copy()
            }
        }
    }

    private mutating func scanArithmetic() {
        copy(3)  // $((
        var depth = 0
        while let byte = peek() {
            switch byte {
            case openParen:
                depth += 1
                copy()
            case closeParen:
                if depth == 0 {
                    copy(peek(1) == closeParen ? 2 : 1)
                    return
                }
                depth -= 1
                copy()
            case backslash: copy(2)
            case singleQuote: scanSingleQuoted()
            case doubleQuote: scanDoubleQuoted()
            case backquote: scanBackquoted(inDoubleQuotes: false)
            case dollar: scanDollar(quoted: false)
            case openBrace: if !placeholder(.arithmetic) { copy() }
            default: copy()
            }
        }
    }

    /// `` `…` ``: the shell first removes the backslash before `$`, `` ` ``, `\` (and `"` inside
    /// double quotes), then runs the text as a command. So: undo that escaping, render the inner
    /// command with its own quoting state, and escape the result again.
    private mutating func scanBackquoted(inDoubleQuotes: Bool) {
        let escapable: [UInt8] = inDoubleQuotes ? [dollar, backquote, backslash, doubleQuote] : [dollar, backquote, backslash]
        index += 1  // `
        var inner: [UInt8] = []
        var closed = false
        while let byte = peek() {
            if byte == backquote {
                index += 1
                closed = true
                break
            }
            if byte == backslash, let next = peek(1) {
                if !escapable.contains(next) { inner.append(backslash) }
                inner.append(next)
                index += 2
                continue
            }
            inner.append(byte)
            index += 1
        }
        var nested = CommandRenderer(source: inner, values: values)
        nested.scanUnquoted(inSubstitution: false)
        merge(nested)
        out.append(backquote)
        out.append(contentsOf: ShellQuoting.escaping(nested.out, escapable))
        if closed { out.append(backquote) }
    }

    /// `<<WORD` or `<<-WORD`: the body starts after the next newline outside quotes.
    private mutating func scanHeredocOperator() {
        copy(2)
        var stripTabs = false
        if peek() == minus {
            stripTabs = true
            copy()
        }
        while let byte = peek(), byte == space || byte == tab { copy() }
        var delimiter: [UInt8] = []
        var quoted = false
        while let byte = peek(), !wordBreaks.contains(byte) {
            switch byte {
            case singleQuote:
                quoted = true
                copy()
                while let inner = peek(), inner != singleQuote {
                    delimiter.append(inner)
                    copy()
                }
                copy()
            case doubleQuote:
                quoted = true
                copy()
                while let inner = peek(), inner != doubleQuote {
                    if inner == backslash, let next = peek(1) {
                        delimiter.append(next)
                        copy(2)
                    } else {
                        delimiter.append(inner)
                        copy()
                    }
                }
                copy()
            case backslash:
                quoted = true
                if let next = peek(1) { delimiter.append(next) }
                copy(2)
            default:
                delimiter.append(byte)
                copy()
            }
        }
        if !delimiter.isEmpty {
            pendingHeredocs.append(PendingHeredoc(delimiter: delimiter, quoted: quoted, stripTabs: stripTabs))
        }
    }

    /// The bodies of the here-documents opened on the line that just ended, each up to its
    /// delimiter line (or the end of the command).
    private mutating func scanHeredocBodies() {
        let documents = pendingHeredocs
        pendingHeredocs = []
        for (position, document) in documents.enumerated() {
            let bodyStart = index
            var lineStart = index
            var bodyEnd = source.count
            var terminatorEnd = source.count
            while lineStart < source.count {
                var lineEnd = lineStart
                while lineEnd < source.count, source[lineEnd] != newline { lineEnd += 1 }
                if isDelimiterLine(source[lineStart..<lineEnd], document) {
                    bodyEnd = lineStart
                    terminatorEnd = lineEnd
                    break
                }
                lineStart = lineEnd + 1
            }
            let body = Array(source[bodyStart..<min(bodyEnd, source.count)])
            var nested = CommandRenderer(source: body, values: values)
            if document.quoted {
                nested.scanQuotedHeredocBody()
            } else {
                nested.scanHeredocBody()
            }
            let rendered = nested.out
            var endsEarly = false
            var start = 0
            for (offset, byte) in rendered.enumerated() where byte == newline {
                if isDelimiterLine(rendered[start..<offset], document) { endsEarly = true }
                start = offset + 1
            }
            if start < rendered.count, isDelimiterLine(rendered[start...], document) { endsEarly = true }
            if endsEarly {
                for name in nested.missing { noteMissing(name) }
                for entry in nested.unsafe where !unsafe.contains(entry) { unsafe.append(entry) }
                let delimiter = String(decoding: document.delimiter, as: UTF8.self)
                for name in nested.substituted {
                    noteUnsafe(name, "the value contains the line \(delimiter), which would end the here-document early")
                }
                out.append(contentsOf: body)
            } else {
                merge(nested)
                out.append(contentsOf: rendered)
            }
            index = terminatorEnd
            out.append(contentsOf: source[min(bodyEnd, source.count)..<terminatorEnd])
            // The newline after the delimiter line: the next document's body starts after it.
            if position < documents.count - 1, peek() == newline { copy() }
        }
    }

    private func isDelimiterLine(_ line: ArraySlice<UInt8>, _ document: PendingHeredoc) -> Bool {
        var content = line
        if document.stripTabs { content = content.drop(while: { $0 == tab }) }
        return content.elementsEqual(document.delimiter)
    }

    /// An unquoted here-document body: like double quotes, except that `"` is an ordinary character.
    mutating func scanHeredocBody() {
        while let byte = peek() {
            switch byte {
            case backslash: copy(2)
            case backquote: scanBackquoted(inDoubleQuotes: false)
            case dollar: scanDollar(quoted: true)
            case openBrace: if !placeholder(.heredoc) { copy() }
            default: copy()
            }
        }
    }

    /// A quoted here-document body: nothing is special to the shell.
    mutating func scanQuotedHeredocBody() {
        while let byte = peek() {
            if byte == dollar && peek(1) == openBrace {
                copy(2)
                continue
            }
            if byte == openBrace, placeholder(.quotedHeredoc) { continue }
            copy()
        }
    }
}
