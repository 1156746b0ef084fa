import Diagnostics
import Manifest
import YAML

// The replaced system's load-time validation rules that had no equivalent here
// (parity-analysis.md, section 4; its rule numbers in brackets), each with its own rule id.

extension CompileContext {
    /// [27] `qa_targets` must not be empty (a warning here: items can come from generate_items);
    /// [29] `qa_targets` and `ticket_dir` are relative and stay inside the root.
    mutating func checkWorkspace(_ workspace: WorkspaceSpec, of resource: Resource) {
        if workspace.qaTargets.isEmpty {
            let range = resource.node["spec"]?["qa_targets"]?.range ?? workspace.rootPath.range
            report(
                .workspaceWithoutQATargets,
                "workspace `\(resource.name)` has no `qa_targets`; the replaced system refused such a workspace",
                file: resource.file, range: range,
                help: "list the directories whose files become the task's items, e.g. `qa_targets: [docs/qa]` (here items may also come from generate_items)")
        }
        var paths = workspace.qaTargets.map { ("qa_targets", $0) }
        if let ticketDir = workspace.ticketDir { paths.append(("ticket_dir", ticketDir)) }
        for (key, path) in paths {
            let problem: String?
            if path.value.hasPrefix("/") {
                problem = "must be a path relative to `root_path`"
            } else if path.value.split(separator: "/").contains("..") {
                problem = "must not contain `..` (it would leave the workspace)"
            } else {
                problem = nil
            }
            guard let problem else { continue }
            report(
                .workspacePathOutsideRoot, "`\(key)` entry `\(path.value)` of workspace `\(resource.name)` \(problem)",
                file: resource.file, range: path.range, help: "write a directory below the workspace root, e.g. `docs/qa`")
        }
    }

    /// [16] each `network_allowlist` entry is a host, host:port, an IP or [IPv6]:port.
    mutating func checkAllowlistEntries(_ profile: ExecutionProfileSpec, of resource: Resource) {
        for entry in profile.networkAllowlist {
            guard let problem = CompileContext.allowlistProblem(entry.value) else { continue }
            report(
                .profileAllowlistEntry, "`network_allowlist` entry `\(entry.value)` of profile `\(resource.name)` \(problem)",
                file: resource.file, range: entry.range, help: "write a host name, `host:port`, an IP address or `[IPv6]:port`")
        }
    }

