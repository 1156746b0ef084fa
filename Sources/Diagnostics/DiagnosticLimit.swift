/// How many findings a run keeps (`--max-errors N`): the first `maxErrors` errors in the order
/// they were found, with every warning and note found before the last of them; everything found
/// after that is counted, not kept, so a run over 200,000 broken documents keeps and renders a
/// bounded number of findings and says how many more there were.
public struct DiagnosticLimit: Sendable, Hashable {
    /// Errors kept before collecting stops; `Int.max` for no limit.
    public var maxErrors: Int

    public init(maxErrors: Int) { self.maxErrors = max(1, maxErrors) }

    /// 1,000 errors per run.
    public static let defaultMaxErrors = 1_000
    public static let standard = DiagnosticLimit(maxErrors: defaultMaxErrors)
    public static let unlimited = DiagnosticLimit(maxErrors: Int.max)

    /// `--max-errors N` as the user gave it: 0 means no limit.
    public init(option value: Int?) {
        switch value {
        case nil: self = .standard
        case 0?: self = .unlimited
        case let value?: self.init(maxErrors: value)
        }
    }

    /// Keeps what the limit allows of `diagnostics` (in order) and counts the rest.
    public func apply(_ diagnostics: [Diagnostic]) -> (kept: [Diagnostic], skipped: Int) {
        var collector = DiagnosticCollector(limit: self)
        collector.append(contentsOf: diagnostics)
        return (collector.kept, collector.skipped)
    }
}

/// Findings collected under a `DiagnosticLimit`: kept until the limit's error count is reached,
/// counted after.
public struct DiagnosticCollector: Sendable {
    public let limit: DiagnosticLimit
    public private(set) var kept: [Diagnostic] = []
    /// Findings found after the limit was reached.
    public private(set) var skipped = 0
    private var errors = 0

    public init(limit: DiagnosticLimit) { self.limit = limit }

    /// Whether the limit is reached (further findings are only counted).
    public var isFull: Bool { errors >= limit.maxErrors }

    public mutating func append(_ diagnostic: Diagnostic) {
        if isFull {
            skipped += 1
            return
        }
        if diagnostic.severity == .error { errors += 1 }
        kept.append(diagnostic)
    }

    public mutating func append(contentsOf diagnostics: [Diagnostic]) {
        for diagnostic in diagnostics { append(diagnostic) }
    }

    /// Counts `count` findings that were not even built (a caller that stopped early).
    public mutating func skip(_ count: Int) { skipped += count }
}
