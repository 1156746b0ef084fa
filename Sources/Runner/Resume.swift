import Compiler
import Expr
import JSON
import Manifest
import Platform
import Store

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Resume: a runner that starts on a task some runner already worked on rebuilds its state from
// the recorded runs (items and their statuses, pipeline variables, what the current cycle
// already decided or ran), so finished steps never run again and early returns, set_status and
// generated items hold as they were recorded. See docs/runner.md "Pause, crash and resume".

extension TaskRunner {
    /// Items and variables as the recorded runs left them.
    func loadState() throws {
        for (name, value) in task.options.variables { ledger.taskVars[name] = PipelineValue.typed(value) }
        for record in try tasks.items(taskID) {
            let state = ItemState(record)
            ledger.items[record.itemID] = state
            ledger.itemOrder.append(record.itemID)
            if record.origin == "task" { ledger.taskItem = state }
        }
        if let drift = try tasks.events(taskID, types: [.configDriftDetected]).last {
            ledger.lastReportedDrift = drift.payload["applied_hash"]?.stringValue
        }
        for event in try tasks.events(taskID, types: [.itemsGenerated]) {
            if let cycle = event.cycle, let step = event.step { ledger.appliedGenerations.insert(slotKey(cycle, step, nil)) }
        }
        for run in try tasks.runs(taskID) where run.status == .finished || run.status == .skipped {
            if run.status == .finished { apply(variables: run.variables, item: run.item) }
            if run.step == "init" || (graph.step(run.step)?.kind == .builtin(.init_once)), run.success == true { ledger.initDone = true }
            if run.cycle == task.cycle { replayIntoCycle(run) }
        }
    }

    func apply(variables: JSONValue, item: String?) {
        guard case .object(let pairs) = variables else { return }
        if let item, let state = ledger.items[item] {
            for (key, value) in pairs { state.vars[key] = value }
        } else {
            for (key, value) in pairs { ledger.taskVars[key] = value }
        }
    }

    func slotKey(_ cycle: Int, _ step: String, _ item: String?) -> String { "\(cycle)|\(step)|\(item ?? "")" }

    /// A decision or execution of the current cycle, recorded before the runner stopped.
    func replayIntoCycle(_ run: RunRecord) {
        ledger.done[slotKey(run.cycle, run.step, run.item)] = run
        let outcome = RunOutcome(json: run.outcome)
        guard run.status == .finished, let success = run.success else {
            if outcome.earlyReturn { markStopped(run.item) }
            return
        }
        let state = run.item.flatMap { ledger.items[$0] } ?? (isTaskScoped(run.step) ? ledger.taskItem : nil)
        if let state {
            state.history.append((run.step, success))
            if let status = outcome.statusSet { state.statusOverride = status }
        } else if !success && isTaskScoped(run.step) {
            ledger.taskFailedThisCycle = true
        }
        if outcome.earlyReturn { markStopped(run.item) }
        if let batch = outcome.generated, !ledger.appliedGenerations.contains(slotKey(run.cycle, run.step, nil)) {
            generated.withLock { $0.append(GeneratedBatch(cycle: run.cycle, step: run.step, replace: batch.replace, items: batch.items)) }
        }
    }

    func markStopped(_ item: String?) {
        if let item, let state = ledger.items[item] { state.stopped = true } else { ledger.taskStopped = true }
    }

    func isTaskScoped(_ stepID: String) -> Bool {
        if let step = graph.step(stepID) { return step.scope == .task }
        return true
    }
}
