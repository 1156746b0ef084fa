import JSON

// What a recorded run decided besides its exit code, typed. The runner reads it back on resume
// (a step that returned early stops its item again, a guard's verdict holds, generated items
// are applied once) and writes it with the run (the store keeps it as JSON in `runs.outcome`;
// the keys below are that JSON's, unchanged since migration 2).

/// One item made by a `generate_items` post-action.
public struct GeneratedItem: Sendable, Equatable {
    public var id: String
    public var path: String?
    public var label: String?
    public var vars: JSONValue

    var json: JSONValue {
        .object([
            ("id", .string(id)), ("path", path.map { .string($0) } ?? .null), ("label", label.map { .string($0) } ?? .null),
            ("vars", vars),
        ])
    }

    public init(id: String, path: String?, label: String?, vars: JSONValue) {
        self.id = id
        self.path = path
        self.label = label
        self.vars = vars
    }

    init?(json: JSONValue) {
        guard let id = json["id"]?.stringValue else { return nil }
        self.init(id: id, path: json["path"]?.stringValue, label: json["label"]?.stringValue, vars: json["vars"] ?? .object([]))
    }
}

struct RunOutcome: Sendable, Equatable {
    /// The step failed with `on_failure: early_return`: its item (or the task) stops this cycle.
    var earlyReturn = false
    /// The task fails with this reason (a failed `init_once`).
    var failTask: String?
    /// `set_status` of on_success / on_failure.
    var statusSet: String?
    /// A builtin that did nothing: why.
    var didNothing: String?
    /// `generate_items`: whether the batch replaces the items, and the items; nil when the step
    /// generated nothing.
    var generated: (replace: Bool, items: [GeneratedItem])?
    /// `generate_items` whose extraction failed: why (the items were kept).
    var generationFailed: String?
    /// A guard's verdict (`loop_guard`, a convergence rule).
    var guardVerdict: (continueLoop: Bool, reason: String)?
    /// A skip: its reason (`prehook_false`, `early_return`, ...).
    var skipReason: String?

    init() {}

    /// A guard's verdict.
    static func verdict(continueLoop: Bool, reason: String) -> RunOutcome {
        var outcome = RunOutcome()
        outcome.guardVerdict = (continueLoop, reason)
        return outcome
    }

    /// A skip and its reason.
    static func skipped(_ reason: String) -> RunOutcome {
        var outcome = RunOutcome()
        outcome.skipReason = reason
        return outcome
    }

    /// A run that did (or did not) return early.
    static func ran(earlyReturn: Bool) -> RunOutcome {
        var outcome = RunOutcome()
        outcome.earlyReturn = earlyReturn
        return outcome
    }

    static func == (a: RunOutcome, b: RunOutcome) -> Bool { a.json == b.json }

    var json: JSONValue {
        var pairs: [(key: String, value: JSONValue)] = []
        if let skipReason {
            pairs.append(("reason", .string(skipReason)))
            if skipReason == "early_return" { pairs.append(("early_return_skip", .bool(true))) }
        }
        if let guardVerdict {
            pairs.append(("continue", .bool(guardVerdict.continueLoop)))
            pairs.append(("reason", .string(guardVerdict.reason)))
        }
        if let generationFailed { pairs.append(("generation_failed", .string(generationFailed))) }
        if let generated {
            pairs.append(("replace", .bool(generated.replace)))
            pairs.append(("generated", .array(generated.items.map(\.json))))
        }
        if let statusSet { pairs.append(("status_set", .string(statusSet))) }
        if earlyReturn { pairs.append(("early_return", .bool(true))) }
        if let failTask { pairs.append(("fail_task", .string(failTask))) }
        if let didNothing { pairs.append(("did_nothing", .string(didNothing))) }
        return .object(pairs)
    }

    init(json: JSONValue) {
        earlyReturn = json["early_return"] == .bool(true)
        failTask = json["fail_task"]?.stringValue
        statusSet = json["status_set"]?.stringValue
        didNothing = json["did_nothing"]?.stringValue
        generationFailed = json["generation_failed"]?.stringValue
        if let items = json["generated"]?.arrayValue {
            generated = (json["replace"] == .bool(true), items.compactMap(GeneratedItem.init(json:)))
        }
        if case .bool(let continueLoop)? = json["continue"] {
            guardVerdict = (continueLoop, json["reason"]?.stringValue ?? "stopped")
        } else if let reason = json["reason"]?.stringValue {
            skipReason = reason
        }
    }
}
