import Diagnostics
import YAML

extension ManifestDecoder {
    /// Workflow fields that are accepted and stored but not executed (warned).
    static let workflowStoredOnly: [(key: String, mapping: Bool, list: Bool)] = [
        ("adaptive", true, false), ("dynamic_steps", true, true),
    ]

    /// Step fields that are accepted and stored (not warned: they only feed features this tool
    /// leaves to the agents).
    static let stepStoredOnly: [(key: String, mapping: Bool, list: Bool)] = [
        ("step_vars", true, false),
    ]

    static func decodeWorkflow(_ fields: Fields, context: DecodeContext) -> WorkflowSpec? {
        var spec = WorkflowSpec()
        var failed = false

        if let items = context.list(fields, "steps", of: "steps", required: true) {
            if items.isEmpty, let value = fields.value("steps")?.value {
                context.error(
                    .invalidValue, "a workflow needs at least one step", at: value.range,
                    help: "add a step, e.g. `- id: qa`")
            }
            for item in items {
                if let step = decodeStep(item, context: context) { spec.steps.append(step) } else { failed = true }
            }
        }

        if let loop = context.nested(fields, "loop", .loop) {
            spec.loop.range = fields.value("loop")?.key.range
            spec.loop.mode = context.enumValue(loop, "mode", LoopMode.self)
            spec.loop.maxCycles = context.int(loop, "max_cycles")
            spec.loop.enabled = context.bool(loop, "enabled")
            spec.loop.stopWhenNoUnresolved = context.bool(loop, "stop_when_no_unresolved")
            for item in context.list(loop, "convergence_expr", of: "`{engine, when, reason}` entries") ?? [] {
                guard let rule = context.fields(item, .convergence) else { continue }
                context.checkEngine(rule)
                let when = context.expression(rule, "when", required: true)
                let reason = context.string(rule, "reason")
                if let when { spec.loop.convergence.append(ConvergenceRule(when: when, reason: reason?.value)) }
            }
        }

        spec.maxParallel = context.int(fields, "max_parallel", minimum: 1)
        spec.staggerDelayMs = context.int(fields, "stagger_delay_ms")

        if let safety = context.nested(fields, "safety", .safety) {
            spec.safety.range = fields.value("safety")?.key.range
            spec.safety.maxConsecutiveFailures = context.int(safety, "max_consecutive_failures", minimum: 1)
            spec.safety.autoRollback = context.bool(safety, "auto_rollback")
            spec.safety.checkpointStrategy = context.enumValue(safety, "checkpoint_strategy", CheckpointStrategy.self)
            spec.safety.stepTimeoutSecs = context.int(safety, "step_timeout_secs", minimum: 1)
            spec.safety.binarySnapshot = context.bool(safety, "binary_snapshot")
            spec.safety.maxItemStepFailures = context.int(safety, "max_item_step_failures", minimum: 1)
            spec.safety.minCycleIntervalSecs = context.int(safety, "min_cycle_interval_secs")
            spec.safety.onDrift = context.enumValue(safety, "on_drift", DriftPolicy.self)
            spec.safety.maxSpawnDepth = context.int(safety, "max_spawn_depth")
            spec.safety.maxSpawnedTasks = context.int(safety, "max_spawned_tasks")
            for item in context.list(safety, "invariants", of: "`{name, command, ...}` entries") ?? [] {
                guard let entry = context.fields(item, .invariant), let name = context.nonEmptyString(entry, "name", required: true) else { continue }
                var checkAt: [Located<String>]?
                if let (_, points) = entry.value("check_at") {
                    checkAt = (points.sequence ?? [points]).compactMap { node in node.scalar.map { Located($0.text, range: node.range) } }
                }
                spec.safety.invariants.append(
                    InvariantSpec(
                        name: name, description: context.string(entry, "description")?.value, command: context.nonEmptyString(entry, "command"),
                        expectExit: context.int(entry, "expect_exit", minimum: Int.min)?.value, captureAs: context.nonEmptyString(entry, "capture_as")?.value,
                        assertion: context.expression(entry, "assert_expr"), immutable: context.bool(entry, "immutable")?.value ?? false,
                        checkAt: checkAt, onViolation: context.string(entry, "on_violation")?.value,
                        protectedFiles: context.stringList(entry, "protected_files")?.map(\.value) ?? [], range: item.range))
            }
        }

        if let finalize = context.nested(fields, "finalize", .finalize) {
            var rules: [FinalizeRule] = []
            for item in context.list(finalize, "rules", of: "`{id, when, status}` entries", required: true) ?? [] {
                guard let rule = context.fields(item, .finalizeRule) else { continue }
                let id = context.nonEmptyString(rule, "id")
                context.checkEngine(rule)
                let when = context.expression(rule, "when", required: true)
                let status = context.nonEmptyString(rule, "status", required: true)
                let reason = context.string(rule, "reason")
                if let when, let status { rules.append(FinalizeRule(id: id, when: when, status: status, reason: reason?.value)) }
            }
            spec.finalizeRules = rules
        }

        if let itemsFrom = context.nested(fields, "items_from", .itemsFrom) {
            let path = context.nonEmptyString(itemsFrom, "tasks_json", required: true)
            let when = context.expression(itemsFrom, "when")
            if let path { spec.itemsFrom = ItemsFromSpec(tasksJSON: path, when: when) }
        }

        if let isolation = context.nested(fields, "item_isolation", .itemIsolation) {
            spec.itemIsolation = ItemIsolationSpec(
                strategy: context.string(isolation, "strategy"), branchPrefix: context.nonEmptyString(isolation, "branch_prefix"),
                cleanup: context.string(isolation, "cleanup"))
        }

        for field in workflowStoredOnly {
            guard let (key, value) = context.stored(fields, field.key, mapping: field.mapping, list: field.list) else {
                continue
            }
            spec.storedOnly.append((field.key, value))
            context.warning(
                .notExecuted, "`\(field.key)` is accepted and stored but not executed by this tool", at: key.range,
                help: "the workflow runs without it; remove it to silence this warning")
        }

        return failed ? nil : spec
    }

