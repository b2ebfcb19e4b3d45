namespace NodeAgent.Server.Store;

/// <summary>
/// Durable state of the plan server: clusters and nodes (operations and the snapshot catalog
/// are in <see cref="IOperationStore"/> and <see cref="ISnapshotCatalogStore"/>). Implemented on SQLite (the embedded
/// default) and on etcd (replicas). Every update names the revision it read: no update is lost between requests or replicas.
/// </summary>
internal interface IPlanStore
{
    /// <summary>Adds the cluster; null when one of that name exists. The result carries its revision.</summary>
    Task<ClusterRecord?> TryAddClusterAsync(ClusterRecord cluster, CancellationToken cancellationToken);

    Task<ClusterRecord?> GetClusterAsync(string name, CancellationToken cancellationToken);

    Task<IReadOnlyList<ClusterRecord>> ListClustersAsync(CancellationToken cancellationToken);

    /// <summary>Stores the cluster if its <see cref="ClusterRecord.Revision"/> is still the stored one (else <see cref="Errors.StoreConflictException"/>); returns it with its new revision.</summary>
    Task<ClusterRecord> UpdateClusterAsync(ClusterRecord cluster, CancellationToken cancellationToken);

    /// <summary>Removes the cluster and its nodes; false when it did not exist.</summary>
    Task<bool> DeleteClusterAsync(string name, CancellationToken cancellationToken);

    /// <summary>
    /// Adds the node (revision 0: only if the name is free) or replaces the one read (re-registration gives a new
    /// credential) if its revision is still the stored one; else <see cref="Errors.StoreConflictException"/>. Returns it with its new revision.
    /// </summary>
    Task<NodeRecord> UpsertNodeAsync(NodeRecord node, CancellationToken cancellationToken);

    Task<NodeRecord?> GetNodeAsync(string cluster, string name, CancellationToken cancellationToken);

    Task<NodeRecord?> FindNodeByCredentialHashAsync(string credentialHash, CancellationToken cancellationToken);

    Task<IReadOnlyList<NodeRecord>> ListNodesAsync(string cluster, CancellationToken cancellationToken);

    /// <summary>Whether a node of the cluster is its init node (without reading every node: a registration asks it).</summary>
    Task<bool> HasInitNodeAsync(string cluster, CancellationToken cancellationToken);

    /// <summary>Stores the node read before if its revision is still the stored one (else <see cref="Errors.StoreConflictException"/>); returns it with its new revision.</summary>
    Task<NodeRecord> UpdateNodeAsync(NodeRecord node, CancellationToken cancellationToken);

    /// <summary>Removes the node (its credential with it); false when it was not registered.</summary>
    Task<bool> DeleteNodeAsync(string cluster, string name, CancellationToken cancellationToken);

    /// <summary>Proves the store can be read and written now (for health checks); throws with the store's reason otherwise.</summary>
    Task CheckWritableAsync(CancellationToken cancellationToken);
}
