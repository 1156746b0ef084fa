import Manifest

// The content hash of a compiled graph: SHA-256 over a canonical serialization of everything
// that decides how the workflow runs. Not included: source positions and file names (moving a
// workflow between files or reformatting it changes nothing), the other agents that could
// serve a capability (only the chosen one runs), and what is stored but not executed.
// Strings are length-prefixed and every field is named, so distinct graphs never serialize alike.

public enum CanonicalForm {
    /// Bumped when the serialization changes, so old and new hashes never compare equal by accident.
    public static let version = "orchestrator-graph-v1"

    public static func hash(of graph: WorkflowGraph) -> String {
        SHA256.hex(serialize(graph))
    }

    public static func serialize(_ graph: WorkflowGraph) -> [UInt8] {
        var out = CanonicalWriter()
        out.string("format", version)
        out.string("name", graph.name)
        out.string("project", graph.project)
        out.list("steps", graph.steps) { out, step in out.step(step) }
        // What the steps refer to, once each, by name.
        out.list("agents", out.agents.keys.sorted()) { out, name in
            if let agent = out.agents[name] { out.agent(agent) }
        }
        out.list("templates", out.templates.keys.sorted()) { out, name in
            if let template = out.templates[name] {
                out.string("name", template.name)
                out.string("prompt", template.prompt)
            }
        }
        out.list("profiles", out.profiles.keys.sorted()) { out, name in
            if let profile = out.profiles[name] { out.profile(profile) }
        }
        out.list("segments", graph.segments) { out, segment in
            out.int("index", segment.index)
            out.string("scope", segment.scope.rawValue)
            out.list("steps", segment.stepIDs) { out, id in out.string("id", id) }
            out.int("maxParallel", segment.maxParallel)
            out.int("staggerDelayMs", segment.staggerDelayMs)
        }
        out.object("loop") { out in
            let loop = graph.loop
            out.string("mode", loop.mode.rawValue)
            out.int("maxCycles", loop.maxCycles)
            out.bool("enabled", loop.enabled)
            out.bool("stopWhenNoUnresolved", loop.stopWhenNoUnresolved)
            out.list("convergence", loop.convergence) { out, rule in
                out.string("when", rule.when.text)
                out.string("reason", rule.reason)
            }
        }
        out.object("safety") { out in
            let safety = graph.safety
            out.int("maxConsecutiveFailures", safety.maxConsecutiveFailures)
            out.bool("autoRollback", safety.autoRollback)
            out.string("checkpointStrategy", safety.checkpointStrategy.rawValue)
            out.int("stepTimeoutSecs", safety.stepTimeoutSecs)
            out.bool("binarySnapshot", safety.binarySnapshot)
            out.int("maxItemStepFailures", safety.maxItemStepFailures)
            out.int("minCycleIntervalSecs", safety.minCycleIntervalSecs)
            out.string("onDrift", safety.onDrift.rawValue)
            if safety.maxSpawnDepth != 3 || safety.maxSpawnedTasks != 10 {
                out.int("maxSpawnDepth", safety.maxSpawnDepth)
                out.int("maxSpawnedTasks", safety.maxSpawnedTasks)
            }
            // Only when written, so the hashes of workflows without invariants stay as they were.
            if !safety.invariants.isEmpty {
                out.list("invariants", safety.invariants) { out, invariant in
                    out.string("name", invariant.name)
                    out.string("command", invariant.command)
                    out.int("expectExit", invariant.expectExit)
                    out.string("captureAs", invariant.captureAs)
                    out.string("assert", invariant.assertion?.text)
                    out.list("checkAt", invariant.checkAt) { out, point in out.string("point", point.rawValue) }
                    out.string("onViolation", invariant.onViolation.rawValue)
                    out.list("protectedFiles", invariant.protectedFiles) { out, file in out.string("file", file) }
                }
            }
        }
        if let rules = graph.finalizeRules {
            out.list("finalize", rules) { out, rule in
                out.string("id", rule.id)
                out.string("when", rule.when.text)
                out.string("status", rule.status)
                out.string("reason", rule.reason)
            }
        } else {
            out.string("finalize", "default")
        }
        out.int("maxParallel", graph.maxParallel)
        out.int("staggerDelayMs", graph.staggerDelayMs)
        // Only when set, so the hashes of workflows without it stay as they were.
        if let isolation = graph.itemIsolation {
            out.object("itemIsolation") { out in
                out.string("branchPrefix", isolation.branchPrefix)
                out.bool("removeWhenDone", isolation.removeWhenDone)
            }
        }
        return out.bytes
    }
}

