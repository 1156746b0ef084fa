#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The store's timestamps: UTC, ISO 8601 with milliseconds (`2026-12-04T00:42:11.853Z`), the
/// form every record and event carries, whatever the engine.
public enum StoreClock {
    /// UTC now as ISO 8601 with milliseconds.
    public static func timestamp() -> String {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return timestamp(epochMilliseconds: Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec / 1_000_000))
    }

    /// A time (milliseconds since 1970-01-01 UTC) in the form of `timestamp()`.
    public static func timestamp(epochMilliseconds: Int64) -> String {
        var seconds = time_t(epochMilliseconds / 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        // Written digit by digit into 24 bytes (every event and run row carries one: no
        // intermediate strings).
        var bytes = [UInt8](repeating: 0, count: 24)
        func put(_ value: Int32, at offset: Int, width: Int) {
            var rest = max(0, value)
            for position in stride(from: offset + width - 1, through: offset, by: -1) {
                bytes[position] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
            }
        }
        put(parts.tm_year + 1900, at: 0, width: 4)
        bytes[4] = UInt8(ascii: "-")
        put(parts.tm_mon + 1, at: 5, width: 2)
        bytes[7] = UInt8(ascii: "-")
        put(parts.tm_mday, at: 8, width: 2)
        bytes[10] = UInt8(ascii: "T")
        put(parts.tm_hour, at: 11, width: 2)
        bytes[13] = UInt8(ascii: ":")
        put(parts.tm_min, at: 14, width: 2)
        bytes[16] = UInt8(ascii: ":")
        put(parts.tm_sec, at: 17, width: 2)
        bytes[19] = UInt8(ascii: ".")
        put(Int32(((epochMilliseconds % 1000) + 1000) % 1000), at: 20, width: 3)
        bytes[23] = UInt8(ascii: "Z")
        return String(decoding: bytes, as: UTF8.self)
    }
}
