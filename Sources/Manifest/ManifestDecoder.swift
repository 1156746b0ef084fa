import Diagnostics
import Expr
import YAML

/// The decoded documents of one file (or several) and everything found wrong in them.
public struct DecodeResult: Sendable {
    /// One resource per valid document, in document order.
    public var resources: [Resource]
    /// Errors and warnings, in the order found (renderers sort them).
    public var diagnostics: [Diagnostic]
    /// Findings past the decode's `DiagnosticLimit`: counted, not kept.
    public var skipped: Int

    public init(resources: [Resource] = [], diagnostics: [Diagnostic] = [], skipped: Int = 0) {
        self.resources = resources
        self.diagnostics = diagnostics
        self.skipped = skipped
    }

    public var hasErrors: Bool { diagnostics.contains { $0.severity == .error } }
}

/// Decodes YAML documents into the typed resources of spec/manifests.md.
///
/// - A document that is empty or only comments is skipped.
/// - RuntimePolicy, Trigger, WorkflowStore and StoreBackendProvider are decoded by the field tables
///   and stored, with one `not-executed` warning; a kind no table defines is a custom resource.
/// - A document with an error yields no resource; decoding goes on so that every error of every
///   document is reported, each at the exact key or value (rules: `ManifestRule`).
/// - Fields that are accepted but not executed are stored and warned (`not-executed`).
///
/// Cross-references (templates, capabilities, profiles, stores) are the compiler's job.
public enum ManifestDecoder {
    /// The apiVersion every document must have.
    public static let apiVersion = "orchestrator.dev/v2"

    /// Decodes the documents of `file`. `projectOverride` is the command line's `--project`:
    /// a document whose `metadata.project` differs is an error `project-mismatch`.
    /// `source` (the file's bytes) places the syntax errors of a rejected document's expressions
    /// at their exact position inside the YAML scalar; without it they point at the scalar.
    /// Findings past `limit` are counted in `skipped`, not kept (documents are still decoded).
    public static func decode(
        documents: [Document], file: String, projectOverride: String?, source: [UInt8]? = nil, strict: Bool = false,
        limit: DiagnosticLimit = .unlimited
    ) -> DecodeResult {
        let context = DecodeContext(file: file, strict: strict, limit: limit)
        var resources: [Resource] = []
        var positions: ScalarSourceMap?
        for document in documents {
            guard let root = document.root, !root.isNull else { continue }
            let errorsBefore = context.errorCount
            context.kind = nil
            context.expressionsRead = []
            context.notExecutedNotes = []
            var resource = decodeDocument(root, context: context, projectOverride: projectOverride)
            context.finishDocument()
            resource?.notExecutedSettings = context.notExecutedNotes
            if let resource, context.errorCount == errorsBefore {
                resources.append(resource)
            } else {
                // A rejected document is not compiled: report its expressions' syntax errors now,
                // so one run shows every error of the file.
                for (key, expression) in context.expressionsRead {
                    guard case .failure(let failure) = ExprParser.parseResult(expression.text) else { continue }
                    var diagnostic = failure.diagnostic
                    diagnostic.message = "`\(key)`: " + diagnostic.message
                    if diagnostic.help == nil { diagnostic.help = "fix the expression (its grammar: grammar/expr.md)" }
                    diagnostic.file = file
                    diagnostic.range = expression.range
                    if let source, let inner = failure.diagnostic.range {
                        if positions == nil { positions = ScalarSourceMap(source: source) }
                        positions?.add([expression.node])
                        if let map = positions {
                            diagnostic.range = map.range(
                                ofContentRange: inner.start.offset..<max(inner.start.offset, inner.end.offset), in: expression.node)
                        }
                    }
                    context.append(diagnostic)
                }
            }
        }
        return DecodeResult(resources: resources, diagnostics: context.diagnostics, skipped: context.collected.skipped)
    }

    /// Every `LEVEL.KEY` (SchemaLevel raw value, key) the typed decoder reads while decoding
    /// `documents`: the schema-table test compares it with `SchemaLevel.fields`.
    public static func typedKeysRead(documents: [Document]) -> Set<String> {
        let context = DecodeContext(file: "keys.yaml")
        context.typedReads = []
        for document in documents {
            guard let root = document.root, !root.isNull else { continue }
            context.kind = nil
            _ = decodeDocument(root, context: context, projectOverride: nil)
            context.finishDocument()
        }
        return context.typedReads ?? []
    }

