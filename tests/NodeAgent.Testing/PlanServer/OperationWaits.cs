using Grpc.Core;
using NodeAgent.Contracts.V1;

namespace NodeAgent.Testing.PlanServer;

/// <summary>Waiting on a plan server from a test: an operation's end, or a condition on its state; both bounded.</summary>
public static class OperationWaits
{
    /// <summary>Watches the operation until the server ends the stream (the operation ended); its last state.</summary>
    /// <exception cref="TimeoutException">It did not end in time; the message has its last state and <paramref name="context"/>'s text.</exception>
    public static async Task<Operation> WaitForEndAsync(this OperationService.OperationServiceClient operations, string id, Func<string>? context = null)
    {
        using var cts = new CancellationTokenSource(TestTimeouts.Slow);
        using var watch = operations.WatchOperation(new WatchOperationRequest { Id = id }, cancellationToken: cts.Token);
        Operation last = null!;
        try
        {
            while (await watch.ResponseStream.MoveNext(cts.Token))
            {
                last = watch.ResponseStream.Current.Operation;
            }
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.Cancelled && cts.IsCancellationRequested)
        {
            throw new TimeoutException($"operation {id} did not end within {TestTimeouts.Slow}; last: {last}\n{context?.Invoke()}", ex);
        }
        return last;
    }

    /// <summary>Until at least <paramref name="nodes"/> nodes of <paramref name="cluster"/> report the plan they were given as applied.</summary>
    public static Task UntilPlansAppliedAsync(this ClusterService.ClusterServiceClient clusters, string cluster, int nodes)
        => UntilAsync(async ct => (await clusters.ListNodesAsync(new ListNodesRequest { Cluster = cluster }, cancellationToken: ct)).Nodes
            .Count(n => n.AppliedChecksum.Length > 0 && n.AppliedChecksum == n.DesiredChecksum) >= nodes);

    /// <summary>Polls <paramref name="condition"/> every 200 ms until it holds, for at most <see cref="TestTimeouts.Slow"/>.</summary>
    public static async Task UntilAsync(Func<CancellationToken, Task<bool>> condition)
    {
        using var cts = new CancellationTokenSource(TestTimeouts.Slow);
        while (!await condition(cts.Token))
        {
            await Task.Delay(TimeSpan.FromMilliseconds(200), cts.Token);
        }
    }
}
