import JSON
import Store

import Platform

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Trace rules (docs/trace.md): each looks at a task's events and reports anomalies a human
// watching the task would want to know about, with a severity (does `task trace` exit 1?) and
// an escalation (what the human should do: take notice, pay attention, intervene). One rule per
// file in Runner/Trace/Rules, each with event sequences that trigger it and that do not: they
// are its tests (TraceRuleTests) and its documentation.

public enum TraceSeverity: String, Sendable, Comparable, CaseIterable {
    case info, warning, error

    public static func < (a: TraceSeverity, b: TraceSeverity) -> Bool {
        let order: [TraceSeverity] = [.info, .warning, .error]
        return (order.firstIndex(of: a) ?? 0) < (order.firstIndex(of: b) ?? 0)
    }
}

/// What a human should do about a finding.
public enum TraceEscalation: String, Sendable, CaseIterable {
    /// Worth knowing; nothing to do.
    case notice
    /// Look at it soon: the run may be wasting time or credit.
    case attention
    /// Step in: the run is broken or unsafe as it goes.
    case intervene
}

/// The rule ids: the replaced system's names, plus ours (plan_deviation, config_drift).
public enum TraceRuleID: String, Sendable, CaseIterable {
    case duplicateRunner = "duplicate_runner"
    case overlappingCycles = "overlapping_cycles"
    case overlappingSteps = "overlapping_steps"
    case missingStepEnd = "missing_step_end"
    case emptyCycle = "empty_cycle"
    case orphanCommand = "orphan_command"
    case nonzeroExit = "nonzero_exit"
    case unexpandedTemplateVar = "unexpanded_template_var"
    case longRunning = "long_running"
    case degenerateLoop = "degenerate_loop"
    case lowOutput = "low_output"
    case transientReadError = "transient_read_error"
    case incarnationBoundary = "incarnation_boundary"
    case planDeviation = "plan_deviation"
    case configDrift = "config_drift"
}

public struct TraceFinding: Sendable, Equatable {
    public var rule: TraceRuleID
    public var severity: TraceSeverity
    public var escalation: TraceEscalation
    public var cycle: Int?
    public var step: String?
    public var item: String?
    public var message: String
    /// The ids of the events the finding is about.
    public var events: [Int64]

    public var json: JSONValue {
        .object([
            ("rule", .string(rule.rawValue)), ("severity", .string(severity.rawValue)), ("escalation", .string(escalation.rawValue)),
            ("cycle", cycle.map { .int(Int64($0)) } ?? .null), ("step", step.map { .string($0) } ?? .null),
            ("item", item.map { .string($0) } ?? .null), ("message", .string(message)),
            ("events", .array(events.map { .int($0) })),
        ])
    }
}

/// What a rule sees.
public struct TraceContext: Sendable {
    public var taskStatus: TaskStatus
    /// The task's events in order.
    public var events: [EventRecord]
    /// Step id -> its timeout in seconds (the step's own, else the workflow's, else the default).
    public var timeouts: [String: Int]
    /// What `TaskTrace` found the execution did against the plan.
    public var deviations: [String]
    /// Now, in milliseconds since the epoch (for a step still running).
    public var now: Int64

    public init(taskStatus: TaskStatus, events: [EventRecord], timeouts: [String: Int] = [:], deviations: [String] = [], now: Int64 = 0) {
        self.taskStatus = taskStatus
        self.events = events
        self.timeouts = timeouts
        self.deviations = deviations
        self.now = now
    }

    /// The event's time in milliseconds since the epoch (0 when it cannot be read).
    public func time(_ event: EventRecord) -> Int64 { TraceClock.milliseconds(event.timestamp) ?? 0 }
}

/// One example of a rule: an event sequence in the short form of `TraceExample.events`, and
/// how many findings the rule gives for it.
public struct TraceExample: Sendable {
    public var name: String
    public var findings: Int
    public var taskStatus: TaskStatus
    public var lines: [String]

