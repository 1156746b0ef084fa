import Testing
import Triggers

/// Daylight-saving transitions in 2026:
/// Europe/Berlin    spring 2026-03-29 01:00Z (02:00 CET -> 03:00 CEST), autumn 2026-10-25 01:00Z (03:00 CEST -> 02:00 CET)
/// America/New_York spring 2026-03-08 07:00Z (02:00 EST -> 03:00 EDT), autumn 2026-11-01 06:00Z (02:00 EDT -> 01:00 EST)
@Suite struct CronDaylightSavingTests {
    @Test func zoneOffsetsFollowTheDatabase() throws {
        let berlin = try zone("Europe/Berlin")
        #expect(berlin.utcOffset(at: utc(2026, 3, 29, 0, 59, 59)) == 3600)
        #expect(berlin.utcOffset(at: utc(2026, 3, 29, 1)) == 7200)
        #expect(berlin.utcOffset(at: utc(2026, 10, 25, 0, 59, 59)) == 7200)
        #expect(berlin.utcOffset(at: utc(2026, 10, 25, 1)) == 3600)
        #expect(berlin.format(utc(2026, 3, 29, 1)) == "2026-03-29T03:00:00+02:00")
        let newYork = try zone("America/New_York")
        #expect(newYork.utcOffset(at: utc(2026, 1, 15)) == -18_000)
        #expect(newYork.utcOffset(at: utc(2026, 7, 15)) == -14_400)
        #expect(newYork.format(utc(2026, 11, 1, 6)) == "2026-11-01T01:00:00-05:00")
        // Past the file's last transition (2037) the footer rule decides: last Sunday of March 2040 is the 25th.
        #expect(berlin.utcOffset(at: utc(2040, 3, 25, 0, 59)) == 3600)
        #expect(berlin.utcOffset(at: utc(2040, 3, 25, 1)) == 7200)
        #expect(berlin.utcOffset(at: utc(2040, 10, 28, 1)) == 3600)
        #expect(newYork.utcOffset(at: utc(2045, 3, 12, 6, 59)) == -18_000)   // second Sunday of March 2045
        #expect(newYork.utcOffset(at: utc(2045, 3, 12, 7)) == -14_400)
    }

    @Test func resolvesSkippedAndRepeatedWallTimes() throws {
        let berlin = try zone("Europe/Berlin")
        #expect(berlin.resolve(CivilTime(year: 2026, month: 3, day: 29, hour: 2, minute: 30)) == .skipped(gapEnd: utc(2026, 3, 29, 1)))
        #expect(berlin.resolve(CivilTime(year: 2026, month: 10, day: 25, hour: 2, minute: 30))
            == .repeated(first: utc(2026, 10, 25, 0, 30), second: utc(2026, 10, 25, 1, 30)))
        #expect(berlin.resolve(CivilTime(year: 2026, month: 7, day: 1, hour: 12)) == .unique(utc(2026, 7, 1, 10)))
    }

    @Test func dailyAtHalfPastTwoInBerlin() throws {
        let berlin = try zone("Europe/Berlin")
        let s = try CronSchedule.parse("30 2 * * *")
        // Spring: the skipped 02:30 fires once at 03:00 CEST, the first instant after the gap.
        #expect(s.fires(after: utc(2026, 3, 27, 12), count: 3, in: berlin)
            == [utc(2026, 3, 28, 1, 30), utc(2026, 3, 29, 1, 0), utc(2026, 3, 30, 0, 30)])
        // Autumn: the repeated 02:30 fires once, at its first (CEST) occurrence.
        #expect(s.fires(after: utc(2026, 10, 23, 12), count: 3, in: berlin)
            == [utc(2026, 10, 24, 0, 30), utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)])
        // Asked from inside the repetition (02:45 CET, the second pass), nothing fires again that night.
        #expect(s.nextFire(after: utc(2026, 10, 25, 1, 45), in: berlin) == utc(2026, 10, 26, 1, 30))
    }

    @Test func dailyAtHalfPastTwoInNewYork() throws {
        let newYork = try zone("America/New_York")
        let s = try CronSchedule.parse("30 2 * * *")
        #expect(s.fires(after: utc(2026, 3, 6, 12), count: 3, in: newYork)
            == [utc(2026, 3, 7, 7, 30), utc(2026, 3, 8, 7, 0), utc(2026, 3, 9, 6, 30)])
        // In New York the repeated hour is 01:00-01:59, so 02:30 exists once on the autumn night.
        #expect(s.fires(after: utc(2026, 10, 30, 12), count: 3, in: newYork)
            == [utc(2026, 10, 31, 6, 30), utc(2026, 11, 1, 7, 30), utc(2026, 11, 2, 7, 30)])
        let oneThirty = try CronSchedule.parse("30 1 * * *")
        #expect(oneThirty.fires(after: utc(2026, 10, 31, 12), count: 2, in: newYork) == [utc(2026, 11, 1, 5, 30), utc(2026, 11, 2, 6, 30)])
    }

    @Test func everyFifteenMinutesInBerlin() throws {
        let berlin = try zone("Europe/Berlin")
        let s = try CronSchedule.parse("*/15 * * * *")
        // Spring: 01:45 CET, then the skipped 02:00-02:45 and 03:00 CEST fire once together at 01:00Z.
        #expect(s.fires(after: utc(2026, 3, 29, 0, 40), count: 3, in: berlin)
            == [utc(2026, 3, 29, 0, 45), utc(2026, 3, 29, 1, 0), utc(2026, 3, 29, 1, 15)])
        // Autumn: 02:00-02:45 fire in the CEST pass only; after 02:45 CEST the next is 03:00 CET.
        #expect(s.fires(after: utc(2026, 10, 25, 0, 25), count: 3, in: berlin)
            == [utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 0, 45), utc(2026, 10, 25, 2, 0)])
        #expect(s.nextFire(after: utc(2026, 10, 25, 1, 10), in: berlin) == utc(2026, 10, 25, 2, 0))
    }

    @Test func everyFifteenMinutesInNewYork() throws {
        let newYork = try zone("America/New_York")
        let s = try CronSchedule.parse("*/15 * * * *")
        #expect(s.fires(after: utc(2026, 3, 8, 6, 40), count: 3, in: newYork)
            == [utc(2026, 3, 8, 6, 45), utc(2026, 3, 8, 7, 0), utc(2026, 3, 8, 7, 15)])
        #expect(s.fires(after: utc(2026, 11, 1, 5, 40), count: 3, in: newYork)
            == [utc(2026, 11, 1, 5, 45), utc(2026, 11, 1, 7, 0), utc(2026, 11, 1, 7, 15)])
    }

    @Test func unknownZonesAreRefusedWithWhatToDo() {
        #expect(throws: TimeZoneError.self) { try TimeZoneRules.load("Mars/Olympus_Mons") }
        #expect(throws: TimeZoneError.self) { try TimeZoneRules.load("../../etc/passwd") }
        #expect(throws: TimeZoneError.self) { try TimeZoneRules.load("") }
        #expect((try? TimeZoneRules.load("UTC"))?.utcOffset(at: utc(2026, 7, 1)) == 0)
        do {
            _ = try TimeZoneRules.load("Europe/Berln")
        } catch {
            #expect(error.description.contains("invalid timezone 'Europe/Berln'"))
            #expect(error.diagnostic.rule == TriggerRule.timezone)
        }
    }
}

