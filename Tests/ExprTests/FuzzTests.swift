import Expr
import JSON
import Testing

/// SplitMix64: a small seeded generator, so every run sees the same inputs.
struct SeededRandom {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func below(_ n: Int) -> Int { n <= 1 ? 0 : Int(next() % UInt64(n)) }
    mutating func chance(_ percent: Int) -> Bool { below(100) < percent }
    mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }
}

/// Random expressions from the grammar (often ill-typed on purpose).
struct ExpressionGenerator {
    var random: SeededRandom
    var macroVariables: [String] = []

    static let variables = ["a", "b", "c", "s", "l", "m", "n", "u", "e", "qa_file_path"]
    static let literals = [
        "0", "1", "-1", "42", "9223372036854775807", "-9223372036854775808", "0x7F", "1u", "0u", "18446744073709551615u",
        "0.0", "-0.0", "1.5", "1e308", "2.5e-3", ".5", "'a'", "\"docs/qa/\"", "''", "'\\u00e9'", "'e\\u0301'", "r'\\d+'",
        "b'\\xff'", "b''", "true", "false", "null", "'🐱'", "'''x\ny'''",
    ]
    static let binary = ["+", "-", "*", "/", "%", "==", "!=", "<", "<=", ">", ">=", "in", "&&", "||"]
    static let patterns = ["'^docs/'", "'\\\\.md$'", "'a+b*'", "'(a|b)?c{1,3}'", "'[^x]'", "'(?i)ab'", "'('", "'\\\\d{2,}'", "''"]
    static let fields = ["f", "g", "missing", "a"]

    mutating func leaf() -> String {
        if !macroVariables.isEmpty, random.chance(40) { return random.pick(macroVariables) }
        return random.chance(50) ? random.pick(ExpressionGenerator.variables) : random.pick(ExpressionGenerator.literals)
    }

    mutating func expression(_ depth: Int) -> String {
        if depth <= 0 || random.chance(20) { return leaf() }
        let d = depth - 1
        switch random.below(16) {
        case 0: return "!" + expression(d)
        case 1: return "-" + expression(d)
        case 2, 3, 4: return expression(d) + " " + random.pick(ExpressionGenerator.binary) + " " + expression(d)
        case 5: return "(" + expression(d) + ")"
        case 6: return expression(d) + " ? " + expression(d) + " : " + expression(d)
        case 7: return "[" + (0..<random.below(4)).map { _ in expression(d) }.joined(separator: ", ") + "]"
        case 8: return "{" + (0..<random.below(3)).map { _ in leaf() + ": " + expression(d) }.joined(separator: ", ") + "}"
        case 9: return expression(d) + "[" + expression(d) + "]"
        case 10: return expression(d) + "." + random.pick(ExpressionGenerator.fields)
        case 11: return "has(" + expression(d) + "." + random.pick(ExpressionGenerator.fields) + ")"
        case 12:
            let function = random.pick(["size", "int", "uint", "double", "string", "bool", "bytes", "dyn", "len"])
            return function + "(" + expression(d) + ")"
        case 13:
            let method = random.pick(["startsWith", "endsWith", "contains", "size"])
            return expression(d) + "." + method + "(" + (method == "size" ? "" : expression(d)) + ")"
        case 14:
            return expression(d) + ".matches(" + (random.chance(70) ? random.pick(ExpressionGenerator.patterns) : expression(d)) + ")"
        default:
            let macro = random.pick(["exists", "all", "exists_one", "map", "filter"])
            let variable = random.pick(["x", "y", "a"])
            let range = random.chance(60) ? random.pick(["l", "m", "[1, 2, 3]", "['a', 'b']", "{'k': 1}"]) : expression(d)
            macroVariables.append(variable)
            defer { macroVariables.removeLast() }
            return range + "." + macro + "(" + variable + ", " + expression(d) + ")"
        }
    }
}

@Suite struct FuzzTests {
    static let bindings: [String: Value] = [
        "a": .int(3), "b": .double(2.5), "c": .bool(true), "s": .string("docs/qa/x.md"),
        "l": .list([.int(1), .int(2), .int(3)]),
        "m": Value(json: .object([("f", .int(1)), ("g", .string("x"))])),
        "n": .null, "u": .uint(7), "e": .list([]), "qa_file_path": .string("src/a.md"),
    ]

