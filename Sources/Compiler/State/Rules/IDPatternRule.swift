import Diagnostics

extension StateRule {
    static let idPattern = StateRule(
        .idPattern,
        summary: "a task id is not of the form MODULE-NN",
        rationale: """
            Ids name tasks in commits (`feat(AUTH-01): ...`), in progress.md and in sprint_output.md, so \
            they must be stable and easy to search: a module name in capitals (letters, digits, more \
            capitalised parts joined by `-` or `_`), a dash, and a number of at least two digits, as in \
            `AUTH-01`, `API_V2-07` or `DB-MIGRATE-12`.
            """,
        examples: [
            StateExample(
                "a lower-case id and a one-digit number", triggers: true,
                """
                {
                  "project": "todo-api",
                  "last_updated": "2026-12-01",
                  "current_focus": "Ship the API.",
                  "tasks": [
                    {"id": "api-1", "title": "Fix 500 on unknown todo", "description": "Return 404 for unknown todos.",
                //         ^ expect
                     "status": "pending", "priority": "high", "verify": "grep -q 404 README.md", "requires_eval": false}
                  ]
                }
                """),
            StateExample(
                "MODULE-NN", triggers: false,
                """
                {
                  "project": "todo-api",
                  "last_updated": "2026-12-01",
                  "current_focus": "Ship the API.",
                  "tasks": [
                    {"id": "API-01", "title": "Fix 500 on unknown todo", "description": "Return 404 for unknown todos.",
                     "status": "pending", "priority": "high", "verify": "grep -q 404 README.md", "requires_eval": false}
                  ]
                }
                """),
        ],
        check: IDPattern.check)
}

enum IDPattern {
    static func check(_ context: StateLintContext) -> [Diagnostic] {
        context.file.tasks.compactMap { task in
            guard let id = task.id, !id.value.allSatisfy(\.isWhitespace), !matches(id.value) else { return nil }
            return StateRuleID.idPattern.finding(
                "task id `\(id.value)` is not of the form MODULE-NN", file: context.path, range: id.range,
                help: suggestion(id.value).map { "e.g. `\($0)`" } ?? "a module in capitals, a dash and a number of two digits or more, e.g. AUTH-01")
        }
    }

    /// MODULE-NN: `[A-Z][A-Z0-9]*` parts joined by `-` or `_`, then `-` and two or more digits.
    public static func matches(_ id: String) -> Bool {
        guard let dash = id.lastIndex(of: "-") else { return false }
        let module = id[..<dash]
        let number = id[id.index(after: dash)...]
        guard number.count >= 2, number.allSatisfy({ $0.isASCII && $0.isNumber }) else { return false }
        let parts = module.split(separator: "-", omittingEmptySubsequences: false).flatMap {
            $0.split(separator: "_", omittingEmptySubsequences: false)
        }
        guard !parts.isEmpty else { return false }
        for part in parts {
            guard let first = part.first, first.isASCII, first.isUppercase,
                part.allSatisfy({ $0.isASCII && ($0.isUppercase || $0.isNumber) })
            else { return false }
        }
        return true
    }

    /// The id rewritten to the pattern when only case or the number's width is wrong.
    static func suggestion(_ id: String) -> String? {
        guard let dash = id.lastIndex(of: "-"), let number = Int(id[id.index(after: dash)...]), number >= 0 else { return nil }
        let candidate = id[..<dash].uppercased() + "-" + (number < 10 ? "0\(number)" : "\(number)")
        return matches(candidate) ? candidate : nil
    }
}
