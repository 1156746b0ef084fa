import Diagnostics
import Manifest
import YAML

// One workflow -> its step graph: kinds, scopes, bindings, variables, segments, loop and safety.

/// Pure rules of step compilation that need no context.
public enum WorkflowCompiler {
    /// The item-scoped step ids (spec/manifests.md: the scope default by id).
    public static let itemScopedIDs: Set<String> = ["qa", "qa_testing", "ticket_fix", "ticket_scan", "fix", "retest"]

    /// The kind of a step, in the resolution order of spec/manifests.md.
    public static func kind(of step: StepSpec) -> StepKind {
        if step.chainSteps != nil { return .chain }
        if let command = step.command { return .command(command.value) }
        if let builtin = step.builtin { return .builtin(builtin.value) }
        if let capability = step.requiredCapability { return .agent(capability: capability.value) }
        if let builtin = Builtin(rawValue: step.stepType) { return .builtin(builtin) }
        return .agent(capability: step.stepType)
    }

    /// `scope` as written, else by id.
    public static func scope(of step: StepSpec) -> StepScope {
        step.scope?.value ?? (itemScopedIDs.contains(step.id.value) ? .item : .task)
    }

    /// `is_guard` as written, else true for the `loop_guard` builtin.
    public static func isGuard(_ step: StepSpec) -> Bool {
        if let written = step.isGuard { return written.value }
        if case .builtin(.loop_guard) = kind(of: step) { return true }
        return false
    }

    /// Every step, chain children after their chain, in order.
    static func forEachStep(_ steps: [StepSpec], _ body: (StepSpec) -> Void) {
        for step in steps {
            body(step)
            if let children = step.chainSteps { forEachStep(children, body) }
        }
    }

    /// The variables a step sets for the steps after it: `{id}_exit_code`, `{id}_output`,
    /// `{id}_output_path`, its captures, what its builtin sets, and the item variables its
    /// `generate_items` post-actions give the items they create (`mapping.vars`).
    static func declareVariables(setBy step: StepSpec, into declared: inout Declarations) {
        for (name, type) in PrehookVariables.stepVariables(stepID: step.id.value) { declared.declare(name, type) }
        for capture in step.behavior.captures {
            let type: VariableType
            switch capture.source.value {
            case .exit_code: type = .int
            case .failed_flag, .success_flag: type = .bool
            case .stdout, .stderr: type = .dyn
            }
            declared.declare(capture.variable.value, type, overriding: true)
        }
        if case .builtin(let builtin) = kind(of: step) {
            for (name, type) in PrehookVariables.variablesSet(by: builtin) { declared.declare(name, type) }
        }
        for action in step.behavior.postActions {
            for entry in action.generateItems?.vars ?? [] { declared.declare(entry.key, .dyn) }
        }
    }

    /// Cuts enabled, non-guard steps into maximal runs of the same scope and sets each step's
    /// `segment`.
    public static func assignSegments(
        _ steps: inout [CompiledStep], workflowMaxParallel: Int?, workflowStaggerDelayMs: Int?
    ) -> [Segment] {
        var segments: [Segment] = []
        for position in steps.indices where steps[position].enabled && !steps[position].isGuard {
            let step = steps[position]
            if let last = segments.last, last.scope == step.scope {
                segments[segments.count - 1].stepIDs.append(step.id)
            } else {
                var segment = Segment(index: segments.count + 1, scope: step.scope, stepIDs: [step.id], maxParallel: 1, staggerDelayMs: 0)
                if step.scope == .item {
                    segment.maxParallel = max(1, step.maxParallel ?? workflowMaxParallel ?? 1)
                    segment.staggerDelayMs = max(0, step.staggerDelayMs ?? workflowStaggerDelayMs ?? 0)
                }
                segments.append(segment)
            }
            steps[position].segment = segments.count
        }
        return segments
    }
}

