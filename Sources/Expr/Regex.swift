/// A regular expression for `matches`: an RE2-syntax subset compiled to a Thompson NFA and run
/// by a Pike VM, so matching takes time linear in the text times the pattern size (no
/// backtracking blow-up). Matching is a search: the pattern may match anywhere in the text
/// unless anchored with `^`/`$`. See grammar/expr.md, "Regular expressions", for the syntax.
public struct Regex: Sendable {
    public let pattern: String
    let program: [Instruction]
    let classes: [CharClass]
    /// True when every match must start at the beginning of the text.
    let anchoredStart: Bool

    /// Repetition counts above this are refused (as RE2 does).
    public static let maxRepeat = 1000
    /// Programs above this many instructions are refused.
    public static let maxProgramSize = 20_000
    /// Patterns longer than this many scalars are refused.
    public static let maxPatternLength = 4_096

    public init(_ pattern: String) throws(RegexError) {
        self.pattern = pattern
        let scalars = Array(pattern.unicodeScalars)
        guard scalars.count <= Regex.maxPatternLength else {
            throw RegexError(message: "the pattern is longer than \(Regex.maxPatternLength) characters")
        }
        let parser = RegexParser(scalars: scalars)
        let tree = try parser.parseAll()
        let compiler = RegexCompiler(classes: parser.classes)
        try compiler.emit(tree)
        compiler.append(.match)
        program = compiler.program
        classes = compiler.classes
        anchoredStart = RegexCompiler.startsAnchored(tree)
    }

    /// Whether the pattern matches anywhere in `text` (RE2's partial match).
    public func matches(_ text: String) -> Bool {
        let scalars = Array(text.unicodeScalars)
        let count = program.count
        var current = SparseSet(capacity: count)
        var next = SparseSet(capacity: count)
        var stack: [Int] = []
        stack.reserveCapacity(16)
        var position = 0
        while true {
            if position == 0 || !anchoredStart {
                addThread(&current, 0, position, scalars, &stack)
            }
            if current.isEmpty { return false }
            let scalar: UInt32? = position < scalars.count ? scalars[position].value : nil
            for index in 0..<current.count {
                let pc = current.dense[index]
                switch program[pc] {
                case .match:
                    return true
                case .scalar(let s):
                    if scalar == s { addThread(&next, pc + 1, position + 1, scalars, &stack) }
                case .scalarSet(let set):
                    if let scalar, set.contains(scalar) { addThread(&next, pc + 1, position + 1, scalars, &stack) }
                case .any:
                    if scalar != nil { addThread(&next, pc + 1, position + 1, scalars, &stack) }
                case .anyNotNewline:
                    if let scalar, scalar != 0x0A { addThread(&next, pc + 1, position + 1, scalars, &stack) }
                case .charClass(let classIndex):
                    if let scalar, classes[classIndex].matches(scalar) { addThread(&next, pc + 1, position + 1, scalars, &stack) }
                case .split, .jump, .assert:
                    break
                }
            }
            if position >= scalars.count { return false }
            swap(&current, &next)
            next.clear()
            position += 1
        }
    }

    /// Adds the thread at `pc` and every thread reachable without consuming input.
    private func addThread(_ set: inout SparseSet, _ pc: Int, _ position: Int, _ text: [Unicode.Scalar], _ stack: inout [Int]) {
        stack.removeAll(keepingCapacity: true)
        stack.append(pc)
        while let top = stack.popLast() {
            if set.contains(top) { continue }
            set.insert(top)
            switch program[top] {
            case .jump(let target):
                stack.append(target)
            case .split(let first, let second):
                stack.append(second)
                stack.append(first)
            case .assert(let assertion):
                if RegexCompiler.holds(assertion, at: position, in: text) { stack.append(top + 1) }
            default:
                break
            }
        }
    }
}

public struct RegexError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

enum Assertion: Sendable, Equatable {
    case lineStart, lineEnd, textStart, textEnd, wordBoundary, notWordBoundary
}

