// Fuzz target `expr`: the guard-expression parser, checker, compiler and evaluator on arbitrary
// text (the declarations and values of a prehook of the self-bootstrap workflow).
import Diagnostics
import Expr
import JSON

let declarations: [String: ExprType] = [
    "cycle": .int, "max_cycles": .int, "is_last_cycle": .bool, "qa_file_path": .string,
    "regression_target_ids": .list(.string), "active_ticket_count": .int, "m": .map(.string, .int),
]
let bindings: [String: Value] = [
    "cycle": .int(2), "max_cycles": .int(3), "is_last_cycle": .bool(false), "qa_file_path": .string("docs/qa/a.md"),
    "regression_target_ids": .list([.string("docs/qa/a.md")]), "active_ticket_count": .int(1),
]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    guard case .success(let expression) = ExprParser.parseResult(text) else { return 0 }
    let checked = ExprChecker.check(expression, declarations: declarations)
    _ = checked.diagnostics.count
    _ = expression.compile().evaluate(bindings)
    _ = evaluate(expression, bindings: bindings)
    return 0
}
