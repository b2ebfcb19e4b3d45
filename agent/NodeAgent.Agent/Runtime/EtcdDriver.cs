using NodeAgent.Agent.Config;
using NodeAgent.Agent.Files;
using NodeAgent.Agent.Steps;

namespace NodeAgent.Agent.Runtime;

/// <summary>
/// A plain etcd member that the agent stops and starts with the commands in its config
/// (<c>etcd-stop-command</c>, <c>etcd-start-command</c>, each run by <c>/bin/sh -c</c>).
/// <para>
/// A restore follows etcd's documented disaster-recovery procedure for a multi-member cluster
/// ("Restoring a cluster", etcd.io/docs/v3.4/op-guide/recovery): EVERY member restores the SAME
/// snapshot file with <c>etcdctl snapshot restore</c>, each with its own <c>--name</c> and
/// <c>--initial-advertise-peer-urls</c> and the full <c>--initial-cluster</c>. All members then start
/// from the same revision as one new cluster with the old membership; none has to rejoin as a new
/// member (K3s's way, which needs the runtime to add members while it runs). The plan server
/// therefore sends the restore to every etcd node, with the same file, and starts them together
/// (a member answers clients only once a quorum of them is up).
/// </para>
/// <para>
/// etcdctl writes into a new dir next to the data dir; only a whole restore replaces the data dir
/// (old one moved aside as <c>&lt;data-dir&gt;.old-&lt;unix&gt;</c>, newest three kept), and the new dir
/// gets the old one's owner, since etcd usually runs as its own user while the agent is root.
/// </para>
/// </summary>
internal sealed class EtcdDriver(AgentOptions options, ProcessRunner runner, EtcdHealth health, TimeProvider time) : IRuntimeDriver
{
    /// <summary>How long the leader's stop waits for its peers to stop first (they stop in the same phase, within seconds).</summary>
    internal static readonly TimeSpan PeersFirstBound = TimeSpan.FromSeconds(30);

    public string Name => "etcd";

    public string EtcdDataDir => options.EtcdDataDir;

    /// <summary>
    /// A plain etcd has no killall script: stopping the member is all there is to kill. A restore
    /// stops every member at once; the leader goes last. etcd hands a stopping leader's leadership to
    /// a peer first, and when that peer is stopping too it waits its request timeout (7 s at the
    /// default election timeout) before it gives up; a leader whose peers are gone stops at once.
    /// </summary>
    public async Task<StepOutcome> KillallAsync(CancellationToken cancellationToken)
    {
        if (Missing("etcd-stop-command", options.EtcdStopCommand) is { } missing)
        {
            return missing;
        }
        var waited = await health.WaitForPeersToStopAsync(PeersFirstBound, cancellationToken);
        var stopped = (await runner.RunAsync(CommandSpec.Shell(options.EtcdStopCommand), cancellationToken)).ToOutcome("stopped etcd", retryable: true);
        return waited is null || !stopped.Succeeded ? stopped : stopped with { Message = $"stopped etcd {waited}" };
    }

    public async Task<StepOutcome> StartAsync(CancellationToken cancellationToken)
        => Missing("etcd-start-command", options.EtcdStartCommand)
            ?? (await runner.RunAsync(CommandSpec.Shell(options.EtcdStartCommand), cancellationToken)).ToOutcome("started etcd", retryable: true);

    public Task<StepOutcome> RestartAsync(CancellationToken cancellationToken) => Task.FromResult(NotForEtcd("StartRuntime with restart"));

    public StepOutcome WriteConfigDropIn(string server) => NotForEtcd("WriteConfigDropIn");

    public StepOutcome RemoveConfigDropIn() => NotForEtcd("RemoveConfigDropIn");

    public StepOutcome RemoveServerCredentials() => NotForEtcd("RemoveServerCredentials");

    /// <summary>The K3s/RKE2 rejoin steps have no meaning for a plain etcd member: a plan that sends one here is wrong.</summary>
    private static StepOutcome NotForEtcd(string instruction)
        => StepOutcome.Failure($"{instruction} is a k3s/rke2 instruction; this node's runtime is etcd: nothing was done", retryable: false);

    public Task<StepOutcome> RemoveEtcdDataAsync(bool tombstone, CancellationToken cancellationToken)
    {
        var dataDir = options.EtcdDataDir;
        if (Missing("etcd-data-dir", dataDir) is { } missing)
        {
            return Task.FromResult(missing);
        }
        return Task.FromResult(Directory.Exists(dataDir)
            ? StepOutcome.Success($"moved {dataDir} aside to {MoveAside(dataDir)} (kept; etcd has no tombstone)")
            : StepOutcome.Success($"no etcd data at {dataDir}: nothing to move aside"));
    }

