import Diagnostics
import Expr
import Manifest
import YAML

// What every lint rule reads: the resources as decoded, the compiled graphs, and the helpers
// that turn a finding into an exact position (inside a YAML scalar, too).

/// One workflow as written and as compiled. `graph.steps[i]` is `spec.steps[i]`.
final class LintedWorkflow {
    let graph: WorkflowGraph
    let resource: ResourceRef
    let spec: WorkflowSpec
    /// Every step (chain children after their chain), compiled and as written, with the top-level
    /// step it belongs to (its own index for top-level steps).
    let flatSteps: [FlatStep]

    var file: String { resource.file }
    var project: String { graph.project }

    init(graph: WorkflowGraph, resource: ResourceRef, spec: WorkflowSpec) {
        self.graph = graph
        self.resource = resource
        self.spec = spec
        var result: [FlatStep] = []
        func walk(_ compiled: [CompiledStep], _ written: [StepSpec], top: Int?) {
            for (index, pair) in zip(compiled, written).enumerated() {
                let topIndex = top ?? index
                result.append(FlatStep(compiled: pair.0, spec: pair.1, topIndex: topIndex, isChild: top != nil))
                walk(pair.0.children, pair.1.chainSteps ?? [], top: topIndex)
            }
        }
        walk(graph.steps, spec.steps, top: nil)
        flatSteps = result
    }
}

struct PlaceholderKey: Hashable {
    var resource: ObjectIdentifier
    var offset: Int
}

/// A resource shared by reference (lint hands resources around a lot; `Resource` is large).
final class ResourceRef {
    let resource: Resource
    var file: String { resource.file }
    var name: String { resource.name }
    init(_ resource: Resource) { self.resource = resource }
}

struct FlatStep {
    var compiled: CompiledStep
    var spec: StepSpec
    /// The index of the top-level step (itself, or the chain it belongs to).
    var topIndex: Int
    var isChild: Bool
}

/// One class of cycles the lint rules reason about: a single cycle with its facts known, or a
/// run of cycles where `cycle` is unknown (a long or uncapped loop).
struct CycleClass {
    var first: Int
    /// nil: every cycle from `first` on (an uncapped loop).
    var last: Int?
    /// The values known in every cycle of the class.
    var known: [String: Value]

    /// A cycle of the class (for the `repeatable` rule: 1 or more than 1).
    var representative: Int { first }

    /// "cycle 1", "cycles 2-99", "cycles 2 and later".
    var label: String { CycleClass.label(first, last) }

    static func label(_ first: Int, _ last: Int?) -> String {
        guard let last else { return "cycles \(first) and later" }
        return first == last ? "cycle \(first)" : "cycles \(first)-\(last)"
    }
}

/// The input of the lint rules. Built once per run; rules only read it (caches aside).
public final class LintContext {
    let resources: [Resource]
    let sources: [String: SourceFile]
    let compilation: Compilation
    let workflows: [LintedWorkflow]
    /// project -> kind -> name -> definitions in input order.
    private var index: [String: [ResourceKind: [String: [ResourceRef]]]] = [:]
    private var nodeCache: [String: [Int: Node]] = [:]
    /// Positions inside scalars, one map per file (grown as findings are positioned).
    private var scalarPositions = ScalarPositions()

    /// The configuration of the run: which rules are on (one rule may stand in for another).
    let configuration: LintConfiguration

    public init(
        resources: [Resource], sources: [SourceFile], compilation: Compilation, configuration: LintConfiguration = LintConfiguration()
    ) {
        self.resources = resources
        self.configuration = configuration
        var byPath: [String: SourceFile] = [:]
        for source in sources { byPath[source.path] = source }
        self.sources = byPath
        self.compilation = compilation
        var refs: [ResourceRef] = []
        for resource in resources {
            let ref = ResourceRef(resource)
            refs.append(ref)
            index[resource.resolvedProject, default: [:]][resource.kind, default: [:]][resource.name, default: []].append(ref)
        }
        // `Compiler.compile` makes one graph per Workflow resource, in input order.
        var workflows: [LintedWorkflow] = []
        var graphs = compilation.workflows.makeIterator()
        for ref in refs {
            guard case .workflow(let spec) = ref.resource.spec else { continue }
            guard let graph = graphs.next() else { break }
            if graph.name == ref.name, graph.file == ref.file, graph.steps.count == spec.steps.count {
                workflows.append(LintedWorkflow(graph: graph, resource: ref, spec: spec))
            }
        }
        self.workflows = workflows
    }

    // MARK: resources

    /// The resources of `project`, in input order.
    func resources(of kind: ResourceKind, project: String) -> [Resource] {
        (index[project]?[kind]?.values.flatMap { $0 } ?? []).map(\.resource).sorted { lhs, rhs in
            lhs.file != rhs.file ? lhs.file < rhs.file : lhs.metadata.name.range.start < rhs.metadata.name.range.start
        }
    }

    /// The workspaces a workflow can run in, as far as the files show: those of its own file,
    /// else every workspace of its project.
    func workspaces(for workflow: LintedWorkflow) -> [(name: String, spec: WorkspaceSpec)] {
        let all = resources(of: .workspace, project: workflow.project)
        let own = all.filter { $0.file == workflow.file }
        return (own.isEmpty ? all : own).compactMap { resource in
            if case .workspace(let spec) = resource.spec { return (resource.name, spec) }
            return nil
        }
    }

    /// The definition a reference from `file` resolves to, as the compiler resolves it: the one in
    /// the same file, else the last one given.
    func lookup(_ kind: ResourceKind, _ name: String, project: String, from file: String) -> ResourceRef? {
        guard let definitions = index[project]?[kind]?[name], let last = definitions.last else { return nil }
        return definitions.last(where: { $0.file == file }) ?? last
    }

