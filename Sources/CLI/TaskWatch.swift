import JSON
import Runner
import Store

import Platform

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// `task watch` (control-plane.md "Monitoring"): on a terminal, one panel redrawn in place (status,
// cycle k of n, the steps running now, items as a progress bar, this cycle's step durations, the
// last events one line each, every line cut to the terminal's width), redrawn only when it
// changed and at most once per interval; elsewhere, plain appended lines (the status line when it
// changes, then each new event as one line). It returns when the task stops running or on
// `--timeout`.

/// Everything the panel shows, read from the store at one instant.
struct WatchSnapshot {
    var task: TaskRecord
    var maxCycles: Int?
    var items: [ItemRecord]
    var runs: [RunRecord]
    var recentEvents: [EventRecord]
    /// The latest `step_heartbeat` events (what the running steps wrote so far).
    var heartbeats: [EventRecord] = []
    /// Milliseconds since the epoch, now.
    var now: Int64
}

enum WatchPanel {
    static let recentEventCount = 8

    /// The panel's lines for a terminal `width` columns wide.
    static func lines(_ snapshot: WatchSnapshot, width: Int) -> [String] {
        let task = snapshot.task
        var lines: [String] = []
        let started = task.startedAt.flatMap(TraceClock.milliseconds)
        let ended = task.finishedAt.flatMap(TraceClock.milliseconds)
        let elapsed = started.map { (ended ?? snapshot.now) - $0 }
        lines.append(
            "task \(task.id) \(task.name)  \(task.status.rawValue.uppercased())"
                + (elapsed.map { "  elapsed " + Timestamps.clock($0) } ?? "")
                + "  workflow \(task.workflow) (project \(task.project))")
        let cycleText = task.cycle == 0 ? "not started" : "cycle \(task.cycle)" + (snapshot.maxCycles.map { " of \($0)" } ?? "")
        let running = snapshot.runs.filter { $0.status == .running }
        let scope = running.isEmpty ? "" : (running.contains { $0.item != nil } ? "  segment: item steps" : "  segment: task steps")
        lines.append(cycleText + scope)
        if running.isEmpty {
            switch task.status {
            case .running: lines.append("now: between steps")
            case .created: lines.append("now: waiting to start (`orchestrator task start \(task.id)`, or a daemon's worker)")
            default: lines.append("now: nothing runs")
            }
        } else {
            let now = running.prefix(4).map { run -> String in
                let since = run.startedAt.flatMap(TraceClock.milliseconds).map { " " + Timestamps.short(snapshot.now - $0) } ?? ""
                return run.step + (run.item.map { " [\($0)]" } ?? "") + since + WatchPanel.output(of: run, heartbeats: snapshot.heartbeats)
            }
            lines.append("now: " + now.joined(separator: ", ") + (running.count > 4 ? " and \(running.count - 4) more" : ""))
        }
        let active = snapshot.items.filter { $0.active && $0.origin != "task" }
        if !active.isEmpty {
            let done = active.filter { Items.isResolved($0.status) }.count
            let failed = active.filter { Items.isUnresolved($0.status) }.count
            let pending = active.count - done - failed
            let barWidth = max(10, min(30, width - 50))
            let filled = active.isEmpty ? 0 : (done * barWidth) / active.count
            let failedCells = active.isEmpty ? 0 : min(barWidth - filled, (failed * barWidth + active.count - 1) / active.count)
            let bar =
                String(repeating: "#", count: filled) + String(repeating: "x", count: failedCells)
                + String(repeating: ".", count: barWidth - filled - failedCells)
            lines.append("items [\(bar)] \(done)/\(active.count) done, \(failed) failed, \(pending) pending")
        } else {
            lines.append("items: none")
        }
        let finished = snapshot.runs.filter { $0.cycle == task.cycle && $0.status == .finished }
        if !finished.isEmpty {
            var byStep: [(step: String, ms: Int64, count: Int, failed: Int)] = []
            for run in finished {
                if let at = byStep.firstIndex(where: { $0.step == run.step }) {
                    byStep[at].ms = max(byStep[at].ms, run.durationMS ?? 0)
                    byStep[at].count += 1
                    if run.success == false { byStep[at].failed += 1 }
                } else {
                    byStep.append((run.step, run.durationMS ?? 0, 1, run.success == false ? 1 : 0))
                }
            }
            lines.append(
                "steps: "
                    + byStep.map { entry in
                        entry.step + " " + Timestamps.short(entry.ms) + (entry.count > 1 ? " x\(entry.count)" : "")
                            + (entry.failed > 0 ? " (\(entry.failed) failed)" : "")
                    }.joined(separator: ", "))
        }
        lines.append("")
        lines.append("last events:")
        for event in snapshot.recentEvents.suffix(recentEventCount) { lines.append("  " + EventLine.compact(event)) }
        return lines.map { cut($0, width) }
    }

