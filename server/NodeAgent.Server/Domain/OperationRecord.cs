using NodeAgent.Contracts.V1;

namespace NodeAgent.Server.Domain;

/// <summary>
/// An operation as the server keeps it: its public state (the contract's Operation, which is
/// exactly what operators see) plus what only the phase machine needs.
/// </summary>
internal sealed record OperationRecord(Operation State, DateTimeOffset PhaseDeadline, bool Compress, RestoreSource? Restore = null)
{
    /// <summary>A restore's progress (restart pass, join order, installs); null for other operations.</summary>
    public RestoreProgress? Progress { get; init; }

    /// <summary>
    /// The instructions of each node whose part of the current phase has begun (a node that waits
    /// for its turn has none yet). Null only for an operation stored by a version that did not
    /// store them: the engine then computes the current phase's lists once and stores them.
    /// </summary>
    public IReadOnlyList<NodeInstructions>? Instructions { get; init; }

    /// <summary>The store's revision of this record when it was read (0: not stored yet); an update is made only if it is still current.</summary>
    public long Revision { get; init; }

    public string Id => State.Id;

    /// <summary>The node's stored list in the current phase; null when its part has not begun.</summary>
    public IReadOnlyList<PlannedInstruction>? InstructionsOf(string node)
        => Instructions?.FirstOrDefault(n => n.Node == node)?.Instructions;

    public string Cluster => State.Cluster;

    public bool IsActive => !OperationPhases.IsTerminal(State.Phase);
}

/// <summary>
/// What a restore restores from, fixed when it starts: the snapshot's sha256 (every node checks its
/// copy against it), whether the init node holds a local copy or downloads the S3 one, whether an
/// S3 copy exists, the safety snapshot, the snapshot's cluster facts the restore mode applies, and
/// for plain etcd the new cluster's members (<c>name=peerURL,...</c> of the restoring nodes; empty
/// when one of them did not register its member settings: each agent's own config then says), and
/// for K3s/RKE2 the init node's join URL the other servers are pointed at. A snapshot without a
/// recorded sha256 (no sidecar) starts with none: the first node that computes it sets it.
/// </summary>
internal sealed record RestoreSource(
    string Sha256,
    bool InitHasLocalCopy,
    bool HasS3Copy,
    bool SafetySnapshot,
    string KubernetesVersion,
    string ClusterConfiguration,
    string InitialCluster = "",
    string JoinUrl = "");

/// <summary>Facts about phases.</summary>
internal static class OperationPhases
{
    public static bool IsTerminal(OperationPhase phase)
        => phase is OperationPhase.Finished or OperationPhase.Failed or OperationPhase.Cancelled;
}
