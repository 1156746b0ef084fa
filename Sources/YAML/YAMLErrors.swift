import Diagnostics

/// Every error the YAML layer reports, in one place (grammar/yaml-subset.md lists them).
/// Rules: `yaml-syntax` (malformed YAML), `yaml-unsupported` (valid YAML outside the subset),
/// `yaml-limit` (beyond the documented limits), `yaml-encoding` (not UTF-8 text).
extension YAMLError {
    static let syntax = "yaml-syntax"
    static let unsupported = "yaml-unsupported"
    static let limit = "yaml-limit"
    static let encoding = "yaml-encoding"

    @inline(never) private static func describe(_ byte: UInt8) -> String {
        "`\(Character(Unicode.Scalar(byte)))`"
    }

    // MARK: - Encoding

    @inline(never) static func invalidUTF8(_ byte: UInt8, at location: SourceLocation, end: SourceLocation, startsWithUTF16Mark: Bool) -> YAMLError {
        let hex = String(byte, radix: 16, uppercase: true)
        if startsWithUTF16Mark {
            return YAMLError(
                rule: encoding, message: "the input is UTF-16, not UTF-8",
                range: SourceRange(at: .start), help: "save the file as UTF-8 (YAML input must be UTF-8)")
        }
        return YAMLError(
            rule: encoding, message: "invalid UTF-8: byte 0x\(hex.count == 1 ? "0" + hex : hex) does not form a character",
            range: SourceRange(start: location, end: end),
            help: "save the file as UTF-8; if it came from another tool, check that tool's output encoding")
    }

    @inline(never) static func controlCharacter(_ byte: UInt8, at location: SourceLocation, end: SourceLocation) -> YAMLError {
        let hex = String(byte, radix: 16, uppercase: true)
        let code = "U+" + String(repeating: "0", count: 4 - hex.count) + hex
        return YAMLError(
            rule: encoding, message: "control character \(code) is not allowed in YAML text",
            range: SourceRange(start: location, end: end),
            help: "remove it; to put it in a value, write it as an escape in a double-quoted string (\"\\x\(hex.count == 1 ? "0" + hex : hex)\")")
    }

    @inline(never) static func loneCarriageReturn(at location: SourceLocation, end: SourceLocation) -> YAMLError {
        YAMLError(
            rule: encoding, message: "a carriage return (CR) must be followed by a line feed",
            range: SourceRange(start: location, end: end),
            help: "use LF or CR LF line endings")
    }

    // MARK: - Limits

    @inline(never) static func inputTooLarge(_ size: Int, limit: Int) -> YAMLError {
        YAMLError(
            rule: YAMLError.limit, message: "the input is \(size) bytes, more than the limit of \(limit) bytes",
            range: SourceRange(at: .start), help: "split the stream into several files")
    }

    @inline(never) static func tooDeep(_ limit: Int, at range: SourceRange) -> YAMLError {
        YAMLError(
            rule: YAMLError.limit, message: "collections nested more than \(limit) levels deep",
            range: range, help: "flatten the structure; a manifest needs only a few levels of nesting")
    }

    @inline(never) static func tooManyNodes(_ limit: Int, at range: SourceRange) -> YAMLError {
        YAMLError(
            rule: YAMLError.limit, message: "the input has more than \(limit) nodes",
            range: range, help: "split the stream into several files")
    }

    // MARK: - Refused features (valid YAML outside the subset)

    @inline(never) static func anchor(_ range: SourceRange) -> YAMLError {
        YAMLError(
            rule: unsupported, message: "anchors (`&name`) are not supported", range: range,
            help: "write the value out where it is used; this YAML subset has no anchors or aliases")
    }

    @inline(never) static func alias(_ range: SourceRange) -> YAMLError {
        YAMLError(
            rule: unsupported, message: "aliases (`*name`) are not supported", range: range,
            help: "write the value out where it is used; this YAML subset has no anchors or aliases")
    }

    @inline(never) static func tag(_ range: SourceRange) -> YAMLError {
        YAMLError(
            rule: unsupported, message: "tags (`!tag`) are not supported", range: range,
            help: "remove the tag; quote the value to make it a string")
    }

    @inline(never) static func explicitKey(_ range: SourceRange) -> YAMLError {
        YAMLError(
            rule: unsupported, message: "explicit keys (`? key`) are not supported", range: range,
            help: "write the entry as `key: value` with the key on one line")
    }

    @inline(never) static func complexKey(_ range: SourceRange) -> YAMLError {
        YAMLError(
            rule: unsupported, message: "a list or a mapping cannot be a mapping key", range: range,
            help: "use a plain or quoted string as the key")
    }

