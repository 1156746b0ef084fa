import Diagnostics
import Expr
import Manifest

// Checks of resources other than workflows: duplicates, agents' env references and command
// rules, execution profiles.

extension CompileContext {
    /// The same (kind, project, name) twice in one file is an error; across files the later
    /// definition is the one other files resolve to (see `ProjectIndex.lookup`).
    mutating func checkDuplicateResources() {
        // Four strings hashed together: no joined string made per resource (issue 20).
        struct Key: Hashable {
            let kind: String, project: String, name: String, file: String
        }
        var seen: [Key: Int] = [:]
        seen.reserveCapacity(resources.count)
        for (index, resource) in resources.enumerated() {
            let key = Key(kind: resource.kindName, project: Compiler.project(of: resource), name: resource.name, file: resource.file)
            if let firstIndex = seen[key] {
                let first = resources[firstIndex]
                report(
                    .duplicateResource,
                    "\(resource.kindName) `\(resource.name)` is defined twice in this file (project `\(Compiler.project(of: resource))`)",
                    file: resource.file, range: resource.metadata.name.range,
                    help: "the first definition is at line \(first.metadata.name.range.start.line); rename or remove one")
            } else {
                seen[key] = index
            }
        }
    }

    mutating func checkAgent(_ agent: AgentSpec, of resource: Resource) {
        let project = Compiler.project(of: resource)
        let index = index(project)
        for entry in agent.env {
            switch entry.value {
            case .literal: break
            case .fromRef(let store):
                _ = resolveStore(store, key: nil, agent: resource, index: index)
            case .refValue(_, let store, let key):
                _ = resolveStore(store, key: key, agent: resource, index: index)
            }
        }
        // command_rules run where the agent serves a step: every built-in and every variable any
        // workflow of the project sets may be bound.
        guard !agent.commandRules.isEmpty else { return }
        let declared = projectWideDeclarations(project: project)
        for (number, rule) in agent.commandRules.enumerated() {
            _ = checkExpression(
                rule.when, file: resource.file, declared: declared,
                what: "command_rules[\(number)].when of agent `\(resource.name)`",
                undeclaredHelp: "command rules see the built-in variables and what the project's workflows capture")
        }
    }

    /// Resolves an env store reference; reports it when it names nothing (or the key is missing).
    /// Returns whether the store is a SecretStore (nil when unresolved).
    mutating func resolveStore(_ store: Located<String>, key: Located<String>?, agent: Resource, index: ProjectIndex) -> Bool? {
        let envStore = index.lookup(.envStore, store.value, from: agent.file)
        let secretStore = index.lookup(.secretStore, store.value, from: agent.file)
        // A name may be both; the one defined in the agent's own file wins, else the SecretStore.
        let found: Definition?
        if let envStore, envStore.file == agent.file { found = envStore } else { found = secretStore ?? envStore }
        guard let found else {
            let (severity, where_) = referenceSeverity("EnvStore or SecretStore `\(store.value)`")
            let names = index.names(.envStore) + index.names(.secretStore)
            let closeness = Suggestions.closest(to: store.value, in: names).map { "did you mean `\($0)`? " } ?? ""
            report(
                .unresolvedReference,
                "agent `\(agent.name)` takes env from store `\(store.value)`, which is neither an EnvStore nor a SecretStore of project `\(Compiler.project(of: agent))`",
                file: agent.file, range: store.range, help: closeness + where_, severity: severity)
            return nil
        }
        let isSecret = found.resource.kind == .secretStore
        if let key, case .envStore(let spec) = found.spec, !spec.data.contains(where: { $0.key.value == key.value }) {
            reportMissingKey(key, store: found.resource, keys: spec.data.map(\.key.value), agent: agent)
        } else if let key, case .secretStore(let spec) = found.spec, !spec.data.contains(where: { $0.key.value == key.value }) {
            reportMissingKey(key, store: found.resource, keys: spec.data.map(\.key.value), agent: agent)
        }
        return isSecret
    }

    private mutating func reportMissingKey(_ key: Located<String>, store: Resource, keys: [String], agent: Resource) {
        report(
            .unresolvedReference,
            "\(store.kindName) `\(store.name)` has no key `\(key.value)` (agent `\(agent.name)`)",
            file: agent.file, range: key.range, help: CompileContext.suggestion(for: key.value, among: keys.sorted(), kind: "key"))
    }

