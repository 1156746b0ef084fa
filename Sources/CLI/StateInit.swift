import Compiler
import Diagnostics
import JSON
import Platform
import Runner

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `state init`: what a workspace's files say about installing, building and testing it, and
/// the three state files written from that (docs/state-files.md).
enum StateInit {
    enum Phase: String, CaseIterable, Sendable {
        case install, build
        case smoke = "smoke test"
    }

    /// A command and where it was found (`package.json scripts.test`, `AGENTS.md`, ...).
    struct Found: Sendable, Equatable {
        var command: String
        var source: String
    }

    struct Plan: Sendable {
        var project: String
        var commands: [Phase: Found] = [:]
        /// What was looked at and what it meant (e.g. "pyproject.toml declares no dependencies: nothing to install").
        var notes: [String] = []
        /// The programs the commands start, checked first by init.sh.
        var tools: [String] {
            var seen: [String] = []
            for phase in Phase.allCases {
                guard let command = commands[phase] else { continue }
                for word in VerifyCommands.commandWords(command.command) where !VerifyCommands.isBuiltin(word) && !word.contains("/") && !seen.contains(word) {
                    seen.append(word)
                }
            }
            return seen
        }
    }

    // MARK: inspecting

    static func read(_ root: String, _ name: String) -> String? {
        (try? FileSystem.readFile(root + "/" + name)).map { String(decoding: $0, as: UTF8.self) }
    }

    static func exists(_ root: String, _ name: String) -> Bool { FileSystem.type(of: root + "/" + name) != .missing }

    /// Inspects `root`: documented commands (AGENTS.md, then README) win over Makefile targets,
    /// which win over what the package manifests imply.
    static func inspect(root: String) -> Plan {
        var plan = Plan(project: baseName(root))
        var candidates: [Phase: [Found]] = [:]
        func offer(_ phase: Phase, _ command: String, _ source: String) {
            candidates[phase, default: []].append(Found(command: command, source: source))
        }
        for document in ["AGENTS.md", "README.md", "README"] {
            guard let text = read(root, document) else { continue }
            for line in documentedCommands(text) {
                if let phase = classify(line) { offer(phase, line, document) }
            }
        }
        if let makefile = read(root, "Makefile") ?? read(root, "makefile") {
            let targets = makeTargets(makefile)
            for (phase, names) in [(Phase.install, ["deps", "setup", "bootstrap"]), (.build, ["build"]), (.smoke, ["smoke", "test", "check"])] {
                if let target = names.first(where: targets.contains) { offer(phase, "make \(target)", "Makefile target `\(target)`") }
            }
        }
        var manifests: [String] = []
        if exists(root, "Package.swift") {
            manifests.append("Package.swift")
            if let text = read(root, "Package.swift"), let name = quotedValue(after: "name:", in: text) { plan.project = name }
            offer(.install, "swift package resolve", "Package.swift")
            offer(.build, "swift build", "Package.swift")
            if exists(root, "Tests") { offer(.smoke, "swift test", "Package.swift and Tests/") }
        }
        if let text = read(root, "package.json") {
            manifests.append("package.json")
            node(text, root: root, plan: &plan, offer: offer)
        }
        if let text = read(root, "pyproject.toml") {
            manifests.append("pyproject.toml")
            python(text, root: root, plan: &plan, offer: offer)
        }
        if let text = read(root, "Cargo.toml") {
            manifests.append("Cargo.toml")
            if let name = quotedValue(after: "name =", in: text) { plan.project = name }
            offer(.install, "cargo fetch", "Cargo.toml")
            offer(.build, "cargo build", "Cargo.toml")
            offer(.smoke, "cargo test", "Cargo.toml")
        }
        if exists(root, "go.mod") {
            manifests.append("go.mod")
            offer(.install, "go mod download", "go.mod")
            offer(.build, "go build ./...", "go.mod")
            offer(.smoke, "go test ./...", "go.mod")
        }
        if manifests.isEmpty && candidates.isEmpty {
            plan.notes.append("found none of Package.swift, package.json, pyproject.toml, Cargo.toml, go.mod, a Makefile or commands in README/AGENTS.md")
        }
        for phase in Phase.allCases {
            guard let options = candidates[phase], let chosen = options.first else {
                plan.notes.append("no \(phase.rawValue) command found")
                continue
            }
            plan.commands[phase] = chosen
            for other in options.dropFirst() where other.command != chosen.command {
                plan.notes.append("\(phase.rawValue): took `\(chosen.command)` (\(chosen.source)) over `\(other.command)` (\(other.source))")
            }
        }
        return plan
    }

