import Compiler
import Runner

/// What the graph colours a step (or one item of it) by: its latest run's end. The raw value is
/// the CSS class suffix (`outcome-failed`).
public enum StepOutcome: String, Sendable, CaseIterable {
    case passed, failed, running, skipped, interrupted
    case notRun = "not_run"

    /// A timeline row's outcome: a run that ended is passed with exit 0, failed otherwise.
    init(_ row: TimelineRow) {
        switch row.outcome {
        case .ran, .didNothing: self = row.exitCode == 0 ? .passed : .failed
        case .skipped: self = .skipped
        case .running: self = .running
        case .interrupted: self = .interrupted
        }
    }

    /// A step's outcome from its items' latest ones: a failure shows first, then a run in
    /// progress, then anything that ran.
    static func combined(_ outcomes: [StepOutcome]) -> StepOutcome {
        for candidate in [StepOutcome.failed, .running, .interrupted, .passed, .skipped] where outcomes.contains(candidate) {
            return candidate
        }
        return .notRun
    }
}

/// The plan's step graph as inline SVG: the steps in the order they run (segments, then guards),
/// arrows between them, a dashed arrow from a guard back to the start (the next cycle); an
/// item-scoped step lists its items, each a box of its own. Every box has the class of its
/// outcome and `data-step` / `data-item` attributes.
struct StepGraphSVG {
    var graph: WorkflowGraph
    /// The timeline rows to colour by (one cycle's, or every cycle's for the latest outcome).
    var rows: [TimelineRow]
    var caption: String

    static let boxWidth = 168
    static let gap = 36
    static let headHeight = 40
    static let itemHeight = 22

    func render() -> String {
        let order = graph.segments.flatMap(\.stepIDs) + graph.guards.map(\.id)
        // Latest outcome per step and item, in the order items first appear.
        var items: [String: [String]] = [:]
        var latest: [String: [String: StepOutcome]] = [:]
        for row in rows {
            let item = row.item ?? ""
            if latest[row.step]?[item] == nil, !item.isEmpty { items[row.step, default: []].append(item) }
            latest[row.step, default: [:]][item] = StepOutcome(row)
        }
        let tallest = order.map { items[$0]?.count ?? 0 }.max() ?? 0
        let height = 24 + StepGraphSVG.headHeight + tallest * StepGraphSVG.itemHeight + 40
        let width = max(1, order.count) * (StepGraphSVG.boxWidth + StepGraphSVG.gap) + 16
        var out = "<svg class=\"graph\" role=\"img\" xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" viewBox=\"0 0 \(width) \(height)\">"
        out += "<title>" + HTML.escape(caption) + "</title>"
        out += "<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"6\" markerHeight=\"6\" orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\"/></marker></defs>"
        for (index, id) in order.enumerated() {
            let x = 8 + index * (StepGraphSVG.boxWidth + StepGraphSVG.gap)
            let y = 24
            let stepItems = items[id] ?? []
            let outcome = StepOutcome.combined(Array((latest[id] ?? [:]).values))
            let step = graph.step(id)
            let boxHeight = StepGraphSVG.headHeight + stepItems.count * StepGraphSVG.itemHeight + (stepItems.isEmpty ? 0 : 6)
            let dashed = step?.enabled == false ? " stroke-dasharray=\"4 3\"" : ""
            out += "<g class=\"step outcome-\(outcome.rawValue)\" data-step=\"\(HTML.escape(id))\" data-outcome=\"\(outcome.rawValue)\">"
            out += "<rect class=\"box outcome-\(outcome.rawValue)\" x=\"\(x)\" y=\"\(y)\" width=\"\(StepGraphSVG.boxWidth)\" height=\"\(boxHeight)\" rx=\"6\"\(dashed)/>"
            out += "<text x=\"\(x + 8)\" y=\"\(y + 17)\" font-weight=\"600\">" + HTML.escape(clipped(id, 22)) + "</text>"
            let kind = step.map { $0.kind.name + ($0.scope == .item ? ", per item" : "") } ?? ""
            out += "<text x=\"\(x + 8)\" y=\"\(y + 33)\" class=\"muted\">" + HTML.escape(clipped(rows.isEmpty ? kind : kind + " · " + outcome.rawValue, 26)) + "</text>"
            for (row, item) in stepItems.enumerated() {
                let itemOutcome = latest[id]?[item] ?? .notRun
                let itemY = y + StepGraphSVG.headHeight + row * StepGraphSVG.itemHeight
                out += "<g class=\"item outcome-\(itemOutcome.rawValue)\" data-step=\"\(HTML.escape(id))\" data-item=\"\(HTML.escape(item))\" data-outcome=\"\(itemOutcome.rawValue)\">"
                out += "<title>" + HTML.escape("\(item): \(itemOutcome.rawValue)") + "</title>"
                out += "<rect class=\"box outcome-\(itemOutcome.rawValue)\" x=\"\(x + 6)\" y=\"\(itemY)\" width=\"\(StepGraphSVG.boxWidth - 12)\" height=\"\(StepGraphSVG.itemHeight - 4)\" rx=\"3\"/>"
                out += "<text x=\"\(x + 12)\" y=\"\(itemY + 13)\">" + HTML.escape(clipped(item, 22)) + "</text></g>"
            }
            out += "</g>"
            if index + 1 < order.count {
                let from = x + StepGraphSVG.boxWidth, middle = y + StepGraphSVG.headHeight / 2
                out += "<path class=\"edge\" d=\"M\(from),\(middle) L\(from + StepGraphSVG.gap),\(middle)\" marker-end=\"url(#arrow)\"/>"
            }
        }
        if !graph.guards.isEmpty, order.count > 1, let guardIndex = order.firstIndex(where: { id in graph.guards.contains { $0.id == id } }) {
            let bottom = height - 12
            let fromX = 8 + guardIndex * (StepGraphSVG.boxWidth + StepGraphSVG.gap) + StepGraphSVG.boxWidth / 2
            let toX = 8 + StepGraphSVG.boxWidth / 2
            out += "<path class=\"edge\" stroke-dasharray=\"5 4\" d=\"M\(fromX),\(bottom - 22) L\(fromX),\(bottom) L\(toX),\(bottom) L\(toX),\(bottom - 22)\" marker-end=\"url(#arrow)\"/>"
            out += "<text x=\"\((fromX + toX) / 2 - 30)\" y=\"\(bottom - 4)\" class=\"muted\">next cycle</text>"
        }
        out += "<text x=\"8\" y=\"16\" class=\"muted\">" + HTML.escape(caption) + "</text>"
        out += "</svg>"
        return out
    }

    /// At most `count` characters, with `…` when cut (the full text is in the title or the table).
    func clipped(_ text: String, _ count: Int) -> String {
        text.count <= count ? text : String(text.prefix(count - 1)) + "…"
    }

    /// The colours, one swatch per outcome.
    static func legend() -> String {
        var out = "<svg class=\"legend\" xmlns=\"http://www.w3.org/2000/svg\" width=\"620\" height=\"22\" viewBox=\"0 0 620 22\">"
        for (index, outcome) in StepOutcome.allCases.enumerated() {
            let x = 2 + index * 100
            out += "<rect class=\"box outcome-\(outcome.rawValue)\" x=\"\(x)\" y=\"3\" width=\"16\" height=\"16\" stroke=\"#5b6673\"/>"
            out += "<text x=\"\(x + 22)\" y=\"16\">\(outcome.rawValue)</text>"
        }
        return out + "</svg>"
    }
}
