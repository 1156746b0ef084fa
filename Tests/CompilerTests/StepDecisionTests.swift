import Compiler
import Expr
import Testing

@Suite struct StepDecisionTests {
    func step(_ when: String? = nil, enabled: Bool = true, repeatable: Bool = true) throws -> CompiledStep {
        let compilation = compile(
            agent("a", capabilities: ["work"])
                + document(
                    "Workflow", "wf",
                    "  steps:\n    - id: work\n      enabled: \(enabled)\n      repeatable: \(repeatable)\n"
                        + (when.map { "      prehook:\n        when: \"\($0)\"\n" } ?? "")))
        return try #require(compilation.workflows.first?.steps.first)
    }

    func decide(_ step: CompiledStep, cycle: Int, limit: Int?) -> StepDecision {
        let known = Planner.knownValues(CycleFacts(cycle: cycle, cycleLimit: limit))
        return StepDecision.decide(step, cycle: cycle, evaluatePrehook: { $0.when.partiallyEvaluate(known) })
    }

    @Test func disabledComesFirst() throws {
        let decision = decide(try step("false", enabled: false, repeatable: false), cycle: 2, limit: 2)
        #expect(decision.verdict == .skip)
        #expect(decision.skipReason == .disabled)
        #expect(decision.reason == "disabled")
    }

    @Test func notRepeatableAfterCycleOne() throws {
        let once = try step(repeatable: false)
        #expect(decide(once, cycle: 1, limit: 3).verdict == .run)
        let later = decide(once, cycle: 2, limit: 3)
        #expect(later.skipReason == .not_repeatable)
        #expect(later.reason == "not_repeatable: runs in cycle 1 only")
    }

    @Test func prehookOnKnownFacts() throws {
        let last = try step("is_last_cycle")
        #expect(decide(last, cycle: 1, limit: 2).skipReason == .prehook_false)
        #expect(decide(last, cycle: 2, limit: 2).verdict == .run)
        // An infinite loop without a cap has no last cycle.
        #expect(decide(last, cycle: 5, limit: nil).skipReason == .prehook_false)
        #expect(decide(try step("cycle >= 2"), cycle: 1, limit: nil).skipReason == .prehook_false)
        #expect(decide(try step("cycle >= 2"), cycle: 2, limit: nil).verdict == .run)
    }

    @Test func prehookOnRunTimeValuesIsConditional() throws {
        let decision = decide(try step("cycle > 1 && active_ticket_count > 0 && qa_file_path != ''"), cycle: 2, limit: 3)
        #expect(decision.verdict == .conditional)
        #expect(decision.unknowns == ["active_ticket_count", "qa_file_path"])
        // A false on either side of && decides it.
        #expect(decide(try step("active_ticket_count > 0 && is_last_cycle"), cycle: 1, limit: 3).skipReason == .prehook_false)
        #expect(decide(try step("active_ticket_count > 0 || is_last_cycle"), cycle: 3, limit: 3).verdict == .run)
    }

    @Test func runnerEvaluatesWithFullBindings() throws {
        let hook = try step("is_last_cycle && active_ticket_count > 0")
        let bindings: [String: Value] = ["is_last_cycle": .bool(true), "active_ticket_count": .int(2)]
        let decision = StepDecision.decide(hook, cycle: 2, evaluatePrehook: { $0.when.evaluate(bindings) })
        #expect(decision.verdict == .run)
        let missing = StepDecision.decide(hook, cycle: 2, evaluatePrehook: { $0.when.evaluate(["is_last_cycle": .bool(true)]) })
        #expect(missing.skipReason == .prehook_error)
    }
}