extension CompileContext {
    mutating func compileWorkflow(_ spec: WorkflowSpec, of resource: Resource) -> WorkflowGraph {
        var state = WorkflowState(resource: resource, project: Compiler.project(of: resource))
        if let itemsFrom = spec.itemsFrom {
            // The tasks' fields are the items' variables; `when` reads them (state-files.md).
            for (name, type) in ItemsSource.fields { state.declared.declare(name, type) }
            if let when = itemsFrom.when {
                _ = checkExpression(
                    when, file: resource.file, declared: state.declared, what: "items_from.when",
                    undeclaredHelp: "items_from.when reads a task's fields: " + ItemsSource.fields.map(\.name).joined(separator: ", "))
            }
        }
        var steps: [CompiledStep] = []
        for step in spec.steps {
            steps.append(compileStep(step, chainScope: nil, state: &state))
        }
        let segments = WorkflowCompiler.assignSegments(
            &steps, workflowMaxParallel: spec.maxParallel?.value, workflowStaggerDelayMs: spec.staggerDelayMs?.value)
        let allVariables = state.declared
        let loop = compileLoop(spec.loop, steps: steps, resource: resource, declared: allVariables)
        let finalizeRules = spec.finalizeRules.map { rules in
            rules.enumerated().map { number, rule in
                FinalizeRuleBinding(
                    id: rule.id?.value,
                    when: checkExpression(
                        rule.when, file: resource.file, declared: allVariables,
                        what: "finalize rule \(rule.id.map { "`\($0.value)`" } ?? "#\(number + 1)")",
                        undeclaredHelp: "finalize rules see the built-in variables and what the workflow's steps set"),
                    status: rule.status.value, reason: rule.reason)
            }
        }
        let safety = spec.safety
        let invariants = compileInvariants(safety.invariants, resource: resource, declared: allVariables)
        var graph = WorkflowGraph(
            name: resource.name, project: state.project, file: resource.file, nameRange: resource.metadata.name.range,
            steps: steps, segments: segments, loop: loop,
            safety: SafetyPolicy(
                maxConsecutiveFailures: safety.consecutiveFailureLimit, autoRollback: safety.rollsBack,
                checkpointStrategy: safety.checkpoint, stepTimeoutSecs: safety.stepTimeoutSecs?.value,
                binarySnapshot: safety.binarySnapshot?.value ?? false, maxItemStepFailures: safety.itemStepFailureLimit,
                minCycleIntervalSecs: safety.minCycleIntervalSecs?.value, onDrift: safety.drift, invariants: invariants,
                maxSpawnDepth: safety.spawnDepthLimit, maxSpawnedTasks: safety.spawnedTaskLimit),
            finalizeRules: finalizeRules, maxParallel: spec.maxParallel?.value, staggerDelayMs: spec.staggerDelayMs?.value,
            contentHash: "")
        graph.itemsFrom = spec.itemsFrom.map { ItemsSource(tasksJSON: $0.tasksJSON.value, when: $0.when?.text ?? ItemsSource.defaultWhen) }
        if let isolation = spec.itemIsolation, isolation.strategy?.value == "git_worktree" {
            graph.itemIsolation = ItemIsolation(branchPrefix: isolation.branchPrefix?.value, removeWhenDone: isolation.cleanup?.value != "never")
        }
        graph.contentHash = CanonicalForm.hash(of: graph)
        graph.fieldsNotExecuted = resource.notExecutedSettings
        checkSelfReferentialWorkspaces(graph, spec: spec, resource: resource)
        return graph
    }

