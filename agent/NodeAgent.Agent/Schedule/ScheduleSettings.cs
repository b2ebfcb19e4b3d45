using Cronos;
using NodeAgent.Agent.Snapshots;

namespace NodeAgent.Agent.Schedule;

/// <summary>
/// The recurring snapshot schedule: a 5-field cron read in a time zone, the retention applied
/// after each scheduled save, and the most random delay added to each run so a fleet of nodes
/// does not hit etcd and S3 in the same second. Defaults are Rancher's: every 5 hours, keep 5.
/// </summary>
internal sealed record ScheduleSettings
{
    public const string DefaultCron = "0 */5 * * *";
    public const int DefaultRetention = 5;
    public static readonly TimeSpan DefaultMaxJitter = TimeSpan.FromSeconds(30);

    private ScheduleSettings(string cronText, CronExpression cron, TimeZoneInfo zone, int retention, string namePrefix, bool compress, TimeSpan maxJitter)
    {
        CronText = cronText;
        Cron = cron;
        Zone = zone;
        Retention = retention;
        NamePrefix = namePrefix;
        Compress = compress;
        MaxJitter = maxJitter;
    }

    public string CronText { get; }

    public CronExpression Cron { get; }

    public TimeZoneInfo Zone { get; }

    /// <summary>How many scheduled snapshots to keep; below 1 keeps all.</summary>
    public int Retention { get; }

    public string NamePrefix { get; }

    public bool Compress { get; }

    public TimeSpan MaxJitter { get; }

    /// <exception cref="SnapshotRequestException">A bad cron, time zone, name or jitter, with what is wrong.</exception>
    public static ScheduleSettings Create(
        string? cron = null, string? timeZone = null, int retention = DefaultRetention, string namePrefix = SnapshotNames.RecurringPrefix,
        bool compress = false, TimeSpan? maxJitter = null)
    {
        var text = string.IsNullOrWhiteSpace(cron) ? DefaultCron : cron.Trim();
        CronExpression expression;
        try
        {
            expression = CronExpression.Parse(text, CronFormat.Standard);
        }
        catch (CronFormatException ex)
        {
            throw new SnapshotRequestException($"snapshot schedule \"{text}\" is not a 5-field cron expression (minute hour day-of-month month day-of-week): {ex.Message}");
        }
        TimeZoneInfo zone;
        try
        {
            zone = string.IsNullOrWhiteSpace(timeZone) ? TimeZoneInfo.Local : TimeZoneInfo.FindSystemTimeZoneById(timeZone.Trim());
        }
        catch (Exception ex) when (ex is TimeZoneNotFoundException or InvalidTimeZoneException)
        {
            throw new SnapshotRequestException($"snapshot schedule time zone \"{timeZone}\" is unknown (use an IANA name such as Europe/Berlin or UTC)");
        }
        SnapshotNames.ValidatePart(namePrefix, "snapshot name");
        var jitter = maxJitter ?? DefaultMaxJitter;
        if (jitter < TimeSpan.Zero || jitter > TimeSpan.FromMinutes(10))
        {
            throw new SnapshotRequestException($"snapshot schedule jitter {jitter} must be between 0 and 10 minutes");
        }
        return new ScheduleSettings(text, expression, zone, retention, namePrefix, compress, jitter);
    }

    public bool Equals(ScheduleSettings? other)
        => other is not null && CronText == other.CronText && Zone.Id == other.Zone.Id && Retention == other.Retention
            && NamePrefix == other.NamePrefix && Compress == other.Compress && MaxJitter == other.MaxJitter;

    public override int GetHashCode() => HashCode.Combine(CronText, Zone.Id, Retention, NamePrefix, Compress, MaxJitter);

    public override string ToString() => $"\"{CronText}\" ({Zone.Id}), retention {Retention}";
}