@Suite struct CronCatchUpTests {
    @Test func missedFiresCatchUpOnceAndSaySoHowMany() throws {
        let s = try CronSchedule.parse("* * * * *")
        let result = s.catchUp(lastFired: utc(2026, 5, 1, 10, 0), now: utc(2026, 5, 1, 10, 5, 30), in: .utc)
        #expect(result.missed == 5)
        #expect(!result.missedCountIsLowerBound)
        #expect(result.firesNow)
        #expect(result.catchUpScheduledAt == utc(2026, 5, 1, 10, 5))
        #expect(result.nextFire == utc(2026, 5, 1, 10, 6))
    }

    @Test func nothingMissedMeansNoCatchUp() throws {
        let s = try CronSchedule.parse("0 3 * * 1")
        let result = s.catchUp(lastFired: utc(2026, 5, 4, 3), now: utc(2026, 5, 10, 12), in: .utc)
        #expect(result.missed == 0)
        #expect(!result.firesNow)
        #expect(result.catchUpScheduledAt == nil)
        #expect(result.nextFire == utc(2026, 5, 11, 3))
    }

    @Test func countingStopsAtTheLimitButTheCatchUpIsTheLatestMissed() throws {
        let s = try CronSchedule.parse("* * * * *")
        let result = s.catchUp(lastFired: utc(2026, 5, 1, 10, 0), now: utc(2026, 5, 3, 7, 30, 10), in: .utc, countLimit: 100)
        #expect(result.missed == 100)
        #expect(result.missedCountIsLowerBound)
        #expect(result.catchUpScheduledAt == utc(2026, 5, 3, 7, 30))
    }

    @Test func aManualClockDrivesTheSchedule() throws {
        let clock = ManualClock(utc(2026, 5, 1, 9, 59, 30))
        let s = try CronSchedule.parse("* * * * *")
        let first = s.nextFire(after: clock.now(), in: .utc)
        #expect(first == utc(2026, 5, 1, 10, 0))
        clock.advance(seconds: 30)
        #expect(clock.now() == utc(2026, 5, 1, 10, 0))
        #expect(s.nextFire(after: clock.now(), in: .utc) == utc(2026, 5, 1, 10, 1))
        let real = SystemClock().now()
        #expect(real > utc(2024, 1, 1))
    }
}
