namespace NodeAgent.Agent.Etcd;

/// <summary>The two calls of etcd's Maintenance service a snapshot needs, and the member count a stopping leader needs.</summary>
internal interface IEtcdMaintenance : IDisposable
{
    /// <summary>Status of the first endpoint that answers; that endpoint then serves <see cref="SnapshotAsync"/>.</summary>
    Task<EtcdMemberStatus> StatusAsync(CancellationToken cancellationToken);

    /// <summary>
    /// The raw snapshot stream exactly as etcd sends it (the bolt db followed by its 32-byte sha256),
    /// chunk by chunk; each chunk is valid until the next one is requested.
    /// </summary>
    IAsyncEnumerable<ReadOnlyMemory<byte>> SnapshotAsync(CancellationToken cancellationToken);

    /// <summary>How many members the cluster has, as the endpoint <see cref="StatusAsync"/> chose says (etcd's MemberList).</summary>
    Task<int> MemberCountAsync(CancellationToken cancellationToken);
}
