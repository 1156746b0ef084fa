// The range of every integer field of every kind (issue 23.3), one table for both decoders: a
// value outside is refused at validate time at its position, so no value a manifest can hold
// overflows the runner's arithmetic (seconds to milliseconds, stagger sums, cycle counters).
// docs/manifests.md "Integer ranges" lists the same table.

public enum IntegerRanges {
    /// The largest value a field takes, and what the unit is (for the message).
    public static func maximum(for key: String) -> (value: Int, unit: String) {
        switch key {
        case "max_cycles": return (4_294_967_295, "cycles (the replaced system's u32)")
        case "max_parallel": return (1_024, "items at once")
        case "max_memory_mb": return (16_777_216, "MiB (16 TiB)")
        case "max_processes", "max_open_files": return (1_048_576, "")
        default: break
        }
        if key.hasSuffix("_ms") { return (86_400_000, "milliseconds (one day)") }
        if key.hasSuffix("_secs") || key.hasSuffix("_seconds") { return (31_536_000, "seconds (365 days)") }
        if key.hasSuffix("_hours") { return (8_760, "hours (365 days)") }
        return (2_147_483_647, "")
    }

    /// The finding for `number` of `key` above its maximum, nil when it is in range.
    public static func excess(_ number: Int, key: String) -> (message: String, help: String)? {
        let (limit, unit) = maximum(for: key)
        guard number > limit else { return nil }
        let described = unit.isEmpty ? "\(limit)" : "\(limit) \(unit)"
        return ("`\(key)` must be at most \(described), found \(number)", "write an integer of at most \(limit) (docs/manifests.md, integer ranges)")
    }
}