    /// `safety.invariants` (typed by the decoder): each needs a command, an assertion or protected
    /// files; check points must be known; the assertion is checked like any condition.
    mutating func compileInvariants(_ specs: [InvariantSpec], resource: Resource, declared: Declarations) -> [CompiledInvariant] {
        var compiled: [CompiledInvariant] = []
        for spec in specs {
            let name = spec.name.value
            var points: [CompiledInvariant.CheckPoint] = []
            for word in spec.checkAt ?? [] {
                if let point = CompiledInvariant.CheckPoint(rawValue: word.value) {
                    points.append(point)
                } else {
                    let all = CompiledInvariant.CheckPoint.allCases.map(\.rawValue)
                    report(
                        .invariantCheckPoint, "invariant `\(name)`: `\(word.value)` is not a check point", file: resource.file, range: word.range,
                        help: Suggestions.closest(to: word.value, in: all).map { "did you mean `\($0)`?" } ?? "one of " + all.joined(separator: ", "))
                }
            }
            if spec.checkAt == nil { points = [.afterImplement, .beforeComplete] }
            var assertion: CompiledExpression?
            if let source = spec.assertion {
                var scope = declared
                scope.declare("exit_code", .int, overriding: true)
                if let captureAs = spec.captureAs { scope.declare(captureAs, .string, overriding: true) }
                assertion = checkExpression(
                    source, file: resource.file, declared: scope, what: "invariant `\(name)` assert_expr",
                    undeclaredHelp: "an invariant's assert_expr reads the pipeline's variables, `exit_code` and its `capture_as`")
            }
            if spec.command == nil && assertion == nil && spec.protectedFiles.isEmpty {
                report(
                    .invariantCheckPoint, "invariant `\(name)` checks nothing: it has no command, assert_expr or protected_files",
                    file: resource.file, range: spec.name.range, help: "add `command: ...` (it holds when it exits expect_exit, default 0)")
            }
            compiled.append(
                CompiledInvariant(
                    name: name, description: spec.description ?? "", command: spec.command?.value, expectExit: spec.expectExit ?? 0,
                    captureAs: spec.captureAs, assertion: assertion, immutable: spec.immutable, checkAt: points,
                    onViolation: spec.onViolation.flatMap(CompiledInvariant.OnViolation.init(rawValue:)) ?? .halt, protectedFiles: spec.protectedFiles))
        }
        return compiled
    }

    // MARK: steps

    struct WorkflowState {
        var resource: Resource
        var project: String
        /// Variables set so far: built-ins, then what earlier steps set.
        var declared = Declarations.builtins
        var seenIDs: [String: SourceRange] = [:]
    }

