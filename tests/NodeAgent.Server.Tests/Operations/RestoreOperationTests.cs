using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.Time.Testing;
using NodeAgent.Contracts.V1;
using NodeAgent.Testing;
using NodeAgent.Testing.PlanServer;

namespace NodeAgent.Server.Tests;

/// <summary>
/// The restore operation on the real plan server, with agents simulated over real gRPC so each
/// phase can be stepped and inspected (end-to-end restores with real agents and etcd are in the
/// agent tests).
/// </summary>
public sealed class RestoreOperationTests : IAsyncLifetime
{
    private const string Snapshot = "on-demand-node-a-1700000000";
    private const string Sha = "5f4c3b2a19087766554433221100ffeeddccbbaa99887766554433221100ffee";
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 24, 12, 0, 0, TimeSpan.Zero));
    private InProcessPlanServer _server = null!;
    private ClusterService.ClusterServiceClient _clusters = null!;
    private SnapshotService.SnapshotServiceClient _snapshots = null!;
    private OperationService.OperationServiceClient _operations = null!;
    private SimulatedAgent _a = null!;
    private SimulatedAgent _b = null!;
    private SimulatedAgent _c = null!;
    private string _bootstrapToken = "";

    public async Task InitializeAsync()
    {
        _server = await InProcessPlanServer.StartAsync(_time).WithTimeout(TestTimeouts.Slow);
        var admin = _server.CreateAdminChannel();
        _clusters = new ClusterService.ClusterServiceClient(admin);
        _snapshots = new SnapshotService.SnapshotServiceClient(admin);
        _operations = new OperationService.OperationServiceClient(admin);
        var created = await _clusters.CreateClusterAsync(new CreateClusterRequest
        {
            Name = "prod", Runtime = Runtime.K3S, KubernetesVersion = "v1.30.4+k3s1", ClusterConfiguration = "{\"cni\":\"flannel\"}",
        }).ResponseAsync.DefaultTimeout();
        _a = await RegisterAsync("node-a", created.BootstrapToken, "10.0.0.1");
        _b = await RegisterAsync("node-b", created.BootstrapToken, "10.0.0.2");
        _c = await RegisterAsync("node-c", created.BootstrapToken, "10.0.0.3");
        _bootstrapToken = created.BootstrapToken;
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Restore_LocalSnapshot_RunsEveryPhaseInOrder_InitNodeFirst_ThenFinished()
    {
        await ReportSnapshotAsync("v1.29.2+k3s1");
        var op = await RestoreAsync(RestoreMode.KubernetesVersion);

        Assert.Equal("node-a", op.InitNode);
        Assert.Equal(OperationPhase.Started, op.Phase);
        // Started: only the node holding the file checks it (after a safety snapshot), every node
        // whether it can have the snapshot's runtime version; nothing stops.
        var a = await _a.GetPlanAsync();
        Assert.Equal(["started/safety-snapshot", "started/verify-snapshot", "started/check-runtime-version"], a.Operation.Instructions.Select(i => i.Id));
        Assert.True(a.Operation.Instructions[0].SaveSnapshot.SkipIfEtcdDown);
        Assert.Equal(Sha, a.Operation.Instructions[1].VerifySnapshot.Sha256);
        Assert.Equal("v1.29.2+k3s1", a.Operation.Instructions[2].CheckRuntimeVersion.Version);
        var b = await _b.GetPlanAsync();
        var c = await _c.GetPlanAsync();
        Assert.Equal(["started/check-runtime-version"], b.Operation.Instructions.Select(i => i.Id));
        await ReportAsync(_a, a, ("started/safety-snapshot", StepState.Skipped), ("started/verify-snapshot", StepState.Succeeded), ("started/check-runtime-version", StepState.Succeeded));
        await ReportAsync(_b, b, ("started/check-runtime-version", StepState.Succeeded));
        await ReportAsync(_c, c, ("started/check-runtime-version", StepState.Succeeded));

        // Shutdown: killall and the snapshot's runtime version everywhere; nothing destroyed yet.
        Assert.Equal(OperationPhase.Shutdown, (await GetAsync(op.Id)).Phase);
        Assert.Equal("v1.29.2+k3s1", (await _clusters.GetClusterAsync(new GetClusterRequest { Name = "prod" }).ResponseAsync.DefaultTimeout()).Cluster.KubernetesVersion);
        foreach (var agent in new[] { _a, _b, _c })
        {
            var plan = await agent.GetPlanAsync();
            Assert.Equal(["shutdown/killall", "shutdown/install-runtime-version"], plan.Operation.Instructions.Select(i => i.Id));
            await ReportAsync(agent, plan, ("shutdown/killall", StepState.Succeeded), ("shutdown/install-runtime-version", StepState.Succeeded));
        }

        // Restore: the init node bootstraps alone and restores; the other servers are tombstoned and
        // lose their credentials; no cancelling from here on.
        var restoring = await GetAsync(op.Id);
        Assert.Equal(OperationPhase.Restore, restoring.Phase);
        Assert.False(restoring.Cancellable);
        var cancel = await Assert.ThrowsAsync<RpcException>(() => _operations.CancelOperationAsync(new CancelOperationRequest { Id = op.Id }).ResponseAsync).DefaultTimeout();
        Assert.Equal(StatusCode.FailedPrecondition, cancel.StatusCode);
        Assert.Contains("no datastore", cancel.Status.Detail, StringComparison.Ordinal);
        a = await _a.GetPlanAsync();
        Assert.Equal(["restore/write-config-drop-in", "restore/restore-snapshot"], a.Operation.Instructions.Select(i => i.Id));
        Assert.Equal(Snapshot, a.Operation.Instructions[1].RestoreSnapshot.Snapshot);
        b = await _b.GetPlanAsync();
        c = await _c.GetPlanAsync();
        Assert.Equal(["restore/remove-etcd-data", "restore/remove-server-credentials"], b.Operation.Instructions.Select(i => i.Id));
        Assert.True(b.Operation.Instructions[0].RemoveEtcdData.Tombstone);
        await ReportAsync(_a, a, ("restore/write-config-drop-in", StepState.Succeeded), ("restore/restore-snapshot", StepState.Succeeded));
        await ReportAsync(_b, b, ("restore/remove-etcd-data", StepState.Succeeded), ("restore/remove-server-credentials", StepState.Succeeded));
        await ReportAsync(_c, c, ("restore/remove-etcd-data", StepState.Succeeded), ("restore/remove-server-credentials", StepState.Succeeded));

        // RestartCluster: the init node starts and is healthy before the others start, one at a time.
        Assert.Equal(OperationPhase.RestartCluster, (await GetAsync(op.Id)).Phase);
        a = await _a.GetPlanAsync();
        Assert.Equal(["restart-cluster/start-runtime", "restart-cluster/wait-healthy"], a.Operation.Instructions.Select(i => i.Id));
        Assert.Null((await _b.GetPlanAsync()).Operation);
        await ReportAsync(_a, a, ("restart-cluster/start-runtime", StepState.Succeeded), ("restart-cluster/wait-healthy", StepState.Succeeded));
        foreach (var agent in new[] { _b, _c })
        {
            var plan = await agent.GetPlanAsync();
            Assert.Equal(["restart-cluster/write-config-drop-in", "restart-cluster/start-runtime", "restart-cluster/wait-healthy"], plan.Operation.Instructions.Select(i => i.Id));
            await ReportAsync(agent, plan, ("restart-cluster/write-config-drop-in", StepState.Succeeded), ("restart-cluster/start-runtime", StepState.Succeeded), ("restart-cluster/wait-healthy", StepState.Succeeded));
        }
        foreach (var agent in new[] { _a, _b, _c })
        {
            var plan = await agent.GetPlanAsync();
            await ReportAsync(agent, plan, ("restart-cluster/final-remove-config-drop-in", StepState.Succeeded), ("restart-cluster/final-restart-runtime", StepState.Succeeded),
                ("restart-cluster/final-wait-healthy", StepState.Succeeded));
        }

        var finished = await GetAsync(op.Id);
        Assert.Equal(OperationPhase.Finished, finished.Phase);
        Assert.Null((await _a.GetPlanAsync()).Operation);
    }

    [Fact]
    public async Task Restore_WorkerNode_StopsAndStartsWithoutWaitingForAnEtcdItDoesNotHave()
    {
        var worker = await SimulatedAgent.RegisterAsync(_server, "prod", "node-w", _bootstrapToken, NodeRole.Worker);
        await ReportSnapshotAsync("v1.30.4+k3s1");
        var op = await RestoreAsync(RestoreMode.None, safety: false);
        Assert.Contains(op.Nodes, n => n.Node == "node-w");

        var a = await _a.GetPlanAsync();
        Assert.Null((await worker.GetPlanAsync()).Operation);
        await ReportAsync(_a, a, ("started/verify-snapshot", StepState.Succeeded));
        var w = await worker.GetPlanAsync();
        Assert.Equal(["shutdown/killall"], w.Operation.Instructions.Select(i => i.Id));
        foreach (var agent in new[] { _a, _b, _c, worker })
        {
            await ReportAsync(agent, await agent.GetPlanAsync(), ("shutdown/killall", StepState.Succeeded));
        }
        Assert.Null((await worker.GetPlanAsync()).Operation);
        await ReportAsync(_a, await _a.GetPlanAsync(), ("restore/write-config-drop-in", StepState.Succeeded), ("restore/restore-snapshot", StepState.Succeeded));
        foreach (var other in new[] { _b, _c })
        {
            await ReportAsync(other, await other.GetPlanAsync(), ("restore/remove-etcd-data", StepState.Succeeded), ("restore/remove-server-credentials", StepState.Succeeded));
        }
        a = await _a.GetPlanAsync();
        Assert.False(a.Operation.Instructions[0].StartRuntime.SkipEtcdWait);
        await ReportAsync(_a, a, ("restart-cluster/start-runtime", StepState.Succeeded), ("restart-cluster/wait-healthy", StepState.Succeeded));
        foreach (var other in new[] { _b, _c })
        {
            Assert.Null((await worker.GetPlanAsync()).Operation);
            await ReportAsync(other, await other.GetPlanAsync(), ("restart-cluster/write-config-drop-in", StepState.Succeeded),
                ("restart-cluster/start-runtime", StepState.Succeeded), ("restart-cluster/wait-healthy", StepState.Succeeded));
        }

        // The worker starts last, without waiting for an etcd, and has no drop-in to remove on the final pass.
        w = await worker.GetPlanAsync();
        var start = Assert.Single(w.Operation.Instructions);
        Assert.Equal("restart-cluster/start-runtime", start.Id);
        Assert.True(start.StartRuntime.SkipEtcdWait);
        await ReportAsync(worker, w, ("restart-cluster/start-runtime", StepState.Succeeded));
        foreach (var agent in new[] { _a, _b, _c })
        {
            Assert.Null((await worker.GetPlanAsync()).Operation);
            await ReportAsync(agent, await agent.GetPlanAsync(), ("restart-cluster/final-remove-config-drop-in", StepState.Succeeded),
                ("restart-cluster/final-restart-runtime", StepState.Succeeded), ("restart-cluster/final-wait-healthy", StepState.Succeeded));
        }
        Assert.Equal(OperationPhase.Finished, (await GetAsync(op.Id)).Phase);
    }

    [Fact]
    public async Task Restore_VerificationFails_FailsInStarted_AndNoNodeIsToldToStop()
    {
        await ReportSnapshotAsync("v1.30.4+k3s1");
        var op = await RestoreAsync(RestoreMode.None, safety: false);
        var a = await _a.GetPlanAsync();

        await ReportAsync(_a, a, ("started/verify-snapshot", StepState.Failed, "sha256 of on-demand-node-a-1700000000 is 00ff..., expected 5f4c..."));

        var failed = await GetAsync(op.Id);
        Assert.Equal(OperationPhase.Failed, failed.Phase);
        Assert.Equal(OperationPhase.Started, failed.Failure.Phase);
        Assert.Equal("started/verify-snapshot", failed.Failure.InstructionId);
        Assert.Contains("expected 5f4c", failed.Failure.Message, StringComparison.Ordinal);
        foreach (var agent in new[] { _a, _b, _c })
        {
            Assert.Null((await agent.GetPlanAsync()).Operation);
        }
        Assert.Equal("v1.30.4+k3s1", (await _clusters.GetClusterAsync(new GetClusterRequest { Name = "prod" }).ResponseAsync.DefaultTimeout()).Cluster.KubernetesVersion);
    }

    [Fact]
    public async Task Restore_ModeAll_TakesVersionAndConfiguration_ModeNoneLeavesThem()
    {
        await ReportSnapshotAsync("v1.29.2+k3s1", configuration: RuntimeConfig("cni: calico\n"));
        var op = await RestoreAsync(RestoreMode.All, safety: false);
        await PassStartedAsync();

        var cluster = (await _clusters.GetClusterAsync(new GetClusterRequest { Name = "prod" }).ResponseAsync.DefaultTimeout()).Cluster;
        Assert.Equal("v1.29.2+k3s1", cluster.KubernetesVersion);
        Assert.Equal(RuntimeConfig("cni: calico\n"), cluster.ClusterConfiguration);
        await _operations.CancelOperationAsync(new CancelOperationRequest { Id = op.Id }).ResponseAsync.DefaultTimeout();

        var none = await RestoreAsync(RestoreMode.None, safety: false);
        await ReportAsync(_a, await _a.GetPlanAsync(), ("started/verify-snapshot", StepState.Succeeded));
        Assert.Equal(OperationPhase.Shutdown, (await GetAsync(none.Id)).Phase);
        Assert.Equal("v1.29.2+k3s1", (await _clusters.GetClusterAsync(new GetClusterRequest { Name = "prod" }).ResponseAsync.DefaultTimeout()).Cluster.KubernetesVersion);
    }

    [Theory]
    [InlineData("on-demand-node-a-1600000000", "v1.30.4+k3s1", "", RestoreMode.None, StatusCode.NotFound, "is not in the catalog")]
    [InlineData(Snapshot, "v1.24.9+k3s1", "", RestoreMode.None, StatusCode.FailedPrecondition, "before 1.25")]
    [InlineData(Snapshot, "", "", RestoreMode.KubernetesVersion, StatusCode.FailedPrecondition, "records no runtime version; restore with mode none")]
    [InlineData(Snapshot, "v1.30.4+k3s1", "", RestoreMode.All, StatusCode.FailedPrecondition, "records no runtime configuration files")]
    [InlineData(Snapshot, "v1.30.4+k3s1", "0123456789ab", RestoreMode.None, StatusCode.FailedPrecondition, "another server token")]
    [InlineData("../etc/passwd", "v1.30.4+k3s1", "", RestoreMode.None, StatusCode.InvalidArgument, "snapshot")]
    public async Task Restore_RefusedRequest_SaysWhy_AndStartsNothing(string name, string version, string tokenHash, RestoreMode mode, StatusCode code, string expected)
    {
        await _clusters.UpdateClusterAsync(new UpdateClusterRequest { Name = "prod", TokenHash = "fedcba987654" }).ResponseAsync.DefaultTimeout();
        await ReportSnapshotAsync(version, tokenHash: tokenHash);

        var ex = await Assert.ThrowsAsync<RpcException>(() => _snapshots.RestoreSnapshotAsync(new RestoreSnapshotRequest
        {
            Cluster = "prod", Snapshot = name, RestoreMode = mode,
        }).ResponseAsync).DefaultTimeout();

        Assert.Equal(code, ex.StatusCode);
        Assert.Contains(expected, ex.Status.Detail, StringComparison.Ordinal);
        Assert.Empty((await _operations.ListOperationsAsync(new ListOperationsRequest { Cluster = "prod" }).ResponseAsync.DefaultTimeout()).Operations);
    }

    [Fact]
    public async Task RestoreSnapshot_SnapshotOfAnotherCluster_FailedPreconditionNamesBoth_UnlessAllowed()
    {
        await ReportSnapshotAsync("v1.30.4+k3s1", cluster: "prod-other");
        var listed = (await _snapshots.ListSnapshotsAsync(new ListSnapshotsRequest { Cluster = "prod" }).ResponseAsync.DefaultTimeout()).Snapshots;
        Assert.Equal("prod-other", Assert.Single(listed).Cluster);

        var ex = await Assert.ThrowsAsync<RpcException>(() => RestoreAsync(RestoreMode.None)).DefaultTimeout();

        Assert.Equal(StatusCode.FailedPrecondition, ex.StatusCode);
        Assert.Contains($"snapshot '{Snapshot}' belongs to cluster 'prod-other', not 'prod'", ex.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("--allow-other-cluster", ex.Status.Detail, StringComparison.Ordinal);
        Assert.Empty((await _operations.ListOperationsAsync(new ListOperationsRequest { Cluster = "prod" }).ResponseAsync.DefaultTimeout()).Operations);

        var allowed = (await _snapshots.RestoreSnapshotAsync(new RestoreSnapshotRequest
        {
            Cluster = "prod", Snapshot = Snapshot, RestoreMode = RestoreMode.None, AllowOtherCluster = true,
        }).ResponseAsync.DefaultTimeout()).Operation;
        Assert.Equal(OperationPhase.Started, allowed.Phase);
    }

    [Fact]
    public async Task ListSnapshots_SnapshotNamesNoCluster_ListedAsThisClustersAndRestorable()
    {
        await ReportSnapshotAsync("v1.30.4+k3s1");

        Assert.Equal("prod", Assert.Single((await _snapshots.ListSnapshotsAsync(new ListSnapshotsRequest { Cluster = "prod" }).ResponseAsync.DefaultTimeout()).Snapshots).Cluster);
        Assert.Equal(OperationPhase.Started, (await RestoreAsync(RestoreMode.None)).Phase);
    }

    [Fact]
    public async Task ListSnapshots_LargeConfiguration_ListsItsSha256Only_AndModeAllStillRestoresTheText()
    {
        var configuration = RuntimeConfig("data: " + new string('x', 700 * 1024) + "\n");
        await ReportSnapshotAsync("v1.29.2+k3s1", configuration: configuration);

        var listed = Assert.Single((await _snapshots.ListSnapshotsAsync(new ListSnapshotsRequest { Cluster = "prod" }).ResponseAsync.DefaultTimeout()).Snapshots);
        Assert.Equal("", listed.ClusterConfiguration);
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(configuration))), listed.ClusterConfigurationSha256);

        await RestoreAsync(RestoreMode.All, safety: false);
        await PassStartedAsync();
        Assert.Equal(configuration, (await _clusters.GetClusterAsync(new GetClusterRequest { Name = "prod" }).ResponseAsync.DefaultTimeout()).Cluster.ClusterConfiguration);
    }

    private static string RuntimeConfig(string content)
        => $$"""{"format":"nodeagent.runtime-config/v1","files":[{"path":"/etc/rancher/k3s/config.yaml","content":{{System.Text.Json.JsonSerializer.Serialize(content)}},"removedKeys":[]}]}""";

    /// <summary>Every node reports its Started steps (version modes: each checks the runtime version) succeeded.</summary>
    private async Task PassStartedAsync()
    {
        foreach (var agent in new[] { _a, _b, _c })
        {
            var plan = await agent.GetPlanAsync();
            await ReportAsync(agent, plan, plan.Operation.Instructions.Select(i => (i.Id, StepState.Succeeded)).ToArray());
        }
    }

    private Task<SimulatedAgent> RegisterAsync(string node, string token, string address)
        => SimulatedAgent.RegisterAsync(_server.Address, _server.CaFile, new RegisterRequest
        {
            Cluster = "prod", Node = node, BootstrapToken = token, Roles = { NodeRole.Etcd }, AdvertiseAddress = address,
        });

    private async Task ReportSnapshotAsync(string kubernetesVersion, string configuration = "", string tokenHash = "", string cluster = "")
    {
        var plan = await _a.GetPlanAsync();
        await _a.ReportAsync(new ReportStatusRequest
        {
            AppliedChecksum = plan.Checksum,
            Inventory = new SnapshotInventory
            {
                Snapshots =
                {
                    new Snapshot
                    {
                        Name = Snapshot,
                        Storage = StorageKind.Local,
                        Location = "file:///var/lib/rancher/k3s/server/db/snapshots/" + Snapshot,
                        Size = 4096,
                        Sha256 = Sha,
                        Status = SnapshotStatus.Successful,
                        CreatedAt = Timestamp.FromDateTimeOffset(DateTimeOffset.FromUnixTimeSeconds(1_700_000_000)),
                        KubernetesVersion = kubernetesVersion,
                        ClusterConfiguration = configuration,
                        TokenHash = tokenHash,
                        Cluster = cluster,
                    },
                },
            },
        });
    }

    private async Task<Operation> RestoreAsync(RestoreMode mode, bool safety = true)
        => (await _snapshots.RestoreSnapshotAsync(new RestoreSnapshotRequest
        {
            Cluster = "prod", Snapshot = Snapshot, RestoreMode = mode, SafetySnapshot = safety,
        }).ResponseAsync.DefaultTimeout()).Operation;

    private async Task<Operation> GetAsync(string id)
        => (await _operations.GetOperationAsync(new GetOperationRequest { Id = id }).ResponseAsync.DefaultTimeout()).Operation;

    private static Task ReportAsync(SimulatedAgent agent, Plan plan, params (string Id, StepState State)[] results)
        => ReportAsync(agent, plan, results.Select(r => (r.Id, r.State, "")).ToArray());

    private static async Task ReportAsync(SimulatedAgent agent, Plan plan, params (string Id, StepState State, string Message)[] results)
    {
        var request = new ReportStatusRequest();
        request.Steps.AddRange(results.Select((r, i) => new StepResult
        {
            OperationId = plan.Operation.OperationId, InstructionId = r.Id, State = r.State, Attempt = 1, Message = r.Message,
        }));
        await agent.ReportAsync(request);
    }
}
