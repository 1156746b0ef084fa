import Runner
import Compiler
import Diagnostics
import JSON
import Manifest

/// `orchestrator plan -f ... [--workflow W] [--project P] [--cycles N] [-o text|json|dot|mermaid]`.
struct PlanCommand: Command {
    static let name = "plan"
    static let summary = "show the compiled step graph unrolled per cycle (runs nothing)"
    static let usage = """
        Usage: orchestrator plan -f FILE|DIR|- [-f ...] [--workflow W] [-p P] [--strict] [--cycles N] [-o text|json|dot|mermaid]

        Compiles the files (as `validate` does) and unrolls each workflow per cycle: the segments,
        and for every cycle each step's decision: run, skip (why) or conditional (on which
        run-time variables), with the agent and template it would use and where guards may stop
        the loop. Without --workflow every workflow of the files is planned, one after the other
        (-o json: one object for one workflow, an array of them for several).
        An infinite loop without max_cycles is unrolled --cycles N times (default 3); for other
        loops --cycles caps the cycles shown.
        Exit 0 with the plan, 1 when the files have errors (the diagnostics go to stderr), 2 on
        bad usage (also: no such workflow). See docs/planning.md.
        """
    var files: [String] = []
    var workflow: String?
    var project: String?
    var cycles: Int?
    var output = Output.text
    var color = ColorChoice.auto
    var strict = false
    var maxErrors: Int?
    var stray: [String] = []

    static var options: [Option<Self>] {
        [
            .filename(\.files),
            .value(\.workflow, "-W", "--workflow", value: "W", help: "plan only the workflow(s) named W"),
            .project(\.project),
            .strict(\.strict),
            .integer(\.cycles, "--cycles", value: "N", help: "cycles to unroll for an infinite loop without max_cycles (default 3); caps the others"),
            .output(\.output),
            .color(\.color),
            .maxErrors(\.maxErrors),
        ]
    }
    static var positionals: Positionals<Self>? { Positionals(\.stray) }

    enum Output: String, OptionChoice {
        case text, json, dot, mermaid
        static var aliases: [String: Output] { ["table": .text] }
    }

    func run(context: CommandContext) -> ExitStatus {
        do throws(UsageError) {
            if cycles == 0 { throw UsageError("`--cycles` must be at least 1") }
            let report = DiagnosticOptions(color: color, maxErrors: maxErrors)
            let checked = try ManifestCheck.load(files, project: project, stray: stray, strict: strict, context: context, limit: report.limit)
            if !checked.diagnostics.isEmpty {
                report.emit(
                    checked.diagnostics, sources: checked.sources, files: checked.sources.count,
                    context: context, rules: ManifestCheck.rules, skipped: checked.skipped)
            }
            if checked.hasErrors { return .findings }
            var graphs = checked.compilation.workflows
            if let wanted = workflow {
                graphs = graphs.filter { $0.name == wanted }
                if graphs.isEmpty {
                    let names = checked.compilation.workflows.map(\.name)
                    throw UsageError(
                        "no workflow named `\(wanted)` in the given files",
                        help: Suggestions.closest(to: wanted, in: names).map { "did you mean `\($0)`?" }
                            ?? (names.isEmpty ? "the files define no Workflow" : "workflows: " + names.joined(separator: ", ")))
                }
            }
            guard !graphs.isEmpty else {
                throw UsageError("the given files define no Workflow", help: "pass the file that defines the workflow with -f")
            }
            let plans = graphs.map { Planner.plan($0, cycles: cycles) }
            // The shell, environment and redaction the steps would run with (the project's
            // RuntimePolicy in the files, else the defaults): a line after each plan.
            func runtime(_ graph: WorkflowGraph) -> Result<RuntimePolicy, RunnerError> {
                Result { () throws(RunnerError) -> RuntimePolicy in
                    let policy = try RuntimePolicy.of(checked.resources.filter { $0.resolvedProject == graph.project }, project: graph.project)
                    _ = try policy.redaction()
                    return policy
                }
            }
            func runtimeLine(_ graph: WorkflowGraph) -> String {
                switch runtime(graph) {
                case .success(let policy): return "runtime: " + policy.summary + (policy.refusal.map { "; REFUSED: \($0)" } ?? "") + "\n"
                case .failure(let error): return "runtime: \(error.message)\n"
                }
            }
            switch output {
            case .text: context.stdout.write(zip(plans, graphs).map { PlanText.render($0.0) + runtimeLine($0.1) }.joined(separator: "\n"))
            case .json:
                // The keys of cli.md's contract only (the runtime policy is in `task info -o json`).
                let value: JSONValue = plans.count == 1 ? PlanJSON.value(plans[0]) : .array(plans.map(PlanJSON.value))
                context.stdout.write(JSONWriter(pretty: true).string(value) + "\n")
            case .dot: context.stdout.write(plans.map(PlanGraphviz.render).joined(separator: "\n"))
            case .mermaid: context.stdout.write(plans.map(PlanMermaid.render).joined(separator: "\n"))
            }
            return .success
        } catch {
            Orchestrator.reportUsage(error, context: context)
            return .usage
        }
    }
}

