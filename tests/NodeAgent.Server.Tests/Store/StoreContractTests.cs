using Google.Protobuf.WellKnownTypes;
using NodeAgent.Contracts.V1;
using NodeAgent.Server.Domain;
using NodeAgent.Server.Errors;
using NodeAgent.Server.Store;
using NodeAgent.Server.Store.Etcd;
using NodeAgent.Testing;
using NodeAgent.Testing.Etcd;

namespace NodeAgent.Server.Tests.Store;

/// <summary>
/// What every store promises (<see cref="IPlanStore"/>, <see cref="IOperationStore"/>,
/// <see cref="ISnapshotCatalogStore"/>), run against each real store: SQLite in a temporary data
/// dir, and etcd on a real 3-member cluster (a key prefix per test).
/// </summary>
public abstract class StoreContractTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 6, 0, 0, TimeSpan.Zero);

    private protected abstract (IPlanStore Plans, IOperationStore Operations, ISnapshotCatalogStore Catalog) Open();

    [Fact]
    public async Task Cluster_AddGetListUpdate_RevisionMovesAndADuplicateIsRefused()
    {
        var (plans, _, _) = Open();
        var added = await plans.TryAddClusterAsync(Cluster("prod"), default).DefaultTimeout();
        Assert.NotNull(added);
        Assert.NotEqual(0, added.Revision);
        Assert.Null(await plans.TryAddClusterAsync(Cluster("prod"), default).DefaultTimeout());
        Assert.NotNull(await plans.TryAddClusterAsync(Cluster("dev"), default).DefaultTimeout());

        var read = await plans.GetClusterAsync("prod", default).DefaultTimeout();
        Assert.Equal(added, read);
        var updated = await plans.UpdateClusterAsync(read! with { KubernetesVersion = "v1.31.1+k3s1" }, default).DefaultTimeout();

        Assert.NotEqual(read!.Revision, updated.Revision);
        Assert.Equal(updated, await plans.GetClusterAsync("prod", default).DefaultTimeout());
        Assert.Equal(["dev", "prod"], (await plans.ListClustersAsync(default).DefaultTimeout()).Select(c => c.Name));
        Assert.Equal(5, (int)updated.SnapshotSettings.Retention);
    }

    [Fact]
    public async Task Cluster_TwoWritersFromOneRead_OneWinsTheOtherGetsAConflictAndNothingIsLost()
    {
        var (plans, _, _) = Open();
        await plans.TryAddClusterAsync(Cluster("prod"), default).DefaultTimeout();
        var first = (await plans.GetClusterAsync("prod", default).DefaultTimeout())!;
        var second = (await plans.GetClusterAsync("prod", default).DefaultTimeout())!;

        await plans.UpdateClusterAsync(first with { KubernetesVersion = "v1.31.0+k3s1" }, default).DefaultTimeout();
        var conflict = await Assert.ThrowsAsync<StoreConflictException>(
            () => plans.UpdateClusterAsync(second with { ClusterConfiguration = "lost?" }, default)).DefaultTimeout();

        Assert.StartsWith("cluster 'prod' was changed by another request (or another plan-server replica) since it was read", conflict.Message, StringComparison.Ordinal);
        var stored = (await plans.GetClusterAsync("prod", default).DefaultTimeout())!;
        Assert.Equal("v1.31.0+k3s1", stored.KubernetesVersion);
        Assert.Equal("", stored.ClusterConfiguration);
        // Read again, the second writer's change goes through on top of the first's.
        var redone = await plans.UpdateClusterAsync(stored with { ClusterConfiguration = "kept" }, default).DefaultTimeout();
        Assert.Equal(("v1.31.0+k3s1", "kept"), (redone.KubernetesVersion, redone.ClusterConfiguration));
    }

    [Fact]
    public async Task Cluster_ManyConcurrentWritersOfOneRevision_ExactlyOneWins()
    {
        var (plans, _, _) = Open();
        await plans.TryAddClusterAsync(Cluster("prod"), default).DefaultTimeout();
        var read = (await plans.GetClusterAsync("prod", default).DefaultTimeout())!;

        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(async i =>
        {
            try
            {
                await plans.UpdateClusterAsync(read with { KubernetesVersion = $"v1.3{i}.0" }, default);
                return i;
            }
            catch (StoreConflictException)
            {
                return -1;
            }
        })).DefaultTimeout();

        var winner = Assert.Single(results, r => r >= 0);
        Assert.Equal($"v1.3{winner}.0", (await plans.GetClusterAsync("prod", default).DefaultTimeout())!.KubernetesVersion);
    }

    [Fact]
    public async Task Node_RegisterTwiceAsNew_SecondConflicts_CredentialIndexFollowsTheNode()
    {
        var (plans, _, _) = Open();
        await plans.TryAddClusterAsync(Cluster("prod"), default).DefaultTimeout();
        var node = await plans.UpsertNodeAsync(Node("prod", "node-a", "hash-1"), default).DefaultTimeout();
        await Assert.ThrowsAsync<StoreConflictException>(() => plans.UpsertNodeAsync(Node("prod", "node-a", "hash-x"), default)).DefaultTimeout();

        var reRegistered = await plans.UpsertNodeAsync(Node("prod", "node-a", "hash-2") with { Revision = node.Revision }, default).DefaultTimeout();
        await plans.UpsertNodeAsync(Node("prod", "node-b", "hash-3"), default).DefaultTimeout();

        Assert.Null(await plans.FindNodeByCredentialHashAsync("hash-1", default).DefaultTimeout());
        Assert.Null(await plans.FindNodeByCredentialHashAsync("hash-x", default).DefaultTimeout());
        var found = await plans.FindNodeByCredentialHashAsync("hash-2", default).DefaultTimeout();
        Assert.Equal(("node-a", "hash-2", reRegistered.Revision), (found?.Name, found?.CredentialHash, found?.Revision));
        Assert.Equal(["node-a", "node-b"], (await plans.ListNodesAsync("prod", default).DefaultTimeout()).Select(n => n.Name));
        await Assert.ThrowsAsync<StoreConflictException>(() => plans.UpdateNodeAsync(node with { InitNode = false }, default)).DefaultTimeout();

        Assert.True(await plans.DeleteNodeAsync("prod", "node-a", default).DefaultTimeout());
        Assert.False(await plans.DeleteNodeAsync("prod", "node-a", default).DefaultTimeout());
        Assert.Null(await plans.FindNodeByCredentialHashAsync("hash-2", default).DefaultTimeout());
        Assert.Null(await plans.GetNodeAsync("prod", "node-a", default).DefaultTimeout());
    }

    [Fact]
    public async Task HasInitNode_FollowsTheNodesInitFlag_ThroughUpdatesAndRemoval()
    {
        var (plans, _, _) = Open();
        await plans.TryAddClusterAsync(Cluster("prod"), default).DefaultTimeout();
        Assert.False(await plans.HasInitNodeAsync("prod", default).DefaultTimeout());
        var a = await plans.UpsertNodeAsync(Node("prod", "node-a", "hash-a"), default).DefaultTimeout();
        var b = await plans.UpsertNodeAsync(Node("prod", "node-b", "hash-b") with { InitNode = false }, default).DefaultTimeout();
        Assert.True(await plans.HasInitNodeAsync("prod", default).DefaultTimeout());
        Assert.False(await plans.HasInitNodeAsync("dev", default).DefaultTimeout());

        // The init node moves: b first becomes one, then a stops being one (the order a restore's election uses does not matter).
        b = await plans.UpdateNodeAsync(b with { InitNode = true }, default).DefaultTimeout();
        a = await plans.UpdateNodeAsync(a with { InitNode = false }, default).DefaultTimeout();
        Assert.True(await plans.HasInitNodeAsync("prod", default).DefaultTimeout());
        await plans.UpdateNodeAsync(b with { InitNode = false }, default).DefaultTimeout();
        Assert.False(await plans.HasInitNodeAsync("prod", default).DefaultTimeout());

        await plans.UpdateNodeAsync(a with { InitNode = true }, default).DefaultTimeout();
        Assert.True(await plans.DeleteNodeAsync("prod", "node-a", default).DefaultTimeout());
        Assert.False(await plans.HasInitNodeAsync("prod", default).DefaultTimeout());
    }

    [Fact]
    public async Task Node_Update_KeepsEveryField()
    {
        var (plans, _, _) = Open();
        await plans.TryAddClusterAsync(Cluster("prod"), default).DefaultTimeout();
        var node = await plans.UpsertNodeAsync(Node("prod", "node-a", "hash-1"), default).DefaultTimeout();
        var changed = node with
        {
            LastSeen = T0.AddMinutes(3),
            AppliedChecksum = "sum",
            LastReportError = "disk full",
            EtcdMemberName = "m-a",
            EtcdPeerUrls = ["https://10.0.0.1:2380"],
            AdvertiseAddress = "10.0.0.1",
            RuntimeVersion = "k3s version v1.30.4+k3s1",
            RuntimeSnapshotsEnabled = true,
            Probes = [new NodeProbe("etcd", true, "ok", T0)],
            CredentialReset = true,
        };

        var stored = await plans.UpdateNodeAsync(changed, default).DefaultTimeout();
        var read = (await plans.GetNodeAsync("prod", "node-a", default).DefaultTimeout())!;

        Assert.Equal(stored.Revision, read.Revision);
        Assert.Equal((changed.LastSeen, changed.AppliedChecksum, changed.LastReportError, changed.EtcdMemberName, changed.AdvertiseAddress, changed.RuntimeVersion, true, true),
            (read.LastSeen, read.AppliedChecksum, read.LastReportError, read.EtcdMemberName, read.AdvertiseAddress, read.RuntimeVersion, read.RuntimeSnapshotsEnabled, read.CredentialReset));
        Assert.Equal(changed.EtcdPeerUrls, read.EtcdPeerUrls);
        Assert.Equal(changed.Probes, read.Probes);
        Assert.Equal(changed.Roles, read.Roles);
    }

    [Fact]
    public async Task Operation_OneActivePerCluster_EndFreesTheSlot_StaleWriteConflicts()
    {
        var (plans, operations, _) = Open();
        await plans.TryAddClusterAsync(Cluster("prod"), default).DefaultTimeout();
        var first = await operations.TryAddAsync(Operation("prod", "op-1", T0), default).DefaultTimeout();
        Assert.NotNull(first);
        Assert.Null(await operations.TryAddAsync(Operation("prod", "op-2", T0.AddSeconds(1)), default).DefaultTimeout());
        Assert.NotNull(await operations.TryAddAsync(Operation("dev", "op-3", T0.AddSeconds(2)), default).DefaultTimeout());
        Assert.Equal("op-1", (await operations.GetActiveAsync("prod", default).DefaultTimeout())!.Id);

        var running = await operations.UpdateAsync(first with { PhaseDeadline = T0.AddMinutes(5) }, default).DefaultTimeout();
        await Assert.ThrowsAsync<StoreConflictException>(() => operations.UpdateAsync(first with { Compress = true }, default)).DefaultTimeout();
        var ended = running.State.Clone();
        ended.Phase = OperationPhase.Finished;
        await operations.UpdateAsync(running with { State = ended }, default).DefaultTimeout();

        Assert.Null(await operations.GetActiveAsync("prod", default).DefaultTimeout());
        Assert.NotNull(await operations.TryAddAsync(Operation("prod", "op-4", T0.AddSeconds(3)), default).DefaultTimeout());
        Assert.Equal(["op-4", "op-1"], (await operations.ListAsync("prod", activeOnly: false, default).DefaultTimeout()).Select(o => o.Id));
        Assert.Equal(["op-4"], (await operations.ListAsync("prod", activeOnly: true, default).DefaultTimeout()).Select(o => o.Id));
        Assert.Equal(["op-3", "op-4"], (await operations.ListActiveAsync(default).DefaultTimeout()).Select(o => o.Id));
        var read = (await operations.GetAsync("op-1", default).DefaultTimeout())!;
        Assert.Equal((OperationPhase.Finished, T0.AddMinutes(5)), (read.State.Phase, read.PhaseDeadline));
        Assert.Equal("RUNTIME_K3S", read.Restore!.KubernetesVersion);
        Assert.Null(await operations.GetAsync("op-none", default).DefaultTimeout());
    }

    [Fact]
    public async Task Catalog_ReplaceInventory_PerNodeAndForS3_ListedNewestFirst()
    {
        var (plans, _, catalog) = Open();
        await plans.TryAddClusterAsync(Cluster("prod"), default).DefaultTimeout();
        await catalog.ReplaceInventoryAsync("prod", "node-a", [Local("a1", "node-a", 100), Local("a2", "node-a", 300), S3("s1", 200)], includesS3: true, default).DefaultTimeout();
        await catalog.ReplaceInventoryAsync("prod", "node-b", [Local("b1", "node-b", 150), S3("ignored", 999)], includesS3: false, default).DefaultTimeout();

        Assert.Equal(["a2", "s1", "b1", "a1"], (await catalog.ListAsync("prod", default).DefaultTimeout()).Select(s => s.Name));

        await catalog.ReplaceInventoryAsync("prod", "node-a", [Local("a3", "node-a", 400)], includesS3: true, default).DefaultTimeout();
        Assert.Equal(["a3", "b1"], (await catalog.ListAsync("prod", default).DefaultTimeout()).Select(s => s.Name));
        Assert.Empty(await catalog.ListAsync("dev", default).DefaultTimeout());

        await catalog.SaveConfigurationsAsync(new Dictionary<string, string> { ["abc"] = "cluster: config" }, default).DefaultTimeout();
        Assert.Equal("cluster: config", await catalog.GetConfigurationAsync("abc", default).DefaultTimeout());
        Assert.Null(await catalog.GetConfigurationAsync("def", default).DefaultTimeout());
    }

    [Fact]
    public async Task DeleteCluster_TakesItsNodesOperationsAndCatalog_LeavesOthers()
    {
        var (plans, operations, catalog) = Open();
        await plans.TryAddClusterAsync(Cluster("prod"), default).DefaultTimeout();
        await plans.TryAddClusterAsync(Cluster("prod2"), default).DefaultTimeout();
        await plans.UpsertNodeAsync(Node("prod", "node-a", "hash-1"), default).DefaultTimeout();
        await plans.UpsertNodeAsync(Node("prod2", "node-a", "hash-2"), default).DefaultTimeout();
        await operations.TryAddAsync(Operation("prod", "op-1", T0), default).DefaultTimeout();
        await catalog.ReplaceInventoryAsync("prod", "node-a", [Local("a1", "node-a", 100)], includesS3: false, default).DefaultTimeout();

        Assert.True(await plans.DeleteClusterAsync("prod", default).DefaultTimeout());
        Assert.False(await plans.DeleteClusterAsync("prod", default).DefaultTimeout());

        Assert.Null(await plans.GetClusterAsync("prod", default).DefaultTimeout());
        Assert.Empty(await plans.ListNodesAsync("prod", default).DefaultTimeout());
        Assert.Null(await plans.FindNodeByCredentialHashAsync("hash-1", default).DefaultTimeout());
        Assert.Null(await operations.GetAsync("op-1", default).DefaultTimeout());
        Assert.Null(await operations.GetActiveAsync("prod", default).DefaultTimeout());
        Assert.Empty(await catalog.ListAsync("prod", default).DefaultTimeout());
        Assert.NotNull(await plans.FindNodeByCredentialHashAsync("hash-2", default).DefaultTimeout());
        await plans.CheckWritableAsync(default).DefaultTimeout();
    }

    private static ClusterRecord Cluster(string name)
        => new(name, Runtime.K3S, "v1.30.4+k3s1", "", new SnapshotSettings { Retention = 5 }, "token-hash", "na-bootstrap-x", T0, T0);

    private static NodeRecord Node(string cluster, string name, string credentialHash)
        => new(cluster, name, [NodeRole.Etcd, NodeRole.ControlPlane], true, credentialHash, T0, T0, "", "0.1.0");

    private static OperationRecord Operation(string cluster, string id, DateTimeOffset created)
        => new(new Operation
        {
            Id = id,
            Cluster = cluster,
            Type = OperationType.Restore,
            Phase = OperationPhase.Started,
            CreatedAt = Timestamp.FromDateTimeOffset(created),
            UpdatedAt = Timestamp.FromDateTimeOffset(created),
        }, created.AddMinutes(1), false, new RestoreSource("sha", true, false, false, "RUNTIME_K3S", ""));

    private static Snapshot Local(string name, string node, long seconds) => new()
    {
        Name = name,
        Node = node,
        Storage = StorageKind.Local,
        Location = $"file:///var/lib/rancher/k3s/server/db/snapshots/{name}",
        CreatedAt = new Timestamp { Seconds = seconds },
    };

    private static Snapshot S3(string name, long seconds) => new()
    {
        Name = name,
        Storage = StorageKind.S3,
        Location = $"s3://bucket/folder/{name}",
        CreatedAt = new Timestamp { Seconds = seconds },
    };
}