    // MARK: - Envelope

    static func decodeDocument(_ root: Node, context: DecodeContext, projectOverride: String?) -> Resource? {
        guard case .mapping = root.content else {
            context.error(
                .typeMismatch, "a manifest document must be a mapping, found \(root.kindDescription)", at: root.range,
                help: "start the document with `apiVersion: \(apiVersion)`, `kind`, `metadata` and `spec`")
            return nil
        }

        // The kind decides everything else. A kind this tool does not build in is a custom
        // resource (its CustomResourceDefinition is resolved by the compiler), unless it is
        // written with our apiVersion and is close to a built-in kind (a typo).
        let kindValue = root["kind"]
        var kind: ResourceKind?
        var customKind: Located<String>?
        if let kindValue, !kindValue.isNull {
            if let text = context.scalarString(kindValue, key: "kind") {
                if let known = ResourceKind(rawValue: text.value), known != .custom {
                    kind = known
                } else if root["apiVersion"]?.scalar?.text == apiVersion,
                    let close = Suggestions.closest(to: text.value, in: ResourceKind.builtin.map(\.rawValue))
                {
                    context.error(.unknownKind, "unknown kind `\(text.value)`", at: text.range, help: "did you mean `\(close)`?")
                } else if text.value.isEmpty || text.value.first?.isUppercase != true || text.value.contains(where: { !$0.isLetter && !$0.isNumber }) {
                    context.error(
                        .unknownKind, "unknown kind `\(text.value)`", at: text.range,
                        help: "use one of \(kindList), or the PascalCase kind a CustomResourceDefinition defines")
                } else {
                    kind = .custom
                    customKind = text
                }
            }
        }
        context.kind = kind

        guard var fields = context.fields(root, .document, checkKeys: false) else { return nil }
        context.reportUnknownKeys(&fields)
        _ = fields.entry("kind")
        if kindValue == nil || kindValue?.isNull == true { context.missing("kind", in: fields, what: "Workflow") }

        // apiVersion: ours for built-in kinds; a custom resource's is checked against its CRD,
        // a CRD's is not checked (as the replaced system did).
        var apiVersionText = apiVersion
        var versionLocated: Located<String>?
        if let version = context.string(fields, "apiVersion", required: true) {
            apiVersionText = version.value
            versionLocated = version
            if version.value != apiVersion, kind != .custom, kind != .customResourceDefinition {
                context.error(
                    .apiVersion, "unsupported apiVersion `\(version.value)`; expected `\(apiVersion)`", at: version.range,
                    help: "write `apiVersion: \(apiVersion)`")
            }
        }

        let metadata = decodeMetadata(fields, context: context, projectOverride: projectOverride)

        var spec: ResourceSpec?
        if let kind {
            if kind == .custom, let customKind, let versionLocated {
                let specNode = fields.value("spec")?.value
                if specNode == nil { context.missing("spec", in: fields, what: "{...}") }
                spec = .custom(CustomResourceSpec(apiVersion: versionLocated, kind: customKind, spec: specNode))
            } else if kind != .custom, let specFields = context.nested(fields, "spec", specLevel(kind), required: true) {
                spec = decodeSpec(kind, specFields, context: context)
            }
        }

        guard let kind, let metadata, let spec, let kindValue else { return nil }
        var resource = Resource(
            kind: kind, apiVersion: apiVersionText, metadata: metadata, spec: spec, file: context.file, node: root,
            kindRange: kindValue.range)
        resource.projectOverride = projectOverride
        resource.customKind = customKind?.value
        return resource
    }

    static var kindList: String {
        ResourceKind.builtin.map { "`\($0.rawValue)`" }.joined(separator: ", ")
    }

    static func specLevel(_ kind: ResourceKind) -> SchemaLevel {
        switch kind {
        case .project: return .projectSpec
        case .workspace: return .workspaceSpec
        case .agent: return .agentSpec
        case .stepTemplate: return .stepTemplateSpec
        case .executionProfile: return .executionProfileSpec
        case .envStore, .secretStore: return .storeSpec
        case .workflow: return .workflowSpec
        case .runtimePolicy: return .runtimePolicySpec
        case .trigger: return .triggerSpec
        case .workflowStore: return .workflowStoreSpec
        case .storeBackendProvider: return .storeBackendProviderSpec
        case .customResourceDefinition: return .crdSpec
        case .custom: return .document
        }
    }

