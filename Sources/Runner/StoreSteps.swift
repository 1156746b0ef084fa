import Compiler
import JSON
import Manifest
import Store

// A step's store reads, store writes and spawned tasks (docs/stores.md). `store_inputs` are
// read before the step is decided (its prehook and command see them); `store_outputs` and
// `store_put` are written after it succeeded, before its other post-actions; `spawn_task(s)`
// create tasks linked to the task, at most once per spawn key (a step that runs again after a
// kill -9 finds its children and creates none twice). Events carry keys and versions, never
// values.

/// What `store_inputs` gave a step.
struct BoundStoreInputs {
    var variables: [(key: String, value: JSONValue)] = []
    /// Why the step fails without running (a required key without value, a provider failure).
    var refusal: String?
}

extension TaskRunner {
    func storeAccess(_ name: String) throws -> WorkflowStoreAccess {
        try WorkflowStoreAccess(store: name, project: task.project, catalog: pinned.storeCatalog, tasks: tasks, environment: options.environment)
    }

    /// A key or goal with its placeholders filled (unknown ones stay as written).
    func renderStoreText(_ text: String, step: CompiledStep, item: ItemState?, cycle: Int) -> String {
        guard text.contains("{") else { return text }
        return Placeholders.renderPrompt(text, values: placeholderValues(for: [text], step: step, item: item, cycle: cycle)).text
    }

    /// Reads the step's `store_inputs` and binds them in the item's (or the task's) scope.
    func bindStoreInputs(_ step: CompiledStep, cycle: Int, item: ItemState?) throws -> BoundStoreInputs {
        var bound = BoundStoreInputs()
        guard !step.storeInputs.isEmpty else { return bound }
        var events: [NewEvent] = []
        var notes: [String] = []
        for read in step.storeInputs {
            let key = renderStoreText(read.key, step: step, item: item, cycle: cycle)
            var payload: [(key: String, value: JSONValue)] = [
                ("store", .string(read.store)), ("key", .string(key)), ("as_var", .string(read.asVariable)), ("required", .bool(read.required)),
            ]
            do {
                let access = try storeAccess(read.store)
                payload.append(("provider", .string(access.providerDescription)))
                if let found = try access.get(key) {
                    bound.variables.append((read.asVariable, found.value))
                    payload.append(("found", .bool(true)))
                    if let version = found.version { payload.append(("version", .int(Int64(version)))) }
                } else {
                    payload.append(("found", .bool(false)))
                    if read.required {
                        bound.refusal = bound.refusal ?? "store_inputs: the required key \(key) of store \(read.store) holds no value"
                    } else {
                        notes.append("store_inputs: \(read.store)/\(key) holds no value; `\(read.asVariable)` is not set")
                    }
                }
            } catch {
                payload.append(("found", .bool(false)))
                payload.append(("error", .string("\(error)")))
                bound.refusal = bound.refusal ?? "store_inputs: \(error)"
            }
            events.append(NewEvent(.storeRead, cycle: cycle, step: step.id, item: item?.id, payload: masker.mask(.object(payload))))
        }
        try tasks.write { writer in for event in events { try writer.append(event, task: taskID) } }
        for (key, value) in bound.variables {
            if let item { item.vars[key] = value } else { ledger.taskVars[key] = value }
        }
        for note in notes { progress(.note("\(step.id)\(item.map { " [\($0.id)]" } ?? ""): \(masker.mask(note))"), cycle: cycle) }
        return bound
    }

    /// The value of a variable a store write or spawn_tasks reads: a pipeline variable, the
    /// step's own output, else the key of that name in the step's JSON output.
    func storeSourceValue(_ name: String, step: CompiledStep, item: ItemState?, raw: RawOutput?) -> JSONValue? {
        if let value = item?.vars[name] ?? ledger.taskVars[name] { return value }
        guard let raw else { return nil }
        let text = String(decoding: raw.stdout, as: UTF8.self)
        if name == PrehookVariables.outputVariable(step.id) { return .string(text) }
        if case .object(let pairs)? = JSONOutput.extract(from: text) { return pairs.first { $0.key == name }?.value }
        return nil
    }

