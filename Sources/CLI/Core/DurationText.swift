/// A duration written on a command line: a number and a unit, `ms`, `s`, `m`, `h` or `d`
/// (`500ms`, `2s`, `1.5m`, `30d`); a bare number has the unit the option says (seconds for
/// `--interval`, days for `--older-than`). The one parser of every duration option, the
/// daemon's included.
public struct DurationText: Sendable, Equatable {
    public enum Unit: Sendable {
        case milliseconds, seconds, minutes, hours, days

        var milliseconds: Double {
            switch self {
            case .milliseconds: return 1
            case .seconds: return 1_000
            case .minutes: return 60_000
            case .hours: return 3_600_000
            case .days: return 86_400_000
            }
        }
    }

    public var milliseconds: Int64
    public var seconds: Double { Double(milliseconds) / 1000 }

    public init(milliseconds: Int64) {
        self.milliseconds = milliseconds
    }

    /// Nil for anything else than a non-negative number with an optional unit, or more than a
    /// hundred years.
    public init?(_ text: String, bareUnit: Unit = .seconds) {
        var number = Substring(text)
        var unit = bareUnit
        for (suffix, named) in [("ms", Unit.milliseconds), ("s", .seconds), ("m", .minutes), ("h", .hours), ("d", .days)]
        where number.hasSuffix(suffix) {
            number = number.dropLast(suffix.count)
            unit = named
            break
        }
        guard !number.isEmpty, number.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }), let value = Double(number),
            value.isFinite, value * unit.milliseconds <= 36_500 * 86_400_000
        else { return nil }
        milliseconds = Int64(value * unit.milliseconds)
    }
}