public sealed class SqliteStoreContractTests : StoreContractTests, IDisposable
{
    private readonly TempDir _dir = new("nodeagent-store-contract-");

    private protected override (IPlanStore Plans, IOperationStore Operations, ISnapshotCatalogStore Catalog) Open()
    {
        var database = new SqliteDatabase(Path.Combine(_dir.Path, "plan-server.db"), usedBefore: null);
        return (new SqlitePlanStore(database), new SqliteOperationStore(database), new SqliteCatalogStore(database));
    }

    public void Dispose() => _dir.Dispose();
}

/// <summary>One 3-member etcd for every etcd store test; each test has its own key prefix.</summary>
public sealed class EtcdStoreFixture : IAsyncLifetime
{
    public EtcdCluster Cluster { get; private set; } = null!;

    public async Task InitializeAsync() => Cluster = await EtcdCluster.StartAsync(3).WithTimeout(TestTimeouts.Slow);

    public async Task DisposeAsync() => await Cluster.DisposeAsync();
}

public sealed class EtcdStoreContractTests(EtcdStoreFixture etcd) : StoreContractTests, IClassFixture<EtcdStoreFixture>, IDisposable
{
    private readonly List<IDisposable> _connections = [];

    private protected override (IPlanStore Plans, IOperationStore Operations, ISnapshotCatalogStore Catalog) Open()
    {
        var options = EtcdStoreOptions.TryCreate(etcd.Cluster.Endpoints, $"/test-{Guid.NewGuid():N}", null, null, null, out var error)
            ?? throw new InvalidOperationException(error);
        var connection = new EtcdConnection(options);
        _connections.Add(connection);
        var keys = new EtcdKeys(options.Prefix);
        return (new EtcdPlanStore(connection, keys), new EtcdOperationStore(connection, keys), new EtcdCatalogStore(connection, keys));
    }

