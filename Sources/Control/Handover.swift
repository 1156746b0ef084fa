/// What a daemon hands to its next incarnation across `execve` (self-restart in place), in the
/// environment variable `ORCHESTRATORD_HANDOVER`: the descriptor that holds the data directory's
/// lock, the listening socket's descriptor, and the SHA-256 of the executable it replaced. The
/// lock is never released and the socket never closed, so no second daemon can slip in and no
/// client finds the directory unserved while the new binary starts.
public struct DaemonHandover: Sendable, Equatable {
    public static let variable = "ORCHESTRATORD_HANDOVER"

    public var lockDescriptor: Int32
    public var socketDescriptor: Int32?
    public var previousBuildID: String?

    public init(lockDescriptor: Int32, socketDescriptor: Int32?, previousBuildID: String?) {
        self.lockDescriptor = lockDescriptor
        self.socketDescriptor = socketDescriptor
        self.previousBuildID = previousBuildID
    }

    /// `lock=3 socket=4 previous=HEX`.
    public var text: String {
        var words = ["lock=\(lockDescriptor)"]
        if let socketDescriptor { words.append("socket=\(socketDescriptor)") }
        if let previousBuildID { words.append("previous=\(previousBuildID)") }
        return words.joined(separator: " ")
    }

    /// Reads `text`; nil when it is malformed (the daemon then starts as a new one would).
    public init?(text: String) {
        var lock: Int32?
        var socket: Int32?
        var previous: String?
        for word in text.split(separator: " ") {
            let parts = word.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { return nil }
            switch parts[0] {
            case "lock": lock = Int32(parts[1])
            case "socket": socket = Int32(parts[1])
            case "previous": previous = parts[1].allSatisfy(\.isHexDigit) ? parts[1] : nil
            default: return nil
            }
        }
        guard let lock, lock >= 0 else { return nil }
        self.init(lockDescriptor: lock, socketDescriptor: socket, previousBuildID: previous)
    }
}
