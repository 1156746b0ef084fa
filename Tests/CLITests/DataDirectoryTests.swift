import CLI
import Foundation
import Testing

/// The data directory is found as git finds `.git`, reading commands never create one, a new
/// one is ignored by git, and one that others can read is made private (docs/cli.md).
@Suite("Data directory")
struct DataDirectoryTests {
    static let agent = """
        apiVersion: orchestrator.dev/v2
        kind: Agent
        metadata:
          name: echo
        spec:
          command: echo {prompt}
          capabilities: [qa]

        """

    @Test func readingCommandsNeverCreateOne() throws {
        let root = try makeTemporaryDirectory("datadir-read")
        defer { try? FileManager.default.removeItem(atPath: root) }
        for command in [["get", "agents"], ["describe", "agent/echo"], ["export"], ["task", "list"], ["event", "list", "--task", "x"]] {
            let result = runInProcess(command, directory: root)
            #expect(result.status == 2, "\(command): \(result.stdout)\(result.stderr)")
            #expect(result.stderr.contains("no data directory found: looked for .orchestrator/ in \(root)"), "\(command): \(result.stderr)")
            #expect(result.stderr.contains("--data-dir"), "\(command): \(result.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: root + "/.orchestrator"))
        // A named directory that does not exist is named in the refusal.
        let named = runInProcess(["get", "agents", "--data-dir", root + "/elsewhere"], directory: root)
        #expect(named.status == 2)
        #expect(named.stderr.contains("no data directory at \(root)/elsewhere (from --data-dir)"), "\(named.stderr)")
        #expect(!FileManager.default.fileExists(atPath: root + "/elsewhere"))
    }

    /// The store is opened on a second thread while the files load (issue 20): a data directory
    /// that cannot be made is still the command's error, with nothing applied.
    @Test func aDataDirectoryThatCannotBeMadeFailsTheApply() throws {
        let root = try makeTemporaryDirectory("datadir-blocked")
        defer { try? FileManager.default.removeItem(atPath: root) }
        _ = try writeFile(root, "file", "not a directory\n")
        // Large enough to be parsed in runs on several threads.
        let documents = (0..<400).map { "apiVersion: orchestrator.dev/v2\nkind: Agent\nmetadata:\n  name: a\($0)\nspec:\n  command: echo {prompt}\n" }
        let manifest = try writeFile(root, "agents.yaml", documents.joined(separator: "---\n"))
        let result = runInProcess(["apply", "-f", manifest, "--data-dir", root + "/file/data"], directory: root)
        #expect(result.status == 3, "\(result.stdout)\(result.stderr)")
        #expect(result.stderr.contains("cannot create the data directory \(root)/file/data"), "\(result.stderr)")
        #expect(result.stdout.isEmpty)
    }

    @Test func theNearestOneInAParentIsUsed() throws {
        let root = try makeTemporaryDirectory("datadir-parent")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let manifest = try writeFile(root, "agent.yaml", Self.agent)
        let apply = runInProcess(["apply", "-f", manifest], directory: root)
        #expect(apply.status == 0, "\(apply.stderr)")
        #expect(FileManager.default.fileExists(atPath: root + "/.orchestrator/orchestrator.db"))
        let deep = root + "/src/module/deeper"
        try FileManager.default.createDirectory(atPath: deep, withIntermediateDirectories: true)
        let get = runInProcess(["get", "agents"], directory: deep)
        #expect(get.status == 0, "\(get.stderr)")
        #expect(get.stdout.contains("echo"), "\(get.stdout)")
        // A write from below uses the same one instead of creating another.
        #expect(runInProcess(["apply", "-f", manifest], directory: deep).status == 0)
        #expect(!FileManager.default.fileExists(atPath: deep + "/.orchestrator"))
        // $ORCHESTRATOR_DATA_DIR comes before discovery.
        let elsewhere = root + "/other-data"
        let env = runInProcess(["get", "agents"], environment: ["ORCHESTRATOR_DATA_DIR": elsewhere], directory: deep)
        #expect(env.status == 2)
        #expect(env.stderr.contains("no data directory at \(elsewhere) (from $ORCHESTRATOR_DATA_DIR)"), "\(env.stderr)")
    }

    @Test func aNewOneIsIgnoredByGit() throws {
        let root = try makeTemporaryDirectory("datadir-git")
        defer { try? FileManager.default.removeItem(atPath: root) }
        #expect(runInProcess(["init"], directory: root).status == 0)
        let ignore = try String(contentsOfFile: root + "/.orchestrator/.gitignore", encoding: .utf8)
        #expect(ignore.split(separator: "\n").contains("*"))
        // git itself agrees: nothing under the data directory can be added.
        let git = Process()
        git.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        git.arguments = ["sh", "-c", "git init -q . && git add -A && git status --porcelain"]
        git.currentDirectoryURL = URL(fileURLWithPath: root)
        let pipe = Pipe()
        git.standardOutput = pipe
        try git.run()
        git.waitUntilExit()
        let status = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(git.terminationStatus == 0)
        #expect(!status.contains(".orchestrator"), "\(status)")
    }

    @Test func oneOthersCanReadIsMadePrivate() throws {
        let root = try makeTemporaryDirectory("datadir-mode")
        defer { try? FileManager.default.removeItem(atPath: root) }
        #expect(runInProcess(["init"], directory: root).status == 0)
        let data = root + "/.orchestrator"
        #expect(chmod(data, 0o777) == 0)
        #expect(chmod(data + "/orchestrator.db", 0o666) == 0)
        let result = runInProcess(["get", "agents"], directory: root)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("warning: \(data) was readable by other users (mode 777); it is now 700"), "\(result.stderr)")
        #expect(result.stderr.contains("orchestrator.db was readable by other users (mode 666); it is now 600"), "\(result.stderr)")
        let directoryMode = try FileManager.default.attributesOfItem(atPath: data)[.posixPermissions] as? Int
        let databaseMode = try FileManager.default.attributesOfItem(atPath: data + "/orchestrator.db")[.posixPermissions] as? Int
        #expect(directoryMode == 0o700)
        #expect(databaseMode == 0o600)
    }
}
