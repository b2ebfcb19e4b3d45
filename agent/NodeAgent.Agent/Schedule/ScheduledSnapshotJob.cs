using NodeAgent.Agent.Snapshots;

namespace NodeAgent.Agent.Schedule;

/// <summary>A scheduled run: save under the recurring name, then prune that name to the retention.</summary>
internal sealed partial class ScheduledSnapshotJob(SnapshotSaver saver, Func<ScheduleSettings, SnapshotSaveRequest> request, ILogger<ScheduledSnapshotJob> logger)
    : IScheduledSnapshotJob
{
    public async Task RunAsync(ScheduleSettings settings, CancellationToken cancellationToken)
    {
        var saveRequest = request(settings);
        var result = await saver.SaveAsync(saveRequest, null, cancellationToken);
        if (result.Skipped)
        {
            return;
        }
        var pruned = new LocalSnapshotStore(saveRequest.Directory, saveRequest.NodeName).Prune(settings.NamePrefix, settings.Retention);
        foreach (var name in pruned)
        {
            LogPruned(logger, name, settings.Retention);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Pruned snapshot {Name} (retention {Retention})")]
    private static partial void LogPruned(ILogger logger, string name, int retention);
}
