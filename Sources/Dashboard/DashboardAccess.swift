import Hashing
import JSON
import Platform
import Store

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where the dashboard listens and the token it asks for: what the daemon writes to
/// DATA/dashboard.json (mode 0600, only the owner reads it) so `orchestrator dashboard` can print
/// the address, and removes when it stops serving.
public struct DashboardAccess: Sendable, Equatable {
    public static let fileName = "dashboard.json"

    public var address: String
    public var port: UInt16
    public var token: String

    public init(address: String, port: UInt16, token: String) {
        self.address = address
        self.port = port
        self.token = token
    }

    public var url: String { "http://\(address):\(port)/" }
    /// The address with the token: opening it once sets the session cookie.
    public var urlWithToken: String { url + "?token=" + token }

    /// 32 random bytes as hex (a new one at every start).
    public static func newToken() throws(SecretKeyError) -> String { Hex.encode(try SystemRandom.bytes(32)) }

    public static func path(dataDirectory: String) -> String { dataDirectory + "/" + fileName }

    public func write(dataDirectory: String) throws(AtomicWriteError) {
        let value = JSONValue.object([("address", .string(address)), ("port", .int(Int64(port))), ("token", .string(token))])
        try AtomicFile.write(DashboardAccess.path(dataDirectory: dataDirectory), Array((JSONWriter().string(value) + "\n").utf8), mode: 0o600)
    }

    /// The file's contents; nil when there is none (no daemon serves a dashboard) or it is not ours.
    public static func read(dataDirectory: String) -> DashboardAccess? {
        guard let bytes = readFileBytes(path(dataDirectory: dataDirectory), limit: 4096),
            let value = try? JSONParser.parse(String(decoding: bytes, as: UTF8.self)),
            let address = value["address"]?.stringValue, let port = value["port"]?.intValue.flatMap({ UInt16(exactly: $0) }),
            let token = value["token"]?.stringValue
        else { return nil }
        return DashboardAccess(address: address, port: port, token: token)
    }

    public static func remove(dataDirectory: String) { unlink(path(dataDirectory: dataDirectory)) }

    /// `ADDR:PORT` when ADDR is a loopback address (127.0.0.0/8 or `localhost`) and PORT a port
    /// number (0: any free one); nil for anything else, a public or wildcard address included.
    public static func loopback(_ text: String) -> (address: String, port: UInt16)? {
        guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]) else { return nil }
        let host = String(text[..<colon])
        if host == "localhost" { return ("127.0.0.1", port) }
        let octets = host.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4, octets.allSatisfy({ !$0.isEmpty && $0.count <= 3 && UInt8($0) != nil }), octets[0] == "127" else { return nil }
        return (host, port)
    }
}
