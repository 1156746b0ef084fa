import Synchronization
import Diagnostics
import Manifest
import YAML

// The Compiler layer: resolves every reference of a set of resources (per project) and builds
// one step graph per workflow, with the checks of spec/manifests.md "Compile-time checks".

/// What the compiler knows of resources already applied.
public enum StoreView: Sendable {
    /// `validate`, `lint` and `plan`: the store is not read. A reference the given files do not
    /// resolve (template, capability, execution profile, env/secret store, CRD) may be applied
    /// already: a warning saying what must be applied first (`--strict`: an error).
    case notRead
    /// `apply` and `run`: these resources are everything already stored in the projects
    /// concerned; every reference must resolve against the files or them.
    case read([Resource])
}

/// The result of compiling a set of resources.
public struct Compilation: Sendable {
    /// One graph per workflow of the input, in input order (also those with errors, as far as
    /// they compiled; check `hasErrors` before running one).
    public var workflows: [WorkflowGraph]
    public var diagnostics: [Diagnostic]

    public var hasErrors: Bool { diagnostics.contains { $0.severity == .error } }

    /// The workflows named `name` (several files may each define one).
    public func workflows(named name: String) -> [WorkflowGraph] { workflows.filter { $0.name == name } }
}

public enum Compiler {
    /// How many times this process compiled a set of resources (`compile` calls): a run must
    /// compile its workflow once before its first step, and a test holds it to that.
    public static var compilations: Int { compileCounter.load(ordering: .relaxed) }
    private static let compileCounter = Atomic<Int>(0)

    /// Compiles `resources` (as decoded from the files, in file order). `sources` are the files'
    /// bytes, used to place expression diagnostics inside YAML scalars.
    ///
    /// Resolution: a reference is looked up first in the referring resource's own file, then
    /// in the other files of the same project (the last definition given wins, as applying the
    /// files in order would leave it), then in the store.
    /// `strict` (`validate --strict`): the files are the whole project, so an unresolved
    /// reference is an error even without the store.
    public static func compile(
        _ resources: [Resource], sources: [SourceFile] = [], store: StoreView = .notRead, strict: Bool = false
    ) -> Compilation {
        compileCounter.add(1, ordering: .relaxed)
        var context = CompileContext(resources: resources, sources: sources, store: store)
        context.strict = strict
        var workflows: [WorkflowGraph] = []
        context.checkDuplicateResources()
        context.checkRuntimePolicies()
        for resource in resources {
            switch resource.spec {
            case .agent(let agent):
                context.checkAgent(agent, of: resource)
                context.checkCommandRulePrompts(agent, of: resource)
            case .executionProfile(let profile):
                context.checkProfile(profile, of: resource)
                context.checkAllowlistEntries(profile, of: resource)
            case .workspace(let workspace): context.checkWorkspace(workspace, of: resource)
            case .custom(let custom): context.checkCustomResource(custom, of: resource)
            case .customResourceDefinition(let crd): context.checkDefinition(crd, of: resource)
            case .secretStore(let store): context.checkSecretLengths(store, of: resource)
            case .trigger: context.checkTrigger(of: resource)
            case .workflowStore: context.checkWorkflowStore(resource)
            case .storeBackendProvider: context.checkStoreBackendProvider(resource)
            case .workflow(let workflow):
                workflows.append(context.compileWorkflow(workflow, of: resource))
                context.checkWorkflowLoadRules(workflow, of: resource)
                context.checkSpawnTargets(workflow, of: resource)
            default: break
            }
        }
        return Compilation(workflows: workflows, diagnostics: context.diagnostics)
    }

    /// The project of a resource.
    public static func project(of resource: Resource) -> String {
        resource.resolvedProject
    }
}

/// One resource as the index holds it (shared, not copied, by every lookup).
final class Definition: Sendable {
    let resource: Resource
    var name: String { resource.name }
    var file: String { resource.file }
    var spec: ResourceSpec { resource.spec }

    init(_ resource: Resource) { self.resource = resource }
}

/// The resources of one project, indexed for lookups.
struct ProjectIndex {
    /// kind -> name -> definitions in input order.
    var given: [ResourceKind: [String: [Definition]]] = [:]
    var stored: [ResourceKind: [String: Definition]] = [:]

    /// own file > other given files (last wins) > store.
    func lookup(_ kind: ResourceKind, _ name: String, from file: String) -> Definition? {
        if let definitions = given[kind]?[name], let last = definitions.last {
            return definitions.last(where: { $0.file == file }) ?? last
        }
        return stored[kind]?[name]
    }

    /// Every name of `kind` in the project, sorted.
    func names(_ kind: ResourceKind) -> [String] {
        var all = Set(given[kind]?.keys.map { $0 } ?? [])
        for name in stored[kind]?.keys ?? [:].keys { all.insert(name) }
        return all.sorted()
    }
}

/// The agents that can serve a capability, as seen from one file.
struct AgentCatalog {
    /// capability -> enabled agents with it, in selection order (lowest cost, then name).
    var servers: [String: [Definition]] = [:]
    /// capability -> disabled agents with it (for help texts).
    var disabledServers: [String: [String]] = [:]
    var allCapabilities: [String] = []
}

struct CompileContext {
    var sources: [String: SourceFile] = [:]
    var projects: [String: ProjectIndex] = [:]
    var storeRead: Bool
    /// `--strict`: unresolved references are errors without the store too.
    var strict = false
    var resources: [Resource]
    var diagnostics: [Diagnostic] = []
    /// (project, file) -> catalog, built on first use.
    private var catalogs: [String: AgentCatalog] = [:]
    /// project -> every variable its workflows set, built on first use.
    var projectDeclarations: [String: Declarations] = [:]
    /// "file NUL project" -> the indices of its Workspaces, built on first use.
    var workspacesByFile: [String: [Int]]?
    /// "project NUL file" -> whether an agent seen from there has capability `loop_guard`.
    var loopGuardAgents: [String: Bool] = [:]
    /// Positions inside scalars (expression diagnostics), one map per file.
    private var scalarPositions = ScalarPositions()

