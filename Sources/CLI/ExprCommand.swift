import Diagnostics
import Expr
import JSON

/// `orchestrator expr EXPR [--var NAME=JSON]... [--unknown NAME]...`: checks and evaluates one
/// guard expression, the tool to reach for when a guard does not do what you expect.
struct ExprCommand: Command {
    static let name = "expr"
    static let summary = "check and evaluate one guard expression, with variables bound or unknown"
    static let usage = """
        Usage: orchestrator expr EXPR [--var NAME=JSON]... [--unknown NAME]...

        Checks EXPR (grammar/expr.md) against the variables given, then evaluates it.
        --var NAME=JSON binds NAME to a JSON value: an integer binds an int, a number with a
        fraction or exponent a double, a string, true/false, null, an array a list, an object a
        map (quote strings as JSON: --var 'qa_file_path="docs/qa/a.md"').
        --unknown NAME declares NAME without a value: the result is then a value when it does
        not depend on NAME (`false && NAME`), or the list of unknown variables it depends on.
        Prints one JSON object on standard output:
          {"value": V, "type": "int|uint|double|string|bool|null|bytes|list|map"}
          {"unknown": ["NAME", ...]}     the result depends on these --unknown variables
          {"error": "MESSAGE"}           an evaluation error (division by zero, no such key, ...)
        Check diagnostics (syntax, unknown variables or functions, type errors) go to standard
        error with the column. An EXPR starting with `-` and a digit, `.` or `(` is read as the
        expression; for any other leading `-`, write `--` before EXPR.
        Exit 0 for a value or unknown, 1 for an evaluation error or a diagnostic, 2 on bad usage.
        """
    var variables: [String] = []
    var unknowns: [String] = []
    var color = ColorChoice.auto
    var expressions: [String] = []

    static var options: [Option<Self>] {
        [
            .values(\.variables, "--var", value: "NAME=JSON", help: "bind variable NAME to a JSON value"),
            .values(\.unknowns, "--unknown", value: "NAME", help: "declare NAME as unknown, for partial evaluation"),
            .color(\.color),
        ]
    }
    static var positionals: Positionals<Self>? { Positionals(\.expressions) }

    func run(context: CommandContext) -> ExitStatus {
        do throws(UsageError) {
            guard expressions.count == 1, let text = expressions.first else {
                if expressions.isEmpty {
                    throw UsageError("`expr` needs an expression", help: "for example: orchestrator expr 'cycle > 1' --var cycle=2")
                }
                throw UsageError(
                    "`expr` takes one expression, got \(expressions.count) arguments",
                    help: "quote the whole expression: orchestrator expr 'a && b'")
            }
            var bindings: [String: Value] = [:]
            var declarations: [String: ExprType] = [:]
            for binding in variables {
                guard let eq = binding.firstIndex(of: "=") else {
                    throw UsageError("`--var \(binding)` needs the form NAME=JSON", help: "for example --var cycle=2 or --var 'name=\"text\"'")
                }
                let name = String(binding[..<eq])
                let json = String(binding[binding.index(after: eq)...])
                guard Self.isIdentifier(name) else {
                    throw UsageError("`\(name)` is not a variable name", help: "a name is letters, digits and `_`, not starting with a digit")
                }
                guard bindings[name] == nil else { throw UsageError("variable `\(name)` is bound twice") }
                let parsed: JSONValue
                do {
                    parsed = try JSONParser.parse(json)
                } catch {
                    throw UsageError(
                        "the value of `--var \(name)` is not JSON: \(error.message)",
                        help: "strings need JSON quotes: --var '\(name)=\"\(json)\"'")
                }
                let value = Value(json: parsed)
                bindings[name] = value
                declarations[name] = value == .null ? .dyn : ExprType(of: value)
            }
            var unknown = Set<String>()
            for name in unknowns {
                guard Self.isIdentifier(name) else { throw UsageError("`\(name)` is not a variable name") }
                guard bindings[name] == nil else {
                    throw UsageError("variable `\(name)` is both bound with --var and declared --unknown")
                }
                unknown.insert(name)
                declarations[name] = .dyn
            }
            return Self.evaluate(text, bindings: bindings, declarations: declarations, unknown: unknown, color: color.useColor(context), context: context)
        } catch {
            Orchestrator.reportUsage(error, context: context)
            return .usage
        }
    }

    static func isIdentifier(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first == "_" || (first.isASCII && first.properties.isAlphabetic) else { return false }
        return name.unicodeScalars.allSatisfy { $0 == "_" || ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) }
    }

    static func evaluate(
        _ text: String, bindings: [String: Value], declarations: [String: ExprType], unknown: Set<String>, color: Bool,
        context: CommandContext
    ) -> ExitStatus {
        let source = SourceFile(path: "<expr>", text: text)
        let renderer = DiagnosticRenderer(sources: [source], color: color, toolVersion: Orchestrator.version, rules: ExprRule.all)
        func report(_ diagnostics: [Diagnostic]) {
            for diagnostic in diagnostics { context.stderr.write(renderer.text(diagnostic.inFile(source.path))) }
        }
        let expression: Expression
        do {
            expression = try ExprParser.parse(text)
        } catch {
            report([error.diagnostic])
            return .findings
        }
        let checked = ExprChecker.check(expression, declarations: declarations)
        if !checked.diagnostics.isEmpty { report(checked.diagnostics) }
        if checked.hasErrors { return .findings }
        let program = Program(expression)
        var out = ""
        let status: ExitStatus
        switch program.partialEvaluate(bindings, unknown: unknown) {
        case .value(let value):
            out = "{\"value\":"
            value.writeJSON(into: &out)
            out += ",\"type\":" + JSONWriter.quoted(value.typeName) + "}"
            status = .success
        case .unknown(let names):
            out = JSONWriter().string(.object([("unknown", .array(names.map(JSONValue.string)))]))
            status = .success
        case .error(let message):
            out = JSONWriter().string(.object([("error", .string(message))]))
            status = .findings
        }
        context.stdout.write(out + "\n")
        return status
    }
}
