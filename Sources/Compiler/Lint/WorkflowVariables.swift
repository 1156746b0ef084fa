import Diagnostics
import Manifest
import YAML

// Who sets and who reads which variable in one workflow: the analysis behind
// `undefined-variable` (placeholders), `unknown-placeholder`, `capture-unused` and
// `ignored-gate-failure`.

/// A `{name}` in a text the runner renders for a step.
struct PlaceholderUse {
    var occurrence: PlaceholderOccurrence
    /// The resource the text is written in (a StepTemplate, an Agent, the Workflow).
    var owner: ResourceRef
    /// The range of the scalar holding the text.
    var scalarRange: SourceRange
    /// "the prompt of template `plan`", "the command of agent `coder`", "the command of step `build`".
    var textName: String

    var name: String { occurrence.name }
}

/// The placeholders of the texts a step renders.
struct StepRendering {
    var uses: [PlaceholderUse]
}

struct WorkflowVariables {
    /// Every step, chain children after their chain.
    var steps: [FlatStep] = []
    /// Variable -> when it is first set: the number of steps (of `steps`) visited before. A step
    /// sees it when its own index is at least that (see `isAvailable`).
    private var declaredAt: [String: Int] = [:]
    /// Per entry of `steps` (the same index): what it renders.
    var renderings: [StepRendering] = []
    /// Variable -> ids of the steps that set it (anywhere in the workflow).
    var setters: [String: [String]] = [:]
    /// Every variable something in the workflow reads: expressions, placeholders,
    /// `generate_items.from_var`, and what the project's agents read.
    var reads: Set<String> = []

    init(_ workflow: LintedWorkflow, context: LintContext) {
        for name in Declarations.builtins.types.keys { declaredAt[name] = 0 }
        if workflow.graph.itemsFrom != nil {
            // A tasks.json task's fields, set for every item before its first step.
            for field in ItemsSource.fields {
                declaredAt[field.name] = 0
                setters[field.name, default: []].append("items_from")
            }
        }

        // `workflow.flatSteps` is in visiting order: a step, then its chain's children.
        steps = workflow.flatSteps
        var visited = 0
        func visit(_ compiled: [CompiledStep], _ written: [StepSpec]) {
            for (step, spec) in zip(compiled, written) {
                // store_inputs are bound before the step: the step itself sees them.
                for input in spec.storeInputs {
                    setters[input.asVar.value, default: []].append(step.id)
                    if declaredAt[input.asVar.value] == nil { declaredAt[input.asVar.value] = visited }
                }
                renderings.append(StepRendering(uses: WorkflowVariables.uses(of: steps[visited], in: workflow, context: context)))
                visited += 1
                visit(step.children, spec.chainSteps ?? [])
                // What the step sets, for the steps after it (as the compiler declares it: outputs,
                // captures, what a builtin sets, `generate_items` `mapping.vars`).
                var own = Declarations()
                WorkflowCompiler.declareVariables(setBy: spec, into: &own)
                for name in own.types.keys {
                    setters[name, default: []].append(step.id)
                    if declaredAt[name] == nil { declaredAt[name] = visited }
                }
                for action in spec.behavior.postActions {
                    if let items = action.generateItems { reads.insert(items.fromVar.value) }
                    if let write = action.storePut { reads.insert(write.fromVar.value) }
                    if let many = action.spawn?.many { reads.insert(many.fromVar.value) }
                }
                for output in spec.storeOutputs { reads.insert(output.fromVar.value) }
                if let select = spec.itemSelect {
                    if let metric = select.metricVar { reads.insert(metric.value) }
                    for weight in select.weights { reads.insert(weight.key) }
                }
            }
        }
        visit(workflow.graph.steps, workflow.spec.steps)

        for (step, rendering) in zip(steps, renderings) {
            for use in rendering.uses { reads.insert(use.name) }
            if let prehook = step.compiled.prehook { reads.formUnion(prehook.when.variables) }
        }
        for rule in workflow.graph.loop.convergence { reads.formUnion(rule.when.variables) }
        for rule in workflow.graph.finalizeRules ?? [] { reads.formUnion(rule.when.variables) }
        reads.formUnion(context.agentReads(project: workflow.project))
    }

    /// True when `name` is set before entry `index` of `steps` runs in a cycle (built-ins included).
    func isAvailable(_ name: String, before index: Int) -> Bool {
        guard let time = declaredAt[name] else { return false }
        return time <= index
    }

    /// The placeholders of what `step` renders: an agent step its template's prompt and its
    /// agent's command (and command_rules commands); a command step its command.
    static func uses(of step: FlatStep, in workflow: LintedWorkflow, context: LintContext) -> [PlaceholderUse] {
        var uses: [PlaceholderUse] = []
        switch step.compiled.kind {
        case .agent:
            if let template = step.compiled.template,
                let resource = context.lookup(.stepTemplate, template.name, project: workflow.project, from: workflow.file),
                case .stepTemplate(let spec) = resource.resource.spec
            {
                for occurrence in context.placeholders(in: spec.prompt, of: resource, command: false) {
                    uses.append(
                        PlaceholderUse(
                            occurrence: occurrence, owner: resource, scalarRange: spec.prompt.range,
                            textName: "the prompt of template `\(resource.name)`"))
                }
            }
            if let binding = step.compiled.agent,
                let resource = context.agentResource(binding, project: workflow.project, from: workflow.file),
                case .agent(let agent) = resource.resource.spec
            {
                for command in [agent.command] + agent.commandRules.map(\.command) {
                    for occurrence in context.placeholders(in: command, of: resource, command: true) {
                        uses.append(
                            PlaceholderUse(
                                occurrence: occurrence, owner: resource, scalarRange: command.range,
                                textName: "the command of agent `\(resource.name)`"))
                    }
                }
            }
        case .command:
            if let command = step.spec.command {
                for occurrence in PlaceholderScanner.command(command.value) {
                    uses.append(
                        PlaceholderUse(
                            occurrence: occurrence, owner: workflow.resource, scalarRange: command.range,
                            textName: "the command of step `\(step.compiled.id)`"))
                }
            }
        case .builtin, .chain:
            break
        }
        return uses
    }
}

extension LintContext {
    /// The placeholders of a text of a resource, scanned once.
    func placeholders(in text: Located<String>, of resource: ResourceRef, command: Bool) -> [PlaceholderOccurrence] {
        let key = PlaceholderKey(resource: ObjectIdentifier(resource), offset: text.range.start.offset)
        if let cached = placeholderCache[key] { return cached }
        let found = command ? PlaceholderScanner.command(text.value) : PlaceholderScanner.prompt(text.value)
        placeholderCache[key] = found
        return found
    }

    /// What the agents of a project read: their commands' placeholders and their command rules'
    /// variables (they run wherever the agent serves a step).
    func agentReads(project: String) -> Set<String> {
        if let cached = agentReadCache[project] { return cached }
        var reads = Set<String>()
        for resource in resources(of: .agent, project: project) {
            guard case .agent(let agent) = resource.spec else { continue }
            for command in [agent.command] + agent.commandRules.map(\.command) {
                for occurrence in PlaceholderScanner.command(command.value) { reads.insert(occurrence.name) }
            }
            for rule in agent.commandRules {
                reads.formUnion(ExpressionEngine.check(rule.when.text, declared: Declarations()).variables)
            }
        }
        agentReadCache[project] = reads
        return reads
    }
}
