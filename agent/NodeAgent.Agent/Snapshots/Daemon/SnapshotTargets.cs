using NodeAgent.Agent.Plans;
using NodeAgent.Agent.S3;
using NodeAgent.Agent.Snapshots;
using NodeAgent.Contracts.V1;
using AgentOptions = NodeAgent.Agent.Config.AgentOptions;

namespace NodeAgent.Agent.Snapshots.Daemon;

/// <summary>
/// Follows the steady state's snapshot settings: the current <see cref="SnapshotTarget"/> and, when
/// it names S3, its store. A changed S3 target gets a preflight at once, so a bucket the node cannot
/// write to is in the log when the setting changes, not at the next 5 a.m. save; that preflight
/// belongs to the target (cancelled and awaited when the target changes or the agent stops), and
/// the target's S3 client is disposed once the last user of it is done.
/// </summary>
internal sealed partial class SnapshotTargets(AgentOptions options, AgentIdentity identity, TimeProvider time, ILoggerFactory loggers)
    : ISteadyStateHandler, IAsyncDisposable
{
    private readonly ILogger _logger = loggers.CreateLogger<SnapshotTargets>();
    private readonly Lock _gate = new();
    private Current? _current;

    /// <summary>The settings in force; null until the first plan, or while the plan's settings are unusable.</summary>
    public SnapshotTarget? Target => _current?.Target;

    /// <summary>Whether the target names S3.</summary>
    public bool HasS3 => _current?.S3 is not null;

    /// <summary>Why the plan's snapshot settings cannot be used, when they cannot.</summary>
    public string? Problem { get; private set; }

    /// <summary>Raised after the target changed.</summary>
    public event Action? Changed;

    /// <summary>
    /// A hold on the current S3 target's store, null when the target names none. The store stays
    /// open until the lease is disposed, even when the target changes meanwhile.
    /// </summary>
    public S3Lease? AcquireS3()
    {
        lock (_gate)
        {
            return _current?.S3?.TryAcquire();
        }
    }

    public async Task ApplyAsync(SteadyStatePlan steadyState, CancellationToken cancellationToken)
    {
        Current? previous;
        Current? next;
        bool reused;
        try
        {
            var target = SnapshotTarget.From(steadyState, identity.Cluster, options);
            previous = _current;
            if (previous is not null && previous.Target == target)
            {
                return;
            }
            reused = previous is not null && previous.Target.S3 == target.S3 && previous.Target.Directory == target.Directory;
            next = new Current(target, reused ? previous!.S3 : OpenS3(target));
        }
        catch (SnapshotRequestException ex)
        {
            reused = false;
            previous = _current;
            next = null;
            Problem = ex.Message;
            LogUnusable(_logger, ex.Message);
        }
        lock (_gate)
        {
            _current = next;
        }
        if (next is not null)
        {
            Problem = null;
            LogApplied(_logger, next.Target.Directory, (object?)next.Target.Schedule ?? "off", (object?)next.Target.S3 ?? "none");
            if (!reused && next.S3 is { } s3)
            {
                // Not awaited here (an S3 that is away must not hold up the plan; each save checks again
                // anyway), but owned: cancelled and awaited before the target's store is let go.
                s3.StartPreflight(PreflightAsync);
            }
        }
        if (!reused && previous?.S3 is { } retired)
        {
            await retired.RetireAsync();
        }
        Changed?.Invoke();
    }

    /// <summary>Stops the current target's preflight and lets its store go (disposed once no lease holds it).</summary>
    public async ValueTask DisposeAsync()
    {
        Current? current;
        lock (_gate)
        {
            current = _current;
            _current = null;
        }
        if (current?.S3 is { } s3)
        {
            await s3.RetireAsync();
        }
    }

    private async Task PreflightAsync(IS3SnapshotStore store, CancellationToken cancellationToken)
    {
        try
        {
            if (await SnapshotManager.PreflightAsync(store, cancellationToken) is { } failure)
            {
                LogPreflightFailed(_logger, failure);
            }
            else
            {
                LogPreflightPassed(_logger, store.Target);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private S3TargetHandle? OpenS3(SnapshotTarget target)
    {
        if (target.S3 is not { } s3)
        {
            return null;
        }
        return new S3TargetHandle(new S3SnapshotStore(S3ClientFactory.Create(s3), s3, S3Retry.Default.Build(time, s3.Timeout), time, loggers.CreateLogger<S3SnapshotStore>(),
            MultipartJournal.ForSnapshotDir(target.Directory)));
    }

    private sealed record Current(SnapshotTarget Target, S3TargetHandle? S3);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Information, Message = "S3 target {Target} passed its preflight")]
    private static partial void LogPreflightPassed(ILogger logger, string target);

    [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "Snapshots: dir {Directory}, schedule {Schedule}, S3 {S3}")]
    private static partial void LogApplied(ILogger logger, string directory, object schedule, object s3);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Error, Message = "The plan's snapshot settings cannot be used: {Problem}")]
    private static partial void LogUnusable(ILogger logger, string problem);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Error, Message = "S3 target failed its preflight: {Failure}; snapshots are kept locally and uploaded once it passes")]
    private static partial void LogPreflightFailed(ILogger logger, string failure);
}

/// <summary>One hold on an S3 target's store (see <see cref="SnapshotTargets.AcquireS3"/>); dispose it when done.</summary>
internal sealed class S3Lease(IS3SnapshotStore store, Action release) : IDisposable
{
    private int _released;

    public IS3SnapshotStore Store => store;

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _released, 1) == 0)
        {
            release();
        }
    }
}

/// <summary>
/// An S3 target's store with its holders counted: the target holds it until retired, each
/// <see cref="S3Lease"/> until disposed; the last to let go disposes the store and its client.
/// </summary>
internal sealed class S3TargetHandle(IS3SnapshotStore store) : IDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private int _holds = 1;
    private Task _preflight = Task.CompletedTask;

    public S3Lease? TryAcquire()
    {
        int holds;
        do
        {
            holds = Volatile.Read(ref _holds);
            if (holds == 0)
            {
                return null;
            }
        }
        while (Interlocked.CompareExchange(ref _holds, holds + 1, holds) != holds);
        return new S3Lease(store, Release);
    }

    public void StartPreflight(Func<IS3SnapshotStore, CancellationToken, Task> preflight) => _preflight = preflight(store, _stop.Token);

    /// <summary>The target is no longer current: its preflight is cancelled and awaited, then the target's own hold goes.</summary>
    public async Task RetireAsync()
    {
        await _stop.CancelAsync();
        await _preflight;
        Release();
    }

    /// <summary>Disposes the store and its client; only the last holder's release calls it.</summary>
    public void Dispose()
    {
        store.Dispose();
        _stop.Dispose();
    }

    private void Release()
    {
        if (Interlocked.Decrement(ref _holds) == 0)
        {
            Dispose();
        }
    }
}
