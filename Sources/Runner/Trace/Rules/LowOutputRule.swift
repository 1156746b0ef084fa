import Store
import Platform
extension TraceRule {
    static let lowOutput: TraceRule = TraceRule(
        id: .lowOutput, severity: .info, escalation: .notice,
        summary: "a step ran (or has been running) for 5 minutes or more and wrote almost nothing",
        rationale: """
            An agent that works for minutes and prints under 100 bytes was probably waiting \
            (for a prompt it never got, a lock, the network) rather than working. The byte counts \
            are those of the step's stdout and stderr (`step_finished.stdout_bytes`, \
            `stderr_bytes`); for a step still running, its latest `step_heartbeat`.
            """,
        examples: [
            TraceExample("ten silent minutes", findings: 1, [
                "task_started", "cycle_started c=1", "step_started c=1 s=implement",
                "step_finished c=1 s=implement exit_code=0 duration_ms=600000 stdout_bytes=12 stderr_bytes=0", "task_completed c=1",
            ]),
            TraceExample("silent for six minutes, still running", findings: 1, status: .running, [
                "task_started", "cycle_started c=1", "step_started c=1 s=implement",
                "step_heartbeat c=1 s=implement stdout_bytes=0 stderr_bytes=0 running_ms=300000",
                "step_heartbeat c=1 s=implement stdout_bytes=0 stderr_bytes=0 running_ms=360000",
            ]),
            TraceExample("a chatty agent", findings: 0, [
                "task_started", "cycle_started c=1", "step_started c=1 s=implement",
                "step_finished c=1 s=implement exit_code=0 duration_ms=600000 stdout_bytes=52000 stderr_bytes=0", "task_completed c=1",
            ]),
        ],
        check: { context in
            var findings: [TraceFinding] = []
            var latestBeat: [String: EventRecord] = [:]
            for event in context.events {
                let key = event.slot
                switch event.type {
                case .stepHeartbeat:
                    latestBeat[key] = event
                case .stepFinished:
                    latestBeat[key] = nil
                    guard let duration = event.payload["duration_ms"]?.intValue, duration >= 300_000,
                        let out = event.payload["stdout_bytes"]?.intValue
                    else { continue }
                    let bytes = out + (event.payload["stderr_bytes"]?.intValue ?? 0)
                    guard bytes < 100 else { continue }
                    findings.append(
                        TraceRule.lowOutput.finding(
                            "\(event.stepName) ran \(duration / 60_000) min and wrote \(bytes) bytes",
                            at: event))
                default:
                    continue
                }
            }
            guard context.taskStatus == .running else { return findings }
            for beat in latestBeat.values.sorted(by: { $0.id < $1.id }) {
                let running = beat.payload["running_ms"]?.intValue ?? 0
                let bytes = (beat.payload["stdout_bytes"]?.intValue ?? 0) + (beat.payload["stderr_bytes"]?.intValue ?? 0)
                guard running >= 300_000, bytes < 100 else { continue }
                findings.append(
                    TraceRule.lowOutput.finding(
                        "\(beat.stepName) has been running \(running / 60_000) min and has written \(bytes) bytes",
                        at: beat))
            }
            return findings
        })
}
