using Etcdserverpb;
using Google.Protobuf;
using NodeAgent.Contracts.V1;

namespace NodeAgent.Server.Store.Etcd;

/// <summary>
/// The snapshot catalog in etcd: one key per holder (each node's local copies; the cluster's S3
/// folder), replaced whole by each report, so a report is one write whatever the number of copies.
/// </summary>
internal sealed class EtcdCatalogStore(EtcdConnection etcd, EtcdKeys keys) : ISnapshotCatalogStore
{
    public async Task ReplaceInventoryAsync(string cluster, string node, IReadOnlyList<Snapshot> snapshots, bool includesS3, CancellationToken cancellationToken)
    {
        var request = new TxnRequest();
        request.Success.Add(Replace(keys.LocalInventory(cluster, node), snapshots.Where(s => s.Storage == StorageKind.Local)));
        if (includesS3)
        {
            request.Success.Add(Replace(keys.S3Inventory(cluster), snapshots.Where(s => s.Storage == StorageKind.S3)));
        }
        await etcd.TxnAsync(request, cancellationToken);
    }

    public async Task<IReadOnlyList<Snapshot>> ListAsync(string cluster, CancellationToken cancellationToken)
        => (await etcd.RangeAsync(Kv.Prefix(keys.Snapshots(cluster)), cancellationToken)).Kvs
            .SelectMany(kv => SnapshotInventory.Parser.ParseFrom(kv.Value).Snapshots)
            .OrderByDescending(s => s.CreatedAt?.Seconds ?? 0)
            .ThenBy(s => s.Location, StringComparer.Ordinal)
            .ToList();

    public async Task SaveConfigurationsAsync(IReadOnlyDictionary<string, string> bySha256, CancellationToken cancellationToken)
    {
        // A text is named by its sha256: one already there is the same text. At most 128 operations per transaction (--max-txn-ops).
        foreach (var batch in bySha256.Chunk(100))
        {
            var request = new TxnRequest();
            request.Success.AddRange(batch.Select(c => Kv.Put(keys.Configuration(c.Key), c.Value)));
            await etcd.TxnAsync(request, cancellationToken);
        }
    }

    public async Task<string?> GetConfigurationAsync(string sha256, CancellationToken cancellationToken)
    {
        var response = await etcd.RangeAsync(Kv.Get(keys.Configuration(sha256)), cancellationToken);
        return response.Kvs.Count == 0 ? null : Kv.Text(response.Kvs[0].Value);
    }

    /// <summary>The holder's key set to <paramref name="copies"/> (the same location once: the last wins), or removed when there are none.</summary>
    private static RequestOp Replace(string key, IEnumerable<Snapshot> copies)
    {
        var inventory = new SnapshotInventory();
        inventory.Snapshots.AddRange(copies.GroupBy(s => s.Location, StringComparer.Ordinal).Select(g => g.Last()));
        return inventory.Snapshots.Count == 0 ? Kv.Delete(key) : Kv.Put(key, inventory.ToByteString());
    }
}
