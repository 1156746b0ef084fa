import Foundation
import Runner
import Testing

/// Values that try to break out of their place in a command.
let hostileValues: [String] = [
    "\"; rm -rf ~; echo \"", "$(id)", "`id`", "'", "\\", "\\\\", "a\nb", "line\n", "\n", "{other}", "''", "\"\"",
    "$HOME", "${HOME}", "*", "~", "-n", "a\\", "\\n", "é ✓", "tab\there", "'\"'\"'", "!", "a;b", "x && y", "a | b",
    "", " ", "#", "\\$(id)", "\\`id\\`", "'; touch PWNED; echo '", "\"; touch PWNED; echo \"", "$(touch PWNED)",
    "`touch PWNED`", "\\\"; touch PWNED; echo \\\"", ")", "$((1+1))", "}", "{", "EOF-not-alone",
]

/// Command templates that print the value of `{v}` (with what surrounds it) and the expected output.
let positions: [(template: String, expected: @Sendable (String) -> String)] = [
    ("printf '%s' {v}", { $0 }),
    ("printf '%s' \"{v}\"", { $0 }),
    ("printf '%s' '{v}'", { $0 }),
    ("printf '%s' x{v}y", { "x\($0)y" }),
    ("printf '%s' \"a{v}b\"", { "a\($0)b" }),
    ("printf '%s' 'a{v}b'", { "a\($0)b" }),
    ("printf '%s' \"<{v}>\"'<{v}>'-{v}-", { "<\($0)><\($0)>-\($0)-" }),
    ("printf '%s' \"$(printf '%s.' {v})\"", { "\($0)." }),
    ("printf '%s' \"$(printf '%s.' \"{v}\")\"", { "\($0)." }),
    ("printf '%s' \"$(printf '%s.' '{v}')\"", { "\($0)." }),
    ("printf '%s' \"`printf '%s.' {v}`\"", { "\($0)." }),
    ("printf '%s' \"`printf '%s.' \\\"{v}\\\"`\"", { "\($0)." }),
    ("printf '%s' `printf '%s.' '{v}' | od -An -c | tr -d ' \\n'` >/dev/null; printf '%s' {v}", { $0 }),
    ("X=\"{v}\"; printf '%s' \"$X\"", { $0 }),
    ("cat <<EOF\n{v}\nEOF", { "\($0)\n" }),
    ("cat <<'EOF'\n{v}\nEOF", { "\($0)\n" }),
    ("cat <<-EOF\n\t<{v}>\n\tEOF", { "<\($0)>\n" }),
    ("cat <<A; cat <<'B'\n{v}\nA\n{v}\nB", { "\($0)\n\($0)\n" }),
    ("cat <<EOF\n$(printf '%s.' \"{v}\")\nEOF", { "\($0).\n" }),
    ("case {v} in *) printf '%s' {v};; esac", { $0 }),
    ("printf '%s' \"$(case x in x) printf '%s.' {v};; esac)\"", { "\($0)." }),
    ("printf '%s' \"$(case x in (y) :;; x) echo case esac in;; esac; printf '[%s]' {v})\"", { "case esac in\n[\($0)]" }),
    ("printf '%s' \"$(echo case) {v}\"", { "case \($0)" }),
    ("printf '%s' \"$(if true; then case a in a) printf '%s.' \"{v}\";; esac; fi)\"", { "\($0)." }),
    ("{ printf '%s' {v}; }", { $0 }),
    ("printf '%s' \"${UNSET:-{v}}\"", { $0 }),
    ("printf '%s' \"${UNSET:-\"{v}\"}\"", { $0 }),
    ("printf '%s' \"${UNSET:-'{v}'}\"", { "'\($0)'" }),
    ("printf '%s' ${UNSET:-'{v}'}", { $0 }),
    ("printf '%s' \"${UNSET:-x}{v}${UNSET:-y}\"", { "x\($0)y" }),
    ("cat <<EOF\n${UNSET:-{v}}\nEOF", { "\($0)\n" }),
    ("printf '%s' {v} # a comment {v}", { $0 }),
]

