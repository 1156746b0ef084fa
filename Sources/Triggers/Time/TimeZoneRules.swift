import Diagnostics
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a time zone could not be loaded; `description` says what to do.
public struct TimeZoneError: Error, Sendable, Equatable, CustomStringConvertible {
    public var identifier: String
    public var message: String

    public var description: String { "invalid timezone '\(identifier)': \(message)" }
}

/// How a wall-clock time maps to instants in a zone.
public enum LocalTimeResolution: Sendable, Equatable {
    /// The wall time exists once.
    case unique(Instant)
    /// The wall time exists twice (a fall-back repeats it): the earlier and the later instant.
    case repeated(first: Instant, second: Instant)
    /// The wall time does not exist (a spring-forward skips it); `gapEnd` is the instant the gap
    /// ends, whose wall time is the first one after the gap.
    case skipped(gapEnd: Instant)
}

/// The UTC offsets of an IANA time zone over time, read from the system's tz database
/// (`/usr/share/zoneinfo`, Debian package `tzdata`): the TZif transitions, and past the last of
/// them the POSIX TZ rule of the file's footer. No Foundation, no process-wide `TZ`.
public struct TimeZoneRules: Sendable {
    public let identifier: String
    /// Transition instants, ascending, and the UTC offset (seconds east) from each on.
    private let transitions: [Int64]
    private let offsets: [Int]
    /// The offset before the first transition.
    private let initialOffset: Int
    private let footer: PosixZoneRule?

    public static let utc = TimeZoneRules(identifier: "UTC", transitions: [], offsets: [], initialOffset: 0, footer: nil)

    public static let defaultDirectory = "/usr/share/zoneinfo"

    private init(identifier: String, transitions: [Int64], offsets: [Int], initialOffset: Int, footer: PosixZoneRule?) {
        self.identifier = identifier
        self.transitions = transitions
        self.offsets = offsets
        self.initialOffset = initialOffset
        self.footer = footer
    }

    /// Loads `identifier` (e.g. `Europe/Berlin`); `UTC`, `Etc/UTC` and `Z` need no file.
    public static func load(_ identifier: String, directory: String = defaultDirectory) throws(TimeZoneError) -> TimeZoneRules {
        if ["UTC", "Etc/UTC", "Z", "Etc/Zulu", "Zulu", "GMT", "Etc/GMT"].contains(identifier) {
            return TimeZoneRules(identifier: identifier, transitions: [], offsets: [], initialOffset: 0, footer: nil)
        }
        let allowed = identifier.utf8.allSatisfy { c in
            (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39)
                || c == UInt8(ascii: "/") || c == UInt8(ascii: "_") || c == UInt8(ascii: "-") || c == UInt8(ascii: "+")
        }
        guard !identifier.isEmpty, allowed, !identifier.hasPrefix("/"), !identifier.split(separator: "/").contains("..") else {
            throw TimeZoneError(identifier: identifier, message: "not an IANA time zone name; use one like 'Europe/Berlin' or 'UTC'")
        }
        let path = directory + "/" + identifier
        guard let bytes = readSmallFile(path, limit: 1 << 20) else {
            var help = "no such time zone in \(directory); use an IANA name like 'America/New_York'"
            if access(directory, F_OK) != 0 { help = "the time zone database \(directory) is missing; install the tzdata package" }
            throw TimeZoneError(identifier: identifier, message: help)
        }
        do {
            return try TZifReader.parse(bytes, identifier: identifier)
        } catch {
            throw TimeZoneError(identifier: identifier, message: "\(path) is not a readable TZif file (\(error.message))")
        }
    }

    fileprivate static func fromTZif(
        identifier: String, transitions: [Int64], offsets: [Int], initialOffset: Int, footer: PosixZoneRule?
    ) -> TimeZoneRules {
        TimeZoneRules(identifier: identifier, transitions: transitions, offsets: offsets, initialOffset: initialOffset, footer: footer)
    }

    /// Seconds east of UTC in force at `instant`.
    public func utcOffset(at instant: Instant) -> Int {
        let t = instant.secondsSinceEpoch
        guard let last = transitions.last else { return footer?.utcOffset(at: t) ?? initialOffset }
        if t < transitions[0] { return initialOffset }
        if t >= last, let footer { return footer.utcOffset(at: t) }
        var low = 0, high = transitions.count - 1
        while low < high {
            let middle = (low + high + 1) / 2
            if transitions[middle] <= t { low = middle } else { high = middle - 1 }
        }
        return offsets[low]
    }

