using System.Collections.Concurrent;

namespace NodeAgent.Server.Plans;

/// <summary>
/// Wakes waiters when something keyed by <typeparamref name="TKey"/> changes (a cluster's plans,
/// an operation). Take the change task before reading state, so no change between the read and
/// the wait is lost.
/// </summary>
internal class ChangeSignal<TKey>(TimeProvider time)
    where TKey : notnull
{
    private readonly ConcurrentDictionary<TKey, TaskCompletionSource<DateTimeOffset>> _signals = new();

    /// <summary>Completes at the next change of <paramref name="key"/>, with the time of the change.</summary>
    public Task<DateTimeOffset> NextChange(TKey key)
        => _signals.GetOrAdd(key, static _ => new TaskCompletionSource<DateTimeOffset>(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

    public void Changed(TKey key)
    {
        if (_signals.TryRemove(key, out var signal))
        {
            signal.TrySetResult(time.GetUtcNow());
        }
    }
}
