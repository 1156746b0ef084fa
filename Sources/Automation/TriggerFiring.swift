import Expr
import JSON
import Manifest
import Platform
import Runner
import Store
import Triggers

// One fire of a trigger (docs/triggers.md "A fire"): suspended? throttled? a task of the trigger
// still unfinished under Forbid? Then the claim of the fire and the task it creates are one
// transaction, so a fire creates at most one task, whichever daemon or command fires it.
// Everything that did not happen is said: a skip and a failure are claimed too, with an event.

/// What fired a trigger and what the task gets from it.
public struct FireRequest: Sendable {
    /// cron, task_completed, task_failed, webhook, filesystem or manual.
    public var source: String
    /// What makes it one fire (the claim's key): `cron:SECONDS`, `event:ID`, `webhook:ID`, ...
    public var key: String
    /// The scheduled instant of a cron fire.
    public var scheduledAt: Instant?
    public var firedAt: Instant
    /// Variables the task gets (`trigger_*`, `payload_*`), which `action.args` may also use.
    public var variables: [(name: String, value: String)]
    /// The JSON payload (a webhook's body), which `{payload.PATH}` in `action.args` reads.
    public var payload: JSONValue?
    /// More about the fire for its event (missed cron fires, the task that ended, the files).
    public var details: [(key: String, value: JSONValue)]

    public init(
        source: String, key: String, scheduledAt: Instant? = nil, firedAt: Instant, variables: [(name: String, value: String)] = [],
        payload: JSONValue? = nil, details: [(key: String, value: JSONValue)] = []
    ) {
        self.source = source
        self.key = key
        self.scheduledAt = scheduledAt
        self.firedAt = firedAt
        self.variables = variables
        self.payload = payload
        self.details = details
    }
}

public enum FireResult: Sendable, Equatable {
    /// A task was created (and queued when `position` is set).
    case fired(taskID: String, position: Int?)
    case skipped(String)
    case failed(String)
    /// This fire was claimed already (another daemon, a retry of the same delivery): nothing done.
    case duplicate

    public var json: JSONValue {
        switch self {
        case .fired(let id, let position):
            return .object([("outcome", .string("fired")), ("task_id", .string(id)), ("queued_position", position.map { .int(Int64($0)) } ?? .null)])
        case .skipped(let reason): return .object([("outcome", .string("skipped")), ("task_id", .null), ("reason", .string(reason))])
        case .failed(let reason): return .object([("outcome", .string("failed")), ("task_id", .null), ("reason", .string(reason))])
        case .duplicate: return .object([("outcome", .string("duplicate")), ("task_id", .null), ("reason", .string("this fire was claimed already"))])
        }
    }
}

public struct TriggerFiring: Sendable {
    public let store: any ResourceStore
    public let tasks: any TaskStore
    /// The daemon's incarnation for the events (nil: a command without a daemon).
    public let incarnation: Int64?
    /// Queue the created task for a daemon's workers (when the trigger's `action.start` is true).
    public let queueTasks: Bool

    public init(store: any ResourceStore, tasks: any TaskStore, incarnation: Int64?, queueTasks: Bool) {
        self.store = store
        self.tasks = tasks
        self.incarnation = incarnation
        self.queueTasks = queueTasks
    }

    private struct Skip: Error { var reason: String }
    private struct Duplicate: Error {}

