import Diagnostics

extension StateRule {
    static let verifyNotExecutable = StateRule(
        .verifyNotExecutable,
        summary: "a task's `verify` is prose, or a command that does not run here",
        rationale: """
            `verify` is run, by the agent and by the runner, before a task may be marked done; \"confirm it \
            works\" cannot be run and proves nothing. Each step (a list entry or a line) must be commands: \
            the first word of each simple command (after `&&`, `||`, `;`, `|`, variable assignments and \
            `env`/`time`/`timeout`) is a shell builtin, a program on PATH, or a script that exists in the \
            workspace (the folder of tasks.json). A step that starts with a phrase such as \"confirm\", \
            \"make sure\", \"check that\", \"manually\" or says \"it works\" is prose.
            """,
        examples: [
            StateExample(
                "prose, and a script that is not in the workspace", triggers: true,
                """
                {
                  "project": "todo-api",
                  "last_updated": "2026-12-01",
                  "current_focus": "Ship the API.",
                  "tasks": [
                    {"id": "API-01", "title": "Fix 500 on unknown todo", "description": "Return 404 for unknown todos.",
                     "status": "pending", "priority": "high", "verify": "confirm it works", "requires_eval": false},
                //                                                      ^ expect
                    {"id": "API-02", "title": "Fix the 400 message", "description": "Name the bad field in 400 answers.",
                     "status": "pending", "priority": "low", "verify": "./scripts/check-400.sh", "requires_eval": false}
                //                                                     ^ expect
                  ]
                }
                """),
            StateExample(
                "commands on PATH and a script of the workspace", triggers: false,
                files: [("scripts/smoke.sh", "#!/bin/sh\nexit 0\n")],
                """
                {
                  "project": "todo-api",
                  "last_updated": "2026-12-01",
                  "current_focus": "Ship the API.",
                  "tasks": [
                    {"id": "API-01", "title": "Fix 500 on unknown todo", "description": "Return 404 for unknown todos.",
                     "status": "pending", "priority": "high",
                     "verify": ["./scripts/smoke.sh", "LC_ALL=C grep -q 404 README.md && test -f README.md"],
                     "requires_eval": false}
                  ]
                }
                """),
        ],
        check: VerifyNotExecutable.check)
}

enum VerifyNotExecutable {
    static func check(_ context: StateLintContext) -> [Diagnostic] {
        var findings: [Diagnostic] = []
        for task in context.file.tasks {
            guard let verify = task.verify else { continue }
            for step in VerifyCommands.steps(verify.value) {
                if let phrase = VerifyCommands.prose(step) {
                    findings.append(
                        StateRuleID.verifyNotExecutable.finding(
                            "task \(task.label): `verify` step \"\(step)\" is prose (\"\(phrase)\"), not a command", file: context.path,
                            range: verify.range,
                            help: "write the commands that prove it, e.g. \"curl -fsS localhost:8080/health\" or \"npm test -- auth\""))
                    continue
                }
                for word in VerifyCommands.commandWords(step) where !VerifyCommands.isBuiltin(word) && !context.environment.isRunnable(word) {
                    let what = word.contains("/") ? "no such file in the workspace" : "not a program on PATH"
                    findings.append(
                        StateRuleID.verifyNotExecutable.finding(
                            "task \(task.label): `verify` runs `\(word)`, \(what)", file: context.path, range: verify.range,
                            help: word.contains("/")
                                ? "paths are relative to the folder of tasks.json; create the script or fix the path"
                                : "install `\(word)`, or write the command this environment has"))
                }
            }
        }
        return findings
    }
}