    init(resources: [Resource], sources: [SourceFile], store: StoreView) {
        self.resources = resources
        for source in sources { self.sources[source.path] = source }
        for resource in resources {
            projects[Compiler.project(of: resource), default: ProjectIndex()]
                .given[resource.kind, default: [:]][resource.name, default: []].append(Definition(resource))
        }
        switch store {
        case .notRead:
            storeRead = false
        case .read(let stored):
            storeRead = true
            for resource in stored {
                projects[Compiler.project(of: resource), default: ProjectIndex()]
                    .stored[resource.kind, default: [:]][resource.name] = Definition(resource)
            }
        }
    }

    func index(_ project: String) -> ProjectIndex { projects[project] ?? ProjectIndex() }

    mutating func report(
        _ rule: CompilerRule, _ message: String, file: String, range: SourceRange?, help: String? = nil,
        severity: Severity? = nil
    ) {
        diagnostics.append(
            Diagnostic(severity: severity ?? rule.defaultSeverity, rule: rule.rawValue, message: message, file: file, range: range, help: help))
    }

    /// The agents of `project` as seen from `file`, by capability.
    mutating func catalog(project: String, file: String) -> AgentCatalog {
        let key = project + "\u{0}" + file
        if let cached = catalogs[key] { return cached }
        guard let index = projects[project] else { return AgentCatalog() }
        var catalog = AgentCatalog()
        var capabilities = Set<String>()
        for name in index.names(.agent) {
            guard let resource = index.lookup(.agent, name, from: file), case .agent(let agent) = resource.spec else { continue }
            for capability in agent.capabilities.map(\.value) {
                capabilities.insert(capability)
                if agent.isEnabled {
                    catalog.servers[capability, default: []].append(resource)
                } else {
                    catalog.disabledServers[capability, default: []].append(name)
                }
            }
        }
        for (capability, agents) in catalog.servers {
            catalog.servers[capability] = agents.sorted { lhs, rhs in
                let lc = AgentCatalog.cost(lhs), rc = AgentCatalog.cost(rhs)
                if lc != rc { return lc < rc }
                return lhs.name < rhs.name
            }
        }
        catalog.allCapabilities = capabilities.sorted()
        catalogs[key] = catalog
        return catalog
    }

    /// Help text for an unresolved name: "did you mean" or what exists.
    static func suggestion(for name: String, among candidates: [String], kind: String) -> String {
        if let close = Suggestions.closest(to: name, in: candidates) { return "did you mean `\(close)`?" }
        if candidates.isEmpty { return "the project defines no \(kind)" }
        let shown = candidates.prefix(8).map { "`\($0)`" }.joined(separator: ", ")
        return "defined \(kind)s: \(shown)" + (candidates.count > 8 ? ", ..." : "")
    }

    /// The one open-world rule for a reference that resolves nowhere (template, capability,
    /// profile, store, CRD): `apply`/`run` read the store, so it is an error there; `validate`,
    /// `lint` and `plan` do not, so it is a warning naming what must be applied first, unless
    /// `--strict` says the given files are the whole project.
    func referenceSeverity(_ what: String) -> (Severity, String) {
        if storeRead { return (.error, "apply \(what) to the project first, or pass the file that defines it") }
        if strict { return (.error, "--strict: the given files are the whole project; add \(what) to them") }
        return (
            .warning,
            "not in the given files: \(what) must be applied to the project before this runs (pass its file with -f to check it here; --strict makes this an error)"
        )
    }

    // MARK: expressions

    /// Checks an expression and reports its problems inside the YAML scalar.
    mutating func checkExpression(
        _ source: ExpressionSource, file: String, declared: Declarations, what: String,
        undeclaredHelp: String, undeclaredReason: String = "which is neither built in nor set by an earlier step",
        undeclaredSeverity: Severity? = nil
    ) -> CompiledExpression {
        let check = ExpressionEngine.check(source.text, declared: declared)
        for problem in check.problems {
            diagnostics.append(
                Diagnostic(
                    severity: problem.severity, rule: problem.rule, message: "\(what): \(problem.message)", file: file,
                    range: expressionRange(source, file: file, start: problem.start, end: problem.end), help: problem.help))
        }
        for identifier in check.undeclared {
            let help: String
            if let close = Suggestions.closest(to: identifier.name, in: declared.names) {
                help = "did you mean `\(close)`? " + undeclaredHelp
            } else {
                help = undeclaredHelp
            }
            report(
                .undefinedVariable,
                "\(what) reads `\(identifier.name)`, \(undeclaredReason)",
                file: file, range: expressionRange(source, file: file, start: identifier.start, end: identifier.end), help: help,
                severity: undeclaredSeverity)
        }
        return CompiledExpression(
            text: source.text, variables: check.variables, file: file, range: source.range, program: check.program)
    }

    /// The file range of bytes `start..<end` of the expression's text inside its YAML scalar.
    mutating func expressionRange(_ source: ExpressionSource, file: String, start: Int, end: Int) -> SourceRange {
        guard let sourceFile = sources[file] else { return source.range }
        return scalarPositions.range(in: source.node, start: start, end: end, of: sourceFile)
    }
}

extension AgentCatalog {
    /// An agent's `metadata.cost`; absent counts as 0.
    static func cost(_ definition: Definition) -> Int {
        if case .agent(let agent) = definition.spec { return agent.cost?.value ?? 0 }
        return 0
    }
}