    public func fire(_ trigger: ArmedTrigger, _ request: FireRequest) -> FireResult {
        let definition = trigger.definition
        var base: [(key: String, value: JSONValue)] = [
            ("trigger", .string(trigger.key.name)), ("project", .string(trigger.key.project)), ("source", .string(request.source)),
            ("key", .string(request.key)), ("fired_at", .string(trigger.format(request.firedAt))),
        ]
        if let scheduled = request.scheduledAt { base.append(("scheduled_at", .string(trigger.format(scheduled)))) }
        base += request.details
        func record(_ outcome: TriggerFireOutcome, _ reason: String, _ type: EventType) -> FireResult {
            let fire = TriggerFireRecord(
                trigger: trigger.key, key: request.key, source: request.source, outcome: outcome, reason: reason,
                scheduledAt: request.scheduledAt?.secondsSinceEpoch, firedAt: request.firedAt.secondsSinceEpoch)
            do {
                guard try tasks.recordTriggerFire(fire, event: (type, incarnation, .object(base + [("reason", .string(reason))]))) else {
                    return .duplicate
                }
            } catch {
                return .failed("\(reason); and the store refused to record it: \(error)")
            }
            return outcome == .skipped ? .skipped(reason) : .failed(reason)
        }
        if let problem = trigger.problem { return record(.failed, problem, .triggerFailed) }
        let (suspended, by) = trigger.suspension(tasks: tasks)
        if suspended { return record(.skipped, "suspended (\(by))", .triggerSkipped) }

        var variables: [(name: String, value: String)] = [
            ("trigger_name", trigger.key.name), ("trigger_source", request.source), ("trigger_fire_key", request.key),
        ]
        variables += request.variables
        if let payload = request.payload { variables.append(("trigger_payload", JSONWriter().string(payload))) }
        for (name, values) in definition.action.args {
            let rendered = values.map { TriggerFiring.render($0, variables: variables, payload: request.payload) }
            variables.removeAll { $0.name == name }
            variables.append((name, rendered.joined(separator: "\n")))
        }
        let goal = "trigger \(trigger.key.name): \(request.source) fire" + (request.scheduledAt.map { " scheduled \(trigger.format($0))" } ?? "")
        let queue = queueTasks && definition.action.start
        var position: Int?
        do {
            let created = try TaskCreation.create(
                store: store, tasks: tasks, project: trigger.key.project, workflow: definition.action.workflow.value,
                workspace: definition.action.workspace.value, goal: goal, name: nil, options: TaskOptions(variables: variables),
                origin: .object([("trigger", .string(trigger.key.name)), ("source", .string(request.source)), ("key", .string(request.key))]),
                queue: queue
            ) { writer, task in
                let fire = TriggerFireRecord(
                    trigger: trigger.key, key: request.key, source: request.source, outcome: .fired, taskID: task.id,
                    scheduledAt: request.scheduledAt?.secondsSinceEpoch, firedAt: request.firedAt.secondsSinceEpoch)
                if definition.minIntervalSeconds > 0, let last = try writer.lastFiredAt(trigger.key),
                    request.firedAt.secondsSinceEpoch - last < Int64(definition.minIntervalSeconds)
                {
                    throw Skip(
                        reason: "throttled: the last fire was \(request.firedAt.secondsSinceEpoch - last) s ago, throttle.minInterval is \(definition.minIntervalSeconds) s")
                }
                let unfinished = try writer.unfinishedTasks(of: trigger.key)
                if let first = unfinished.first {
                    switch definition.concurrency {
                    case .allow: break
                    case .forbid:
                        throw Skip(
                            reason: "concurrencyPolicy Forbid: task \(first.taskID) of this trigger is \(first.status.rawValue)"
                                + (unfinished.count > 1 ? " (and \(unfinished.count - 1) more)" : ""))
                    case .replace:
                        for (id, status) in unfinished {
                            if status == .running {
                                try writer.requestPause(task: id)
                            } else {
                                try writer.finish(
                                    task: id, status: .failed, reason: "replaced by task \(task.id) of trigger \(trigger.key.name) (concurrencyPolicy Replace)",
                                    consecutiveFailures: nil)
                            }
                        }
                        base.append(("replaced", .array(unfinished.map { .string($0.taskID) })))
                    }
                }
                guard try writer.claimTriggerFire(fire) else { throw Duplicate() }
                if queue { base.append(("queued", .bool(true))) }
                try writer.appendDaemonEvent(.triggerFired, incarnation: incarnation, payload: .object(base + [("task_id", .string(task.id))]))
            }
            if queue { position = try tasks.queuePositions()[created.task.id] }
            prune(trigger)
            return .fired(taskID: created.task.id, position: position)
        } catch let skip as Skip {
            return record(.skipped, skip.reason, .triggerSkipped)
        } catch is Duplicate {
            return .duplicate
        } catch let error as RunnerError {
            return record(.failed, error.message, .triggerFailed)
        } catch {
            return record(.failed, "\(error)", .triggerFailed)
        }
    }

    /// `historyLimit`: keeps the newest `successful` completed and `failed` failed tasks of the
    /// trigger, deleting older ones with their logs.
    public func prune(_ trigger: ArmedTrigger) {
        let limits: [(TaskStatus, Int?)] = [(.completed, trigger.definition.historySuccessful), (.failed, trigger.definition.historyFailed)]
        guard limits.contains(where: { $0.1 != nil }), let all = try? tasks.triggerTasks(trigger.key) else { return }
        for (status, limit) in limits {
            guard let limit else { continue }
            for (id, _) in all.filter({ $0.status == status }).dropFirst(limit) {
                guard (try? tasks.deleteTask(id)) != nil else { continue }
                removeTree(tasks.logDirectory(id))
            }
        }
    }

    /// `{NAME}` of a variable and `{payload.PATH}` (dotted keys into the JSON payload, numbers as
    /// array indexes) replaced; anything else left as written.
    public static func render(_ text: String, variables: [(name: String, value: String)], payload: JSONValue?) -> String {
        var out = ""
        var rest = Substring(text)
        while let open = rest.firstIndex(of: "{") {
            out += rest[..<open]
            guard let close = rest[open...].firstIndex(of: "}") else {
                out += rest[open...]
                return out
            }
            let name = String(rest[rest.index(after: open)..<close])
            if let value = variables.last(where: { $0.name == name })?.value {
                out += value
            } else if name == "payload" || name.hasPrefix("payload."), let payload {
                var node: JSONValue? = payload
                for part in name.split(separator: ".").dropFirst() {
                    if case .array(let items)? = node, let index = Int(part) {
                        node = items.indices.contains(index) ? items[index] : nil
                    } else {
                        node = node?[String(part)]
                    }
                }
                switch node {
                case .string(let string)?: out += string
                case nil, .null?: break
                case let other?: out += JSONWriter().string(other)
                }
            } else {
                out += rest[open...close]
            }
            rest = rest[rest.index(after: close)...]
        }
        return out + rest
    }
}
