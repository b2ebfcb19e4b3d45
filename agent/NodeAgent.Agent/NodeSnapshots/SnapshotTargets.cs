using NodeAgent.Agent.Plans;
using NodeAgent.Agent.S3;
using NodeAgent.Agent.Snapshots;
using NodeAgent.Contracts.V1;
using AgentOptions = NodeAgent.Agent.Config.AgentOptions;

namespace NodeAgent.Agent.NodeSnapshots;

/// <summary>
/// Follows the steady state's snapshot settings: the current <see cref="SnapshotTarget"/> and, when
/// it names S3, the S3 side of saves. A changed S3 target gets a preflight at once, so a bucket
/// the node cannot write to is in the log when the setting changes, not at the next 5 a.m. save.
/// </summary>
internal sealed partial class SnapshotTargets(AgentOptions options, AgentIdentity identity, TimeProvider time, ILoggerFactory loggers)
    : ISteadyStateHandler
{
    private readonly ILogger _logger = loggers.CreateLogger<SnapshotTargets>();
    private volatile Current? _current;

    /// <summary>The settings in force; null until the first plan, or while the plan's settings are unusable.</summary>
    public SnapshotTarget? Target => _current?.Target;

    /// <summary>The S3 side of saves, when the target names S3.</summary>
    public SnapshotUploads? Uploads => _current?.Uploads;

    /// <summary>Why the plan's snapshot settings cannot be used, when they cannot.</summary>
    public string? Problem { get; private set; }

    /// <summary>Raised after the target changed.</summary>
    public event Action? Changed;

    public async Task ApplyAsync(SteadyStatePlan steadyState, CancellationToken cancellationToken)
    {
        Current next;
        bool reused;
        try
        {
            var target = SnapshotTarget.From(steadyState, identity.Cluster, options);
            var previous = _current;
            if (previous is not null && previous.Target == target)
            {
                return;
            }
            reused = previous is not null && previous.Target.S3 == target.S3 && previous.Target.Directory == target.Directory;
            next = new Current(target, reused ? previous!.Uploads : OpenUploads(target));
        }
        catch (SnapshotRequestException ex)
        {
            reused = false;
            Problem = ex.Message;
            _current = null;
            LogUnusable(_logger, ex.Message);
            Changed?.Invoke();
            return;
        }
        Problem = null;
        _current = next;
        LogApplied(_logger, next.Target.Directory, (object?)next.Target.Schedule ?? "off", (object?)next.Target.S3 ?? "none");
        if (!reused && next.Uploads is { } uploads)
        {
            // In the background: an S3 that is away must not hold up the plan (each save checks again anyway).
            _ = Task.Run(async () => await PreflightAsync(uploads, cancellationToken), CancellationToken.None);
        }
        Changed?.Invoke();
    }

    private async Task PreflightAsync(SnapshotUploads uploads, CancellationToken cancellationToken)
    {
        try
        {
            if (await uploads.PreflightAsync(cancellationToken) is { } failure)
            {
                LogPreflightFailed(_logger, failure);
            }
            else
            {
                LogPreflightPassed(_logger, uploads.Store.Settings);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private SnapshotUploads? OpenUploads(SnapshotTarget target)
    {
        if (target.S3 is not { } s3)
        {
            return null;
        }
        var store = new S3SnapshotStore(S3ClientFactory.Create(s3), s3, S3Retry.Default.Build(time, s3.Timeout), loggers.CreateLogger<S3SnapshotStore>(),
            MultipartJournal.ForSnapshotDir(target.Directory));
        return new SnapshotUploads(store, new LocalSnapshotStore(target.Directory, identity.Node));
    }

    [LoggerMessage(EventId = 3004, Level = LogLevel.Information, Message = "S3 target {Target} passed its preflight")]
    private static partial void LogPreflightPassed(ILogger logger, S3.S3Settings target);

    private sealed record Current(SnapshotTarget Target, SnapshotUploads? Uploads);

    [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "Snapshots: dir {Directory}, schedule {Schedule}, S3 {S3}")]
    private static partial void LogApplied(ILogger logger, string directory, object schedule, object s3);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Error, Message = "The plan's snapshot settings cannot be used: {Problem}")]
    private static partial void LogUnusable(ILogger logger, string problem);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Error, Message = "S3 target failed its preflight: {Failure}; snapshots are kept locally and uploaded once it passes")]
    private static partial void LogPreflightFailed(ILogger logger, string failure);
}
