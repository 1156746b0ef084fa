import Compiler
import Diagnostics
import Foundation
import Manifest
import Testing

/// Lint over the real manifests of the replaced system (../shared/corpus/anchor), linted as one
/// set as `orchestrator lint -f ../shared/corpus/anchor` does. docs/lint.md discusses each finding;
/// this list keeps the two in step.
@Suite struct LintCorpusTests {
    /// The warnings of the lint rules (compiler-reported ones included), `path:line:column rule`.
    static let expectedWarnings: [String] = [
        "docs/workflow/claude-secret.yaml:15:9 unused-resource",
        "docs/workflow/claude-secret.yaml:23:9 unused-resource",
        "docs/workflow/command-rules.yaml:89:12 prompt-not-delivered",
        "docs/workflow/command-rules.yaml:97:16 prompt-not-delivered",
        "docs/workflow/execution-profiles.yaml:30:9 unused-resource",
        "docs/workflow/fr-watch.yaml:77:12 prompt-not-delivered",
        "docs/workflow/full-qa.yaml:85:122 undefined-variable",
        "docs/workflow/full-qa.yaml:127:16 builtin-does-nothing",
        "docs/workflow/plan-execute.yaml:97:12 prompt-not-delivered",
        "docs/workflow/promotion-secrets.yaml:12:9 unused-resource",
        "docs/workflow/promotion-secrets.yaml:15:20 unexpanded-env-reference",
        "docs/workflow/promotion.yaml:141:46 unknown-placeholder",
        "docs/workflow/promotion.yaml:318:18 capture-unused",
        "docs/workflow/promotion.yaml:322:11 folded-heredoc",
        "docs/workflow/promotion.yaml:332:27 unknown-placeholder",
        "docs/workflow/promotion.yaml:349:19 unknown-placeholder",
        "docs/workflow/scheduled-scan.yaml:73:12 prompt-not-delivered",
        "docs/workflow/self-bootstrap.yaml:116:51 undefined-variable",
        "docs/workflow/self-bootstrap.yaml:187:9 unused-resource",
        "docs/workflow/self-bootstrap.yaml:346:16 builtin-does-nothing",
        "docs/workflow/self-bootstrap.yaml:355:16 builtin-does-nothing",
        "docs/workflow/self-bootstrap.yaml:376:139 undefined-variable",
        "docs/workflow/self-bootstrap.yaml:388:21 no-effect",
        "docs/workflow/self-evolution.yaml:68:37 unknown-placeholder",
        "docs/workflow/self-evolution.yaml:86:35 unknown-placeholder",
        "docs/workflow/self-evolution.yaml:324:16 builtin-does-nothing",
        "fixtures/manifests/bundles/fr055-stagger-test.yaml:56:21 no-effect",
        "fixtures/manifests/bundles/fr055-stagger-test.yaml:72:21 no-effect",
        "fixtures/manifests/bundles/qa-fail-rollback.yaml:66:16 builtin-does-nothing",
        "fixtures/manifests/bundles/qa105-s2-unknown-field-no-suggestion.yaml:33:11 builtin-does-nothing",
        "fixtures/manifests/bundles/qa105-s5-prehook-declared-capture.yaml:43:11 builtin-does-nothing",
        "fixtures/manifests/bundles/qa107-s1-parallel.yaml:41:18 capture-unused",
        "fixtures/manifests/bundles/qa50-store-io-test.yaml:41:16 store-input-never-written",
        "fixtures/manifests/bundles/qa50-store-io-test.yaml:74:16 store-input-never-written",
        "fixtures/manifests/bundles/self-bootstrap-mock.yaml:42:9 unused-resource",
        "fixtures/manifests/bundles/self-bootstrap-mock.yaml:50:9 unused-resource",
        "fixtures/manifests/bundles/self-bootstrap-mock.yaml:207:9 unused-resource",
        "fixtures/manifests/bundles/self-bootstrap-mock.yaml:237:12 prompt-not-delivered",
        "fixtures/manifests/bundles/self-bootstrap-mock.yaml:250:12 prompt-not-delivered",
        "fixtures/manifests/bundles/self-bootstrap-mock.yaml:326:16 builtin-does-nothing",
        "fixtures/manifests/bundles/self-bootstrap-mock.yaml:335:16 builtin-does-nothing",
        "fixtures/manifests/bundles/self-bootstrap-mock.yaml:366:21 no-effect",
        "fixtures/manifests/bundles/self-bootstrap-test.yaml:72:12 prompt-not-delivered",
        "fixtures/manifests/bundles/self-bootstrap-test.yaml:136:16 undefined-variable",
        "fixtures/manifests/bundles/self-bootstrap-test.yaml:136:36 undefined-variable",
        "fixtures/manifests/bundles/self-bootstrap-test.yaml:177:16 undefined-variable",
        "fixtures/manifests/bundles/self-bootstrap-test.yaml:177:36 undefined-variable",
        "fixtures/manifests/bundles/self-bootstrap-test.yaml:240:11 ignored-gate-failure",
        "fixtures/manifests/bundles/self-bootstrap-test.yaml:244:16 builtin-does-nothing",
        "fixtures/manifests/bundles/self-bootstrap-test.yaml:249:16 builtin-does-nothing",
        "fixtures/manifests/bundles/self-referential-safety-alignment.yaml:34:11 builtin-does-nothing",
        "fixtures/manifests/bundles/self-referential-safety-alignment.yaml:56:11 builtin-does-nothing",
        "test-yaml-warnings/s3-correct-yaml.yaml:31:18 capture-unused",
        "test-yaml-warnings/s4-prehook-undeclared-capture.yaml:33:19 undefined-variable",
        "test-yaml-warnings/s5-prehook-declared-capture.yaml:31:18 capture-unused",
        "test-yaml-warnings/s5-prehook-declared-capture.yaml:37:19 undefined-variable",
    ]

    /// `repeatable: false` in one-cycle loops (no-effect notes).
    static let expectedNotes = 58

    @Test func corpusFindingsAreTheReviewedOnes() throws {
        guard let shared = sharedDirectory else {
            print("note: ../shared is absent; skipping the corpus lint test")
            return
        }
        let root = shared + "/corpus/anchor"
        let files = (FileManager.default.enumerator(atPath: root)?.allObjects as? [String] ?? [])
            .filter { ($0.hasSuffix(".yaml") || $0.hasSuffix(".yml")) && !$0.split(separator: "/").contains { $0.hasPrefix(".") } }
            .sorted()
        let texts = files.compactMap { path in readFile(root + "/" + path).map { (name: path, text: $0) } }
        #expect(texts.count == 62)
        let findings = lint(texts).filter { LintRegistry.rule($0.rule) != nil }
        #expect(!findings.contains { $0.severity == .error }, "a lint rule reports an error on a real manifest")
        let warnings = findings.filter { $0.severity == .warning }.sorted(by: Diagnostic.sortKey).map { finding in
            "\(finding.file ?? ""):\(finding.range?.start.description ?? "") \(finding.rule)"
        }
        #expect(warnings == Self.expectedWarnings)
        let notes = findings.filter { $0.severity == .note }
        #expect(notes.count == Self.expectedNotes)
        #expect(notes.allSatisfy { $0.rule == "no-effect" && $0.message.hasPrefix("`repeatable: false` has no effect") })
    }
}
