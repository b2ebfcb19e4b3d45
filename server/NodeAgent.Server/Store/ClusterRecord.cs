using NodeAgent.Contracts.V1;

namespace NodeAgent.Server.Store;

/// <summary>A cluster as the store keeps it. Snapshot settings stay in their contract form,
/// since they are handed to agents unchanged inside their plans.</summary>
internal sealed record ClusterRecord(
    string Name,
    Runtime Runtime,
    string KubernetesVersion,
    string ClusterConfiguration,
    SnapshotSettings SnapshotSettings,
    string TokenHash,
    string BootstrapToken,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt)
{
    /// <summary>The store's revision of this record when it was read (0: not stored yet); an update is made only if it is still current.</summary>
    public long Revision { get; init; }
}
