import JSON
import Store
import Platform

// What did not happen, said where the user looks (issue 11, "a green result that is wrong"):
// steps that ran but did nothing, generate_items extractions that failed (the items were kept),
// failed steps with the first line of their stderr. `task info`, `task trace` and the end of a
// foreground run show these notes; they are read from the task's events, so they are the same
// whichever process ran the task.

public struct TaskNote: Sendable, Equatable {
    public enum Kind: String, Sendable {
        /// A step finished without doing anything (a builtin with nothing configured).
        case didNothing = "did_nothing"
        /// A `generate_items` extraction failed; the existing items were kept.
        case itemsGenerationFailed = "items_generation_failed"
        /// A step failed; the note carries the first line of its stderr.
        case failed
        /// A safety setting could not act (no git repository for checkpoints, nothing to roll back to).
        case safetySkipped = "safety_skipped"
    }

    public var kind: Kind
    public var step: String
    public var item: String?
    /// The cycles it happened in, ascending.
    public var cycles: [Int]
    public var text: String

    /// One line: `self_test (cycles 1, 2): did nothing: no self_test commands configured`.
    public var line: String {
        let place = step + (item.map { " [\($0)]" } ?? "")
        let when = cycles.isEmpty ? "" : " (cycle\(cycles.count == 1 ? "" : "s") \(cycles.map(String.init).joined(separator: ", ")))"
        return "\(place)\(when): \(text)"
    }

    public var json: JSONValue {
        .object([
            ("kind", .string(kind.rawValue)), ("step", .string(step)), ("item", item.map { .string($0) } ?? .null),
            ("cycles", .array(cycles.map { .int(Int64($0)) })), ("text", .string(text)),
        ])
    }

    /// The notes of a task's events, in the order they first happened; the same note in several
    /// cycles is one note listing the cycles.
    public static func notes(from events: [EventRecord]) -> [TaskNote] {
        var notes: [TaskNote] = []
        var index: [String: Int] = [:]
        func add(_ kind: Kind, _ event: EventRecord, _ text: String) {
            guard let step = event.step else { return }
            let key = [kind.rawValue, step, event.item ?? "", text].joined(separator: "\u{1F}")
            if let at = index[key] {
                if let cycle = event.cycle, !notes[at].cycles.contains(cycle) { notes[at].cycles.append(cycle) }
                return
            }
            index[key] = notes.count
            notes.append(TaskNote(kind: kind, step: step, item: event.item, cycles: event.cycle.map { [$0] } ?? [], text: text))
        }
        for event in events {
            switch event.type {
            case .stepFinished:
                if let reason = event.payload["did_nothing"]?.stringValue {
                    add(.didNothing, event, "did nothing: " + reason)
                } else if event.payload["success"] == .bool(false) {
                    let exit = event.payload["exit_code"]?.intValue.map { "exit \($0)" } ?? "failed"
                    let timedOut = event.payload["timed_out"] == .bool(true) ? ", timed out" : ""
                    let line = event.payload["stderr_first_line"]?.stringValue.map { ": " + $0 } ?? ""
                    add(.failed, event, "failed (\(exit)\(timedOut))\(line)")
                }
            case .checkpointSkipped:
                add(.safetySkipped, event, event.payload["reason"]?.stringValue ?? "no checkpoint was taken")
            case .itemsGenerationFailed:
                let problem = event.payload["problem"]?.stringValue ?? "the extraction failed"
                let kept = event.payload["kept_items"]?.intValue.map { "; the \($0) existing item\($0 == 1 ? " was" : "s were") kept" } ?? ""
                add(.itemsGenerationFailed, event, problem + kept)
            default:
                break
            }
        }
        return notes
    }
}
