import Expr
import Manifest

// The ONE table of the variables an expression may read (spec/execution.md "Prehook
// variables"). The compiler checks expressions against it; the planner and the runner bind it.

/// The type a variable is declared with for the expression checker.
public enum VariableType: String, Sendable, Hashable {
    case int, bool, string
    /// A list of dynamic values (e.g. a captured JSON array).
    case list
    /// Any type, known only at run time (pipeline variables).
    case dyn
}

/// When a variable's value is known.
public enum VariableAvailability: String, Sendable, Hashable {
    /// Known from the loop alone (`plan` knows it for every cycle it unrolls).
    case cycle
    /// Known when the task is created.
    case task
    /// Per item, known when the item runs.
    case item
    /// Set by a step while the task runs.
    case runtime
}

public struct BuiltinVariable: Sendable, Hashable {
    public var name: String
    public var type: VariableType
    public var availability: VariableAvailability
    public var meaning: String
}

public enum PrehookVariables {
    /// Every built-in variable, in the order of spec/execution.md.
    public static let builtins: [BuiltinVariable] = [
        BuiltinVariable(name: "cycle", type: .int, availability: .cycle, meaning: "the current cycle, from 1"),
        BuiltinVariable(
            name: "max_cycles", type: .int, availability: .cycle,
            meaning: "the loop's cycle limit (1 for once, max_cycles otherwise; 0 when an infinite loop has no cap)"),
        BuiltinVariable(
            name: "is_last_cycle", type: .bool, availability: .cycle,
            meaning: "cycle == max_cycles (always false for an infinite loop without max_cycles)"),
        BuiltinVariable(name: "task_id", type: .string, availability: .task, meaning: "the task's id"),
        BuiltinVariable(name: "item_id", type: .string, availability: .item, meaning: "the item's id"),
        BuiltinVariable(name: "qa_file_path", type: .string, availability: .item, meaning: "the item's file path (\"\" for the task item)"),
        BuiltinVariable(name: "item_status", type: .string, availability: .item, meaning: "the item's status"),
        BuiltinVariable(
            name: "active_ticket_count", type: .int, availability: .runtime,
            meaning: "ticket files for the item in the workspace's ticket_dir (set by ticket_scan)"),
        BuiltinVariable(name: "self_test_passed", type: .bool, availability: .runtime, meaning: "the last self_test step passed"),
        BuiltinVariable(name: "self_test_exit_code", type: .int, availability: .runtime, meaning: "the last self_test step's exit code"),
        BuiltinVariable(
            name: "self_referential_safe", type: .bool, availability: .item,
            meaning: "the item may run in a self-referential workspace (its document does not say otherwise)"),
    ]

    /// Variables every step sets for the steps after it, by step id.
    public static func stepVariables(stepID: String) -> [(name: String, type: VariableType)] {
        [
            (exitCodeVariable(stepID), .int),
            (outputVariable(stepID), .string),
            (outputPathVariable(stepID), .string),
        ]
    }

    /// Variables a builtin step sets besides the per-step ones.
    public static func variablesSet(by builtin: Builtin) -> [(name: String, type: VariableType)] {
        switch builtin {
        case .self_test: return [("self_test_errors", .string), ("self_test_errors_path", .string)]
        case .item_select: return [(itemSelectWinner, .string), (itemSelectScore, .dyn), (itemSelectResult, .dyn)]
        default: return []
        }
    }

    /// What `item_select` sets: the winning item's id, its score, and `{item_id, label, score, strategy}`.
    public static let itemSelectWinner = "item_select_winner"
    public static let itemSelectScore = "item_select_score"
    public static let itemSelectResult = "item_select_result"

    public static func exitCodeVariable(_ stepID: String) -> String { stepID + "_exit_code" }
    public static func outputVariable(_ stepID: String) -> String { stepID + "_output" }
    public static func outputPathVariable(_ stepID: String) -> String { stepID + "_output_path" }

    private static let builtinByName: [String: BuiltinVariable] = {
        var table: [String: BuiltinVariable] = [:]
        for variable in builtins { table[variable.name] = variable }
        return table
    }()

    public static func builtin(_ name: String) -> BuiltinVariable? { builtinByName[name] }

    /// The built-ins as a declaration table for the checker.
    public static var builtinDeclarations: [String: VariableType] {
        var table: [String: VariableType] = [:]
        for variable in builtins { table[variable.name] = variable.type }
        return table
    }
}

/// What is known about a cycle before it runs: the values of the `cycle`-availability built-ins.
/// The planner binds these for every cycle it unrolls; the runner binds the same values.
public struct CycleFacts: Sendable, Hashable {
    public var cycle: Int
    /// The loop's limit; nil for an infinite loop without `max_cycles`.
    public var cycleLimit: Int?

    public init(cycle: Int, cycleLimit: Int?) {
        self.cycle = cycle
        self.cycleLimit = cycleLimit
    }

    /// `max_cycles` as expressions see it (0 = no cap).
    public var maxCycles: Int { cycleLimit ?? 0 }
    public var isLastCycle: Bool { cycleLimit.map { cycle >= $0 } ?? false }

    /// The cycle built-ins and their values.
    public var bindings: [(name: String, value: Value)] {
        [("cycle", .int(Int64(cycle))), ("max_cycles", .int(Int64(maxCycles))), ("is_last_cycle", .bool(isLastCycle))]
    }
}

