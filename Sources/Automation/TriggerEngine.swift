import Expr
import JSON
import Manifest
import Platform
import Store
import Triggers

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// The daemon's trigger engine (docs/triggers.md "Triggers in the daemon"). One thread reads the
// applied Triggers every couple of seconds (arming new and changed ones, disarming removed
// ones), fires cron triggers when their instant comes by the trigger clock, and reads the event
// log for task ends; inotify watchers and the webhook listener fire from their own threads.
// Every fire goes through `TriggerFiring`, whose claim makes it happen once.

public final class TriggerEngine: @unchecked Sendable {
    public struct Options: Sendable {
        public var clock: any TriggerClock
        /// Where the webhook listener binds; nil port: `defaultWebhookPort`, and only once a
        /// webhook trigger is applied. `webhookDisabled`: never.
        public var webhookAddress: String
        public var webhookPort: UInt16?
        public var webhookDisabled: Bool
        public var reloadSeconds: Double
        public var tickMilliseconds: Int

        public static let defaultWebhookPort: UInt16 = 8787

        public init(
            clock: any TriggerClock = SystemClock(), webhookAddress: String = "127.0.0.1", webhookPort: UInt16? = nil,
            webhookDisabled: Bool = false, reloadSeconds: Double = 2, tickMilliseconds: Int = 200
        ) {
            self.clock = clock
            self.webhookAddress = webhookAddress
            self.webhookPort = webhookPort
            self.webhookDisabled = webhookDisabled
            self.reloadSeconds = reloadSeconds
            self.tickMilliseconds = tickMilliseconds
        }
    }

    /// The cursor name of the task-end triggers in the store.
    static let taskEndCursor = "task_end"

    let store: any ResourceStore
    let tasks: any TaskStore
    let options: Options
    let say: @Sendable (String) -> Void
    let incarnation: @Sendable () -> Int64?
    private let state = Locked(EngineState())
    private let thread = Locked<JoinableThread?>(nil)
    private let server = Locked<HTTPServer?>(nil)
    private let stopping = Locked(false)

    private struct EngineState {
        var armed: [TriggerKey: ArmedTrigger] = [:]
        /// Cron: the next scheduled instant, and the last one fired (or armed at).
        var next: [TriggerKey: Instant] = [:]
        var lastScheduled: [TriggerKey: Instant] = [:]
        var watchers: [TriggerKey: FileWatcher] = [:]
        var webhookFailed = false
    }

    public init(
        store: any ResourceStore, options: Options, incarnation: @escaping @Sendable () -> Int64?, say: @escaping @Sendable (String) -> Void
    ) {
        self.store = store
        tasks = store.taskStore()
        self.options = options
        self.incarnation = incarnation
        self.say = say
    }

    var firing: TriggerFiring { TriggerFiring(store: store, tasks: tasks, incarnation: incarnation(), queueTasks: true) }

    /// The port the webhook listener serves on (nil: not listening).
    public var webhookPort: UInt16? { server.withLock { $0?.port } }

    public func start() {
        // Task ends before the first start are history: the cursor begins at the log's end.
        if (try? tasks.triggerCursor(TriggerEngine.taskEndCursor)) == nil, let last = try? tasks.lastEventID() {
            try? tasks.setTriggerCursor(TriggerEngine.taskEndCursor, to: last)
        }
        let started = Threads.start(joinable: true) { [self] in loop() }
        thread.withLock { $0 = started }
    }

    public func stop() {
        stopping.withLock { $0 = true }
        thread.withLock { $0 }?.join()
        let watchers = state.withLock { current in
            defer { current.watchers = [:] }
            return Array(current.watchers.values)
        }
        for watcher in watchers { watcher.stop() }
        server.withLock { $0 }?.stop()
    }

    // MARK: - The loop

    private func loop() {
        var lastReload = Int64.min / 2
        while !stopping.withLock({ $0 }) {
            if monotonicMilliseconds() - lastReload >= Int64(options.reloadSeconds * 1000) {
                lastReload = monotonicMilliseconds()
                reload()
            }
            fireDueCronTriggers()
            readTaskEnds()
            usleep(UInt32(options.tickMilliseconds) * 1000)
        }
    }

    private func record(_ type: EventType, _ payload: [(key: String, value: JSONValue)]) {
        do {
            try tasks.appendDaemonEvent(type, incarnation: incarnation(), payload: .object(payload))
        } catch {
            say("cannot record the event \(type.rawValue): \(error)")
        }
    }

