using NodeAgent.Agent.Config;
using NodeAgent.Agent.Metrics;
using NodeAgent.Agent.Plans;
using NodeAgent.Agent.Runtime;
using NodeAgent.Agent.S3;
using NodeAgent.Agent.Snapshots;

namespace NodeAgent.Agent.NodeSnapshots;

/// <summary>A daemon save: the saved snapshot (or why it was skipped) and what came of its S3 copy.</summary>
internal sealed record DaemonSave(SnapshotSaveResult Result, UploadReport? Upload);

/// <summary>
/// What the daemon does with snapshots, for the plan's instructions and the schedule alike: save
/// (uploading alongside when the target names S3, then catching up earlier failed uploads), prune
/// and delete, locally and in S3; the inventory is reported after every change.
/// </summary>
internal sealed partial class NodeSnapshotService(
    SnapshotTargets targets,
    SnapshotSaver saver,
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
        var uploads = upload ? targets.Uploads : null;
        if (upload && uploads is null)
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
        var preflightFailure = uploads is null ? null : await uploads.PreflightAsync(cancellationToken);
        var started = time.GetUtcNow();
        SnapshotSaveResult result;
        try
        {
            result = await saver.SaveAsync(request, onProgress, cancellationToken, uploads?.TeeFor(request, preflightFailure));
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
        metrics.SaveEnded(result.Skipped ? "skipped" : "succeeded", started, time.GetUtcNow(), result.Metadata?.SizeBytes ?? 0);
        if (result.Skipped)
        {
            return new DaemonSave(result, null);
        }
        LogSaved(logger, result.Metadata!.Name, result.Metadata.SizeBytes);
        if (uploads is null)
        {
            return new DaemonSave(result, null);
        }
        var report = await uploads.FinishAsync(result, preflightFailure, cancellationToken);
        metrics.UploadEnded(report.Succeeded, started, time.GetUtcNow());
        if (report.Succeeded)
        {
            await UploadPendingAsync(uploads, cancellationToken);
        }
        else
        {
            LogUploadFailed(logger, result.Metadata.Name, report.Failure!);
        }
        inventory.Changed();
        return new DaemonSave(result, report);
    }

    /// <summary>Retention for one prefix: locally, and in S3 in the target's scope. Returns one line per snapshot deleted (or kept by Object Lock).</summary>
    public async Task<IReadOnlyList<string>> PruneAsync(string prefix, int retention, CancellationToken cancellationToken)
    {
        var target = RequireTarget();
        var lines = new List<string>();
        var local = new LocalSnapshotStore(target.Directory, identity.Node);
        if (Directory.Exists(local.Directory))
        {
            lines.AddRange(local.Prune(prefix, retention).Select(n => $"{n} deleted"));
        }
        if (targets.Uploads is { } uploads)
        {
            var s3 = uploads.Store;
            foreach (var (o, deleted) in await s3.PruneAsync(prefix, retention, target.ClusterRetentionScope ? null : identity.Node, cancellationToken))
            {
                lines.Add($"{o.Name} {deleted.Describe(o.Location(s3.Settings.Bucket))}");
            }
        }
        foreach (var line in lines)
        {
            LogPruned(logger, line);
        }
        if (lines.Count > 0)
        {
            inventory.Changed();
        }
        return lines;
    }

    /// <summary>
    /// Deletes a snapshot's local copy (with its sidecar) and its S3 copy. A node that has neither
    /// has nothing to do: a delete goes to every etcd node, and only one took the snapshot.
    /// </summary>
    public async Task<(IReadOnlyList<string> Lines, bool Locked)> DeleteAsync(string name, CancellationToken cancellationToken)
    {
        SnapshotNames.ValidateFileName(name);
        var target = RequireTarget();
        var lines = new List<string>();
        var locked = false;
        var local = new LocalSnapshotStore(target.Directory, identity.Node);
        if (File.Exists(Path.Combine(local.Directory, name)))
        {
            local.Delete([name]);
            lines.Add($"deleted {Path.Combine(local.Directory, name)}");
        }
        if (targets.Uploads is { } uploads)
        {
            var s3 = uploads.Store;
            var deleted = await s3.DeleteAsync(name, cancellationToken);
            if (deleted.Outcome != S3DeleteOutcome.NotFound)
            {
                lines.Add(deleted.Describe($"s3://{s3.Settings.Bucket}/{s3.Settings.KeyOf(name)}"));
                locked = deleted.Outcome == S3DeleteOutcome.Locked;
            }
        }
        if (lines.Count > 0)
        {
            inventory.Changed();
        }
        return (lines, locked);
    }

    /// <summary>After a scheduled save: catches up uploads even when the save itself was skipped.</summary>
    public async Task UploadPendingAsync(CancellationToken cancellationToken)
    {
        if (targets.Uploads is { } uploads)
        {
            await UploadPendingAsync(uploads, cancellationToken);
        }
    }

    private async Task UploadPendingAsync(SnapshotUploads uploads, CancellationToken cancellationToken)
    {
        var reports = await uploads.UploadPendingAsync(identity.Node, cancellationToken);
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
