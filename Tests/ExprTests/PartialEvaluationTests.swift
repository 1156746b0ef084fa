import Expr
import JSON
import Testing

func partial(_ text: String, _ bindings: [String: Value], unknown: Set<String>) throws -> PartialResult {
    Program(try ExprParser.parse(text)).partialEvaluate(bindings, unknown: unknown)
}

/// The known prehook variables of a `fixed` loop in cycle `cycle` of `maxCycles`.
func loopBindings(cycle: Int64, maxCycles: Int64) -> [String: Value] {
    ["cycle": .int(cycle), "max_cycles": .int(maxCycles), "is_last_cycle": .bool(cycle == maxCycles)]
}

@Suite struct PartialEvaluationTests {
    /// The guards of /work/shared/corpus/anchor/docs/workflow/self-bootstrap.yaml (copied so the
    /// test runs without the shared corpus; `guardsMatchTheCorpus` checks they are the same).
    static let qaTesting = #"is_last_cycle && qa_file_path.startsWith("docs/qa/") && qa_file_path.endsWith(".md") && (self_referential_safe || size(self_referential_safe_scenarios) > 0) && (size(regression_target_ids) == 0 || qa_file_path in regression_target_ids)"#
    static let ticketFix = #"is_last_cycle && qa_file_path.startsWith("docs/qa/") && qa_file_path.endsWith(".md") && active_ticket_count > 0"#
    static let lastCycle = "is_last_cycle"

    static let runtimeVariables: Set<String> = [
        "qa_file_path", "self_referential_safe", "self_referential_safe_scenarios", "regression_target_ids", "active_ticket_count",
    ]

    @Test func shortGuardIsSurelyFalseInCycleOneAndDependsOnThePathInCycleTwo() throws {
        let guardText = #"is_last_cycle && qa_file_path.startsWith("docs/qa/")"#
        #expect(try partial(guardText, loopBindings(cycle: 1, maxCycles: 2), unknown: ["qa_file_path"]) == .value(.bool(false)))
        #expect(try partial(guardText, loopBindings(cycle: 2, maxCycles: 2), unknown: ["qa_file_path"]) == .unknown(["qa_file_path"]))
        // The other order decides the same way: `&&` is commutative.
        let swapped = #"qa_file_path.startsWith("docs/qa/") && is_last_cycle"#
        #expect(try partial(swapped, loopBindings(cycle: 1, maxCycles: 2), unknown: ["qa_file_path"]) == .value(.bool(false)))
    }

