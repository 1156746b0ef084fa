import Foundation
import Runner
import Testing

/// Every trace rule's examples are its tests (docs/trace.md shows the same sequences).
@Suite("Trace rules")
struct TraceRuleTests {
    @Test("each example gives the findings it says", arguments: TraceRules.all.map(\.id))
    func examples(_ id: TraceRuleID) throws {
        let rule = try #require(TraceRules.all.first { $0.id == id })
        if id != .planDeviation {
            #expect(rule.examples.contains { $0.findings > 0 }, "\(id) has no triggering example")
            #expect(rule.examples.contains { $0.findings == 0 }, "\(id) has no example that does not trigger")
        }
        for example in rule.examples {
            #expect(example.unknownTypes.isEmpty, "\(id): \(example.name): unknown event types \(example.unknownTypes)")
            let findings = rule.check(TraceContext(taskStatus: example.taskStatus, events: example.events))
            #expect(findings.count == example.findings, "\(id): \(example.name): \(findings.map(\.message))")
            #expect(findings.allSatisfy { $0.rule == id })
            // Every finding points at events of the sequence.
            for finding in findings where id != .planDeviation {
                #expect(!finding.events.isEmpty && finding.events.allSatisfy { (1...Int64(example.lines.count)).contains($0) })
            }
        }
    }

    @Test("every rule id has a rule, and docs/trace.md documents each with its severity and escalation")
    func documented() throws {
        #expect(Set(TraceRules.all.map(\.id)) == Set(TraceRuleID.allCases))
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let docs = try String(contentsOf: root.appendingPathComponent("docs/trace.md"), encoding: .utf8)
        for rule in TraceRules.all {
            #expect(docs.contains("### `\(rule.id.rawValue)`"), "docs/trace.md lacks \(rule.id.rawValue)")
            #expect(docs.contains("severity \(rule.severity.rawValue), escalation \(rule.escalation.rawValue)"), "\(rule.id.rawValue)")
        }
    }

    @Test("the plan deviations of a trace become plan_deviation findings of severity error")
    func deviations() {
        let findings = TraceRules.check(TraceContext(taskStatus: .completed, events: [], deviations: ["cycle 1: qa ran, but the plan says skip"]))
        #expect(findings.map(\.rule) == [.planDeviation])
        #expect(findings.first?.severity == .error)
    }

    @Test("a step still running past 80% of its timeout is long_running; the clock reads the store's timestamps")
    func runningNow() throws {
        let example = TraceExample("running", findings: 0, status: .running, ["task_started", "cycle_started c=1", "step_started c=1 s=agent t=0"])
        let start = try #require(TraceClock.milliseconds(example.events[2].timestamp))
        #expect(TraceClock.milliseconds("2026-12-04T00:42:11.853Z") == 1_796_344_931_853)
        let early = TraceContext(taskStatus: .running, events: example.events, timeouts: ["agent": 100], now: start + 50_000)
        #expect(TraceRules.check(early).filter { $0.rule == .longRunning }.isEmpty)
        let late = TraceContext(taskStatus: .running, events: example.events, timeouts: ["agent": 100], now: start + 90_000)
        #expect(TraceRules.check(late).filter { $0.rule == .longRunning }.count == 1)
    }
}
