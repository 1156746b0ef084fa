import Diagnostics
import Manifest
import Platform
import Testing

/// `ManifestLoader.load` on several threads (issue 20): large files are parsed and decoded in
/// runs of documents, files side by side; what it finds and keeps is what one thread finds.
@Suite struct ParallelLoadTests {
    /// 400 documents with findings spread over them: unknown keys (warnings), a bad document
    /// (errors), a misspelt kind.
    static func manifest(documents: Int) -> String {
        var out = ""
        for index in 0..<documents {
            if index > 0 { out += "---\n" }
            switch index % 7 {
            case 3:
                out += "apiVersion: orchestrator.dev/v2\nkind: Agent\nmetadata:\n  name: a\(index)\nspec:\n  command: run\n  colour: blue\n"
            case 5 where index % 35 == 5:
                out += "apiVersion: orchestrator.dev/v2\nkind: Agnet\nmetadata:\n  name: x\(index)\nspec: {}\n"
            case 6 where index % 21 == 6:
                out += "apiVersion: orchestrator.dev/v2\nkind: StepTemplate\nmetadata:\n  name: \"bad name \(index)\"\nspec:\n  prompt: \"\"\n"
            default:
                out += "apiVersion: orchestrator.dev/v2\nkind: StepTemplate\nmetadata:\n  name: t\(index)\n  labels: {team: core}\nspec:\n  prompt: >-\n    Implement part \(index)\n    — and report.\n"
            }
        }
        return out
    }

    func summary(_ loaded: LoadedManifests) -> [String] {
        loaded.resources.map { "\($0.kindName)/\($0.name) \($0.file) \($0.metadata.name.range) \($0.kindRange)" }
            + loaded.diagnostics.map { "\($0.severity) \($0.rule) \($0.file ?? "") \($0.range.map { "\($0)" } ?? "") \($0.message)" }
            + ["skipped \(loaded.skipped)"]
    }

    @Test func manyThreadsFindAndKeepWhatOneThreadDoes() {
        let sources = [
            SourceFile(path: "big.yaml", text: Self.manifest(documents: 400)),
            SourceFile(path: "small.yaml", text: Self.manifest(documents: 9)),
            SourceFile(path: "second-big.yaml", text: Self.manifest(documents: 300)),
        ]
        for limit in [DiagnosticLimit.unlimited, DiagnosticLimit(maxErrors: 7)] {
            let one = ManifestLoader.load(sources, projectOverride: nil, limit: limit, workers: 1)
            #expect(one.resources.count > 500)
            #expect(one.diagnostics.contains { $0.rule == "unknown-kind" })
            #expect(one.diagnostics.contains { $0.rule == "unknown-key" })
            for workers in [2, 4] {
                let many = ManifestLoader.load(sources, projectOverride: nil, limit: limit, workers: workers)
                #expect(summary(many) == summary(one), "\(workers) workers, limit \(limit.maxErrors)")
            }
        }
        #expect(ManifestLoader.load(sources, projectOverride: nil, limit: DiagnosticLimit(maxErrors: 7), workers: 4).skipped > 0)
    }

    @Test func aSyntaxErrorLateInALargeFileIsReportedAsTheWholeFileGivesIt() {
        let sources = [SourceFile(path: "big.yaml", text: Self.manifest(documents: 400) + "---\nkind: [unclosed\n")]
        let one = ManifestLoader.load(sources, projectOverride: nil, workers: 1)
        let many = ManifestLoader.load(sources, projectOverride: nil, workers: 4)
        #expect(one.resources.isEmpty && one.diagnostics.count == 1)
        #expect(summary(many) == summary(one))
    }

    @Test func parallelMapKeepsOrderAndComputesEachItemOnce() {
        let calls = Locked<[Int: Int]>([:])
        let items = Array(0..<1000)
        let results = Parallel.map(items, workers: 4) { item -> Int in
            calls.withLock { $0[item, default: 0] += 1 }
            return item * item
        }
        #expect(results == items.map { $0 * $0 })
        #expect(calls.withLock { $0 }.values.allSatisfy { $0 == 1 } && calls.withLock { $0 }.count == 1000)
    }
}