    @Test func selfBootstrapGuardsPerCycle() throws {
        for text in [Self.qaTesting, Self.ticketFix, Self.lastCycle] {
            // Each guard checks with the prehook variables' types.
            #expect(try check(text).diagnostics.isEmpty)
        }
        let cycle1 = loopBindings(cycle: 1, maxCycles: 2)
        let cycle2 = loopBindings(cycle: 2, maxCycles: 2)
        #expect(try partial(Self.qaTesting, cycle1, unknown: Self.runtimeVariables) == .value(.bool(false)))
        #expect(try partial(Self.ticketFix, cycle1, unknown: Self.runtimeVariables) == .value(.bool(false)))
        #expect(try partial(Self.lastCycle, cycle1, unknown: Self.runtimeVariables) == .value(.bool(false)))
        #expect(try partial(Self.qaTesting, cycle2, unknown: Self.runtimeVariables)
            == .unknown(["qa_file_path", "regression_target_ids", "self_referential_safe", "self_referential_safe_scenarios"]))
        #expect(try partial(Self.ticketFix, cycle2, unknown: Self.runtimeVariables) == .unknown(["active_ticket_count", "qa_file_path"]))
        #expect(try partial(Self.lastCycle, cycle2, unknown: Self.runtimeVariables) == .value(.bool(true)))
    }

    @Test func moreKnowledgeNarrowsTheUnknowns() throws {
        var known = loopBindings(cycle: 2, maxCycles: 2)
        var unknown = Self.runtimeVariables
        // A path outside docs/qa/ decides it: false absorbs the unknowns.
        known["qa_file_path"] = .string("src/main.rs")
        unknown.remove("qa_file_path")
        #expect(try partial(Self.qaTesting, known, unknown: unknown) == .value(.bool(false)))
        // A QA document: it depends on the safety flags and the regression targets.
        known["qa_file_path"] = .string("docs/qa/login.md")
        #expect(try partial(Self.qaTesting, known, unknown: unknown)
            == .unknown(["regression_target_ids", "self_referential_safe", "self_referential_safe_scenarios"]))
        // Safe, and no regression targets: true.
        known["self_referential_safe"] = .bool(true)
        known["regression_target_ids"] = .list([])
        unknown.subtract(["self_referential_safe", "regression_target_ids"])
        #expect(try partial(Self.qaTesting, known, unknown: unknown) == .value(.bool(true)))
        // `true || unknown` is true: the scenarios are not needed.
        #expect(unknown.contains("self_referential_safe_scenarios"))
        // Unsafe: it now hangs on the scenarios only.
        known["self_referential_safe"] = .bool(false)
        #expect(try partial(Self.qaTesting, known, unknown: unknown) == .unknown(["self_referential_safe_scenarios"]))
        // Listed as a regression target, or not.
        known["self_referential_safe"] = .bool(true)
        known["regression_target_ids"] = .list([.string("docs/qa/other.md")])
        #expect(try partial(Self.qaTesting, known, unknown: unknown) == .value(.bool(false)))
        known["regression_target_ids"] = .list([.string("docs/qa/login.md")])
        #expect(try partial(Self.qaTesting, known, unknown: unknown) == .value(.bool(true)))
    }

    @Test func guardsMatchTheCorpus() throws {
        let path = Shared.path("corpus/anchor/docs/workflow/self-bootstrap.yaml.json")
        guard let bytes = Shared.read(path) else {
            print("note: \(path) is absent; the corpus guards are not compared")
            return
        }
        let documents = try #require(try JSONParser.parse(bytes).arrayValue)
        let workflow = try #require(documents.first { $0["kind"] == .string("Workflow") })
        #expect(workflow["spec"]?["loop"]?["max_cycles"] == .int(2))
        var guards: [String: String] = [:]
        for step in workflow["spec"]?["steps"]?.arrayValue ?? [] {
            if let id = step["id"]?.stringValue, let when = step["prehook"]?["when"]?.stringValue { guards[id] = when }
        }
        #expect(guards["qa_testing"] == Self.qaTesting)
        #expect(guards["ticket_fix"] == Self.ticketFix)
        #expect(guards["align_tests"] == Self.lastCycle)
        #expect(guards["doc_governance"] == Self.lastCycle)
        // Plan the whole loop as `plan` would: every guard, every cycle.
        for (step, text) in guards {
            let program = Program(try ExprParser.parse(text))
            for cycle in Int64(1)...2 {
                let unknown = Set(program.variables).subtracting(["cycle", "max_cycles", "is_last_cycle"])
                let result = program.partialEvaluate(loopBindings(cycle: cycle, maxCycles: 2), unknown: unknown)
                if cycle == 1 {
                    #expect(result == .value(.bool(false)), "step \(step), cycle 1")
                } else if text == Self.lastCycle {
                    #expect(result == .value(.bool(true)), "step \(step), cycle 2")
                } else if case .unknown(let names) = result {
                    #expect(names.contains("qa_file_path"), "step \(step), cycle 2")
                } else {
                    Issue.record("step \(step), cycle 2: expected unknown, got \(result)")
                }
            }
        }
    }

    @Test func everyGuardInTheCorpusParses() throws {
        let root = Shared.path("corpus/anchor")
        let files = [
            "docs/workflow/self-bootstrap.yaml.json", "docs/workflow/full-qa.yaml.json", "docs/workflow/promotion.yaml.json",
            "docs/workflow/command-rules.yaml.json", "docs/workflow/fr-watch.yaml.json",
            "fixtures/manifests/bundles/self-bootstrap-test.yaml.json", "fixtures/manifests/bundles/self-bootstrap-mock.yaml.json",
            "fixtures/manifests/bundles/prehook-test.yaml.json", "fixtures/manifests/bundles/qa105-s5-prehook-declared-capture.yaml.json",
            "crates/integration-tests/tests/common/manifests/echo-prehook.yaml.json",
            "crates/integration-tests/tests/common/manifests/echo-convergence.yaml.json",
            "test-yaml-warnings/s4-prehook-undeclared-capture.yaml.json",
        ]
        var found: [String] = []
        func collect(_ json: JSONValue) {
            switch json {
            case .object(let pairs):
                for (key, value) in pairs {
                    if key == "when" || key == "condition", let text = value.stringValue { found.append(text) }
                    collect(value)
                }
            case .array(let items): items.forEach(collect)
            default: break
            }
        }
        var read = 0
        for file in files {
            guard let bytes = Shared.read(root + "/" + file) else { continue }
            read += 1
            collect(try JSONParser.parse(bytes))
        }
        guard read > 0 else {
            print("note: \(root) is absent; corpus guards not checked")
            return
        }
        #expect(found.count >= 15)
        for text in found {
            let expression = try ExprParser.parse(text)
            let result = ExprChecker.check(expression, declarations: [:], unknownIdentifiers: .ignore)
            // Only the Rust-style `len(...)` of the warnings fixtures is not a function of ours.
            for diagnostic in result.diagnostics {
                #expect(diagnostic.rule == "expr-unknown-function" && diagnostic.message == "unknown function `len`", "\(text)")
            }
        }
    }

    @Test func absorptionRules() throws {
        let u: Set<String> = ["u", "v"]
        let none: [String: Value] = [:]
        #expect(try partial("false && u", none, unknown: u) == .value(.bool(false)))
        #expect(try partial("u && false", none, unknown: u) == .value(.bool(false)))
        #expect(try partial("true || u", none, unknown: u) == .value(.bool(true)))
        #expect(try partial("u || true", none, unknown: u) == .value(.bool(true)))
        #expect(try partial("u && true", none, unknown: u) == .unknown(["u"]))
        #expect(try partial("u || v", none, unknown: u) == .unknown(["u", "v"]))
        // Unknown wins over an error in && and ||: the unknown could be false (true).
        #expect(try partial("1 / 0 > 0 && u", none, unknown: u) == .unknown(["u"]))
        #expect(try partial("u || 1 / 0 > 0", none, unknown: u) == .unknown(["u"]))
        // A decisive value wins over both.
        #expect(try partial("1 / 0 > 0 && u && false", none, unknown: u) == .value(.bool(false)))
        // Strict operators: an error wins (it fails whatever u holds), else unknown.
        #expect(try partial("u + 1 / 0", none, unknown: u) == .error("division by zero"))
        #expect(try partial("u + v > 1", none, unknown: u) == .unknown(["u", "v"]))
        #expect(try partial("size(u) > 0", none, unknown: u) == .unknown(["u"]))
        #expect(try partial("u.a.b", none, unknown: u) == .unknown(["u"]))
        #expect(try partial("[u, 1][1]", none, unknown: u) == .unknown(["u"]))
        // The conditional: a known condition picks a branch; an unknown one names both branches'.
        #expect(try partial("true ? 1 : u", none, unknown: u) == .value(.int(1)))
        #expect(try partial("u ? 1 : 2", none, unknown: u) == .unknown(["u"]))
        #expect(try partial("u ? v : 2", none, unknown: u) == .unknown(["u", "v"]))
        // Macros: exists is an ||-fold, all an &&-fold.
        #expect(try partial("[1, 2].exists(x, x == 2 || u)", none, unknown: u) == .value(.bool(true)))
        #expect(try partial("[1, 2].exists(x, x == 3 && u)", none, unknown: u) == .value(.bool(false)))
        #expect(try partial("[1, 2].exists(x, x == 1 && u)", none, unknown: u) == .unknown(["u"]))
        #expect(try partial("[1, 2].all(x, x == 1 && u)", none, unknown: u) == .value(.bool(false)))
        #expect(try partial("u.all(x, x > 0)", none, unknown: u) == .unknown(["u"]))
        #expect(try partial("[1].map(x, x + v)", none, unknown: u) == .unknown(["v"]))
        // A variable neither bound nor unknown is an error.
        #expect(try partial("w > 1", none, unknown: u) == .error("no value for variable `w`"))
        #expect(try partial("w > 1 || u", none, unknown: u) == .unknown(["u"]))
        // Nothing unknown: the same as evaluate.
        #expect(try partial("1 + 2", none, unknown: []) == .value(.int(3)))
    }
}
