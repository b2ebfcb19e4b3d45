namespace NodeAgent.Server.Store;

/// <summary>
/// Durable state of the plan server: clusters and nodes (operations and the snapshot catalog
/// join them later). The SQLite implementation is the default; an etcd-backed one can follow.
/// </summary>
internal interface IPlanStore
{
    Task<bool> TryAddClusterAsync(ClusterRecord cluster, CancellationToken cancellationToken);

    Task<ClusterRecord?> GetClusterAsync(string name, CancellationToken cancellationToken);

    Task<IReadOnlyList<ClusterRecord>> ListClustersAsync(CancellationToken cancellationToken);

    Task UpdateClusterAsync(ClusterRecord cluster, CancellationToken cancellationToken);

    /// <summary>Removes the cluster and its nodes; false when it did not exist.</summary>
    Task<bool> DeleteClusterAsync(string name, CancellationToken cancellationToken);

    /// <summary>Adds the node, or replaces it (re-registration gives a new credential).</summary>
    Task UpsertNodeAsync(NodeRecord node, CancellationToken cancellationToken);

    Task<NodeRecord?> GetNodeAsync(string cluster, string name, CancellationToken cancellationToken);

    Task<NodeRecord?> FindNodeByCredentialHashAsync(string credentialHash, CancellationToken cancellationToken);

    Task<IReadOnlyList<NodeRecord>> ListNodesAsync(string cluster, CancellationToken cancellationToken);

    Task UpdateNodeAsync(NodeRecord node, CancellationToken cancellationToken);

    /// <summary>Removes the node (its credential with it); false when it was not registered.</summary>
    Task<bool> DeleteNodeAsync(string cluster, string name, CancellationToken cancellationToken);

    /// <summary>Proves the store can be read and written now (for health checks); throws with the store's reason otherwise.</summary>
    Task CheckWritableAsync(CancellationToken cancellationToken);
}
