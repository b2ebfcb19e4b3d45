using NodeAgent.Contracts.V1;

namespace NodeAgent.Server.Store;

/// <summary>The snapshot catalog: what each node reported it holds, and what is in S3.</summary>
internal interface ISnapshotCatalogStore
{
    /// <summary>
    /// Replaces what <paramref name="node"/> holds locally with <paramref name="snapshots"/>' local
    /// copies, and the cluster's S3 copies with its S3 copies when <paramref name="includesS3"/>
    /// (every node sees the same bucket folder, so the newest listing wins).
    /// </summary>
    Task ReplaceInventoryAsync(string cluster, string node, IReadOnlyList<Snapshot> snapshots, bool includesS3, CancellationToken cancellationToken);

    Task<IReadOnlyList<Snapshot>> ListAsync(string cluster, CancellationToken cancellationToken);

    /// <summary>Keeps cluster configuration texts by their sha256 (reports send each once).</summary>
    Task SaveConfigurationsAsync(IReadOnlyDictionary<string, string> bySha256, CancellationToken cancellationToken);

    Task<string?> GetConfigurationAsync(string sha256, CancellationToken cancellationToken);
}

internal static class SnapshotCatalogStoreExtensions
{
    /// <summary>The cluster's catalog, with the configuration text filled in for the copies of <paramref name="snapshot"/> (restore mode ALL needs it).</summary>
    public static async Task<IReadOnlyList<Snapshot>> ListForRestoreAsync(this ISnapshotCatalogStore store, string cluster, string snapshot, CancellationToken cancellationToken)
    {
        var list = await store.ListAsync(cluster, cancellationToken);
        foreach (var copy in list.Where(s => s.Name == snapshot && s.ClusterConfiguration.Length == 0 && s.ClusterConfigurationSha256.Length > 0))
        {
            copy.ClusterConfiguration = await store.GetConfigurationAsync(copy.ClusterConfigurationSha256, cancellationToken) ?? "";
        }
        return list;
    }
}
