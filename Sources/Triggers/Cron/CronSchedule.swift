import Diagnostics

/// A refused schedule, positioned inside the schedule text: line 1, `column` counted in Unicode
/// scalars from 1, `offset` in UTF-8 bytes (the manifest layer maps the offset to file:line:col).
public struct CronError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    /// 1-based column of the first character of the offending field or item.
    public var column: Int
    /// Byte offset of that character in the schedule text.
    public var offset: Int
    /// How many characters the offending text spans (at least 1).
    public var length: Int
    public var help: String

    public var description: String { "column \(column): \(message)" }

    /// As a diagnostic whose range lies inside the schedule text.
    public var diagnostic: Diagnostic {
        let start = SourceLocation(line: 1, column: column, offset: offset)
        let end = SourceLocation(line: 1, column: column + length, offset: offset + length)
        return .error(TriggerRule.cronSchedule, "invalid cron expression: \(message)", range: SourceRange(start: start, end: end), help: help)
    }
}

/// A cron schedule: 5 fields `minute hour day-of-month month day-of-week`, or 6 with a seconds
/// field first (as the replaced system's examples write, e.g. `0 0 10 * * 1`), or one of the
/// aliases `@yearly` `@annually` `@monthly` `@weekly` `@daily` `@midnight` `@hourly`.
///
/// Each field is a comma list of `*`, `N`, `N-M`, each optionally `/STEP`; months accept
/// `JAN`...`DEC` and days of the week `SUN`...`SAT` (any case); day-of-week 0 and 7 are Sunday.
/// `?` is `*` in the two day fields. When both day fields are restricted (neither starts with
/// `*` or `?`), a day matches if EITHER matches (the classic cron rule); otherwise both must.
public struct CronSchedule: Sendable, Hashable, CustomStringConvertible {
    /// The text it was parsed from.
    public let text: String
    let seconds: BitSet
    let minutes: BitSet
    let hours: BitSet
    let daysOfMonth: BitSet
    let months: BitSet
    let daysOfWeek: BitSet
    let dayOfMonthRestricted: Bool
    let dayOfWeekRestricted: Bool

    public var description: String { text }

    public static let aliases: [(name: String, fields: String)] = [
        ("@yearly", "0 0 1 1 *"), ("@annually", "0 0 1 1 *"), ("@monthly", "0 0 1 * *"), ("@weekly", "0 0 * * 0"),
        ("@daily", "0 0 * * *"), ("@midnight", "0 0 * * *"), ("@hourly", "0 * * * *"),
    ]

    public static func parse(_ text: String) throws(CronError) -> CronSchedule {
        let scalars = Array(text.unicodeScalars)
        var byteOffsets: [Int] = []
        var running = 0
        for scalar in scalars {
            byteOffsets.append(running)
            running += String(scalar).utf8.count
        }
        byteOffsets.append(running)
        func error(_ message: String, at index: Int, length: Int, help: String) -> CronError {
            CronError(message: message, column: index + 1, offset: byteOffsets[min(index, scalars.count)], length: max(1, length), help: help)
        }
        let fieldHelp = "write 5 fields: minute hour day-of-month month day-of-week (e.g. '30 2 * * *'), 6 with seconds first, or an alias like @daily"

        // Split into fields, remembering where each starts.
        var fields: [(text: [Unicode.Scalar], start: Int)] = []
        var index = 0
        while index < scalars.count {
            if scalars[index] == " " || scalars[index] == "\t" { index += 1; continue }
            let start = index
            while index < scalars.count, scalars[index] != " ", scalars[index] != "\t" { index += 1 }
            fields.append((Array(scalars[start..<index]), start))
        }
        guard !fields.isEmpty else {
            throw error("the schedule is empty", at: 0, length: 1, help: fieldHelp)
        }
        if fields[0].text.first == "@" {
            let name = String(String.UnicodeScalarView(fields[0].text)).lowercased()
            guard let alias = aliases.first(where: { $0.name == name }) else {
                throw error("unknown alias '\(String(String.UnicodeScalarView(fields[0].text)))'", at: fields[0].start, length: fields[0].text.count,
                    help: "use one of " + aliases.map(\.name).joined(separator: ", "))
            }
            guard fields.count == 1 else {
                throw error("nothing may follow the alias \(alias.name)", at: fields[1].start, length: fields[1].text.count, help: "remove it")
            }
            var schedule = try parse(alias.fields)
            schedule = CronSchedule(copying: schedule, text: text)
            return schedule
        }
        guard fields.count == 5 || fields.count == 6 else {
            let at = fields.count > 6 ? fields[6].start : scalars.count
            throw error("expected 5 fields (or 6 with seconds first), found \(fields.count)", at: min(at, max(0, scalars.count - 1)),
                length: 1, help: fieldHelp)
        }
        let withSeconds = fields.count == 6
        let kinds: [CronField] = withSeconds
            ? [.second, .minute, .hour, .dayOfMonth, .month, .dayOfWeek] : [.minute, .hour, .dayOfMonth, .month, .dayOfWeek]
        var sets: [CronField: BitSet] = [.second: BitSet(values: [0])]
        var restricted: [CronField: Bool] = [:]
        for (kind, field) in zip(kinds, fields) {
            sets[kind] = try parseField(field.text, kind: kind, start: field.start, error: error)
            restricted[kind] = !(field.text.first == "*" || field.text.first == "?")
        }
        let schedule = CronSchedule(
            text: text, seconds: sets[.second] ?? BitSet(), minutes: sets[.minute] ?? BitSet(), hours: sets[.hour] ?? BitSet(),
            daysOfMonth: sets[.dayOfMonth] ?? BitSet(), months: sets[.month] ?? BitSet(), daysOfWeek: sets[.dayOfWeek] ?? BitSet(),
            dayOfMonthRestricted: restricted[.dayOfMonth] ?? false, dayOfWeekRestricted: restricted[.dayOfWeek] ?? false)
        // A day-of-month that no chosen month has (and no day-of-week to fall back on) never fires.
        if schedule.dayOfMonthRestricted, !schedule.dayOfWeekRestricted {
            let longest = (1...12).filter { schedule.months.contains($0) }.map { CronSchedule.maxDays(month: $0) }.max() ?? 0
            if let first = schedule.daysOfMonth.next(from: 1), first > longest {
                let field = fields[withSeconds ? 3 : 2]
                throw error("day-of-month \(first) never occurs in the chosen months (at most \(longest) days)", at: field.start,
                    length: field.text.count, help: "choose a day that exists in the month, or '*'")
            }
        }
        return schedule
    }

