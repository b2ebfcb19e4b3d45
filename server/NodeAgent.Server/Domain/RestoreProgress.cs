namespace NodeAgent.Server.Domain;

/// <summary>Where a restore's <c>RestartCluster</c> phase stands.</summary>
internal enum RestartPass
{
    /// <summary>Not in <c>RestartCluster</c> yet.</summary>
    NotStarted = 0,

    /// <summary>K3s/RKE2 pass 1: the init node starts alone and is healthy.</summary>
    InitNode = 1,

    /// <summary>K3s/RKE2 pass 2: the other nodes start one at a time, servers pointed at the init node by the drop-in.</summary>
    Join = 2,

    /// <summary>K3s/RKE2 pass 3: one at a time, init node first, each server loses the drop-in and restarts.</summary>
    Final = 3,

    /// <summary>Shutdown failed: every node starts again on what it had (version rolled back where an install ran).</summary>
    Recovery = 4,

    /// <summary>Plain etcd: the members start together (they need each other for a quorum).</summary>
    AllMembers = 5,
}

/// <summary>
/// What a restore's phase machine learns and decides as it goes, kept with the operation so that a
/// restarted server resumes where it stood: the restart pass, the order in which the other nodes
/// start (fixed when the restore starts: etcd nodes by name, then control-plane-only nodes, then
/// workers), and the nodes where a runtime install may have run (a recovery rolls them back).
/// </summary>
internal sealed record RestoreProgress(RestartPass Pass, IReadOnlyList<string> JoinOrder, IReadOnlyList<string> Installed)
{
    /// <summary>What an operation stored before restores kept their progress resumes with: the other nodes by name.</summary>
    public static readonly RestoreProgress None = new(RestartPass.NotStarted, [], []);
}