    static let alternatives: [Value] = [
        .int(0), .int(-1), .int(Int64.max), .double(-0.5), .bool(false), .string(""), .string("docs/qa/"), .null, .uint(0),
        .list([.string("a")]), .list([]), Value(json: .object([("g", .int(2))])), .bytes([0xFF]),
    ]

    static let declarations: [String: ExprType] = {
        var out: [String: ExprType] = [:]
        for (name, value) in bindings { out[name] = ExprType(of: value) }
        return out
    }()

    static let limits = ExprLimits(maxIterations: 20_000)

    struct Tally {
        var syntax = 0, checked = 0, diagnostics = 0, values = 0, errors = 0, unknowns = 0
    }

    /// Parses, checks, evaluates and partially evaluates one text; verifies the results agree.
    static func exercise(_ text: String, _ random: inout SeededRandom, _ tally: inout Tally) {
        let expression: Expression
        switch ExprParser.parseResult(text, limits: limits) {
        case .failure(let error):
            tally.syntax += 1
            let range = error.diagnostic.range
            #expect(range != nil)
            #expect((range?.start.offset ?? 0) <= text.utf8.count, "\(text)")
            #expect((range?.start.column ?? 0) >= 1)
            return
        case .success(let parsed):
            expression = parsed
        }
        let checked = ExprChecker.check(expression, declarations: declarations)
        tally.checked += 1
        if checked.hasErrors { tally.diagnostics += 1 }
        for diagnostic in checked.diagnostics {
            #expect((diagnostic.range?.end.offset ?? 0) <= text.utf8.count, "\(text)")
        }
        _ = expression.freeVariables
        let program = Program(expression, limits: limits)
        let full = program.evaluate(bindings)
        switch full {
        case .value: tally.values += 1
        case .error: tally.errors += 1
        }
        // With nothing unknown, partial evaluation is evaluation.
        let same = program.partialEvaluate(bindings, unknown: [])
        switch (full, same) {
        case let (.value(x), .value(y)): #expect(x == y, "\(text)")
        case (.error, .error): break
        default: Issue.record("evaluate and partialEvaluate disagree on \(text): \(full) vs \(same)")
        }
        // Soundness of partial evaluation: a value (or error) found with some variables unknown
        // holds whatever those variables turn out to be.
        let variables = program.variables
        guard !variables.isEmpty else { return }
        var unknown = Set<String>()
        for name in variables where random.chance(50) { unknown.insert(name) }
        let partialResult = program.partialEvaluate(bindings, unknown: unknown)
        if case .unknown(let names) = partialResult {
            tally.unknowns += 1
            #expect(Set(names).isSubset(of: unknown), "\(text)")
            #expect(names == names.sorted() && Set(names).count == names.count)
            return
        }
        for trial in 0..<3 {
            var assignment = bindings
            if trial > 0 {
                for name in unknown { assignment[name] = random.pick(alternatives) }
            }
            let concrete = program.evaluate(assignment)
            switch (partialResult, concrete) {
            case let (.value(x), .value(y)):
                #expect(x == y, "partial \(partialResult) but \(concrete) for \(text) with \(unknown.sorted())")
            case (.error, .error): break
            default:
                Issue.record("partial \(partialResult) but \(concrete) for \(text) with unknown \(unknown.sorted())")
            }
        }
    }