    /// The agent resource behind a step's binding.
    func agentResource(_ binding: AgentBinding, project: String, from file: String) -> ResourceRef? {
        lookup(.agent, binding.name, project: project, from: file)
    }

    // MARK: positions

    /// The scalar node of `resource` whose range is `range` (a `Located` value's range).
    func scalarNode(at range: SourceRange, in resource: Resource) -> Node? {
        let key = resource.file + "\u{0}" + String(resource.node.range.start.offset)
        if nodeCache[key] == nil {
            var table: [Int: Node] = [:]
            LintContext.collectScalars(resource.node, into: &table)
            nodeCache[key] = table
        }
        guard let node = nodeCache[key]?[range.start.offset], node.range == range else { return nil }
        return node
    }

    private static func collectScalars(_ node: Node, into table: inout [Int: Node]) {
        switch node.content {
        case .scalar: table[node.range.start.offset] = node
        case .sequence(let items): for item in items { collectScalars(item, into: &table) }
        case .mapping(let entries):
            for entry in entries {
                collectScalars(entry.key, into: &table)
                collectScalars(entry.value, into: &table)
            }
        }
    }

    /// The file range of bytes `start..<end` of the content of the scalar written at `range`
    /// (quoted, escaped, folded and block scalars included). Falls back to the scalar's range.
    func range(inScalarAt range: SourceRange, of resource: Resource, start: Int, end: Int) -> SourceRange {
        guard let node = scalarNode(at: range, in: resource), let file = sources[resource.file] else { return range }
        return scalarPositions.range(in: node, start: start, end: end, of: file)
    }

    /// The range of the key `key` of the mapping written at `mappingRange` in `resource`, e.g. a
    /// step's `max_parallel` key. nil when not found.
    func keyRange(_ key: String, inMappingAt mappingRange: SourceRange, of resource: Resource) -> SourceRange? {
        func find(_ node: Node) -> Node? {
            if node.range == mappingRange, node.mapping != nil { return node }
            guard node.range.start.offset <= mappingRange.start.offset, mappingRange.end.offset <= node.range.end.offset
            else { return nil }
            switch node.content {
            case .scalar: return nil
            case .sequence(let items):
                for item in items { if let found = find(item) { return found } }
            case .mapping(let entries):
                for entry in entries { if let found = find(entry.value) { return found } }
            }
            return nil
        }
        guard let mapping = find(resource.node)?.mapping else { return nil }
        return mapping.first(where: { $0.key.hasText(key) })?.key.range
    }

    /// True when the compiler reported an error inside `range` of `file` (an expression that does
    /// not parse or type-check: its value says nothing about the workflow).
    func hasCompileError(in file: String, within range: SourceRange) -> Bool {
        compilation.diagnostics.contains { diagnostic in
            guard diagnostic.severity == .error, diagnostic.file == file, let at = diagnostic.range else { return false }
            return range.start.offset <= at.start.offset && at.start.offset <= range.end.offset
        }
    }

    // MARK: cycles

    /// The most cycles examined one by one; longer loops are examined as cycle 1, the cycles in
    /// between (with `cycle` unknown) and the last.
    static let cyclesExaminedOneByOne = 64

    /// The classes of cycles of a loop, covering every cycle it can run.
    func cycleClasses(_ loop: LoopPolicy) -> [CycleClass] {
        func facts(_ cycle: Int, _ limit: Int?) -> [String: Value] { Planner.knownValues(CycleFacts(cycle: cycle, cycleLimit: limit)) }
        guard let limit = loop.cycleLimit else {
            return [
                CycleClass(first: 1, last: 1, known: facts(1, nil)),
                CycleClass(first: 2, last: nil, known: ["max_cycles": .int(0), "is_last_cycle": .bool(false)]),
            ]
        }
        let cycles = max(1, limit)
        if cycles <= LintContext.cyclesExaminedOneByOne {
            return (1...cycles).map { CycleClass(first: $0, last: $0, known: facts($0, cycles)) }
        }
        return [
            CycleClass(first: 1, last: 1, known: facts(1, cycles)),
            CycleClass(first: 2, last: cycles - 1, known: ["max_cycles": .int(Int64(cycles)), "is_last_cycle": .bool(false)]),
            CycleClass(first: cycles, last: cycles, known: facts(cycles, cycles)),
        ]
    }

    // MARK: variables

    private var variableCache: [Int: WorkflowVariables] = [:]
    var agentReadCache: [String: Set<String>] = [:]
    var placeholderCache: [PlaceholderKey: [PlaceholderOccurrence]] = [:]
    private var cycleAnalysisCache: [Int: [StepCycleAnalysis?]] = [:]

    /// The cycle analysis of each enabled step of workflow number `index` (by `flatSteps` index).
    func cycleAnalysis(_ index: Int) -> [StepCycleAnalysis?] {
        if let cached = cycleAnalysisCache[index] { return cached }
        let workflow = workflows[index]
        let classes = cycleClasses(workflow.graph.loop)
        let computed = workflow.flatSteps.map { $0.compiled.enabled ? StepCycleAnalysis($0.compiled, classes: classes) : nil }
        cycleAnalysisCache[index] = computed
        return computed
    }

    /// Who sets and who reads which variable in workflow number `index` of `workflows`.
    func variables(_ index: Int) -> WorkflowVariables {
        if let cached = variableCache[index] { return cached }
        let computed = WorkflowVariables(workflows[index], context: self)
        variableCache[index] = computed
        return computed
    }
}