    public async Task<StepOutcome> RestoreAsync(string snapshotPath, string initialCluster, CancellationToken cancellationToken)
    {
        var dataDir = options.EtcdDataDir;
        // The plan's members (the restoring nodes' own settings) come first: the cluster is rebuilt
        // of the nodes there are now, whatever members the config knew.
        var members = initialCluster.Length > 0 ? initialCluster : options.EtcdInitialCluster;
        if (Missing("etcd-data-dir", dataDir) is { } missing)
        {
            return missing;
        }
        if (members.Length == 0)
        {
            return StepOutcome.Failure(
                "runtime etcd: the restore names no initial cluster (a restoring node registered no etcd peer URLs) and etcd-initial-cluster is not set in the agent's config",
                retryable: false);
        }
        var peerUrls = PeerUrlsIn(members);
        if (peerUrls.Count == 0)
        {
            return StepOutcome.Failure($"the restore's initial cluster ({members}) has no member named {options.EffectiveEtcdName} (this node's etcd-name)", retryable: false);
        }
        if (!File.Exists(options.Etcdctl))
        {
            return StepOutcome.Failure($"etcdctl is not installed at {options.Etcdctl} (set etcdctl)", retryable: false);
        }
        var restoring = $"{dataDir}.restore-{time.GetUtcNow().ToUnixTimeSeconds()}";
        // Only a restore of ours makes <data-dir>.restore-<unix>, one at a time: any there now was
        // left by one whose agent died (and etcdctl refuses an existing dir).
        DataDirs.PruneAside(dataDir + ".restore-", keep: 0);
        Directory.CreateDirectory(Path.GetDirectoryName(dataDir)!);
        var command = new CommandSpec(options.Etcdctl,
        [
            "snapshot", "restore", snapshotPath,
            "--name", options.EffectiveEtcdName,
            "--initial-cluster", members,
            "--initial-advertise-peer-urls", string.Join(',', peerUrls),
            "--data-dir", restoring,
            // The caller verified etcd's trailer (RestoreSnapshotExecutor, just before; as the bytes
            // arrived for a download): etcdctl would read and hash the whole db once more, single
            // threaded, for seconds per GiB. It still strips the trailer before it opens the db.
            "--skip-hash-check",
        ])
        {
            Environment = new Dictionary<string, string>(StringComparer.Ordinal) { ["ETCDCTL_API"] = "3" },
        };
        var restored = await runner.RunAsync(command, cancellationToken);
        if (!restored.Succeeded)
        {
            if (Directory.Exists(restoring))
            {
                Directory.Delete(restoring, recursive: true);
            }
            return restored.ToOutcome("", retryable: false);
        }
        string? kept = null;
        if (Directory.Exists(dataDir))
        {
            var owner = await runner.RunAsync(new CommandSpec("/bin/chown", ["-R", $"--reference={dataDir}", restoring]), cancellationToken);
            if (!owner.Succeeded)
            {
                Directory.Delete(restoring, recursive: true);
                return StepOutcome.Failure($"the restore could not be given {dataDir}'s owner: {owner.ToOutcome("", retryable: false).Message}", retryable: false);
            }
            kept = MoveAside(dataDir);
        }
        Directory.Move(restoring, dataDir);
        LinuxFiles.FsyncDirectoryOf(dataDir);
        var message = $"restored {snapshotPath} into {dataDir} as member {options.EffectiveEtcdName} of {members}"
            + (kept is null ? "" : $"; the data from before the restore is kept at {kept}");
        return new StepOutcome(true, message, StdoutTail: restored.StdoutTail, StderrTail: restored.StderrTail);
    }

    /// <summary>This member's peer URLs in <paramref name="members"/> (name=peerURL,...).</summary>
    private List<string> PeerUrlsIn(string members)
        => members.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(m => m.Split('=', 2))
            .Where(p => p.Length == 2 && p[0] == options.EffectiveEtcdName)
            .Select(p => p[1])
            .ToList();

    private string MoveAside(string dataDir)
    {
        var aside = DataDirs.MoveAside(dataDir, dataDir + ".old-", time.GetUtcNow());
        DataDirs.PruneAside(dataDir + ".old-");
        return aside;
    }

    private static StepOutcome? Missing(string key, string value) => value.Length > 0 ? null : StepOutcome.Failure(
        $"runtime etcd: {key} is not set in the agent's config; this node takes snapshots, but the agent cannot stop, start or restore its etcd member without it",
        retryable: false);
}