enum Instruction: Sendable {
    case scalar(UInt32)
    /// One of a few scalars (a case-folded literal).
    case scalarSet([UInt32])
    case any
    case anyNotNewline
    case charClass(Int)
    case split(Int, Int)
    case jump(Int)
    case assert(Assertion)
    case match
}

/// A set of scalars: ranges, Unicode general categories, optionally negated and case-folded.
struct CharClass: Sendable {
    var ranges: [ClosedRange<UInt32>] = []
    var categories: [(categories: [Unicode.GeneralCategory], negated: Bool)] = []
    var negated = false
    var foldCase = false

    func matches(_ value: UInt32) -> Bool {
        var inSet = contains(value)
        if !inSet, foldCase, let scalar = Unicode.Scalar(value) {
            for variant in caseVariants(scalar) where variant != value && contains(variant) {
                inSet = true
                break
            }
        }
        return inSet != negated
    }

    private func contains(_ value: UInt32) -> Bool {
        for range in ranges where range.contains(value) { return true }
        if !categories.isEmpty, let scalar = Unicode.Scalar(value) {
            let category = scalar.properties.generalCategory
            for entry in categories where entry.categories.contains(category) != entry.negated { return true }
        }
        return false
    }
}

/// The scalar and its single-scalar lower- and upper-case forms.
func caseVariants(_ scalar: Unicode.Scalar) -> [UInt32] {
    var out: [UInt32] = [scalar.value]
    for mapping in [scalar.properties.lowercaseMapping, scalar.properties.uppercaseMapping, scalar.properties.titlecaseMapping] {
        let scalars = Array(mapping.unicodeScalars)
        if scalars.count == 1, !out.contains(scalars[0].value) { out.append(scalars[0].value) }
    }
    // Both directions: the lower case of the upper case (e.g. for Kelvin sign, long s).
    if scalar.value < 0x80 { return out }
    for value in out {
        guard let other = Unicode.Scalar(value) else { continue }
        let lower = Array(other.properties.lowercaseMapping.unicodeScalars)
        if lower.count == 1, !out.contains(lower[0].value) { out.append(lower[0].value) }
    }
    return out
}

struct SparseSet {
    var dense: [Int]
    var sparse: [Int]
    var count = 0

    init(capacity: Int) {
        dense = Array(repeating: 0, count: capacity)
        sparse = Array(repeating: 0, count: capacity)
    }

    var isEmpty: Bool { count == 0 }

    func contains(_ value: Int) -> Bool {
        let index = sparse[value]
        return index < count && dense[index] == value
    }

    mutating func insert(_ value: Int) {
        sparse[value] = count
        dense[count] = value
        count += 1
    }

    mutating func clear() { count = 0 }
}

// MARK: - Parsing

indirect enum RegexNode: Sendable {
    case empty
    case literal(Unicode.Scalar, fold: Bool)
    case any(dotAll: Bool)
    case charClass(Int)
    case concat([RegexNode])
    case alternate([RegexNode])
    case repetition(RegexNode, min: Int, max: Int?)
    case assertion(Assertion)
}

struct RegexFlags {
    var caseInsensitive = false
    var dotAll = false
    var multiLine = false
}

final class RegexParser {
    let scalars: [Unicode.Scalar]
    var index = 0
    var classes: [CharClass] = []
    var flags = RegexFlags()
    var depth = 0

    /// Maximum nesting of groups.
    static let maxNesting = 64

    init(scalars: [Unicode.Scalar]) { self.scalars = scalars }

    func peek(_ ahead: Int = 0) -> Unicode.Scalar? {
        index + ahead < scalars.count ? scalars[index + ahead] : nil
    }

    func error(_ message: String) -> RegexError { RegexError(message: message) }

    func parseAll() throws(RegexError) -> RegexNode {
        let node = try parseAlternation()
        if index < scalars.count {
            // Only an unmatched `)` stops the top level early.
            throw error("unexpected `)` in the pattern")
        }
        return node
    }

    func parseAlternation() throws(RegexError) -> RegexNode {
        var branches = [try parseConcatenation()]
        while peek() == "|" {
            index += 1
            branches.append(try parseConcatenation())
        }
        return branches.count == 1 ? branches[0] : .alternate(branches)
    }

