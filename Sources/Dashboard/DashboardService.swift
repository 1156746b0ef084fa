import Store
import Triggers

/// The dashboard served: the HTTP listener on a loopback address with its handler; the daemon
/// starts it when it serves (`--http`) and stops it when it drains.
public final class DashboardService: Sendable {
    public let access: DashboardAccess
    let server: HTTPServer
    let handler: DashboardHandler

    /// Listens on `address:port` (a loopback address; port 0 picks a free one) with a new token.
    public init(dataDirectory: String, store: StoreLocation? = nil, address: String, port: UInt16) throws(DashboardStartError) {
        let token: String
        do {
            token = try DashboardAccess.newToken()
        } catch {
            throw DashboardStartError(message: "no token for the dashboard: \(error)")
        }
        handler = DashboardHandler(dataDirectory: dataDirectory, store: store, token: token)
        // Event streams stay open: more connections than a webhook listener needs, each its own thread.
        let limits = HTTPLimits(maxBodyBytes: 0, maxConnections: 32)
        do {
            server = try HTTPServer(address: address, port: port, limits: limits, handler: handler)
            try server.start()
        } catch {
            throw DashboardStartError(message: "the dashboard cannot listen: \(error)")
        }
        access = DashboardAccess(address: address, port: server.port, token: token)
    }

    /// Ends the event streams, then stops listening.
    public func stop() {
        handler.stop()
        server.stop()
    }
}

public struct DashboardStartError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
