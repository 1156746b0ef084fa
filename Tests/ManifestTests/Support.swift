import Diagnostics
import Manifest
import Testing
import YAML

/// Parses and decodes `text` as the file `t.yaml`.
func load(_ text: String, project: String? = nil, path: String = "t.yaml") -> LoadedManifests {
    ManifestLoader.load([SourceFile(path: path, text: text)], projectOverride: project)
}

/// The diagnostics of `rule`.
func findings(_ loaded: LoadedManifests, _ rule: String) -> [Diagnostic] {
    loaded.diagnostics.filter { $0.rule == rule }
}

/// Asserts exactly one diagnostic of `rule` at `line`:`column` and returns it.
@discardableResult
func expectOne(
    _ loaded: LoadedManifests, _ rule: String, line: Int, column: Int,
    sourceLocation: Testing.SourceLocation = #_sourceLocation
) -> Diagnostic? {
    let matching = findings(loaded, rule)
    #expect(matching.count == 1, "expected one \(rule), got \(loaded.diagnostics)", sourceLocation: sourceLocation)
    guard let first = matching.first else { return nil }
    #expect(first.range?.start.line == line, "line of \(first)", sourceLocation: sourceLocation)
    #expect(first.range?.start.column == column, "column of \(first)", sourceLocation: sourceLocation)
    #expect(first.file == "t.yaml", sourceLocation: sourceLocation)
    #expect(first.help?.isEmpty == false, "every diagnostic says what to do", sourceLocation: sourceLocation)
    return first
}

/// A minimal valid document of each kind, for tests that break one field.
enum Sample {
    static let workspace = """
        apiVersion: orchestrator.dev/v2
        kind: Workspace
        metadata:
          name: ws
        spec:
          root_path: .
        """
    static let agent = """
        apiVersion: orchestrator.dev/v2
        kind: Agent
        metadata:
          name: echo
        spec:
          command: echo hi
          capabilities: [qa]
        """
}

extension Resource {
    var workflow: WorkflowSpec? {
        if case .workflow(let spec) = spec { return spec }
        return nil
    }
    var workspace: WorkspaceSpec? {
        if case .workspace(let spec) = spec { return spec }
        return nil
    }
    var agent: AgentSpec? {
        if case .agent(let spec) = spec { return spec }
        return nil
    }
}
