using System.Security.Cryptography;
using System.Text;
using NodeAgent.Contracts.V1;
using NodeAgent.Server.Clusters;
using NodeAgent.Server.Errors;
using NodeAgent.Server.Store;

namespace NodeAgent.Server.Catalog;

/// <summary>
/// Every snapshot copy the agents report (local, per node) or find in S3, merged per cluster.
/// Cluster configurations are kept once, by sha256: a snapshot row holds only the hash, so the
/// catalog and its listings stay small however large the configuration.
/// </summary>
internal sealed class SnapshotCatalog(ISnapshotCatalogStore store, IPlanStore plans)
{
    public async Task ReportInventoryAsync(string cluster, string node, SnapshotInventory inventory, CancellationToken cancellationToken)
    {
        var configurations = new Dictionary<string, string>(StringComparer.Ordinal);
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
            if (snapshot.ClusterConfiguration.Length > 0)
            {
                var sha256 = Sha256(snapshot.ClusterConfiguration);
                if (snapshot.ClusterConfigurationSha256.Length > 0 && !string.Equals(snapshot.ClusterConfigurationSha256, sha256, StringComparison.OrdinalIgnoreCase))
                {
                    throw DomainException.Invalid($"inventory snapshot '{snapshot.Name}': cluster_configuration_sha256 {snapshot.ClusterConfigurationSha256} is not the sha256 of its cluster_configuration ({sha256})");
                }
                configurations[sha256] = snapshot.ClusterConfiguration;
                snapshot.ClusterConfigurationSha256 = sha256;
                snapshot.ClusterConfiguration = "";
            }
        }
        await store.SaveConfigurationsAsync(configurations, cancellationToken);
        await store.ReplaceInventoryAsync(cluster, node, inventory.Snapshots, inventory.S3Listed, cancellationToken);
    }

    public async Task<IReadOnlyList<Snapshot>> ListAsync(string cluster, string node, StorageKind storage, CancellationToken cancellationToken)
    {
        _ = await plans.GetClusterAsync(cluster, cancellationToken) ?? throw DomainException.NotFound($"cluster '{cluster}' does not exist");
        var list = (await store.ListAsync(cluster, cancellationToken))
            .Where(s => node.Length == 0 || s.Node == node)
            .Where(s => storage == StorageKind.Unspecified || s.Storage == storage)
            .ToList();
        foreach (var snapshot in list.Where(s => s.ClusterConfiguration.Length > 0))
        {
            // A row stored before configurations were kept by hash.
            snapshot.ClusterConfigurationSha256 = Sha256(snapshot.ClusterConfiguration);
            snapshot.ClusterConfiguration = "";
        }
        return list;
    }

    private static string Sha256(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
}