// MARK: - Words shared by the renderers

extension FailurePolicy {
    /// `continue`, `early_return`, `set_status: blocked`.
    var words: String { status.map { "\(action.rawValue): \($0)" } ?? action.rawValue }
}

extension CompiledStep {
    /// `agent plan -> architect`, `builtin self_test`, `command`, `chain of 3`.
    var kindWords: String {
        switch kind {
        case .agent(let capability): return "agent \(capability) -> " + (agent?.name ?? "(no agent)")
        case .builtin(let builtin): return "builtin \(builtin.rawValue)"
        case .command: return "command"
        case .chain: return "chain of \(children.count)"
        }
    }
}

extension Plan {
    /// What a guard does at the end of a cycle, in words.
    func guardWords(_ step: CompiledStep) -> String {
        guard step.kind == .builtin(.loop_guard) else { return "guard step: may stop the loop" }
        var ways: [String] = []
        if workflow.loop.stopWhenNoUnresolved { ways.append("no item is unresolved") }
        for rule in workflow.loop.convergence { ways.append("`\(rule.when.text)` holds") }
        return ways.isEmpty ? "cannot stop the loop (stop_when_no_unresolved is false and there is no convergence_expr)"
            : "stops the loop when " + ways.joined(separator: " or ")
    }

    /// What may end the loop before its cycle limit: guards that can stop it, convergence_expr.
    var stoppers: [String] {
        var names = workflow.guards.filter { step in
            step.kind != .builtin(.loop_guard) || workflow.loop.stopWhenNoUnresolved || !workflow.loop.convergence.isEmpty
        }.map(\.id)
        if !workflow.loop.convergence.isEmpty { names.append("convergence_expr") }
        return names
    }

    /// ` unless loop_guard or convergence_expr stops the loop`, or "" when nothing can.
    var unlessStopped: String {
        stoppers.isEmpty ? "" : " unless " + stoppers.joined(separator: " or ") + " stops the loop"
    }

    /// `fixed, 2 cycles`, `infinite, no max_cycles: showing 3 cycles`.
    var loopWords: String {
        let loop = workflow.loop
        var text: String
        switch loop.mode {
        case .once: text = loop.enabled ? "once: 1 cycle" : "once: 1 cycle (loop.enabled is false)"
        case .fixed: text = "fixed: \(cycleLimit ?? 1) cycles" + unlessStopped
        case .infinite:
            text = cycleLimit.map { "infinite, at most \($0) cycles (max_cycles)" + unlessStopped }
                ?? "infinite, no max_cycles: runs until " + stoppers.joined(separator: " or ") + " stops it"
        }
        if truncated {
            text += "; the plan shows the first \(cycles.count) cycle" + (cycles.count == 1 ? "" : "s")
            if cycleLimit == nil { text += " (--cycles N to show more)" }
        }
        return text
    }
}

// MARK: - safety points

/// Where a cycle takes its checkpoint, may roll back and checks invariants (docs/safety.md), for
/// `plan` (text and JSON) from the compiled graph.
enum PlanSafety {
    struct Point {
        /// `before_cycle`, `after_segment`, `before_complete`.
        var at: String
        var label: String
        var what: String
        var afterSegment: Int?
        /// The step it follows at once (a rollback follows the self_test step).
        var afterStep: String?
    }

