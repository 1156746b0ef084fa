import CLI
import Foundation
import JSON
import Testing

/// Is `tool` on this process's PATH?
func onPath(_ tool: String) -> Bool {
    (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").contains {
        FileManager.default.isExecutableFile(atPath: "\($0)/\(tool)")
    }
}

func read(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }

/// Runs `sh -c command` in `directory` and returns its exit status.
@discardableResult
func shell(_ command: String, in directory: String) throws -> Int32 {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/sh")
    process.arguments = ["-c", command]
    process.currentDirectoryURL = URL(fileURLWithPath: directory)
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    return process.terminationStatus
}

@Suite(.serialized) struct StateCommandTests {
    static let environment = ProcessInfo.processInfo.environment

    /// `state init` in `root` through the real executable; init.sh then runs by itself too.
    func initAndCheck(_ root: String, smoke: String) throws {
        let result = try runExecutable(["state", "init", "--dir", root], environment: Self.environment)
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
        #expect(result.stdout.contains("wrote init.sh") && result.stdout.contains("wrote tasks.json") && result.stdout.contains("wrote progress.md"))
        #expect(result.stdout.contains("init.sh passed in"), "\(result.stdout)")
        let script = read(root + "/init.sh")
        #expect(script.contains("set -e"))
        #expect(script.contains("\n" + smoke + "\n"), "\(script)")
        #expect(!script.lowercased().contains("e.g.") && !script.contains("example"), "\(script)")
        // The tasks.json skeleton passes its own lint, and init.sh passes when run again alone.
        let lint = runInProcess(["lint", "--state", root + "/tasks.json"], environment: ["PATH": Self.environment["PATH"] ?? ""])
        #expect(lint.status == 0, "\(lint.stderr)")
        #expect(try shell("./init.sh", in: root) == 0)
        #expect(read(root + "/progress.md").contains("## "))
    }

    @Test func swiftPackage() throws {
        guard onPath("swift") else {
            print("note: swift is not on PATH; the Swift sample is skipped")
            return
        }
        let root = try makeWorkspace("state-swift", [
            ("Package.swift", """
                // swift-tools-version: 5.9
                import PackageDescription
                let package = Package(name: "Greeter", targets: [
                    .target(name: "Greeter"), .testTarget(name: "GreeterTests", dependencies: ["Greeter"])])
                """),
            ("Sources/Greeter/Greeter.swift", "public func greet(_ name: String) -> String { \"hello \\(name)\" }\n"),
            ("Tests/GreeterTests/GreeterTests.swift", """
                import Testing
                import Greeter
                @Test func greets() { #expect(greet("a") == "hello a") }
                """),
        ])
        defer { try? FileManager.default.removeItem(atPath: root) }
        try initAndCheck(root, smoke: "swift test")
        #expect(read(root + "/tasks.json").contains("\"project\": \"Greeter\""))
        #expect(read(root + "/init.sh").contains("\nswift build\n"))
    }

    @Test func nodePackage() throws {
        guard onPath("npm") && onPath("node") else {
            print("note: node/npm are not on PATH; the Node sample is skipped")
            return
        }
        let root = try makeWorkspace("state-node", [
            ("package.json", """
                {"name": "adder", "version": "1.0.0", "scripts": {"build": "node build.js", "test": "node --test"}}
                """),
            ("build.js", "require('fs').writeFileSync('dist.txt', 'built\\n')\n"),
            ("adder.js", "module.exports = (a, b) => a + b\n"),
            ("test/adder.test.js", "const t = require('node:test'); const assert = require('node:assert');\nt.test('adds', () => assert.strictEqual(require('../adder.js')(1, 2), 3))\n"),
        ])
        defer { try? FileManager.default.removeItem(atPath: root) }
        try initAndCheck(root, smoke: "npm test")
        #expect(read(root + "/init.sh").contains("\nnpm run build\n"))
        #expect(FileManager.default.fileExists(atPath: root + "/dist.txt"))
    }

    @Test func pythonProject() throws {
        guard onPath("python3") else {
            print("note: python3 is not on PATH; the Python sample is skipped")
            return
        }
        let root = try makeWorkspace("state-python", [
            ("pyproject.toml", """
                [project]
                name = "calc"
                version = "0.1.0"
                dependencies = []
                """),
            ("calc.py", "def add(a, b):\n    return a + b\n"),
            ("tests/test_calc.py", "import unittest\nimport calc\n\nclass T(unittest.TestCase):\n    def test_add(self):\n        self.assertEqual(calc.add(1, 2), 3)\n"),
        ])
        defer { try? FileManager.default.removeItem(atPath: root) }
        try initAndCheck(root, smoke: "python3 -m unittest discover -s tests")
        #expect(read(root + "/tasks.json").contains("\"project\": \"calc\""))
    }