    @inline(never) static func emptyKey(_ range: SourceRange) -> YAMLError {
        YAMLError(
            rule: unsupported, message: "a mapping key cannot be empty", range: range,
            help: "write the key before the `:`; write `\"\": value` if you mean the empty string")
    }

    @inline(never) static func unsupportedDirective(_ name: String, _ range: SourceRange) -> YAMLError {
        YAMLError(
            rule: unsupported, message: "the `%\(name)` directive is not supported", range: range,
            help: "remove the directive; only `%YAML 1.2` is accepted")
    }

    @inline(never) static func unsupportedYAMLVersion(_ version: String, _ range: SourceRange) -> YAMLError {
        YAMLError(
            rule: unsupported, message: "`%YAML \(version)` is not supported: this parser reads YAML 1.2", range: range,
            help: "remove the directive, or write `%YAML 1.2`")
    }

    // MARK: - Structure

    @inline(never) static func duplicateKey(_ key: String, first: SourceLocation, range: SourceRange) -> YAMLError {
        YAMLError(
            rule: syntax, message: "duplicate key `\(key)` in this mapping (first at line \(first.line), column \(first.column))",
            range: range, help: "remove one of the two entries or rename one; a key appears once per mapping")
    }

    @inline(never) static func tabIndentation(_ range: SourceRange) -> YAMLError {
        YAMLError(
            rule: syntax, message: "a tab character is used for indentation", range: range,
            help: "indent with spaces; YAML does not allow tabs in indentation")
    }

    @inline(never) static func overIndented(_ range: SourceRange, expectedColumn: Int, what: String) -> YAMLError {
        YAMLError(
            rule: syntax, message: "this line is indented more than the \(what) it belongs to (at column \(expectedColumn))",
            range: range,
            help: "align it with the other entries at column \(expectedColumn), or nest it under a key that ends with `:`")
    }

    @inline(never) static func underIndentedContinuation(_ range: SourceRange, minimum: Int, what: String) -> YAMLError {
        YAMLError(
            rule: syntax, message: "this line continues a \(what) but is not indented enough", range: range,
            help: "indent the continuation lines by at least \(minimum) space\(minimum == 1 ? "" : "s"), more than the key or `-` they belong to")
    }

    @inline(never) static func unexpectedContent(after what: String, _ range: SourceRange) -> YAMLError {
        YAMLError(
            rule: syntax, message: "unexpected text after \(what)", range: range,
            help: "put one value per line; quote the whole value if the text belongs to it, or start a comment with ` #`")
    }

    @inline(never) static func commentWithoutSpace(_ range: SourceRange) -> YAMLError {
        YAMLError(
            rule: syntax, message: "a comment must be separated from the value by a space", range: range,
            help: "write ` #` to start a comment")
    }

    @inline(never) static func contentAfterDocument(_ range: SourceRange, rootStart: SourceLocation?) -> YAMLError {
        var message = "unexpected content after the end of the document's top-level node"
        if let rootStart { message += " (which starts at line \(rootStart.line), column \(rootStart.column))" }
        return YAMLError(
            rule: syntax, message: message, range: range,
            help: "check the indentation of this line; to start another document, put `---` on the line before it")
    }

    @inline(never) static func sequenceNotAllowed(_ placement: BlockPlacement, _ range: SourceRange) -> YAMLError {
        let help: String
        switch placement {
        case .afterSequenceDash: help = "put a space, not a tab, after the outer `-`"
        case .afterDocumentStart: help = "start the list on the line after `---`"
        default: help = "start the list on the next line, indented under its key"
        }
        return YAMLError(rule: syntax, message: "a block list cannot start on this line", range: range, help: help)
    }

    @inline(never) static func mappingNotAllowed(_ placement: BlockPlacement, _ range: SourceRange) -> YAMLError {
        let help: String
        switch placement {
        case .afterSequenceDash: help = "put a space, not a tab, after the `-`"
        case .afterDocumentStart: help = "start the mapping on the line after `---`"
        default: help = "quote the value if it contains `: `, or move the nested mapping to the next line, indented under its key"
        }
        return YAMLError(rule: syntax, message: "a mapping cannot start here (`: ` inside a value)", range: range, help: help)
    }

    @inline(never) static func multiLineKey(_ range: SourceRange) -> YAMLError {
        YAMLError(
            rule: syntax, message: "a mapping key must be on a single line", range: range,
            help: "join the key onto one line; if the line before was meant as a value, check its indentation")
    }