    /// `store_outputs` then `store_put` post-actions, in order. Returns the problems (a write that
    /// did not happen fails the step).
    func writeStoreOutputs(_ step: CompiledStep, cycle: Int, item: ItemState?, raw: RawOutput?, stepSucceeded: Bool) throws -> [String] {
        // item_select's store_result only when it chose a winner (else the step says it did nothing).
        let selected = step.itemSelect?.storeResult.flatMap { (item?.vars ?? ledger.taskVars)[PrehookVariables.itemSelectResult] != nil ? $0 : nil }
        let writes = step.storeOutputs + [selected].compactMap { $0 } + step.postActions.compactMap(\.storePut)
        guard !writes.isEmpty else { return [] }
        var problems: [String] = []
        for write in writes {
            let key = renderStoreText(write.key, step: step, item: item, cycle: cycle)
            var payload: [(key: String, value: JSONValue)] = [
                ("store", .string(write.store)), ("key", .string(key)), ("from_var", .string(write.fromVariable)),
            ]
            var problem: String?
            if !stepSucceeded {
                problem = "the step failed, so \(write.store)/\(key) was not written"
            } else if let value = storeSourceValue(write.fromVariable, step: step, item: item, raw: raw) {
                do {
                    let access = try storeAccess(write.store)
                    // Stored masked, like everything the task keeps: a secret an agent printed is
                    // not written to the store in the clear.
                    let written = try access.put(key, value: masker.mask(value), task: taskID, step: step.id)
                    payload.append(("provider", .string(access.providerDescription)))
                    if let version = written.version { payload.append(("version", .int(Int64(version)))) }
                    if !written.pruned.isEmpty { payload.append(("pruned", .array(written.pruned.map { .string($0) }))) }
                    try tasks.write { writer in
                        try writer.append(NewEvent(.storeWritten, cycle: cycle, step: step.id, item: item?.id, payload: masker.mask(.object(payload))), task: taskID)
                    }
                    continue
                } catch {
                    problem = "\(error)"
                }
            } else {
                problem = "`\(write.fromVariable)` has no value (no step set it and the step's output has no such key), so \(write.store)/\(key) was not written"
            }
            guard let problem else { continue }
            payload.append(("reason", .string(problem)))
            try tasks.write { writer in
                try writer.append(NewEvent(.storeWriteFailed, cycle: cycle, step: step.id, item: item?.id, payload: masker.mask(.object(payload))), task: taskID)
            }
            if stepSucceeded { problems.append(problem) } else {
                progress(.note("\(step.id)\(item.map { " [\($0.id)]" } ?? ""): \(masker.mask(problem))"), cycle: cycle)
            }
        }
        return problems
    }

    /// One task to spawn.
    struct SpawnRequest {
        var goal: String
        var workflow: String
        var name: String?
        var key: String
        var binding: SpawnBinding
    }