    func parseConcatenation() throws(RegexError) -> RegexNode {
        var items: [RegexNode] = []
        while let c = peek(), c != "|", c != ")" {
            guard let atom = try parseAtom() else { continue }
            items.append(try parseQuantifiers(atom))
        }
        if items.isEmpty { return .empty }
        return items.count == 1 ? items[0] : .concat(items)
    }

    func parseQuantifiers(_ atom: RegexNode) throws(RegexError) -> RegexNode {
        var node = atom
        var quantified = false
        while let c = peek() {
            var minimum = 0
            var maximum: Int?
            if c == "*" {
                index += 1
            } else if c == "+" {
                minimum = 1
                index += 1
            } else if c == "?" {
                maximum = 1
                index += 1
            } else if c == "{", let (low, high, length) = repetitionBounds() {
                minimum = low
                maximum = high
                index += length
            } else {
                break
            }
            if quantified { throw error("bad repetition operator: a quantifier cannot follow a quantifier") }
            if case .assertion = node { throw error("missing argument to repetition operator") }
            if case .empty = node { throw error("missing argument to repetition operator") }
            // A lazy marker changes nothing for a yes/no match.
            if peek() == "?" { index += 1 }
            node = .repetition(node, min: minimum, max: maximum)
            quantified = true
        }
        return node
    }

    /// `{n}`, `{n,}` or `{n,m}` at the current position: (n, m, length in scalars).
    func repetitionBounds() -> (Int, Int?, Int)? {
        var position = index + 1
        func number() -> Int? {
            var value = 0
            var digits = 0
            while position < scalars.count, scalars[position].value >= 0x30, scalars[position].value <= 0x39 {
                value = min(value * 10 + Int(scalars[position].value - 0x30), 100_000)
                digits += 1
                position += 1
            }
            return digits > 0 ? value : nil
        }
        guard let low = number() else { return nil }
        var high: Int? = low
        if position < scalars.count, scalars[position] == "," {
            position += 1
            high = number()
        }
        guard position < scalars.count, scalars[position] == "}" else { return nil }
        return (low, high, position + 1 - index)
    }

    /// One atom; nil for a flag group `(?i)` that only changes flags.
    func parseAtom() throws(RegexError) -> RegexNode? {
        guard let c = peek() else { return .empty }
        switch c {
        case "(":
            index += 1
            depth += 1
            defer { depth -= 1 }
            if depth > RegexParser.maxNesting { throw error("the pattern nests groups deeper than \(RegexParser.maxNesting) levels") }
            let saved = flags
            if peek() == "?" {
                index += 1
                if peek() == "P" || (peek() == "<" && peek(1) != "=" && peek(1) != "!") {
                    // Named group (?P<name>re) or (?<name>re).
                    if peek() == "P" { index += 1 }
                    guard peek() == "<" else { throw error("invalid named group") }
                    index += 1
                    var nameLength = 0
                    while let n = peek(), n != ">" {
                        guard n.properties.isAlphabetic || n == "_" || (n.isASCII && n.properties.numericType != nil) else {
                            throw error("invalid character in a group name")
                        }
                        index += 1
                        nameLength += 1
                    }
                    guard peek() == ">", nameLength > 0 else { throw error("invalid named group") }
                    index += 1
                } else {
                    var negate = false
                    var sawFlag = false
                    while let f = peek(), f != ":" && f != ")" {
                        switch f {
                        case "i": flags.caseInsensitive = !negate
                        case "s": flags.dotAll = !negate
                        case "m": flags.multiLine = !negate
                        case "U": break
                        case "-":
                            if negate { throw error("invalid flag group") }
                            negate = true
                        default:
                            throw error("unsupported group syntax `(?\(f)`; supported: (?:...), (?P<name>...), flags i, s, m, U")
                        }
                        sawFlag = true
                        index += 1
                    }
                    guard let end = peek() else { throw error("missing `)` in the pattern") }
                    index += 1
                    if end == ")" {
                        // (?flags): the flags hold until the end of the enclosing group.
                        guard sawFlag else { throw error("empty flag group") }
                        return nil
                    }
                }
            }
            let inner = try parseAlternation()
            guard peek() == ")" else { throw error("missing `)` in the pattern") }
            index += 1
            flags = saved
            return inner
        case ")":
            throw error("unexpected `)` in the pattern")
        case "[":
            index += 1
            return .charClass(try parseClass())
        case ".":
            index += 1
            return .any(dotAll: flags.dotAll)
        case "^":
            index += 1
            return .assertion(flags.multiLine ? .lineStart : .textStart)
        case "$":
            index += 1
            return .assertion(flags.multiLine ? .lineEnd : .textEnd)
        case "*", "+", "?":
            throw error("missing argument to repetition operator `\(c)`")
        case "\\":
            index += 1
            return try parseEscape()
        default:
            if c == "{", repetitionBounds() != nil { throw error("missing argument to repetition operator") }
            index += 1
            return .literal(c, fold: flags.caseInsensitive)
        }
    }