    @inline(never) static func expectedSequenceItem(_ range: SourceRange) -> YAMLError {
        YAMLError(
            rule: syntax, message: "expected a list item (`- `) at this indentation", range: range,
            help: "start the line with `- `, or indent it under the item it belongs to")
    }

    @inline(never) static func sequenceItemInMapping(_ range: SourceRange) -> YAMLError {
        YAMLError(
            rule: syntax, message: "a list item where a mapping key was expected", range: range,
            help: "put the list under a key (`key:` on the line before), or indent it more")
    }

    @inline(never) static func expectedKey(_ range: SourceRange) -> YAMLError {
        YAMLError(
            rule: syntax, message: "expected a mapping key", range: range,
            help: "write `key: value` at this indentation")
    }

    @inline(never) static func missingColon(_ range: SourceRange) -> YAMLError {
        YAMLError(
            rule: syntax, message: "expected `:` after this mapping key", range: range,
            help: "write `key: value`; a line inside a mapping needs a `: ` (with a space after the colon)")
    }

    @inline(never) static func reservedIndicator(_ byte: UInt8, _ range: SourceRange) -> YAMLError {
        YAMLError(
            rule: syntax, message: "\(describe(byte)) is reserved and cannot start a plain value", range: range,
            help: "quote the value")
    }

    @inline(never) static func unexpectedFlowIndicator(_ byte: UInt8, _ range: SourceRange) -> YAMLError {
        YAMLError(
            rule: syntax, message: "unexpected \(describe(byte)) outside a flow collection", range: range,
            help: "quote the value, or check the brackets")
    }

    // MARK: - Documents and directives

    @inline(never) static func directiveInsideDocument(_ range: SourceRange) -> YAMLError {
        YAMLError(
            rule: syntax, message: "a `%` directive or value inside a document", range: range,
            help: "quote the value if it starts with `%`; a directive must come before `---`, after the previous document's `...`")
    }

    @inline(never) static func directiveWithoutDocumentEnd(_ range: SourceRange) -> YAMLError {
        YAMLError(
            rule: syntax, message: "a directive must follow the end (`...`) of the previous document", range: range,
            help: "put `...` on the line before the directive")
    }

    @inline(never) static func directivesWithoutDocument(_ range: SourceRange) -> YAMLError {
        YAMLError(
            rule: syntax, message: "expected `---` after the directives", range: range,
            help: "start the document with `---` on the line after the directives")
    }

    @inline(never) static func repeatedYAMLDirective(_ range: SourceRange) -> YAMLError {
        YAMLError(rule: syntax, message: "`%YAML` is given twice for this document", range: range, help: "remove one of them")
    }

    // MARK: - Scalars

    @inline(never) static func unterminatedQuote(isDouble: Bool, opened: SourceLocation, at location: SourceLocation) -> YAMLError {
        let quote = isDouble ? "\"" : "'"
        return YAMLError(
            rule: syntax,
            message: "unterminated \(isDouble ? "double" : "single")-quoted string (opened at line \(opened.line), column \(opened.column))",
            range: SourceRange(start: opened, end: location),
            help: "add the closing `\(quote)`" + (isDouble ? "; write `\\\"` for a quote inside the string" : "; write `''` for a quote inside the string"))
    }

    @inline(never) static func documentMarkerInQuote(isDouble: Bool, opened: SourceLocation, _ range: SourceRange) -> YAMLError {
        YAMLError(
            rule: syntax,
            message: "a document marker inside a \(isDouble ? "double" : "single")-quoted string (opened at line \(opened.line), column \(opened.column))",
            range: range, help: "close the string before this line, or indent the line")
    }

    @inline(never) static func invalidEscape(_ escape: String, _ range: SourceRange) -> YAMLError {
        YAMLError(
            rule: syntax, message: "invalid escape `\\\(escape)` in a double-quoted string", range: range,
            help: "valid escapes: \\0 \\a \\b \\t \\n \\v \\f \\r \\e \\<space> \\\" \\/ \\\\ \\N \\_ \\L \\P \\xXX \\uXXXX \\UXXXXXXXX; write `\\\\` for a backslash, or use single quotes")
    }

    @inline(never) static func shortHexEscape(digits: Int, _ range: SourceRange) -> YAMLError {
        YAMLError(
            rule: syntax, message: "this escape needs \(digits) hexadecimal digits", range: range,
            help: "write exactly \(digits) hex digits (0-9, a-f), e.g. \(digits == 2 ? "\\x41" : digits == 4 ? "\\u00e9" : "\\U0001F600")")
    }