    [Fact]
    public async Task FirstEndpointRefusesConnections_WritesGoToTheNextMemberOnce()
    {
        var closed = $"http://127.0.0.1:{FreePorts.Next()}";
        var options = EtcdStoreOptions.TryCreate($"{closed},{etcd.Cluster.Endpoints}", $"/test-{Guid.NewGuid():N}", null, null, null, out var error)
            ?? throw new InvalidOperationException(error);
        using var connection = new EtcdConnection(options);
        var plans = new EtcdPlanStore(connection, new EtcdKeys(options.Prefix));

        // Create-if-absent: a write sent twice would find its own first copy and say "exists".
        var added = await plans.TryAddClusterAsync(new ClusterRecord("prod", Runtime.Etcd, "", "", new SnapshotSettings(), "", "b", default, default), default).DefaultTimeout();

        Assert.NotNull(added);
        Assert.NotNull(await plans.GetClusterAsync("prod", default).DefaultTimeout());
    }

    public void Dispose()
    {
        foreach (var connection in _connections)
        {
            connection.Dispose();
        }
    }
}

/// <summary>
/// The etcd store under a member that hangs (SIGSTOP): on a 3-member cluster of its own, so the
/// re-election and catch-up that follow never slow the contract tests on theirs.
/// </summary>
public sealed class EtcdStoreFaultTests(EtcdStoreFixture etcd) : IClassFixture<EtcdStoreFixture>, IDisposable
{
    private readonly List<IDisposable> _connections = [];

