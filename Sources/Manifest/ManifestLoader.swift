import Diagnostics
import YAML

/// The resources of a set of files, what was found wrong in them, and the sources (for
/// rendering diagnostics with their source lines).
public struct LoadedManifests: Sendable {
    /// Every valid document's resource, in file order then document order.
    public var resources: [Resource]
    /// YAML parse errors and decoding findings of every file.
    public var diagnostics: [Diagnostic]
    public var sources: [SourceFile]

    public init(resources: [Resource] = [], diagnostics: [Diagnostic] = [], sources: [SourceFile] = []) {
        self.resources = resources
        self.diagnostics = diagnostics
        self.sources = sources
    }

    public var hasErrors: Bool { diagnostics.contains { $0.severity == .error } }
}

/// Parses and decodes manifest files.
public enum ManifestLoader {
    /// Parses each source with the YAML layer and decodes its documents (`ManifestDecoder`).
    /// A file that does not parse yields its parse error as a diagnostic and no resources; the
    /// other files still load. `projectOverride` is the command line's `--project`.
    /// `strict`: keys the replaced system ignored are errors, not warnings (`validate --strict`).
    public static func load(_ sources: [SourceFile], projectOverride: String?, strict: Bool = false) -> LoadedManifests {
        var loaded = LoadedManifests(sources: sources)
        for source in sources {
            let documents: [Document]
            do {
                documents = try YAMLParser.parse(source.bytes)
            } catch {
                loaded.diagnostics.append(error.diagnostic(file: source.path))
                continue
            }
            let result = ManifestDecoder.decode(
                documents: documents, file: source.path, projectOverride: projectOverride, source: source.bytes, strict: strict)
            loaded.resources += result.resources
            loaded.diagnostics += result.diagnostics
        }
        return loaded
    }
}

extension Resource {
    /// The project the resource belongs to: `metadata.project`, else the command line's
    /// `--project`, else `default`.
    public var resolvedProject: String {
        metadata.project?.value ?? projectOverride ?? Resource.defaultProject
    }

    /// The project of resources that name none.
    public static let defaultProject = "default"
}
