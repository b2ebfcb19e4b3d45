using Etcdserverpb;
using NodeAgent.Server.Domain;
using NodeAgent.Server.Errors;

namespace NodeAgent.Server.Store.Etcd;

/// <summary>
/// Operations in etcd. At most one active per cluster: PREFIX/active/CLUSTER names it, created only
/// where absent, and removed in the same transaction that stores the operation's end.
/// </summary>
internal sealed class EtcdOperationStore(EtcdConnection etcd, EtcdKeys keys) : IOperationStore
{
    public async Task<OperationRecord?> TryAddAsync(OperationRecord operation, CancellationToken cancellationToken)
    {
        var key = keys.Operation(operation.Cluster, operation.Id);
        var request = new TxnRequest
        {
            Compare = { Kv.Absent(key) },
            Success = { Kv.Put(key, EtcdJson.Of(operation)), Kv.Put(keys.OperationCluster(operation.Id), operation.Cluster) },
        };
        if (operation.IsActive)
        {
            request.Compare.Add(Kv.Absent(keys.Active(operation.Cluster)));
            request.Success.Add(Kv.Put(keys.Active(operation.Cluster), operation.Id));
        }
        var response = await etcd.TxnAsync(request, cancellationToken);
        return response.Succeeded ? operation with { Revision = response.Header.Revision } : null;
    }

    public async Task<OperationRecord?> GetAsync(string id, CancellationToken cancellationToken)
    {
        var index = await etcd.RangeAsync(Kv.Get(keys.OperationCluster(id)), cancellationToken);
        return index.Kvs.Count == 0 ? null : await GetAsync(Kv.Text(index.Kvs[0].Value), id, cancellationToken);
    }

    public async Task<OperationRecord?> GetActiveAsync(string cluster, CancellationToken cancellationToken)
    {
        var active = await etcd.RangeAsync(Kv.Get(keys.Active(cluster)), cancellationToken);
        return active.Kvs.Count == 0 ? null : await GetAsync(cluster, Kv.Text(active.Kvs[0].Value), cancellationToken);
    }

    public async Task<IReadOnlyList<OperationRecord>> ListAsync(string cluster, bool activeOnly, CancellationToken cancellationToken)
        => (await etcd.RangeAsync(Kv.Prefix(keys.Operations(cluster)), cancellationToken)).Kvs
            .Select(EtcdJson.Operation)
            .Where(o => !activeOnly || o.IsActive)
            .OrderByDescending(o => o.State.CreatedAt.ToDateTimeOffset())
            .ToList();

    public async Task<IReadOnlyList<OperationRecord>> ListActiveAsync(CancellationToken cancellationToken)
    {
        var result = new List<OperationRecord>();
        foreach (var kv in (await etcd.RangeAsync(Kv.Prefix(keys.AllActive), cancellationToken)).Kvs)
        {
            if (await GetAsync(Kv.Text(kv.Key)[keys.AllActive.Length..], Kv.Text(kv.Value), cancellationToken) is { IsActive: true } operation)
            {
                result.Add(operation);
            }
        }
        return result.OrderBy(o => o.State.CreatedAt.ToDateTimeOffset()).ToList();
    }

    public async Task<OperationRecord> UpdateAsync(OperationRecord operation, CancellationToken cancellationToken)
    {
        var key = keys.Operation(operation.Cluster, operation.Id);
        var request = new TxnRequest
        {
            Compare = { Kv.Exists(key), Kv.ModRevisionIs(key, operation.Revision) },
            Success = { Kv.Put(key, EtcdJson.Of(operation)) },
        };
        if (!operation.IsActive)
        {
            // The cluster is free for its next operation the moment this one's end is stored.
            var active = keys.Active(operation.Cluster);
            request.Success.Add(new RequestOp
            {
                RequestTxn = new TxnRequest { Compare = { Kv.ValueIs(active, operation.Id) }, Success = { Kv.Delete(active) } },
            });
        }
        var response = await etcd.TxnAsync(request, cancellationToken);
        return response.Succeeded ? operation with { Revision = response.Header.Revision } : throw new StoreConflictException($"operation '{operation.Id}'");
    }

    private async Task<OperationRecord?> GetAsync(string cluster, string id, CancellationToken cancellationToken)
    {
        var response = await etcd.RangeAsync(Kv.Get(keys.Operation(cluster, id)), cancellationToken);
        return response.Kvs.Count == 0 ? null : EtcdJson.Operation(response.Kvs[0]);
    }
}