    mutating func compileStep(_ step: StepSpec, chainScope: StepScope?, state: inout WorkflowState) -> CompiledStep {
        let file = state.resource.file
        let id = step.id.value
        if let first = state.seenIDs[id] {
            report(
                .duplicateStepID, "step id `\(id)` is used twice in workflow `\(state.resource.name)`", file: file,
                range: step.id.range, help: "step ids must be unique; the first `\(id)` is at line \(first.start.line)")
        } else {
            state.seenIDs[id] = step.id.range
        }
        let kind = WorkflowCompiler.kind(of: step)
        let scope = chainScope ?? WorkflowCompiler.scope(of: step)
        var compiled = CompiledStep(
            id: id, kind: kind, scope: scope, enabled: step.isEnabled, repeatable: step.isRepeatable,
            isGuard: WorkflowCompiler.isGuard(step), tty: step.tty?.value ?? false, agent: nil, template: nil, profile: nil,
            maxParallel: step.maxParallel?.value, staggerDelayMs: step.staggerDelayMs?.value, timeoutSecs: step.timeoutSecs?.value,
            stallTimeoutSecs: step.stallTimeoutSecs?.value, prehook: nil,
            onFailure: step.behavior.onFailure.map { FailurePolicy(action: $0.action.value, status: $0.status?.value) } ?? .default,
            onSuccess: step.behavior.onSuccess.map { SuccessPolicy(action: $0.action.value, status: $0.status?.value) } ?? .default,
            captures: step.behavior.captures.map {
                CaptureBinding(variable: $0.variable.value, source: $0.source.value, jsonPath: $0.jsonPath?.value)
            },
            postActions: [], collectArtifacts: step.behavior.collectArtifacts?.value ?? false,
            costPreference: step.costPreference?.value, children: [], segment: nil, idRange: step.id.range)

        if case .agent(let capability) = kind {
            compiled.agent = bindAgent(capability: capability, step: step, state: state)
            compiled.profile = bindProfile(step.executionProfile, state: state)
        } else if let profile = step.executionProfile {
            report(
                .profileOnNonAgentStep,
                "`execution_profile` applies to agent steps only; step `\(id)` is a \(kind.name) step", file: file,
                range: profile.range, help: "remove `execution_profile` from this step")
        }
        if let template = step.template {
            compiled.template = bindTemplate(template, state: state)
        }
        // store_inputs are bound before the step (its prehook and command read them).
        compiled.storeInputs = step.storeInputs.map { read in
            state.declared.declare(read.asVar.value, .dyn)
            return StoreReadBinding(store: read.store.value, key: read.key.value, asVariable: read.asVar.value, required: read.required)
        }
        if let prehook = step.prehook {
            let when = checkExpression(
                prehook.when, file: file, declared: state.declared, what: "prehook of step `\(id)`",
                undeclaredHelp: "prehooks see the built-in variables (spec/execution.md) and what earlier steps capture")
            compiled.prehook = PrehookBinding(when: when, reason: prehook.reason)
        }
        // A step's post-actions run after it, so they see its own captures and output too.
        var afterStep = Declarations()
        if !step.behavior.postActions.isEmpty || !step.storeOutputs.isEmpty {
            afterStep = state.declared
            WorkflowCompiler.declareVariables(setBy: step, into: &afterStep)
        }
        compiled.postActions = step.behavior.postActions.map { action in
            var generate: GenerateItemsBinding?
            if let items = action.generateItems {
                if !afterStep.contains(items.fromVar.value) {
                    report(
                        .undefinedVariable,
                        "generate_items reads `\(items.fromVar.value)`, which neither this step nor an earlier one sets",
                        file: file, range: items.fromVar.range,
                        help: Suggestions.closest(to: items.fromVar.value, in: afterStep.names).map { "did you mean `\($0)`?" }
                            ?? "capture it with `behavior.captures` (or use `\(PrehookVariables.outputVariable(id))`)")
                }
                var vars: [String: String] = [:]
                for entry in items.vars { vars[entry.key] = entry.value.value }
                generate = GenerateItemsBinding(
                    fromVariable: items.fromVar.value, jsonPath: items.jsonPath?.value, itemID: items.itemID?.value,
                    label: items.label?.value, vars: vars, replace: items.replace)
            }
            var binding = PostActionBinding(type: action.type.value, generateItems: generate)
            if let write = action.storePut {
                checkStoreVariable(write.fromVar, what: "store_put", afterStep: afterStep, step: id, file: file)
                binding.storePut = StoreWriteBinding(store: write.store.value, key: write.key.value, fromVariable: write.fromVar.value)
            }
            if let spawn = action.spawn {
                if let many = spawn.many { checkStoreVariable(many.fromVar, what: "spawn_tasks", afterStep: afterStep, step: id, file: file) }
                binding.spawn = SpawnBinding(
                    goal: spawn.goal?.value, workflow: spawn.workflow?.value, fromVariable: spawn.many?.fromVar.value,
                    jsonPath: spawn.many?.jsonPath?.value, goalPath: spawn.many?.goal.value, workflowPath: spawn.many?.workflow?.value,
                    namePath: spawn.many?.name?.value, maxTasks: spawn.many?.maxTasks ?? 1, queue: spawn.many?.queue ?? true,
                    inheritWorkspace: spawn.inheritWorkspace, inheritProject: spawn.inheritProject, inheritTargets: spawn.inheritTargets)
            }
            return binding
        }
        if let select = step.itemSelect {
            var weights: [String: Double] = [:]
            for entry in select.weights { weights[entry.key] = entry.value }
            compiled.itemSelect = ItemSelectBinding(
                strategy: select.strategy.value, metricVariable: select.metricVar?.value, weights: weights, threshold: select.threshold,
                storeResult: select.storeResult.map {
                    StoreWriteBinding(store: $0.store.value, key: $0.key.value, fromVariable: PrehookVariables.itemSelectResult)
                },
                tieBreak: select.tieBreak)
        }
        compiled.storeOutputs = step.storeOutputs.map { write in
            checkStoreVariable(write.fromVar, what: "store_outputs", afterStep: afterStep, step: id, file: file)
            return StoreWriteBinding(store: write.store.value, key: write.key.value, fromVariable: write.fromVar.value)
        }
        if let children = step.chainSteps {
            compiled.children = children.map { compileStep($0, chainScope: scope, state: &state) }
        }
        WorkflowCompiler.declareVariables(setBy: step, into: &state.declared)
        return compiled
    }