    func addClass(_ cls: CharClass) -> Int {
        var cls = cls
        cls.foldCase = cls.foldCase || flags.caseInsensitive
        classes.append(cls)
        return classes.count - 1
    }

    /// Perl classes \d \s \w and their negations as ranges.
    static func perlClass(_ c: Unicode.Scalar) -> (ranges: [ClosedRange<UInt32>], negated: Bool)? {
        switch c {
        case "d": return ([0x30...0x39], false)
        case "D": return ([0x30...0x39], true)
        case "s": return ([0x09...0x0A, 0x0C...0x0D, 0x20...0x20], false)
        case "S": return ([0x09...0x0A, 0x0C...0x0D, 0x20...0x20], true)
        case "w": return ([0x30...0x39, 0x41...0x5A, 0x5F...0x5F, 0x61...0x7A], false)
        case "W": return ([0x30...0x39, 0x41...0x5A, 0x5F...0x5F, 0x61...0x7A], true)
        default: return nil
        }
    }

    static let categoryNames: [String: [Unicode.GeneralCategory]] = [
        "L": [.uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter],
        "Lu": [.uppercaseLetter], "Ll": [.lowercaseLetter], "Lt": [.titlecaseLetter], "Lm": [.modifierLetter], "Lo": [.otherLetter],
        "M": [.nonspacingMark, .spacingMark, .enclosingMark],
        "Mn": [.nonspacingMark], "Mc": [.spacingMark], "Me": [.enclosingMark],
        "N": [.decimalNumber, .letterNumber, .otherNumber],
        "Nd": [.decimalNumber], "Nl": [.letterNumber], "No": [.otherNumber],
        "P": [.connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation, .initialPunctuation, .finalPunctuation, .otherPunctuation],
        "Pc": [.connectorPunctuation], "Pd": [.dashPunctuation], "Ps": [.openPunctuation], "Pe": [.closePunctuation],
        "Pi": [.initialPunctuation], "Pf": [.finalPunctuation], "Po": [.otherPunctuation],
        "S": [.mathSymbol, .currencySymbol, .modifierSymbol, .otherSymbol],
        "Sm": [.mathSymbol], "Sc": [.currencySymbol], "Sk": [.modifierSymbol], "So": [.otherSymbol],
        "Z": [.spaceSeparator, .lineSeparator, .paragraphSeparator],
        "Zs": [.spaceSeparator], "Zl": [.lineSeparator], "Zp": [.paragraphSeparator],
        "C": [.control, .format, .surrogate, .privateUse, .unassigned],
        "Cc": [.control], "Cf": [.format], "Cs": [.surrogate], "Co": [.privateUse], "Cn": [.unassigned],
    ]