    /// The step's `spawn_task`/`spawn_tasks` post-actions (after it succeeded).
    func spawnTasks(_ step: CompiledStep, cycle: Int, item: ItemState?, raw: RawOutput?) throws {
        var requests: [SpawnRequest] = []
        var refusals: [(reason: String, payload: [(key: String, value: JSONValue)])] = []
        let base = "\(taskID)/c\(cycle)/\(step.id)/\(item?.id ?? "-")"
        for (index, action) in step.postActions.enumerated() {
            guard let spawn = action.spawn else { continue }
            if let goal = spawn.goal {
                requests.append(
                    SpawnRequest(
                        goal: renderStoreText(goal, step: step, item: item, cycle: cycle), workflow: spawn.workflow ?? task.workflow, name: nil,
                        key: "\(base)/\(index)/0", binding: spawn))
                continue
            }
            guard let variable = spawn.fromVariable else { continue }
            var document = storeSourceValue(variable, step: step, item: item, raw: raw)
            if case .string(let text)? = document { document = JSONOutput.extract(from: text) }
            var array = document
            if let pathText = spawn.jsonPath, let found = document {
                array = (try? JSONPath(pathText))?.evaluate(found)
            }
            guard let elements = array?.arrayValue else {
                refusals.append(
                    ("spawn_tasks: `\(variable)`\(spawn.jsonPath.map { " at \($0)" } ?? "") is not a JSON array; no task was spawned",
                     [("from_var", .string(variable))]))
                continue
            }
            func pick(_ path: String?, _ element: JSONValue) -> String? {
                guard let path else { return nil }
                guard path.hasPrefix("$") else { return path }
                return (try? JSONPath(path))?.evaluate(element).map(PipelineValue.text)
            }
            for (position, element) in elements.enumerated() {
                guard position < spawn.maxTasks else {
                    refusals.append(
                        ("spawn_tasks: \(elements.count) elements, max_tasks is \(spawn.maxTasks); \(elements.count - spawn.maxTasks) were not spawned",
                         [("limit", .string("max_tasks")), ("max_tasks", .int(Int64(spawn.maxTasks))), ("elements", .int(Int64(elements.count)))]))
                    break
                }
                guard let goal = pick(spawn.goalPath, element), !goal.isEmpty else {
                    refusals.append(("spawn_tasks: element \(position) has no goal at \(spawn.goalPath ?? "?")", [("element", .int(Int64(position)))]))
                    continue
                }
                requests.append(
                    SpawnRequest(
                        goal: goal, workflow: pick(spawn.workflowPath, element) ?? task.workflow, name: pick(spawn.namePath, element),
                        key: "\(base)/\(index)/\(position)", binding: spawn))
            }
        }
        for refusal in refusals { try recordSpawnRefused(refusal.reason, payload: refusal.payload, step: step, cycle: cycle, item: item) }
        guard !requests.isEmpty else { return }

        let depth = (try tasks.lineage(of: taskID)?.depth ?? 0) + 1
        for request in requests {
            let payload: [(key: String, value: JSONValue)] = [
                ("workflow", .string(request.workflow)), ("goal", .string(request.goal)), ("depth", .int(Int64(depth))), ("spawn_key", .string(request.key)),
            ]
            if depth > graph.safety.maxSpawnDepth {
                try recordSpawnRefused(
                    "spawn refused: the child would be at depth \(depth), beyond safety.max_spawn_depth \(graph.safety.maxSpawnDepth)",
                    payload: payload + [("limit", .string("max_spawn_depth")), ("max_spawn_depth", .int(Int64(graph.safety.maxSpawnDepth)))],
                    step: step, cycle: cycle, item: item)
                continue
            }
            let queue = options.claim != nil && request.binding.queue
            let limit = graph.safety.maxSpawnedTasks
            let project = request.binding.inheritProject ? task.project : "default"
            var origin: [(key: String, value: JSONValue)] = [
                ("kind", .string("spawn")), ("parent", .string(taskID)), ("step", .string(step.id)), ("cycle", .int(Int64(cycle))),
                ("depth", .int(Int64(depth))),
            ]
            if let item { origin.append(("item", .string(item.id))) }
            do {
                let created = try TaskCreation.create(
                    store: resources, tasks: tasks, project: project, workflow: request.workflow,
                    workspace: request.binding.inheritWorkspace && request.binding.inheritProject ? task.workspace : nil, goal: request.goal,
                    name: request.name, options: TaskOptions(targets: request.binding.inheritTargets ? task.options.targets : []),
                    origin: .object(origin), queue: queue,
                    within: { [taskID, masker] writer, child in
                        if try writer.spawnedChild(key: request.key) != nil { throw SpawnSkip.alreadySpawned }
                        let count = try writer.spawnedCount(parent: taskID)
                        if count >= limit { throw SpawnSkip.limit(count) }
                        try writer.linkSpawn(child: child.id, parent: taskID, depth: depth, key: request.key)
                        try writer.append(
                            NewEvent(
                                .taskSpawned, cycle: cycle, step: step.id, item: item?.id,
                                payload: masker.mask(
                                    .object(
                                        payload + [
                                            ("child", .string(child.id)), ("queued", .bool(queue)), ("start", .bool(request.binding.queue)),
                                        ]))),
                            task: taskID)
                    })
                let how = queue ? "queued" : request.binding.queue ? "runs after this task" : "created (queue: false; start it with `task start`)"
                progress(
                    .note("\(step.id): spawned task \(created.task.id) (workflow \(request.workflow), depth \(depth)): \(how)"), cycle: cycle)
            } catch SpawnSkip.alreadySpawned {
                continue
            } catch SpawnSkip.limit(let count) {
                try recordSpawnRefused(
                    "spawn refused: this task spawned \(count) task\(count == 1 ? "" : "s") already, safety.max_spawned_tasks is \(limit)",
                    payload: payload + [("limit", .string("max_spawned_tasks")), ("max_spawned_tasks", .int(Int64(limit)))],
                    step: step, cycle: cycle, item: item)
            } catch {
                try recordSpawnRefused(
                    "spawn failed: \(error)", payload: payload + [("error", .string("\(error)"))], step: step, cycle: cycle, item: item)
            }
        }
    }

