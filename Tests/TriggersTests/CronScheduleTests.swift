import Diagnostics
import Testing
import Triggers

/// The instant of a UTC wall time.
func utc(_ year: Int, _ month: Int, _ day: Int, _ hour: Int = 0, _ minute: Int = 0, _ second: Int = 0) -> Instant {
    Instant(utc: CivilTime(year: year, month: month, day: day, hour: hour, minute: minute, second: second))
}

func zone(_ name: String) throws -> TimeZoneRules { try TimeZoneRules.load(name) }

@Suite struct CronParsingTests {
    @Test func refusesBadFieldsWithTheColumnOfTheField() {
        let cases: [(String, Int, String)] = [
            ("61 * * * *", 1, "out of range"),
            ("* 24 * * *", 3, "out of range"),
            ("*/15 2 * * MON-FRX", 16, "'FRX' is not a valid day-of-week"),
            ("0 0 30 2 *", 5, "never occurs"),
            ("* * * *", 7, "expected 5 fields"),
            ("0 5-1 * * *", 3, "runs backwards"),
            ("*/0 * * * *", 3, "step"),
            ("1,,2 * * * *", 3, "empty item"),
            ("0 0 * 13 *", 7, "out of range"),
            ("0 0 * * 8", 9, "out of range"),
            ("@every 5m", 1, "unknown alias"),
            ("@daily 5", 8, "nothing may follow"),
            ("", 1, "empty"),
            ("0 0 L * *", 5, "'L' is not a valid day-of-month"),
        ]
        for (text, column, fragment) in cases {
            do {
                let schedule = try CronSchedule.parse(text)
                Issue.record("'\(text)' was accepted as \(schedule)")
            } catch {
                #expect(error.column == column, "'\(text)': \(error)")
                #expect(error.message.contains(fragment), "'\(text)': \(error.message)")
                #expect(error.diagnostic.rule == TriggerRule.cronSchedule)
                #expect(error.diagnostic.range?.start.column == column)
                #expect(error.diagnostic.message.hasPrefix("invalid cron expression: "))
            }
        }
    }

    @Test func columnsCountCharactersAndOffsetsCountBytes() {
        do {
            _ = try CronSchedule.parse("é * * * * * *")
            Issue.record("accepted")
        } catch {
            #expect(error.message.contains("'é' is not a valid second") || error.message.contains("expected 5 fields"))
        }
        do {
            _ = try CronSchedule.parse("0 0 * * é")
            Issue.record("accepted")
        } catch {
            #expect(error.column == 9)
            #expect(error.offset == 8)
        }
        do {
            _ = try CronSchedule.parse("é 0 * * 9")
            Issue.record("accepted")
        } catch {
            #expect(error.column == 1)
        }
    }