    /// After `\p` or `\P`: a one-letter name or `{Name}`.
    func parseCategory(negated: Bool) throws(RegexError) -> (categories: [Unicode.GeneralCategory], negated: Bool) {
        var name = ""
        var negate = negated
        if peek() == "{" {
            index += 1
            if peek() == "^" {
                negate.toggle()
                index += 1
            }
            while let c = peek(), c != "}" {
                name.unicodeScalars.append(c)
                index += 1
            }
            guard peek() == "}" else { throw error("missing `}` in a Unicode class") }
            index += 1
        } else if let c = peek() {
            name.unicodeScalars.append(c)
            index += 1
        }
        if name == "Any" { return ([], !negate) }
        guard let categories = RegexParser.categoryNames[name] else {
            throw error("unsupported Unicode class `\(name)`; supported are the general categories (L, Lu, N, Nd, P, ...)")
        }
        return (categories, negate)
    }

    /// A single-scalar escape (`\n`, `\x41`, `\x{263a}`, `\.`, octal); nil when the escape is
    /// not a single scalar.
    func parseScalarEscape(_ c: Unicode.Scalar) throws(RegexError) -> Unicode.Scalar? {
        switch c {
        case "a": return "\u{07}"
        case "f": return "\u{0C}"
        case "t": return "\t"
        case "n": return "\n"
        case "r": return "\r"
        case "v": return "\u{0B}"
        case "x":
            var value: UInt32 = 0
            if peek() == "{" {
                index += 1
                var digits = 0
                while let h = peek(), h != "}" {
                    guard h.isASCII, let digit = Lexer.hexValue(UInt8(h.value)) else { throw error("invalid hexadecimal escape") }
                    value = value &* 16 &+ digit
                    digits += 1
                    if digits > 8 { throw error("invalid hexadecimal escape") }
                    index += 1
                }
                guard peek() == "}", digits > 0 else { throw error("invalid hexadecimal escape") }
                index += 1
            } else {
                for _ in 0..<2 {
                    guard let h = peek(), h.isASCII, let digit = Lexer.hexValue(UInt8(h.value)) else {
                        throw error("invalid hexadecimal escape")
                    }
                    value = value * 16 + digit
                    index += 1
                }
            }
            guard let scalar = Unicode.Scalar(value) else { throw error("escape denotes an invalid code point") }
            return scalar
        case "0"..."7":
            // Octal: \0, \012, \123 (up to three digits; RE2 requires \0 for a leading zero).
            var value = c.value - 0x30
            var digits = 1
            while digits < 3, let d = peek(), d >= "0", d <= "7" {
                value = value * 8 + (d.value - 0x30)
                index += 1
                digits += 1
            }
            if c != "0" && digits == 1 { throw error("backreferences are not supported") }
            return Unicode.Scalar(value)
        default:
            if c.isASCII, !c.properties.isAlphabetic, !(c.properties.numericType != nil) {
                return c  // escaped punctuation
            }
            return nil
        }
    }

    func parseEscape() throws(RegexError) -> RegexNode? {
        guard let c = peek() else { throw error("trailing backslash at the end of the pattern") }
        index += 1
        switch c {
        case "A": return .assertion(.textStart)
        case "z": return .assertion(.textEnd)
        case "b": return .assertion(.wordBoundary)
        case "B": return .assertion(.notWordBoundary)
        case "Q":
            var items: [RegexNode] = []
            while let q = peek() {
                if q == "\\", peek(1) == "E" {
                    index += 2
                    break
                }
                items.append(.literal(q, fold: flags.caseInsensitive))
                index += 1
            }
            return items.isEmpty ? nil : (items.count == 1 ? items[0] : .concat(items))
        case "p", "P":
            let category = try parseCategory(negated: c == "P")
            var cls = CharClass()
            if category.categories.isEmpty {
                cls.ranges = [0...0x10FFFF]
                cls.negated = category.negated
            } else {
                cls.categories = [category]
            }
            return .charClass(addClass(cls))
        default:
            if let perl = RegexParser.perlClass(c) {
                return .charClass(addClass(CharClass(ranges: perl.ranges, negated: perl.negated)))
            }
            if let scalar = try parseScalarEscape(c) {
                return .literal(scalar, fold: flags.caseInsensitive)
            }
            throw error("invalid escape `\\\(c)` in the pattern")
        }
    }

