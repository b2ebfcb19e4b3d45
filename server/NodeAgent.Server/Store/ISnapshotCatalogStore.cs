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
}
