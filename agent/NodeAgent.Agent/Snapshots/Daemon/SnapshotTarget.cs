using NodeAgent.Agent.Config;
using NodeAgent.Agent.Schedule;
using NodeAgent.Agent.Snapshots;
using NodeAgent.Contracts.V1;
using ProtoS3 = NodeAgent.Contracts.V1.S3Settings;
using TargetLookup = NodeAgent.Agent.S3.BucketLookup;
using TargetS3 = NodeAgent.Agent.S3.S3Settings;

namespace NodeAgent.Agent.Snapshots.Daemon;

/// <summary>
/// Where and how this node keeps snapshots, as its steady-state plan says: the directory, the
/// recurring schedule (null when off), the S3 target (null when none), and the cluster facts
/// every snapshot's metadata records.
/// </summary>
internal sealed record SnapshotTarget(
    string Directory,
    ScheduleSettings? Schedule,
    int Retention,
    TargetS3? S3,
    bool ClusterRetentionScope,
    string Cluster,
    Contracts.V1.Runtime Runtime,
    string KubernetesVersion,
    string ClusterConfiguration)
{
    /// <exception cref="SnapshotRequestException">A setting the agent cannot use, named.</exception>
    public static SnapshotTarget From(SteadyStatePlan steadyState, string cluster, AgentOptions options)
    {
        var settings = steadyState.SnapshotSettings ?? new SnapshotSettings();
        var directory = settings.Dir.Length > 0 ? settings.Dir : Path.Combine(options.EffectiveDataDir, "server", "db", "snapshots");
        if (!Path.IsPathFullyQualified(directory))
        {
            throw new SnapshotRequestException($"snapshot dir \"{settings.Dir}\" must be an absolute path");
        }
        var retention = settings.HasRetention ? settings.Retention : ScheduleSettings.DefaultRetention;
        var enabled = !settings.HasRecurringEnabled || settings.RecurringEnabled;
        var schedule = enabled
            ? ScheduleSettings.Create(settings.Cron, settings.TimeZone, retention, settings.Name.Length > 0 ? settings.Name : SnapshotNames.RecurringPrefix, settings.Compress)
            : null;
        return new SnapshotTarget(directory, schedule, retention, settings.S3 is { } s3 ? ToS3(s3) : null,
            settings.S3?.RetentionScope == RetentionScope.Cluster, cluster, steadyState.Runtime.Name() is null ? options.Runtime : steadyState.Runtime,
            steadyState.KubernetesVersion, steadyState.ClusterConfiguration);
    }

    /// <summary>The plan's S3 target in the agent's terms; no keys means the SDK's default chain.</summary>
    public static TargetS3 ToS3(ProtoS3 s3)
    {
        var keys = s3.Credentials?.StaticKeys;
        return new TargetS3
        {
            Endpoint = s3.Endpoint.Length > 0 ? s3.Endpoint : TargetS3.DefaultEndpoint,
            Region = s3.Region.Length > 0 ? s3.Region : TargetS3.DefaultRegion,
            Bucket = s3.Bucket,
            Folder = s3.Folder,
            BucketLookup = s3.BucketLookup switch
            {
                Contracts.V1.BucketLookup.Path => TargetLookup.Path,
                Contracts.V1.BucketLookup.Dns => TargetLookup.Dns,
                _ => TargetLookup.Auto,
            },
            Insecure = s3.Insecure,
            SkipSslVerify = s3.SkipSslVerify,
            EndpointCa = s3.EndpointCa,
            EndpointCaOnly = s3.CaMode == CaMode.Replace,
            Proxy = s3.Proxy,
            Timeout = s3.Timeout is { } t && t.ToTimeSpan() > TimeSpan.Zero ? t.ToTimeSpan() : TimeSpan.FromMinutes(5),
            AccessKey = keys?.AccessKey ?? "",
            SecretKey = keys?.SecretKey ?? "",
            SessionToken = keys?.SessionToken ?? "",
        }.Validated();
    }
}
