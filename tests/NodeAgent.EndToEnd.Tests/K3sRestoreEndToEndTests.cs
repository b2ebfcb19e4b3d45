using NodeAgent.Contracts.V1;
using NodeAgent.Testing;
using NodeAgent.Testing.Agent;
using NodeAgent.Testing.Etcd;
using NodeAgent.Testing.K3s;
using NodeAgent.Testing.Ordering;
using NodeAgent.Testing.PlanServer;

namespace NodeAgent.EndToEnd.Tests;

/// <summary>
/// Issue 15's rejoin, end to end: a real plan-server process, three node-agent processes, and three
/// K3s- (or RKE2-) shaped servers on the k3s-standin (tests/NodeAgent.K3sStandIn) over real etcd.
/// node-1 is the original first server (K3s: <c>cluster-init: true</c>; RKE2 always inits), node-2 and
/// node-3 join it through <c>server: https://&lt;node-1&gt;:6443</c> (RKE2 :9345) with the same token. The
/// restore uses a LOCAL snapshot of node-2, so node-2 is the init node and node-1 (which has no
/// <c>server:</c> of its own) must be pointed at node-2 or it would start a second cluster with a new CA.
///
/// The stand-in models what decides the outcome: the merged config with our drop-in (<c>server: ""</c>,
/// then <c>server: https://&lt;init&gt;:port</c>), the existing / join / new decision on
/// <c>db/etcd/member/wal</c>, the tombstone (data moved aside, new name, join), learners added one at a
/// time and promoted by the leader, <c>--cluster-reset --cluster-reset-restore-path</c> with K3s's checks,
/// and a token-keyed bootstrap marker with a CA id, so "one cluster" is checked as member set, cluster id
/// and CA. It cannot model the apiserver and Nodes, the supervisor's <c>/db/info</c> and <c>/cacerts</c> (a
/// join reads the etcd on the server URL's host), mTLS and real certificates, the loopback-only listener of
/// a reset (every node shares this host's 127.0.0.1), RKE2's static pods and <c>force-restart</c>, or K3s's
/// exact timings (learners are promoted every 2 s here, 15 s in K3s).
/// </summary>
[ExpectedDuration(300)]
public sealed class K3sRestoreEndToEndTests : IAsyncLifetime
{
    private static readonly KeyValuePair<string, string>[] Original =
        [new("/app/a", "1"), new("/app/b", "2"), new("/app/c", "3")];

    private readonly List<AgentProcess> _agents = [];
    private PlanServerProcess _server = null!;
    private K3sStandInCluster? _cluster;

    public async Task InitializeAsync() => _server = await PlanServerProcess.StartAsync().WithTimeout(TestTimeouts.Slow);

    public async Task DisposeAsync()
    {
        foreach (var agent in _agents)
        {
            await agent.DisposeAsync();
        }
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
        await _server.DisposeAsync();
    }

