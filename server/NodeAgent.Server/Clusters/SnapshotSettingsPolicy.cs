using Cronos;
using NodeAgent.Contracts.V1;
using NodeAgent.Server.Errors;

namespace NodeAgent.Server.Clusters;

/// <summary>Defaults (Rancher's) and validation of a cluster's snapshot settings.</summary>
internal static class SnapshotSettingsPolicy
{
    public const string DefaultCron = "0 */5 * * *";
    public const int DefaultRetention = 5;
    public const string DefaultName = "etcd-snapshot";

    /// <summary>A copy with every unset field at its default; throws when a value is invalid.</summary>
    public static SnapshotSettings Normalize(SnapshotSettings? requested)
    {
        var settings = requested?.Clone() ?? new SnapshotSettings();
        if (!settings.HasRecurringEnabled)
        {
            settings.RecurringEnabled = true;
        }
        if (!settings.HasRetention)
        {
            settings.Retention = DefaultRetention;
        }
        if (string.IsNullOrWhiteSpace(settings.Cron))
        {
            settings.Cron = DefaultCron;
        }
        if (string.IsNullOrEmpty(settings.Name))
        {
            settings.Name = DefaultName;
        }

        ValidateCron(settings.Cron);
        if (settings.TimeZone.Length > 0 && !TimeZoneInfo.TryFindSystemTimeZoneById(settings.TimeZone, out _))
        {
            throw DomainException.Invalid($"snapshot_settings.time_zone '{settings.TimeZone}' is not a known IANA time zone (e.g. 'Europe/Berlin', 'UTC')");
        }
        if (settings.Retention < 0)
        {
            throw DomainException.Invalid($"snapshot_settings.retention must be 0 (keep all) or more, not {settings.Retention}");
        }
        Names.RequireSnapshotPrefix(settings.Name, "snapshot_settings.name");
        if (settings.Dir.Length > 0 && !Path.IsPathFullyQualified(settings.Dir))
        {
            throw DomainException.Invalid($"snapshot_settings.dir '{settings.Dir}' must be an absolute path");
        }
        if (settings.S3 is { } s3)
        {
            S3SettingsPolicy.Validate(s3);
        }
        return settings;
    }

    private static void ValidateCron(string cron)
    {
        try
        {
            CronExpression.Parse(cron, CronFormat.Standard);
        }
        catch (CronFormatException ex)
        {
            throw DomainException.Invalid($"snapshot_settings.cron '{cron}' is not a 5-field cron expression: {ex.Message}");
        }
    }
}