struct CanonicalWriter {
    var bytes: [UInt8] = []
    /// The bindings steps named, written once after the steps.
    var agents: [String: AgentBinding] = [:]
    var templates: [String: TemplateBinding] = [:]
    var profiles: [String: ProfileBinding] = [:]

    mutating func name(_ name: String) {
        bytes.append(contentsOf: name.utf8)
        bytes.append(0x3D)  // =
    }

    mutating func string(_ field: String, _ value: String?) {
        name(field)
        guard let value else { bytes.append(contentsOf: "~;".utf8); return }
        let utf8 = Array(value.utf8)
        bytes.append(contentsOf: "s\(utf8.count):".utf8)
        bytes.append(contentsOf: utf8)
        bytes.append(0x3B)
    }

    mutating func int(_ field: String, _ value: Int?) {
        name(field)
        bytes.append(contentsOf: (value.map { "i\($0);" } ?? "~;").utf8)
    }

    mutating func bool(_ field: String, _ value: Bool?) {
        name(field)
        bytes.append(contentsOf: (value.map { $0 ? "b1;" : "b0;" } ?? "~;").utf8)
    }

    mutating func object(_ field: String, _ body: (inout CanonicalWriter) -> Void) {
        name(field)
        bytes.append(0x7B)
        body(&self)
        bytes.append(0x7D)
    }

    mutating func list<T>(_ field: String, _ items: [T], _ body: (inout CanonicalWriter, T) -> Void) {
        name(field)
        bytes.append(contentsOf: "[\(items.count):".utf8)
        for item in items {
            bytes.append(0x7B)
            body(&self, item)
            bytes.append(0x7D)
        }
        bytes.append(0x5D)
    }