    /// One random edit of a text.
    static func mutate(_ text: String, _ random: inout SeededRandom) -> String {
        var scalars = Array(text.unicodeScalars)
        let pieces = [
            "(", ")", "[", "]", "{", "}", "'", "\"", "\\", ".", ",", "?", ":", "!", "-", "&&", "||", "&", "|", "=", "==", " in ",
            "0", "9", "u", "e", "x", "0x", "1e", ".5", "r'", "b\"", "\\u", "\\x", "\\U0010FFFF", "é", "🐱", "\u{0}", "\n", "'''",
            "has(", ".exists(", ".map(x, ", "size(", "matches(", "//", "9223372036854775808", "-9223372036854775808",
        ]
        switch random.below(5) {
        case 0 where !scalars.isEmpty:
            let start = random.below(scalars.count)
            let length = 1 + random.below(min(4, scalars.count - start))
            scalars.removeSubrange(start..<(start + length))
        case 1 where scalars.count > 1:
            let i = random.below(scalars.count), j = random.below(scalars.count)
            scalars.swapAt(i, j)
        case 2 where !scalars.isEmpty:
            let start = random.below(scalars.count)
            let end = min(scalars.count, start + 1 + random.below(8))
            scalars.insert(contentsOf: scalars[start..<end], at: random.below(scalars.count + 1))
        default:
            let piece = Array(random.pick(pieces).unicodeScalars)
            scalars.insert(contentsOf: piece, at: random.below(scalars.count + 1))
        }
        var out = ""
        out.unicodeScalars.append(contentsOf: scalars)
        return out
    }

    @Test func randomAndMutatedExpressionsNeverCrashOrHang() throws {
        var random = SeededRandom(state: 0x5EED_0001)
        var generator = ExpressionGenerator(random: SeededRandom(state: 0xC0FFEE))
        var tally = Tally()
        let start = seconds()

        // Seeds: the guards of real workflows, a few hand-written edge cases, the conformance
        // expressions when present.
        var seeds = [
            PartialEvaluationTests.qaTesting, PartialEvaluationTests.ticketFix, "cycle >= 2",
            "l.exists(x, x > a) && s.matches('^docs/.*\\\\.md$')", "m.f + size(m) * 2 > 3 ? 'x' : 'y'",
            "{'k': [1, 2u, 3.0]}.k.all(v, v == 1 || v > 1)", "has(m.f) && !has(m.zz)", "b'\\x00' + b'a' < b'b'",
        ]
        if let bytes = Shared.read(Shared.path("cel-conformance/tests.json")),
           let cases = try? JSONParser.parse(ConformanceTests.replaceNonStandardNumbers(bytes)).arrayValue {
            seeds += cases.compactMap { $0["expr"]?.stringValue }
        }

        var generated = 0
        for _ in 0..<3_000 {
            let text = generator.expression(1 + generator.random.below(6))
            Self.exercise(text, &random, &tally)
            generated += 1
        }
        var mutated = 0
        for index in 0..<4_000 {
            var text = index % 2 == 0 ? random.pick(seeds) : generator.expression(3)
            for _ in 0..<(1 + random.below(4)) { text = Self.mutate(text, &random) }
            Self.exercise(text, &random, &tally)
            mutated += 1
        }
        // Random byte soup, including invalid-looking escapes and lone quotes.
        for _ in 0..<1_000 {
            var text = ""
            for _ in 0..<random.below(40) {
                text.unicodeScalars.append(random.pick(Array("ab01_.()[]{}'\"\\,:?!-+*/%<>=&|~^$#@ \tueéx🐱".unicodeScalars)))
            }
            Self.exercise(text, &random, &tally)
        }
        // Random regular expressions against random texts.
        var patterns = 0
        for _ in 0..<2_000 {
            var pattern = ""
            for _ in 0..<random.below(16) {
                pattern += random.pick(["a", "b", ".", "*", "+", "?", "|", "(", ")", "[", "]", "^", "$", "{2}", "{1,3}", "\\d", "\\w",
                                        "\\b", "[^a]", "(?i)", "(?:", "\\p{L}", "é", "-", "\\", "{", "}"])
            }
            if let regex = try? Regex(pattern) {
                patterns += 1
                _ = regex.matches(String(repeating: random.pick(["a", "ab", "é ", "b1"]), count: random.below(50)))
            }
        }

        let elapsed = seconds() - start
        print("""
            fuzz: \(generated) generated, \(mutated) mutated, 1000 random texts in \(elapsed) s: \
            \(tally.syntax) syntax diagnostics, \(tally.checked) parsed (\(tally.diagnostics) with check errors), \
            \(tally.values) values, \(tally.errors) evaluation errors, \(tally.unknowns) partial unknowns; \
            \(patterns) of 2000 random patterns compiled
            """)
        #expect(tally.values > 500)
        #expect(tally.errors > 500)
        #expect(tally.syntax > 500)
        #expect(elapsed < 30)
    }
}
