import Compiler
import Diagnostics
import Manifest

/// `state status`: the one screen a new session reads first (docs/state-files.md).
enum StateStatus {
    /// The task to take next: the one in progress, else the first pending task of the highest
    /// priority (file order among equals).
    static func next(_ tasks: [StateTask]) -> (task: StateTask, continuing: Bool)? {
        if let current = tasks.first(where: { $0.status?.value == .inProgress }) { return (current, true) }
        let pending = tasks.enumerated().filter { $0.element.status?.value == .pending }
        let chosen = pending.min { a, b in
            (a.element.priority?.value.rank ?? 3, a.offset) < (b.element.priority?.value.rank ?? 3, b.offset)
        }
        return chosen.map { ($0.element, false) }
    }

    /// The newest `## ` entry of progress.md (the first one), at most `limit` lines.
    static func latestEntry(_ text: String, limit: Int = 12) -> [String]? {
        var lines: [String] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("## ") {
                if !lines.isEmpty { break }
                lines.append(String(line))
            } else if !lines.isEmpty {
                lines.append(String(line))
            }
        }
        while lines.last?.trimmingCharactersBlank.isEmpty == true { lines.removeLast() }
        guard !lines.isEmpty else { return nil }
        if lines.count > limit { lines = Array(lines.prefix(limit)) + ["  (\(lines.count - limit) more lines in progress.md)"] }
        return lines
    }

    static func describe(_ task: StateTask) -> String {
        let id = task.id?.value ?? task.label
        let priority = task.priority.map { " [\($0.value.rawValue)]" } ?? ""
        return id + priority + " " + (task.title?.value ?? "(no title)")
    }

    /// The screen for the state files in `root`; `findings` are tasks.json's lint errors, `commits`
    /// the output of `git log --oneline -10` (nil when it is not a git repository).
    static func render(root: String, file: TasksFile, findings: [Diagnostic], progress: String?, commits: String?) -> String {
        var out = "project:   \(file.project?.value ?? "(no project)")  (\(root)/tasks.json, last updated \(file.lastUpdated?.value ?? "never"))\n"
        out += "focus:     \(file.currentFocus?.value ?? "(no current_focus)")\n"
        let errors = findings.filter { $0.severity == .error }
        if !errors.isEmpty {
            out += "warning:   tasks.json has \(errors.count) lint error\(errors.count == 1 ? "" : "s"): run `orchestrator lint --state \(root)/tasks.json`\n"
        }
        out += "\n"
        if let (task, continuing) = next(file.tasks) {
            out += (continuing ? "continue:  " : "next:      ") + describe(task) + "\n"
            if let verify = task.verify { out += "           verify: " + VerifyCommands.steps(verify.value).joined(separator: " && ") + "\n" }
            if task.requiresEval?.value == true { out += "           requires an evaluator's approval in sprint_output.md\n" }
        } else {
            out += "next:      nothing pending\n"
        }
        let blocked = file.tasks.filter { $0.status?.value == .blocked }
        if !blocked.isEmpty {
            out += "blocked:\n"
            for task in blocked { out += "  " + describe(task) + ": " + (task.blockedBy?.value ?? "(no blocked_by)") + "\n" }
        }
        var counts: [String] = []
        for state in TaskState.allCases {
            let count = file.tasks.filter { $0.status?.value == state }.count
            if count > 0 { counts.append("\(count) \(state.rawValue.replacing("_", with: " "))") }
        }
        let unknown = file.tasks.filter { $0.status == nil }.count
        if unknown > 0 { counts.append("\(unknown) without a valid status") }
        out += "tasks:     " + (counts.isEmpty ? "none" : counts.joined(separator: ", ")) + "\n"
        out += "\nlatest progress (progress.md):\n"
        if let progress {
            if let entry = latestEntry(progress) {
                for line in entry { out += "  " + line + "\n" }
            } else {
                out += "  no `## YYYY-MM-DD TASK-TITLE` entry yet\n"
            }
        } else {
            out += "  no progress.md\n"
        }
        out += "\nlast commits:\n"
        if let commits {
            let lines = commits.split(separator: "\n")
            if lines.isEmpty { out += "  none yet\n" }
            for line in lines { out += "  " + line + "\n" }
        } else {
            out += "  not a git repository\n"
        }
        return out
    }
}

extension String {
    fileprivate var trimmingCharactersBlank: String { String(self.filter { !$0.isWhitespace }) }
}