    static func points(_ graph: WorkflowGraph, cycle: Int) -> [Point] {
        var points: [Point] = []
        let safety = graph.safety
        let checkpoint = safety.checkpointStrategy != .none
        let ref = (safety.checkpointStrategy == .git_tag ? "tag " : "ref ") + "orchestrator/TASK/c\(cycle)"
        if checkpoint {
            points.append(Point(at: "before_cycle", label: "checkpoint", what: "the workspace is committed to \(ref) (git, a private index; HEAD untouched)"))
        }
        func invariants(_ point: CompiledInvariant.CheckPoint) -> [CompiledInvariant] {
            safety.invariants.filter { $0.checkAt.contains(point) }
        }
        func describe(_ invariant: CompiledInvariant) -> String {
            "invariant \(invariant.name) (on_violation \(invariant.onViolation.rawValue))"
        }
        for invariant in invariants(.beforeCycle) { points.append(Point(at: "before_cycle", label: "check", what: describe(invariant))) }
        for segment in graph.segments {
            let steps = segment.stepIDs.compactMap { graph.step($0) }
            for test in steps where safety.autoRollback && test.enabled && test.kind == .builtin(.self_test) {
                points.append(
                    Point(
                        at: "after_step", label: "rollback",
                        what: checkpoint
                            ? "if self_test fails: the workspace returns to \(ref); the failed state is kept on orchestrator/TASK/failed-c\(cycle)"
                            : "if self_test fails: nothing to return to (no checkpoint_strategy)",
                        afterSegment: nil, afterStep: test.id))
            }
            if steps.contains(where: { $0.isImplementStep }) {
                for invariant in invariants(.afterImplement) {
                    points.append(Point(at: "after_segment", label: "check", what: describe(invariant) + " after implement", afterSegment: segment.index))
                }
            }
        }
        for invariant in invariants(.beforeComplete) {
            points.append(Point(at: "before_complete", label: "check", what: describe(invariant) + " before the task completes"))
        }
        return points
    }
}

// MARK: - stores and spawns

/// A step's store reads and writes and its spawn points (docs/stores.md), for `plan`.
enum PlanStores {
    static func lines(_ step: CompiledStep, safety: SafetyPolicy) -> [String] {
        var lines: [String] = []
        for read in step.storeInputs {
            lines.append("reads   \(read.store)/\(read.key) -> \(read.asVariable)" + (read.required ? " (required: the step fails without it)" : ""))
        }
        for write in step.storeOutputs + step.postActions.compactMap(\.storePut) {
            lines.append("writes  \(write.store)/\(write.key) <- \(write.fromVariable) (after the step succeeds)")
        }
        for spawn in step.postActions.compactMap(\.spawn) { lines.append("spawns  " + words(spawn, safety: safety)) }
        return lines
    }

    static func words(_ spawn: SpawnBinding, safety: SafetyPolicy) -> String {
        let what: String
        if spawn.goal != nil {
            what = "a task of \(spawn.workflow ?? "this workflow")"
        } else {
            what = "a task per element of \(spawn.fromVariable ?? "?")\(spawn.jsonPath.map { " at \($0)" } ?? "") (at most \(spawn.maxTasks))"
        }
        if safety.maxSpawnDepth == 0 { return what + ": refused, safety.max_spawn_depth is 0" }
        return what + " (children to depth \(safety.maxSpawnDepth), at most \(safety.maxSpawnedTasks) per task"
            + (spawn.queue ? ")" : "; created, not started)")
    }