    static func node(_ text: String, root: String, plan: inout Plan, offer: (Phase, String, String) -> Void) {
        guard let json = try? JSONParser.parse(text) else {
            plan.notes.append("package.json is not valid JSON: skipped")
            return
        }
        if let name = json["name"]?.stringValue { plan.project = name }
        let scripts = json["scripts"]
        let manager: String
        if exists(root, "pnpm-lock.yaml") {
            manager = "pnpm"
            offer(.install, "pnpm install --frozen-lockfile", "pnpm-lock.yaml")
        } else if exists(root, "yarn.lock") {
            manager = "yarn"
            offer(.install, "yarn install --frozen-lockfile", "yarn.lock")
        } else {
            manager = "npm"
            let dependencies = ["dependencies", "devDependencies", "optionalDependencies"].contains { key in
                if case .object(let pairs) = json[key] ?? .null { return !pairs.isEmpty }
                return false
            }
            if exists(root, "package-lock.json") {
                offer(.install, "npm ci", "package-lock.json")
            } else if dependencies {
                offer(.install, "npm install", "package.json dependencies (no lock file)")
            } else {
                plan.notes.append("package.json declares no dependencies: nothing to install")
            }
        }
        let run = manager == "npm" ? "npm run" : manager
        if scripts?["build"]?.stringValue != nil { offer(.build, "\(run) build", "package.json scripts.build") }
        for name in ["smoke", "test:smoke", "test:unit", "test"] {
            guard let script = scripts?[name]?.stringValue else { continue }
            if name == "test" && script.contains("no test specified") {
                plan.notes.append("package.json scripts.test is npm's placeholder: not a test")
                continue
            }
            offer(.smoke, name == "test" ? "\(manager) test" : "\(run) \(name)", "package.json scripts.\(name)")
            break
        }
    }

    static func python(_ text: String, root: String, plan: inout Plan, offer: (Phase, String, String) -> Void) {
        let sections = tomlSections(text)
        if let name = sections["project"].flatMap({ quotedValue(after: "name =", in: $0) }) { plan.project = name }
        let dependencies = sections["project"].map { tomlList("dependencies", in: $0) } ?? []
        if exists(root, "uv.lock") {
            offer(.install, "uv sync", "uv.lock")
        } else if exists(root, "poetry.lock") || sections["tool.poetry"] != nil {
            offer(.install, "poetry install", "pyproject.toml [tool.poetry]")
        } else if exists(root, "requirements.txt") {
            offer(.install, "python3 -m pip install -r requirements.txt", "requirements.txt")
        } else if !dependencies.isEmpty {
            offer(.install, "python3 -m pip install -e .", "pyproject.toml [project] dependencies")
        } else {
            plan.notes.append("pyproject.toml declares no dependencies: nothing to install")
        }
        let usesPytest = sections["tool.pytest.ini_options"] != nil || text.contains("pytest") || exists(root, "pytest.ini")
            || exists(root, "conftest.py")
        let testDirectory = ["tests", "test"].first { FileSystem.type(of: root + "/" + $0) == .directory }
        if usesPytest {
            offer(.smoke, "python3 -m pytest -x -q", "pyproject.toml (pytest)")
        } else if let testDirectory {
            offer(.smoke, "python3 -m unittest discover -s \(testDirectory)", "pyproject.toml and \(testDirectory)/ (unittest)")
        }
    }

    /// `name = "x"`, `name: "x"`: the first double-quoted value after `key`.
    static func quotedValue(after key: String, in text: String) -> String? {
        guard let found = text.firstRange(of: key) else { return nil }
        let rest = text[found.upperBound...].drop(while: { $0 == " " || $0 == "\t" })
        guard rest.first == "\"" else { return nil }
        let value = rest.dropFirst().prefix(while: { $0 != "\"" && $0 != "\n" })
        return value.isEmpty ? nil : String(value)
    }