    // MARK: - Steps

    static func decodeStep(_ node: Node, context: DecodeContext) -> StepSpec? {
        guard let fields = context.fields(node, .step) else { return nil }
        let id = context.nonEmptyString(fields, "id", required: true)
        let type = context.nonEmptyString(fields, "type")
        let builtin = context.enumValue(fields, "builtin", Builtin.self)
        let capability = context.nonEmptyString(fields, "required_capability")
        context.conflict(
            fields, "builtin", "required_capability",
            help: "a builtin step runs no agent: remove `required_capability`, or remove `builtin` to make it an agent step")
        let template = context.nonEmptyString(fields, "template")
        let command = context.nonEmptyString(fields, "command")

        var chain: [StepSpec]?
        var failed = false
        if let items = context.list(fields, "chain_steps", of: "steps") {
            if items.isEmpty, let value = fields.value("chain_steps")?.value {
                context.error(
                    .invalidValue, "`chain_steps` is empty", at: value.range,
                    help: "list the steps of the chain, or remove `chain_steps`")
            }
            var children: [StepSpec] = []
            for item in items {
                if let child = decodeStep(item, context: context) { children.append(child) } else { failed = true }
            }
            chain = children
        }

        let scope = context.enumValue(fields, "scope", StepScope.self)
        let enabled = context.bool(fields, "enabled")
        let repeatable = context.bool(fields, "repeatable")
        let isGuard = context.bool(fields, "is_guard")
        let tty = context.bool(fields, "tty")
        let profile = context.nonEmptyString(fields, "execution_profile")
        let maxParallel = context.int(fields, "max_parallel", minimum: 1)
        let stagger = context.int(fields, "stagger_delay_ms")
        let timeout = context.int(fields, "timeout_secs", minimum: 1)
        let stall = context.int(fields, "stall_timeout_secs", minimum: 1)

        var prehook: Prehook?
        if let hook = context.nested(fields, "prehook", .prehook) {
            let engine = context.checkEngine(hook)
            let when = context.expression(hook, "when", required: true)
            let reason = context.string(hook, "reason")
            if let when { prehook = Prehook(engine: engine, when: when, reason: reason?.value) }
        }

        var behavior = Behavior()
        if let fieldsOfBehavior = context.nested(fields, "behavior", .behavior) {
            behavior = decodeBehavior(fieldsOfBehavior, context: context)
        }
        let cost = context.enumValue(fields, "cost_preference", CostPreference.self)

        var storeInputs: [StoreRead] = []
        for item in context.list(fields, "store_inputs", of: "`{store, key, as_var}` entries") ?? [] {
            guard let entry = context.fields(item, .storeInput) else { continue }
            let store = context.nonEmptyString(entry, "store", required: true)
            let key = context.nonEmptyString(entry, "key", required: true)
            let asVar = context.nonEmptyString(entry, "as_var", required: true)
            let required = context.bool(entry, "required")?.value ?? false
            if let store, let key, let asVar { storeInputs.append(StoreRead(store: store, key: key, asVar: asVar, required: required)) }
        }
        var storeOutputs: [StoreWrite] = []
        for item in context.list(fields, "store_outputs", of: "`{store, key, from_var}` entries") ?? [] {
            guard let entry = context.fields(item, .storeOutput) else { continue }
            if let write = decodeStoreWrite(entry, context: context) { storeOutputs.append(write) }
        }

        var itemSelect: ItemSelectSpec?
        if let select = context.nested(fields, "item_select_config", .itemSelect) {
            itemSelect = decodeItemSelect(select, context: context)
        }

        var stored: [(key: String, value: Node)] = []
        for field in stepStoredOnly {
            if let (_, value) = context.stored(fields, field.key, mapping: field.mapping, list: field.list) {
                stored.append((field.key, value))
            }
        }

        guard let id, !failed else { return nil }
        var step = StepSpec(id: id, range: node.range)
        step.type = type
        step.builtin = builtin
        step.requiredCapability = capability
        step.template = template
        step.command = command
        step.chainSteps = chain
        step.scope = scope
        step.enabled = enabled
        step.repeatable = repeatable
        step.isGuard = isGuard
        step.tty = tty
        step.executionProfile = profile
        step.maxParallel = maxParallel
        step.staggerDelayMs = stagger
        step.timeoutSecs = timeout
        step.stallTimeoutSecs = stall
        step.prehook = prehook
        step.behavior = behavior
        step.costPreference = cost
        step.storeInputs = storeInputs
        step.itemSelect = itemSelect
        step.storeOutputs = storeOutputs
        step.storedOnly = stored
        return step
    }