    /// A failing smoke test fails `state init`; existing files are kept without --force and
    /// replaced with it; documented commands (AGENTS.md) win over the manifests.
    @Test func keepsFilesAndReportsFailure() throws {
        let root = try makeWorkspace("state-fail", [
            ("Makefile", "build:\n\ttrue\ntest:\n\tfalse\n"),
            ("AGENTS.md", "# Agents\n\nRun the tests with:\n\n```sh\n$ make test\n```\n"),
            ("progress.md", "# Mine\n\n## 2026-11-30 Earlier work\n- kept\n"),
        ])
        defer { try? FileManager.default.removeItem(atPath: root) }
        let first = runInProcess(["state", "init"], environment: Self.environment, directory: root)
        #expect(first.status == 1, "\(first.stdout)\(first.stderr)")
        #expect(first.stdout.contains("kept the existing progress.md"))
        #expect(first.stderr.contains("init.sh failed"))
        #expect(read(root + "/progress.md").contains("Earlier work"))
        #expect(first.stdout.contains("`make test` (AGENTS.md)"), "\(first.stdout)")
        try "build:\n\ttrue\ntest:\n\ttrue\n".write(toFile: root + "/Makefile", atomically: true, encoding: .utf8)
        try "# AGENTS\n".write(toFile: root + "/AGENTS.md", atomically: true, encoding: .utf8)
        let second = runInProcess(["state", "init", "--force"], environment: Self.environment, directory: root)
        #expect(second.status == 0, "\(second.stdout)\(second.stderr)")
        #expect(second.stdout.contains("replaced progress.md (--force)") && second.stdout.contains("`make test` (Makefile target `test`)"))
        #expect(!read(root + "/progress.md").contains("Earlier work"))
        let empty = try makeWorkspace("state-empty", [])
        defer { try? FileManager.default.removeItem(atPath: empty) }
        let nothing = runInProcess(["state", "init"], environment: Self.environment, directory: empty)
        #expect(nothing.status == 1 && nothing.stderr.contains("has no smoke test"), "\(nothing.stdout)\(nothing.stderr)")
    }

    @Test func status() throws {
        let tasks = """
            {"project": "todo-api", "last_updated": "2026-12-02", "current_focus": "Make the API safe to expose.",
             "tasks": [
              {"id": "API-01", "title": "Fix the 500", "description": "d", "status": "done", "priority": "high", "verify": "true", "requires_eval": false},
              {"id": "API-02", "title": "Fix the 400 message", "description": "d", "status": "pending", "priority": "low", "verify": "true", "requires_eval": false},
              {"id": "API-03", "title": "Fix the 401", "description": "d", "status": "pending", "priority": "high", "verify": "grep -q x README.md", "requires_eval": false},
              {"id": "DB-01", "title": "Move to SQLite", "description": "d", "status": "blocked", "blocked_by": "the hosting decision", "priority": "high", "verify": "true", "requires_eval": true}]}
            """
        let progress = "# Progress\n\n## 2026-12-02 Fix the 500\n- done; next API-03\n\n## 2026-12-01 Start\n- older\n"
        let root = try makeWorkspace("state-status", [("tasks.json", tasks), ("progress.md", progress), ("README.md", "x\n")])
        defer { try? FileManager.default.removeItem(atPath: root) }
        let noGit = runInProcess(["state", "status"], environment: Self.environment, directory: root)
        #expect(noGit.status == 0, "\(noGit.stderr)")
        #expect(noGit.stdout.contains("not a git repository"))
        guard onPath("git") else {
            print("note: git is not on PATH; the commit list is not checked")
            return
        }
        try shell("git init -q && git -c user.name=t -c user.email=t@t commit -q --allow-empty -m 'first commit' && git -c user.name=t -c user.email=t@t commit -q --allow-empty -m 'second commit'", in: root)
        let result = runInProcess(["state", "status", "--dir", root], environment: Self.environment)
        let out = result.stdout
        #expect(result.status == 0, "\(result.stderr)")
        #expect(out.contains("focus:     Make the API safe to expose."))
        #expect(out.contains("next:      API-03 [high] Fix the 401"), "\(out)")
        #expect(out.contains("verify: grep -q x README.md"))
        #expect(out.contains("DB-01 [high] Move to SQLite: the hosting decision"))
        #expect(out.contains("1 pending") == false && out.contains("2 pending, 1 done, 1 blocked"))
        #expect(out.contains("## 2026-12-02 Fix the 500") && out.contains("- done; next API-03") && !out.contains("older"))
        let second = out.range(of: "second commit"), first = out.range(of: "first commit")
        #expect(second != nil && first != nil && second!.lowerBound < first!.lowerBound)
        try FileManager.default.removeItem(atPath: root + "/tasks.json")
        let missing = runInProcess(["state", "status", "--dir", root], environment: Self.environment)
        #expect(missing.status == 1 && missing.stderr.contains("no tasks.json"))
    }

    /// -w WS works on the root of an applied workspace.
    @Test func workspaceFromTheStore() throws {
        let root = try makeWorkspace("state-ws", [
            ("repo/tasks.json", "{\"project\": \"p\", \"last_updated\": \"2026-12-02\", \"current_focus\": \"Ship it.\", \"tasks\": []}\n"),
            ("ws.yaml", "apiVersion: orchestrator.dev/v2\nkind: Workspace\nmetadata:\n  name: repo\nspec:\n  root_path: repo\n"),
        ])
        defer { try? FileManager.default.removeItem(atPath: root) }
        let apply = runInProcess(["apply", "-f", "ws.yaml"], directory: root)
        #expect(apply.status == 0, "\(apply.stderr)")
        let result = runInProcess(["state", "status", "-w", "repo"], environment: Self.environment, directory: root)
        #expect(result.status == 0 && result.stdout.contains("focus:     Ship it.") && result.stdout.contains(root + "/repo/tasks.json"), "\(result.stdout)\(result.stderr)")
        let unknown = runInProcess(["state", "status", "-w", "nope"], directory: root)
        #expect(unknown.status == 2 && unknown.stderr.contains("no workspace nope"))
        let bad = runInProcess(["state", "frobnicate"], directory: root)
        #expect(bad.status == 2 && bad.stderr.contains("unknown state subcommand"))
    }
}