    [Theory]
    [InlineData("k3s")]
    [InlineData("rke2")]
    public async Task Restore_LocalSnapshotOfANodeThatIsNotTheFirstServer_EveryServerRejoinsOneClusterWithTheSnapshotsKeys(string runtime)
    {
        var cluster = _cluster = K3sStandInCluster.Create(runtime, 3);
        cluster.WriteStandardConfigs();
        await cluster.StartInOrderAsync();
        var admin = _server.CreateAdminChannel();
        var clusters = new ClusterService.ClusterServiceClient(admin);
        var snapshots = new SnapshotService.SnapshotServiceClient(admin);
        var operations = new OperationService.OperationServiceClient(admin);
        var token = (await clusters.CreateClusterAsync(new CreateClusterRequest
        {
            Name = "prod",
            Runtime = runtime == "rke2" ? Contracts.V1.Runtime.Rke2 : Contracts.V1.Runtime.K3S,
            KubernetesVersion = K3sStandInCluster.DefaultVersion(runtime),
            SnapshotSettings = new SnapshotSettings { RecurringEnabled = false },
        }).ResponseAsync.DefaultTimeout()).BootstrapToken;
        foreach (var node in cluster.Nodes)
        {
            var config = node.AgentConfig();
            config["server"] = _server.Address.ToString();
            config["server-ca"] = _server.CaFile!;
            config["cluster"] = "prod";
            config["token"] = token;
            config["poll-wait"] = "20s";
            _agents.Add(AgentProcess.Start(config));
        }
        await clusters.UntilPlansAppliedAsync("prod", 3);
        await EtcdData.PutAsync(cluster.Nodes[0].ClientUrl, Original).WithTimeout(TestTimeouts.Default);
        var ca = cluster.Nodes[0].CaMarker;
        var expected = await cluster.Nodes[1].KeysAsync().DefaultTimeout();

        var snapshot = await LocalSnapshotAsync(snapshots, operations, "node-2");
        await EtcdData.PutAsync(cluster.Nodes[0].ClientUrl, [new("/app/a", "changed"), new("/app/new", "x")]).WithTimeout(TestTimeouts.Default);
        var op = (await snapshots.RestoreSnapshotAsync(new RestoreSnapshotRequest
        {
            Cluster = "prod", Snapshot = snapshot.Name, RestoreMode = RestoreMode.None, SafetySnapshot = false,
        }).ResponseAsync.DefaultTimeout()).Operation;
        var ended = await operations.WaitForEndAsync(op.Id, () => Logs(cluster));

        Assert.True(ended.Phase == OperationPhase.Finished, $"restore ended {ended.Phase}: {ended.Failure}\n{Logs(cluster)}");
        Assert.Equal("node-2", ended.InitNode);
        foreach (var node in cluster.Nodes)
        {
            await node.WaitReadyAsync();
        }
        var first = await cluster.Nodes[1].StatusAsync().DefaultTimeout();
        var names = (await cluster.Nodes[1].MembersAsync().DefaultTimeout()).Select(m => m.Name).Order().ToList();
        Assert.Equal(3, names.Count);
        foreach (var node in cluster.Nodes)
        {
            var members = await node.MembersAsync().DefaultTimeout();
            Assert.Equal(names, members.Select(m => m.Name).Order().ToList());
            Assert.All(members, m => Assert.False(m.IsLearner, $"{m.Name} is still a learner (seen from {node.Name})"));
            Assert.Contains(members, m => m.Name == node.MemberName && m.PeerUrl == node.PeerUrl);
            Assert.Equal(first.ClusterId, (await node.StatusAsync().DefaultTimeout()).ClusterId);
            Assert.Equal(ca, node.CaMarker);
            Assert.Equal(expected, await node.KeysAsync().DefaultTimeout());
            Assert.False(File.Exists(Path.Combine(node.DropInDir, "zz-nodeagent-restore.yaml")), $"{node.Name} still has the restore drop-in");
        }
        // node-2 ran the cluster-reset (it backs the certificates up to tls-<unix>); node-1 and node-3 rejoined through the tombstone.
        Assert.Single(Directory.GetDirectories(cluster.Nodes[1].ServerDir, "tls-*"));
        Assert.Contains("tombstone file has been detected, removing", cluster.Nodes[0].Log, StringComparison.Ordinal);
        Assert.Contains("tombstone file has been detected, removing", cluster.Nodes[2].Log, StringComparison.Ordinal);
    }

    private async Task<Snapshot> LocalSnapshotAsync(SnapshotService.SnapshotServiceClient snapshots, OperationService.OperationServiceClient operations, string node)
    {
        var op = (await snapshots.CreateSnapshotAsync(new CreateSnapshotRequest { Cluster = "prod" }).ResponseAsync.DefaultTimeout()).Operation;
        var ended = await operations.WaitForEndAsync(op.Id, () => AgentLogs);
        Assert.True(ended.Phase == OperationPhase.Finished, $"snapshot ended {ended.Phase}: {ended.Failure}\n{AgentLogs}");
        Snapshot? snapshot = null;
        await OperationWaits.UntilAsync(async ct =>
        {
            snapshot = (await snapshots.ListSnapshotsAsync(new ListSnapshotsRequest { Cluster = "prod" }, cancellationToken: ct)).Snapshots
                .FirstOrDefault(s => s.Node == node && s.Storage == StorageKind.Local);
            return snapshot is not null;
        });
        return snapshot!;
    }

    private string AgentLogs => string.Join("\n", _agents.Select(a => a.Process.Output));

    private string Logs(K3sStandInCluster cluster)
        => AgentLogs + "\n" + string.Join("\n", cluster.Nodes.Select(n => $"--- {n.Name} ({n.Runtime}) ---\n" + string.Join('\n', n.Log.Split('\n').Where(l => !l.StartsWith("{\"level\":\"info\"", StringComparison.Ordinal)))));
}
