using NodeAgent.Agent.Config;
using NodeAgent.Agent.Steps;

namespace NodeAgent.Agent.Runtime;

/// <summary>
/// K3s or RKE2, driven as Rancher's restore plan drives them (reference notes:
/// rancher-planner-and-system-agent.md §2.4–2.5, k3s-rke2-snapshots.md §5):
/// <list type="bullet">
/// <item>killall: <c>&lt;rt&gt;-killall.sh</c> with <c>&lt;RT&gt;_DATA_DIR</c>; a node with neither the binary nor the
/// script succeeds with "not installed", as Rancher's shutdown command does; on RKE2 etcd/control-plane nodes
/// <c>server/manifests/rke2-*.yaml</c> go too (rancher#41174).</item>
/// <item>start: the service command (<c>systemctl start k3s | rke2-server</c>); the killall script stops the units itself.</item>
/// <item>remove etcd data: with a tombstone, only <c>server/db/etcd/tombstone</c> (the runtime moves the data aside and
/// rejoins on its next start); without, <c>server/db/etcd</c> moved aside to <c>etcd-nodeagent-&lt;unix&gt;</c>.</item>
/// <item>remove server credentials: <c>server/tls</c> and <c>server/cred</c> (regenerated from the restored bootstrap data
/// when the node rejoins).</item>
/// <item>config drop-in: <see cref="RestoreDropIn"/> next to <c>runtime-config</c>; restart: the service's restart command.</item>
/// <item>restore: <c>server/db/etcd</c> moved aside, then <c>&lt;rt&gt; server --cluster-reset
/// --cluster-reset-restore-path=&lt;file&gt; --etcd-s3=false</c> with Rancher's two workaround flags (advertise on
/// the node's loopback, <c>[::1]</c> where it has no 127.0.0.1: rke2#4052/k3s#7147; <c>--etcd-disable-snapshots=false</c>:
/// k3s#8031), which exits 0 once the reset is done. The token is not passed: the runtime reads it from its own
/// config, never from argv.</item>
/// </list>
/// The data we move aside is named <c>etcd-nodeagent-&lt;unix&gt;</c> and only those are pruned (newest three kept):
/// K3s's own <c>etcd-old-&lt;unix&gt;</c> (cluster-reset) and <c>etcd-backup-&lt;unix&gt;</c> (tombstone) are never
/// touched, and a cluster-reset in the same second as our move cannot collide with ours.
/// </summary>
internal sealed class DistributionDriver(AgentOptions options, ProcessRunner runner, TimeProvider time) : IRuntimeDriver
{
    /// <summary>What our own moves of <c>server/db/etcd</c> are named after (then the unix time).</summary>
    public const string AsideInfix = "-nodeagent-";

    public string Name => RuntimeNaming.NameOf(options.Runtime);

    public string EtcdDataDir => Path.Combine(ServerDir, "db", "etcd");

    private string DataDir => options.EffectiveDataDir;

    private string ServerDir => Path.Combine(DataDir, "server");

    /// <summary>K3S_DATA_DIR / RKE2_DATA_DIR: the runtime's own variable for <c>--data-dir</c>.</summary>
    private Dictionary<string, string> Environment => new(StringComparer.Ordinal) { [RuntimeNaming.VariablePrefix(options.Runtime) + "_DATA_DIR"] = DataDir };

    public async Task<StepOutcome> KillallAsync(CancellationToken cancellationToken)
    {
        var path = options.EffectiveKillallScript;
        var binary = options.EffectiveRuntimeBinary;
        if (!Path.IsPathFullyQualified(path))
        {
            return StepOutcome.Failure($"killall script '{path}' must be an absolute path", retryable: false);
        }
        if (!File.Exists(binary) && !File.Exists(path))
        {
            return StepOutcome.Success($"{Name} is not installed (neither {binary} nor {path} exists): nothing to kill{RemoveManifests()}");
        }
        if (!File.Exists(path))
        {
            return StepOutcome.Failure($"{Name} is installed at {binary}, but its killall script {path} does not exist (set killall-script)", retryable: false);
        }
        var result = await RunAsync(new CommandSpec(path, []) { Environment = Environment }, cancellationToken);
        return result.Succeeded ? result.ToOutcome($"ran {path}{RemoveManifests()}", retryable: true) : result.ToOutcome("", retryable: true);
    }

    public async Task<StepOutcome> StartAsync(CancellationToken cancellationToken)
        => (await RunAsync(CommandSpec.Shell(options.EffectiveServiceStartCommand), cancellationToken))
            .ToOutcome($"started {Name} ({options.EffectiveServiceStartCommand})", retryable: true);

    public async Task<StepOutcome> RestartAsync(CancellationToken cancellationToken)
        => (await RunAsync(CommandSpec.Shell(options.EffectiveServiceRestartCommand), cancellationToken))
            .ToOutcome($"restarted {Name} ({options.EffectiveServiceRestartCommand})", retryable: true);

