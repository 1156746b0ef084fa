import Diagnostics
import Manifest
import Runner
import Store

/// What a Workspace's paths point at, checked where a wrong folder would otherwise pass silently
/// (`validate`, `apply`, `task create`): a `root_path` that does not exist, or a `qa_targets`
/// entry that is missing or holds no `*.md` file, would run agents in the wrong place or give a
/// task no items, and the task would still end `completed`.
///
/// Relative paths resolve against the working directory of the command, as the replaced system
/// resolves them (docs/manifests.md, `root_path`).
public enum WorkspacePaths {
    public enum Rule: String, CaseIterable, Sendable {
        case rootPathMissing = "root-path-missing"
        case qaTargetMissing = "qa-target-missing"
        case qaTargetEmpty = "qa-target-empty"

        public var summary: String {
            switch self {
            case .rootPathMissing: return "a workspace's `root_path` is not an existing directory"
            case .qaTargetMissing: return "a `qa_targets` entry names nothing under the workspace root"
            case .qaTargetEmpty: return "a `qa_targets` entry holds no `*.md` document, so it gives the task no items"
            }
        }

        public static var descriptions: [RuleDescription] {
            allCases.map {
                RuleDescription(
                    id: $0.rawValue, summary: $0.summary, defaultSeverity: .warning,
                    rationale: "Relative paths resolve against the directory the command runs in. A workspace that points at the "
                        + "wrong folder runs agents there and finds no QA documents, and the task still ends `completed`.")
            }
        }
    }

    /// The absolute root a Workspace resolves to when a command runs in `currentDirectory`.
    public static func root(of workspace: WorkspaceSpec, currentDirectory: String) -> String {
        ManifestRecords.absolutePath(workspace.rootPath.value, base: currentDirectory)
    }

    /// Positioned warnings for every Workspace among `resources`.
    public static func check(_ resources: [Resource], currentDirectory: String) -> [Diagnostic] {
        var findings: [Diagnostic] = []
        for resource in resources {
            guard case .workspace(let workspace) = resource.spec else { continue }
            findings += check(workspace, name: resource.name, file: resource.file, root: root(of: workspace, currentDirectory: currentDirectory))
        }
        return findings
    }

    /// Warnings for one workspace whose root is `root` (absolute); `file` is where its manifest
    /// came from (nil for a stored workspace).
    public static func check(_ workspace: WorkspaceSpec, name: String, file: String?, root: String) -> [Diagnostic] {
        guard Items.directoryExists(root) else {
            return [
                .warning(
                    Rule.rootPathMissing.rawValue,
                    "workspace `\(name)`: root_path `\(workspace.rootPath.value)` resolves to \(root), which is not an existing directory",
                    file: file, range: workspace.rootPath.range,
                    help: "relative paths resolve against the directory the command runs in; run it from the repository root or write an absolute path")
            ]
        }
        var findings: [Diagnostic] = []
        for target in workspace.qaTargets {
            switch Items.contents(ofTarget: target.value, root: root) {
            case .documents: continue
            case .missing:
                findings.append(
                    .warning(
                        Rule.qaTargetMissing.rawValue,
                        "workspace `\(name)`: qa_targets entry `\(target.value)` does not exist under \(root)",
                        file: file, range: target.range,
                        help: "tasks without -t take their items from the *.md files under qa_targets; create the folder or fix the path"))
            case .noMarkdown:
                findings.append(
                    .warning(
                        Rule.qaTargetEmpty.rawValue,
                        "workspace `\(name)`: qa_targets entry `\(target.value)` holds no *.md file under \(root)",
                        file: file, range: target.range,
                        help: "tasks without -t take their items from the *.md files under qa_targets; this entry gives them none"))
            }
        }
        return findings
    }
}
