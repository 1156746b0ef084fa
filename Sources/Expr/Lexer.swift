/// Tokens of the expression language (grammar/expr.md, "Lexical structure").
enum Token: Equatable, Sendable {
    case identifier(String)
    /// A decimal or hexadecimal integer without suffix; its sign is decided by the parser
    /// (so `-9223372036854775808` is a literal).
    case intLiteral(UInt64)
    case uintLiteral(UInt64)
    case doubleLiteral(Double)
    case stringLiteral(String)
    case bytesLiteral([UInt8])
    case trueKeyword, falseKeyword, nullKeyword
    case punct(Punct)
    case end

    var display: String {
        switch self {
        case .identifier(let name): return "`\(name)`"
        case .intLiteral, .uintLiteral, .doubleLiteral: return "a number"
        case .stringLiteral: return "a string"
        case .bytesLiteral: return "a bytes literal"
        case .trueKeyword: return "`true`"
        case .falseKeyword: return "`false`"
        case .nullKeyword: return "`null`"
        case .punct(let p): return "`\(p.rawValue)`"
        case .end: return "the end of the expression"
        }
    }

    /// For "unexpected X": without an article.
    var bare: String {
        switch self {
        case .intLiteral(let v): return "number `\(v)`"
        case .uintLiteral(let v): return "number `\(v)u`"
        case .doubleLiteral(let v): return "number `\(v)`"
        case .stringLiteral: return "string"
        case .bytesLiteral: return "bytes literal"
        case .end: return "end of the expression"
        default: return display
        }
    }
}

/// A token's kind without its payload (cheap to copy and compare in the parser).
enum TokenKind: Sendable, Equatable {
    case identifier, intLiteral, uintLiteral, doubleLiteral, stringLiteral, bytesLiteral
    case trueKeyword, falseKeyword, nullKeyword, end
    case punct(Punct)
}

extension Token {
    var kind: TokenKind {
        switch self {
        case .identifier: return .identifier
        case .intLiteral: return .intLiteral
        case .uintLiteral: return .uintLiteral
        case .doubleLiteral: return .doubleLiteral
        case .stringLiteral: return .stringLiteral
        case .bytesLiteral: return .bytesLiteral
        case .trueKeyword: return .trueKeyword
        case .falseKeyword: return .falseKeyword
        case .nullKeyword: return .nullKeyword
        case .end: return .end
        case .punct(let p): return .punct(p)
        }
    }
}

enum Punct: String, Sendable {
    case leftParen = "(", rightParen = ")", leftBracket = "[", rightBracket = "]"
    case leftBrace = "{", rightBrace = "}", dot = ".", comma = ",", colon = ":", question = "?"
    case bang = "!", minus = "-", plus = "+", star = "*", slash = "/", percent = "%"
    case less = "<", lessEqual = "<=", greater = ">", greaterEqual = ">=", equal = "==", notEqual = "!="
    case and = "&&", or = "||", inKeyword = "in"
}

struct LexedToken: Sendable {
    var token: Token
    /// UTF-8 byte offsets in the expression, half-open.
    var start: Int
    var end: Int
}

struct LexError: Error, Sendable {
    var start: Int
    var end: Int
    var message: String
    var help: String?
}

struct Lexer {
    let bytes: [UInt8]
    var index = 0

    init(bytes: [UInt8]) { self.bytes = bytes }

    static func tokenize(_ bytes: [UInt8]) throws(LexError) -> [LexedToken] {
        var lexer = Lexer(bytes: bytes)
        var tokens: [LexedToken] = []
        while true {
            let token = try lexer.next()
            tokens.append(token)
            if token.token == .end { return tokens }
        }
    }

    func peek(_ ahead: Int = 0) -> UInt8? {
        let position = index + ahead
        return position < bytes.count ? bytes[position] : nil
    }

    static func isIdentifierStart(_ b: UInt8) -> Bool {
        (b >= 0x61 && b <= 0x7A) || (b >= 0x41 && b <= 0x5A) || b == 0x5F
    }