    /// Arms new and changed triggers and disarms removed ones.
    func reload() {
        let loaded: [ArmedTrigger]
        do {
            loaded = try TriggerCatalog.load(store)
        } catch {
            say("cannot read the Triggers: \(error); the armed ones stay as they were")
            return
        }
        let current = state.withLock { $0.armed }
        let wanted = Dictionary(loaded.map { ($0.key, $0) }, uniquingKeysWith: { $1 })
        for (key, old) in current where wanted[key] == nil || wanted[key]?.contentHash != old.contentHash || wanted[key]?.generation != old.generation {
            disarm(key, removed: wanted[key] == nil)
        }
        for trigger in loaded {
            if let old = current[trigger.key], old.contentHash == trigger.contentHash, old.generation == trigger.generation { continue }
            arm(trigger)
        }
        if !options.webhookDisabled, server.withLock({ $0 == nil }), !state.withLock({ $0.webhookFailed }),
            options.webhookPort != nil || loaded.contains(where: { $0.definition.source == .webhook })
        {
            startWebhookListener()
        }
    }

    private func disarm(_ key: TriggerKey, removed: Bool) {
        let watcher = state.withLock { current -> FileWatcher? in
            current.armed[key] = nil
            current.next[key] = nil
            current.lastScheduled[key] = nil
            return current.watchers.removeValue(forKey: key)
        }
        watcher?.stop()
        if removed {
            record(.triggerDisarmed, [("trigger", .string(key.name)), ("project", .string(key.project)), ("reason", .string("deleted"))])
            say("trigger \(key) disarmed: it was deleted")
        }
    }

    private func arm(_ trigger: ArmedTrigger) {
        let key = trigger.key
        var payload: [(key: String, value: JSONValue)] = [
            ("trigger", .string(key.name)), ("project", .string(key.project)), ("source", .string(trigger.definition.source.rawValue)),
            ("generation", .int(Int64(trigger.generation))),
        ]
        if let problem = trigger.problem {
            payload.append(("problem", .string(problem)))
            say("trigger \(key) cannot fire: \(problem)")
        }
        state.withLock { $0.armed[key] = trigger }
        switch trigger.definition.source {
        case .cron:
            guard let schedule = trigger.schedule, let zone = trigger.zone else { break }
            let now = options.clock.now()
            var last: Instant
            if let stored = try? tasks.lastScheduledFire(key) {
                last = Instant(secondsSinceEpoch: stored)
            } else {
                last = now
                _ = try? tasks.recordTriggerFire(
                    TriggerFireRecord(
                        trigger: key, key: "armed:\(trigger.generation)", source: TriggerDefinition.Source.cron.rawValue, outcome: .armed,
                        scheduledAt: now.secondsSinceEpoch, firedAt: now.secondsSinceEpoch),
                    event: nil)
            }
            let catchUp = schedule.catchUp(lastFired: last, now: now, in: zone)
            if let missed = catchUp.catchUpScheduledAt {
                // Fires fell while no daemon ran: one fire now, at most, and it says so.
                let count = catchUp.missed
                say("trigger \(key): \(count)\(catchUp.missedCountIsLowerBound ? "+" : "") scheduled fire\(count == 1 ? "" : "s") missed while no daemon ran; firing once now")
                fireCron(
                    trigger, scheduled: missed,
                    details: [
                        ("catch_up", .bool(true)), ("missed", .int(Int64(count))), ("missed_is_lower_bound", .bool(catchUp.missedCountIsLowerBound)),
                    ])
                last = missed
            }
            let next = catchUp.nextFire ?? schedule.nextFire(after: now, in: zone)
            state.withLock {
                $0.lastScheduled[key] = last
                $0.next[key] = next
            }
            payload.append(("next_fire", next.map { .string(zone.format($0)) } ?? .null))
        case .filesystem:
            guard let filesystem = trigger.definition.filesystem else { break }
            do {
                let root = try workspaceRoot(trigger)
                let kinds = Set(filesystem.events.compactMap(FileChangeKind.init(rawValue:)))
                let watcher = try FileWatcher(
                    root: root, paths: filesystem.paths.map(\.value), events: kinds, debounceMilliseconds: filesystem.debounceMilliseconds
                ) { [self] batch in filesChanged(key, root: root, batch: batch) }
                try watcher.start()
                state.withLock { $0.watchers[key] = watcher }
                payload.append(("watching", .array(watcher.watchedDirectories.map { .string($0) })))
            } catch {
                let problem = "cannot watch: \(error)"
                payload.append(("problem", .string(problem)))
                say("trigger \(key) \(problem)")
            }
        case .webhook:
            payload.append(("path", .string("/webhook/\(key.project)/\(key.name)")))
            if trigger.refusesEveryWebhook {
                payload.append(("problem", .string("no `event.webhook.secret.fromRef`: every request is refused (401 no_key)")))
                say("trigger \(key): no webhook secret; every request to it is refused (401)")
            }
        case .taskCompleted, .taskFailed:
            break
        }
        record(.triggerArmed, payload)
    }