    static let posixClasses: [String: [ClosedRange<UInt32>]] = [
        "alnum": [0x30...0x39, 0x41...0x5A, 0x61...0x7A],
        "alpha": [0x41...0x5A, 0x61...0x7A],
        "ascii": [0x00...0x7F],
        "blank": [0x09...0x09, 0x20...0x20],
        "cntrl": [0x00...0x1F, 0x7F...0x7F],
        "digit": [0x30...0x39],
        "graph": [0x21...0x7E],
        "lower": [0x61...0x7A],
        "print": [0x20...0x7E],
        "punct": [0x21...0x2F, 0x3A...0x40, 0x5B...0x60, 0x7B...0x7E],
        "space": [0x09...0x0D, 0x20...0x20],
        "upper": [0x41...0x5A],
        "word": [0x30...0x39, 0x41...0x5A, 0x5F...0x5F, 0x61...0x7A],
        "xdigit": [0x30...0x39, 0x41...0x46, 0x61...0x66],
    ]

    /// After `[`: the class up to `]`.
    func parseClass() throws(RegexError) -> Int {
        var cls = CharClass()
        if peek() == "^" {
            cls.negated = true
            index += 1
        }
        var first = true
        // Negated sub-classes inside a class (\D, [:^alpha:]) are kept as separate classes.
        var negatedParts: [[ClosedRange<UInt32>]] = []
        while true {
            guard let c = peek() else { throw error("missing `]` in the pattern") }
            if c == "]", !first {
                index += 1
                break
            }
            first = false
            if c == "[", peek(1) == ":" {
                // [:name:] or [:^name:]
                var position = index + 2
                var negate = false
                if position < scalars.count, scalars[position] == "^" {
                    negate = true
                    position += 1
                }
                var name = ""
                while position < scalars.count, scalars[position] != ":" {
                    name.unicodeScalars.append(scalars[position])
                    position += 1
                }
                if position + 1 < scalars.count, scalars[position + 1] == "]", let ranges = RegexParser.posixClasses[name] {
                    index = position + 2
                    if negate { negatedParts.append(ranges) } else { cls.ranges += ranges }
                    continue
                }
                throw error("invalid character class `[:\(name):]`")
            }
            var low: Unicode.Scalar
            index += 1
            if c == "\\" {
                guard let e = peek() else { throw error("trailing backslash at the end of the pattern") }
                index += 1
                if let perl = RegexParser.perlClass(e) {
                    if perl.negated { negatedParts.append(perl.ranges) } else { cls.ranges += perl.ranges }
                    continue
                }
                if e == "p" || e == "P" {
                    let category = try parseCategory(negated: e == "P")
                    if category.categories.isEmpty {
                        if !category.negated { cls.ranges.append(0...0x10FFFF) }
                    } else {
                        cls.categories.append(category)
                    }
                    continue
                }
                guard let scalar = try parseScalarEscape(e) else { throw error("invalid escape `\\\(e)` in a character class") }
                low = scalar
            } else {
                low = c
            }
            // A range a-z (a `-` before `]` is literal).
            if peek() == "-", let after = peek(1), after != "]" {
                index += 1
                var high: Unicode.Scalar
                if after == "\\" {
                    index += 1
                    guard let e = peek() else { throw error("trailing backslash at the end of the pattern") }
                    index += 1
                    guard let scalar = try parseScalarEscape(e) else { throw error("invalid range end in a character class") }
                    high = scalar
                } else {
                    high = after
                    index += 1
                }
                guard low.value <= high.value else { throw error("invalid character class range `\(low)-\(high)`") }
                cls.ranges.append(low.value...high.value)
            } else {
                cls.ranges.append(low.value...low.value)
            }
        }
        if !negatedParts.isEmpty {
            // [a\D] = a or not-digit: fold the negated parts in through categories-free complement.
            for part in negatedParts { cls.ranges += RegexParser.complement(part) }
        }
        return addClass(cls)
    }