    static func decodeSpec(_ kind: ResourceKind, _ fields: Fields, context: DecodeContext) -> ResourceSpec? {
        switch kind {
        case .project: return decodeProject(fields, context: context).map(ResourceSpec.project)
        case .workspace: return decodeWorkspace(fields, context: context).map(ResourceSpec.workspace)
        case .agent: return decodeAgent(fields, context: context).map(ResourceSpec.agent)
        case .stepTemplate: return decodeStepTemplate(fields, context: context).map(ResourceSpec.stepTemplate)
        case .executionProfile: return decodeExecutionProfile(fields, context: context).map(ResourceSpec.executionProfile)
        case .envStore: return decodeStore(fields, context: context).map(ResourceSpec.envStore)
        case .secretStore: return decodeStore(fields, context: context).map(ResourceSpec.secretStore)
        case .workflow: return decodeWorkflow(fields, context: context).map(ResourceSpec.workflow)
        case .runtimePolicy, .trigger, .workflowStore, .storeBackendProvider:
            // Decoded by the tables alone; one `not-executed` warning per document says what is not run.
            var skipped: Set<String> = []
            if kind == .trigger, let (_, value) = fields.value("historyLimit"), case .int? = value.scalar?.value {
                // `historyLimit: N` (the replaced system's own promotion example) keeps N of each.
                _ = context.int(fields, "historyLimit")
                skipped.insert("historyLimit")
            }
            context.genericFields(fields, quiet: true, skipping: skipped)
            let spec = StoredSpec(node: fields.node)
            switch kind {
            case .runtimePolicy: return .runtimePolicy(spec)
            case .trigger:
                decodeTriggerRules(fields, context: context)
                return .trigger(spec)
            case .workflowStore: return .workflowStore(spec)
            default: return .storeBackendProvider(spec)
            }
        case .customResourceDefinition: return decodeCRD(fields, context: context).map(ResourceSpec.customResourceDefinition)
        case .custom: return nil
        }
    }

    // MARK: - Metadata

