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
