using System.Collections.Concurrent;

namespace NodeAgent.Server.Plans;

/// <summary>
/// Wakes the long-polls of a cluster's agents when anything their plans derive from changes.
/// Take the change task before reading state, so no change between the read and the wait is lost.
/// </summary>
internal sealed class PlanChangeNotifier
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _signals = new(StringComparer.Ordinal);

    /// <summary>Completes at the next change of <paramref name="cluster"/>'s plans.</summary>
    public Task NextChange(string cluster)
        => _signals.GetOrAdd(cluster, static _ => NewSignal()).Task;

    public void Changed(string cluster)
    {
        if (_signals.TryRemove(cluster, out var signal))
        {
            signal.TrySetResult();
        }
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