    enum SpawnSkip: Error {
        case alreadySpawned
        case limit(Int)
    }

    func recordSpawnRefused(_ reason: String, payload: [(key: String, value: JSONValue)], step: CompiledStep, cycle: Int, item: ItemState?) throws {
        try tasks.write { writer in
            try writer.append(
                NewEvent(.spawnRefused, cycle: cycle, step: step.id, item: item?.id, payload: masker.mask(.object(payload + [("reason", .string(reason))]))),
                task: taskID)
        }
        progress(.note("\(step.id)\(item.map { " [\($0.id)]" } ?? ""): \(masker.mask(reason))"), cycle: cycle)
    }
}

// MARK: - item_select

/// The winner of an `item_select` step.
struct ItemSelection {
    var itemID: String
    var label: String?
    var score: Double
    var strategy: ItemSelectSpec.Strategy
    /// How many items had a score.
    var candidates: Int

    var result: JSONValue {
        .object([
            ("item_id", .string(itemID)), ("label", label.map { .string($0) } ?? .null), ("score", .double(score)),
            ("strategy", .string(strategy.rawValue)), ("candidates", .int(Int64(candidates))),
        ])
    }
}

extension TaskRunner {
    /// Picks the winning item by `item_select_config` (docs/stores.md "Item selection"): min or
    /// max of `metric_var`, the best at or above `threshold`, or the highest weighted sum of
    /// variables. Items without a numeric value do not compete. Either the winner, or why there
    /// is none.
    func selectItem(_ select: ItemSelectBinding) -> Result<ItemSelection, RunnerError> {
        func number(_ value: JSONValue?) -> Double? {
            switch value {
            case .int(let number)?: return Double(number)
            case .double(let number)?: return number
            case .string(let text)?: return Double(text.trimmingWhitespace())
            case .bool(let flag)?: return flag ? 1 : 0
            default: return nil
            }
        }
        var scored: [(item: ItemState, score: Double)] = []
        var unscored: [String] = []
        for item in activeItems() where item.record.origin != "task" {
            let score: Double?
            if select.strategy == .weighted {
                var sum = 0.0
                var complete = true
                for (name, weight) in select.weights.sorted(by: { $0.key < $1.key }) {
                    guard let value = number(item.vars[name] ?? ledger.taskVars[name]) else {
                        complete = false
                        break
                    }
                    sum += weight * value
                }
                score = complete ? sum : nil
            } else {
                score = select.metricVariable.flatMap { number(item.vars[$0]) }
            }
            if let score { scored.append((item, score)) } else { unscored.append(item.id) }
        }
        let what = select.strategy == .weighted ? "the weighted variables " + select.weights.keys.sorted().joined(separator: ", ") : "`\(select.metricVariable ?? "?")`"
        guard !scored.isEmpty else {
            return .failure(
                RunnerError(
                    unscored.isEmpty
                        ? "item_select: there are no items to select from"
                        : "item_select: no item has a numeric \(what) (\(unscored.count) item\(unscored.count == 1 ? "" : "s") without one)"))
        }
        var pool = scored
        if select.strategy == .threshold, let threshold = select.threshold {
            pool = scored.filter { $0.score >= threshold }
            guard !pool.isEmpty else {
                let best = scored.map(\.score).max() ?? 0
                return .failure(RunnerError("item_select: no item reaches the threshold \(threshold) of \(what) (the best has \(best))"))
            }
        }
        let target = select.strategy == .min ? pool.map(\.score).min() : pool.map(\.score).max()
        let best = pool.filter { $0.score == target }
        let chosen: (item: ItemState, score: Double)?
        switch select.tieBreak {
        case .first: chosen = best.first
        case .last: chosen = best.last
        case .random: chosen = best.randomElement()
        }
        guard let chosen else { return .failure(RunnerError("item_select: no winner")) }
        return .success(
            ItemSelection(itemID: chosen.item.id, label: chosen.item.record.label, score: chosen.score, strategy: select.strategy, candidates: scored.count))
    }
}
