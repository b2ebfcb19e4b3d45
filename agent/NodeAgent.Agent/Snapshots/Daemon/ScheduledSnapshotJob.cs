using NodeAgent.Agent.Schedule;
using NodeAgent.Agent.Snapshots;

namespace NodeAgent.Agent.Snapshots.Daemon;

/// <summary>
/// A scheduled run: save under the recurring name (uploading when the plan names S3), then prune
/// that name to the retention, locally and in S3. A run also uploads snapshots whose upload failed
/// earlier, so S3 catches up at the next tick after it is back.
/// </summary>
internal sealed class ScheduledSnapshotJob(NodeSnapshotService snapshots, SnapshotTargets targets) : IScheduledSnapshotJob
{
    public async Task RunAsync(ScheduleSettings settings, CancellationToken cancellationToken)
    {
        var save = await snapshots.SaveAsync(settings.NamePrefix, settings.Compress, upload: targets.HasS3, null, cancellationToken);
        if (save.Result.Skipped)
        {
            await snapshots.UploadPendingAsync(cancellationToken);
            return;
        }
        await snapshots.PruneAsync(settings.NamePrefix, settings.Retention, cancellationToken);
        if (save.Upload is { Succeeded: false } failed)
        {
            throw new SnapshotRequestException($"snapshot {failed.Name} was saved, but its upload failed: {failed.Failure}");
        }
    }
}

/// <summary>Applies the steady state's schedule (after <see cref="SnapshotTargets"/> has taken the plan in).</summary>
internal sealed class SteadyStateSchedule(SnapshotTargets targets, RecurringSnapshots schedule) : Plans.ISteadyStateHandler
{
    public Task ApplyAsync(Contracts.V1.SteadyStatePlan steadyState, CancellationToken cancellationToken)
    {
        schedule.Apply(targets.Target?.Schedule);
        return Task.CompletedTask;
    }
}
