using NodeAgent.Contracts.V1;
using NodeAgent.Server.Clusters;
using NodeAgent.Server.Errors;
using NodeAgent.Server.Store;

namespace NodeAgent.Server.Catalog;

/// <summary>Every snapshot copy the agents report (local, per node) or find in S3, merged per cluster.</summary>
internal sealed class SnapshotCatalog(ISnapshotCatalogStore store, IPlanStore plans)
{
    public async Task ReportInventoryAsync(string cluster, string node, SnapshotInventory inventory, CancellationToken cancellationToken)
    {
        foreach (var snapshot in inventory.Snapshots)
        {
            Names.RequireSnapshotPrefix(snapshot.Name, "inventory.snapshots.name");
            if (snapshot.Storage == StorageKind.Unspecified || snapshot.Location.Length == 0)
            {
                throw DomainException.Invalid($"inventory snapshot '{snapshot.Name}' needs a storage kind and a location");
            }
            // The cluster the snapshot says it belongs to (its sidecar or S3 metadata) is kept: a
            // folder two clusters share holds both's. Unknown (K3s's own, no sidecar): this cluster's.
            if (snapshot.Cluster.Length == 0)
            {
                snapshot.Cluster = cluster;
            }
            if (snapshot.Storage == StorageKind.Local)
            {
                // A node speaks only for its own disk.
                snapshot.Node = node;
            }
        }
        await store.ReplaceInventoryAsync(cluster, node, inventory.Snapshots, inventory.S3Listed, cancellationToken);
    }

    public async Task<IReadOnlyList<Snapshot>> ListAsync(string cluster, string node, StorageKind storage, CancellationToken cancellationToken)
    {
        _ = await plans.GetClusterAsync(cluster, cancellationToken) ?? throw DomainException.NotFound($"cluster '{cluster}' does not exist");
        return (await store.ListAsync(cluster, cancellationToken))
            .Where(s => node.Length == 0 || s.Node == node)
            .Where(s => storage == StorageKind.Unspecified || s.Storage == storage)
            .ToList();
    }
}
