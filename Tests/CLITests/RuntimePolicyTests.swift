import Foundation
import JSON
import Testing

/// The RuntimePolicy executed (issue 14.3): the shell and its allowlist, the environment
/// allowlist, redaction of secrets' values, one policy per project, the defaults without one.
@Suite("RuntimePolicy") struct RuntimePolicyTests {
    static func workflow(_ steps: String) -> String {
        """
        apiVersion: orchestrator.dev/v2
        kind: Workflow
        metadata: {name: wf}
        spec:
          steps:
        \(steps)
        """
    }

    static func policy(_ runner: String, name: String = "runtime") -> String {
        """

        ---
        apiVersion: orchestrator.dev/v2
        kind: RuntimePolicy
        metadata: {name: \(name)}
        spec:
          runner:
        \(runner)
          resume: {auto: true}
        """
    }

    func run(_ box: TaskSandbox, environment: [String: String] = [:]) -> (result: CommandResult, task: String) {
        let result = runInProcess(
            ["run", "-f", box.root + "/manifest.yaml", "-W", "wf", "--data-dir", box.data], environment: environment, directory: box.root)
        return (result, TaskSandbox.taskID(in: result.stdout))
    }

    @Test("without a policy: bash (not a login shell), the five variables, the default redaction; task info and plan say so")
    func defaults() throws {
        let box = try TaskSandbox("policy-defaults")
        try box.manifest(
            Self.workflow(
                """
                    - {id: bash, command: "[[ -n \\"$BASH_VERSION\\" ]] && echo bash:$0 > shell.txt; echo home=${HOME:-none} leak=${LEAK:-none} > env.txt"}
                """), workspaceSpec: "qa_targets: []")
        let (result, task) = run(box, environment: ["HOME": "/home/someone", "LEAK": "visible", "PATH": "/usr/bin:/bin"])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(box.read("shell.txt") == "bash:/bin/bash\n")
        #expect(box.read("env.txt") == "home=/home/someone leak=none\n")
        let info = try box.taskInfo(task)
        #expect(info["runtime"]?["shell"]?.string == "/bin/bash")
        #expect(info["runtime"]?["shell_arg"]?.string == "-c")
        #expect(info["runtime"]?["source"] == .null)
        let started = try #require(ofType(try box.events(task), "task_started").first)
        #expect(started["payload"]?["runtime"]?["env_allowlist"] == .array(["PATH", "HOME", "USER", "LANG", "TERM"].map { .string($0) }))
        let plan = runInProcess(["plan", "-f", box.root + "/manifest.yaml"], directory: box.root)
        #expect(plan.stdout.contains("runtime: /bin/bash -c; env PATH,HOME,USER,LANG,TERM; redacts token,password,secret,api_key,authorization (defaults"), "\(plan.stdout)")
    }

    @Test("a shell the policy does not allow is an error at its line (nothing runs); `unsafe` allows it")
    func shellAllowlist() throws {
        let box = try TaskSandbox("policy-shell")
        try box.manifest(
            Self.workflow("    - {id: work, command: \"echo ran > ran.txt\"}")
                + Self.policy("    shell: /usr/bin/env\n    shell_arg: -c"), workspaceSpec: "qa_targets: []")
        let (refused, _) = run(box)
        #expect(refused.status == 1, "\(refused.stdout)\(refused.stderr)")
        #expect(box.read("ran.txt").isEmpty, "the step ran under a refused shell")
        // The Workspace takes 7 lines and the Workflow 6, then `---` and the policy: `shell` is line 21.
        #expect(
            refused.stderr.contains(
                "manifest.yaml:21:12: error: shell `/usr/bin/env` is not in allowed_shells (/bin/bash, /bin/zsh, /bin/sh): every step of the project would fail [runtime-policy-shell]"),
            "\(refused.stderr)")
        #expect(refused.stderr.contains("nothing applied"), "\(refused.stderr)")

