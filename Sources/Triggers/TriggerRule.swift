import Diagnostics

/// Rule ids of the Triggers layer's diagnostics.
public enum TriggerRule {
    /// A cron schedule that cannot be parsed or can never fire.
    public static let cronSchedule = "cron-schedule"
    /// A time zone that is not an IANA name or is not installed.
    public static let timezone = "trigger-timezone"

    public static let all: [RuleDescription] = [
        RuleDescription(id: cronSchedule, summary: "a cron schedule must have 5 fields (or 6 with seconds first) that can match a date", defaultSeverity: .error),
        RuleDescription(id: timezone, summary: "a trigger's timezone must be an installed IANA time zone", defaultSeverity: .error),
    ]
}
