import Diagnostics
import Expr
import Manifest
import Triggers
import YAML

// What the daemon would refuse when it arms a Trigger, said at validate with positions
// (docs/triggers.md "Triggers in the daemon"): a schedule that cannot fire, a time zone that is
// not installed, a condition that does not check, references to what the project lacks, paths
// outside the workspace, a webhook that would refuse every request.

extension CompileContext {
    /// The annotation that lets a webhook trigger without a secret accept unsigned requests.
    static let allowUnsignedAnnotation = TriggerDefinition.allowUnsignedAnnotation

    mutating func checkTrigger(of resource: Resource) {
        guard let trigger = TriggerDefinition(resource) else { return }
        let index = self.index(trigger.project)
        if let cron = trigger.cron {
            do throws(CronError) {
                _ = try CronSchedule.parse(cron.schedule.value)
            } catch {
                let source = ExpressionSource(text: cron.schedule.value, node: resourceNode(resource, path: ["cron", "schedule"]) ?? resource.node)
                diagnostics.append(
                    Diagnostic(
                        severity: .error, rule: TriggerRule.cronSchedule, message: "trigger `\(trigger.name)`: \(error.message)", file: resource.file,
                        range: expressionRange(source, file: resource.file, start: error.offset, end: error.offset + max(1, error.length)),
                        help: error.help))
            }
            if let zone = cron.timezone {
                do throws(TimeZoneError) {
                    _ = try TimeZoneRules.load(zone.value)
                } catch {
                    diagnostics.append(
                        Diagnostic(
                            severity: .error, rule: TriggerRule.timezone, message: "trigger `\(trigger.name)`: \(error.description)",
                            file: resource.file, range: zone.range, help: "write an IANA name such as `UTC`, `Europe/Berlin` or `America/New_York`"))
                }
            }
        }
        func reference(_ kind: ResourceKind, _ name: Located<String>, what: String) {
            guard index.lookup(kind, name.value, from: resource.file) == nil else { return }
            let (severity, where_) = referenceSeverity("\(kind.rawValue) `\(name.value)`")
            let closeness = Suggestions.closest(to: name.value, in: index.names(kind)).map { "did you mean `\($0)`? " } ?? ""
            report(
                .unresolvedReference, "trigger `\(trigger.name)` \(what) `\(name.value)`, which is no \(kind.rawValue) of project `\(trigger.project)`",
                file: resource.file, range: name.range, help: closeness + where_, severity: severity)
        }
        reference(.workflow, trigger.action.workflow, what: "starts workflow")
        reference(.workspace, trigger.action.workspace, what: "runs in workspace")
        if let filter = trigger.filterWorkflow, trigger.source == .taskCompleted || trigger.source == .taskFailed {
            reference(.workflow, filter, what: "listens to tasks of workflow")
        }
        if let condition = trigger.condition {
            var declared = Declarations()
            for variable in TriggerDefinition.conditionVariables(for: trigger.source) {
                switch variable.type {
                case .string: declared.types[variable.name] = .string
                case .int: declared.types[variable.name] = .int
                case .map: declared.types[variable.name] = .map(.string, .dyn)
                }
            }
            let names = declared.names.map { "`\($0)`" }.joined(separator: ", ")
            _ = checkExpression(
                condition, file: resource.file, declared: declared, what: "trigger `\(trigger.name)` condition",
                undeclaredHelp: "a \(trigger.source.rawValue) trigger's condition reads \(names)",
                undeclaredReason: "which a \(trigger.source.rawValue) trigger does not have (the condition could never hold)",
                undeclaredSeverity: .error)
        }
        if trigger.source == .webhook {
            if let store = trigger.webhook?.secretStore {
                reference(.secretStore, store, what: "verifies webhooks with the keys of SecretStore")
            } else if !trigger.allowsUnsignedWebhooks {
                report(
                    .triggerWebhookUnsigned,
                    "webhook trigger `\(trigger.name)` has no `event.webhook.secret.fromRef`: the daemon refuses every request to it (401)",
                    file: resource.file, range: trigger.nameRange,
                    help: "name a SecretStore whose values are the signing keys, or accept unsigned requests on purpose with the annotation `\(CompileContext.allowUnsignedAnnotation): \"true\"`")
            }
        }
        for path in trigger.filesystem?.paths ?? [] where path.value.hasPrefix("/") || path.value.split(separator: "/").contains("..") {
            report(
                .triggerPathOutsideWorkspace, "trigger `\(trigger.name)` watches `\(path.value)`, which is not inside the workspace",
                file: resource.file, range: path.range, help: "write a path relative to the workspace root, without `..`")
        }
    }

    private func resourceNode(_ resource: Resource, path: [String]) -> Node? {
        var node = resource.node["spec"]
        for key in path { node = node?[key] }
        return node
    }
}
