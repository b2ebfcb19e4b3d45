using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.Time.Testing;
using NodeAgent.Contracts.V1;
using NodeAgent.Testing;
using NodeAgent.Testing.PlanServer;

namespace NodeAgent.Server.Tests;

/// <summary>
/// Nodes that stop answering, on fake time: liveness in ListNodes (bound: the server's default
/// --node-unreachable-after, 3m), DeleteNode and its refusals, a restore refused while a node is
/// unreachable, a one-time snapshot that skips such a node, and the init node elected among live nodes.
/// </summary>
public sealed class NodeLifecycleTests : IAsyncLifetime
{
    private const string Snapshot = "on-demand-node-a-1700000000";
    private const string Sha = "5f4c3b2a19087766554433221100ffeeddccbbaa99887766554433221100ffee";
    private static readonly TimeSpan PastBound = TimeSpan.FromMinutes(3) + TimeSpan.FromSeconds(1);
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 24, 12, 0, 0, TimeSpan.Zero));
    private InProcessPlanServer _server = null!;
    private ClusterService.ClusterServiceClient _clusters = null!;
    private SnapshotService.SnapshotServiceClient _snapshots = null!;
    private OperationService.OperationServiceClient _operations = null!;
    private string _bootstrapToken = "";

    public async Task InitializeAsync()
    {
        _server = await InProcessPlanServer.StartAsync(_time).WithTimeout(TestTimeouts.Slow);
        var admin = _server.CreateAdminChannel();
        _clusters = new ClusterService.ClusterServiceClient(admin);
        _snapshots = new SnapshotService.SnapshotServiceClient(admin);
        _operations = new OperationService.OperationServiceClient(admin);
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task ListNodes_NodeSilentPastTheBound_ShowsUnreachable_LiveNodeNot()
    {
        var (a, _, _) = await ThreeNodesAsync(Runtime.K3S);
        _time.Advance(PastBound);
        await a.GetPlanAsync();

        var nodes = await ListNodesAsync();

        Assert.False(nodes["node-a"].Unreachable);
        Assert.Equal(_time.GetUtcNow(), nodes["node-a"].LastSeen.ToDateTimeOffset());
        Assert.True(nodes["node-b"].Unreachable);
        Assert.False(nodes["node-b"].Connected);
        Assert.Equal(_time.GetUtcNow() - PastBound, nodes["node-b"].LastSeen.ToDateTimeOffset());
    }

    [Fact]
    public async Task ListNodes_NodeSilentJustUnderTheBound_NotUnreachable()
    {
        await ThreeNodesAsync(Runtime.K3S);
        _time.Advance(TimeSpan.FromMinutes(3));

        Assert.All((await ListNodesAsync()).Values, n => Assert.False(n.Unreachable));
    }

    [Fact]
    public async Task DeleteNode_NoOperation_RevokesCredential_DropsItsLocalCopies_KeepsS3Copies()
    {
        var (_, b, _) = await ThreeNodesAsync(Runtime.K3S);
        await ReportCopiesAsync(b, local: true, s3: true);

        await _clusters.DeleteNodeAsync(new DeleteNodeRequest { Cluster = "prod", Node = "node-b" }).ResponseAsync.DefaultTimeout();

        Assert.DoesNotContain("node-b", (await ListNodesAsync()).Keys);
        var refused = await Assert.ThrowsAsync<RpcException>(() => b.GetPlanAsync()).DefaultTimeout();
        Assert.Equal(StatusCode.Unauthenticated, refused.StatusCode);
        var catalog = (await _snapshots.ListSnapshotsAsync(new ListSnapshotsRequest { Cluster = "prod" }).ResponseAsync.DefaultTimeout()).Snapshots;
        Assert.Equal(StorageKind.S3, Assert.Single(catalog).Storage);
    }

    [Fact]
    public async Task DeleteNode_UnknownNode_NotFoundNamingIt()
    {
        await ThreeNodesAsync(Runtime.K3S);

        var ex = await Assert.ThrowsAsync<RpcException>(() => _clusters.DeleteNodeAsync(new DeleteNodeRequest { Cluster = "prod", Node = "node-x" }).ResponseAsync).DefaultTimeout();

        Assert.Equal(StatusCode.NotFound, ex.StatusCode);
        Assert.Equal("node 'node-x' is not registered in cluster 'prod'", ex.Status.Detail);
    }

    [Fact]
    public async Task DeleteNode_NodeInActiveOperation_FailedPreconditionNamingIt_UntilCancelled()
    {
        await ThreeNodesAsync(Runtime.K3S);
        var op = (await _snapshots.CreateSnapshotAsync(new CreateSnapshotRequest { Cluster = "prod" }).ResponseAsync.DefaultTimeout()).Operation;

        var ex = await Assert.ThrowsAsync<RpcException>(() => _clusters.DeleteNodeAsync(new DeleteNodeRequest { Cluster = "prod", Node = "node-b" }).ResponseAsync).DefaultTimeout();

        Assert.Equal(StatusCode.FailedPrecondition, ex.StatusCode);
        Assert.Equal($"node 'node-b' takes part in operation '{op.Id}' (Snapshot, phase Started); cancel it first with 'nodeagentctl operation cancel {op.Id}', then remove the node", ex.Status.Detail);
        Assert.Contains("node-b", (await ListNodesAsync()).Keys);

        await _operations.CancelOperationAsync(new CancelOperationRequest { Id = op.Id }).ResponseAsync.DefaultTimeout();
        await _clusters.DeleteNodeAsync(new DeleteNodeRequest { Cluster = "prod", Node = "node-b" }).ResponseAsync.DefaultTimeout();
        Assert.DoesNotContain("node-b", (await ListNodesAsync()).Keys);
    }

    [Fact]
    public async Task RestoreSnapshot_EtcdNodeUnreachable_RefusedNamingItAndTheWaysOn_StartsNothing()
    {
        var (a, b, c) = await ThreeNodesAsync(Runtime.K3S);
        await ReportCopiesAsync(a, local: false, s3: true);
        _time.Advance(PastBound);
        await a.GetPlanAsync();
        await b.GetPlanAsync();

        var ex = await Assert.ThrowsAsync<RpcException>(() => RestoreAsync()).DefaultTimeout();

        Assert.Equal(StatusCode.FailedPrecondition, ex.StatusCode);
        Assert.Equal("restore of cluster 'prod' refused: node node-c (last seen 2026-11-24T12:00:00Z, 3m1s ago) is unreachable (not seen for over 3m); "
            + "bring it back, or remove it with 'nodeagentctl node rm NODE --cluster prod'", ex.Status.Detail);
        Assert.Empty((await _operations.ListOperationsAsync(new ListOperationsRequest { Cluster = "prod" }).ResponseAsync.DefaultTimeout()).Operations);
        Assert.Equal("", (await c.GetPlanAsync()).Operation?.OperationId ?? "");
    }

    [Fact]
    public async Task CreateSnapshot_EtcdNodeUnreachable_SkipsItWithTheReason_FinishesOnTheLiveNodes()
    {
        var (a, b, _) = await ThreeNodesAsync(Runtime.K3S);
        _time.Advance(PastBound);
        await a.GetPlanAsync();
        await b.GetPlanAsync();

        var op = (await _snapshots.CreateSnapshotAsync(new CreateSnapshotRequest { Cluster = "prod" }).ResponseAsync.DefaultTimeout()).Operation;

        var skipped = op.Nodes.Single(n => n.Node == "node-c");
        Assert.Equal(StepState.Skipped, skipped.State);
        Assert.Equal("skipped: node unreachable, node-c (last seen 2026-11-24T12:00:00Z, 3m1s ago), over --node-unreachable-after 3m", skipped.Message);
        foreach (var agent in new[] { a, b })
        {
            await agent.ReportStepAsync(await agent.GetPlanAsync(), StepState.Succeeded);
        }
        Assert.Equal(OperationPhase.RestartCluster, (await GetAsync(op.Id)).Phase);
        foreach (var agent in new[] { a, b })
        {
            await agent.ReportAppliedAsync(await agent.GetPlanAsync());
        }
        var ended = (await _operations.GetOperationAsync(new GetOperationRequest { Id = op.Id }).ResponseAsync.DefaultTimeout()).Operation;
        Assert.Equal(OperationPhase.Finished, ended.Phase);
        Assert.Equal(StepState.Skipped, ended.Nodes.Single(n => n.Node == "node-c").State);
    }

    [Fact]
    public async Task CreateSnapshot_EveryEtcdNodeUnreachable_FailedPrecondition_StartsNothing()
    {
        await ThreeNodesAsync(Runtime.K3S);
        _time.Advance(PastBound);

        var ex = await Assert.ThrowsAsync<RpcException>(() => _snapshots.CreateSnapshotAsync(new CreateSnapshotRequest { Cluster = "prod" }).ResponseAsync).DefaultTimeout();

        Assert.Equal(StatusCode.FailedPrecondition, ex.StatusCode);
        Assert.StartsWith("no etcd node of cluster 'prod' is reachable: node-a (last seen", ex.Status.Detail, StringComparison.Ordinal);
        Assert.Empty((await _operations.ListOperationsAsync(new ListOperationsRequest { Cluster = "prod" }).ResponseAsync.DefaultTimeout()).Operations);
    }

    [Fact]
    public async Task RestoreSnapshot_InitNodeRemoved_ElectsTheFirstLiveEtcdNode_SaysWhy_AndMovesTheFlag()
    {
        var (a, _, _) = await ThreeNodesAsync(Runtime.K3S);
        Assert.True((await ListNodesAsync())["node-a"].InitNode);
        await ReportCopiesAsync(a, local: true, s3: true);
        await _clusters.DeleteNodeAsync(new DeleteNodeRequest { Cluster = "prod", Node = "node-a" }).ResponseAsync.DefaultTimeout();

        var op = await RestoreAsync();

        Assert.Equal("node-b", op.InitNode);
        Assert.Equal("S3 copy; the cluster has no init node (it was removed), so node-b, the first live etcd node by name, is elected and becomes the init node", op.InitNodeReason);
        var nodes = await ListNodesAsync();
        Assert.True(nodes["node-b"].InitNode);
        Assert.False(nodes["node-c"].InitNode);
    }

    [Fact]
    public async Task RestoreSnapshot_LiveInitNode_KeepsIt_SaysWhy()
    {
        var (a, _, _) = await ThreeNodesAsync(Runtime.K3S);
        await ReportCopiesAsync(a, local: false, s3: true);

        var op = await RestoreAsync();

        Assert.Equal("node-a", op.InitNode);
        Assert.Equal("S3 copy; node-a is the cluster's init node and live", op.InitNodeReason);
    }

    [Fact]
    public async Task RestoreSnapshot_PlainEtcd_RestoreInstructionCarriesTheRestoringNodesOwnMembers()
    {
        var (a, b, c) = await ThreeNodesAsync(Runtime.Etcd, withMembers: true);
        await ReportCopiesAsync(a, local: false, s3: true);
        var agents = new[] { a, b, c };

        var op = await RestoreAsync();
        foreach (var agent in agents)
        {
            var plan = await agent.GetPlanAsync();
            await ReportAllAsync(agent, plan);
        }
        Assert.Equal(OperationPhase.Shutdown, (await GetAsync(op.Id)).Phase);
        foreach (var agent in agents)
        {
            await ReportAllAsync(agent, await agent.GetPlanAsync());
        }
        Assert.Equal(OperationPhase.Restore, (await GetAsync(op.Id)).Phase);

        foreach (var agent in agents)
        {
            var restore = Assert.Single((await agent.GetPlanAsync()).Operation.Instructions).RestoreSnapshot;
            Assert.Equal("m-a=http://127.0.0.1:12380,m-b=http://127.0.0.1:22380,m-c=http://127.0.0.1:32380", restore.InitialCluster);
        }
        Assert.Equal(["http://127.0.0.1:22380"], (await ListNodesAsync())["node-b"].EtcdPeerUrls);
        Assert.Equal("m-b", (await ListNodesAsync())["node-b"].EtcdMemberName);
    }

    [Fact]
    public async Task Register_PeerUrlNotHostPort_InvalidArgumentNamingIt()
    {
        await ThreeNodesAsync(Runtime.Etcd);
        var client = new AgentService.AgentServiceClient(PlanServerChannels.Create(_server.Address, null, _server.CaFile));

        var ex = await Assert.ThrowsAsync<RpcException>(() => client.RegisterAsync(new RegisterRequest
        {
            Cluster = "prod", Node = "node-d", BootstrapToken = _bootstrapToken, EtcdMemberName = "m-d", EtcdPeerUrls = { "http://127.0.0.1/peer" },
        }).ResponseAsync).DefaultTimeout();

        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.Equal("etcd_peer_urls: 'http://127.0.0.1/peer' is not a peer URL of the form http(s)://host:port", ex.Status.Detail);
    }

    private async Task<(SimulatedAgent A, SimulatedAgent B, SimulatedAgent C)> ThreeNodesAsync(Runtime runtime, bool withMembers = false)
    {
        var created = await _clusters.CreateClusterAsync(new CreateClusterRequest
        {
            Name = "prod", Runtime = runtime, KubernetesVersion = "v1.30.4+k3s1",
            SnapshotSettings = new SnapshotSettings { S3 = new S3Settings { Bucket = "backups", Endpoint = "127.0.0.1:9000" } },
        }).ResponseAsync.DefaultTimeout();
        _bootstrapToken = created.BootstrapToken;
        var agents = new List<SimulatedAgent>();
        foreach (var (name, port) in new[] { ("a", 12380), ("b", 22380), ("c", 32380) })
        {
            var node = "node-" + name;
            if (!withMembers)
            {
                agents.Add(await SimulatedAgent.RegisterAsync(_server.Address, _server.CaFile, new RegisterRequest
                {
                    Cluster = "prod", Node = node, BootstrapToken = _bootstrapToken, Roles = { NodeRole.Etcd }, AdvertiseAddress = $"10.0.0.{agents.Count + 1}",
                }));
                continue;
            }
            var registered = await new AgentService.AgentServiceClient(PlanServerChannels.Create(_server.Address, null, _server.CaFile)).RegisterAsync(new RegisterRequest
            {
                Cluster = "prod", Node = node, BootstrapToken = _bootstrapToken, Roles = { NodeRole.Etcd },
                EtcdMemberName = "m-" + name, EtcdPeerUrls = { $"http://127.0.0.1:{port}" },
            }).ResponseAsync.DefaultTimeout();
            agents.Add(SimulatedAgent.Connect(_server.Address, _server.CaFile, "prod", node, registered.NodeCredential));
        }
        return (agents[0], agents[1], agents[2]);
    }

    private static async Task ReportCopiesAsync(SimulatedAgent agent, bool local, bool s3)
    {
        var inventory = new SnapshotInventory { S3Listed = s3 };
        foreach (var storage in new[] { (local, StorageKind.Local, "file:///var/lib/snapshots/"), (s3, StorageKind.S3, "s3://backups/") }.Where(s => s.Item1))
        {
            inventory.Snapshots.Add(new Snapshot
            {
                Name = Snapshot,
                Storage = storage.Item2,
                Location = storage.Item3 + Snapshot,
                Node = "node-a",
                Size = 4096,
                Sha256 = Sha,
                Status = SnapshotStatus.Successful,
                CreatedAt = Timestamp.FromDateTimeOffset(DateTimeOffset.FromUnixTimeSeconds(1_700_000_000)),
                KubernetesVersion = "v1.30.4+k3s1",
            });
        }
        await agent.ReportAsync(new ReportStatusRequest { Inventory = inventory });
    }

    private async Task<Dictionary<string, Node>> ListNodesAsync()
        => (await _clusters.ListNodesAsync(new ListNodesRequest { Cluster = "prod" }).ResponseAsync.DefaultTimeout()).Nodes.ToDictionary(n => n.Name);

    private async Task<Operation> RestoreAsync()
        => (await _snapshots.RestoreSnapshotAsync(new RestoreSnapshotRequest
        {
            Cluster = "prod", Snapshot = Snapshot, RestoreMode = RestoreMode.None, SafetySnapshot = false,
        }).ResponseAsync.DefaultTimeout()).Operation;

    private async Task<Operation> GetAsync(string id)
        => (await _operations.GetOperationAsync(new GetOperationRequest { Id = id }).ResponseAsync.DefaultTimeout()).Operation;

    /// <summary>Reports every instruction of the plan's operation as succeeded.</summary>
    private static async Task ReportAllAsync(SimulatedAgent agent, Plan plan)
    {
        var request = new ReportStatusRequest();
        request.Steps.AddRange(plan.Operation.Instructions.Select(i => new StepResult
        {
            OperationId = plan.Operation.OperationId, InstructionId = i.Id, State = StepState.Succeeded, Attempt = 1,
        }));
        await agent.ReportAsync(request);
    }
}
