import Diagnostics
import YAML

// A Trigger as the daemon executes it (docs/triggers.md "Triggers in the daemon"), read from the
// spec the decoder checked against the field tables (parity.md, TriggerSpec). Values that a
// check may point at keep their source range; what is missing takes the replaced system's
// default.

public struct TriggerDefinition: Sendable {
    public enum Source: String, Sendable, CaseIterable {
        case cron
        case taskCompleted = "task_completed"
        case taskFailed = "task_failed"
        case webhook
        case filesystem
    }

    public enum ConcurrencyPolicy: String, Sendable, CaseIterable {
        /// Every fire creates a task.
        case allow = "Allow"
        /// A fire while a task of the trigger is unfinished is skipped (the replaced system's default).
        case forbid = "Forbid"
        /// A fire while a task of the trigger is unfinished pauses that task and creates a new one.
        case replace = "Replace"
    }

    public struct Cron: Sendable {
        public var schedule: Located<String>
        /// nil: UTC.
        public var timezone: Located<String>?
        public var zoneName: String { timezone?.value ?? "UTC" }
    }

    public struct Filesystem: Sendable {
        public var paths: [Located<String>]
        /// create, modify, delete; empty: all three.
        public var events: [String]
        public var debounceMilliseconds: Int
    }

    public struct Webhook: Sendable {
        /// The SecretStore whose values are the HMAC keys.
        public var secretStore: Located<String>?
        public var signatureHeader: String?
        public var crdRef: String?
    }

    public struct Action: Sendable {
        public var workflow: Located<String>
        public var workspace: Located<String>
        /// `args`: name -> values, in the order written; each becomes a pipeline variable.
        public var args: [(name: String, values: [String])]
        public var start: Bool
    }

    public var name: String
    public var project: String
    public var source: Source
    public var cron: Cron?
    public var filterWorkflow: Located<String>?
    public var condition: ExpressionSource?
    public var webhook: Webhook?
    public var filesystem: Filesystem?
    public var action: Action
    public var concurrency: ConcurrencyPolicy
    public var suspend: Bool
    public var historySuccessful: Int?
    public var historyFailed: Int?
    /// `throttle.minInterval`: seconds that must pass between two fires (0: none).
    public var minIntervalSeconds: Int
    public var file: String
    /// Where `metadata.name` is written (findings about the whole trigger point here).
    public var nameRange: SourceRange