    /// The text of each `[section]` of a TOML file, by name.
    static func tomlSections(_ text: String) -> [String: String] {
        var sections: [String: String] = [:]
        var current = ""
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = String(line).trimmedForState
            if trimmed.hasPrefix("["), trimmed.hasSuffix("]"), !trimmed.hasPrefix("[[") {
                current = String(trimmed.dropFirst().dropLast())
                sections[current, default: ""] += ""
                continue
            }
            sections[current, default: ""] += line + "\n"
        }
        return sections
    }

    /// The double-quoted strings of `key = [ ... ]` (one or more lines).
    static func tomlList(_ key: String, in section: String) -> [String] {
        guard let found = section.firstRange(of: "\n" + key) ?? (section.hasPrefix(key) ? section.firstRange(of: key) : nil) else { return [] }
        let rest = section[found.upperBound...]
        guard let open = rest.firstIndex(of: "["), rest[..<open].allSatisfy({ $0 == " " || $0 == "=" }),
            let close = rest[open...].firstIndex(of: "]")
        else { return [] }
        return rest[rest.index(after: open)..<close].split(separator: "\"", omittingEmptySubsequences: false).enumerated()
            .filter { $0.offset % 2 == 1 }.map { String($0.element) }
    }

    /// Targets of a Makefile (`name:` at the start of a line).
    static func makeTargets(_ text: String) -> Set<String> {
        var targets = Set<String>()
        for line in text.split(separator: "\n") where !line.hasPrefix("\t") && !line.hasPrefix(" ") && !line.hasPrefix(".") {
            guard let colon = line.firstIndex(of: ":"), line[line.index(after: colon)...].first != "=" else { continue }
            for name in line[..<colon].split(separator: " ") where name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) {
                targets.insert(String(name))
            }
        }
        return targets
    }

    /// The command lines of a Markdown text's shell code blocks (prompts `$ ` removed).
    static func documentedCommands(_ text: String) -> [String] {
        var commands: [String] = []
        var inShell = false
        var inFence = false
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = String(line).trimmedForState
            if trimmed.hasPrefix("```") {
                if inFence {
                    inFence = false
                    inShell = false
                } else {
                    inFence = true
                    let language = trimmed.dropFirst(3).trimmedForState.lowercased()
                    inShell = ["", "sh", "bash", "shell", "console", "zsh", "shell-session"].contains(language)
                }
                continue
            }
            guard inShell, !trimmed.isEmpty, !trimmed.hasPrefix("#") else { continue }
            var command = trimmed
            if command.hasPrefix("$ ") || command.hasPrefix("% ") { command = String(command.dropFirst(2)).trimmedForState }
            commands.append(command)
        }
        return commands
    }

    /// The phase a documented command belongs to, when it is a known install, build or test command.
    static func classify(_ command: String) -> Phase? {
        let words = command.split(separator: " ").map(String.init)
        func starts(_ prefix: String) -> Bool {
            let expected = prefix.split(separator: " ").map(String.init)
            return words.count >= expected.count && Array(words.prefix(expected.count)) == expected
        }
        let table: [(Phase, [String])] = [
            (.install, ["npm ci", "npm install", "pnpm install", "yarn install", "pip install -r", "pip install -e", "pip3 install -r",
                "python -m pip install", "python3 -m pip install", "poetry install", "uv sync", "bundle install", "cargo fetch",
                "go mod download", "swift package resolve", "make deps", "make setup", "make bootstrap"]),
            (.build, ["npm run build", "yarn build", "pnpm build", "pnpm run build", "swift build", "cargo build", "go build",
                "make build", "make all"]),
            (.smoke, ["npm test", "npm run test", "yarn test", "pnpm test", "pytest", "python -m pytest", "python3 -m pytest",
                "python -m unittest", "python3 -m unittest", "swift test", "cargo test", "go test", "make test", "make check",
                "make smoke"]),
        ]
        for (phase, prefixes) in table where prefixes.contains(where: starts) {
            // `npm install left-pad` adds a package; only the bare install installs the project.
            if phase == .install, starts("npm install") || starts("pnpm install") || starts("yarn install"),
                words.dropFirst(2).contains(where: { !$0.hasPrefix("-") })
            {
                return nil
            }
            return phase
        }
        return nil
    }

    static func baseName(_ path: String) -> String {
        let trimmed = path.hasSuffix("/") && path.count > 1 ? String(path.dropLast()) : path
        return trimmed.split(separator: "/").last.map(String.init) ?? "project"
    }

    // MARK: writing

    /// init.sh: `set -e`, the tools checked, then each command found, in order.
    static func initScript(_ plan: Plan) -> String {
        var out = """
            #!/bin/sh
            # init.sh: run at the start of every session. It checks that this checkout works (the tools,
            # the dependencies, a build and a fast smoke test) and stops at the first failure.
            # Written by `orchestrator state init`; edit it as the project changes.
            set -e
            cd "$(dirname "$0")"

            """
        let tools = plan.tools
        if !tools.isEmpty {
            out += "for tool in \(tools.joined(separator: " ")); do\n"
            out += "    command -v \"$tool\" >/dev/null 2>&1 || { echo \"init.sh: $tool is not on PATH\" >&2; exit 1; }\n"
            out += "done\n"
        }
        for phase in Phase.allCases {
            guard let found = plan.commands[phase] else { continue }
            out += "\necho \"== \(phase.rawValue): \(found.command.replacing("\"", with: "\\\""))\"\n"
            out += "# from \(found.source)\n"
            out += found.command + "\n"
        }
        if plan.commands[.smoke] == nil {
            out += "\necho \"init.sh: no smoke test: add the fastest test command of this project here\" >&2\n"
        }
        out += "\necho \"init.sh: ready\"\n"
        return out
    }

    static func tasksSkeleton(project: String, date: String) -> String {
        let value: JSONValue = .object([
            ("project", .string(project)),
            ("last_updated", .string(date)),
            ("current_focus", .string("Write the work list of \(project) into tasks.json.")),
            ("tasks", .array([
                .object([
                    ("id", .string("STATE-01")),
                    ("title", .string("Write the project's work list into tasks.json")),
                    ("description", .string("Replace this task with the real tasks, each small enough for one or two hours.")),
                    ("status", .string(TaskState.pending.rawValue)),
                    ("priority", .string(TaskPriority.high.rawValue)),
                    ("verify", .string("./init.sh")),
                    ("requires_eval", .bool(false)),
                ])
            ])),
        ])
        return JSONWriter(pretty: true).string(value) + "\n"
    }

    static func progressHeader(project: String, date: String, plan: Plan) -> String {
        var out = """
            # Progress of \(project)

            Newest first. Each session prepends `## YYYY-MM-DD TASK-TITLE` with what was done and where the
            next session starts. History is never deleted.

            ## \(date) Set up the session state files
            - `orchestrator state init` wrote init.sh, tasks.json and this file.

            """
        for phase in Phase.allCases {
            if let found = plan.commands[phase] { out += "- \(phase.rawValue): `\(found.command)` (\(found.source))\n" }
        }
        out += "- Next: fill tasks.json with the real work list (task STATE-01).\n"
        return out
    }

    /// Today in the local time zone, YYYY-MM-DD.
    static func today() -> String { localDate() }

    enum WriteOutcome: Equatable {
        case written, replaced, kept
    }

    /// Writes `text` to `path` atomically (a temporary file, then rename), unless it exists and
    /// `force` is false.
    static func write(_ text: String, to path: String, mode: mode_t, force: Bool) throws -> WriteOutcome {
        let existed = FileSystem.type(of: path) != .missing
        if existed && !force { return .kept }
        do throws(AtomicWriteError) {
            try AtomicFile.write(path, Array(text.utf8), mode: mode)
        } catch {
            throw StateCommandError(error.description)
        }
        return existed ? .replaced : .written
    }
}

