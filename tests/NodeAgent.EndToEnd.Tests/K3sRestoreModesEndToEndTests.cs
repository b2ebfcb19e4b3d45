using NodeAgent.Contracts.V1;
using NodeAgent.Testing;
using NodeAgent.Testing.Agent;
using NodeAgent.Testing.K3s;
using NodeAgent.Testing.Ordering;
using NodeAgent.Testing.PlanServer;

namespace NodeAgent.EndToEnd.Tests;

/// <summary>
/// Restore modes on a K3s-shaped cluster, every part real but the runtime: a plan-server process,
/// three node-agent processes, and the K3s stand-in on real etcd (<see cref="K3sStandInCluster"/>).
/// The stand-in models what the modes act on: <c>k3s --version</c> reports the version its wrapper was
/// installed as, an air-gap dir of per-version wrappers, the config file and its drop-ins merged as
/// K3s merges them, the cluster-reset restore and the rejoin. It cannot model the install script
/// (nothing is downloaded here: the agents install from <c>runtime-versions-dir</c>), containerd,
/// kubelet or the Kubernetes version of the API server.
/// </summary>
[ExpectedDuration(140)]
public sealed class K3sRestoreModesEndToEndTests : IAsyncLifetime
{
    private const string Recorded = "v1.30.4+k3s1";
    private const string Upgraded = "v1.31.2+k3s1";
    private readonly List<AgentProcess> _agents = [];
    private PlanServerProcess _server = null!;
    private K3sStandInCluster _cluster = null!;
    private ClusterService.ClusterServiceClient _clusters = null!;
    private SnapshotService.SnapshotServiceClient _snapshots = null!;
    private OperationService.OperationServiceClient _operations = null!;

    public async Task InitializeAsync()
    {
        _server = await PlanServerProcess.StartAsync().WithTimeout(TestTimeouts.Slow);
        _cluster = K3sStandInCluster.Create("k3s", 3, Recorded);
        _cluster.WriteStandardConfigs();
        _cluster.Nodes[0].WriteDropIn("10-tuning.yaml", "etcd-snapshot-retention: \"7\"\n");
        await _cluster.StartInOrderAsync();
        var admin = _server.CreateAdminChannel();
        _clusters = new ClusterService.ClusterServiceClient(admin);
        _snapshots = new SnapshotService.SnapshotServiceClient(admin);
        _operations = new OperationService.OperationServiceClient(admin);
        var token = (await _clusters.CreateClusterAsync(new CreateClusterRequest
        {
            Name = "prod",
            Runtime = Contracts.V1.Runtime.K3S,
            KubernetesVersion = "v1.29.0+k3s1",
            SnapshotSettings = new SnapshotSettings { RecurringEnabled = false },
        }).ResponseAsync.DefaultTimeout()).BootstrapToken;
        foreach (var node in _cluster.Nodes)
        {
            var config = node.AgentConfig();
            config["server"] = _server.Address.ToString();
            config["server-ca"] = _server.CaFile!;
            config["cluster"] = "prod";
            config["token"] = token;
            config["runtime-versions-dir"] = node.RuntimeVersionsDir;
            _agents.Add(AgentProcess.Start(config));
        }
        await _clusters.UntilPlansAppliedAsync("prod", 3);
    }

