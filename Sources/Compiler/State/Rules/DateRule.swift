import Diagnostics

extension StateRule {
    static let date = StateRule(
        .date,
        summary: "`last_updated` is not a real date written YYYY-MM-DD",
        rationale: """
            `last_updated` tells a new session how fresh the list is; tools compare it with progress.md and \
            git log. It is a calendar date written YYYY-MM-DD (ISO 8601): `12/01/2026`, `2026-1-5` or \
            `2026-02-30` are not.
            """,
        examples: [
            StateExample(
                "the 30th of February", triggers: true,
                """
                {"project": "todo-api", "last_updated": "2026-02-30", "current_focus": "Ship the API.", "tasks": []}
                //                                      ^ expect
                """),
            StateExample(
                "a leap day", triggers: false,
                """
                {"project": "todo-api", "last_updated": "2028-02-29", "current_focus": "Ship the API.", "tasks": []}
                """),
        ],
        check: DateCheck.check)
}

enum DateCheck {
    static func check(_ context: StateLintContext) -> [Diagnostic] {
        guard let value = context.file.lastUpdated, !value.value.allSatisfy(\.isWhitespace), !isDate(value.value) else { return [] }
        return [
            StateRuleID.date.finding(
                "`last_updated` is `\(value.value)`, which is not a date written YYYY-MM-DD", file: context.path, range: value.range,
                help: "the date of the last change, e.g. 2026-12-01")
        ]
    }

    /// True for an existing Gregorian calendar date written YYYY-MM-DD.
    public static func isDate(_ text: String) -> Bool {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
            parts.allSatisfy({ $0.allSatisfy { $0.isASCII && $0.isNumber } }),
            let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2])
        else { return false }
        guard (1...12).contains(month), day >= 1 else { return false }
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        return day <= days[month - 1]
    }
}
