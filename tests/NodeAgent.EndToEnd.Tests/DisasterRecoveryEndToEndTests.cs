using Grpc.Core;
using NodeAgent.Contracts.V1;
using NodeAgent.Testing;
using NodeAgent.Testing.Agent;
using NodeAgent.Testing.Etcd;
using NodeAgent.Testing.PlanServer;
using NodeAgent.Testing.S3;

namespace NodeAgent.EndToEnd.Tests;

/// <summary>
/// Etcd nodes lost for good, with every part real: a plan-server process (nodes unreachable after
/// 10s), a 3-member plain etcd whose members the agents stop and start with their scripts, node-agent
/// processes and Ceph RGW as the S3 target. (a) one member lost: removed, the two left restore as a
/// cluster of two; (c) a restore while a node is unreachable is refused and starts nothing; (b) every
/// member lost: three replacement nodes with new names and empty disks restore from S3.
/// </summary>
public sealed class DisasterRecoveryEndToEndTests(SharedCeph servers) : IClassFixture<SharedCeph>, IAsyncLifetime
{
    private static readonly KeyValuePair<string, string>[] Original =
        [new("/app/a", "1"), new("/app/b", "2"), new("/app/c", "3")];

    private readonly List<TempDir> _dirs = [];
    private readonly List<AgentProcess> _agents = [];
    private readonly List<ScriptedEtcdMember> _replacements = [];
    private PlanServerProcess _server = null!;
    private ScriptedEtcdCluster _etcd = null!;
    private string _token = "";
    private SnapshotSettings _settings = null!;
    private IReadOnlyDictionary<string, string> _expected = null!;
    private ClusterService.ClusterServiceClient _clusters = null!;
    private SnapshotService.SnapshotServiceClient _snapshots = null!;
    private OperationService.OperationServiceClient _operations = null!;

    public async Task InitializeAsync()
    {
        _server = await PlanServerProcess.StartAsync(extraArgs: ["--node-unreachable-after", "10s"]).WithTimeout(TestTimeouts.Slow);
        _etcd = await ScriptedEtcdCluster.StartAsync(3).WithTimeout(TestTimeouts.Slow);
        var bucket = "dr-" + Guid.NewGuid().ToString("N")[..12];
        await servers.Ceph.CreateBucketAsync(bucket).WithTimeout(TestTimeouts.Slow);
        var admin = _server.CreateAdminChannel();
        _clusters = new ClusterService.ClusterServiceClient(admin);
        _snapshots = new SnapshotService.SnapshotServiceClient(admin);
        _operations = new OperationService.OperationServiceClient(admin);
        _settings = new SnapshotSettings
        {
            RecurringEnabled = false,
            S3 = servers.Ceph.PlanS3Target(bucket, requestTimeout: TimeSpan.FromSeconds(20)),
        };
        _token = (await _clusters.CreateClusterAsync(new CreateClusterRequest
        {
            Name = "prod",
            Runtime = Contracts.V1.Runtime.Etcd,
            SnapshotSettings = _settings,
        }).ResponseAsync.DefaultTimeout()).BootstrapToken;
        for (var i = 0; i < 3; i++)
        {
            // Each agent's config still names all three members: the restore must not need it.
            StartAgent($"node-{i + 1}", _etcd.Members[i], initialCluster: true);
        }
        await _clusters.UntilPlansAppliedAsync("prod", 3);
        await EtcdData.PutAsync(_etcd.Members[0].ClientUrl, Original).WithTimeout(TestTimeouts.Slow);
        _expected = await EtcdData.ReadAllAsync(_etcd.Members[0].ClientUrl).DefaultTimeout();
        Assert.Equal(Original.Select(k => k.Key), _expected.Keys);
    }

