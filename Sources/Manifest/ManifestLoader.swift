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
    /// Findings found after the load's `DiagnosticLimit` was reached: counted, not kept.
    public var skipped: Int

    public init(resources: [Resource] = [], diagnostics: [Diagnostic] = [], sources: [SourceFile] = [], skipped: Int = 0) {
        self.resources = resources
        self.diagnostics = diagnostics
        self.sources = sources
        self.skipped = skipped
    }

    public var hasErrors: Bool { diagnostics.contains { $0.severity == .error } }
}

/// Parses and decodes manifest files.
public enum ManifestLoader {
    /// Parses each source with the YAML layer and decodes its documents (`ManifestDecoder`).
    /// A file that does not parse yields its parse error as a diagnostic and no resources; the
    /// other files still load. `projectOverride` is the command line's `--project`.
    /// `strict`: keys the replaced system ignored are errors, not warnings (`validate --strict`).
    /// Findings past `limit` are counted in `skipped`, not kept.
    public static func load(
        _ sources: [SourceFile], projectOverride: String?, strict: Bool = false, limit: DiagnosticLimit = .unlimited
    ) -> LoadedManifests {
        var loaded = LoadedManifests(sources: sources)
        var collector = DiagnosticCollector(limit: limit)
        for source in sources {
            let documents: [Document]
            do {
                documents = try YAMLParser.parse(source)
            } catch {
                collector.append(error.diagnostic(file: source.path))
                continue
            }
            let result = ManifestDecoder.decode(
                documents: documents, file: source.path, projectOverride: projectOverride, source: source.bytes, strict: strict, limit: limit)
            // The first file's resources are taken as they are: appending copies every
            // Resource (large values: issue 20, 1% of an apply of one file).
            if loaded.resources.isEmpty { loaded.resources = result.resources } else { loaded.resources += result.resources }
            collector.append(contentsOf: result.diagnostics)
            collector.skip(result.skipped)
        }
        loaded.diagnostics = collector.kept
        loaded.skipped = collector.skipped
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
