using NodeAgent.Contracts.V1;
using NodeAgent.Server.Domain;

namespace NodeAgent.Server.Store;

// The records as JSON documents: how plan-server export writes them and how the etcd store keeps
// them (one form, so an export and the store's values read alike). Protobuf messages are base64 of
// their binary form, byte for byte. The store's revision is not part of a record's document.

/// <summary>A <see cref="ClusterRecord"/>, its snapshot settings as base64 protobuf.</summary>
internal sealed record ClusterEntry(
    string Name,
    Runtime Runtime,
    string KubernetesVersion,
    string ClusterConfiguration,
    string SnapshotSettings,
    string TokenHash,
    string BootstrapToken,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt)
{
    public static ClusterEntry Of(ClusterRecord c) => new(c.Name, c.Runtime, c.KubernetesVersion, c.ClusterConfiguration,
        Convert.ToBase64String(Google.Protobuf.MessageExtensions.ToByteArray(c.SnapshotSettings)), c.TokenHash, c.BootstrapToken, c.CreatedAt, c.UpdatedAt);

    public ClusterRecord ToRecord() => new(Name, Runtime, KubernetesVersion, ClusterConfiguration,
        Contracts.V1.SnapshotSettings.Parser.ParseFrom(Convert.FromBase64String(SnapshotSettings)), TokenHash, BootstrapToken, CreatedAt, UpdatedAt);
}

/// <summary>An <see cref="OperationRecord"/>, its state as base64 protobuf.</summary>
internal sealed record OperationEntry(string State, DateTimeOffset PhaseDeadline, bool Compress, RestoreSource? Restore, RestoreProgress? Progress, NodeInstructions[]? Instructions)
{
    public static OperationEntry Of(OperationRecord o) => new(Convert.ToBase64String(Google.Protobuf.MessageExtensions.ToByteArray(o.State)),
        o.PhaseDeadline, o.Compress, o.Restore, o.Progress, o.Instructions?.ToArray());

    public OperationRecord ToRecord() => new(Operation.Parser.ParseFrom(Convert.FromBase64String(State)), PhaseDeadline, Compress, Restore)
    {
        Progress = Progress,
        Instructions = Instructions,
    };
}
