namespace NodeAgent.Server.Operations;

/// <summary>How long each phase may take before the operation fails (nothing waits forever).</summary>
internal sealed class OperationTimeouts
{
    /// <summary>Every etcd node saves (and uploads) its snapshot.</summary>
    public TimeSpan SnapshotSave { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>Every node is back on its steady-state plan.</summary>
    public TimeSpan RestartCluster { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Every etcd node deletes its copies of a snapshot.</summary>
    public TimeSpan Delete { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Deadline of one attempt of one save instruction on a node.</summary>
    public TimeSpan SaveInstruction { get; set; } = TimeSpan.FromMinutes(25);

    /// <summary>How often deadlines are checked.</summary>
    public TimeSpan CheckInterval { get; set; } = TimeSpan.FromSeconds(5);
}
