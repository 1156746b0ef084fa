// `orchestrator-bench expr [--seconds S]`: how fast guards parse, check and evaluate.
// Figures go to docs/performance-expr.md.

import Expr

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

enum ExprBenchmark {
    static let help = "guard expressions: parse/check/compile and evaluations per second"

    /// The qa_testing prehook of the self-bootstrap workflow: the typical guard.
    static let typical = #"is_last_cycle && qa_file_path.startsWith("docs/qa/") && qa_file_path.endsWith(".md") && (self_referential_safe || size(self_referential_safe_scenarios) > 0) && (size(regression_target_ids) == 0 || qa_file_path in regression_target_ids)"#
    static let short = "is_last_cycle"
    static let macro = #"regression_target_ids.exists(id, id == qa_file_path) && qa_file_path.matches("^docs/qa/[a-z_-]+\\.md$")"#

    static let declarations: [String: ExprType] = [
        "cycle": .int, "max_cycles": .int, "is_last_cycle": .bool, "qa_file_path": .string,
        "self_referential_safe": .bool, "self_referential_safe_scenarios": .list(.string),
        "regression_target_ids": .list(.string), "active_ticket_count": .int,
    ]

    /// One item's prehook variables (cycle 2 of 2, a QA document, a few regression targets).
    static let bindings: [String: Value] = [
        "cycle": .int(2), "max_cycles": .int(2), "is_last_cycle": .bool(true),
        "qa_file_path": .string("docs/qa/login_flow.md"),
        "self_referential_safe": .bool(false),
        "self_referential_safe_scenarios": .list([.string("S1"), .string("S3")]),
        "regression_target_ids": .list((0..<8).map { .string("docs/qa/target_\($0).md") } + [.string("docs/qa/login_flow.md")]),
        "active_ticket_count": .int(0),
    ]

    /// Runs `body` in 5 rounds of about `seconds / 5` each; returns the best and the median
    /// round in operations per second (the best is the least disturbed by other load).
    static func measure(seconds: Double, _ body: () -> Int) -> (best: Double, median: Double, checksum: Int) {
        var checksum = 0
        for _ in 0..<1_000 { checksum &+= body() }  // warm up
        var rates: [Double] = []
        for _ in 0..<5 {
            var operations = 0
            let start = now()
            var elapsed = 0.0
            while elapsed < seconds / 5 {
                for _ in 0..<500 { checksum &+= body() }
                operations += 500
                elapsed = now() - start
            }
            rates.append(Double(operations) / elapsed)
        }
        rates.sort()
        return (rates[rates.count - 1], rates[rates.count / 2], checksum)
    }

    static func report(_ label: String, _ result: (best: Double, median: Double, checksum: Int)) {
        let padded = label + String(repeating: " ", count: max(1, 34 - label.count))
        print("  \(padded)best \(format(result.best)), median \(format(result.median))")
    }

    static func format(_ perSecond: Double) -> String {
        let nanos = 1e9 / perSecond
        let rate: String
        if perSecond >= 1e6 {
            rate = String(Int((perSecond / 1e4).rounded())).insertingDecimal(2) + " M/s"
        } else {
            rate = String(Int((perSecond / 1e1).rounded())).insertingDecimal(2) + " k/s"
        }
        return "\(rate) (\(Int(nanos.rounded())) ns each)"
    }

    static func machine() -> String {
        var model = "unknown CPU"
        if let file = fopen("/proc/cpuinfo", "r") {
            defer { fclose(file) }
            var line = [CChar](repeating: 0, count: 512)
            while fgets(&line, 512, file) != nil {
                let text = String(decoding: line.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
                if text.hasPrefix("model name"), let colon = text.firstIndex(of: ":") {
                    model = String(text[text.index(after: colon)...]).trimmingSpaces()
                    break
                }
            }
        }
        let cores = sysconf(Int32(_SC_NPROCESSORS_ONLN))
        return "\(model), \(cores) online cores"
    }

    static func run(_ arguments: [String]) -> Int32 {
        let options = BenchmarkOptions(arguments, suite: "expr", declared: [
            BenchmarkOption(name: "--seconds", value: "S", help: "seconds per measurement (default 2)")
        ])
        let seconds = options.double("--seconds", 2)
        #if DEBUG
        print("warning: a debug build; run `swift run -c release orchestrator-bench expr` for real figures")
        #endif
        print("machine: \(machine())")
        print("time per measurement: \(seconds) s in 5 rounds")
        var load = [0.0, 0.0, 0.0]
        if getloadavg(&load, 3) == 3 { print("load average at start: \(load[0])") }
        for (name, text) in [("typical (qa_testing prehook)", typical), ("short (is_last_cycle)", short), ("macro + matches", macro)] {
            guard let expression = try? ExprParser.parse(text) else {
                print("\(name): does not parse")
                return 1
            }
            let checked = ExprChecker.check(expression, declarations: declarations)
            guard !checked.hasErrors else {
                print("\(name): \(checked.diagnostics)")
                return 1
            }
            let program = Program(expression)
            guard case .value = program.evaluate(bindings) else {
                print("\(name): does not evaluate to a value")
                return 1
            }
            print("\n\(name): \(text.utf8.count) bytes, result \(program.evaluate(bindings))")
            let compile = measure(seconds: seconds) {
                guard let parsed = try? ExprParser.parse(text) else { return 0 }
                let result = ExprChecker.check(parsed, declarations: declarations)
                return Program(parsed).variables.count + result.diagnostics.count
            }
            report("parse + check + compile:", compile)
            let evaluate = measure(seconds: seconds) {
                if case .value(.bool(true)) = program.evaluate(bindings) { return 1 }
                return 0
            }
            report("evaluate(bindings):", evaluate)
            let values = program.variables.map { bindings[$0] }
            let slots = measure(seconds: seconds) {
                if case .value(.bool(true)) = program.evaluate(values: values) { return 1 }
                return 0
            }
            report("evaluate(values:):", slots)
            let unknown: Set<String> = ["qa_file_path", "self_referential_safe", "self_referential_safe_scenarios", "regression_target_ids"]
            let known = bindings.filter { !unknown.contains($0.key) }
            let partial = measure(seconds: seconds) {
                if case .unknown(let names) = program.partialEvaluate(known, unknown: unknown) { return names.count }
                return 0
            }
            report("partialEvaluate (4 unknown):", partial)
            if compile.checksum == 42 && evaluate.checksum == 42 && slots.checksum == 42 && partial.checksum == 42 { print("") }
        }
        return 0
    }
}

extension String {
    fileprivate func trimmingSpaces() -> String {
        var scalars = Substring(self)
        while let first = scalars.first, first == " " || first == "\t" { scalars.removeFirst() }
        while let last = scalars.last, last == " " || last == "\n" || last == "\t" { scalars.removeLast() }
        return String(scalars)
    }

    /// "12345" with 2 decimals -> "123.45".
    fileprivate func insertingDecimal(_ decimals: Int) -> String {
        guard count > decimals else { return "0." + String(repeating: "0", count: decimals - count) + self }
        let split = index(endIndex, offsetBy: -decimals)
        return String(self[..<split]) + "." + String(self[split...])
    }
}