    public init(_ name: String, findings: Int, status: TaskStatus = .completed, _ lines: [String]) {
        self.name = name
        self.findings = findings
        self.taskStatus = status
        self.lines = lines
    }

    /// Lines whose first word is not an event type (a test fails on any).
    public var unknownTypes: [String] {
        lines.compactMap { line in
            let word = String(line.prefix { $0 != " " })
            return EventType(rawValue: word) == nil ? word : nil
        }
    }

    /// The events of the example. One line per event: its type, then `c=CYCLE`, `s=STEP`,
    /// `i=ITEM`, `t=SECONDS` (since the first event) and payload fields `key=value` (numbers,
    /// `true`/`false`, `[a,b]` lists of text, else text).
    public var events: [EventRecord] {
        lines.enumerated().map { index, line in
            var record = EventRecord(
                id: Int64(index + 1), task: "t", type: .taskCreated, cycle: nil, step: nil, item: nil,
                timestamp: TraceClock.timestamp(Int64(index) * 10), payload: .object([]))
            var payload: [(key: String, value: JSONValue)] = []
            for (position, word) in line.split(separator: " ").enumerated() {
                guard position > 0 else {
                    record.type = EventType(rawValue: String(word)) ?? .taskCreated
                    continue
                }
                guard let equals = word.firstIndex(of: "=") else { continue }
                let key = String(word[..<equals]), value = String(word[word.index(after: equals)...])
                switch key {
                case "c": record.cycle = Int(value)
                case "s": record.step = value
                case "i": record.item = value
                case "t": record.timestamp = TraceClock.timestamp(Int64((Double(value) ?? 0) * 1000))
                default:
                    if let number = Int64(value) {
                        payload.append((key, .int(number)))
                    } else if value == "true" || value == "false" {
                        payload.append((key, .bool(value == "true")))
                    } else if value.hasPrefix("["), value.hasSuffix("]") {
                        let inner = value.dropFirst().dropLast()
                        payload.append((key, .array(inner.isEmpty ? [] : inner.split(separator: ",").map { .string(String($0)) })))
                    } else {
                        payload.append((key, .string(String(value.map { $0 == "_" ? " " : $0 }))))
                    }
                }
            }
            record.payload = .object(payload)
            return record
        }
    }
}

public struct TraceRule: Sendable {
    public var id: TraceRuleID
    public var severity: TraceSeverity
    public var escalation: TraceEscalation
    public var summary: String
    public var rationale: String
    public var examples: [TraceExample]
    public var check: @Sendable (TraceContext) -> [TraceFinding]

    public init(
        id: TraceRuleID, severity: TraceSeverity, escalation: TraceEscalation, summary: String, rationale: String,
        examples: [TraceExample], check: @escaping @Sendable (TraceContext) -> [TraceFinding]
    ) {
        self.id = id
        self.severity = severity
        self.escalation = escalation
        self.summary = summary
        self.rationale = rationale
        self.examples = examples
        self.check = check
    }

    /// A finding of this rule at `event`'s place.
    public func finding(_ message: String, at event: EventRecord?, events: [Int64] = [], escalation: TraceEscalation? = nil) -> TraceFinding {
        TraceFinding(
            rule: id, severity: severity, escalation: escalation ?? self.escalation, cycle: event?.cycle, step: event?.step,
            item: event?.item, message: message, events: events.isEmpty ? (event.map { [$0.id] } ?? []) : events)
    }
}

public enum TraceRules {
    /// Every rule, in the order of docs/trace.md.
    public static let all: [TraceRule] = [
        .duplicateRunner, .overlappingCycles, .overlappingSteps, .missingStepEnd, .emptyCycle, .orphanCommand, .nonzeroExit,
        .unexpandedTemplateVar, .longRunning, .degenerateLoop, .lowOutput, .transientReadError, .incarnationBoundary,
        .planDeviation, .configDrift,
    ]

