using Grpc.Core;
using NodeAgent.Contracts.V1;
using NodeAgent.Testing;
using NodeAgent.Testing.Agent;
using NodeAgent.Testing.EndToEnd;
using NodeAgent.Testing.Etcd;
using NodeAgent.Testing.Ordering;
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
[ExpectedDuration(100)]
public sealed class DisasterRecoveryEndToEndTests(SharedCeph servers) : IClassFixture<SharedCeph>, IAsyncLifetime
{
    private RestoreRig _rig = null!;
    private IReadOnlyDictionary<string, string> _expected = null!;

    private string AgentLogs => _rig.AgentLogs;

    public async Task InitializeAsync()
    {
        // Each agent's config still names all three members: the restore must not need it.
        _rig = await RestoreRig.StartAsync(servers.Ceph, "dr-", new RestoreRigOptions
        {
            ServerArgs = ["--node-unreachable-after", "10s"],
            KubernetesVersion = "",
            PollWait = "3s",
        });
        _expected = await EtcdData.ReadAllAsync(_rig.Etcd.Members[0].ClientUrl).DefaultTimeout();
        Assert.Equal(RestoreRig.Original.Select(k => k.Key), _expected.Keys);
    }

    public async Task DisposeAsync()
    {
        if (_rig is not null)
        {
            await _rig.DisposeAsync();
        }
    }

    [Fact]
    public async Task Restore_OneMemberLostAndRemoved_FinishesOnTheTwoLeft_KeysExact_MemberListExactlyThoseTwo()
    {
        var snapshot = await SnapshotAsync();
        await LoseAsync(2);
        await _rig.ChangeKeysAsync(member: 0);
        await UntilUnreachableAsync("node-3");

        await _rig.Clusters.DeleteNodeAsync(new DeleteNodeRequest { Cluster = "prod", Node = "node-3" }).ResponseAsync.DefaultTimeout();
        var ended = await _rig.RestoreAsync(snapshot);

        Assert.True(ended.Phase == OperationPhase.Finished, $"restore ended {ended.Phase}: {ended.Failure}\n{AgentLogs}");
        Assert.Equal(["node-1", "node-2"], ended.Nodes.Select(n => n.Node));
        await AssertRestoredAsync(_rig.Etcd.Members.Take(2).ToList());
    }

    [Fact]
    public async Task Restore_NodeUnreachable_RefusedNamingIt_StartsNothing()
    {
        await SnapshotAsync();
        var lost = _rig.Agents[2];
        _rig.Agents.RemoveAt(2);
        await lost.DisposeAsync();
        await UntilUnreachableAsync("node-3");

        var name = (await CatalogS3CopyAsync()).Name;
        var ex = await Assert.ThrowsAsync<RpcException>(() => _rig.Snapshots.RestoreSnapshotAsync(new RestoreSnapshotRequest
        {
            Cluster = "prod", Snapshot = name, RestoreMode = RestoreMode.None,
        }).ResponseAsync).DefaultTimeout();

        Assert.Equal(StatusCode.FailedPrecondition, ex.StatusCode);
        Assert.StartsWith("restore of cluster 'prod' refused: node node-3 (last seen ", ex.Status.Detail, StringComparison.Ordinal);
        Assert.EndsWith("is unreachable (not seen for over 10s); bring it back, or remove it with 'nodeagentctl node rm NODE --cluster prod'", ex.Status.Detail, StringComparison.Ordinal);
        var operations = (await _rig.Operations.ListOperationsAsync(new ListOperationsRequest { Cluster = "prod" }).ResponseAsync.DefaultTimeout()).Operations;
        Assert.Equal([OperationType.Snapshot], operations.Select(o => o.Type));
        foreach (var member in _rig.Etcd.Members)
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
            await _rig.Clusters.DeleteNodeAsync(new DeleteNodeRequest { Cluster = "prod", Node = node }).ResponseAsync.DefaultTimeout();
        }
        // No node is registered now. Setting the snapshot settings again makes the server list S3 at
        // once: the catalog's S3 copy is then the one the server read itself, before any agent reports.
        Assert.Empty((await _rig.Clusters.ListNodesAsync(new ListNodesRequest { Cluster = "prod" }).ResponseAsync.DefaultTimeout()).Nodes);
        var before = DateTimeOffset.UtcNow;
        await _rig.Clusters.SetSnapshotSettingsAsync(new SetSnapshotSettingsRequest { Cluster = "prod", SnapshotSettings = _rig.Settings }).ResponseAsync.DefaultTimeout();
        ListSnapshotsResponse? nodeless = null;
        await OperationWaits.UntilAsync(async ct =>
        {
            nodeless = await _rig.Snapshots.ListSnapshotsAsync(new ListSnapshotsRequest { Cluster = "prod" }, cancellationToken: ct);
            return nodeless.S3Listing.ListedAt is { } listed && listed.ToDateTimeOffset() >= before.AddSeconds(-1);
        });
        Assert.True(nodeless!.S3Listing.Error.Length == 0 && nodeless.S3Listing.Snapshots >= 1, $"server S3 listing: {nodeless.S3Listing}");
        Assert.Contains(nodeless.Snapshots, s => s.Storage == StorageKind.S3 && s.Name == snapshot && s.Sha256.Length == 64);
        // Nothing on disk but the agent's config, which names only this member's own peer URL.
        var replacements = _rig.StartFreshNodes(3, prefix: "new", firstNode: 4);
        await OperationWaits.UntilAsync(async ct => (await _rig.Clusters.ListNodesAsync(new ListNodesRequest { Cluster = "prod" }, cancellationToken: ct)).Nodes
            .Count(n => n.Name is "node-4" or "node-5" or "node-6" && n.AppliedChecksum.Length > 0 && n.AppliedChecksum == n.DesiredChecksum) == 3);
        await OperationWaits.UntilAsync(async ct => (await _rig.Snapshots.ListSnapshotsAsync(new ListSnapshotsRequest { Cluster = "prod" }, cancellationToken: ct))
            .Snapshots.Any(s => s.Storage == StorageKind.S3 && s.Name == snapshot));