    @Test func namesListsStepsAndAliases() throws {
        let z = TimeZoneRules.utc
        // Weekdays at 09:00 and 17:30 would need two schedules; here 09:00 MON-FRI, in March and June.
        let s = try CronSchedule.parse("0 9 * mar,JUN mon-fri")
        #expect(s.fires(after: utc(2026, 1, 1), count: 3, in: z) == [utc(2026, 3, 2, 9), utc(2026, 3, 3, 9), utc(2026, 3, 4, 9)])
        let steps = try CronSchedule.parse("5-20/5,50 * * * *")
        #expect(steps.fires(after: utc(2026, 1, 1), count: 5, in: z)
            == [utc(2026, 1, 1, 0, 5), utc(2026, 1, 1, 0, 10), utc(2026, 1, 1, 0, 15), utc(2026, 1, 1, 0, 20), utc(2026, 1, 1, 0, 50)])
        let from = try CronSchedule.parse("50/5 * * * *")
        #expect(from.fires(after: utc(2026, 1, 1), count: 3, in: z) == [utc(2026, 1, 1, 0, 50), utc(2026, 1, 1, 0, 55), utc(2026, 1, 1, 1, 50)])
        let hourly = try CronSchedule.parse("@hourly")
        #expect(hourly.nextFire(after: utc(2026, 1, 1, 10, 0), in: z) == utc(2026, 1, 1, 11))
        #expect(hourly.text == "@hourly")
        #expect(try CronSchedule.parse("@weekly").nextFire(after: utc(2026, 1, 1), in: z) == utc(2026, 1, 4))   // a Sunday
        #expect(try CronSchedule.parse("@monthly").nextFire(after: utc(2026, 1, 1), in: z) == utc(2026, 2, 1))
        #expect(try CronSchedule.parse("@YEARLY").nextFire(after: utc(2026, 1, 1), in: z) == utc(2027, 1, 1))
        #expect(try CronSchedule.parse("@daily").nextFire(after: utc(2026, 1, 1, 0, 0, 1), in: z) == utc(2026, 1, 2))
        // Sunday is 0 and 7.
        #expect(try CronSchedule.parse("0 0 * * 7").nextFire(after: utc(2026, 1, 1), in: z) == utc(2026, 1, 4))
        #expect(try CronSchedule.parse("0 0 * * FRI-SUN").fires(after: utc(2026, 1, 1), count: 3, in: z)
            == [utc(2026, 1, 2), utc(2026, 1, 3), utc(2026, 1, 4)])
        #expect(try CronSchedule.parse("0 0 * * 5-7").fires(after: utc(2026, 1, 1), count: 3, in: z)
            == [utc(2026, 1, 2), utc(2026, 1, 3), utc(2026, 1, 4)])
    }

    @Test func sixFieldsPutSecondsFirstAsTheReplacedSystemsExamples() throws {
        // promotion.yaml: "0 0 10 * * 1", every Monday at 10:00.
        let s = try CronSchedule.parse("0 0 10 * * 1")
        #expect(s.fires(after: utc(2026, 1, 1), count: 2, in: .utc) == [utc(2026, 1, 5, 10), utc(2026, 1, 12, 10)])
        let everyTen = try CronSchedule.parse("*/10 * * * * *")
        #expect(everyTen.fires(after: utc(2026, 1, 1), count: 2, in: .utc) == [utc(2026, 1, 1, 0, 0, 10), utc(2026, 1, 1, 0, 0, 20)])
    }

    @Test func dayOfMonthAndDayOfWeekMatchEitherWhenBothAreRestricted() throws {
        // 2026-01-01 is a Thursday; Feb 1 a Sunday.
        let either = try CronSchedule.parse("0 0 1 * MON")
        #expect(either.fires(after: utc(2025, 12, 31, 12), count: 7, in: .utc)
            == [utc(2026, 1, 1), utc(2026, 1, 5), utc(2026, 1, 12), utc(2026, 1, 19), utc(2026, 1, 26), utc(2026, 2, 1), utc(2026, 2, 2)])
        // A day-of-month starting with * is unrestricted: both must match (odd days that are Mondays).
        let both = try CronSchedule.parse("0 0 */2 * MON")
        #expect(both.fires(after: utc(2025, 12, 31, 12), count: 3, in: .utc) == [utc(2026, 1, 5), utc(2026, 1, 19), utc(2026, 2, 9)])
        // Only the day-of-week restricted: Mondays only.
        let mondays = try CronSchedule.parse("0 0 ? * 1")
        #expect(mondays.nextFire(after: utc(2026, 1, 1), in: .utc) == utc(2026, 1, 5))
    }

    @Test func februaryTwentyNinthFiresInLeapYearsOnly() throws {
        let s = try CronSchedule.parse("0 12 29 2 *")
        #expect(s.fires(after: utc(2026, 1, 1), count: 2, in: .utc) == [utc(2028, 2, 29, 12), utc(2032, 2, 29, 12)])
        // 2100 is not a leap year: from 2096 the next is 2104.
        #expect(s.nextFire(after: utc(2096, 3, 1), in: .utc) == utc(2104, 2, 29, 12))
        // Both day fields restricted: any Sunday of February, or February 29.
        let sundayOrLeap = try CronSchedule.parse("0 0 29 2 SUN")
        #expect(sundayOrLeap.fires(after: utc(2028, 2, 26), count: 3, in: .utc) == [utc(2028, 2, 27), utc(2028, 2, 29), utc(2029, 2, 4)])
    }
}
