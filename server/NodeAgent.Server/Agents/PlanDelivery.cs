using System.Collections.Concurrent;
using NodeAgent.Contracts.V1;
using NodeAgent.Server.Clusters;
using NodeAgent.Server.Domain;
using NodeAgent.Server.Errors;
using NodeAgent.Server.Metrics;
using NodeAgent.Server.Plans;
using NodeAgent.Server.Store;

namespace NodeAgent.Server.Agents;

/// <summary>
/// GetPlan's long-poll: answers at once when the node's plan differs from what the agent holds,
/// otherwise waits for a change of the cluster (or the wait to pass) and answers then. When a
/// change wakes every agent of a cluster at once, what their plans derive from (the cluster, its
/// active operation, its nodes) is read once for all of them: the reads are tied to the change
/// signal they were made under, and any write completes that signal, so no waiter keeps stale inputs.
/// </summary>
internal sealed class PlanDelivery(IPlanStore store, IOperationStore operations, PlanChangeNotifier notifier, ServerMetrics metrics, TimeProvider time)
{
    private readonly ConcurrentDictionary<string, ClusterInputs> _inputs = new(StringComparer.Ordinal);

    public static readonly TimeSpan DefaultWait = TimeSpan.FromSeconds(60);
    public static readonly TimeSpan MaxWait = TimeSpan.FromMinutes(5);

    public async Task<GetPlanResponse> GetPlanAsync(string cluster, string node, string knownChecksum, TimeSpan? wait, CancellationToken cancellationToken)
    {
        var deadline = time.GetUtcNow() + Clamp(wait);
        DateTimeOffset? wokenBy = null;
        while (true)
        {
            var change = notifier.NextChange(cluster);
            var plan = await PlanUnderAsync(change, cluster, node, cancellationToken);
            if (!string.Equals(plan.Checksum, knownChecksum, StringComparison.Ordinal))
            {
                if (wokenBy is { } changedAt)
                {
                    metrics.PlanDelivered(time.GetUtcNow() - changedAt);
                }
                return new GetPlanResponse { Plan = plan };
            }
            var left = deadline - time.GetUtcNow();
            if (left <= TimeSpan.Zero)
            {
                return new GetPlanResponse { Unchanged = true };
            }
            // Every connected agent sits here: one timer and one registration per waiting call (no
            // linked source, delay task or WhenAny), and a wait that passes ends without a throw.
            var woken = change.WaitAsync(left, time, cancellationToken);
            await ((Task)woken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            cancellationToken.ThrowIfCancellationRequested();
            if (!woken.IsCompletedSuccessfully)
            {
                return new GetPlanResponse { Unchanged = true };
            }
            wokenBy = woken.Result;
        }
    }

    public async Task<Plan> CurrentPlanAsync(string cluster, string node, CancellationToken cancellationToken)
    {
        var clusterRecord = await store.GetClusterAsync(cluster, cancellationToken)
            ?? throw DomainException.NotFound($"cluster '{cluster}' does not exist");
        var nodeRecord = await store.GetNodeAsync(cluster, node, cancellationToken)
            ?? throw DomainException.NotFound($"node '{node}' is not registered in cluster '{cluster}'");
        var active = await operations.GetActiveAsync(cluster, cancellationToken);
        return PlanBuilder.Build(clusterRecord, nodeRecord, active);
    }

    private async Task<Plan> PlanUnderAsync(Task change, string cluster, string node, CancellationToken cancellationToken)
    {
        var entry = _inputs.AddOrUpdate(cluster,
            (key, c) => new ClusterInputs(c, LoadAsync(key)),
            (key, old, c) => old.Change == c && !old.Loaded.IsFaulted && !old.Loaded.IsCanceled ? old : new ClusterInputs(c, LoadAsync(key)),
            change);
        var inputs = await entry.Loaded.WaitAsync(cancellationToken);
        var clusterRecord = inputs.Cluster ?? throw DomainException.NotFound($"cluster '{cluster}' does not exist");
        var nodeRecord = (inputs.Nodes.TryGetValue(node, out var known) ? known : await store.GetNodeAsync(cluster, node, cancellationToken))
            ?? throw DomainException.NotFound($"node '{node}' is not registered in cluster '{cluster}'");
        return PlanBuilder.Build(clusterRecord, nodeRecord, inputs.Active);
    }

    private async Task<LoadedInputs> LoadAsync(string cluster)
    {
        // Shared by every waiter of this change: no caller's cancellation may end it for the others.
        var clusterRecord = await store.GetClusterAsync(cluster, CancellationToken.None);
        var nodes = clusterRecord is null ? [] : await store.ListNodesAsync(cluster, CancellationToken.None);
        var active = clusterRecord is null ? null : await operations.GetActiveAsync(cluster, CancellationToken.None);
        return new LoadedInputs(clusterRecord, active, nodes.ToDictionary(n => n.Name, StringComparer.Ordinal));
    }

    private sealed record ClusterInputs(Task Change, Task<LoadedInputs> Loaded);

    private sealed record LoadedInputs(ClusterRecord? Cluster, OperationRecord? Active, Dictionary<string, NodeRecord> Nodes);

    private static TimeSpan Clamp(TimeSpan? wait) => wait switch
    {
        null => DefaultWait,
        { } w when w <= TimeSpan.Zero => TimeSpan.Zero,
        { } w when w > MaxWait => MaxWait,
        { } w => w,
    };
}
