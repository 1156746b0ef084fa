/// When a cron schedule fires in a time zone.
///
/// The schedule names wall-clock times. Each named wall time fires exactly once:
/// - a wall time that exists once fires at that instant;
/// - a wall time skipped by a spring-forward fires once at the first instant after the gap (the
///   transition itself, e.g. 03:00 CEST for 02:30 in Europe/Berlin); several skipped times and
///   a time named right at the end of the gap fall on that one instant and fire once there;
/// - a wall time repeated by a fall-back fires once, at its first (daylight-time) occurrence;
///   the repetition does not fire again.
extension CronSchedule {
    /// The first fire strictly after `instant`; nil if the schedule names no time within 9 years.
    public func nextFire(after instant: Instant, in zone: TimeZoneRules) -> Instant? {
        var cursor = zone.civilTime(at: instant)
        // Each step moves past one named wall time; a fall-back hour holds at most 3600 of them
        // whose first occurrence is already past.
        for _ in 0..<10_000 {
            guard let wall = nextWallTime(atOrAfter: cursor) else { return nil }
            let fire: Instant
            switch zone.resolve(wall) {
            case .unique(let t): fire = t
            case .repeated(let first, _): fire = first
            case .skipped(let gapEnd): fire = gapEnd
            }
            if fire > instant { return fire }
            cursor = CivilTime(secondsSinceEpochAsUTC: wall.secondsSinceEpochAsUTC + 1)
        }
        return nil
    }

    /// The next `count` fires after `instant`, ascending (fewer if the schedule runs out).
    public func fires(after instant: Instant, count: Int, in zone: TimeZoneRules) -> [Instant] {
        var result: [Instant] = []
        var cursor = instant
        while result.count < count, let next = nextFire(after: cursor, in: zone) {
            result.append(next)
            cursor = next
        }
        return result
    }

    /// What to do at start-up after the daemon was down: `lastFired` is the scheduled instant of
    /// the last fire that happened, `now` the clock's time. At most one catch-up fire is due,
    /// however many were missed; `missed` says how many scheduled fires fell in between
    /// (counting stops at `countLimit`, and `missedCountIsLowerBound` then says so).
    public func catchUp(lastFired: Instant, now: Instant, in zone: TimeZoneRules, countLimit: Int = 100_000) -> CronCatchUp {
        var missed = 0
        var latest: Instant?
        var cursor = lastFired
        var capped = false
        while let next = nextFire(after: cursor, in: zone), next <= now {
            if missed == countLimit {
                capped = true
                // Jump to the last scheduled fire at or before now without counting the rest.
                latest = lastFire(atOrBefore: now, after: next, in: zone) ?? latest
                break
            }
            missed += 1
            latest = next
            cursor = next
        }
        return CronCatchUp(
            missed: missed, missedCountIsLowerBound: capped, catchUpScheduledAt: latest, nextFire: nextFire(after: now, in: zone))
    }

    /// The last fire in (`after`, `limit`]: searched backwards by doubling windows.
    private func lastFire(atOrBefore limit: Instant, after floor: Instant, in zone: TimeZoneRules) -> Instant? {
        var window: Int64 = 3600
        while true {
            let start = max(floor.secondsSinceEpoch - 1, limit.secondsSinceEpoch - window)
            var cursor = Instant(secondsSinceEpoch: start)
            var found: Instant?
            while let next = nextFire(after: cursor, in: zone), next <= limit {
                found = next
                cursor = next
            }
            if found != nil || start <= floor.secondsSinceEpoch - 1 { return found }
            window *= 2
        }
    }
}

/// The catch-up decision at daemon start.
public struct CronCatchUp: Sendable, Equatable {
    /// Scheduled fires that fell after the last fire and at or before now.
    public var missed: Int
    /// True when counting stopped at the limit: at least `missed` were missed.
    public var missedCountIsLowerBound: Bool
    /// The scheduled instant the single catch-up fire stands for (the latest missed one), which
    /// is also the key the fire is claimed under; nil when nothing was missed.
    public var catchUpScheduledAt: Instant?
    /// The next regular fire after now.
    public var nextFire: Instant?

    /// Whether one catch-up fire is due now.
    public var firesNow: Bool { catchUpScheduledAt != nil }
}