    /// A variable a store write or spawn_tasks reads that no step sets: the runner falls back to
    /// the key of that name in the step's own JSON output (as the replaced system's fixtures
    /// expect), so this is a warning, not an error.
    private mutating func checkStoreVariable(_ name: Located<String>, what: String, afterStep: Declarations, step: String, file: String) {
        guard !afterStep.contains(name.value) else { return }
        report(
            .storeVariable,
            "\(what) reads `\(name.value)`, which neither this step nor an earlier one sets; at run time it is the key `\(name.value)` of step `\(step)`'s JSON output, if that output has one",
            file: file, range: name.range,
            help: Suggestions.closest(to: name.value, in: afterStep.names).map { "did you mean `\($0)`?" }
                ?? "capture it with `behavior.captures` (`source: stdout`, `json_path: $.\(name.value)`) to make it explicit")
    }

    private mutating func bindAgent(capability: String, step: StepSpec, state: WorkflowState) -> AgentBinding? {
        let file = state.resource.file
        let catalog = catalog(project: state.project, file: file)
        guard let servers = catalog.servers[capability], let chosen = servers.first, case .agent(let agent) = chosen.spec else {
            let range = step.requiredCapability?.range ?? step.type?.range ?? step.id.range
            let help: String
            if let disabled = catalog.disabledServers[capability], !disabled.isEmpty {
                help = "agent " + disabled.map { "`\($0)`" }.joined(separator: ", ") + " has it but is disabled"
            } else if let close = Suggestions.closest(to: capability, in: catalog.allCapabilities) {
                help = "did you mean `\(close)`? Or add `\(capability)` to an agent's `capabilities`"
            } else if Builtin(rawValue: capability) == nil, let close = Suggestions.closest(to: capability, in: Builtin.allCases.map(\.rawValue)) {
                help = "did you mean the builtin `\(close)`? Otherwise add `\(capability)` to an agent's `capabilities`"
            } else {
                help = "add `\(capability)` to the `capabilities` of an enabled agent of project `\(state.project)`"
            }
            let how = step.requiredCapability != nil ? "needs" : "is an agent step (its type is no builtin) and needs"
            // Open world: an agent with the capability may be applied already (unless a given
            // agent has it but is disabled: that is this bundle's own doing).
            let (severity, where_) = referenceSeverity("an enabled Agent with capability `\(capability)`")
            let disabledHere = !(catalog.disabledServers[capability] ?? []).isEmpty
            report(
                .capabilityNotServed,
                "step `\(step.id.value)` \(how) capability `\(capability)`, which no enabled agent of project `\(state.project)` has",
                file: file, range: range, help: disabledHere || severity == .error && storeRead ? help : help + "; " + where_,
                severity: disabledHere ? .error : severity)
            return nil
        }
        let index = index(state.project)
        let environment: [EnvironmentBinding] = agent.env.map { entry in
            switch entry.value {
            case .literal(let name, let value):
                return .literal(name: name.value, value: value.value)
            case .fromRef(let store):
                return .store(name: store.value, secret: CompileContext.isSecretStore(store.value, index: index, from: chosen.file))
            case .refValue(let name, let store, let key):
                return .storeKey(
                    variable: name.value, store: store.value, key: key.value,
                    secret: CompileContext.isSecretStore(store.value, index: index, from: chosen.file))
            }
        }
        return AgentBinding(
            name: chosen.name, command: agent.command.value,
            commandRules: agent.commandRules.map { rule in
                let check = ExpressionEngine.check(rule.when.text, declared: Declarations())
                return CommandRuleBinding(
                    when: CompiledExpression(
                        text: rule.when.text, variables: check.variables, file: chosen.file, range: rule.when.range,
                        program: check.program),
                    command: rule.command.value)
            },
            promptDelivery: agent.delivery, cost: agent.cost?.value, environment: environment,
            alternatives: servers.dropFirst().map(\.name))
    }

    static func isSecretStore(_ name: String, index: ProjectIndex, from file: String) -> Bool? {
        let envStore = index.lookup(.envStore, name, from: file)
        let secretStore = index.lookup(.secretStore, name, from: file)
        if let envStore, envStore.file == file { return false }
        if secretStore != nil { return true }
        return envStore != nil ? false : nil
    }