    /// `[A-Za-z0-9._-]{1,253}`, starting alphanumeric.
    public static func nameProblem(_ name: String) -> String? {
        if name.isEmpty { return "is empty" }
        // Most names: ASCII, checked byte by byte (no array of scalars).
        if name.utf8.count <= 253, let first = name.utf8.first, isASCIIAlphanumeric(first),
            name.utf8.allSatisfy({ isASCIIAlphanumeric($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") })
        {
            return nil
        }
        let scalars = Array(name.unicodeScalars)
        if scalars.count > 253 { return "is \(scalars.count) characters long (at most 253)" }
        func isAlphanumeric(_ s: Unicode.Scalar) -> Bool {
            (s >= "a" && s <= "z") || (s >= "A" && s <= "Z") || (s >= "0" && s <= "9")
        }
        if let first = scalars.first, !isAlphanumeric(first) { return "must start with a letter or digit" }
        if let bad = scalars.first(where: { !isAlphanumeric($0) && $0 != "." && $0 != "_" && $0 != "-" }) {
            return "contains `\(bad.escaped(asASCII: false))` (allowed: letters, digits, `.`, `_`, `-`)"
        }
        return nil
    }

    private static func isASCIIAlphanumeric(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
            || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
    }

    static func checkName(_ name: Located<String>, field: String, context: DecodeContext) -> Bool {
        guard let problem = nameProblem(name.value) else { return true }
        context.error(
            .invalidName, "`\(field)` `\(name.value)` \(problem)", at: name.range,
            help: "use 1-253 characters of letters, digits, `.`, `_` and `-`, starting with a letter or digit")
        return false
    }

    static func decodeMetadata(_ document: Fields, context: DecodeContext, projectOverride: String?) -> Metadata? {
        guard let fields = context.nested(document, "metadata", .metadata, required: true) else { return nil }
        let name = context.string(fields, "name", required: true)
        if let name { _ = checkName(name, field: "metadata.name", context: context) }

        let project = context.string(fields, "project")
        if let project, checkName(project, field: "metadata.project", context: context), let projectOverride,
            projectOverride != project.value
        {
            context.error(
                .projectMismatch,
                "`metadata.project` is `\(project.value)` but the command line says `--project \(projectOverride)`",
                at: project.range,
                help: "run with `--project \(project.value)`, or remove `metadata.project` so `--project` applies")
        }

        var labels: [(key: String, value: String)] = []
        var annotations: [(key: String, value: String)] = []
        if let (_, node) = fields.value("labels"), let map = context.stringMap(node, key: "labels") {
            labels = map.map { ($0.key, $0.value.value) }
        }
        if let (_, node) = fields.value("annotations"), let map = context.stringMap(node, key: "annotations") {
            annotations = map.map { ($0.key, $0.value.value) }
        }
        let description = context.string(fields, "description")
        guard let name else { return nil }
        return Metadata(
            name: name, project: project, labels: labels, annotations: annotations, description: description?.value)
    }

    // MARK: - Small kinds

    static func decodeProject(_ fields: Fields, context: DecodeContext) -> ProjectSpec? {
        ProjectSpec(description: context.string(fields, "description")?.value)
    }

    static func decodeWorkspace(_ fields: Fields, context: DecodeContext) -> WorkspaceSpec? {
        let root = context.nonEmptyString(fields, "root_path", required: true)
        let qaTargets = context.stringList(fields, "qa_targets")
        let ticketDir = context.string(fields, "ticket_dir")
        let selfReferential = context.bool(fields, "self_referential")
        let artifactsDir = context.string(fields, "artifacts_dir")
        let selfTest = context.stringList(fields, "self_test")
        let initScript = context.nonEmptyString(fields, "init")
        let sessionInit = context.nonEmptyString(fields, "init_script")
        let buildCommand = context.nonEmptyString(fields, "build_command")
        let buildOutput = context.nonEmptyString(fields, "build_output")
        guard let root else { return nil }
        var spec = WorkspaceSpec(rootPath: root)
        spec.qaTargets = qaTargets ?? []
        spec.ticketDir = ticketDir
        spec.selfReferential = selfReferential
        spec.artifactsDir = artifactsDir
        spec.selfTest = selfTest
        spec.initScript = initScript
        spec.sessionInitScript = sessionInit
        spec.buildCommand = buildCommand
        spec.buildOutput = buildOutput
        return spec
    }

    static func decodeStepTemplate(_ fields: Fields, context: DecodeContext) -> StepTemplateSpec? {
        let prompt = context.nonEmptyString(fields, "prompt", required: true)
        let description = context.string(fields, "description")
        guard let prompt else { return nil }
        return StepTemplateSpec(prompt: prompt, description: description?.value)
    }

    static func decodeExecutionProfile(_ fields: Fields, context: DecodeContext) -> ExecutionProfileSpec? {
        var spec = ExecutionProfileSpec()
        spec.mode = context.enumValue(fields, "mode", ProfileMode.self)
        spec.fsMode = context.enumValue(fields, "fs_mode", FilesystemMode.self)
        spec.writablePaths = context.stringList(fields, "writable_paths") ?? []
        spec.readablePaths = context.stringList(fields, "readable_paths") ?? []
        spec.networkMode = context.enumValue(fields, "network_mode", NetworkMode.self)
        spec.networkAllowlist = context.stringList(fields, "network_allowlist") ?? []
        spec.maxMemoryMB = context.int(fields, "max_memory_mb", minimum: 1)
        spec.maxCPUSeconds = context.int(fields, "max_cpu_seconds", minimum: 1)
        spec.maxProcesses = context.int(fields, "max_processes", minimum: 1)
        spec.maxOpenFiles = context.int(fields, "max_open_files", minimum: 1)
        return spec
    }

    static func decodeStore(_ fields: Fields, context: DecodeContext) -> StoreSpec? {
        guard let (_, data) = fields.value("data") else { return StoreSpec() }
        guard case .mapping(let entries) = data.content else {
            context.typeMismatch("a mapping of names to values", found: data, key: "data")
            return nil
        }
        var result: [StoreEntry] = []
        for entry in entries {
            let name = entry.key.scalar?.text ?? ""
            let key = Located(name, range: entry.key.range)
            switch entry.value.content {
            case .scalar:
                if let text = context.scalarString(entry.value, key: "data.\(name)", expected: "a string or `{fromEnv: NAME}`") {
                    result.append(StoreEntry(key: key, value: Located(.literal(text.value), range: text.range)))
                }
            case .mapping:
                guard let ref = context.fields(entry.value, .storeValue, anchor: entry.key.range, key: "data.\(name)"),
                    let variable = context.nonEmptyString(ref, "fromEnv", required: true)
                else { continue }
                result.append(StoreEntry(key: key, value: Located(.fromEnv(variable.value), range: entry.value.range)))
            case .sequence:
                context.typeMismatch("a string or `{fromEnv: NAME}`", found: entry.value, key: "data.\(name)")
            }
        }
        return StoreSpec(data: result)
    }

    // MARK: - Agent

    static func decodeAgent(_ fields: Fields, context: DecodeContext) -> AgentSpec? {
        let command = context.nonEmptyString(fields, "command", required: true)
        let capabilities = context.stringList(fields, "capabilities")
        let enabled = context.bool(fields, "enabled")
        let delivery = context.enumValue(fields, "promptDelivery", PromptDelivery.self)

        var env: [Located<EnvEntry>] = []
        for item in context.list(fields, "env", of: "env entries") ?? [] {
            if let entry = decodeEnvEntry(item, context: context) { env.append(entry) }
        }

        var rules: [CommandRule] = []
        for item in context.list(fields, "command_rules", of: "`{when, command}` entries") ?? [] {
            guard let rule = context.fields(item, .commandRule) else { continue }
            let when = context.expression(rule, "when", required: true)
            let ruleCommand = context.nonEmptyString(rule, "command", required: true)
            if let when, let ruleCommand { rules.append(CommandRule(when: when, command: ruleCommand)) }
        }

        var cost: Located<Int>?
        var agentDescription: String?
        if let meta = context.nested(fields, "metadata", .agentMetadata) {
            cost = context.int(meta, "cost")
            agentDescription = context.string(meta, "description")?.value
        }
        let selection = context.stored(fields, "selection", mapping: true, list: false)
        let health = context.stored(fields, "health_policy", mapping: true, list: false)

        guard let command else { return nil }
        var spec = AgentSpec(command: command)
        spec.capabilities = capabilities ?? []
        spec.enabled = enabled
        spec.env = env
        spec.promptDelivery = delivery
        spec.commandRules = rules
        spec.cost = cost
        spec.agentDescription = agentDescription
        spec.selection = selection?.value
        spec.healthPolicy = health?.value
        return spec
    }

    static func decodeEnvEntry(_ node: Node, context: DecodeContext) -> Located<EnvEntry>? {
        guard let fields = context.fields(node, .agentEnv) else { return nil }
        if fields.has("fromRef") {
            for other in ["name", "value", "refValue"] {
                context.conflict(fields, "fromRef", other, help: "`{fromRef: STORE}` takes every key of the store; remove `\(other)`")
            }
            guard let store = context.nonEmptyString(fields, "fromRef") else { return nil }
            return Located(.fromRef(store: store), range: node.range)
        }
        if fields.has("refValue") {
            context.conflict(fields, "refValue", "value", help: "an entry is either `{name, value}` or `{name, refValue}`")
            let name = context.nonEmptyString(fields, "name", required: true)
            guard let ref = context.nested(fields, "refValue", .agentEnvRef) else { return nil }
            let store = context.nonEmptyString(ref, "name", required: true)
            let key = context.nonEmptyString(ref, "key", required: true)
            guard let name, let store, let key else { return nil }
            return Located(.refValue(name: name, store: store, key: key), range: node.range)
        }
        if !fields.has("value"), fields.has("name") {
            let name = fields.value("name")?.key.range ?? fields.anchor
            context.error(
                .missingField, "env entry has `name` but neither `value` nor `refValue`", at: name,
                help: "add `value: TEXT`, or `refValue: {name: STORE, key: KEY}`")
            return nil
        }
        let name = context.nonEmptyString(fields, "name", required: true)
        let value = context.string(fields, "value", required: true)
        guard let name, let value else { return nil }
        return Located(.literal(name: name, value: value), range: node.range)
    }
}
