import CLI
import Foundation
import Store
import Testing

/// A manifest stream of `count` step templates.
private func largeManifest(_ count: Int, variant: String) -> String {
    (0..<count).map { index in
        """
        apiVersion: orchestrator.dev/v2
        kind: StepTemplate
        metadata:
          name: t\(index)
        spec:
          prompt: "Prompt \(index) of \(variant) for {goal}"

        """
    }.joined(separator: "---\n")
}

@Suite struct CrashSafetyTests {
    /// SIGKILL the real executable at many points of a large apply: the database is intact
    /// every time and holds either all of that apply or none of it.
    @Test func killedApplyLeavesAllOrNothing() throws {
        let root = try makeTemporaryDirectory("crash")
        let data = root + "/data"
        let count = 2_000
        let first = try writeFile(root, "first.yaml", largeManifest(count, variant: "first"))
        let second = try writeFile(root, "second.yaml", largeManifest(count, variant: "second"))
        // A complete first apply gives the baseline, and its duration sets the kill points.
        let started = Date()
        let baseline = try runExecutable(["apply", "-f", first, "--data-dir", data])
        let duration = Date().timeIntervalSince(started)
        #expect(baseline.status == 0, "\(baseline.stderr)")

        var outcomes: [String] = []
        for fraction in [0.1, 0.25, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0] {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: orchestratorExecutable)
            process.arguments = ["apply", "-f", second, "--data-dir", data]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            usleep(useconds_t(duration * fraction * 1_000_000))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()

            let store = try SQLResourceStore(dataDirectory: data)
            #expect(try (store.database as? Database)?.integrityCheck() == "ok")
            let resources = try store.resources(kind: "StepTemplate")
            #expect(resources.count == count)
            let secondVersion = resources.filter { $0.spec["prompt"]?.stringValue?.contains("of second") == true }.count
            let generations = Set(resources.map(\.generation))
            // All of the second apply (every resource at generation 2) or none of it.
            #expect(secondVersion == 0 || secondVersion == count, "partial apply: \(secondVersion) of \(count)")
            #expect(generations.count == 1)
            let revisions = try store.database.query("SELECT COUNT(*) FROM resource_revisions").first?.first?.integer ?? -1
            #expect(revisions == Int64(count) * (secondVersion == count ? 2 : 1))
            outcomes.append(secondVersion == count ? "all" : "none")
            if secondVersion == count { break }
        }
        // Each kill point either lost the whole apply or kept the whole of it.
        #expect(!outcomes.isEmpty)
    }
}