    /// `store_reads`, `store_writes` and `spawns`, only on steps that have them.
    static func json(_ step: CompiledStep, safety: SafetyPolicy) -> [(key: String, value: JSONValue)] {
        var pairs: [(key: String, value: JSONValue)] = []
        if !step.storeInputs.isEmpty {
            pairs.append(
                ("store_reads", .array(step.storeInputs.map {
                    .object([("store", .string($0.store)), ("key", .string($0.key)), ("as_var", .string($0.asVariable)), ("required", .bool($0.required))])
                })))
        }
        let writes = step.storeOutputs + step.postActions.compactMap(\.storePut)
        if !writes.isEmpty {
            pairs.append(
                ("store_writes", .array(writes.map { .object([("store", .string($0.store)), ("key", .string($0.key)), ("from_var", .string($0.fromVariable))]) })))
        }
        let spawns = step.postActions.compactMap(\.spawn)
        if !spawns.isEmpty {
            pairs.append(
                ("spawns", .array(spawns.map { spawn in
                    .object([
                        ("workflow", spawn.workflow.map { .string($0) } ?? .null), ("from_var", spawn.fromVariable.map { .string($0) } ?? .null),
                        ("max_tasks", .int(Int64(spawn.maxTasks))), ("max_spawn_depth", .int(Int64(safety.maxSpawnDepth))),
                        ("max_spawned_tasks", .int(Int64(safety.maxSpawnedTasks))), ("what", .string(words(spawn, safety: safety))),
                    ])
                })))
        }
        return pairs
    }
}

// MARK: - text

