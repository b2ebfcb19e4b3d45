using NodeAgent.Agent.Snapshots;

namespace NodeAgent.Agent.Schedule;

/// <summary>
/// Runs the scheduled snapshot job at each cron tick (plus a random jitter), on the injected
/// <see cref="TimeProvider"/>. A tick that comes while the previous run still goes is skipped
/// and logged, never queued. <see cref="Apply"/> changes or stops the schedule at any time; a run
/// in progress finishes. A failing run is logged and the schedule goes on.
/// </summary>
internal sealed partial class RecurringSnapshots(IScheduledSnapshotJob job, TimeProvider time, ILogger<RecurringSnapshots> logger) : IAsyncDisposable
{
    private readonly Lock _gate = new();
    private readonly CancellationTokenSource _lifetime = new();
    private ScheduleSettings? _settings;
    private CancellationTokenSource? _loopCancel;
    private Task _loop = Task.CompletedTask;
    private Task _run = Task.CompletedTask;
    private int _running;
    private int _skipped;

    /// <summary>Raised with the instant of the next run once its timer is set.</summary>
    public event Action<DateTimeOffset>? Scheduled;

    /// <summary>Raised after each run with its error, or null when it succeeded.</summary>
    public event Action<Exception?>? RunFinished;

    public ScheduleSettings? Settings => _settings;

    public DateTimeOffset? NextRunAt { get; private set; }

    /// <summary>Ticks skipped because a run was still going.</summary>
    public int Skipped => Volatile.Read(ref _skipped);

    /// <summary>Starts, changes (when different) or, with null, stops the schedule.</summary>
    public void Apply(ScheduleSettings? settings)
    {
        lock (_gate)
        {
            if (Equals(settings, _settings))
            {
                return;
            }
            _loopCancel?.Cancel();
            _loopCancel?.Dispose();
            _loopCancel = null;
            _settings = settings;
            NextRunAt = null;
            if (settings is null)
            {
                LogStopped(logger);
                return;
            }
            _loopCancel = CancellationTokenSource.CreateLinkedTokenSource(_lifetime.Token);
            var token = _loopCancel.Token;
            LogScheduled(logger, settings);
            _loop = Task.Run(() => LoopAsync(settings, token), CancellationToken.None);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _lifetime.CancelAsync();
        try
        {
            await Task.WhenAll(_loop, _run);
        }
        catch (OperationCanceledException)
        {
        }
        lock (_gate)
        {
            _loopCancel?.Dispose();
        }
        _lifetime.Dispose();
    }

    private async Task LoopAsync(ScheduleSettings settings, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            var now = time.GetUtcNow();
            var tick = settings.Cron.GetNextOccurrence(now, settings.Zone);
            if (tick is null)
            {
                LogNoMoreTicks(logger, settings.CronText);
                return;
            }
            var at = tick.Value + Jitter(settings.MaxJitter);
            // The timer is set before anyone is told the instant, so a test that advances fake time on
            // Scheduled cannot race it.
            var delay = WaitUntilAsync(at, cancellationToken);
            NextRunAt = at;
            Scheduled?.Invoke(at);
            try
            {
                await delay;
            }
            catch (OperationCanceledException)
            {
                return;
            }
            if (Interlocked.CompareExchange(ref _running, 1, 0) != 0)
            {
                Interlocked.Increment(ref _skipped);
                LogSkipped(logger, tick.Value);
                continue;
            }
            _run = RunAsync(settings);
        }
    }

    private async Task WaitUntilAsync(DateTimeOffset at, CancellationToken cancellationToken)
    {
        // Task.Delay takes at most ~49 days; a yearly cron waits in steps.
        var maxStep = TimeSpan.FromDays(30);
        for (var left = at - time.GetUtcNow(); left > TimeSpan.Zero; left = at - time.GetUtcNow())
        {
            await Task.Delay(left < maxStep ? left : maxStep, time, cancellationToken);
        }
    }

    private async Task RunAsync(ScheduleSettings settings)
    {
        Exception? error = null;
        try
        {
            await job.RunAsync(settings, _lifetime.Token);
        }
        catch (OperationCanceledException) when (_lifetime.IsCancellationRequested)
        {
            return;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            error = ex;
            LogRunFailed(logger, ex.Message, ex is SnapshotInProgressException ? null : ex);
        }
        finally
        {
            Volatile.Write(ref _running, 0);
        }
        RunFinished?.Invoke(error);
    }

    private static TimeSpan Jitter(TimeSpan max)
        => max <= TimeSpan.Zero ? TimeSpan.Zero : TimeSpan.FromMilliseconds(Random.Shared.NextDouble() * max.TotalMilliseconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Recurring snapshots scheduled: {Schedule}")]
    private static partial void LogScheduled(ILogger logger, ScheduleSettings schedule);

    [LoggerMessage(Level = LogLevel.Information, Message = "Recurring snapshots stopped")]
    private static partial void LogStopped(ILogger logger);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Skipped the scheduled snapshot of {Tick}: the previous one is still running")]
    private static partial void LogSkipped(ILogger logger, DateTimeOffset tick);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Snapshot schedule \"{Cron}\" has no future run")]
    private static partial void LogNoMoreTicks(ILogger logger, string cron);

    [LoggerMessage(Level = LogLevel.Error, Message = "Scheduled snapshot failed: {Message}")]
    private static partial void LogRunFailed(ILogger logger, string message, Exception? exception);
}