    /// The complement of a set of ranges within 0...0x10FFFF.
    static func complement(_ ranges: [ClosedRange<UInt32>]) -> [ClosedRange<UInt32>] {
        let sorted = ranges.sorted { $0.lowerBound < $1.lowerBound }
        var out: [ClosedRange<UInt32>] = []
        var next: UInt32 = 0
        for range in sorted {
            if range.lowerBound > next { out.append(next...(range.lowerBound - 1)) }
            if range.upperBound >= next { next = range.upperBound &+ 1 }
            if range.upperBound == 0x10FFFF { return out }
        }
        if next <= 0x10FFFF { out.append(next...0x10FFFF) }
        return out
    }
}

// MARK: - Compiling

final class RegexCompiler {
    var program: [Instruction] = []
    var classes: [CharClass]

    init(classes: [CharClass]) { self.classes = classes }

    func append(_ instruction: Instruction) {
        program.append(instruction)
    }

    func checkSize() throws(RegexError) {
        if program.count > Regex.maxProgramSize {
            throw RegexError(message: "the pattern is too large once repetitions are expanded")
        }
    }

    func emit(_ node: RegexNode) throws(RegexError) {
        try checkSize()
        switch node {
        case .empty:
            break
        case .literal(let scalar, let fold):
            if fold {
                let variants = caseVariants(scalar)
                append(variants.count == 1 ? .scalar(scalar.value) : .scalarSet(variants))
            } else {
                append(.scalar(scalar.value))
            }
        case .any(let dotAll):
            append(dotAll ? .any : .anyNotNewline)
        case .charClass(let index):
            append(.charClass(index))
        case .concat(let items):
            for item in items { try emit(item) }
        case .alternate(let branches):
            // split L1, next; L1: b1; jmp end; next: split L2, next2; ...
            var jumps: [Int] = []
            for (position, branch) in branches.enumerated() {
                if position < branches.count - 1 {
                    let split = program.count
                    append(.split(split + 1, -1))
                    try emit(branch)
                    jumps.append(program.count)
                    append(.jump(-1))
                    program[split] = .split(split + 1, program.count)
                } else {
                    try emit(branch)
                }
            }
            for jump in jumps { program[jump] = .jump(program.count) }
        case .repetition(let inner, let minimum, let maximum):
            if minimum > Regex.maxRepeat || (maximum ?? 0) > Regex.maxRepeat {
                throw RegexError(message: "repetition count above \(Regex.maxRepeat)")
            }
            if let maximum, maximum < minimum {
                throw RegexError(message: "invalid repetition count {\(minimum),\(maximum)}")
            }
            for _ in 0..<minimum { try emit(inner) }
            if let maximum {
                // Optional copies: split body, end — nested so each needs the previous.
                var splits: [Int] = []
                for _ in minimum..<maximum {
                    splits.append(program.count)
                    append(.split(program.count + 1, -1))
                    try emit(inner)
                }
                for split in splits { program[split] = .split(split + 1, program.count) }
            } else {
                let loop = program.count
                append(.split(loop + 1, -1))
                try emit(inner)
                append(.jump(loop))
                program[loop] = .split(loop + 1, program.count)
            }
        case .assertion(let assertion):
            append(.assert(assertion))
        }
        try checkSize()
    }

    static func startsAnchored(_ node: RegexNode) -> Bool {
        switch node {
        case .assertion(.textStart): return true
        case .concat(let items): return items.first.map(startsAnchored) ?? false
        default: return false
        }
    }

    static func isWord(_ scalar: Unicode.Scalar) -> Bool {
        let v = scalar.value
        return (v >= 0x30 && v <= 0x39) || (v >= 0x41 && v <= 0x5A) || (v >= 0x61 && v <= 0x7A) || v == 0x5F
    }

    static func holds(_ assertion: Assertion, at position: Int, in text: [Unicode.Scalar]) -> Bool {
        switch assertion {
        case .textStart: return position == 0
        case .textEnd: return position == text.count
        case .lineStart: return position == 0 || text[position - 1] == "\n"
        case .lineEnd: return position == text.count || text[position] == "\n"
        case .wordBoundary, .notWordBoundary:
            let before = position > 0 && isWord(text[position - 1])
            let after = position < text.count && isWord(text[position])
            return (before != after) == (assertion == .wordBoundary)
        }
    }
}