        var ended = await _rig.RestoreAsync(snapshot);

        Assert.True(ended.Phase == OperationPhase.Finished, $"restore ended {ended.Phase}: {ended.Failure}\n{AgentLogs}");
        // The lost nodes were removed before the replacements came: the first of them to register became the init node.
        Assert.Contains(ended.InitNode, new[] { "node-4", "node-5", "node-6" });
        Assert.Contains($"{ended.InitNode} is the cluster's init node and live", ended.InitNodeReason, StringComparison.Ordinal);
        await AssertRestoredAsync(replacements);
    }

    /// <summary>A one-time snapshot, Finished, its S3 copy in the catalog; its name.</summary>
    private async Task<string> SnapshotAsync() => (await _rig.SnapshotAsync()).Name;

    private async Task<Snapshot> CatalogS3CopyAsync()
        => (await _rig.Snapshots.ListSnapshotsAsync(new ListSnapshotsRequest { Cluster = "prod", Storage = StorageKind.S3 }).ResponseAsync.DefaultTimeout()).Snapshots.First();

    /// <summary>Node <paramref name="index"/> is gone for good: its agent killed, its etcd member stopped, its data wiped.</summary>
    private async Task LoseAsync(int index)
    {
        var agent = _rig.Agents[index];
        _rig.Agents.RemoveAt(index);
        var state = agent.KillKeepingState();
        await agent.DisposeAsync();
        state.Dispose();
        var member = _rig.Etcd.Members[index];
        await member.StopAsync().WithTimeout(TestTimeouts.Slow);
        Directory.Delete(member.DataDir, recursive: true);
    }

    private Task UntilUnreachableAsync(string node)
        => OperationWaits.UntilAsync(async ct => (await _rig.Clusters.ListNodesAsync(new ListNodesRequest { Cluster = "prod" }, cancellationToken: ct))
            .Nodes.Single(n => n.Name == node).Unreachable);

    /// <summary>Every one of <paramref name="members"/> serves exactly the snapshot's keys, and etcd's member list is exactly them.</summary>
    private async Task AssertRestoredAsync(IReadOnlyList<ScriptedEtcdMember> members)
    {
        Assert.Equal(_expected, await _rig.AssertRestoredAsync(members));
        await RestoreRig.AssertMemberListAsync(members);
    }
}