    private init(
        text: String, seconds: BitSet, minutes: BitSet, hours: BitSet, daysOfMonth: BitSet, months: BitSet, daysOfWeek: BitSet,
        dayOfMonthRestricted: Bool, dayOfWeekRestricted: Bool
    ) {
        self.text = text
        self.seconds = seconds
        self.minutes = minutes
        self.hours = hours
        self.daysOfMonth = daysOfMonth
        self.months = months
        self.daysOfWeek = daysOfWeek
        self.dayOfMonthRestricted = dayOfMonthRestricted
        self.dayOfWeekRestricted = dayOfWeekRestricted
    }

    private init(copying other: CronSchedule, text: String) {
        self.init(
            text: text, seconds: other.seconds, minutes: other.minutes, hours: other.hours, daysOfMonth: other.daysOfMonth,
            months: other.months, daysOfWeek: other.daysOfWeek, dayOfMonthRestricted: other.dayOfMonthRestricted,
            dayOfWeekRestricted: other.dayOfWeekRestricted)
    }

    static func maxDays(month: Int) -> Int { month == 2 ? 29 : CivilTime.daysInMonth(year: 2001, month: month) }

    // MARK: fields

    enum CronField: Hashable {
        case second, minute, hour, dayOfMonth, month, dayOfWeek

        var name: String {
            switch self {
            case .second: return "second"
            case .minute: return "minute"
            case .hour: return "hour"
            case .dayOfMonth: return "day-of-month"
            case .month: return "month"
            case .dayOfWeek: return "day-of-week"
            }
        }

        /// Allowed values as written (day-of-week allows 7 for Sunday).
        var bounds: ClosedRange<Int> {
            switch self {
            case .second, .minute: return 0...59
            case .hour: return 0...23
            case .dayOfMonth: return 1...31
            case .month: return 1...12
            case .dayOfWeek: return 0...7
            }
        }

        var names: [String] {
            switch self {
            case .month: return ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
            case .dayOfWeek: return ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]
            default: return []
            }
        }

