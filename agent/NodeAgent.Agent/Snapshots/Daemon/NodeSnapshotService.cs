using NodeAgent.Agent.Config;
using NodeAgent.Agent.Metrics;
using NodeAgent.Agent.Plans;
using NodeAgent.Agent.Runtime;
using NodeAgent.Agent.Snapshots;

namespace NodeAgent.Agent.Snapshots.Daemon;

/// <summary>A daemon save: the saved snapshot (or why it was skipped) and what came of its S3 copy.</summary>
internal sealed record DaemonSave(SnapshotSaveResult Result, UploadReport? Upload);

/// <summary>
/// The daemon's side of the snapshot feature, for the plan's instructions and the schedule alike:
/// picks the stores from the node's <see cref="SnapshotTargets"/>, has <see cref="SnapshotManager"/>
/// do the work, and logs, counts and reports the inventory after every change.
/// </summary>
internal sealed partial class NodeSnapshotService(
    SnapshotTargets targets,
    SnapshotManager snapshots,
    InventoryReporter inventory,
    AgentIdentity identity,
    AgentOptions options,
    AgentMetrics metrics,
    ProcessRunner runner,
    TimeProvider time,
    ILogger<NodeSnapshotService> logger)
{
    /// <exception cref="SnapshotRequestException">No usable snapshot settings yet, or a bad name.</exception>
    public async Task<DaemonSave> SaveAsync(string prefix, bool compress, bool upload, Action<long, long>? onProgress, CancellationToken cancellationToken)
    {
        var target = RequireTarget();
        using var s3 = upload ? targets.AcquireS3() : null;
        if (upload && s3 is null)
        {
            throw new SnapshotRequestException("an upload was asked for, but this node's plan names no S3 target");
        }
        // K3s/RKE2: what the node really runs, not what the plan says (restore modes act on it).
        var record = await RuntimeRecord.CaptureAsync(target.Runtime, options.EffectiveRuntimeBinary, options.EffectiveRuntimeConfig, runner, quietWhenNotInstalled: false, cancellationToken);
        foreach (var problem in record.Problems)
        {
            LogNotRecorded(logger, problem);
        }
        var request = new SnapshotSaveRequest(target.Directory, prefix, identity.Node, compress)
        {
            Cluster = target.Cluster,
            Runtime = target.Runtime,
            KubernetesVersion = record.Version ?? target.KubernetesVersion,
            ClusterConfig = record.Configuration ?? target.ClusterConfiguration,
            TokenHash = TokenHash.FromDataDir(options.EffectiveDataDir),
        };
        var started = time.GetUtcNow();
        SnapshotSaveOutcome outcome;
        try
        {
            outcome = await snapshots.SaveAsync(request, Stores(target, s3), onProgress, cancellationToken);
        }
        catch
        {
            metrics.SaveEnded("failed", started, time.GetUtcNow(), 0);
            throw;
        }
        finally
        {
            inventory.Changed();
        }
        var result = outcome.Result;
        metrics.SaveEnded(result.Skipped ? "skipped" : "succeeded", started, outcome.SavedAt, result.Metadata?.SizeBytes ?? 0);
        if (result.Skipped)
        {
            return new DaemonSave(result, null);
        }
        LogSaved(logger, result.Metadata!.Name, result.Metadata.SizeBytes);
        if (outcome.Upload is not { } report)
        {
            return new DaemonSave(result, null);
        }
        metrics.UploadEnded(report.Succeeded, started, time.GetUtcNow());
        if (!report.Succeeded)
        {
            LogUploadFailed(logger, result.Metadata.Name, report.Failure!);
        }
        Report(outcome.CaughtUp);
        return new DaemonSave(result, report);
    }

    /// <summary>Retention for one prefix: locally, and in S3 in the target's scope. Returns one line per snapshot deleted (or kept by Object Lock).</summary>
    public async Task<IReadOnlyList<string>> PruneAsync(string prefix, int retention, CancellationToken cancellationToken)
    {
        var target = RequireTarget();
        using var s3 = targets.AcquireS3();
        var pruned = await SnapshotManager.PruneAsync(Stores(target, s3), prefix, retention, retention, target.ClusterRetentionScope ? null : identity.Node,
            missingDirIsEmpty: true, cancellationToken);
        var lines = pruned.Local.Select(n => $"{n} deleted")
            .Concat(pruned.S3.Select(x => $"{x.Object.Name} {x.Result.Describe(x.Object.Location(s3!.Store.Bucket))}"))
            .ToList();
        foreach (var line in lines)
        {
            LogPruned(logger, line);
        }
        if (lines.Count > 0)
        {
            inventory.Changed();
        }
        return pruned.S3Failure is { } failure ? throw new S3TargetException(failure) : lines;
    }

    /// <summary>
    /// Deletes a snapshot's local copy (with its sidecar) and its S3 copy. A node that has neither
    /// has nothing to do: a delete goes to every etcd node, and only one took the snapshot.
    /// </summary>
    public async Task<(IReadOnlyList<string> Lines, bool Locked)> DeleteAsync(string name, CancellationToken cancellationToken)
    {
        SnapshotNames.ValidateFileName(name);
        var target = RequireTarget();
        using var s3 = targets.AcquireS3();
        var stores = Stores(target, s3);
        var deleted = await SnapshotManager.DeleteAsync(stores, name, cancellationToken);
        var lines = new List<string>();
        if (deleted.LocalDeleted)
        {
            lines.Add($"deleted {Path.Combine(stores.Local.Directory, name)}");
        }
        if (deleted.S3 is { } remote)
        {
            lines.Add(remote.Describe(s3!.Store.LocationOf(name)));
        }
        if (lines.Count > 0)
        {
            inventory.Changed();
        }
        return deleted.S3Failure is { } failure ? throw new S3TargetException(failure) : (lines, deleted.S3?.Outcome == S3DeleteOutcome.Locked);
    }

    /// <summary>After a scheduled save: catches up uploads even when the save itself was skipped.</summary>
    public async Task UploadPendingAsync(CancellationToken cancellationToken)
    {
        if (targets.Target is not { } target)
        {
            return;
        }
        using var s3 = targets.AcquireS3();
        if (s3 is not null)
        {
            Report(await SnapshotManager.UploadPendingAsync(new LocalSnapshotStore(target.Directory, identity.Node), s3.Store, identity.Node, cancellationToken));
        }
    }

    /// <summary>Logs what came of the catch-up uploads.</summary>
    private void Report(IReadOnlyList<UploadReport> reports)
    {
        foreach (var report in reports)
        {
            if (report.Succeeded)
            {
                LogCaughtUp(logger, report.Name, report.Location!);
            }
            else
            {
                LogUploadFailed(logger, report.Name, report.Failure!);
            }
        }
        if (reports.Count > 0)
        {
            inventory.Changed();
        }
    }

    private SnapshotStores Stores(SnapshotTarget target, S3Lease? s3) => new(new LocalSnapshotStore(target.Directory, identity.Node), s3?.Store);

    private SnapshotTarget RequireTarget()
        => targets.Target ?? throw new SnapshotRequestException(targets.Problem is { } problem
            ? $"this node's snapshot settings cannot be used: {problem}"
            : "this node has no plan yet");

    [LoggerMessage(EventId = 3101, Level = LogLevel.Information, Message = "Saved snapshot {Name} ({Bytes} bytes)")]
    private static partial void LogSaved(ILogger logger, string name, long bytes);

    [LoggerMessage(EventId = 3102, Level = LogLevel.Warning, Message = "Upload of snapshot {Name} failed: {Failure}; the local snapshot is kept and uploaded on a later run")]
    private static partial void LogUploadFailed(ILogger logger, string name, string failure);

    [LoggerMessage(EventId = 3103, Level = LogLevel.Information, Message = "Snapshot {Name} uploaded after an earlier failure: {Location}")]
    private static partial void LogCaughtUp(ILogger logger, string name, string location);

    [LoggerMessage(EventId = 3105, Level = LogLevel.Warning, Message = "Snapshot save: {Problem}; the snapshot records the plan's value instead")]
    private static partial void LogNotRecorded(ILogger logger, string problem);

    [LoggerMessage(EventId = 3104, Level = LogLevel.Information, Message = "Retention: {What}")]
    private static partial void LogPruned(ILogger logger, string what);
}