enum PlanText {
    static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }

    static func render(_ plan: Plan) -> String {
        let graph = plan.workflow
        var out = "workflow \(graph.name) (project \(graph.project), \(graph.file))\n"
        out += "  hash   sha256:\(graph.contentHash)\n"
        out += "  loop   \(plan.loopWords)\n"
        if let source = plan.workflow.itemsFrom {
            // Where the items come from, and what decides each (state-files.md, items_from).
            out += "  items  the tasks of \(source.tasksJSON) where \(source.when); each task's verify is its gate, "
                + "requires_eval waits for the `evaluate` step's approval\n"
        }
        for note in graph.settingsNotExecuted { out += "  note   not executed by this runner: \(note)\n" }
        func width(_ step: CompiledStep, depth: Int) -> Int {
            step.children.reduce(step.id.count + 2 * depth) { max($0, width($1, depth: depth + 1)) }
        }
        let idWidth = min(28, (graph.steps.map { width($0, depth: 0) }.max() ?? 0) + 2)

        out += "\nsegments\n"
        for segment in graph.segments {
            var line = "  \(segment.index). \(segment.scope.rawValue)  " + segment.stepIDs.joined(separator: ", ")
            if segment.scope == .item {
                line += "  (up to \(segment.maxParallel) item\(segment.maxParallel == 1 ? "" : "s") at once"
                line += segment.staggerDelayMs > 0 ? ", \(segment.staggerDelayMs) ms apart)" : ")"
            }
            out += line + "\n"
        }
        for step in graph.guards { out += "  guard  \(step.id): \(plan.guardWords(step))\n" }
        let disabled = graph.steps.filter { !$0.enabled }
        if !disabled.isEmpty { out += "  disabled  " + disabled.map(\.id).joined(separator: ", ") + "\n" }

        out += "\nsteps\n"
        for step in graph.steps { out += describe(step, indent: "  ", idWidth: idWidth, safety: graph.safety) }

        for cycle in plan.cycles {
            let facts = cycle.facts
            let limitText = plan.cycleLimit.map { " of \($0)" } ?? ""
            out += "\ncycle \(cycle.cycle)\(limitText)  (cycle=\(facts.cycle), max_cycles=\(facts.maxCycles), is_last_cycle=\(facts.isLastCycle))\n"
            let planned = Dictionary(cycle.steps.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
            let decisions = planned.mapValues(\.decision)
            let safety = PlanSafety.points(graph, cycle: cycle.cycle)
            for point in safety where point.at == "before_cycle" { out += "  " + pad(point.label, 12) + point.what + "\n" }
            for segment in graph.segments {
                out += "  segment \(segment.index) (\(segment.scope.rawValue))\n"
                for id in segment.stepIDs {
                    if let step = planned[id] { out += decisionLines(step, indent: "    ", idWidth: idWidth) }
                    for point in safety where point.afterStep == id { out += "    " + pad(point.label, 12) + point.what + "\n" }
                }
                for point in safety where point.afterSegment == segment.index { out += "    " + pad(point.label, 12) + point.what + "\n" }
            }
            for point in safety where point.at == "before_complete" { out += "  " + pad(point.label, 12) + point.what + "\n" }
            let guards = graph.guards
            if !guards.isEmpty {
                out += "  guards\n"
                for step in guards {
                    if let decision = decisions[step.id] {
                        out += decisionLine(step.id, decision, idWidth: idWidth, note: plan.guardWords(step))
                    }
                }
            }
            for step in graph.steps where !step.enabled {
                if let decision = decisions[step.id] { out += decisionLine(step.id, decision, idWidth: idWidth) }
            }
            out += "  -> " + continuation(plan, cycle: cycle.cycle) + "\n"
            if let repeated = plan.repeated, repeated.sameAs == cycle.cycle {
                out += "\ncycles \(repeated.first)-\(repeated.last): as cycle \(repeated.sameAs)\n"
            }
        }
        return out
    }

    static func continuation(_ plan: Plan, cycle: Int) -> String {
        let unless = plan.unlessStopped
        if let limit = plan.cycleLimit, cycle >= limit {
            return limit == 1 && plan.workflow.loop.mode == .once ? "the loop ends (once)" : "the loop ends (cycle limit \(limit) reached)"
        }
        if cycle == plan.cycles.count { return "cycle \(cycle + 1) follows\(unless) (not shown)" }
        return "cycle \(cycle + 1) follows\(unless)"
    }

    /// A step's decision line, then its children's (a chain), indented.
    static func decisionLines(_ step: PlannedStep, indent: String, idWidth: Int) -> String {
        var out = decisionLine(step.id, step.decision, idWidth: idWidth, indent: indent)
        for child in step.children { out += decisionLines(child, indent: indent + "  ", idWidth: max(0, idWidth - 2)) }
        return out
    }

    static func decisionLine(_ id: String, _ decision: StepDecision, idWidth: Int, note: String? = nil, indent: String = "    ") -> String {
        var line = indent + pad(decision.verdict.rawValue, 12) + pad(id, idWidth)
        switch decision.verdict {
        case .run: line += decision.explanation ?? ""
        case .skip: line += decision.reason ?? ""
        case .conditional: line += "on " + decision.unknowns.joined(separator: ", ")
        }
        if let note { line += (line.hasSuffix(" ") ? "" : "; ") + note }
        while line.hasSuffix(" ") { line.removeLast() }
        return line + "\n"
    }

    static func describe(_ step: CompiledStep, indent: String, idWidth: Int, safety: SafetyPolicy) -> String {
        // Guards belong to no segment: they run after the cycle's segments.
        var parts = [step.kindWords] + (step.isGuard ? [] : [step.scope.rawValue])
        if let template = step.template { parts.append("template \(template.name)") }
        if let profile = step.profile, profile.name != "host" || !profile.resolved {
            parts.append("profile \(profile.name)" + (profile.resolved ? "" : " (not in the given files)"))
        }
        if !step.repeatable { parts.append("cycle 1 only") }
        if step.isGuard { parts.append("guard") }
        if !step.enabled { parts.append("disabled") }
        if step.onFailure.action != .continue { parts.append("on failure: \(step.onFailure.words)") }
        if !step.captures.isEmpty { parts.append("captures " + step.captures.map(\.variable).joined(separator: ", ")) }
        for action in step.postActions { parts.append(action.type.rawValue) }
        var out = indent + pad(step.id, idWidth) + parts.joined(separator: "; ") + "\n"
        if let prehook = step.prehook {
            out += indent + pad("", idWidth) + "prehook: \(prehook.when.text)\n"
            if let reason = prehook.reason { out += indent + pad("", idWidth) + "  (\(reason))\n" }
        }
        for line in PlanStores.lines(step, safety: safety) { out += indent + pad("", idWidth) + line + "\n" }
        for child in step.children { out += describe(child, indent: indent + "  ", idWidth: max(0, idWidth - 2), safety: safety) }
        return out
    }
}

// MARK: - json (spec/cli.md "plan -o json")