    @inline(never) static func surrogateEscape(_ range: SourceRange) -> YAMLError {
        YAMLError(
            rule: syntax, message: "a UTF-16 surrogate is not a character", range: range,
            help: "write the character with \\UXXXXXXXX, or as a surrogate pair \\uD83D\\uDE00")
    }

    @inline(never) static func invalidCodePoint(_ value: UInt32, _ range: SourceRange) -> YAMLError {
        YAMLError(
            rule: syntax, message: "U+\(String(value, radix: 16, uppercase: true)) is not a Unicode code point", range: range,
            help: "code points go up to U+10FFFF")
    }

    @inline(never) static func invalidBlockHeader(_ range: SourceRange) -> YAMLError {
        YAMLError(
            rule: syntax, message: "invalid block scalar header", range: range,
            help: "write `|` or `>`, optionally followed by a chomping indicator (`-` or `+`) and an indentation digit 1-9, then a line break")
    }

    @inline(never) static func textAfterBlockHeader(_ range: SourceRange) -> YAMLError {
        YAMLError(
            rule: syntax, message: "text after a block scalar indicator", range: range,
            help: "start the block scalar's content on the next line, indented; or quote the value")
    }

    @inline(never) static func overIndentedLeadingBlankLine(_ range: SourceRange, contentIndent: Int) -> YAMLError {
        YAMLError(
            rule: syntax, message: "a leading empty line of this block scalar has more spaces than its first line (\(contentIndent))",
            range: range, help: "remove the trailing spaces of the empty line, or give the indentation explicitly (`|2`)")
    }

    // MARK: - Flow collections

    @inline(never) static func unterminatedFlow(isSequence: Bool, opened: SourceLocation, at range: SourceRange) -> YAMLError {
        YAMLError(
            rule: syntax,
            message: "unterminated flow \(isSequence ? "list" : "mapping"): the `\(isSequence ? "[" : "{")` at line \(opened.line), column \(opened.column) is never closed",
            range: SourceRange(start: opened, end: range.end),
            help: "add the closing `\(isSequence ? "]" : "}")`")
    }

    @inline(never) static func expectedFlowSeparator(isSequence: Bool, opened: SourceLocation, _ range: SourceRange) -> YAMLError {
        YAMLError(
            rule: syntax, message: "expected `,` or `\(isSequence ? "]" : "}")` in the flow \(isSequence ? "list" : "mapping") opened at line \(opened.line), column \(opened.column)",
            range: range, help: "separate entries with `,`; quote values that contain `: ` or brackets")
    }

    @inline(never) static func flowKeyOnOtherLine(_ range: SourceRange) -> YAMLError {
        YAMLError(
            rule: syntax, message: "the `:` of a key in a flow list must be on the key's line", range: range,
            help: "put the key and its `:` on one line, or wrap the pair in `{ }`")
    }

    @inline(never) static func blockEntryInFlow(_ range: SourceRange) -> YAMLError {
        YAMLError(
            rule: syntax, message: "a block list item (`- `) inside a flow collection", range: range,
            help: "inside `[ ]` separate items with `,`; quote the value if it starts with `-`")
    }

    @inline(never) static func blockScalarInFlow(_ range: SourceRange) -> YAMLError {
        YAMLError(
            rule: syntax, message: "a block scalar (`|` or `>`) cannot appear inside a flow collection", range: range,
            help: "use a quoted string with \\n escapes instead")
    }

    @inline(never) static func emptyFlowEntry(_ range: SourceRange) -> YAMLError {
        YAMLError(
            rule: syntax, message: "an empty entry in a flow collection", range: range,
            help: "remove the extra `,`; write `null` or `\"\"` for an empty value")
    }

    @inline(never) static func mismatchedBracket(_ byte: UInt8, isSequence: Bool, opened: SourceLocation, _ range: SourceRange) -> YAMLError {
        YAMLError(
            rule: syntax,
            message: "\(describe(byte)) does not close the flow \(isSequence ? "list" : "mapping") opened at line \(opened.line), column \(opened.column)",
            range: range, help: "close it with `\(isSequence ? "]" : "}")`")
    }

    @inline(never) static func unexpectedCharacterInFlow(_ byte: UInt8, _ range: SourceRange) -> YAMLError {
        YAMLError(
            rule: syntax, message: "unexpected \(describe(byte)) in a flow collection", range: range,
            help: byte == Byte.hash ? "a comment needs a space before `#`" : "quote the value")
    }
}