    /// nil when the resource is not a Trigger or lacks what the decoder requires (it reported that).
    public init?(_ resource: Resource) {
        guard case .trigger(let stored) = resource.spec else { return nil }
        let spec = stored.node
        func text(_ node: Node?) -> Located<String>? {
            guard let node, let scalar = node.scalar, !node.isNull else { return nil }
            if case .string(let value) = scalar.value { return Located(value, range: node.range) }
            return Located(scalar.text, range: node.range)
        }
        func integer(_ node: Node?) -> Int? {
            if case .int(let value)? = node?.scalar?.value { return Int(exactly: value) }
            return nil
        }
        guard let actionNode = spec["action"], let workflow = text(actionNode["workflow"]),
            let workspace = text(actionNode["workspace"])
        else { return nil }
        name = resource.name
        project = resource.resolvedProject
        file = resource.file
        nameRange = resource.metadata.name.range
        allowsUnsignedWebhooks = resource.metadata.annotations.contains {
            $0.key == TriggerDefinition.allowUnsignedAnnotation && $0.value.lowercased() == "true"
        }
        var args: [(name: String, values: [String])] = []
        for entry in actionNode["args"]?.mapping ?? [] {
            guard let key = entry.key.scalar?.text else { continue }
            args.append((key, entry.value.sequence?.compactMap { text($0)?.value } ?? text(entry.value).map { [$0.value] } ?? []))
        }
        var start = true
        if case .bool(let flag)? = actionNode["start"]?.scalar?.value { start = flag }
        action = Action(workflow: workflow, workspace: workspace, args: args, start: start)
        concurrency = spec["concurrencyPolicy"]?.scalar.flatMap { ConcurrencyPolicy(rawValue: $0.text) } ?? .forbid
        suspend = false
        if case .bool(let flag)? = spec["suspend"]?.scalar?.value { suspend = flag }
        // `historyLimit: N` is N of each (docs/compatibility.md "Triggers").
        historySuccessful = integer(spec["historyLimit"]?["successful"]) ?? integer(spec["historyLimit"])
        historyFailed = integer(spec["historyLimit"]?["failed"]) ?? integer(spec["historyLimit"])
        minIntervalSeconds = max(0, integer(spec["throttle"]?["minInterval"]) ?? 0)
        if let cronNode = spec["cron"], !cronNode.isNull {
            guard let schedule = text(cronNode["schedule"]) else { return nil }
            source = .cron
            cron = Cron(schedule: schedule, timezone: text(cronNode["timezone"]))
        } else if let event = spec["event"], !event.isNull {
            guard let sourceText = text(event["source"]), let parsed = Source(rawValue: sourceText.value), parsed != .cron else { return nil }
            source = parsed
            if let filter = event["filter"], !filter.isNull {
                filterWorkflow = text(filter["workflow"])
                if let node = filter["condition"], let scalar = node.scalar, !node.isNull {
                    let value: String
                    if case .string(let string) = scalar.value { value = string } else { value = scalar.text }
                    condition = ExpressionSource(text: value, node: node)
                }
            }
            if let hook = event["webhook"], !hook.isNull {
                webhook = Webhook(
                    secretStore: text(hook["secret"]?["fromRef"]), signatureHeader: text(hook["signatureHeader"])?.value,
                    crdRef: text(hook["crdRef"])?.value)
            }
            if let watch = event["filesystem"], !watch.isNull {
                filesystem = Filesystem(
                    paths: watch["paths"]?.sequence?.compactMap(text) ?? [],
                    events: watch["events"]?.sequence?.compactMap { text($0)?.value } ?? [],
                    debounceMilliseconds: integer(watch["debounce_ms"]) ?? 500)
            }
        } else {
            return nil
        }
    }

    /// The annotation that lets a webhook trigger without a secret accept unsigned requests
    /// (`"true"`); without it such a trigger refuses every request.
    public static let allowUnsignedAnnotation = "orchestrator.dev/webhook-allow-unsigned"

    /// Unsigned webhook requests are accepted: no secret and the annotation says so.
    public var allowsUnsignedWebhooks: Bool

    /// The variables a `filter.condition` may read, by source (docs/triggers.md "Conditions").
    public static func conditionVariables(for source: Source) -> [(name: String, type: ConditionVariableType, about: String)] {
        switch source {
        case .taskCompleted, .taskFailed:
            return [
                ("task_id", .string, "the id of the task that ended"), ("task_name", .string, "its name"),
                ("task_status", .string, "`completed` or `failed`"), ("workflow", .string, "its workflow"),
                ("workspace", .string, "its workspace"), ("project", .string, "its project"), ("goal", .string, "its goal"),
                ("cycle", .int, "the cycle it ended in"), ("reason", .string, "why it ended (empty when none was recorded)"),
                ("event", .string, "`task_completed` or `task_failed`"),
            ]
        case .webhook:
            return [("payload", .map, "the request's JSON body"), ("event", .string, "`webhook`")]
        case .filesystem:
            return [
                ("payload_filename", .string, "the changed file's name (the first change of the window)"),
                ("payload_path", .string, "its path relative to the workspace root"),
                ("payload_event", .string, "`create`, `modify` or `delete`"), ("payload_count", .int, "how many changes the window held"),
                ("event", .string, "`filesystem`"),
            ]
        case .cron:
            return []
        }
    }

    public enum ConditionVariableType: Sendable { case string, int, map }
}