    public StepOutcome WriteConfigDropIn(string server)
        => StepOutcome.Success($"wrote {RestoreDropIn.Write(options.EffectiveRuntimeConfig, server)}: {RestoreDropIn.Content(server).TrimEnd()}"
            + (server.Length == 0 ? $" ({Name} bootstraps alone whatever its own config says)" : $" ({Name} joins {server} on its next start)"));

    public StepOutcome RemoveConfigDropIn()
        => RestoreDropIn.Remove(options.EffectiveRuntimeConfig)
            ? StepOutcome.Success($"removed {RestoreDropIn.PathFor(options.EffectiveRuntimeConfig)}")
            : StepOutcome.Success($"no {RestoreDropIn.PathFor(options.EffectiveRuntimeConfig)}: nothing to remove");

    public StepOutcome RemoveServerCredentials()
    {
        var done = new List<string>();
        foreach (var dir in new[] { Path.Combine(ServerDir, "tls"), Path.Combine(ServerDir, "cred") })
        {
            if (Directory.Exists(dir))
            {
                Directory.Delete(dir, recursive: true);
                done.Add($"removed {dir}");
            }
            else
            {
                done.Add($"no {dir}");
            }
        }
        return StepOutcome.Success($"{string.Join("; ", done)} ({Name} regenerates them from the restored cluster's bootstrap data when it rejoins)");
    }

    public Task<StepOutcome> RemoveEtcdDataAsync(bool tombstone, CancellationToken cancellationToken)
    {
        var etcd = EtcdDataDir;
        if (!tombstone)
        {
            return Task.FromResult(Directory.Exists(etcd)
                ? StepOutcome.Success($"moved {etcd} aside to {MoveEtcdAside()}")
                : StepOutcome.Success($"no etcd data at {etcd}: nothing to move aside"));
        }
        if (!Directory.Exists(etcd))
        {
            return Task.FromResult(StepOutcome.Success($"no etcd data at {etcd}: no tombstone needed"));
        }
        var marker = Path.Combine(etcd, "tombstone");
        new FileStream(marker, new FileStreamOptions
        {
            Mode = FileMode.OpenOrCreate,
            Access = FileAccess.Write,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        }).Dispose();
        Files.LinuxFiles.FsyncDirectoryOf(marker);
        return Task.FromResult(StepOutcome.Success($"wrote {marker} ({Name} moves its etcd data aside and rejoins on its next start)"));
    }

    public async Task<StepOutcome> RestoreAsync(string snapshotPath, string initialCluster, CancellationToken cancellationToken)
    {
        var binary = options.EffectiveRuntimeBinary;
        if (!File.Exists(binary))
        {
            return StepOutcome.Failure($"{Name} is not installed at {binary} (set runtime-binary): cannot run the cluster-reset restore", retryable: false);
        }
        var kept = Directory.Exists(EtcdDataDir) ? $"; the etcd data from before the restore is kept at {MoveEtcdAside()}" : "";
        var command = new CommandSpec(binary,
        [
            "server",
            "--cluster-reset",
            $"--cluster-reset-restore-path={snapshotPath}",
            "--etcd-s3=false",
            $"--etcd-arg=advertise-client-urls=https://{LoopbackAddress.OfHost()}:2379",
            "--etcd-disable-snapshots=false",
        ])
        {
            Environment = Environment,
            WorkingDirectory = Directory.Exists(DataDir) ? DataDir : "/",
        };
        var result = await RunAsync(command, cancellationToken);
        var outcome = result.ToOutcome($"{Name} server --cluster-reset restored {snapshotPath}{kept}; start {Name} normally next", retryable: false);
        return result.Succeeded ? outcome : outcome with { Message = outcome.Message + kept };
    }

    private string MoveEtcdAside()
    {
        var aside = DataDirs.MoveAside(EtcdDataDir, EtcdDataDir + AsideInfix, time.GetUtcNow());
        DataDirs.PruneAside(EtcdDataDir + AsideInfix);
        return aside;
    }

    /// <summary>RKE2 etcd/control-plane nodes: the static-pod manifests go, so a start does not bring the old control plane back.</summary>
    private string RemoveManifests()
    {
        var manifests = Path.Combine(ServerDir, "manifests");
        if (options.Runtime != Contracts.V1.Runtime.Rke2 || !options.Roles.Any(r => r is "etcd" or "control-plane") || !Directory.Exists(manifests))
        {
            return "";
        }
        var removed = Directory.GetFiles(manifests, "rke2-*.yaml");
        foreach (var file in removed)
        {
            File.Delete(file);
        }
        return removed.Length == 0 ? "" : $"; removed {string.Join(", ", removed.Select(Path.GetFileName))} from {manifests}";
    }

    private Task<CommandResult> RunAsync(CommandSpec command, CancellationToken cancellationToken) => runner.RunAsync(command, cancellationToken);
}