@Suite struct PlaceholderTests {
    @Test func everyValueArrivesExactlyInEveryPosition() throws {
        let dir = TemporaryDirectory("quoting")
        var failures: [String] = []
        let separator = "\u{1E}"
        func run(_ command: String, _ name: String) throws -> (printed: String, result: ProcessResult) {
            let request = ProcessRequest(
                command: command, workingDirectory: dir.path, stdoutLogPath: dir.file("\(name).out"),
                stderrLogPath: dir.file("\(name).err"), timeout: .seconds(20))
            let result = try ProcessLauncher.runBlocking(request)
            return (String(decoding: bytes(result.stdoutLogPath), as: UTF8.self), result)
        }
        for (v, value) in hostileValues.enumerated() {
            var rendered: [String] = []
            for position in positions {
                let one = Placeholders.renderCommand(position.template, values: ["v": value, "other": "SUBSTITUTED"])
                #expect(one.missing.isEmpty)
                #expect(one.unsafe.isEmpty, "\(position.template) with \(value.debugDescription): \(one.unsafe)")
                rendered.append(one.text)
            }
            // All positions for one value in one shell (fast); on a mismatch, each alone (precise).
            let script = rendered.map { $0 + "\nprintf '\\036'\n" }.joined()
            let batch = try run(script, "v\(v)")
            let pieces = batch.printed.components(separatedBy: separator)
            let expected = positions.map { $0.expected(value) } + [""]
            if pieces == expected && batch.result.termination == .exited(0) { continue }
            for (p, position) in positions.enumerated() {
                let alone = try run(rendered[p], "v\(v)p\(p)")
                if alone.printed != position.expected(value) || alone.result.termination != .exited(0) {
                    failures.append(
                        "\(position.template.debugDescription) with \(value.debugDescription): rendered \(rendered[p].debugDescription), "
                            + "printed \(alone.printed.debugDescription), \(alone.result.termination), "
                            + "stderr \(contents(alone.result.stderrLogPath).debugDescription)")
                }
            }
            if failures.isEmpty { failures.append("value \(value.debugDescription): the batch printed \(pieces)") }
        }
        #expect(failures.isEmpty, "\(failures.count) failures:\n\(failures.prefix(20).joined(separator: "\n"))")
        #expect(!FileManager.default.fileExists(atPath: dir.file("PWNED")), "a value ran a command")
    }

    @Test func quotingForEachPosition() {
        let values = ["prompt": "say \"hi\" to $USER `now` \\o/", "name": "it's"]
        #expect(
            Placeholders.renderCommand("claude -p \"{prompt}\" --verbose", values: values).text
                == #"claude -p "say \"hi\" to \$USER \`now\` \\o/" --verbose"#)
        #expect(Placeholders.renderCommand("echo {name}", values: values).text == #"echo 'it'"'"'s'"#)
        #expect(Placeholders.renderCommand("echo 'x {name} y'", values: values).text == #"echo 'x it'"'"'s y'"#)
        #expect(Placeholders.renderCommand("echo a{name}b", values: values).text == #"echo a'it'"'"'s'b"#)
        #expect(Placeholders.renderCommand("echo {name}", values: ["name": ""]).text == "echo ''")
        #expect(ShellQuoting.singleQuoted("it's") == #"'it'"'"'s'"#)
        #expect(ShellQuoting.insideDoubleQuotes("a\"$`\\b") == #"a\"\$\`\\b"#)
    }

    @Test func missingPlaceholdersStayLiteralAndAreReported() {
        let rendered = Placeholders.renderCommand("echo {a} {goal} \"{b}\" '{a}'", values: ["goal": "g"])
        #expect(rendered.text == "echo {a} 'g' \"{b}\" '{a}'")
        #expect(rendered.missing == ["a", "b"])
        #expect(rendered.isSafe)
        let prompt = Placeholders.renderPrompt("Fix {rel_path} for {goal}; see {rel_path}", values: ["goal": "speed"])
        #expect(prompt.text == "Fix {rel_path} for speed; see {rel_path}")
        #expect(prompt.missing == ["rel_path"])
    }

