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
    DateTimeOffset UpdatedAt);