    private func workspaceRoot(_ trigger: ArmedTrigger) throws -> String {
        let name = trigger.definition.action.workspace.value
        guard let workspace = try store.resource(ResourceKey(kind: ResourceKind.workspace.rawValue, project: trigger.key.project, name: name)),
            case .string(let root)? = workspace.spec["root_path"]
        else { throw TriggerEngineError("workspace `\(name)` of project `\(trigger.key.project)` is not applied") }
        return root
    }

    // MARK: - Cron

    private func fireDueCronTriggers() {
        let now = options.clock.now()
        let due = state.withLock { current in current.next.filter { $0.value <= now }.compactMap { current.armed[$0.key] } }
        for trigger in due {
            guard let schedule = trigger.schedule, let zone = trigger.zone,
                let last = state.withLock({ $0.lastScheduled[trigger.key] })
            else { continue }
            let catchUp = schedule.catchUp(lastFired: last, now: now, in: zone)
            if let scheduled = catchUp.catchUpScheduledAt {
                var details: [(key: String, value: JSONValue)] = []
                if catchUp.missed > 1 {
                    // The clock jumped (a suspended machine): the latest instant fires, once.
                    details = [("catch_up", .bool(true)), ("missed", .int(Int64(catchUp.missed - 1)))]
                }
                fireCron(trigger, scheduled: scheduled, details: details)
            }
            state.withLock {
                if let scheduled = catchUp.catchUpScheduledAt { $0.lastScheduled[trigger.key] = scheduled }
                $0.next[trigger.key] = catchUp.nextFire
            }
        }
    }

    private func fireCron(_ trigger: ArmedTrigger, scheduled: Instant, details: [(key: String, value: JSONValue)]) {
        let request = FireRequest(
            source: TriggerDefinition.Source.cron.rawValue, key: "cron:\(scheduled.secondsSinceEpoch)", scheduledAt: scheduled,
            firedAt: options.clock.now(), variables: [("trigger_scheduled_at", trigger.format(scheduled))], details: details)
        report(trigger, firing.fire(trigger, request))
    }

    private func report(_ trigger: ArmedTrigger, _ result: FireResult) {
        switch result {
        case .fired(let id, let position):
            say("trigger \(trigger.key) fired: task \(id)" + (position.map { " queued (position \($0))" } ?? " created"))
        case .skipped(let reason): say("trigger \(trigger.key) skipped: \(reason)")
        case .failed(let reason): say("trigger \(trigger.key) failed: \(reason)")
        case .duplicate: break
        }
    }

    // MARK: - Task ends

    private func readTaskEnds() {
        guard let cursor = try? tasks.triggerCursor(TriggerEngine.taskEndCursor),
            let ends = try? tasks.taskEnds(after: cursor, limit: 200), !ends.isEmpty
        else { return }
        let listeners = state.withLock { $0.armed.values.filter { $0.definition.source == .taskCompleted || $0.definition.source == .taskFailed } }
        for end in ends {
            if !listeners.isEmpty, let task = try? tasks.task(end.taskID) {
                taskEnded(task, end: end, listeners: listeners)
            }
            // A task of a trigger with a historyLimit ended: prune its history.
            if let fire = try? tasks.fire(ofTask: end.taskID), let trigger = state.withLock({ $0.armed[fire.trigger] }) {
                firing.prune(trigger)
            }
            try? tasks.setTriggerCursor(TriggerEngine.taskEndCursor, to: end.eventID)
        }
    }

