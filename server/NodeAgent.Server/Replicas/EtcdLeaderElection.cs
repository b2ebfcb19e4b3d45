using Etcdserverpb;
using NodeAgent.Server.Errors;
using NodeAgent.Server.Operations;
using NodeAgent.Server.Store.Etcd;

namespace NodeAgent.Server.Replicas;

/// <summary>
/// Elects the replica that drives operations (<see cref="IOperationLeadership"/>): PREFIX/leader is
/// created, only where absent, under a lease of <see cref="LeaseTtl"/> that the leader renews every
/// <see cref="RenewEvery"/>. A leader that cannot renew stops driving before its lease can have run
/// out (<see cref="LeadFor"/> after its last renewal), so two replicas never drive at once; the others
/// try to take the key every <see cref="CampaignEvery"/>, so a new leader drives within
/// <see cref="LeaseTtl"/> + <see cref="CampaignEvery"/> of the old one's loss (one that stops
/// cleanly gives its lease back at once).
/// </summary>
internal sealed partial class EtcdLeaderElection(
    EtcdConnection etcd,
    EtcdKeys keys,
    ReplicaIdentity identity,
    TimeProvider time,
    ILogger<EtcdLeaderElection> logger) : BackgroundService, IOperationLeadership
{
    public static readonly TimeSpan LeaseTtl = TimeSpan.FromSeconds(10);
    public static readonly TimeSpan RenewEvery = TimeSpan.FromSeconds(2);
    public static readonly TimeSpan CampaignEvery = TimeSpan.FromSeconds(2);

    /// <summary>How long after a renewal this replica still counts as leader: the lease less a margin for clock rates and the renewal's own trip.</summary>
    public static readonly TimeSpan LeadFor = LeaseTtl - TimeSpan.FromSeconds(3);

    private long _leaseId;
    private long _leadUntilTicks;

    public bool IsLeader => _leaseId != 0 && time.GetTimestamp() < Volatile.Read(ref _leadUntilTicks);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                try
                {
                    if (_leaseId == 0)
                    {
                        await CampaignAsync(stoppingToken);
                    }
                    else
                    {
                        await RenewAsync(stoppingToken);
                    }
                }
                catch (Exception ex) when (ex is StoreUnavailableException or Grpc.Core.RpcException)
                {
                    LogStoreTrouble(logger, ex.Message);
                }
                if (_leaseId != 0 && !IsLeader)
                {
                    LogDeposed(logger, identity.Name);
                    _leaseId = 0;
                }
                await Task.Delay(_leaseId == 0 ? CampaignEvery : RenewEvery, time, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            await ResignAsync();
        }
    }

    private async Task CampaignAsync(CancellationToken cancellationToken)
    {
        var leader = await etcd.RangeAsync(Kv.Get(keys.Leader), cancellationToken);
        if (leader.Kvs.Count > 0)
        {
            return;
        }
        var started = time.GetTimestamp();
        var lease = await etcd.CallAsync("lease grant", write: true,
            (channel, options) => new Lease.LeaseClient(channel).LeaseGrantAsync(new LeaseGrantRequest { TTL = (long)LeaseTtl.TotalSeconds }, options).ResponseAsync,
            cancellationToken);
        var won = await etcd.TxnAsync(new TxnRequest
        {
            Compare = { Kv.Absent(keys.Leader) },
            Success = { new RequestOp { RequestPut = new PutRequest { Key = Kv.Key(keys.Leader), Value = Google.Protobuf.ByteString.CopyFromUtf8(identity.Name), Lease = lease.ID } } },
        }, cancellationToken);
        if (!won.Succeeded)
        {
            await RevokeAsync(lease.ID, cancellationToken);
            return;
        }
        Volatile.Write(ref _leadUntilTicks, started + (long)(LeadFor.TotalSeconds * time.TimestampFrequency));
        _leaseId = lease.ID;
        LogElected(logger, identity.Name, LeaseTtl.TotalSeconds);
    }

    private async Task RenewAsync(CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        var response = await etcd.CallAsync("lease renewal", write: false, async (channel, options) =>
        {
            using var call = new Lease.LeaseClient(channel).LeaseKeepAlive(options);
            await call.RequestStream.WriteAsync(new LeaseKeepAliveRequest { ID = _leaseId }, cancellationToken);
            await call.RequestStream.CompleteAsync();
            return await call.ResponseStream.MoveNext(cancellationToken) ? call.ResponseStream.Current : null;
        }, cancellationToken);
        if (response is null || response.TTL <= 0)
        {
            // The lease ran out (this replica was stopped or cut off too long): another may lead now.
            Volatile.Write(ref _leadUntilTicks, 0);
            return;
        }
        Volatile.Write(ref _leadUntilTicks, started + (long)(LeadFor.TotalSeconds * time.TimestampFrequency));
    }

    /// <summary>A stopping leader gives its lease back, so the next replica drives at once instead of after the lease.</summary>
    private async Task ResignAsync()
    {
        if (_leaseId == 0)
        {
            return;
        }
        Volatile.Write(ref _leadUntilTicks, 0);
        using var timeout = new CancellationTokenSource(EtcdConnection.CallTimeout);
        try
        {
            await RevokeAsync(_leaseId, timeout.Token);
            LogResigned(logger, identity.Name);
        }
        catch (Exception ex) when (ex is StoreUnavailableException or OperationCanceledException or Grpc.Core.RpcException)
        {
            LogStoreTrouble(logger, ex.Message);
        }
        _leaseId = 0;
    }

    private Task<LeaseRevokeResponse> RevokeAsync(long lease, CancellationToken cancellationToken)
        => etcd.CallAsync("lease revoke", write: true,
            (channel, options) => new Lease.LeaseClient(channel).LeaseRevokeAsync(new LeaseRevokeRequest { ID = lease }, options).ResponseAsync,
            cancellationToken);

    [LoggerMessage(EventId = 7001, Level = LogLevel.Information, Message = "Replica {Replica} now drives operations (elected through the etcd store; lease {Seconds} s)")]
    private static partial void LogElected(ILogger logger, string replica, double seconds);

    [LoggerMessage(EventId = 7002, Level = LogLevel.Warning, Message = "Replica {Replica} stopped driving operations: its lease could not be renewed in time")]
    private static partial void LogDeposed(ILogger logger, string replica);

    [LoggerMessage(EventId = 7003, Level = LogLevel.Information, Message = "Replica {Replica} gave up leading operations (stopping)")]
    private static partial void LogResigned(ILogger logger, string replica);

    [LoggerMessage(EventId = 7004, Level = LogLevel.Warning, Message = "Leader election: the etcd store did not answer: {Reason}")]
    private static partial void LogStoreTrouble(ILogger logger, string reason);
}

/// <summary>How this replica names itself in the store and the log: host, listen address and process id.</summary>
internal sealed record ReplicaIdentity(string Name);
