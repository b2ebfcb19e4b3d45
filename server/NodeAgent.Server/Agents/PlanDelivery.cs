using NodeAgent.Contracts.V1;
using NodeAgent.Server.Clusters;
using NodeAgent.Server.Errors;
using NodeAgent.Server.Operations;
using NodeAgent.Server.Plans;
using NodeAgent.Server.Store;

namespace NodeAgent.Server.Agents;

/// <summary>
/// GetPlan's long-poll: answers at once when the node's plan differs from what the agent holds,
/// otherwise waits for a change of the cluster (or the wait to pass) and answers then.
/// </summary>
internal sealed class PlanDelivery(IPlanStore store, IOperationStore operations, PlanChangeNotifier notifier, OperationTimeouts timeouts, TimeProvider time)
{
    public static readonly TimeSpan DefaultWait = TimeSpan.FromSeconds(60);
    public static readonly TimeSpan MaxWait = TimeSpan.FromMinutes(5);

    public async Task<GetPlanResponse> GetPlanAsync(string cluster, string node, string knownChecksum, TimeSpan? wait, CancellationToken cancellationToken)
    {
        var deadline = time.GetUtcNow() + Clamp(wait);
        while (true)
        {
            var change = notifier.NextChange(cluster);
            var plan = await CurrentPlanAsync(cluster, node, cancellationToken);
            if (!string.Equals(plan.Checksum, knownChecksum, StringComparison.Ordinal))
            {
                return new GetPlanResponse { Plan = plan };
            }
            var left = deadline - time.GetUtcNow();
            if (left <= TimeSpan.Zero)
            {
                return new GetPlanResponse { Unchanged = true };
            }
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var delay = Task.Delay(left, time, timeout.Token);
            var first = await Task.WhenAny(change, delay);
            await timeout.CancelAsync();
            cancellationToken.ThrowIfCancellationRequested();
            if (first != change)
            {
                return new GetPlanResponse { Unchanged = true };
            }
        }
    }

    public async Task<Plan> CurrentPlanAsync(string cluster, string node, CancellationToken cancellationToken)
    {
        var clusterRecord = await store.GetClusterAsync(cluster, cancellationToken)
            ?? throw DomainException.NotFound($"cluster '{cluster}' does not exist");
        var nodeRecord = await store.GetNodeAsync(cluster, node, cancellationToken)
            ?? throw DomainException.NotFound($"node '{node}' is not registered in cluster '{cluster}'");
        var active = await operations.GetActiveAsync(cluster, cancellationToken);
        return PlanBuilder.Build(clusterRecord, nodeRecord, active, timeouts);
    }

    private static TimeSpan Clamp(TimeSpan? wait) => wait switch
    {
        null => DefaultWait,
        { } w when w <= TimeSpan.Zero => TimeSpan.Zero,
        { } w when w > MaxWait => MaxWait,
        { } w => w,
    };
}