    static func allowlistProblem(_ entry: String) -> String? {
        var host = entry
        var port: Substring?
        if entry.hasPrefix("[") {
            guard let close = entry.firstIndex(of: "]") else { return "has an unclosed `[`" }
            host = String(entry[entry.index(after: entry.startIndex)..<close])
            let rest = entry[entry.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":") else { return "has text after `]` that is no `:port`" }
                port = rest.dropFirst()
            }
            guard host.contains(":"), host.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }) else {
                return "is not a valid IPv6 address"
            }
        } else {
            let parts = entry.split(separator: ":", omittingEmptySubsequences: false)
            if parts.count > 2 { return "must wrap IPv6 addresses in brackets when a port is present" }
            host = String(parts[0])
            if parts.count == 2 { port = parts[1] }
            let labels = host.split(separator: ".", omittingEmptySubsequences: false)
            let valid = !host.isEmpty && host.count <= 253 && labels.allSatisfy { label in
                !label.isEmpty && label.count <= 63 && label.first != "-" && label.last != "-"
                    && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
            }
            if !valid && host != "*" && !(host.hasPrefix("*.") && host.count > 2) { return "is not a valid hostname" }
        }
        if let port {
            guard let number = Int(port), number >= 1, number <= 65535 else { return "must use a valid TCP port between 1 and 65535" }
        }
        return nil
    }

    /// [49] a command rule's command must contain `{prompt}`.
    mutating func checkCommandRulePrompts(_ agent: AgentSpec, of resource: Resource) {
        for (number, rule) in agent.commandRules.enumerated() where !rule.command.value.contains("{prompt}") {
            report(
                .commandRuleWithoutPrompt,
                "command_rules[\(number)].command of agent `\(resource.name)` has no `{prompt}` placeholder",
                file: resource.file, range: rule.command.range,
                help: "add `{prompt}` where the prompt goes, as in the agent's `command` (the replaced system refused this rule)")
        }
    }

    /// The workflow-level rules: [33] capture json_path sources, [35] an enabled step,
    /// [40] a loop guard for repeating loops, [42] the adaptive planner agent, [47] the
    /// self-referential probe profile.
    mutating func checkWorkflowLoadRules(_ spec: WorkflowSpec, of resource: Resource) {
        let project = Compiler.project(of: resource)
        func visit(_ steps: [StepSpec], _ body: (StepSpec) -> Void) {
            for step in steps {
                body(step)
                visit(step.chainSteps ?? [], body)
            }
        }
        var captures: [(StepSpec, Capture)] = []
        visit(spec.steps) { step in for capture in step.behavior.captures { captures.append((step, capture)) } }
        for (step, capture) in captures {
            guard let path = capture.jsonPath, capture.source.value != .stdout, capture.source.value != .stderr else { continue }
            report(
                .captureJSONPathSource,
                "capture `\(capture.variable.value)` of step `\(step.id.value)` reads `json_path` from `\(capture.source.value.rawValue)`, which is no JSON text",
                file: resource.file, range: path.range, help: "use `source: stdout` or `stderr` with `json_path`, or remove `json_path`")
        }

        if !spec.steps.isEmpty, !spec.steps.contains(where: \.isEnabled) {
            report(
                .noEnabledSteps, "workflow `\(resource.name)` has no enabled step", file: resource.file,
                range: resource.metadata.name.range, help: "enable at least one step (`enabled: true`), or remove the workflow")
        }

        let index = index(project)
        if spec.loop.loopMode != .once, spec.loop.isEnabled {
            var hasGuard = false
            visit(spec.steps) { step in if step.builtin?.value == .loop_guard || step.stepType == "loop_guard" { hasGuard = true } }
            // Whether an agent of the project (as seen from this file) serves `loop_guard`: once
            // per project and file, not once per workflow.
            let key = project + "\u{0}" + resource.file
            if !hasGuard, loopGuardAgents[key] == nil {
                loopGuardAgents[key] = index.names(.agent).contains { name in
                    guard case .agent(let agent)? = index.lookup(.agent, name, from: resource.file)?.spec else { return false }
                    return agent.capabilities.contains { $0.value == "loop_guard" }
                }
            }
            if !hasGuard, loopGuardAgents[key] != true {
                // A warning even at apply: this runner ends a fixed loop at max_cycles and checks
                // that an infinite one can end (`loop-cannot-end`); it needs no guard agent.
                report(
                    .loopGuardMissing,
                    "the `\(spec.loop.loopMode.rawValue)` loop of workflow `\(resource.name)` has neither a `loop_guard` step nor an agent with capability `loop_guard`; the replaced system refused it",
                    file: resource.file, range: spec.loop.mode?.range ?? spec.loop.range ?? resource.metadata.name.range,
                    help: "add a step `- {id: loop_guard, builtin: loop_guard}`, or an agent with capability `loop_guard`, if the file must also load in the replaced system")
            }
        }

        if let adaptive = resource.node["spec"]?["adaptive"], adaptive["enabled"]?.scalar?.value == .bool(true) {
            if let planner = adaptive["planner_agent"], let name = planner.scalar?.text, !planner.isNull {
                let found = index.lookup(.agent, name, from: resource.file)
                if found == nil {
                    let (severity, where_) = referenceSeverity("Agent `\(name)`")
                    report(
                        .adaptivePlanner, "adaptive.planner_agent `\(name)` is not an Agent of project `\(project)`",
                        file: resource.file, range: planner.range, help: where_, severity: severity)
                } else if case .agent(let agent) = found?.spec, !agent.capabilities.contains(where: { $0.value == "adaptive_plan" }) {
                    report(
                        .adaptivePlanner, "adaptive.planner_agent `\(name)` lacks the capability `adaptive_plan`",
                        file: resource.file, range: planner.range, help: "add `adaptive_plan` to the capabilities of agent `\(name)`")
                }
            } else {
                report(
                    .adaptivePlanner, "adaptive planning is enabled but `adaptive.planner_agent` is missing", file: resource.file,
                    range: adaptive["enabled"]?.range ?? adaptive.range, help: "name an agent with capability `adaptive_plan` in `planner_agent`")
            }
        }

        checkProbeProfile(spec, of: resource, index: index)
    }

    /// [47] `safety.profile: self_referential_probe` and its seven conditions.
    private mutating func checkProbeProfile(_ spec: WorkflowSpec, of resource: Resource, index: ProjectIndex) {
        guard let profile = resource.node["spec"]?["safety"]?["profile"], profile.scalar?.text == "self_referential_probe" else { return }
        func fail(_ message: String, _ range: SourceRange?, _ help: String) {
            report(.selfReferentialProbe, "self_referential_probe: " + message, file: resource.file, range: range ?? profile.range, help: help)
        }
        let selfReferential = index.names(.workspace).contains { name in
            if case .workspace(let workspace) = index.lookup(.workspace, name, from: resource.file)?.spec { return workspace.isSelfReferential }
            return false
        }
        if !selfReferential, storeRead || strict || !index.names(.workspace).isEmpty {
            fail("the project has no self-referential workspace", profile.range, "set `self_referential: true` on the workspace this probe runs in")
        }
        if spec.safety.checkpoint != .git_tag {
            fail("needs `checkpoint_strategy: git_tag`", spec.safety.checkpointStrategy?.range, "set `safety.checkpoint_strategy: git_tag`")
        }
        if spec.loop.loopMode != .once { fail("needs `loop.mode: once`", spec.loop.mode?.range, "set `loop: {mode: once}`") }
        let forbidden: Set<String> = [
            "qa", "qa_testing", "fix", "ticket_fix", "retest", "guard", "build", "test", "lint", "smoke_chain", "ticket_scan", "init_once",
            "loop_guard",
        ]
        for step in spec.steps where step.isEnabled {
            if step.scope?.value == .item { fail("step `\(step.id.value)` must be task-scoped", step.scope?.range, "remove `scope: item`") }
            if step.chainSteps != nil { fail("step `\(step.id.value)` may not have chain_steps", step.id.range, "split the chain into steps") }
            if step.command == nil, step.builtin?.value != .self_test, step.stepType != "self_test" {
                fail("step `\(step.id.value)` must be a command step or the builtin self_test", step.id.range, "give it a `command`")
            }
            if forbidden.contains(step.id.value) {
                fail("step id `\(step.id.value)` is a phase the probe may not run", step.id.range, "rename the step")
            }
        }
    }
}