    static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }

    static func hexValue(_ b: UInt8) -> UInt32? {
        switch b {
        case 0x30...0x39: return UInt32(b - 0x30)
        case 0x41...0x46: return UInt32(b - 0x41 + 10)
        case 0x61...0x66: return UInt32(b - 0x61 + 10)
        default: return nil
        }
    }

    /// The character at a byte offset, for messages.
    func character(at offset: Int) -> (text: String, length: Int) {
        guard offset < bytes.count else { return ("", 0) }
        var end = offset + 1
        while end < bytes.count, bytes[end] & 0xC0 == 0x80 { end += 1 }
        return (String(decoding: bytes[offset..<end], as: UTF8.self), end - offset)
    }

    mutating func skipSpaceAndComments() {
        while index < bytes.count {
            let b = bytes[index]
            if b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D || b == 0x0C {
                index += 1
            } else if b == UInt8(ascii: "/"), peek(1) == UInt8(ascii: "/") {
                while index < bytes.count, bytes[index] != 0x0A { index += 1 }
            } else {
                return
            }
        }
    }

    mutating func next() throws(LexError) -> LexedToken {
        skipSpaceAndComments()
        let start = index
        guard index < bytes.count else { return LexedToken(token: .end, start: start, end: start) }
        let b = bytes[index]

        // String and bytes literals with their prefixes (r, b, rb, br in any case).
        if let quoteStart = stringPrefixLength() {
            return try stringLiteral(start: start, prefixLength: quoteStart)
        }
        if Lexer.isIdentifierStart(b) {
            while index < bytes.count, Lexer.isIdentifierStart(bytes[index]) || Lexer.isDigit(bytes[index]) { index += 1 }
            let word = String(decoding: bytes[start..<index], as: UTF8.self)
            let token: Token
            switch word {
            case "true": token = .trueKeyword
            case "false": token = .falseKeyword
            case "null": token = .nullKeyword
            case "in": token = .punct(.inKeyword)
            default: token = .identifier(word)
            }
            return LexedToken(token: token, start: start, end: index)
        }
        if Lexer.isDigit(b) || (b == UInt8(ascii: ".") && peek(1).map(Lexer.isDigit) == true) {
            return try number(start: start)
        }
        index += 1
        func two(_ second: UInt8, _ pair: Punct, _ single: Punct?) throws(LexError) -> LexedToken {
            if peek() == second {
                index += 1
                return LexedToken(token: .punct(pair), start: start, end: index)
            }
            guard let single else {
                let text = String(decoding: [b], as: UTF8.self)
                let help: String
                switch b {
                case UInt8(ascii: "&"): help = "use `&&` for logical and"
                case UInt8(ascii: "|"): help = "use `||` for logical or"
                default: help = "use `==` to compare"
                }
                throw LexError(start: start, end: index, message: "unexpected `\(text)`", help: help)
            }
            return LexedToken(token: .punct(single), start: start, end: index)
        }
        switch b {
        case UInt8(ascii: "("): return LexedToken(token: .punct(.leftParen), start: start, end: index)
        case UInt8(ascii: ")"): return LexedToken(token: .punct(.rightParen), start: start, end: index)
        case UInt8(ascii: "["): return LexedToken(token: .punct(.leftBracket), start: start, end: index)
        case UInt8(ascii: "]"): return LexedToken(token: .punct(.rightBracket), start: start, end: index)
        case UInt8(ascii: "{"): return LexedToken(token: .punct(.leftBrace), start: start, end: index)
        case UInt8(ascii: "}"): return LexedToken(token: .punct(.rightBrace), start: start, end: index)
        case UInt8(ascii: "."): return LexedToken(token: .punct(.dot), start: start, end: index)
        case UInt8(ascii: ","): return LexedToken(token: .punct(.comma), start: start, end: index)
        case UInt8(ascii: ":"): return LexedToken(token: .punct(.colon), start: start, end: index)
        case UInt8(ascii: "?"): return LexedToken(token: .punct(.question), start: start, end: index)
        case UInt8(ascii: "-"): return LexedToken(token: .punct(.minus), start: start, end: index)
        case UInt8(ascii: "+"): return LexedToken(token: .punct(.plus), start: start, end: index)
        case UInt8(ascii: "*"): return LexedToken(token: .punct(.star), start: start, end: index)
        case UInt8(ascii: "/"): return LexedToken(token: .punct(.slash), start: start, end: index)
        case UInt8(ascii: "%"): return LexedToken(token: .punct(.percent), start: start, end: index)
        case UInt8(ascii: "!"): return try two(UInt8(ascii: "="), .notEqual, .bang)
        case UInt8(ascii: "<"): return try two(UInt8(ascii: "="), .lessEqual, .less)
        case UInt8(ascii: ">"): return try two(UInt8(ascii: "="), .greaterEqual, .greater)
        case UInt8(ascii: "="): return try two(UInt8(ascii: "="), .equal, nil)
        case UInt8(ascii: "&"): return try two(UInt8(ascii: "&"), .and, nil)
        case UInt8(ascii: "|"): return try two(UInt8(ascii: "|"), .or, nil)
        default:
            let (text, length) = character(at: start)
            index = start + max(1, length)
            var help: String?
            if b == UInt8(ascii: "'") || b == UInt8(ascii: "\"") { help = nil }
            if text == "\u{201C}" || text == "\u{201D}" || text == "\u{2018}" || text == "\u{2019}" {
                help = "use straight quotes (\" or ') around strings"
            }
            throw LexError(start: start, end: index, message: "unexpected character `\(text)`", help: help)
        }
    }

    /// When a string literal starts here: how many prefix letters precede its quote.
    func stringPrefixLength() -> Int? {
        var ahead = 0
        var sawR = false, sawB = false
        while let c = peek(ahead) {
            if c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") { return ahead }
            if (c == UInt8(ascii: "r") || c == UInt8(ascii: "R")), !sawR {
                sawR = true
            } else if (c == UInt8(ascii: "b") || c == UInt8(ascii: "B")), !sawB {
                sawB = true
            } else {
                return nil
            }
            ahead += 1
            if ahead > 2 { return nil }
        }
        return nil
    }

    mutating func number(start: Int) throws(LexError) -> LexedToken {
        func malformed() -> LexError {
            var end = index
            while end < bytes.count, Lexer.isIdentifierStart(bytes[end]) || Lexer.isDigit(bytes[end]) || bytes[end] == UInt8(ascii: ".") { end += 1 }
            let text = String(decoding: bytes[start..<end], as: UTF8.self)
            return LexError(start: start, end: end, message: "malformed number `\(text)`")
        }
        // Hexadecimal integer.
        if bytes[index] == UInt8(ascii: "0"), let x = peek(1), x == UInt8(ascii: "x") || x == UInt8(ascii: "X") {
            index += 2
            var value: UInt64 = 0
            var digits = 0
            while let c = peek(), let digit = Lexer.hexValue(c) {
                let (shifted, overflow1) = value.multipliedReportingOverflow(by: 16)
                let (sum, overflow2) = shifted.addingReportingOverflow(UInt64(digit))
                if overflow1 || overflow2 {
                    while let c2 = peek(), Lexer.hexValue(c2) != nil { index += 1 }
                    throw LexError(start: start, end: index, message: "integer literal out of range")
                }
                value = sum
                digits += 1
                index += 1
            }
            guard digits > 0 else { throw malformed() }
            return try integerSuffix(start: start, value: value)
        }
        var isDouble = false
        while let c = peek(), Lexer.isDigit(c) { index += 1 }
        if peek() == UInt8(ascii: "."), let d = peek(1), Lexer.isDigit(d) {
            isDouble = true
            index += 1
            while let c = peek(), Lexer.isDigit(c) { index += 1 }
        }
        if let e = peek(), e == UInt8(ascii: "e") || e == UInt8(ascii: "E") {
            var ahead = 1
            if let sign = peek(1), sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") { ahead = 2 }
            if let d = peek(ahead), Lexer.isDigit(d) {
                isDouble = true
                index += ahead
                while let c = peek(), Lexer.isDigit(c) { index += 1 }
            } else {
                throw malformed()
            }
        }
        let text = String(decoding: bytes[start..<index], as: UTF8.self)
        if isDouble {
            if let c = peek(), Lexer.isIdentifierStart(c) { throw malformed() }
            guard let value = Double(text) else { throw malformed() }
            return LexedToken(token: .doubleLiteral(value), start: start, end: index)
        }
        guard let value = UInt64(text) else {
            throw LexError(start: start, end: index, message: "integer literal `\(text)` is out of range")
        }
        return try integerSuffix(start: start, value: value)
    }

    mutating func integerSuffix(start: Int, value: UInt64) throws(LexError) -> LexedToken {
        if let u = peek(), u == UInt8(ascii: "u") || u == UInt8(ascii: "U") {
            index += 1
            if let c = peek(), Lexer.isIdentifierStart(c) || Lexer.isDigit(c) {
                throw LexError(start: start, end: index + 1, message: "malformed number")
            }
            return LexedToken(token: .uintLiteral(value), start: start, end: index)
        }
        if let c = peek(), Lexer.isIdentifierStart(c) {
            var end = index
            while end < bytes.count, Lexer.isIdentifierStart(bytes[end]) || Lexer.isDigit(bytes[end]) { end += 1 }
            let text = String(decoding: bytes[start..<end], as: UTF8.self)
            throw LexError(start: start, end: end, message: "malformed number `\(text)`")
        }
        return LexedToken(token: .intLiteral(value), start: start, end: index)
    }

    mutating func stringLiteral(start: Int, prefixLength: Int) throws(LexError) -> LexedToken {
        var raw = false, isBytes = false
        for offset in 0..<prefixLength {
            let c = bytes[start + offset]
            if c == UInt8(ascii: "r") || c == UInt8(ascii: "R") { raw = true } else { isBytes = true }
        }
        index = start + prefixLength
        let quote = bytes[index]
        let triple = peek(1) == quote && peek(2) == quote
        index += triple ? 3 : 1
        var out: [UInt8] = []
        while true {
            guard index < bytes.count else {
                throw LexError(start: start, end: index, message: "unterminated string literal",
                               help: "close it with \(triple ? String(repeating: String(UnicodeScalar(quote)), count: 3) : String(UnicodeScalar(quote)))")
            }
            let c = bytes[index]
            if c == quote {
                if !triple {
                    index += 1
                    break
                }
                if peek(1) == quote && peek(2) == quote {
                    index += 3
                    break
                }
            }
            if !triple, c == 0x0A || c == 0x0D {
                throw LexError(start: index, end: index + 1, message: "line break in a string literal",
                               help: "write \\n, or use a triple-quoted string (''' or \"\"\")")
            }
            if c == UInt8(ascii: "\\"), !raw {
                try escape(into: &out, isBytes: isBytes)
                continue
            }
            out.append(c)
            index += 1
        }
        let token: Token = isBytes ? .bytesLiteral(out) : .stringLiteral(String(decoding: out, as: UTF8.self))
        return LexedToken(token: token, start: start, end: index)
    }

    static func appendUTF8(_ scalar: Unicode.Scalar, to out: inout [UInt8]) {
        out.append(contentsOf: Array(String(Character(scalar)).utf8))
    }

    /// One escape sequence after a backslash; in strings numeric escapes are code points, in
    /// bytes literals they are bytes.
    mutating func escape(into out: inout [UInt8], isBytes: Bool) throws(LexError) {
        let escapeStart = index
        index += 1
        guard let c = peek() else {
            throw LexError(start: escapeStart, end: index, message: "unterminated escape sequence")
        }
        index += 1
        func simple(_ byte: UInt8) { out.append(byte) }
        func code(_ value: UInt32) throws(LexError) {
            if isBytes, value <= 0xFF {
                out.append(UInt8(value))
                return
            }
            guard let scalar = Unicode.Scalar(value) else {
                throw LexError(start: escapeStart, end: index, message: "escape denotes an invalid code point")
            }
            Lexer.appendUTF8(scalar, to: &out)
        }
        func hex(_ count: Int) throws(LexError) -> UInt32 {
            var value: UInt32 = 0
            for _ in 0..<count {
                guard let h = peek(), let digit = Lexer.hexValue(h) else {
                    throw LexError(start: escapeStart, end: index, message: "escape needs \(count) hexadecimal digits")
                }
                value = value << 4 | digit
                index += 1
            }
            return value
        }
        switch c {
        case UInt8(ascii: "a"): simple(0x07)
        case UInt8(ascii: "b"): simple(0x08)
        case UInt8(ascii: "f"): simple(0x0C)
        case UInt8(ascii: "n"): simple(0x0A)
        case UInt8(ascii: "r"): simple(0x0D)
        case UInt8(ascii: "t"): simple(0x09)
        case UInt8(ascii: "v"): simple(0x0B)
        case UInt8(ascii: "\\"), UInt8(ascii: "'"), UInt8(ascii: "\""), UInt8(ascii: "`"), UInt8(ascii: "?"):
            simple(c)
        case UInt8(ascii: "x"), UInt8(ascii: "X"):
            try code(try hex(2))
        case UInt8(ascii: "u"), UInt8(ascii: "U"):
            if isBytes {
                throw LexError(start: escapeStart, end: index, message: "\\u escapes are not allowed in bytes literals",
                               help: "write the bytes with \\x escapes")
            }
            let value = try hex(c == UInt8(ascii: "u") ? 4 : 8)
            guard value <= 0x10FFFF, !(0xD800...0xDFFF).contains(value) else {
                throw LexError(start: escapeStart, end: index, message: "escape denotes an invalid code point")
            }
            try code(value)
        case UInt8(ascii: "0")...UInt8(ascii: "3"):
            var value = UInt32(c - 0x30)
            for _ in 0..<2 {
                guard let d = peek(), d >= 0x30, d <= 0x37 else {
                    throw LexError(start: escapeStart, end: index, message: "octal escape needs three digits (\\000 to \\377)")
                }
                value = value * 8 + UInt32(d - 0x30)
                index += 1
            }
            try code(value)
        default:
            let (text, length) = character(at: index - 1)
            index = index - 1 + max(1, length)
            throw LexError(start: escapeStart, end: index, message: "invalid escape sequence `\\\(text)`")
        }
    }
}