    mutating func checkProfile(_ profile: ExecutionProfileSpec, of resource: Resource) {
        let mode = profile.mode?.value ?? .host
        if let fsMode = profile.fsMode, fsMode.value != .inherit, mode != .sandbox {
            report(
                .profileFilesystemNeedsSandbox,
                "`fs_mode: \(fsMode.value.rawValue)` needs `mode: sandbox` (execution profile `\(resource.name)` runs on the host)",
                file: resource.file, range: fsMode.range, help: "add `mode: sandbox`, or drop `fs_mode`")
        }
        if let network = profile.networkMode, network.value == .allowlist, profile.networkAllowlist.isEmpty {
            report(
                .profileEmptyAllowlist,
                "`network_mode: allowlist` needs a non-empty `network_allowlist` (execution profile `\(resource.name)`)",
                file: resource.file, range: network.range,
                help: "list the hosts (host or host:port) the steps may reach, or use `network_mode: deny`")
        }
    }

    /// Built-ins plus every variable any workflow of the project sets (captures and per-step
    /// variables), for expressions that are not tied to one place in a workflow. Built once per
    /// project.
    mutating func projectWideDeclarations(project: String) -> Declarations {
        if let cached = projectDeclarations[project] { return cached }
        var declared = Declarations.builtins
        for resource in resources where resource.kind == .workflow && Compiler.project(of: resource) == project {
            guard case .workflow(let spec) = resource.spec else { continue }
            WorkflowCompiler.forEachStep(spec.steps) { step in
                WorkflowCompiler.declareVariables(setBy: step, into: &declared)
            }
        }
        projectDeclarations[project] = declared
        return declared
    }
}

extension CompileContext {
    /// What a task would refuse at start, said at validate with positions: a second
    /// RuntimePolicy in a project, a redaction pattern that is no regular expression, a shell
    /// the policy's own allowlist refuses (docs/manifests.md, RuntimePolicy).
    mutating func checkRuntimePolicies() {
        var first: [String: Resource] = [:]
        for resource in resources {
            guard case .runtimePolicy(let stored) = resource.spec else { continue }
            let project = Compiler.project(of: resource)
            if let earlier = first[project] {
                report(
                    .runtimePolicyDuplicate,
                    "project `\(project)` has a second RuntimePolicy, `\(resource.name)` (the first is `\(earlier.name)`, \(earlier.file):\(earlier.metadata.name.range.start.line)): tasks of the project would be refused",
                    file: resource.file, range: resource.metadata.name.range, help: "keep one RuntimePolicy per project")
            } else {
                first[project] = resource
            }
            let runner = stored.node["runner"]
            for pattern in runner?["redaction_patterns"]?.sequence ?? [] {
                guard let text = pattern.scalar?.text else { continue }
                do throws(RegexError) {
                    _ = try Regex(text)
                } catch {
                    report(
                        .runtimePolicyPattern, "redaction pattern `\(text)` is not a regular expression: \(error)", file: resource.file,
                        range: pattern.range, help: "write a regular expression for the names of secrets, e.g. `api_key` or `(?:access|refresh)_token`")
                }
            }
            let policy = runner?["policy"]?.scalar?.text ?? "allowlist"
            guard policy != "unsafe", policy != "legacy", let runner else { continue }
            let shells = runner["allowed_shells"]?.sequence?.compactMap { $0.scalar?.text } ?? ["/bin/bash", "/bin/zsh", "/bin/sh"]
            let arguments = runner["allowed_shell_args"]?.sequence?.compactMap { $0.scalar?.text } ?? ["-lc", "-c"]
            if let shell = runner["shell"], let text = shell.scalar?.text, !shells.contains(text) {
                report(
                    .runtimePolicyShell, "shell `\(text)` is not in allowed_shells (\(shells.joined(separator: ", "))): every step of the project would fail",
                    file: resource.file, range: shell.range, help: "add it to allowed_shells, choose an allowed shell, or set `policy: unsafe`")
            }
            let argument = runner["shell_arg"]
            let argumentText = argument?.scalar?.text ?? "-lc"
            if !arguments.contains(argumentText) {
                report(
                    .runtimePolicyShell,
                    "shell_arg `\(argumentText)` is not in allowed_shell_args (\(arguments.joined(separator: ", "))): every step of the project would fail",
                    file: resource.file, range: argument?.range ?? resource.kindRange, help: "add it to allowed_shell_args or choose an allowed one")
            }
        }
    }
}