    static func decodeBehavior(_ fields: Fields, context: DecodeContext) -> Behavior {
        var behavior = Behavior()
        if let failure = context.nested(fields, "on_failure", .onFailure) {
            let action = context.enumValue(failure, "action", FailureAction.self, required: true)
            let status = context.nonEmptyString(failure, "status")
            if let action {
                if action.value == .set_status, status == nil { context.missing("status", in: failure, what: "STATUS") }
                behavior.onFailure = OnFailure(action: action, status: status)
            }
        }
        if let success = context.nested(fields, "on_success", .onSuccess) {
            let action = context.enumValue(success, "action", SuccessAction.self, required: true)
            let status = context.nonEmptyString(success, "status")
            if let action {
                if action.value == .set_status, status == nil { context.missing("status", in: success, what: "STATUS") }
                behavior.onSuccess = OnSuccess(action: action, status: status)
            }
        }
        for item in context.list(fields, "captures", of: "`{var, source, json_path}` entries") ?? [] {
            guard let capture = context.fields(item, .capture) else { continue }
            let variable = context.nonEmptyString(capture, "var", required: true)
            let source = context.enumValue(capture, "source", CaptureSource.self, required: true)
            let path = context.nonEmptyString(capture, "json_path")
            if let variable, let source { behavior.captures.append(Capture(variable: variable, source: source, jsonPath: path)) }
        }
        for item in context.list(fields, "post_actions", of: "post-actions (`{type: ...}`)") ?? [] {
            if let action = decodePostAction(item, context: context) { behavior.postActions.append(action) }
        }
        behavior.collectArtifacts = context.bool(fields, "collect_artifacts")
        return behavior
    }

    static func decodePostAction(_ node: Node, context: DecodeContext) -> PostAction? {
        // One table for every type's keys.
        guard let fields = context.fields(node, .postAction) else { return nil }
        guard let type = context.enumValue(fields, "type", PostActionType.self, required: true) else { return nil }
        switch type.value {
        case .store_put:
            guard let write = decodeStoreWrite(fields, context: context) else { return nil }
            var action = PostAction(type: type, node: node)
            action.storePut = write
            return action
        case .spawn_task, .spawn_tasks:
            guard let spawn = decodeSpawn(fields, many: type.value == .spawn_tasks, context: context) else { return nil }
            var action = PostAction(type: type, node: node)
            action.spawn = spawn
            return action
        default: break
        }
        guard type.value == .generate_items else {
            context.warning(
                .notExecuted, "`\(type.value.rawValue)` post-actions are accepted and stored but not executed by this tool",
                at: type.range, help: "generate_items, store_put, spawn_task and spawn_tasks run; remove it to silence this warning")
            context.genericFields(fields, quiet: true)
            return PostAction(type: type, node: node)
        }
        let fromVar = context.nonEmptyString(fields, "from_var", required: true)
        let jsonPath = context.nonEmptyString(fields, "json_path")
        let replace = context.bool(fields, "replace")
        var itemID: Located<String>?
        var label: Located<String>?
        var vars: [(key: String, value: Located<String>)] = []
        if let mapping = context.nested(fields, "mapping", .generateMapping) {
            itemID = context.nonEmptyString(mapping, "item_id")
            label = context.nonEmptyString(mapping, "label")
            if let (_, node) = mapping.value("vars"), let map = context.stringMap(node, key: "vars") { vars = map }
        }
        guard let fromVar else { return nil }
        var generate = GenerateItems(fromVar: fromVar)
        generate.jsonPath = jsonPath
        generate.itemID = itemID
        generate.label = label
        generate.vars = vars
        generate.replace = replace?.value ?? false
        return PostAction(type: type, generateItems: generate, node: node)
    }