    /// What a running step wrote so far and for how long it has been silent, from its
    /// heartbeats: ` (12 KB, silent 3m00s)`; empty before its first heartbeat.
    static func output(of run: RunRecord, heartbeats: [EventRecord]) -> String {
        let beats = heartbeats.filter { $0.cycle == run.cycle && $0.step == run.step && $0.item == run.item }
        guard let last = beats.last else { return "" }
        func total(_ event: EventRecord) -> Int64 {
            (event.payload["stdout_bytes"]?.intValue ?? 0) + (event.payload["stderr_bytes"]?.intValue ?? 0)
        }
        let bytes = total(last)
        let size = bytes < 10_240 ? "\(bytes) B" : bytes < 10_485_760 ? "\(bytes / 1024) KB" : "\(bytes / 1_048_576) MB"
        // The earliest heartbeat since which nothing was written.
        var quietSince = last
        for beat in beats.reversed() {
            guard total(beat) == bytes else { break }
            quietSince = beat
        }
        let silent = (last.payload["running_ms"]?.intValue ?? 0) - (quietSince.payload["running_ms"]?.intValue ?? 0)
        return " (\(size)" + (silent > 0 ? ", silent \(Timestamps.short(silent))" : "") + ")"
    }

    /// The line cut to `width` columns (by characters; a cut line ends with `…`).
    static func cut(_ line: String, _ width: Int) -> String {
        guard width > 1, line.count > width else { return line }
        return String(line.prefix(width - 1)) + "…"
    }
}

/// One event as one short line: time, type, where, and the payload's gist (never a whole
/// prompt: commands and long texts are left out or cut).
enum EventLine {
    static func compact(_ event: EventRecord) -> String {
        let time = event.timestamp.count >= 23 ? String(event.timestamp.dropFirst(11).prefix(12)) : event.timestamp
        var place = ""
        if let cycle = event.cycle { place += "cycle \(cycle) " }
        if let step = event.step { place += step + " " }
        if let item = event.item { place += "[\(item)] " }
        return "\(time)  \(ForegroundRun.pad(event.type.rawValue, 22))\(place)\(gist(event))"
    }

    static func gist(_ event: EventRecord) -> String {
        let payload = event.payload
        func text(_ key: String) -> String? { payload[key]?.stringValue }
        func number(_ key: String) -> Int64? { payload[key]?.intValue }
        switch event.type {
        case .stepStarted:
            return [text("kind"), text("agent").map { "agent " + $0 }].compactMap { $0 }.joined(separator: ", ")
        case .stepFinished:
            if let reason = text("did_nothing") { return "did nothing: " + reason }
            var parts = ["exit \(number("exit_code") ?? -1)"]
            if let ms = number("duration_ms") { parts.append(Timestamps.short(ms)) }
            if payload["timed_out"] == .bool(true) { parts.append("timed out") }
            if let line = text("stderr_first_line") { parts.append(line) }
            return parts.joined(separator: ", ")
        case .stepSkipped:
            return text("reason") ?? ""
        case .stepPrehookEvaluated:
            return text("decision") ?? ""
        case .itemsGenerated:
            return "\(number("count") ?? 0) items" + (payload["replace"] == .bool(true) ? " (replace)" : "")
        case .itemsGenerationFailed:
            return text("problem") ?? ""
        case .itemFinalized:
            return text("status") ?? ""
        case .loopGuardDecision:
            return (payload["continue"] == .bool(true) ? "continue" : "stop") + (text("reason").map { ": " + $0 } ?? "")
        case .taskCompleted, .taskFailed:
            return text("reason") ?? text("error") ?? ""
        case .cycleStarted:
            return "open items \(number("open_items") ?? 0)"
        default:
            // Other payloads: their keys and short scalar values only.
            guard case .object(let pairs) = payload else { return "" }
            return pairs.prefix(4).map { pair -> String in
                switch pair.value {
                case .string(let value): return "\(pair.key)=\(value.count > 40 ? String(value.prefix(39)) + "…" : value)"
                case .int(let value): return "\(pair.key)=\(value)"
                case .bool(let value): return "\(pair.key)=\(value)"
                default: return pair.key
                }
            }.joined(separator: " ")
        }
    }
}

