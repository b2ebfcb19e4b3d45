using System.Text.Json;
using Etcdserverpb;
using Grpc.Core;
using NodeAgent.Server.Errors;
using NodeAgent.Server.Operations;
using NodeAgent.Server.Plans;
using NodeAgent.Server.Store;
using NodeAgent.Server.Store.Etcd;

namespace NodeAgent.Server.Replicas;

/// <summary>
/// Makes a change written by any replica wake what waits on this one: agents' plan long-polls
/// (a cluster, its active operation, or what a node's plan is made of changed) and operation watches.
/// One etcd watch on the store's prefix, resumed from the last revision seen when it breaks (a
/// compacted gap wakes every cluster, so nothing waits on a change it missed).
/// </summary>
internal sealed partial class StoreChangeWatcher(
    EtcdConnection etcd,
    EtcdKeys keys,
    PlanChangeNotifier plans,
    OperationChangeNotifier operations,
    IPlanStore store,
    TimeProvider time,
    ILogger<StoreChangeWatcher> logger) : BackgroundService
{
    private static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        long next = 0;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                try
                {
                    if (next == 0)
                    {
                        // Changes from here on; what was before is what every reader reads anyway.
                        next = (await etcd.RangeAsync(Kv.Get(keys.Health), stoppingToken)).Header.Revision + 1;
                    }
                    next = await WatchAsync(next, stoppingToken);
                }
                catch (Exception ex) when (ex is RpcException or StoreUnavailableException or IOException && !stoppingToken.IsCancellationRequested)
                {
                    LogWatchBroken(logger, ex.Message);
                    etcd.MoveOn();
                }
                await Task.Delay(RetryAfter, time, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Watches from <paramref name="from"/> until the stream ends; returns the next revision to watch from.</summary>
    private async Task<long> WatchAsync(long from, CancellationToken cancellationToken)
    {
        using var call = new Watch.WatchClient(etcd.Current).Watch(cancellationToken: cancellationToken);
        await call.RequestStream.WriteAsync(new WatchRequest
        {
            CreateRequest = new WatchCreateRequest { Key = Kv.Key(keys.Root), RangeEnd = Kv.RangeEnd(keys.Root), StartRevision = from, PrevKv = true },
        }, cancellationToken);
        var next = from;
        while (await call.ResponseStream.MoveNext(cancellationToken))
        {
            var response = call.ResponseStream.Current;
            if (response.CompactRevision > 0)
            {
                // Changes between `next` and the compaction are gone: wake every cluster once.
                LogCompacted(logger, next, response.CompactRevision);
                foreach (var cluster in await store.ListClustersAsync(cancellationToken))
                {
                    plans.Changed(cluster.Name);
                }
                return response.CompactRevision;
            }
            if (response.Canceled)
            {
                return next;
            }
            foreach (var change in response.Events)
            {
                Dispatch(change);
                next = Math.Max(next, change.Kv.ModRevision + 1);
            }
        }
        return next;
    }

    private void Dispatch(Mvccpb.Event change)
    {
        var key = Kv.Text(change.Kv.Key);
        if (keys.OperationOf(key) is { } operation)
        {
            operations.Changed(operation);
        }
        if (keys.ClusterOf(key) is not { } cluster || key.StartsWith(keys.Snapshots(cluster), StringComparison.Ordinal))
        {
            return;
        }
        if (key.StartsWith(keys.Nodes(cluster), StringComparison.Ordinal) && !ChangesPlans(change))
        {
            // A node's liveness and report fields change all the time and no plan is made of them.
            return;
        }
        plans.Changed(cluster);
    }

    /// <summary>Whether a node's change touches what plans are made of (roles, init node, member settings, credential, runtime facts).</summary>
    private static bool ChangesPlans(Mvccpb.Event change)
    {
        if (change.Type == Mvccpb.Event.Types.EventType.Delete || change.PrevKv is null || change.PrevKv.Value.IsEmpty)
        {
            return true;
        }
        try
        {
            var before = EtcdJson.Node(change.PrevKv);
            var after = EtcdJson.Node(change.Kv);
            return !before.Roles.SequenceEqual(after.Roles) || before.InitNode != after.InitNode
                || before.CredentialHash != after.CredentialHash || before.CredentialReset != after.CredentialReset
                || before.EtcdMemberName != after.EtcdMemberName || !before.EtcdPeerUrls.SequenceEqual(after.EtcdPeerUrls)
                || before.AdvertiseAddress != after.AdvertiseAddress || before.RuntimeVersion != after.RuntimeVersion
                || before.RuntimeSnapshotsEnabled != after.RuntimeSnapshotsEnabled || before.AppliedChecksum != after.AppliedChecksum;
        }
        catch (Exception ex) when (ex is InvalidDataException or JsonException)
        {
            return true;
        }
    }

    [LoggerMessage(EventId = 7101, Level = LogLevel.Warning, Message = "Watching the etcd store broke ({Reason}); watching again from where it stopped")]
    private static partial void LogWatchBroken(ILogger logger, string reason);

    [LoggerMessage(EventId = 7102, Level = LogLevel.Warning, Message = "The etcd store compacted changes this replica had not seen (revisions {From} to {Compacted}); every cluster's agents are woken")]
    private static partial void LogCompacted(ILogger logger, long from, long compacted);
}