    /// `{store, key, from_var}` (`store_outputs` entries, `store_put` post-actions).
    static func decodeStoreWrite(_ fields: Fields, context: DecodeContext) -> StoreWrite? {
        let store = context.nonEmptyString(fields, "store", required: true)
        let key = context.nonEmptyString(fields, "key", required: true)
        let fromVar = context.nonEmptyString(fields, "from_var", required: true)
        guard let store, let key, let fromVar else { return nil }
        return StoreWrite(store: store, key: key, fromVar: fromVar)
    }

    /// `spawn_task` (`goal`, `workflow`) and `spawn_tasks` (`from_var`, `json_path`, `mapping`,
    /// `max_tasks`, `queue`), both with `inherit`.
    static func decodeSpawn(_ fields: Fields, many: Bool, context: DecodeContext) -> SpawnSpec? {
        var spawn = SpawnSpec()
        if let inherit = context.nested(fields, "inherit", .spawnInherit) {
            spawn.inheritWorkspace = context.bool(inherit, "workspace")?.value ?? true
            spawn.inheritProject = context.bool(inherit, "project")?.value ?? true
            spawn.inheritTargets = context.bool(inherit, "target_files")?.value ?? false
        }
        if !many {
            let goal = context.nonEmptyString(fields, "goal", required: true)
            spawn.workflow = context.nonEmptyString(fields, "workflow")
            guard let goal else { return nil }
            spawn.goal = goal
            return spawn
        }
        let fromVar = context.nonEmptyString(fields, "from_var", required: true)
        let jsonPath = context.nonEmptyString(fields, "json_path")
        let maxTasks = context.int(fields, "max_tasks")?.value ?? 5
        let queue = context.bool(fields, "queue")?.value ?? true
        guard let mapping = context.nested(fields, "mapping", .generateMapping, required: true) else { return nil }
        let goal = context.nonEmptyString(mapping, "goal", required: true)
        let workflow = context.nonEmptyString(mapping, "workflow")
        let name = context.nonEmptyString(mapping, "name")
        guard let fromVar, let goal else { return nil }
        spawn.many = SpawnSpec.Many(fromVar: fromVar, jsonPath: jsonPath, goal: goal, workflow: workflow, name: name, maxTasks: maxTasks, queue: queue)
        return spawn
    }

    /// `item_select_config` (strategy, metric_var, weights, threshold, store_result, tie_break).
    static func decodeItemSelect(_ fields: Fields, context: DecodeContext) -> ItemSelectSpec? {
        let strategy = context.enumValue(fields, "strategy", ItemSelectSpec.Strategy.self, required: true)
        let metric = context.nonEmptyString(fields, "metric_var")
        let tieBreak = context.enumValue(fields, "tie_break", ItemSelectSpec.TieBreak.self)
        func number(_ node: Node) -> Double? {
            switch node.scalar?.value {
            case .int(let value)?: return Double(value)
            case .float(let value)?: return value
            default: return nil
            }
        }
        var threshold: Double?
        if let entry = fields.entry("threshold"), !entry.value.isNull {
            context.value(entry.value, .number, key: "threshold", anchor: entry.key.range, quiet: true)
            threshold = number(entry.value)
        }
        var weights: [(key: String, value: Double)] = []
        if let entry = fields.entry("weights"), !entry.value.isNull {
            context.value(entry.value, .numberMap, key: "weights", anchor: entry.key.range, quiet: true)
            for pair in entry.value.mapping ?? [] {
                if let name = pair.key.scalar?.text, let weight = number(pair.value) { weights.append((name, weight)) }
            }
        }
        var target: (store: Located<String>, key: Located<String>)?
        if let result = context.nested(fields, "store_result", .storeTarget) {
            let store = context.nonEmptyString(result, "namespace", required: true)
            let key = context.nonEmptyString(result, "key", required: true)
            if let store, let key { target = (store, key) }
        }
        guard let strategy else { return nil }
        var spec = ItemSelectSpec(strategy: strategy)
        spec.metricVar = metric
        spec.weights = weights
        spec.threshold = threshold
        spec.storeResult = target
        spec.tieBreak = tieBreak?.value ?? .first
        if strategy.value != .weighted, metric == nil { context.missing("metric_var", in: fields, what: "VARIABLE") }
        if strategy.value == .threshold, threshold == nil { context.missing("threshold", in: fields, what: "NUMBER") }
        if strategy.value == .weighted, weights.isEmpty { context.missing("weights", in: fields, what: "{VARIABLE: WEIGHT}") }
        return spec
    }
}