    private func taskEnded(_ task: TaskRecord, end: TaskEnd, listeners: [ArmedTrigger]) {
        let source: TriggerDefinition.Source = end.type == .taskCompleted ? .taskCompleted : .taskFailed
        let origin = try? tasks.fire(ofTask: task.id)
        for trigger in listeners.sorted(by: { $0.key < $1.key })
        where trigger.key.project == task.project && trigger.definition.source == source {
            if let workflow = trigger.definition.filterWorkflow?.value, workflow != task.workflow { continue }
            let request = FireRequest(
                source: source.rawValue, key: "event:\(end.eventID)", firedAt: options.clock.now(),
                variables: [("trigger_task_id", task.id), ("trigger_task_status", task.status.rawValue)],
                details: [("task", .string(task.id)), ("workflow", .string(task.workflow))])
            // A trigger's own task does not fire that trigger again (a loop of one).
            if origin?.trigger == trigger.key {
                report(trigger, skip(trigger, request, "task \(task.id) was created by this trigger; it does not fire it again"))
                continue
            }
            let bindings: [String: Value] = [
                "task_id": .string(task.id), "task_name": .string(task.name), "task_status": .string(task.status.rawValue),
                "workflow": .string(task.workflow), "workspace": .string(task.workspace), "project": .string(task.project),
                "goal": .string(task.goal), "cycle": .int(Int64(task.cycle)), "reason": .string(task.reason ?? ""),
                "event": .string(end.type.rawValue),
            ]
            if let refusal = trigger.conditionRefusal(bindings) {
                report(trigger, skip(trigger, request, refusal))
                continue
            }
            report(trigger, firing.fire(trigger, request))
        }
    }

    /// Records a fire that a condition (or the loop rule) did not let through.
    func skip(_ trigger: ArmedTrigger, _ request: FireRequest, _ reason: String) -> FireResult {
        let fire = TriggerFireRecord(
            trigger: trigger.key, key: request.key, source: request.source, outcome: .skipped, reason: reason, firedAt: request.firedAt.secondsSinceEpoch)
        let payload: JSONValue = .object(
            [
                ("trigger", .string(trigger.key.name)), ("project", .string(trigger.key.project)), ("source", .string(request.source)),
                ("key", .string(request.key)), ("reason", .string(reason)),
            ] + request.details)
        guard (try? tasks.recordTriggerFire(fire, event: (.triggerSkipped, incarnation(), payload))) == true else { return .duplicate }
        return .skipped(reason)
    }

    // MARK: - Files

    private func filesChanged(_ key: TriggerKey, root: String, batch: FileChangeBatch) {
        guard let trigger = state.withLock({ $0.armed[key] }) else { return }
        let now = options.clock.now()
        let fireKey = "fs:\(now.secondsSinceEpoch):\(FireToken.random())"
        func relative(_ path: String) -> String { path.hasPrefix(root + "/") ? String(path.dropFirst(root.count + 1)) : path }
        func bindings(_ change: FileChange) -> [(name: String, value: String)] {
            let path = relative(change.path)
            let kind = change.kind == .move ? FileChangeKind.modify.rawValue : change.kind.rawValue
            return [
                ("payload_filename", String(path.split(separator: "/").last ?? Substring(path))), ("payload_path", path),
                ("payload_event", kind), ("payload_count", String(batch.eventCount)),
            ]
        }
        var chosen: FileChange?
        var refusal: String?
        for change in batch.changes {
            var values: [String: Value] = ["event": .string("filesystem")]
            for (name, value) in bindings(change) { values[name] = name == "payload_count" ? .int(Int64(batch.eventCount)) : .string(value) }
            if let why = trigger.conditionRefusal(values) {
                refusal = refusal ?? why
                continue
            }
            chosen = change
            break
        }
        let details: [(key: String, value: JSONValue)] = [
            ("changes", .int(Int64(batch.eventCount))), ("overflowed", .bool(batch.overflowed)),
            ("paths", .array(batch.changes.prefix(20).map { .string(relative($0.path)) })),
        ]
        guard let change = chosen ?? (batch.overflowed && trigger.condition == nil ? batch.changes.first : nil) else {
            let request = FireRequest(source: TriggerDefinition.Source.filesystem.rawValue, key: fireKey, firedAt: now, details: details)
            report(trigger, skip(trigger, request, refusal.map { "no change matched: \($0)" } ?? "no change matched"))
            return
        }
        let request = FireRequest(
            source: TriggerDefinition.Source.filesystem.rawValue, key: fireKey, firedAt: now, variables: bindings(change), details: details)
        report(trigger, firing.fire(trigger, request))
    }