    mutating func step(_ step: CompiledStep) {
        string("id", step.id)
        string("kind", step.kind.name)
        switch step.kind {
        case .agent(let capability): string("capability", capability)
        case .builtin(let builtin): string("builtin", builtin.rawValue)
        case .command(let command): string("command", command)
        case .chain: break
        }
        string("scope", step.scope.rawValue)
        bool("enabled", step.enabled)
        bool("repeatable", step.repeatable)
        bool("guard", step.isGuard)
        bool("tty", step.tty)
        string("agent", step.agent?.name)
        if let agent = step.agent { agents[agent.name] = agent }
        string("template", step.template?.name)
        if let template = step.template { templates[template.name] = template }
        string("profile", step.profile?.name)
        if let profile = step.profile { profiles[profile.name] = profile }
        int("maxParallel", step.maxParallel)
        int("staggerDelayMs", step.staggerDelayMs)
        int("timeoutSecs", step.timeoutSecs)
        int("stallTimeoutSecs", step.stallTimeoutSecs)
        if let prehook = step.prehook {
            object("prehook") { out in
                out.string("when", prehook.when.text)
                out.string("reason", prehook.reason)
            }
        } else {
            string("prehook", nil)
        }
        object("onFailure") { out in
            out.string("action", step.onFailure.action.rawValue)
            out.string("status", step.onFailure.status)
        }
        object("onSuccess") { out in
            out.string("action", step.onSuccess.action.rawValue)
            out.string("status", step.onSuccess.status)
        }
        list("captures", step.captures) { out, capture in
            out.string("var", capture.variable)
            out.string("source", capture.source.rawValue)
            out.string("jsonPath", capture.jsonPath)
        }
        list("postActions", step.postActions) { out, action in
            out.string("type", action.type.rawValue)
            if let items = action.generateItems {
                out.string("fromVar", items.fromVariable)
                out.string("jsonPath", items.jsonPath)
                out.string("itemID", items.itemID)
                out.string("label", items.label)
                out.list("vars", items.vars.sorted { $0.key < $1.key }) { out, entry in
                    out.string("key", entry.key)
                    out.string("value", entry.value)
                }
                out.bool("replace", items.replace)
            }
            if let write = action.storePut {
                out.string("store", write.store)
                out.string("key", write.key)
                out.string("fromVar", write.fromVariable)
            }
            if let spawn = action.spawn {
                out.string("goal", spawn.goal)
                out.string("workflow", spawn.workflow)
                out.string("fromVar", spawn.fromVariable)
                out.string("jsonPath", spawn.jsonPath)
                out.string("goalPath", spawn.goalPath)
                out.string("workflowPath", spawn.workflowPath)
                out.string("namePath", spawn.namePath)
                out.int("maxTasks", spawn.maxTasks)
                out.bool("queue", spawn.queue)
                out.bool("inheritWorkspace", spawn.inheritWorkspace)
                out.bool("inheritProject", spawn.inheritProject)
                out.bool("inheritTargets", spawn.inheritTargets)
            }
        }
        // Written only when present, so that graphs without them keep their hash.
        if !step.storeInputs.isEmpty {
            list("storeInputs", step.storeInputs) { out, read in
                out.string("store", read.store)
                out.string("key", read.key)
                out.string("asVar", read.asVariable)
                out.bool("required", read.required)
            }
        }
        if let select = step.itemSelect {
            object("itemSelect") { out in
                out.string("strategy", select.strategy.rawValue)
                out.string("metricVar", select.metricVariable)
                out.list("weights", select.weights.sorted { $0.key < $1.key }) { out, entry in
                    out.string("var", entry.key)
                    out.string("weight", String(entry.value))
                }
                out.string("threshold", select.threshold.map { String($0) })
                out.string("store", select.storeResult?.store)
                out.string("key", select.storeResult?.key)
                out.string("tieBreak", select.tieBreak.rawValue)
            }
        }
        if !step.storeOutputs.isEmpty {
            list("storeOutputs", step.storeOutputs) { out, write in
                out.string("store", write.store)
                out.string("key", write.key)
                out.string("fromVar", write.fromVariable)
            }
        }
        bool("collectArtifacts", step.collectArtifacts)
        string("costPreference", step.costPreference?.rawValue)
        list("children", step.children) { out, child in out.step(child) }
        int("segment", step.segment)
    }

    mutating func agent(_ agent: AgentBinding) {
        string("name", agent.name)
        string("command", agent.command)
        list("commandRules", agent.commandRules) { out, rule in
            out.string("when", rule.when.text)
            out.string("command", rule.command)
        }
        string("promptDelivery", agent.promptDelivery.rawValue)
        int("cost", agent.cost)
        list("env", agent.environment) { out, entry in
            switch entry {
            case .literal(let name, let value):
                out.string("literal", name)
                out.string("value", value)
            case .store(let name, let secret):
                out.string("store", name)
                out.bool("secret", secret)
            case .storeKey(let variable, let store, let key, let secret):
                out.string("variable", variable)
                out.string("store", store)
                out.string("key", key)
                out.bool("secret", secret)
            }
        }
    }

    mutating func profile(_ profile: ProfileBinding) {
        string("name", profile.name)
        bool("resolved", profile.resolved)
        string("mode", profile.mode.rawValue)
        string("fs", profile.filesystem.rawValue)
        list("writable", profile.writablePaths) { out, path in out.string("path", path) }
        list("readable", profile.readablePaths) { out, path in out.string("path", path) }
        string("network", profile.network.rawValue)
        list("allow", profile.networkAllowlist) { out, host in out.string("host", host) }
        int("memoryMB", profile.maxMemoryMB)
        int("cpuSeconds", profile.maxCPUSeconds)
        int("processes", profile.maxProcesses)
        int("openFiles", profile.maxOpenFiles)
    }
}