    /// Every rule's findings, in event order.
    public static func check(_ context: TraceContext) -> [TraceFinding] {
        all.flatMap { $0.check(context) }.sorted { ($0.events.first ?? 0, $0.rule.rawValue) < ($1.events.first ?? 0, $1.rule.rawValue) }
    }
}

extension EventRecord {
    /// One run of a step: its cycle, step and item as one key.
    var slot: String { "\(cycle ?? -1)|\(step ?? "")|\(item ?? "")" }
    /// How a finding names the step: `step qa for item docs/qa/a.md`.
    var stepName: String { "step \(step ?? "?")" + (item.map { " for item \($0)" } ?? "") }
}

/// The runner sessions of a task: each `task_started`/`task_resumed` opens one; `task_paused`,
/// `task_completed`, `task_failed` close it; a resume `from: interrupted` closes the one before
/// (its runner died). Several rules need them.
struct RunnerSessions {
    struct Session {
        var opened: EventRecord
        var closed: EventRecord?
        /// Closed because the next runner found this one dead.
        var interrupted = false
    }

    var sessions: [Session] = []
    /// Sessions opened while another one was open (a second runner), by the opening event.
    var overlapping: [(first: EventRecord, second: EventRecord)] = []

    init(_ events: [EventRecord]) {
        var open: Int?
        for event in events {
            switch event.type {
            case .taskStarted, .taskResumed:
                if let current = open {
                    let from = event.payload["from"]?.stringValue
                    if from == "interrupted" || from == "paused" {
                        sessions[current].closed = event
                        sessions[current].interrupted = from == "interrupted"
                    } else {
                        overlapping.append((sessions[current].opened, event))
                    }
                }
                sessions.append(Session(opened: event))
                open = sessions.count - 1
            case .taskPaused, .taskCompleted, .taskFailed:
                if let current = open {
                    sessions[current].closed = event
                    open = nil
                }
            default:
                break
            }
        }
    }

    /// Whether an interruption (a dead runner) lies between two event ids.
    func interrupted(between first: Int64, and second: Int64) -> Bool {
        sessions.contains { session in
            guard session.interrupted, let closed = session.closed else { return false }
            return closed.id > first && closed.id <= second
        }
    }

    /// Whether a session ended (any way) between two event ids.
    func ended(between first: Int64, and second: Int64) -> Bool {
        sessions.contains { session in
            guard let closed = session.closed else { return false }
            return closed.id > first && closed.id <= second
        }
    }
}

/// Timestamps of events (`2026-12-04T00:42:11.853Z`, UTC) as milliseconds and back.
public enum TraceClock {
    public static func milliseconds(_ text: String) -> Int64? {
        let bytes = Array(text.utf8)
        guard bytes.count >= 19 else { return nil }
        func field(_ from: Int, _ count: Int) -> Int32? {
            var value: Int32 = 0
            for byte in bytes[from..<(from + count)] {
                guard byte >= 48 && byte <= 57 else { return nil }
                value = value * 10 + Int32(byte - 48)
            }
            return value
        }
        guard let year = field(0, 4), let month = field(5, 2), let day = field(8, 2), let hour = field(11, 2),
            let minute = field(14, 2), let second = field(17, 2), (1...12).contains(month), (1...31).contains(day)
        else { return nil }
        var parts = tm()
        parts.tm_year = year - 1900
        parts.tm_mon = month - 1
        parts.tm_mday = day
        parts.tm_hour = hour
        parts.tm_min = minute
        parts.tm_sec = second
        let seconds = timegm(&parts)
        var millis: Int64 = 0
        if bytes.count >= 23, bytes[19] == UInt8(ascii: "."), let fraction = field(20, 3) { millis = Int64(fraction) }
        return Int64(seconds) * 1000 + millis
    }

    /// A timestamp `milliseconds` after 2026-01-01T00:00:00.000Z (for examples).
    static func timestamp(_ milliseconds: Int64) -> String {
        StoreClock.timestamp(epochMilliseconds: 1_767_225_600_000 + milliseconds)
    }
}