        /// The value of names[0].
        var firstNameValue: Int { self == .month ? 1 : 0 }
    }

    private static func parseField(
        _ field: [Unicode.Scalar], kind: CronField, start: Int,
        error: (String, Int, Int, String) -> CronError
    ) throws(CronError) -> BitSet {
        var set = BitSet()
        let bounds = kind.bounds
        let valueHelp: String = {
            var text = "a \(kind.name) is \(bounds.lowerBound)-\(bounds.upperBound)"
            if !kind.names.isEmpty { text += " or a name \(kind.names.first ?? "")-\(kind.names.last ?? "")" }
            return text + "; items are *, N, N-M, each optionally /STEP, separated by commas"
        }()
        var itemStart = 0
        while itemStart <= field.count {
            var itemEnd = itemStart
            while itemEnd < field.count, field[itemEnd] != "," { itemEnd += 1 }
            let item = Array(field[itemStart..<itemEnd])
            let at = start + itemStart
            guard !item.isEmpty else { throw error("empty item in the \(kind.name) field", at, 1, valueHelp) }

            // Split off /STEP.
            var rangePart = item
            var step = 1
            if let slash = item.firstIndex(of: "/") {
                rangePart = Array(item[..<slash])
                let stepText = item[(slash + 1)...]
                guard let value = Int(String(String.UnicodeScalarView(stepText))), value > 0, value <= bounds.upperBound + 1 else {
                    throw error("the step '\(String(String.UnicodeScalarView(stepText)))' of the \(kind.name) field must be a number from 1 to \(bounds.upperBound + 1)",
                        at + slash + 1, max(1, stepText.count), valueHelp)
                }
                step = value
            }
            var low: Int, high: Int
            if rangePart == ["*"] || (rangePart == ["?"] && (kind == .dayOfMonth || kind == .dayOfWeek)) {
                low = bounds.lowerBound
                high = kind == .dayOfWeek ? 6 : bounds.upperBound
            } else {
                let dash = rangePart.firstIndex(of: "-")
                let lowText = dash.map { Array(rangePart[..<$0]) } ?? rangePart
                low = try value(lowText, kind: kind, at: at, error: error, help: valueHelp)
                if let dash {
                    let highText = Array(rangePart[(dash + 1)...])
                    high = try value(highText, kind: kind, at: at + dash + 1, error: error, help: valueHelp)
                    // `MON-SUN`: a range of days of the week may end on Sunday written as 0 or SUN.
                    if kind == .dayOfWeek, high == 0, low > 0 { high = 7 }
                    guard low <= high else {
                        throw error("the range \(low)-\(high) of the \(kind.name) field runs backwards", at, rangePart.count,
                            "write the lower bound first, or split it in two: \(low)-\(bounds.upperBound),\(bounds.lowerBound)-\(high)")
                    }
                } else {
                    // `N/STEP` means N through the end of the range, as in Vixie cron.
                    high = step > 1 || item.contains("/") ? (kind == .dayOfWeek ? 6 : bounds.upperBound) : low
                }
            }
            var v = low
            while v <= high {
                set.insert(kind == .dayOfWeek && v == 7 ? 0 : v)
                v += step
            }
            itemStart = itemEnd + 1
        }
        return set
    }

    private static func value(
        _ text: [Unicode.Scalar], kind: CronField, at: Int,
        error: (String, Int, Int, String) -> CronError, help: String
    ) throws(CronError) -> Int {
        let string = String(String.UnicodeScalarView(text))
        if let number = Int(string), text.allSatisfy({ $0.properties.numericType != nil && $0.isASCII }) {
            guard kind.bounds.contains(number) else {
                throw error("\(number) is out of range for the \(kind.name) field (\(kind.bounds.lowerBound)-\(kind.bounds.upperBound))",
                    at, max(1, text.count), help)
            }
            return number
        }
        if let index = kind.names.firstIndex(of: string.uppercased()) { return index + kind.firstNameValue }
        if string.isEmpty { throw error("a value is missing in the \(kind.name) field", at, 1, help) }
        throw error("'\(string)' is not a valid \(kind.name)", at, text.count, help)
    }

    // MARK: matching

    func dayMatches(day: Int, weekday: Int) -> Bool {
        let byDay = daysOfMonth.contains(day)
        let byWeekday = daysOfWeek.contains(weekday)
        if dayOfMonthRestricted && dayOfWeekRestricted { return byDay || byWeekday }
        return byDay && byWeekday
    }

    /// The first wall time at or after `start` that the schedule names; nil if none within 9 years
    /// (only a schedule that needs a rare date, like February 29 on a given weekday, can get there).
    public func nextWallTime(atOrAfter start: CivilTime) -> CivilTime? {
        var days = CivilTime.days(year: start.year, month: start.month, day: start.day)
        var first = true
        for _ in 0..<(366 * 9) {
            let date = CivilTime.civil(fromDays: days)
            if months.contains(date.month), dayMatches(day: date.day, weekday: CivilTime.weekday(days: days)) {
                let from = first ? (start.hour, start.minute, start.second) : (0, 0, 0)
                if let time = firstTime(atOrAfter: from) {
                    return CivilTime(year: date.year, month: date.month, day: date.day, hour: time.0, minute: time.1, second: time.2)
                }
            }
            first = false
            days += 1
        }
        return nil
    }

    private func firstTime(atOrAfter from: (Int, Int, Int)) -> (Int, Int, Int)? {
        var hour = hours.next(from: from.0)
        while let h = hour {
            var minute = minutes.next(from: h == from.0 ? from.1 : 0)
            while let m = minute {
                if let s = seconds.next(from: h == from.0 && m == from.1 ? from.2 : 0) { return (h, m, s) }
                minute = minutes.next(from: m + 1)
            }
            hour = hours.next(from: h + 1)
        }
        return nil
    }
}

/// A set of small non-negative integers (0...63).
struct BitSet: Sendable, Hashable {
    var bits: UInt64 = 0

    init() {}

    init(values: [Int]) { for v in values { insert(v) } }

    mutating func insert(_ value: Int) { bits |= 1 << UInt64(value) }

    func contains(_ value: Int) -> Bool { value >= 0 && value < 64 && bits & (1 << UInt64(value)) != 0 }

    /// The smallest member >= value.
    func next(from value: Int) -> Int? {
        guard value < 64 else { return nil }
        let rest = bits >> UInt64(max(0, value))
        guard rest != 0 else { return nil }
        return max(0, value) + rest.trailingZeroBitCount
    }
}