    /// The wall-clock time at `instant` in this zone.
    public func civilTime(at instant: Instant) -> CivilTime {
        CivilTime(secondsSinceEpochAsUTC: instant.secondsSinceEpoch + Int64(utcOffset(at: instant)))
    }

    /// `2026-03-29T03:00:00+02:00`.
    public func format(_ instant: Instant) -> String {
        let offset = utcOffset(at: instant)
        let sign = offset < 0 ? "-" : "+"
        let magnitude = abs(offset)
        func pad(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return civilTime(at: instant).description + "\(sign)\(pad(magnitude / 3600)):\(pad(magnitude / 60 % 60))"
    }

    /// The instants at which the wall clock of this zone reads `civil`.
    public func resolve(_ civil: CivilTime) -> LocalTimeResolution {
        let local = civil.secondsSinceEpochAsUTC
        var candidates: [Int] = []
        for probe in [local - 172_800, local, local + 172_800] {
            let offset = utcOffset(at: Instant(secondsSinceEpoch: probe))
            if !candidates.contains(offset) { candidates.append(offset) }
        }
        var valid: [Int64] = []
        for offset in candidates {
            let t = local - Int64(offset)
            if utcOffset(at: Instant(secondsSinceEpoch: t)) == offset, !valid.contains(t) { valid.append(t) }
        }
        valid.sort()
        if valid.count == 1 { return .unique(Instant(secondsSinceEpoch: valid[0])) }
        if valid.count >= 2 {
            return .repeated(first: Instant(secondsSinceEpoch: valid[0]), second: Instant(secondsSinceEpoch: valid[valid.count - 1]))
        }
        // A gap: read with the offset before it, the time falls after the transition; read with
        // the offset after it, before. The transition lies between.
        let before = utcOffset(at: Instant(secondsSinceEpoch: local - 172_800))
        var low = local - 172_800 - Int64(before)
        var high = local - Int64(before)
        let after = utcOffset(at: Instant(secondsSinceEpoch: high))
        while high - low > 1 {
            let middle = low + (high - low) / 2
            if utcOffset(at: Instant(secondsSinceEpoch: middle)) == after { high = middle } else { low = middle }
        }
        return .skipped(gapEnd: Instant(secondsSinceEpoch: high))
    }
}

/// A POSIX TZ rule (the TZif footer), e.g. `CET-1CEST,M3.5.0,M10.5.0/3`.
struct PosixZoneRule: Sendable, Equatable {
    enum DateRule: Sendable, Equatable {
        case julianNoLeap(Int)       // Jn, 1...365, February 29 never counted
        case zeroBased(Int)          // n, 0...365
        case monthWeekDay(month: Int, week: Int, weekday: Int)   // Mm.w.d
    }

    struct Change: Sendable, Equatable {
        var date: DateRule
        var secondsAfterMidnight: Int
    }

    var standardOffset: Int
    var daylight: (offset: Int, start: Change, end: Change)?

    static func == (lhs: PosixZoneRule, rhs: PosixZoneRule) -> Bool {
        lhs.standardOffset == rhs.standardOffset && lhs.daylight?.offset == rhs.daylight?.offset
            && lhs.daylight?.start == rhs.daylight?.start && lhs.daylight?.end == rhs.daylight?.end
    }

    func utcOffset(at t: Int64) -> Int {
        guard let daylight else { return standardOffset }
        let year = CivilTime(secondsSinceEpochAsUTC: t + Int64(standardOffset)).year
        let start = PosixZoneRule.localSeconds(of: daylight.start, year: year) - Int64(standardOffset)
        let end = PosixZoneRule.localSeconds(of: daylight.end, year: year) - Int64(daylight.offset)
        let inDaylight = start < end ? (t >= start && t < end) : !(t >= end && t < start)
        return inDaylight ? daylight.offset : standardOffset
    }

