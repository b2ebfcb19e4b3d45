namespace NodeAgent.Agent.Schedule;

/// <summary>What the schedule runs at each tick.</summary>
internal interface IScheduledSnapshotJob
{
    Task RunAsync(ScheduleSettings settings, CancellationToken cancellationToken);
}
