import Diagnostics
import Expr
import JSON
import Manifest
import Store
import Triggers

// The Triggers applied to the store, ready to fire (docs/triggers.md "Triggers in the daemon"):
// each definition with its parsed schedule and time zone and its compiled condition. A trigger
// that cannot be armed (a schedule or zone the compiler would refuse, a condition that does not
// parse) keeps why, for `trigger list` and the daemon's event.

public struct ArmedTrigger: Sendable {
    public let key: TriggerKey
    public let definition: TriggerDefinition
    public let generation: Int
    public let contentHash: String
    public let schedule: CronSchedule?
    public let zone: TimeZoneRules?
    public let condition: Program?
    /// Why it cannot fire; nil when it can.
    public let problem: String?

    /// A webhook trigger that refuses every request: no key and no annotation allowing unsigned
    /// ones (it still fires by `trigger fire`).
    public var refusesEveryWebhook: Bool {
        definition.source == .webhook && definition.webhook?.secretStore == nil && !definition.allowsUnsignedWebhooks
    }

    /// Whether it is suspended now, and by what (`manifest` or `trigger suspend`/`trigger resume`).
    public func suspension(tasks: any TaskStore) -> (suspended: Bool, by: String) {
        if let override = try? tasks.triggerOverride(key), override.generation == generation {
            return (override.suspended, override.suspended ? "trigger suspend" : "trigger resume")
        }
        return (definition.suspend, "manifest")
    }

    /// The next scheduled fires after `instant` (cron triggers).
    public func nextFires(after instant: Instant, count: Int) -> [Instant] {
        guard let schedule, let zone else { return [] }
        return schedule.fires(after: instant, count: count, in: zone)
    }

    /// `zone.format`, or UTC.
    public func format(_ instant: Instant) -> String { (zone ?? .utc).format(instant) }

    /// Evaluates the condition; nil when it holds (or there is none), else why not.
    public func conditionRefusal(_ bindings: [String: Value]) -> String? {
        guard let condition, let text = definition.condition?.text else { return nil }
        switch condition.evaluate(bindings) {
        case .value(let value):
            if value.boolValue == true { return nil }
            if value.boolValue == false { return "condition `\(text)` is false" }
            return "condition `\(text)` is \(value.typeName), not a bool"
        case .error(let message):
            return "condition `\(text)` could not be evaluated: \(message)"
        }
    }
}

public enum TriggerCatalog {
    /// Every Trigger of every project, in project and name order.
    public static func load(_ store: any ResourceStore) throws -> [ArmedTrigger] {
        try store.resources(kind: ResourceKind.trigger.rawValue).compactMap { arm($0) }
    }

    /// One trigger by name; `project` nil: the only project that has it.
    public static func find(_ name: String, project: String?, in triggers: [ArmedTrigger]) -> Result<ArmedTrigger, TriggerLookupError> {
        let named = triggers.filter { $0.key.name == name && (project == nil || $0.key.project == project) }
        if named.count == 1, let only = named.first { return .success(only) }
        if named.isEmpty {
            let all = triggers.map(\.key.name)
            return .failure(.none(name: name, project: project, known: all))
        }
        return .failure(.ambiguous(name: name, projects: named.map(\.key.project)))
    }

    static func arm(_ stored: StoredResource) -> ArmedTrigger? {
        let document = ManifestRecords.document(stored, maskSecrets: true)
        guard let resource = ManifestRecords.resources(fromDocuments: [document], project: stored.key.project).first,
            let definition = TriggerDefinition(resource)
        else { return nil }
        var problem: String?
        var schedule: CronSchedule?
        var zone: TimeZoneRules?
        if let cron = definition.cron {
            do throws(CronError) {
                schedule = try CronSchedule.parse(cron.schedule.value)
            } catch {
                problem = "schedule `\(cron.schedule.value)`: \(error.message)"
            }
            do throws(TimeZoneError) {
                zone = try TimeZoneRules.load(cron.zoneName)
            } catch {
                problem = problem ?? error.description
            }
        }
        var condition: Program?
        if let text = definition.condition?.text {
            switch ExprParser.parseResult(text) {
            case .success(let expression): condition = expression.compile()
            case .failure(let error): problem = problem ?? "condition `\(text)` does not parse: \(error.diagnostic.message)"
            }
        }
        return ArmedTrigger(
            key: TriggerKey(project: stored.key.project, name: stored.key.name), definition: definition, generation: stored.generation,
            contentHash: stored.contentHash, schedule: schedule, zone: zone, condition: condition, problem: problem)
    }
}

public enum TriggerLookupError: Error, Sendable, CustomStringConvertible {
    case none(name: String, project: String?, known: [String])
    case ambiguous(name: String, projects: [String])

    public var description: String {
        switch self {
        case .none(let name, let project, _): return "no trigger `\(name)`" + (project.map { " in project `\($0)`" } ?? "")
        case .ambiguous(let name, let projects): return "trigger `\(name)` is in several projects: \(projects.joined(separator: ", "))"
        }
    }

    public var help: String {
        switch self {
        case .none(let name, _, let known):
            if let close = Suggestions.closest(to: name, in: known) { return "did you mean `\(close)`? `orchestrator trigger list` shows them" }
            return known.isEmpty ? "apply a Trigger first (`orchestrator apply -f FILE`)" : "`orchestrator trigger list` shows them"
        case .ambiguous: return "name the project with -p PROJECT"
        }
    }
}