    private static func localSeconds(of change: Change, year: Int) -> Int64 {
        let jan1 = CivilTime.days(year: year, month: 1, day: 1)
        var day: Int
        switch change.date {
        case .julianNoLeap(let n):
            day = jan1 + n - 1 + (CivilTime.isLeapYear(year) && n >= 60 ? 1 : 0)
        case .zeroBased(let n):
            day = jan1 + n
        case let .monthWeekDay(month, week, weekday):
            let first = CivilTime.days(year: year, month: month, day: 1)
            day = first + (weekday - CivilTime.weekday(days: first) + 7) % 7 + (week - 1) * 7
            let limit = first + CivilTime.daysInMonth(year: year, month: month)
            while day >= limit { day -= 7 }
        }
        return Int64(day) * 86_400 + Int64(change.secondsAfterMidnight)
    }

    /// Parses a POSIX TZ string; nil when it is not one (the caller then uses the transitions only).
    static func parse(_ text: String) -> PosixZoneRule? {
        var scanner = Scanner(Array(text.utf8))
        guard scanner.skipName(), let std = scanner.offset() else { return nil }
        let standardOffset = -std
        if scanner.atEnd { return PosixZoneRule(standardOffset: standardOffset, daylight: nil) }
        guard scanner.skipName() else { return nil }
        var daylightOffset = standardOffset + 3600
        if !scanner.atEnd, scanner.peek != UInt8(ascii: ",") {
            guard let dst = scanner.offset() else { return nil }
            daylightOffset = -dst
        }
        var start = Change(date: .monthWeekDay(month: 3, week: 2, weekday: 0), secondsAfterMidnight: 7200)
        var end = Change(date: .monthWeekDay(month: 11, week: 1, weekday: 0), secondsAfterMidnight: 7200)
        if !scanner.atEnd {
            guard scanner.take(UInt8(ascii: ",")), let s = scanner.change(), scanner.take(UInt8(ascii: ",")),
                let e = scanner.change(), scanner.atEnd
            else { return nil }
            start = s
            end = e
        }
        return PosixZoneRule(standardOffset: standardOffset, daylight: (daylightOffset, start, end))
    }

    private struct Scanner {
        let bytes: [UInt8]
        var index = 0

        init(_ bytes: [UInt8]) { self.bytes = bytes }

        var atEnd: Bool { index >= bytes.count }
        var peek: UInt8? { index < bytes.count ? bytes[index] : nil }

        mutating func take(_ byte: UInt8) -> Bool {
            guard peek == byte else { return false }
            index += 1
            return true
        }

        /// `CET` or `<+03>`.
        mutating func skipName() -> Bool {
            if take(UInt8(ascii: "<")) {
                while let c = peek, c != UInt8(ascii: ">") { index += 1 }
                return take(UInt8(ascii: ">"))
            }
            let start = index
            while let c = peek, (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) { index += 1 }
            return index - start >= 3
        }

        mutating func number() -> Int? {
            var value = 0, digits = 0
            while let c = peek, c >= 0x30, c <= 0x39, digits < 4 {
                value = value * 10 + Int(c - 0x30)
                digits += 1
                index += 1
            }
            return digits > 0 ? value : nil
        }

        /// `[+-]hh[:mm[:ss]]` in seconds (sign as written).
        mutating func offset() -> Int? {
            var sign = 1
            if take(UInt8(ascii: "-")) { sign = -1 } else { _ = take(UInt8(ascii: "+")) }
            guard let hours = number() else { return nil }
            var seconds = hours * 3600
            if take(UInt8(ascii: ":")) {
                guard let minutes = number() else { return nil }
                seconds += minutes * 60
                if take(UInt8(ascii: ":")) {
                    guard let secs = number() else { return nil }
                    seconds += secs
                }
            }
            return sign * seconds
        }

        mutating func change() -> Change? {
            let date: DateRule
            if take(UInt8(ascii: "M")) {
                guard let m = number(), take(UInt8(ascii: ".")), let w = number(), take(UInt8(ascii: ".")), let d = number(),
                    (1...12).contains(m), (1...5).contains(w), (0...6).contains(d)
                else { return nil }
                date = .monthWeekDay(month: m, week: w, weekday: d)
            } else if take(UInt8(ascii: "J")) {
                guard let n = number(), (1...365).contains(n) else { return nil }
                date = .julianNoLeap(n)
            } else {
                guard let n = number(), (0...365).contains(n) else { return nil }
                date = .zeroBased(n)
            }
            var time = 7200
            if take(UInt8(ascii: "/")) {
                guard let t = offset() else { return nil }
                time = t
            }
            return Change(date: date, secondsAfterMidnight: time)
        }
    }
}

/// Reads TZif files (RFC 8536), versions 1 to 4.
enum TZifReader {
    struct Failure: Error { var message: String }