    public async Task DisposeAsync()
    {
        foreach (var agent in _agents)
        {
            await agent.DisposeAsync();
        }
        foreach (var member in _replacements)
        {
            await member.DisposeAsync();
        }
        await _etcd.DisposeAsync();
        foreach (var dir in _dirs)
        {
            dir.Dispose();
        }
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task Restore_OneMemberLostAndRemoved_FinishesOnTheTwoLeft_KeysExact_MemberListExactlyThoseTwo()
    {
        var snapshot = await SnapshotAsync();
        await LoseAsync(2);
        await EtcdData.PutAsync(_etcd.Members[0].ClientUrl, [new("/app/a", "changed"), new("/app/new", "x")]).WithTimeout(TestTimeouts.Slow);
        await UntilUnreachableAsync("node-3");

        await _clusters.DeleteNodeAsync(new DeleteNodeRequest { Cluster = "prod", Node = "node-3" }).ResponseAsync.DefaultTimeout();
        var ended = await RestoreAsync(snapshot);

        Assert.True(ended.Phase == OperationPhase.Finished, $"restore ended {ended.Phase}: {ended.Failure}\n{AgentLogs}");
        Assert.Equal(["node-1", "node-2"], ended.Nodes.Select(n => n.Node));
        await AssertRestoredAsync(_etcd.Members.Take(2).ToList());
    }

    [Fact]
    public async Task Restore_NodeUnreachable_RefusedNamingIt_StartsNothing()
    {
        await SnapshotAsync();
        var lost = _agents[2];
        _agents.RemoveAt(2);
        await lost.DisposeAsync();
        await UntilUnreachableAsync("node-3");

        var name = (await CatalogS3CopyAsync()).Name;
        var ex = await Assert.ThrowsAsync<RpcException>(() => _snapshots.RestoreSnapshotAsync(new RestoreSnapshotRequest
        {
            Cluster = "prod", Snapshot = name, RestoreMode = RestoreMode.None,
        }).ResponseAsync).DefaultTimeout();

        Assert.Equal(StatusCode.FailedPrecondition, ex.StatusCode);
        Assert.StartsWith("restore of cluster 'prod' refused: node node-3 (last seen ", ex.Status.Detail, StringComparison.Ordinal);
        Assert.EndsWith("is unreachable (not seen for over 10s); bring it back, or remove it with 'nodeagentctl node rm NODE --cluster prod'", ex.Status.Detail, StringComparison.Ordinal);
        var operations = (await _operations.ListOperationsAsync(new ListOperationsRequest { Cluster = "prod" }).ResponseAsync.DefaultTimeout()).Operations;
        Assert.Equal([OperationType.Snapshot], operations.Select(o => o.Type));
        foreach (var member in _etcd.Members)
        {
            // Nothing was stopped: every member still serves the keys.
            Assert.Equal(_expected, await EtcdData.ReadAllAsync(member.ClientUrl).DefaultTimeout());
        }
    }

    [Fact]
    public async Task Restore_EveryMemberLost_ThreeReplacementNodesWithNewNamesAndEmptyDisks_Finished_ThreeMembers_KeysExact()
    {
        var snapshot = await SnapshotAsync();
        for (var i = 2; i >= 0; i--)
        {
            await LoseAsync(i);
        }
        foreach (var node in new[] { "node-1", "node-2", "node-3" })
        {
            await _clusters.DeleteNodeAsync(new DeleteNodeRequest { Cluster = "prod", Node = node }).ResponseAsync.DefaultTimeout();
        }
        // No node is registered now. Setting the snapshot settings again makes the server list S3 at
        // once: the catalog's S3 copy is then the one the server read itself, before any agent reports.
        Assert.Empty((await _clusters.ListNodesAsync(new ListNodesRequest { Cluster = "prod" }).ResponseAsync.DefaultTimeout()).Nodes);
        var before = DateTimeOffset.UtcNow;
        await _clusters.SetSnapshotSettingsAsync(new SetSnapshotSettingsRequest { Cluster = "prod", SnapshotSettings = _settings }).ResponseAsync.DefaultTimeout();
        ListSnapshotsResponse? nodeless = null;
        await OperationWaits.UntilAsync(async ct =>
        {
            nodeless = await _snapshots.ListSnapshotsAsync(new ListSnapshotsRequest { Cluster = "prod" }, cancellationToken: ct);
            return nodeless.S3Listing.ListedAt is { } listed && listed.ToDateTimeOffset() >= before.AddSeconds(-1);
        });
        Assert.True(nodeless!.S3Listing.Error.Length == 0 && nodeless.S3Listing.Snapshots >= 1, $"server S3 listing: {nodeless.S3Listing}");
        Assert.Contains(nodeless.Snapshots, s => s.Storage == StorageKind.S3 && s.Name == snapshot && s.Sha256.Length == 64);
        var root = new TempDir("nodeagent-replacements-");
        _dirs.Add(root);
        _replacements.AddRange(ScriptedEtcdMember.CreateCluster(root.Path, 3, prefix: "new"));
        for (var i = 0; i < 3; i++)
        {
            // Nothing on disk but the agent's config, which names only this member's own peer URL.
            StartAgent($"node-{i + 4}", _replacements[i], initialCluster: false);
        }
        await OperationWaits.UntilAsync(async ct => (await _clusters.ListNodesAsync(new ListNodesRequest { Cluster = "prod" }, cancellationToken: ct)).Nodes
            .Count(n => n.Name is "node-4" or "node-5" or "node-6" && n.AppliedChecksum.Length > 0 && n.AppliedChecksum == n.DesiredChecksum) == 3);
        await OperationWaits.UntilAsync(async ct => (await _snapshots.ListSnapshotsAsync(new ListSnapshotsRequest { Cluster = "prod" }, cancellationToken: ct))
            .Snapshots.Any(s => s.Storage == StorageKind.S3 && s.Name == snapshot));

        var ended = await RestoreAsync(snapshot);

        Assert.True(ended.Phase == OperationPhase.Finished, $"restore ended {ended.Phase}: {ended.Failure}\n{AgentLogs}");
        // The lost nodes were removed before the replacements came: the first of them to register became the init node.
        Assert.Contains(ended.InitNode, new[] { "node-4", "node-5", "node-6" });
        Assert.Contains($"{ended.InitNode} is the cluster's init node and live", ended.InitNodeReason, StringComparison.Ordinal);
        await AssertRestoredAsync(_replacements);
    }

    /// <summary>A one-time snapshot, Finished, its S3 copy in the catalog; its name.</summary>
    private async Task<string> SnapshotAsync()
    {
        var op = (await _snapshots.CreateSnapshotAsync(new CreateSnapshotRequest { Cluster = "prod" }).ResponseAsync.DefaultTimeout()).Operation;
        var ended = await _operations.WaitForEndAsync(op.Id, () => AgentLogs);
        Assert.True(ended.Phase == OperationPhase.Finished, $"snapshot ended {ended.Phase}: {ended.Failure}\n{AgentLogs}");
        string? name = null;
        await OperationWaits.UntilAsync(async ct =>
        {
            var catalog = (await _snapshots.ListSnapshotsAsync(new ListSnapshotsRequest { Cluster = "prod" }, cancellationToken: ct)).Snapshots;
            name = catalog.FirstOrDefault(s => s.Storage == StorageKind.S3 && s.Node == "node-1")?.Name;
            return name is not null;
        });
        return name!;
    }

    private async Task<Snapshot> CatalogS3CopyAsync()
        => (await _snapshots.ListSnapshotsAsync(new ListSnapshotsRequest { Cluster = "prod", Storage = StorageKind.S3 }).ResponseAsync.DefaultTimeout()).Snapshots.First();

    /// <summary>Node <paramref name="index"/> is gone for good: its agent killed, its etcd member stopped, its data wiped.</summary>
    private async Task LoseAsync(int index)
    {
        var agent = _agents[index];
        _agents.RemoveAt(index);
        var state = agent.KillKeepingState();
        await agent.DisposeAsync();
        state.Dispose();
        var member = _etcd.Members[index];
        await member.StopAsync().WithTimeout(TestTimeouts.Slow);
        Directory.Delete(member.DataDir, recursive: true);
    }

    private Task UntilUnreachableAsync(string node)
        => OperationWaits.UntilAsync(async ct => (await _clusters.ListNodesAsync(new ListNodesRequest { Cluster = "prod" }, cancellationToken: ct))
            .Nodes.Single(n => n.Name == node).Unreachable);

    private async Task<Operation> RestoreAsync(string snapshot)
    {
        var op = (await _snapshots.RestoreSnapshotAsync(new RestoreSnapshotRequest
        {
            Cluster = "prod", Snapshot = snapshot, RestoreMode = RestoreMode.None,
        }).ResponseAsync.DefaultTimeout()).Operation;
        return await _operations.WaitForEndAsync(op.Id, () => AgentLogs);
    }

    /// <summary>Every one of <paramref name="members"/> serves exactly the snapshot's keys, and etcd's member list is exactly them.</summary>
    private async Task AssertRestoredAsync(List<ScriptedEtcdMember> members)
    {
        foreach (var member in members)
        {
            await member.WaitHealthyAsync().WithTimeout(TestTimeouts.Slow);
            Assert.Equal(_expected, await EtcdData.ReadAllAsync(member.ClientUrl).DefaultTimeout());
        }
        var list = (await new Testing.Tools.Etcdctl(string.Join(',', members.Select(m => m.ClientUrl))).RunAsync(["member", "list"]))
            .EnsureSuccess().StandardOutput.Trim().Split('\n');
        Assert.Equal(members.Count, list.Length);
        foreach (var member in members)
        {
            Assert.Single(list, l => l.Contains($", started, {member.Name}, {member.PeerUrl}, ", StringComparison.Ordinal));
        }
    }

    private string AgentLogs => string.Join("\n", _agents.Select(a => a.Process.Output));

    private void StartAgent(string node, ScriptedEtcdMember member, bool initialCluster)
    {
        var dir = new TempDir("nodeagent-node-");
        _dirs.Add(dir);
        var config = AgentConfigs.ScriptedEtcd(_server, "prod", node, member, _token, Path.Combine(dir.Path, "data"));
        config["poll-wait"] = "3s";
        if (!initialCluster)
        {
            config.Remove("etcd-initial-cluster");
        }
        _agents.Add(AgentProcess.Start(config, dir));
    }
}