    @Test func missingPlaceholderStaysLiteralAtRunTime() throws {
        // From a real manifest: the command relies on an unset placeholder staying as written.
        let dir = TemporaryDirectory("literal")
        let template = #"FILENAME="{draft_filename}"; if [ "$FILENAME" = "{draft_filename}" ]; then echo "draft-{task_id}.json"; fi"#
        let rendered = Placeholders.renderCommand(template, values: ["task_id": "t'1"])
        #expect(rendered.missing == ["draft_filename"])
        let result = try ProcessLauncher.runBlocking(dir.request(rendered.text))
        #expect(contents(result.stdoutLogPath) == "draft-t'1.json\n")
    }

    @Test func whatIsNotAPlaceholder() {
        let values = ["a": "VALUE", "HOME": "NOPE", "x": "X"]
        let json = #"echo '{"a": 1}' "{ a }" {a-b} {1a} {}"#
        #expect(Placeholders.renderCommand(json, values: values).text == json)
        #expect(Placeholders.renderCommand(json, values: values).missing.isEmpty)
        #expect(Placeholders.renderCommand("echo ${HOME} \"${HOME}\" '${HOME}'", values: values).text == "echo ${HOME} \"${HOME}\" '${HOME}'")
        #expect(Placeholders.renderCommand(#"echo \{x} "\{x}""#, values: values).text == #"echo \{x} "\{x}""#)
        #expect(Placeholders.renderCommand("echo {x} # note {x}\necho {x}", values: values).text == "echo 'X' # note {x}\necho 'X'")
        #expect(Placeholders.renderCommand("echo a#{x}", values: values).text == "echo a#'X'")
        #expect(Placeholders.names(in: "{a} {b} {a} {\"c\": 1} {_d9}") == ["a", "b", "_d9"])
        #expect(Placeholders.isValidName("STEP_output"))
        #expect(!Placeholders.isValidName("9x"))
        #expect(!Placeholders.isValidName("a-b"))
    }

    @Test func valuesAreNeverSubstitutedTwice() {
        let values = ["a": "{b}", "b": "B"]
        #expect(Placeholders.renderPrompt("{a} {b}", values: values).text == "{b} B")
        #expect(Placeholders.renderCommand("echo {a} {b}", values: values).text == "echo '{b}' 'B'")
        #expect(Placeholders.renderCommand("echo `echo {a}`", values: values).text == "echo `echo '{b}'`")
    }

    @Test func promptRenderingIsPlainText() {
        let values = ["source_tree": "/src/it's \"here\"", "goal": "$(id)"]
        let rendered = Placeholders.renderPrompt(
            "Project at {source_tree}. Goal: {goal}.\nOutput {\"regression_targets\": []} as JSON.", values: values)
        #expect(rendered.text == "Project at /src/it's \"here\". Goal: $(id).\nOutput {\"regression_targets\": []} as JSON.")
        #expect(rendered.missing.isEmpty)
    }

    @Test func unsafePlacementsAreRefusedNotRun() {
        let early = Placeholders.renderCommand("cat <<EOF\n{v}\nEOF\necho done", values: ["v": "text\nEOF\nrm -rf ~"])
        #expect(early.text == "cat <<EOF\n{v}\nEOF\necho done")
        #expect(early.unsafe.map(\.name) == ["v"])
        #expect(!early.isSafe)
        let tabbed = Placeholders.renderCommand("cat <<-EOF\n{v}\nEOF", values: ["v": "\t\tEOF"])
        #expect(tabbed.unsafe.map(\.name) == ["v"])
        let arithmetic = Placeholders.renderCommand("echo $(( {n} + 1 ))", values: ["n": "1 + a[$(id)]"])
        #expect(arithmetic.unsafe.map(\.name) == ["n"])
        #expect(Placeholders.renderCommand("echo $(( {n} + 1 ))", values: ["n": "-41"]).text == "echo $(( -41 + 1 ))")
        let nul = Placeholders.renderCommand("echo {v}", values: ["v": "a\u{0}b"])
        #expect(nul.unsafe.map(\.name) == ["v"])
    }
}
