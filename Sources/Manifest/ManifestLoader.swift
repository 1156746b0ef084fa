import Diagnostics
import Platform
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
    /// `workers`: how many threads parse and decode (by default one per core, up to 8); the
    /// result is the same for any number.
    public static func load(
        _ sources: [SourceFile], projectOverride: String?, strict: Bool = false, limit: DiagnosticLimit = .unlimited,
        workers: Int = Parallel.maximumWorkers
    ) -> LoadedManifests {
        // The work: each file, or each run of documents of a large file, parsed and decoded on
        // its own, several at a time (issue 20); the results are taken in file and document
        // order, so what is found and kept is what one pass over the files finds and keeps.
        var pieces: [(file: Int, chunk: Range<Int>?)] = []
        for (index, source) in sources.enumerated() {
            // Many more runs than threads: each thread takes the next run when done with one, so
            // the threads finish together (with as many runs as threads, one waited for the other).
            // One thread parses each file whole.
            let chunks = YAMLParser.documentChunks(of: source, count: workers > 1 ? 8 * workers : 1, minimumBytes: chunkBytes)
            if chunks.count > 1 {
                for chunk in chunks { pieces.append((index, chunk)) }
            } else {
                pieces.append((index, nil))
            }
        }
        let results = Parallel.map(pieces, workers: workers) { piece -> Piece in
            let source = sources[piece.file]
            let documents: [Document]
            var nodes = 0
            do throws(YAMLError) {
                if let chunk = piece.chunk {
                    (documents, nodes) = try YAMLParser.parse(source, chunk: chunk)
                } else {
                    documents = try YAMLParser.parse(source)
                }
            } catch {
                return .failed(error)
            }
            let result = ManifestDecoder.decode(
                documents: documents, file: source.path, projectOverride: projectOverride, source: source.bytes, strict: strict,
                limit: limit)
            return .decoded(result, nodes: nodes)
        }

        var loaded = LoadedManifests(sources: sources)
        var collector = DiagnosticCollector(limit: limit)
        var position = 0
        for (index, source) in sources.enumerated() {
            var mine: [Piece] = []
            while position < pieces.count, pieces[position].file == index {
                mine.append(results[position])
                position += 1
            }
            // A file in runs whose parse failed anywhere, or that holds more nodes than one parse
            // allows, is parsed again whole: its error is the one the whole stream gives.
            let whole = mine.count > 1 && mine.contains { piece in
                if case .decoded = piece { return false }
                return true
            }
            let nodes = mine.reduce(0) { total, piece in
                if case .decoded(_, let nodes) = piece { return total + nodes }
                return total
            }
            if whole || nodes > YAMLLimits.standard.maxNodes {
                mine = [loadWhole(source, projectOverride: projectOverride, strict: strict, limit: limit)]
            }
            for piece in mine {
                switch piece {
                case .failed(let error):
                    collector.append(error.diagnostic(file: source.path))
                case .decoded(let result, _):
                    // The first file's resources are taken as they are: appending copies every
                    // Resource (issue 20).
                    if loaded.resources.isEmpty { loaded.resources = result.resources } else { loaded.resources += result.resources }
                    collector.append(contentsOf: result.diagnostics)
                    collector.skip(result.skipped)
                }
            }
        }
        loaded.diagnostics = collector.kept
        loaded.skipped = collector.skipped
        return loaded
    }

    /// Runs of documents are at least this large (files from twice this size on are parsed in
    /// runs; smaller ones take less time than starting a thread is worth).
    static let chunkBytes = 16 << 10

    /// What one file, or one run of its documents, gave.
    enum Piece: Sendable {
        case decoded(DecodeResult, nodes: Int)
        case failed(YAMLError)
    }

    static func loadWhole(_ source: SourceFile, projectOverride: String?, strict: Bool, limit: DiagnosticLimit) -> Piece {
        do {
            let documents = try YAMLParser.parse(source)
            return .decoded(
                ManifestDecoder.decode(
                    documents: documents, file: source.path, projectOverride: projectOverride, source: source.bytes, strict: strict,
                    limit: limit),
                nodes: 0)
        } catch {
            return .failed(error)
        }
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