    private mutating func bindTemplate(_ template: Located<String>, state: WorkflowState) -> TemplateBinding? {
        let index = index(state.project)
        guard let resource = index.lookup(.stepTemplate, template.value, from: state.resource.file),
            case .stepTemplate(let spec) = resource.spec
        else {
            let (severity, where_) = referenceSeverity("StepTemplate `\(template.value)`")
            let names = index.names(.stepTemplate)
            let close = Suggestions.closest(to: template.value, in: names).map { "did you mean `\($0)`? " } ?? ""
            report(
                .unresolvedReference,
                "template `\(template.value)` is not a StepTemplate of project `\(state.project)`", file: state.resource.file,
                range: template.range, help: close + where_, severity: severity)
            return nil
        }
        return TemplateBinding(name: resource.name, prompt: spec.prompt.value)
    }

    private mutating func bindProfile(_ name: Located<String>?, state: WorkflowState) -> ProfileBinding {
        guard let name else { return .implicitHost }
        let index = index(state.project)
        guard let resource = index.lookup(.executionProfile, name.value, from: state.resource.file),
            case .executionProfile(let spec) = resource.spec
        else {
            if name.value == ProfileBinding.implicitHost.name { return .implicitHost }
            let (severity, where_) = referenceSeverity("ExecutionProfile `\(name.value)`")
            let closeness = Suggestions.closest(to: name.value, in: index.names(.executionProfile)).map { "did you mean `\($0)`? " } ?? ""
            report(
                .unresolvedReference,
                "execution profile `\(name.value)` is not an ExecutionProfile of project `\(state.project)`",
                file: state.resource.file, range: name.range, help: closeness + where_, severity: severity)
            var unresolved = ProfileBinding.implicitHost
            unresolved.name = name.value
            unresolved.resolved = false
            return unresolved
        }
        return ProfileBinding(
            name: resource.name, resolved: true, mode: spec.mode?.value ?? .host, filesystem: spec.fsMode?.value ?? .inherit,
            writablePaths: spec.writablePaths.map(\.value), readablePaths: spec.readablePaths.map(\.value),
            network: spec.networkMode?.value ?? .inherit, networkAllowlist: spec.networkAllowlist.map(\.value),
            maxMemoryMB: spec.maxMemoryMB?.value, maxCPUSeconds: spec.maxCPUSeconds?.value, maxProcesses: spec.maxProcesses?.value,
            maxOpenFiles: spec.maxOpenFiles?.value)
    }

    // MARK: loop

    private mutating func compileLoop(
        _ loop: LoopSpec, steps: [CompiledStep], resource: Resource, declared: Declarations
    ) -> LoopPolicy {
        let file = resource.file
        let where_ = loop.mode?.range ?? loop.range ?? resource.metadata.name.range
        if let maxCycles = loop.maxCycles, maxCycles.value < 1 {
            report(
                .maxCyclesNotPositive, "`max_cycles` is \(maxCycles.value); it must be at least 1", file: file, range: maxCycles.range,
                help: loop.loopMode == .infinite ? "leave it out for no cap" : nil)
        }
        let convergence: [ConvergenceBinding] = loop.convergence.enumerated().map { number, rule in
            ConvergenceBinding(
                when: checkExpression(
                    rule.when, file: file, declared: declared, what: "convergence_expr[\(number)]",
                    undeclaredHelp: "convergence expressions see the built-in variables and what the workflow's steps set"),
                reason: rule.reason)
        }
        let written = loop.loopMode
        if loop.isEnabled {
            switch written {
            case .fixed where loop.maxCycles == nil:
                report(
                    .fixedLoopWithoutMaxCycles, "`loop.mode: fixed` needs `max_cycles`", file: file, range: where_,
                    help: "add `max_cycles: N` (N >= 1), or use `mode: once`")
            case .infinite where loop.maxCycles == nil && convergence.isEmpty:
                let guards = steps.filter { $0.isGuard && $0.enabled }
                if guards.isEmpty {
                    report(
                        .loopCannotEnd,
                        "this infinite loop cannot end: it has no `max_cycles`, no guard step and no `convergence_expr`",
                        file: file, range: where_, help: "add `max_cycles`, a `loop_guard` step, or a `convergence_expr`")
                } else if !loop.stopsWhenNothingUnresolved, guards.allSatisfy({ $0.kind == .builtin(.loop_guard) }) {
                    report(
                        .loopCannotEnd,
                        "this infinite loop cannot end: its loop_guard stops only when `stop_when_no_unresolved` is true or a `convergence_expr` holds, and it has neither",
                        file: file, range: loop.stopWhenNoUnresolved?.range ?? where_,
                        help: "add `max_cycles` or a `convergence_expr`, or set `stop_when_no_unresolved: true`")
                }
            default: break
            }
        }
        return LoopPolicy(
            mode: loop.isEnabled ? written : .once, maxCycles: loop.maxCycles?.value, enabled: loop.isEnabled,
            stopWhenNoUnresolved: loop.stopsWhenNothingUnresolved, convergence: convergence)
    }