    private (IPlanStore Plans, IOperationStore Operations) Open()
    {
        var options = EtcdStoreOptions.TryCreate(etcd.Cluster.Endpoints, $"/test-{Guid.NewGuid():N}", null, null, null, out var error)
            ?? throw new InvalidOperationException(error);
        var connection = new EtcdConnection(options);
        _connections.Add(connection);
        var keys = new EtcdKeys(options.Prefix);
        return (new EtcdPlanStore(connection, keys), new EtcdOperationStore(connection, keys));
    }

    [Fact]
    public async Task OneMemberHung_ReadsAndWritesGoOnThroughTheOthers()
    {
        var (plans, operations) = Open();
        await plans.TryAddClusterAsync(new ClusterRecord("prod", Runtime.Etcd, "", "", new SnapshotSettings(), "", "b", default, default), default).DefaultTimeout();
        // The first endpoint, the one calls go to first, hangs (SIGSTOP): no error comes back, only silence.
        etcd.Cluster.Members[0].Process.Signal("STOP");
        try
        {
            // A write that got no answer is not sent again (it may have been applied): it is reported,
            // and the next call goes to another member.
            var lost = await Assert.ThrowsAsync<StoreUnavailableException>(() => plans.TryAddClusterAsync(
                new ClusterRecord("dev", Runtime.Etcd, "", "", new SnapshotSettings(), "", "b", default, default), default)).WithTimeout(TestTimeouts.Default);
            Assert.Contains("it may or may not have been applied", lost.Message, StringComparison.Ordinal);
            var read = (await plans.GetClusterAsync("prod", default).WithTimeout(TestTimeouts.Default))!;
            var updated = await plans.UpdateClusterAsync(read with { KubernetesVersion = "v2" }, default).WithTimeout(TestTimeouts.Default);
            Assert.Equal("v2", updated.KubernetesVersion);
            Assert.Null(await operations.GetActiveAsync("prod", default).WithTimeout(TestTimeouts.Default));
        }
        finally
        {
            etcd.Cluster.Members[0].Process.Signal("CONT");
        }
        // Healthy again before the cluster goes: the member answers a write through itself alone.
        using var alone = new EtcdConnection(EtcdStoreOptions.TryCreate(etcd.Cluster.Members[0].ClientUrl, "/health", null, null, null, out _)!);
        await NodeAgent.Testing.PlanServer.OperationWaits.UntilAsync(async ct =>
        {
            try
            {
                await new EtcdPlanStore(alone, new EtcdKeys("/health")).CheckWritableAsync(ct);
                return true;
            }
            catch (StoreUnavailableException)
            {
                return false;
            }
        });
    }

    public void Dispose()
    {
        foreach (var connection in _connections)
        {
            connection.Dispose();
        }
    }
}
