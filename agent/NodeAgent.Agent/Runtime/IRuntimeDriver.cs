using NodeAgent.Agent.Steps;

namespace NodeAgent.Agent.Runtime;

/// <summary>
/// What a restore needs from the runtime that owns the local etcd member: K3s and RKE2
/// (<see cref="DistributionDriver"/>) or a plain etcd the agent drives with commands from its
/// config (<see cref="EtcdDriver"/>). Each call is one step's work and says how it went; none
/// takes a secret.
/// </summary>
internal interface IRuntimeDriver
{
    /// <summary>k3s, rke2 or etcd.</summary>
    string Name { get; }

    /// <summary>Where the local member's etcd data lives (restores need free space there).</summary>
    string EtcdDataDir { get; }

    /// <summary>Stops everything the runtime runs on this node (k3s/rke2: the configured killall script; etcd: the stop command). Tolerates a runtime that is not installed.</summary>
    Task<StepOutcome> KillallAsync(CancellationToken cancellationToken);

    /// <summary>Runs the start command; waiting until etcd answers is the caller's.</summary>
    Task<StepOutcome> StartAsync(CancellationToken cancellationToken);

    /// <summary>Runs the service's restart command (k3s/rke2: the final pass of a restore, once the drop-in is gone).</summary>
    Task<StepOutcome> RestartAsync(CancellationToken cancellationToken);

    /// <summary>k3s/rke2: writes the restore's config drop-in holding <c>server: "&lt;server&gt;"</c> (see <see cref="RestoreDropIn"/>).</summary>
    StepOutcome WriteConfigDropIn(string server);

    /// <summary>k3s/rke2: removes the restore's config drop-in; absent is fine.</summary>
    StepOutcome RemoveConfigDropIn();

    /// <summary>k3s/rke2: removes <c>server/tls</c> and <c>server/cred</c> (regenerated from the restored bootstrap data on rejoin).</summary>
    StepOutcome RemoveServerCredentials();

    /// <summary>Drops this member's etcd data so it rejoins a restored cluster; nothing is deleted for good.</summary>
    Task<StepOutcome> RemoveEtcdDataAsync(bool tombstone, CancellationToken cancellationToken);

    /// <summary>
    /// Restores a plain snapshot file into the member's data dir (the runtime is stopped). The caller
    /// has verified the file (etcd's sha256 trailer); a driver need not hash it again.
    /// </summary>
    /// <param name="initialCluster">Plain etcd: the new cluster's members (name=peerURL,...) the plan names; empty: the agent's config says.</param>
    Task<StepOutcome> RestoreAsync(string snapshotPath, string initialCluster, CancellationToken cancellationToken);
}
