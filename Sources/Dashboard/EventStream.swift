import JSON
import Platform
import Runner
import Store
import Triggers

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `/tasks/ID/events`: the task's events as server-sent events, from the one after `after` on,
/// as they are recorded: `id: EVENT_ID` and `data: {"id","type","cycle","step","item"}` (no
/// payload: a page reloads what it shows). When the task has stopped (completed or failed) and
/// every event is sent, an `end` event carries its status and the stream closes. A comment line
/// every 15 s notices a client that has gone.
struct EventStream {
    let handler: DashboardHandler
    let taskID: String
    let after: Int64

    static let keepAliveMilliseconds: Int64 = 15_000

    func response() -> HTTPResponse {
        let handler = handler, taskID = taskID, after = after
        return HTTPResponse.streamed(
            .ok,
            headers: [("Content-Type", "text/event-stream; charset=utf-8"), ("Content-Security-Policy", "default-src 'none'")]
                + DashboardHandler.commonHeaders,
            stream: { writer in EventStream.run(handler: handler, taskID: taskID, after: after, writer: writer) })
    }

    static func run(handler: DashboardHandler, taskID: String, after: Int64, writer: any HTTPStreamWriter) {
        guard let reader = try? DashboardReader(dataDirectory: handler.dataDirectory, store: handler.store), let task = reader.task(taskID) else { return }
        let masker = (try? reader.pinnedWorkflow(task))?.masker(environment: processEnvironment()) ?? .none
        var cursor = after
        var lastWrite = monotonicMilliseconds()
        guard writer.write(Array("retry: 1000\n\n".utf8)) else { return }
        while !handler.stopping.withLock({ $0 }) {
            // A read that fails (the database busy for a moment) is tried again at the next poll:
            // the stream stays open rather than making the browser reconnect, and a task that
            // could not be read is not taken for a deleted one.
            let status: TaskStatus?
            let events: [EventRecord]
            do {
                status = try reader.tasks.task(taskID)?.status
                events = try reader.tasks.events(taskID, types: nil, after: cursor, first: 500)
            } catch {
                usleep(useconds_t(handler.pollMilliseconds * 1000))
                continue
            }
            for event in events {
                cursor = event.id
                guard writer.write(Array(masker.mask(message(event)).utf8)) else { return }
                lastWrite = monotonicMilliseconds()
            }
            if events.isEmpty, status == nil || status?.isTerminal == true {
                _ = writer.write(Array("event: end\ndata: \(status?.rawValue ?? "deleted")\n\n".utf8))
                return
            }
            if monotonicMilliseconds() - lastWrite >= keepAliveMilliseconds {
                guard writer.write(Array(": keep-alive\n\n".utf8)) else { return }
                lastWrite = monotonicMilliseconds()
            }
            if events.isEmpty { usleep(useconds_t(handler.pollMilliseconds * 1000)) }
        }
    }

    /// One event as an SSE message (JSON on one line: no newline can end the field early).
    static func message(_ event: EventRecord) -> String {
        let data = JSONValue.object([
            ("id", .int(event.id)), ("type", .string(event.type.rawValue)), ("cycle", event.cycle.map { .int(Int64($0)) } ?? .null),
            ("step", event.step.map { .string($0) } ?? .null), ("item", event.item.map { .string($0) } ?? .null),
        ])
        return "id: \(event.id)\ndata: \(JSONWriter(pretty: false).string(data))\n\n"
    }
}