    // MARK: safety

    /// The one workspace a workflow's own file defines (in its project) is the one it is meant to
    /// run in (a bundle). A file with several workspaces (an `export` stream, say) pairs nothing
    /// here; the runner applies the same check to the pair a task actually names.
    private mutating func checkSelfReferentialWorkspaces(_ graph: WorkflowGraph, spec: WorkflowSpec, resource: Resource) {
        // The workspaces by (file, project), built once: a scan of every resource per workflow
        // made large projects quadratic.
        if workspacesByFile == nil {
            var table: [String: [Int]] = [:]
            for (index, candidate) in resources.enumerated() {
                guard case .workspace = candidate.spec else { continue }
                table[candidate.file + "\u{0}" + Compiler.project(of: candidate), default: []].append(index)
            }
            workspacesByFile = table
        }
        let bundled = workspacesByFile?[resource.file + "\u{0}" + graph.project] ?? []
        guard bundled.count == 1 else { return }
        for workspace in bundled.map({ resources[$0] }) {
            guard case .workspace(let ws) = workspace.spec, ws.isSelfReferential else { continue }
            for problem in SelfReferentialSafety.problems(graph) {
                let range: SourceRange
                switch problem {
                case .noAutoRollback: range = spec.safety.autoRollback?.range ?? spec.safety.range ?? resource.metadata.name.range
                case .noCheckpoint: range = spec.safety.checkpointStrategy?.range ?? spec.safety.range ?? resource.metadata.name.range
                case .noSelfTest: range = resource.metadata.name.range
                }
                report(
                    .selfReferentialUnsafe,
                    "workflow `\(graph.name)` runs in self-referential workspace `\(workspace.name)` (same file) but \(problem.text)",
                    file: resource.file, range: range, help: problem.help)
            }
        }
    }
}

/// What a workflow needs before it may run in a workspace with `self_referential: true`.
public enum SelfReferentialSafety: Sendable, Hashable {
    case noAutoRollback, noCheckpoint, noSelfTest

    public static func problems(_ graph: WorkflowGraph) -> [SelfReferentialSafety] {
        var problems: [SelfReferentialSafety] = []
        if !graph.safety.autoRollback { problems.append(.noAutoRollback) }
        if graph.safety.checkpointStrategy == .none { problems.append(.noCheckpoint) }
        if !graph.steps.contains(where: { $0.enabled && $0.kind == .builtin(.self_test) }) { problems.append(.noSelfTest) }
        return problems
    }

    public var text: String {
        switch self {
        case .noAutoRollback: return "`safety.auto_rollback` is not true"
        case .noCheckpoint: return "`safety.checkpoint_strategy` is `none`"
        case .noSelfTest: return "it has no enabled `self_test` step"
        }
    }

    public var help: String {
        switch self {
        case .noAutoRollback: return "set `safety.auto_rollback: true` so a broken change to the tool itself is rolled back"
        case .noCheckpoint: return "set `safety.checkpoint_strategy: git_tag` (or git_stash)"
        case .noSelfTest: return "add a step with `builtin: self_test` that checks the rebuilt tool"
        }
    }
}
