import Platform

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A point in time: whole seconds since 1970-01-01T00:00:00Z (leap seconds not counted, as POSIX).
/// Cron fires on whole seconds, so nothing finer is needed here.
public struct Instant: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var secondsSinceEpoch: Int64

    public init(secondsSinceEpoch: Int64) { self.secondsSinceEpoch = secondsSinceEpoch }

    /// The instant of a UTC civil time.
    public init(utc civil: CivilTime) { secondsSinceEpoch = civil.secondsSinceEpochAsUTC }

    public static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.secondsSinceEpoch < rhs.secondsSinceEpoch }

    public func adding(seconds: Int64) -> Instant { Instant(secondsSinceEpoch: secondsSinceEpoch + seconds) }

    /// `2026-03-29T01:00:00Z`.
    public var description: String { CivilTime(secondsSinceEpochAsUTC: secondsSinceEpoch).description + "Z" }
}

/// Where the trigger engine reads "now" from. The daemon passes `SystemClock`; tests pass a
/// `ManualClock` and move it, so a schedule of minutes is tested without sleeping for minutes.
public protocol TriggerClock: Sendable {
    func now() -> Instant
}

/// The system's real-time clock.
public struct SystemClock: TriggerClock {
    public init() {}

    public func now() -> Instant {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Instant(secondsSinceEpoch: Int64(ts.tv_sec))
    }
}

/// A clock that stands still until it is set or advanced; safe to share between threads.
public final class ManualClock: TriggerClock {
    private let current: Locked<Instant>

    public init(_ start: Instant) { current = Locked(start) }

    public func now() -> Instant { current.withLock { $0 } }

    public func set(_ instant: Instant) { current.withLock { $0 = instant } }

    public func advance(seconds: Int64) { current.withLock { $0 = $0.adding(seconds: seconds) } }
}

/// A wall-clock date and time with no zone (proleptic Gregorian calendar, 24-hour clock).
public struct CivilTime: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var year: Int
    public var month: Int
    public var day: Int
    public var hour: Int
    public var minute: Int
    public var second: Int

    public init(year: Int, month: Int, day: Int, hour: Int = 0, minute: Int = 0, second: Int = 0) {
        self.year = year
        self.month = month
        self.day = day
        self.hour = hour
        self.minute = minute
        self.second = second
    }

    /// The civil time that `seconds` since the epoch reads as at UTC (or, with an offset added, in a zone).
    public init(secondsSinceEpochAsUTC seconds: Int64) {
        let days = Int((seconds >= 0 ? seconds : seconds - 86_399) / 86_400)
        let rest = Int(seconds - Int64(days) * 86_400)
        let date = CivilTime.civil(fromDays: days)
        self.init(year: date.year, month: date.month, day: date.day, hour: rest / 3600, minute: rest / 60 % 60, second: rest % 60)
    }

    /// Seconds since the epoch if this wall time were read at UTC.
    public var secondsSinceEpochAsUTC: Int64 {
        Int64(CivilTime.days(year: year, month: month, day: day)) * 86_400 + Int64(hour * 3600 + minute * 60 + second)
    }

    /// 0 = Sunday ... 6 = Saturday.
    public var weekday: Int { CivilTime.weekday(days: CivilTime.days(year: year, month: month, day: day)) }

    public static func < (lhs: CivilTime, rhs: CivilTime) -> Bool { lhs.secondsSinceEpochAsUTC < rhs.secondsSinceEpochAsUTC }

    /// `2026-03-29T02:30:00`.
    public var description: String {
        func pad(_ value: Int, _ width: Int = 2) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(year, 4))-\(pad(month))-\(pad(day))T\(pad(hour)):\(pad(minute)):\(pad(second))"
    }

    // MARK: calendar arithmetic (days since 1970-01-01)

    static func isLeapYear(_ year: Int) -> Bool { year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) }

    static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: return isLeapYear(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (era-based, exact for any year).
    static func days(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    static func civil(fromDays days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// 0 = Sunday for a day count since 1970-01-01 (a Thursday).
    static func weekday(days: Int) -> Int { ((days % 7) + 11) % 7 }
}

/// A clock read from a file holding seconds since the epoch (one integer), read at every
/// `now()`: the daemon's `--trigger-clock FILE`, so a test (or a dry run of a schedule) moves time
/// for a real daemon process without waiting. When the file cannot be read or holds no integer,
/// the last value read stands (the system time before the first good read).
public final class FileClock: TriggerClock {
    public let path: String
    private let last: Locked<Instant?>

    public init(path: String) {
        self.path = path
        last = Locked(nil)
    }

    public func now() -> Instant {
        if let bytes = readFileBytes(path, limit: 64),
            let seconds = Int64(String(decoding: bytes.filter { $0 > 0x20 }, as: UTF8.self))
        {
            let instant = Instant(secondsSinceEpoch: seconds)
            last.withLock { $0 = instant }
            return instant
        }
        return last.withLock { $0 } ?? SystemClock().now()
    }
}
