import Expr
import JSON
import Testing

/// Runs ../shared/cel-conformance/tests.json (737 cases of the CEL conformance suite).
///
/// Which cases run is decided mechanically, by section and by feature (docs/expressions.md,
/// "Conformance"): a case is skipped when its section is in `skippedSections`, or when its
/// expression uses a feature in `unsupportedFeatures`. Every other case must pass: a case
/// with `disable_check` is evaluated without the checker, any other is checked (with the
/// bindings' types as declarations) and must check cleanly, then evaluated. An expected
/// `{"error": ...}` passes on any evaluation error.
@Suite struct ConformanceTests {
    /// Sections left out as a whole, with the reason (also in docs/expressions.md).
    static let skippedSections: [String: String] = [
        "comparisons/eq_wrapper": "protobuf wrapper messages (google.protobuf.*Value) are not in the subset",
        "conversions/type": "type values and the type() function are not in the subset",
    ]

    /// Features outside the subset: a case whose expression contains one of these is skipped.
    static let unsupportedFeatures: [(needle: String, reason: String)] = [
        ("google.protobuf.", "protobuf messages"),
        ("duration(", "durations"),
        ("timestamp(", "timestamps"),
    ]

    /// The floor of cases that must run and pass.
    static let minimumPassed = 550

    struct Tally {
        var passed = 0
        var failed = 0
        var skipped = 0
    }

    static func skipReason(file: String, section: String, expr: String) -> String? {
        if let reason = skippedSections["\(file)/\(section)"] { return reason }
        for feature in unsupportedFeatures where expr.contains(feature.needle) { return feature.reason }
        return nil
    }

    /// A tagged conformance value: {"int": "12"}, {"double": "inf"}, {"list": [...]}...
    static func decode(_ json: JSONValue) -> Value? {
        guard case .object(let pairs) = json, pairs.count == 1, let (tag, payload) = pairs.first.map({ ($0.key, $0.value) }) else {
            return nil
        }
        switch (tag, payload) {
        case ("int", .string(let s)): return Int64(s).map(Value.int)
        case ("uint", .string(let s)): return UInt64(s).map(Value.uint)
        case ("double", .double(let d)): return .double(d)
        case ("double", .int(let i)): return .double(Double(i))
        case ("double", .string(let s)):
            switch s {
            case "inf": return .double(.infinity)
            case "-inf": return .double(-.infinity)
            case "nan": return .double(.nan)
            default: return nil
            }
        case ("string", .string(let s)): return .string(s)
        case ("bytes", .array(let items)):
            var bytes: [UInt8] = []
            for item in items {
                guard case .int(let b) = item, let byte = UInt8(exactly: b) else { return nil }
                bytes.append(byte)
            }
            return .bytes(bytes)
        case ("bool", .bool(let b)): return .bool(b)
        case ("null", .null): return .null
        case ("list", .array(let items)):
            var values: [Value] = []
            for item in items {
                guard let v = decode(item) else { return nil }
                values.append(v)
            }
            return .list(values)
        case ("map", .array(let entries)):
            var pairs: [(key: Value, value: Value)] = []
            for entry in entries {
                guard case .array(let kv) = entry, kv.count == 2, let k = decode(kv[0]), let v = decode(kv[1]) else { return nil }
                pairs.append((k, v))
            }
            return .map(ValueMap(pairs))
        default:
            return nil
        }
    }

    /// The file was written by a JSON writer that spells infinities and NaN as bare `Infinity`,
    /// `-Infinity`, `NaN` (not JSON): outside strings they become the strings the tagged form
    /// uses ("inf", "-inf", "nan").
    static func replaceNonStandardNumbers(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var inString = false
        var index = 0
        let words: [(String, String)] = [("-Infinity", "\"-inf\""), ("Infinity", "\"inf\""), ("NaN", "\"nan\"")]
        outer: while index < bytes.count {
            let byte = bytes[index]
            if inString {
                out.append(byte)
                if byte == UInt8(ascii: "\\"), index + 1 < bytes.count {
                    out.append(bytes[index + 1])
                    index += 2
                    continue
                }
                if byte == UInt8(ascii: "\"") { inString = false }
                index += 1
                continue
            }
            if byte == UInt8(ascii: "\"") { inString = true }
            for (word, replacement) in words {
                let w = Array(word.utf8)
                if index + w.count <= bytes.count, Array(bytes[index..<(index + w.count)]) == w {
                    out.append(contentsOf: Array(replacement.utf8))
                    index += w.count
                    continue outer
                }
            }
            out.append(byte)
            index += 1
        }
        return out
    }

    @Test func conformanceSuite() throws {
        let path = Shared.path("cel-conformance/tests.json")
        guard let bytes = Shared.read(path) else {
            print("note: \(path) is absent; the conformance suite is skipped")
            return
        }
        let cases = try #require(try JSONParser.parse(Self.replaceNonStandardNumbers(bytes)).arrayValue)
        var tallies: [(file: String, tally: Tally)] = []
        var failures: [String] = []
        var skippedBySection: [String: Int] = [:]
        func bump(_ file: String, _ update: (inout Tally) -> Void) {
            if let index = tallies.firstIndex(where: { $0.file == file }) {
                update(&tallies[index].tally)
            } else {
                var tally = Tally()
                update(&tally)
                tallies.append((file, tally))
            }
        }
        for testCase in cases {
            let file = testCase["file"]?.stringValue ?? "?"
            let section = testCase["section"]?.stringValue ?? "?"
            let name = testCase["name"]?.stringValue ?? "?"
            let expr = testCase["expr"]?.stringValue ?? ""
            if Self.skipReason(file: file, section: section, expr: expr) != nil {
                bump(file) { $0.skipped += 1 }
                skippedBySection["\(file)/\(section)", default: 0] += 1
                continue
            }
            var bindings: [String: Value] = [:]
            if case .object(let pairs)? = testCase["bindings"] {
                for pair in pairs {
                    guard let v = Self.decode(pair.value) else {
                        failures.append("\(file)/\(section)/\(name): cannot decode binding \(pair.key)")
                        continue
                    }
                    bindings[pair.key] = v
                }
            }
            let check = testCase["disable_check"] != .bool(true)
            let result = run(expr, bindings, check: check)
            let expected = testCase["expected"] ?? .null
            var ok = false
            if expected["error"] != nil {
                if case .error(let message) = result, !message.hasPrefix("syntax:"), !message.hasPrefix("check:") { ok = true }
            } else if let want = Self.decode(expected), case .value(let got) = result {
                ok = got == want
            }
            if ok {
                bump(file) { $0.passed += 1 }
            } else {
                bump(file) { $0.failed += 1 }
                failures.append("\(file)/\(section)/\(name): `\(expr)` expected \(expected) got \(result)")
            }
        }
        var total = Tally()
        var report = "CEL conformance (\(cases.count) cases):\n"
        for (file, tally) in tallies {
            report += "  \(file): passed \(tally.passed), failed \(tally.failed), skipped \(tally.skipped)\n"
            total.passed += tally.passed
            total.failed += tally.failed
            total.skipped += tally.skipped
        }
        report += "  total: passed \(total.passed), failed \(total.failed), skipped \(total.skipped)\n"
        for (section, count) in skippedBySection.sorted(by: { $0.key < $1.key }) {
            report += "  skipped in \(section): \(count)\n"
        }
        print(report)
        for failure in failures { print("FAIL " + failure) }
        #expect(failures.isEmpty, "\(failures.count) conformance failures")
        #expect(total.passed >= ConformanceTests.minimumPassed)
        #expect(total.passed + total.failed + total.skipped == cases.count)
    }
}
