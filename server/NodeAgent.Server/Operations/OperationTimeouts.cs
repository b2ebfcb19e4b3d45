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

    /// <summary>A restore's checks before anything stops: safety snapshot, download, verification.</summary>
    public TimeSpan RestoreChecks { get; set; } = TimeSpan.FromMinutes(45);

    /// <summary>Every node stops its runtime (killall) and the other servers drop their etcd data.</summary>
    public TimeSpan RestoreShutdown { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>The init node (or, for plain etcd, every member) restores the snapshot.</summary>
    public TimeSpan Restore { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>The init node, then the others, start and are healthy.</summary>
    public TimeSpan RestoreRestart { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>Deadline of one attempt of a short restore step (killall, start, health).</summary>
    public TimeSpan RestoreStep { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How often deadlines are checked.</summary>
    public TimeSpan CheckInterval { get; set; } = TimeSpan.FromSeconds(5);
}