/// Durations as the panel and the trace print them.
enum Timestamps {
    /// `1:02:03` or `02:03`.
    static func clock(_ milliseconds: Int64) -> String {
        let total = max(0, milliseconds / 1000)
        let hours = total / 3600, minutes = (total % 3600) / 60, seconds = total % 60
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return hours > 0 ? "\(hours):\(two(minutes)):\(two(seconds))" : "\(two(minutes)):\(two(seconds))"
    }

    /// `850ms`, `12.3s`, `4m05s`, `2h03m`.
    static func short(_ milliseconds: Int64) -> String {
        let ms = max(0, milliseconds)
        if ms < 1000 { return "\(ms)ms" }
        if ms < 60_000 { return "\(ms / 1000).\((ms % 1000) / 100)s" }
        let seconds = ms / 1000
        if seconds < 3600 { return "\(seconds / 60)m\(seconds % 60 < 10 ? "0" : "")\(seconds % 60)s" }
        let minutes = seconds / 60
        return "\(minutes / 60)h\(minutes % 60 < 10 ? "0" : "")\(minutes % 60)m"
    }
}

extension TaskCommand {
    /// `task watch`: see the top of this file. Exit 0 when the task stopped running, 1 when
    /// `--timeout` passed first. A task that has not started yet is watched until it has run.
    static func watch(
        _ task: TaskRecord, interval: DurationText?, timeout: DurationText?, tasks: any TaskStore, context: CommandContext
    ) throws -> ExitStatus {
        let every = interval?.milliseconds ?? 2000
        let terminal = context.stdout.isTerminal
        let width = context.stdout.columns ?? Int(context.environment["COLUMNS"] ?? "") ?? 100
        let deadline = timeout.map { monotonicMilliseconds() + $0.milliseconds }
        let maxCycles = try tasks.events(task.id, types: [.taskCreated]).first?.payload["max_cycles"]?.intValue.map { Int($0) }
        var lastScreen = ""
        var lastStatusLine = ""
        var lastEvent: Int64 = 0
        if terminal { context.stdout.write("\u{1B}[?25l") }
        defer { if terminal { context.stdout.write("\u{1B}[?25h") } }
        while true {
            try tasks.recoverOrphanedTasks()
            guard let current = try tasks.task(task.id) else { throw UsageError("task \(task.id) was deleted while it was watched") }
            // A created task waits for its runner (`task start`, or a daemon's worker): keep
            // watching, as for a running one.
            let stillRunning = current.status == .running || current.status == .created
            if terminal {
                let snapshot = WatchSnapshot(
                    task: current, maxCycles: maxCycles, items: try tasks.items(task.id), runs: try tasks.runs(task.id),
                    recentEvents: try tasks.events(task.id, limit: WatchPanel.recentEventCount),
                    heartbeats: try tasks.events(task.id, types: [.stepHeartbeat], limit: 64), now: realtimeMilliseconds())
                let screen = WatchPanel.lines(snapshot, width: width).joined(separator: "\n")
                // Only on change: the elapsed clock changes each second, so a panel redraws at
                // most once per interval.
                if screen != lastScreen {
                    context.stdout.write("\u{1B}[H\u{1B}[J" + screen + "\n")
                    lastScreen = screen
                }
            } else {
                let items = try tasks.items(task.id).filter { $0.active && $0.origin != "task" }
                let done = items.filter { Items.isResolved($0.status) }.count
                let statusLine =
                    "task \(current.id) \(current.status.rawValue)  cycle \(current.cycle)"
                    + (maxCycles.map { "/\($0)" } ?? "") + "  items \(done)/\(items.count) done"
                if statusLine != lastStatusLine {
                    context.stdout.write(statusLine + "\n")
                    lastStatusLine = statusLine
                }
                let fresh = try tasks.events(task.id, after: lastEvent)
                for event in fresh { context.stdout.write(EventLine.compact(event) + "\n") }
                lastEvent = fresh.last?.id ?? lastEvent
            }
            if !stillRunning {
                let how = current.reason.map { ": " + $0 } ?? ""
                context.stdout.write("task \(current.id) is \(current.status.rawValue)\(how)\n")
                return .success
            }
            if let deadline, monotonicMilliseconds() >= deadline {
                context.stdout.write("watch stopped after its timeout; task \(current.id) is still \(current.status.rawValue)\n")
                return .findings
            }
            let wait = deadline.map { min(every, max(0, $0 - monotonicMilliseconds())) } ?? every
            usleep(UInt32(min(wait, 3_600_000)) * 1000)
        }
    }
}