        // The same shell under `policy: unsafe` runs (`env -c` is not a shell: it fails, but it ran).
        try box.manifest(
            Self.workflow("    - {id: work, command: \"echo ran > ran.txt\"}")
                + Self.policy("    shell: /bin/sh\n    shell_arg: -c\n    policy: unsafe\n    allowed_shells: []"), workspaceSpec: "qa_targets: []")
        let (allowed, _) = run(box)
        #expect(allowed.status == 0, "\(allowed.stdout)\(allowed.stderr)")
        #expect(box.read("ran.txt") == "ran\n")
    }

    @Test("env_allowlist: only the listed variables of the runner's environment reach a step")
    func environmentAllowlist() throws {
        let box = try TaskSandbox("policy-env")
        try box.manifest(
            Self.workflow("    - {id: work, command: \"echo wanted=${WANTED:-none} home=${HOME:-none} > env.txt\"}")
                + Self.policy("    shell: /bin/sh\n    shell_arg: -c\n    env_allowlist: [PATH, WANTED]"), workspaceSpec: "qa_targets: []")
        let (result, _) = run(box, environment: ["WANTED": "yes", "HOME": "/home/someone", "PATH": "/usr/bin:/bin"])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(box.read("env.txt") == "wanted=yes home=none\n")
    }

    @Test("redaction_patterns mask the values of matching names in logs, events and the progress line")
    func redaction() throws {
        let box = try TaskSandbox("policy-redact")
        try box.manifest(
            Self.workflow(
                """
                    - id: leak
                      command: "echo 'api_key=abc123 MY_SESSION_TOKEN: \\"tok-998877\\" Authorization: Bearer xyz.789 other=kept'; echo 'db_password=hunter22' >&2; exit 3"
                      behavior: {on_failure: {action: continue}}
                """)
                + Self.policy("    shell: /bin/bash\n    shell_arg: -c\n    redaction_patterns: [api_key, token, password, authorization]"),
            workspaceSpec: "qa_targets: []")
        let (result, task) = run(box)
        // The step failed (exit 3), so the task's one item failed: exit 1, and nothing leaked.
        #expect(result.status == 1, "\(result.stdout)\(result.stderr)")
        #expect(!result.stdout.contains("hunter22") && result.stdout.contains("db_password=***"), "\(result.stdout)")
        let logs = box.cli(["task", "logs", task, "--step", "leak"])
        #expect(logs.stdout.contains("api_key=*** MY_SESSION_TOKEN: \"***\" Authorization: Bearer *** other=kept"), "\(logs.stdout)")
        #expect(!logs.stdout.contains("abc123") && !logs.stdout.contains("tok-998877") && !logs.stdout.contains("xyz.789"))
        #expect(logs.stdout.contains("db_password=***") && !logs.stdout.contains("hunter22"), "\(logs.stdout)")
        let events = try box.events(task)
        let finished = try #require(ofType(events, "step_finished").first { $0["step"]?.string == "leak" })
        #expect(finished["payload"]?["stderr_first_line"]?.string == "db_password=***", "\(finished)")
        let all = JSONWriter().string(.array(events))
        #expect(!all.contains("abc123") && !all.contains("hunter22") && !all.contains("tok-998877"), "a redacted value reached an event")
    }

    @Test("two RuntimePolicies in one project, or a pattern that is not a regular expression, are positioned errors")
    func refusals() throws {
        let box = try TaskSandbox("policy-refusals")
        try box.manifest(
            Self.workflow("    - {id: work, command: \"true\"}")
                + Self.policy("    shell: /bin/sh", name: "one") + "\n" + Self.policy("    shell: /bin/bash", name: "two"),
            workspaceSpec: "qa_targets: []")
        let two = run(box).result
        #expect(two.status == 1)
        #expect(two.stderr.contains("error: project `default` has a second RuntimePolicy, `two` (the first is `one`"), "\(two.stderr)")
        #expect(two.stderr.contains("[runtime-policy-duplicate]"), "\(two.stderr)")

        let other = try TaskSandbox("policy-regex")
        try other.manifest(
            Self.workflow("    - {id: work, command: \"true\"}") + Self.policy("    shell: /bin/sh\n    redaction_patterns: [\"(unclosed\"]"),
            workspaceSpec: "qa_targets: []")
        let bad = run(other).result
        #expect(bad.status == 1)
        #expect(bad.stderr.contains("error: redaction pattern `(unclosed` is not a regular expression"), "\(bad.stderr)")
        #expect(bad.stderr.contains("[runtime-policy-pattern]"), "\(bad.stderr)")
    }
}