    // MARK: - Webhooks

    private func startWebhookListener() {
        let port = options.webhookPort ?? Options.defaultWebhookPort
        let service = WebhookService(
            clock: options.clock, lookup: { [self] in verifier(for: $0) }, deliver: { [self] in deliver($0) },
            observe: { [self] in observe($0) })
        do throws(HTTPServerError) {
            let listener = try HTTPServer(address: options.webhookAddress, port: port, handler: service)
            try listener.start()
            server.withLock { $0 = listener }
            say("webhooks: listening on http://\(options.webhookAddress):\(listener.port)")
            record(.webhookListening, [("address", .string(options.webhookAddress)), ("port", .int(Int64(listener.port)))])
        } catch {
            state.withLock { $0.webhookFailed = true }
            say("webhooks: cannot listen on \(options.webhookAddress):\(port): \(error); webhook triggers cannot fire (set --webhook-bind)")
            record(.webhookListening, [("address", .string(options.webhookAddress)), ("port", .int(Int64(port))), ("error", .string(error.description))])
        }
    }

    private func webhookTrigger(_ address: WebhookAddress) -> ArmedTrigger? {
        let candidates = state.withLock { $0.armed.values.filter { $0.definition.source == .webhook && $0.key.name == address.trigger } }
        if let project = address.project { return candidates.first { $0.key.project == project } }
        return candidates.count == 1 ? candidates.first : nil
    }

    private func verifier(for address: WebhookAddress) -> WebhookVerifier? {
        guard let trigger = webhookTrigger(address) else { return nil }
        var keys: [WebhookKey] = []
        if let name = trigger.definition.webhook?.secretStore?.value,
            let stored = try? store.resource(ResourceKey(kind: ResourceKind.secretStore.rawValue, project: trigger.key.project, name: name)),
            let opened = try? store.secrets.openSpec(stored.spec), case .object(let pairs)? = opened["data"]
        {
            keys = pairs.compactMap { pair in pair.value.stringValue.map { WebhookKey($0) } }
        }
        return WebhookVerifier(
            keys: keys, signatureHeader: trigger.definition.webhook?.signatureHeader,
            allowUnsigned: trigger.definition.allowsUnsignedWebhooks && trigger.definition.webhook?.secretStore == nil)
    }

    private func deliver(_ delivery: WebhookDelivery) -> WebhookDeliveryResult {
        guard let trigger = webhookTrigger(delivery.address) else { return .unknownTrigger }
        let id = delivery.headers["X-Webhook-Delivery"] ?? delivery.headers["X-GitHub-Delivery"] ?? delivery.headers["X-Request-Id"]
        let key = "webhook:" + (id.map { String($0.prefix(200)) } ?? "\(delivery.receivedAt.secondsSinceEpoch):\(FireToken.random())")
        let request = FireRequest(
            source: TriggerDefinition.Source.webhook.rawValue, key: key, firedAt: options.clock.now(), payload: delivery.payload,
            details: id.map { [("delivery", .string(String($0.prefix(200))))] } ?? [])
        if let refusal = trigger.conditionRefusal(["payload": Value(json: delivery.payload), "event": .string("webhook")]) {
            let result = skip(trigger, request, refusal)
            report(trigger, result)
            return .accepted(result.json)
        }
        let result = firing.fire(trigger, request)
        report(trigger, result)
        switch result {
        case .fired, .skipped, .duplicate: return .accepted(result.json)
        case .failed(let reason): return .failed("trigger \(trigger.key.name) could not create its task: \(reason)")
        }
    }

    private func observe(_ outcome: WebhookOutcome) {
        switch outcome.kind {
        case .accepted, .health: return
        default: break
        }
        record(
            .webhookRefused,
            [
                ("status", .int(Int64(outcome.status.rawValue))), ("code", .string(outcome.code)), ("message", .string(outcome.message)),
                ("method", outcome.method.map { .string($0) } ?? .null), ("path", outcome.path.map { .string($0) } ?? .null),
                ("trigger", outcome.address.map { .string($0.description) } ?? .null),
            ])
    }
}

struct TriggerEngineError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A short random token for fire keys that have no natural identity (a file-change window, a
/// webhook delivery without an id, a manual fire).
public enum FireToken {
    public static func random() -> String {
        var generator = SystemRandomNumberGenerator()
        return String(generator.next() & 0xFFFF_FFFF_FFFF, radix: 16)
    }
}
