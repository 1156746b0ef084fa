#if canImport(Glibc)
import Glibc
#endif
import Platform
import Testing
import Triggers

/// A handler whose answers are streamed: three chunks written apart, then the end; it records
/// whether a write failed once the client had gone.
final class ChunkHandler: HTTPHandler, Sendable {
    let writeFailed = Locked(false)
    let chunks: Int

    init(chunks: Int) { self.chunks = chunks }

    func respond(to request: HTTPRequest) -> HTTPResponse {
        .streamed(.ok, headers: [("Content-Type", "text/event-stream")]) { [self] writer in
            for index in 0..<chunks {
                guard writer.write(Array("data: \(index)\n\n".utf8)) else {
                    writeFailed.withLock { $0 = true }
                    return
                }
                usleep(50_000)
            }
        }
    }

    func refused(_ refusal: HTTPRefusal) {}
}

@Suite(.serialized) struct StreamedResponseTests {
    @Test("a streamed response: the head without Content-Length, then each chunk as it is written, then the close")
    func chunksArriveAsWritten() throws {
        let server = try HTTPServer(port: 0, handler: ChunkHandler(chunks: 3))
        try server.start()
        defer { server.stop() }
        let client = try RawClient(port: server.port)
        client.send("GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        // The first chunk is there before the handler has written the others.
        let first = client.readUntil("data: 0\n\n")
        #expect(first.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(first.contains("Content-Type: text/event-stream\r\n") && first.contains("Connection: close\r\n"))
        #expect(!first.contains("Content-Length"))
        #expect(!first.contains("data: 2"))
        let rest = client.readResponse()
        #expect(rest.text.hasSuffix("data: 1\n\ndata: 2\n\n"), "\(rest.text)")
    }

    @Test("a client that goes away makes the stream's write fail, so the handler ends")
    func aGoneClientEndsTheStream() throws {
        let handler = ChunkHandler(chunks: 200)
        let server = try HTTPServer(port: 0, handler: handler)
        try server.start()
        defer { server.stop() }
        do {
            let client = try RawClient(port: server.port)
            client.send("GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            _ = client.readUntil("data: 1\n\n")
        }
        let deadline = monotonicMilliseconds() + 5000
        while !handler.writeFailed.withLock({ $0 }) || server.activeConnections > 0, monotonicMilliseconds() < deadline { usleep(20_000) }
        #expect(handler.writeFailed.withLock { $0 })
        #expect(server.activeConnections == 0)
    }
}