    public async Task DisposeAsync()
    {
        foreach (var agent in _agents)
        {
            await agent.DisposeAsync();
        }
        await _cluster.DisposeAsync();
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task RestoreAll_AfterAnUpgrade_EveryNodeRunsTheSnapshotsVersionWithItsConfigAndSecretsKept()
    {
        var snapshot = await SnapshotOnNode1Async();
        Assert.Equal(Recorded, snapshot.KubernetesVersion);
        // The upgrade the restore undoes: a new binary and a changed config on every node.
        foreach (var node in _cluster.Nodes)
        {
            node.AddAvailableVersion(Recorded);
            File.Copy(node.AddAvailableVersion(Upgraded), node.RuntimeBinary, overwrite: true);
        }
        _cluster.Nodes[0].WriteDropIn("10-tuning.yaml", "etcd-snapshot-retention: \"3\"\n");
        _cluster.Nodes[0].WriteDropIn("20-after-upgrade.yaml", "kube-apiserver-arg+: \"feature-gates=Foo=true\"\n");

        var ended = await RestoreAsync(snapshot.Name, RestoreMode.All);

        Assert.True(ended.Phase == OperationPhase.Finished, $"restore ended {ended.Phase}: {ended.Failure}\n{AgentLogs}");
        foreach (var node in _cluster.Nodes)
        {
            var version = await node.RunAsync(["--version"]);
            Assert.StartsWith($"k3s version {Recorded} ", version.EnsureSuccess().StandardOutput, StringComparison.Ordinal);
            var config = await File.ReadAllTextAsync(node.ConfigPath);
            Assert.Contains($"token: \"{_cluster.Token}\"", config, StringComparison.Ordinal);
            Assert.Contains($"node-name: \"{node.Name}\"", config, StringComparison.Ordinal);
        }
        var first = _cluster.Nodes[0];
        Assert.Equal("etcd-snapshot-retention: \"7\"\n", await File.ReadAllTextAsync(Path.Combine(first.DropInDir, "10-tuning.yaml")));
        Assert.False(File.Exists(Path.Combine(first.DropInDir, "20-after-upgrade.yaml")));
        Assert.Single(Directory.GetFiles(first.DropInDir, "20-after-upgrade.yaml.pre-restore-*"));
        Assert.Contains("server: \"https://", await File.ReadAllTextAsync(_cluster.Nodes[1].ConfigPath), StringComparison.Ordinal);
        var members = await first.MembersAsync().WithTimeout(TestTimeouts.Slow);
        Assert.Equal(3, members.Count(m => !m.IsLearner));
    }

    [Fact]
    public async Task RestoreKubernetesVersion_VersionNowhereToBeHad_FailsInStartedWithEveryNodeRunning()
    {
        var snapshot = await SnapshotOnNode1Async();
        foreach (var node in _cluster.Nodes)
        {
            File.Copy(node.AddAvailableVersion(Upgraded), node.RuntimeBinary, overwrite: true);
        }

        var ended = await RestoreAsync(snapshot.Name, RestoreMode.KubernetesVersion);

        Assert.Equal(OperationPhase.Failed, ended.Phase);
        Assert.Equal(OperationPhase.Started, ended.Failure.Phase);
        Assert.Contains($"{Recorded} cannot be had", ended.Failure.Message, StringComparison.Ordinal);
        foreach (var node in _cluster.Nodes)
        {
            await node.WaitReadyAsync();
            Assert.StartsWith($"k3s version {Upgraded} ", (await node.RunAsync(["--version"])).EnsureSuccess().StandardOutput, StringComparison.Ordinal);
        }
        Assert.Equal(3, (await _cluster.Nodes[0].MembersAsync().WithTimeout(TestTimeouts.Slow)).Count(m => !m.IsLearner));
    }

    private async Task<Snapshot> SnapshotOnNode1Async()
    {
        var op = (await _snapshots.CreateSnapshotAsync(new CreateSnapshotRequest { Cluster = "prod" }).ResponseAsync.DefaultTimeout()).Operation;
        var ended = await _operations.WaitForEndAsync(op.Id, () => AgentLogs);
        Assert.True(ended.Phase == OperationPhase.Finished, $"snapshot ended {ended.Phase}: {ended.Failure}\n{AgentLogs}");
        Snapshot? snapshot = null;
        await OperationWaits.UntilAsync(async ct =>
        {
            var catalog = (await _snapshots.ListSnapshotsAsync(new ListSnapshotsRequest { Cluster = "prod" }, cancellationToken: ct)).Snapshots;
            snapshot = catalog.FirstOrDefault(s => s.Node == "node-1" && s.Storage == StorageKind.Local && s.ClusterConfigurationSha256.Length > 0);
            return snapshot is not null;
        });
        return snapshot!;
    }

    private async Task<Operation> RestoreAsync(string snapshot, RestoreMode mode)
    {
        var op = (await _snapshots.RestoreSnapshotAsync(new RestoreSnapshotRequest
        {
            Cluster = "prod", Snapshot = snapshot, RestoreMode = mode, SafetySnapshot = false,
        }).ResponseAsync.DefaultTimeout()).Operation;
        return await _operations.WaitForEndAsync(op.Id, () => AgentLogs);
    }

    private string AgentLogs => string.Join("\n", _agents.Select(a => a.Process.Output));
}
