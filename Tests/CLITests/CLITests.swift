import CLI
import Testing

@Suite struct CommandLineTests {
    @Test func unknownCommandIsUsageErrorWithSuggestion() {
        let context = CommandContext.captured()
        let status = Orchestrator.main(["prase", "x.yaml"], context: context)
        #expect(status == .usage)
        #expect(context.stderr.text.contains("did you mean `parse`"))
    }

    @Test func unknownOptionIsUsageError() {
        let context = CommandContext.captured()
        #expect(Orchestrator.main(["parse", "--outptu", "json", "x"], context: context) == .usage)
        #expect(context.stderr.text.contains("did you mean `--output`"))
    }

    @Test("--store and $ORCHESTRATOR_STORE take PostgreSQL URIs only; a bad one is exit 2 and its password is never shown")
    func storeOptionIsCheckedWithoutShowingThePassword() {
        let given = CommandContext.captured()
        #expect(Orchestrator.main(["--store", "mysql://admin:hunter2pw@db/x", "task", "list"], context: given) == .usage)
        #expect(given.stderr.text.contains("`--store` takes a PostgreSQL URI, not `mysql://admin:***@db/x`"), "\(given.stderr.text)")
        #expect(!given.stderr.text.contains("hunter2pw"))
        let inline = CommandContext.captured()
        #expect(Orchestrator.main(["task", "list", "--store=sqlite.db"], context: inline) == .usage)
        let missing = CommandContext.captured()
        #expect(Orchestrator.main(["task", "list", "--store"], context: missing) == .usage)
        let environment = CommandContext.captured(environment: ["ORCHESTRATOR_STORE": "redis://:s3cretpw@cache"])
        #expect(Orchestrator.main(["task", "list"], context: environment) == .usage)
        #expect(environment.stderr.text.contains("$ORCHESTRATOR_STORE must be a PostgreSQL URI"), "\(environment.stderr.text)")
        #expect(!environment.stderr.text.contains("s3cretpw"))
        // After `--`, `--store` is an argument like any other: not taken.
        let after = CommandContext.captured()
        _ = Orchestrator.main(["expr", "1 + 1", "--", "--store"], context: after)
        #expect(!after.stderr.text.contains("PostgreSQL URI"))
    }

    @Test func missingFileIsUsageError() {
        let context = CommandContext.captured()
        #expect(Orchestrator.main(["parse", "/nonexistent/file.yaml"], context: context) == .usage)
        #expect(context.stderr.text.contains("no such file"))
    }

    @Test func helpListsCommands() {
        let context = CommandContext.captured()
        #expect(Orchestrator.main(["--help"], context: context) == .success)
        #expect(context.stdout.text.contains("parse"))
    }
}

@Suite struct ExecutableTests {
    @Test func realProcessReportsUsageErrorsWithExitTwo() throws {
        let result = try runExecutable(["no-such-command"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("unknown command"))
    }

    @Test func versionPrints() throws {
        let result = try runExecutable(["--version"])
        #expect(result.status == 0)
        #expect(result.stdout.hasPrefix("orchestrator "))
    }
}