    static func parse(_ bytes: [UInt8], identifier: String) throws(Failure) -> TimeZoneRules {
        var header = try Header(bytes, at: 0)
        var offset = 44 + header.dataLength(timeSize: 4)
        var timeSize = 4
        if header.version >= 2 {
            header = try Header(bytes, at: offset)
            offset += 44
            timeSize = 8
        } else {
            offset = 44
        }
        let dataEnd = offset + header.dataLength(timeSize: timeSize)
        guard dataEnd <= bytes.count else { throw Failure(message: "truncated data block") }
        func integer(at position: Int, size: Int) -> Int64 {
            var value: UInt64 = 0
            for i in 0..<size { value = value << 8 | UInt64(bytes[position + i]) }
            if size == 4 { return Int64(Int32(bitPattern: UInt32(truncatingIfNeeded: value))) }
            return Int64(bitPattern: value)
        }
        var transitions: [Int64] = []
        for i in 0..<header.timeCount { transitions.append(integer(at: offset + i * timeSize, size: timeSize)) }
        let indexStart = offset + header.timeCount * timeSize
        let typeStart = indexStart + header.timeCount
        var typeOffsets: [Int] = []
        for i in 0..<header.typeCount { typeOffsets.append(Int(integer(at: typeStart + i * 6, size: 4))) }
        guard !typeOffsets.isEmpty else { throw Failure(message: "no local time types") }
        var offsets: [Int] = []
        for i in 0..<header.timeCount {
            let index = Int(bytes[indexStart + i])
            guard index < typeOffsets.count else { throw Failure(message: "a transition names local time type \(index)") }
            offsets.append(typeOffsets[index])
        }
        var footer: PosixZoneRule?
        if header.version >= 2, dataEnd < bytes.count, bytes[dataEnd] == 0x0A {
            let rest = bytes[(dataEnd + 1)...]
            if let newline = rest.firstIndex(of: 0x0A) {
                let text = String(decoding: bytes[(dataEnd + 1)..<newline], as: UTF8.self)
                if !text.isEmpty { footer = PosixZoneRule.parse(text) }
            }
        }
        return TimeZoneRules.fromTZif(
            identifier: identifier, transitions: transitions, offsets: offsets, initialOffset: typeOffsets[0], footer: footer)
    }

    struct Header {
        var version: Int
        var isUTCCount, isStdCount, leapCount, timeCount, typeCount, charCount: Int

        init(_ bytes: [UInt8], at start: Int) throws(Failure) {
            guard bytes.count >= start + 44, Array(bytes[start..<(start + 4)]) == Array("TZif".utf8) else {
                throw Failure(message: "no TZif header")
            }
            let v = bytes[start + 4]
            version = v == 0 ? 1 : Int(v) - 0x30
            func count(_ i: Int) -> Int {
                let p = start + 20 + i * 4
                return Int(UInt32(bytes[p]) << 24 | UInt32(bytes[p + 1]) << 16 | UInt32(bytes[p + 2]) << 8 | UInt32(bytes[p + 3]))
            }
            isUTCCount = count(0)
            isStdCount = count(1)
            leapCount = count(2)
            timeCount = count(3)
            typeCount = count(4)
            charCount = count(5)
        }

        func dataLength(timeSize: Int) -> Int {
            timeCount * timeSize + timeCount + typeCount * 6 + charCount + leapCount * (timeSize + 4) + isStdCount + isUTCCount
        }
    }
}

/// The bytes of a regular file of at most `limit` bytes; nil if it cannot be read.
func readSmallFile(_ path: String, limit: Int) -> [UInt8]? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var info = stat()
    guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, Int(info.st_size) <= limit else { return nil }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65_536)
    while true {
        let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if count < 0, errno == EINTR { continue }
        guard count >= 0 else { return nil }
        if count == 0 { break }
        bytes.append(contentsOf: buffer[0..<count])
        if bytes.count > limit { return nil }
    }
    return bytes
}

extension TimeZoneError {
    /// As a diagnostic (the manifest layer adds the file and the position of the `timezone` value).
    public var diagnostic: Diagnostic {
        .error(TriggerRule.timezone, description, help: "use an IANA time zone name such as 'Europe/Berlin', 'America/New_York' or 'UTC'")
    }
}
