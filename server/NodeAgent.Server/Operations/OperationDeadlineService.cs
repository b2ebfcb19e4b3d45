namespace NodeAgent.Server.Operations;

/// <summary>
/// Resumes stored operations at start, then re-checks every active operation at a fixed
/// interval, so a silent node or a lost report still ends the phase at its deadline. Of several
/// replicas, only the elected one does (<see cref="IOperationLeadership"/>): a replica that
/// becomes leader resumes every active operation at its next tick.
/// </summary>
internal sealed partial class OperationDeadlineService(
    OperationEngine engine,
    IOperationLeadership leadership,
    OperationTimeouts timeouts,
    TimeProvider time,
    ILogger<OperationDeadlineService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(timeouts.CheckInterval, time);
        do
        {
            if (!leadership.IsLeader)
            {
                continue;
            }
            try
            {
                await engine.AdvanceAllAsync(stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // The next tick tries again; the failure is visible in the log meanwhile.
                LogCheckFailed(logger, ex);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    [LoggerMessage(EventId = 3101, Level = LogLevel.Error, Message = "Checking active operations failed")]
    private static partial void LogCheckFailed(ILogger logger, Exception exception);
}