struct StateCommandError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Runs a shell command in a directory with the command's environment and returns its output.
enum StateProcess {
    struct Output {
        var succeeded: Bool
        var exitDescription: String
        var stdout: String
        var stderr: String
        var durationMS: Int64
    }

    static func run(_ command: String, in directory: String, context: CommandContext, timeout: Duration) throws -> Output {
        var template = Array("/tmp/orchestrator-state-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw StateCommandError("cannot create a temporary directory: \(FileSystem.errorText())") }
        let logs = String(cString: made)
        defer { removeTree(logs) }
        let request = ProcessRequest(
            command: command, workingDirectory: directory, environment: context.environment, inheritedVariables: [],
            stdoutLogPath: logs + "/stdout", stderrLogPath: logs + "/stderr", timeout: timeout)
        let result: ProcessResult
        do {
            result = try ProcessLauncher.runBlocking(request)
        } catch {
            throw StateCommandError("cannot run `\(command)` in \(directory): \(error)")
        }
        func text(_ path: String) -> String { (try? FileSystem.readFile(path)).map { String(decoding: $0, as: UTF8.self) } ?? "" }
        return Output(
            succeeded: result.succeeded, exitDescription: result.timedOut ? "timed out after \(timeout)" : "\(result.termination)",
            stdout: text(logs + "/stdout"), stderr: text(logs + "/stderr"), durationMS: result.durationMS)
    }
}

extension StringProtocol {
    /// Without leading and trailing white space.
    fileprivate var trimmedForState: String {
        String(drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}
