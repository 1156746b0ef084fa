import Foundation
import JSON
import Testing

/// `task list --limit/--after` and `event list --after`: pages through the store's indexes.
@Suite struct PagingCommandTests {
    @Test("task list pages forward with --limit and --after; event list --after pages events")
    func pages() throws {
        let box = try TaskSandbox("paging")
        try box.manifest(
            """
            apiVersion: orchestrator.dev/v2
            kind: Workflow
            metadata: {name: wf}
            spec:
              steps:
                - {id: work, command: "true"}
            """, workspaceSpec: "qa_targets: []")
        #expect(box.cli(["apply", "-f", box.root + "/manifest.yaml"]).status == 0)
        for index in 1...5 {
            let created = box.cli(["task", "create", "-n", "t\(index)", "-W", "wf", "-g", "g", "--no-start"])
            #expect(created.status == 0, "\(created.stderr)")
        }
        let all = try JSONParser.parse(box.cli(["task", "list", "-o", "json"]).stdout).arrayValue?.compactMap { $0["id"]?.string } ?? []
        #expect(all.count == 5)
        let first = box.cli(["task", "list", "--limit", "2"])
        #expect(first.status == 0)
        #expect(first.stdout.contains("t1") && first.stdout.contains("t2") && !first.stdout.contains("t3"), "\(first.stdout)")
        #expect(first.stdout.contains("more: orchestrator task list --after \(all[1]) --limit 2"), "\(first.stdout)")
        let next = try JSONParser.parse(box.cli(["task", "list", "--after", all[1], "--limit", "2", "-o", "json"]).stdout)
        #expect(next.arrayValue?.compactMap { $0["id"]?.string } == Array(all[2...3]))
        // The last page says nothing more; a name works as the cursor too.
        let last = box.cli(["task", "list", "--after", "t4", "--limit", "2"])
        #expect(last.stdout.contains("t5") && !last.stdout.contains("more:"), "\(last.stdout)")
        let missing = box.cli(["task", "list", "--after", "nosuchtask"])
        #expect(missing.status == 2, "\(missing.stderr)")

        let run = box.cli(["task", "start", "t1"])
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        let events = try JSONParser.parse(box.cli(["event", "list", "t1", "-o", "json"]).stdout).arrayValue ?? []
        #expect(events.count >= 4)
        let ids = events.compactMap { $0["id"]?.int }
        let page = try JSONParser.parse(box.cli(["event", "list", "t1", "--after", String(ids[0]), "--limit", "2", "-o", "json"]).stdout)
        #expect(page.arrayValue?.compactMap { $0["id"]?.int } == Array(ids[1...2]))
    }
}