enum PlanJSON {
    static func optional(_ text: String?) -> JSONValue { text.map(JSONValue.string) ?? .null }

    static func value(_ plan: Plan) -> JSONValue {
        let graph = plan.workflow
        let steps: [JSONValue] = graph.steps.map { step in
            .object([
                ("id", .string(step.id)),
                ("kind", .string(step.kind.name)),
                ("scope", .string(step.scope.rawValue)),
                ("segment", step.segment.map { .int(Int64($0)) } ?? .null),
                ("repeatable", .bool(step.repeatable)),
                ("guard", .bool(step.isGuard)),
                ("capability", optional(step.capability)),
                ("agent", optional(step.agent?.name)),
                ("template", optional(step.template?.name)),
                ("onFailure", .string(step.onFailure.words)),
                ("prehook", optional(step.prehook?.when.text)),
            ] + PlanStores.json(step, safety: graph.safety))
        }
        let segments: [JSONValue] = graph.segments.map { segment in
            .object([
                ("index", .int(Int64(segment.index))),
                ("scope", .string(segment.scope.rawValue)),
                ("steps", .array(segment.stepIDs.map(JSONValue.string))),
                ("maxParallel", .int(Int64(segment.maxParallel))),
            ])
        }
        let cycles: [JSONValue] = plan.cycles.map { cycle in
            // `safety` only when the workflow has checkpoints, rollbacks or invariants (cli.md's
            // keys stay exactly as specified for every other workflow).
            let points = PlanSafety.points(graph, cycle: cycle.cycle)
            let safety: [(key: String, value: JSONValue)] = points.isEmpty ? [] : [
                ("safety", .array(points.map { point in
                    .object([
                        ("at", .string(point.at)), ("what", .string(point.what)),
                        ("after_segment", point.afterSegment.map { .int(Int64($0)) } ?? .null),
                        ("after_step", point.afterStep.map { .string($0) } ?? .null),
                    ])
                }))
            ]
            return .object([
                ("cycle", .int(Int64(cycle.cycle))),
            ] + safety + [
                ("steps", .array(cycle.steps.map { planned in
                    .object([
                        ("id", .string(planned.id)),
                        ("decision", .string(planned.decision.verdict.rawValue)),
                        ("reason", optional(planned.decision.reason)),
                        ("unknowns", .array(planned.decision.unknowns.map(JSONValue.string))),
                    ])
                })),
            ])
        }
        return .object([
            ("workflow", .string(graph.name)),
            ("project", .string(graph.project)),
            ("loop", .object([
                ("mode", .string(graph.loop.mode.rawValue)),
                ("maxCycles", plan.cycleLimit.map { .int(Int64($0)) } ?? .null),
            ])),
            ("steps", .array(steps)),
            ("segments", .array(segments)),
            ("cycles", .array(cycles)),
        ] + (plan.repeated.map { repeated in
            [("repeatedCycles", JSONValue.object([
                ("first", .int(Int64(repeated.first))), ("last", .int(Int64(repeated.last))), ("sameAs", .int(Int64(repeated.sameAs))),
            ]))]
        } ?? []))
    }
}

// MARK: - graphs

/// Per step, the cycles in which it does not simply run: `c1 skip (prehook_false)`.
private func cycleNotes(_ plan: Plan, _ id: String) -> [String] {
    plan.cycles.compactMap { cycle in
        guard let decision = cycle.steps.first(where: { $0.id == id })?.decision, decision.verdict != .run else { return nil }
        if decision.verdict == .skip { return "c\(cycle.cycle) skip (\(decision.skipReason?.rawValue ?? ""))" }
        return "c\(cycle.cycle) conditional"
    }
}

/// `text` with each character in `replacements` replaced.
private func escaped(_ text: String, _ replacements: [Character: String]) -> String {
    var out = ""
    for character in text { out += replacements[character] ?? String(character) }
    return out
}

/// The order steps run in within a cycle: segments in order, then guards.
private func runOrder(_ graph: WorkflowGraph) -> [String] {
    graph.segments.flatMap(\.stepIDs) + graph.guards.map(\.id)
}

