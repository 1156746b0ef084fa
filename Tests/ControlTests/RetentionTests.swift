import Control
import Foundation
import JSON
import Store
import Testing

/// The daemon's retention sweep (control-plane.md "Monitoring"), with a real `orchestratord`.
@Suite(.serialized) struct RetentionTests {
    @Test("on start the daemon deletes events, logs and finished tasks older than its retention")
    func sweepOnStart() throws {
        let (root, data) = try QueueTests.setUp("    - {id: work, command: \"echo work\"}")
        for name in ["old", "fresh"] {
            let created = try QueueTests.cli(["task", "create", "-n", name, "-W", "wf", "-g", "g", "-q"], data: data)
            #expect(created.status == 0, "\(created.stderr)")
        }
        let list = try JSONParser.parse(try QueueTests.cli(["task", "list", "-o", "json"], data: data).stdout).arrayValue ?? []
        let old = list.first { $0["name"]?.stringValue == "old" }?["id"]?.stringValue ?? ""
        let fresh = list.first { $0["name"]?.stringValue == "fresh" }?["id"]?.stringValue ?? ""
        // Age the first task by rewriting its times in the database (a test may; Sources never do).
        let store = try SQLResourceStore(dataDirectory: data)
        try store.database.run("UPDATE events SET timestamp = '2020-01-01T00:00:00.000Z' WHERE task_id = ?", [.text(old)])
        try store.database.run("UPDATE tasks SET finished_at = '2020-01-01T00:00:00.000Z' WHERE id = ?", [.text(old)])
        #expect(FileManager.default.fileExists(atPath: data + "/logs/" + old))
        let daemon = try ForegroundDaemon(dataDirectory: data, extra: ["--event-retention-days", "30", "--log-retention-days", "30"])
        #expect(daemon.waitUntilServing())
        #expect(eventually(10) { QueueTests.events(old, data: data).isEmpty }, "\(daemon.stderr)")
        #expect(eventually(10) { !FileManager.default.fileExists(atPath: data + "/logs/" + old) })
        // The fresh task keeps everything; the old one still exists (task retention is 0: keep).
        #expect(!QueueTests.events(fresh, data: data).isEmpty)
        #expect(FileManager.default.fileExists(atPath: data + "/logs/" + fresh))
        #expect(QueueTests.taskStatus(old, data: data) == "completed")
        #expect(daemon.stop() == 0)
        #expect(daemon.stderr.contains("retention: "), "\(daemon.stderr)")
        // With task retention the old task goes with its history.
        let next = try ForegroundDaemon(dataDirectory: data, extra: ["--task-retention-days", "365"])
        #expect(next.waitUntilServing())
        #expect(eventually(10) { QueueTests.taskStatus(old, data: data) == nil })
        #expect(QueueTests.taskStatus(fresh, data: data) == "completed")
        #expect(next.stop() == 0)
        _ = root
    }
}
