extension StateRule {
    static let jsonSyntax = StateRule(
        .jsonSyntax,
        summary: "the file is not strict JSON, or its top level is not an object",
        rationale: """
            Agents, editors, `jq` and this tool all read tasks.json; a file that only some of them accept \
            (a comment, a trailing comma, single quotes) is read differently by each, or not at all. The \
            finding points at the first byte the JSON grammar refuses. While the file does not parse, \
            no other rule runs on it.
            """,
        examples: [
            StateExample(
                "a trailing comma", triggers: true,
                """
                {"project": "todo-api", "last_updated": "2026-12-01", "current_focus": "Ship the API.", "tasks": [],}
                //                                                                                                  ^ expect
                """),
            StateExample(
                "strict JSON", triggers: false,
                """
                {"project": "todo-api", "last_updated": "2026-12-01", "current_focus": "Ship the API.", "tasks": []}
                """),
        ],
        check: { _ in [] })
}