enum PlanGraphviz {
    static func quote(_ text: String) -> String {
        "\"" + escaped(text, ["\\": "\\\\", "\"": "\\\"", "\n": "\\n"]) + "\""
    }

    static func label(_ plan: Plan, _ step: CompiledStep) -> String {
        var lines = [step.id, step.kindWords]
        if let template = step.template { lines.append("template \(template.name)") }
        lines += cycleNotes(plan, step.id)
        return lines.joined(separator: "\n")
    }

    static func render(_ plan: Plan) -> String {
        let graph = plan.workflow
        var out = "digraph \(quote(graph.name)) {\n"
        out += "  label=\(quote("\(graph.name) (project \(graph.project)): \(plan.loopWords)"));\n"
        out += "  labelloc=t;\n  compound=true;\n  node [shape=box, fontname=\"Helvetica\"];\n"
        for segment in graph.segments {
            out += "  subgraph cluster_\(segment.index) {\n"
            var title = "segment \(segment.index) (\(segment.scope.rawValue))"
            if segment.scope == .item { title += ", up to \(segment.maxParallel) at once" }
            out += "    label=\(quote(title));\n"
            for id in segment.stepIDs {
                if let step = graph.step(id) { out += "    \(quote("step:" + id)) [label=\(quote(label(plan, step)))];\n" }
            }
            out += "  }\n"
        }
        for step in graph.guards {
            out += "  \(quote("step:" + step.id)) [shape=diamond, label=\(quote(label(plan, step) + "\n" + plan.guardWords(step)))];\n"
        }
        for step in graph.steps where !step.enabled {
            out += "  \(quote("step:" + step.id)) [style=dashed, label=\(quote(step.id + "\ndisabled"))];\n"
        }
        let order = runOrder(graph)
        for (from, to) in zip(order, order.dropFirst()) {
            out += "  \(quote("step:" + from)) -> \(quote("step:" + to));\n"
        }
        if let first = graph.segments.first?.stepIDs.first {
            for step in graph.guards {
                out += "  \(quote("step:" + step.id)) -> \(quote("step:" + first)) [style=dashed, label=\"next cycle\", lhead=cluster_1];\n"
            }
        }
        out += "}\n"
        return out
    }
}

enum PlanMermaid {
    /// Mermaid node ids: letters, digits and `_` only.
    static func nodeID(_ id: String) -> String {
        "s_" + String(id.unicodeScalars.map { scalar in
            (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar)) && scalar.isASCII ? Character(scalar) : "_"
        })
    }

    static func text(_ text: String) -> String {
        "\"" + escaped(text, ["\"": "#quot;", "\n": "<br/>"]) + "\""
    }

    static func render(_ plan: Plan) -> String {
        let graph = plan.workflow
        var out = "---\ntitle: \(graph.name) (project \(graph.project)) \(escaped(plan.loopWords, [":": " -"]))\n---\n"
        out += "flowchart LR\n"
        for segment in graph.segments {
            var title = "segment \(segment.index) (\(segment.scope.rawValue))"
            if segment.scope == .item { title += ", up to \(segment.maxParallel) at once" }
            out += "  subgraph seg\(segment.index)[\(text(title))]\n"
            for id in segment.stepIDs {
                if let step = graph.step(id) { out += "    \(nodeID(id))[\(text(PlanGraphviz.label(plan, step)))]\n" }
            }
            out += "  end\n"
        }
        for step in graph.guards {
            out += "  \(nodeID(step.id)){{\(text(PlanGraphviz.label(plan, step) + "\n" + plan.guardWords(step)))}}\n"
        }
        for step in graph.steps where !step.enabled {
            out += "  \(nodeID(step.id))[\(text(step.id + "\ndisabled"))]\n"
            out += "  style \(nodeID(step.id)) stroke-dasharray: 5 5\n"
        }
        let order = runOrder(graph)
        for (from, to) in zip(order, order.dropFirst()) { out += "  \(nodeID(from)) --> \(nodeID(to))\n" }
        if let first = graph.segments.first?.stepIDs.first {
            for step in graph.guards { out += "  \(nodeID(step.id)) -. next cycle .-> \(nodeID(first))\n" }
        }
        return out
    }
}
