using Etcdserverpb;
using NodeAgent.Server.Errors;

namespace NodeAgent.Server.Store.Etcd;

/// <summary>Clusters and nodes in etcd (<see cref="EtcdKeys"/>); every write a transaction on the revision it read.</summary>
internal sealed class EtcdPlanStore(EtcdConnection etcd, EtcdKeys keys) : IPlanStore
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, (string Cluster, string Node)> _credentials = new(StringComparer.Ordinal);

    public async Task<ClusterRecord?> TryAddClusterAsync(ClusterRecord cluster, CancellationToken cancellationToken)
    {
        var key = keys.Cluster(cluster.Name);
        var response = await etcd.TxnAsync(new TxnRequest
        {
            Compare = { Kv.Absent(key) },
            Success = { Kv.Put(key, EtcdJson.Of(cluster)) },
        }, cancellationToken);
        return response.Succeeded ? cluster with { Revision = response.Header.Revision } : null;
    }

    public async Task<ClusterRecord?> GetClusterAsync(string name, CancellationToken cancellationToken)
    {
        var response = await etcd.RangeAsync(Kv.Get(keys.Cluster(name)), cancellationToken);
        return response.Kvs.Count == 0 ? null : EtcdJson.Cluster(response.Kvs[0]);
    }

    public async Task<IReadOnlyList<ClusterRecord>> ListClustersAsync(CancellationToken cancellationToken)
        => (await etcd.RangeAsync(Kv.Prefix(keys.Clusters), cancellationToken)).Kvs.Select(EtcdJson.Cluster).ToList();

    public async Task<ClusterRecord> UpdateClusterAsync(ClusterRecord cluster, CancellationToken cancellationToken)
    {
        var key = keys.Cluster(cluster.Name);
        var response = await etcd.TxnAsync(new TxnRequest
        {
            Compare = { Kv.Exists(key), Kv.ModRevisionIs(key, cluster.Revision) },
            Success = { Kv.Put(key, EtcdJson.Of(cluster)) },
        }, cancellationToken);
        return response.Succeeded ? cluster with { Revision = response.Header.Revision } : throw new StoreConflictException($"cluster '{cluster.Name}'");
    }

    public async Task<bool> DeleteClusterAsync(string name, CancellationToken cancellationToken)
    {
        // The indexes of its records are read first and removed after: an index entry left behind
        // (a node registered in between) points at nothing, and lookups check what they find.
        var nodes = await ListNodesAsync(name, cancellationToken);
        var operations = (await etcd.RangeAsync(Kv.Prefix(keys.Operations(name), keysOnly: true), cancellationToken)).Kvs
            .Select(kv => keys.OperationOf(Kv.Text(kv.Key))).OfType<string>().ToList();
        var key = keys.Cluster(name);
        var response = await etcd.TxnAsync(new TxnRequest
        {
            Compare = { Kv.Exists(key) },
            Success =
            {
                Kv.Delete(key),
                Kv.DeletePrefix(keys.Nodes(name)),
                Kv.DeletePrefix(keys.Operations(name)),
                Kv.Delete(keys.Active(name)),
                Kv.Delete(keys.InitNode(name)),
                Kv.DeletePrefix(keys.Snapshots(name)),
            },
        }, cancellationToken);
        if (!response.Succeeded)
        {
            return false;
        }
        var indexes = nodes.Select(n => keys.Credential(n.CredentialHash)).Concat(operations.Select(keys.OperationCluster)).ToList();
        // etcd takes at most 128 operations in one transaction (--max-txn-ops).
        foreach (var batch in indexes.Chunk(100))
        {
            var delete = new TxnRequest();
            delete.Success.AddRange(batch.Select(Kv.Delete));
            await etcd.TxnAsync(delete, cancellationToken);
        }
        return true;
    }

    public async Task<NodeRecord> UpsertNodeAsync(NodeRecord node, CancellationToken cancellationToken)
    {
        var key = keys.Node(node.Cluster, node.Name);
        var current = await GetNodeAsync(node.Cluster, node.Name, cancellationToken);
        if ((current?.Revision ?? 0) != node.Revision)
        {
            throw new StoreConflictException($"node '{node.Name}' of cluster '{node.Cluster}'");
        }
        var request = new TxnRequest
        {
            Compare = { Kv.ModRevisionIs(key, node.Revision) },
            Success = { Kv.Put(key, EtcdJson.Of(node)), Kv.Put(keys.Credential(node.CredentialHash), $"{node.Cluster}/{node.Name}") },
        };
        if (current is not null && current.CredentialHash != node.CredentialHash)
        {
            request.Success.Add(Kv.Delete(keys.Credential(current.CredentialHash)));
        }
        if (node.InitNode)
        {
            request.Success.Add(Kv.Put(keys.InitNode(node.Cluster), node.Name));
        }
        else if (current?.InitNode == true)
        {
            request.Success.Add(ClearInitNode(node.Cluster, node.Name));
        }
        var response = await etcd.TxnAsync(request, cancellationToken);
        return response.Succeeded ? node with { Revision = response.Header.Revision } : throw new StoreConflictException($"node '{node.Name}' of cluster '{node.Cluster}'");
    }

    public Task<NodeRecord> UpdateNodeAsync(NodeRecord node, CancellationToken cancellationToken)
        => node.Revision == 0
            ? throw new ArgumentException("an update names the revision it read; this node record was never read from the store", nameof(node))
            : UpsertNodeAsync(node, cancellationToken);

    public async Task<NodeRecord?> GetNodeAsync(string cluster, string name, CancellationToken cancellationToken)
    {
        var response = await etcd.RangeAsync(Kv.Get(keys.Node(cluster, name)), cancellationToken);
        return response.Kvs.Count == 0 ? null : EtcdJson.Node(response.Kvs[0]);
    }

    /// <summary>
    /// Every agent call is authenticated here. The index entry (credential → node) never changes
    /// what it names, so this replica keeps the ones it found and reads only the node, which says
    /// whether the credential is still the node's (a reset or a new registration replaces it).
    /// </summary>
    public async Task<NodeRecord?> FindNodeByCredentialHashAsync(string credentialHash, CancellationToken cancellationToken)
    {
        if (!_credentials.TryGetValue(credentialHash, out var owner))
        {
            var index = await etcd.RangeAsync(Kv.Get(keys.Credential(credentialHash)), cancellationToken);
            if (index.Kvs.Count == 0 || Kv.Text(index.Kvs[0].Value).Split('/') is not [var cluster, var name])
            {
                return null;
            }
            owner = (cluster, name);
        }
        var node = await GetNodeAsync(owner.Cluster, owner.Node, cancellationToken);
        if (node?.CredentialHash != credentialHash)
        {
            _credentials.TryRemove(credentialHash, out _);
            return null;
        }
        _credentials[credentialHash] = owner;
        return node;
    }

    public async Task<IReadOnlyList<NodeRecord>> ListNodesAsync(string cluster, CancellationToken cancellationToken)
        => (await etcd.RangeAsync(Kv.Prefix(keys.Nodes(cluster)), cancellationToken)).Kvs.Select(EtcdJson.Node).ToList();

    public async Task<bool> DeleteNodeAsync(string cluster, string name, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var node = await GetNodeAsync(cluster, name, cancellationToken);
            if (node is null)
            {
                return false;
            }
            var key = keys.Node(cluster, name);
            var response = await etcd.TxnAsync(new TxnRequest
            {
                Compare = { Kv.ModRevisionIs(key, node.Revision) },
                Success = { Kv.Delete(key), Kv.Delete(keys.Credential(node.CredentialHash)), ClearInitNode(cluster, name) },
            }, cancellationToken);
            if (response.Succeeded)
            {
                return true;
            }
            if (attempt == StoreConflictException.Attempts)
            {
                throw new StoreConflictException($"node '{name}' of cluster '{cluster}'");
            }
        }
    }

    public async Task<bool> HasInitNodeAsync(string cluster, CancellationToken cancellationToken)
        => (await etcd.RangeAsync(Kv.Get(keys.InitNode(cluster)), cancellationToken)).Kvs.Count > 0;

    /// <summary>Removes the cluster's init-node key if it names <paramref name="node"/> (another node may have been made init node first).</summary>
    private RequestOp ClearInitNode(string cluster, string node)
    {
        var key = keys.InitNode(cluster);
        return new RequestOp { RequestTxn = new TxnRequest { Compare = { Kv.ValueIs(key, node) }, Success = { Kv.Delete(key) } } };
    }

    public Task CheckWritableAsync(CancellationToken cancellationToken)
        => etcd.PutAsync(new PutRequest { Key = Kv.Key(keys.Health), Value = Google.Protobuf.ByteString.CopyFromUtf8("ok") }, cancellationToken);
}
