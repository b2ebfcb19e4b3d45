using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using NodeAgent.Contracts.V1;
using NodeAgent.Testing;
using NodeAgent.Testing.PlanServer;

namespace NodeAgent.Server.Tests;

public sealed class AgentApiTests : IAsyncLifetime
{
    private InProcessPlanServer _server = null!;
    private ClusterService.ClusterServiceClient _clusters = null!;
    private string _bootstrapToken = "";

    public async Task InitializeAsync()
    {
        _server = await InProcessPlanServer.StartAsync().WithTimeout(TestTimeouts.Slow);
        _clusters = new ClusterService.ClusterServiceClient(_server.CreateAdminChannel());
        var created = await _clusters.CreateClusterAsync(new CreateClusterRequest { Name = "prod", Runtime = Runtime.K3S, KubernetesVersion = "v1.30.4+k3s1" }).ResponseAsync.DefaultTimeout();
        _bootstrapToken = created.BootstrapToken;
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Register_WrongBootstrapToken_PermissionDenied()
    {
        var agent = new AgentService.AgentServiceClient(_server.CreateChannel());

        var ex = await Assert.ThrowsAsync<RpcException>(() => agent.RegisterAsync(new RegisterRequest
        {
            Cluster = "prod", Node = "node-1", BootstrapToken = "na-bootstrap-wrong",
        }).ResponseAsync).DefaultTimeout();

        Assert.Equal(StatusCode.PermissionDenied, ex.StatusCode);
    }

    [Fact]
    public async Task Register_RuntimeMismatch_FailedPrecondition()
    {
        var agent = new AgentService.AgentServiceClient(_server.CreateChannel());

        var ex = await Assert.ThrowsAsync<RpcException>(() => agent.RegisterAsync(new RegisterRequest
        {
            Cluster = "prod", Node = "node-1", BootstrapToken = _bootstrapToken, Runtime = Runtime.Rke2,
        }).ResponseAsync).DefaultTimeout();

        Assert.Equal(StatusCode.FailedPrecondition, ex.StatusCode);
        Assert.Contains("node-1", ex.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Register_FirstEtcdNode_BecomesInitNodeAndGetsSteadyPlan()
    {
        var (agent1, _) = await RegisterAsync("node-1");
        await RegisterAsync("node-2");

        var plan = (await agent1.GetPlanAsync(new GetPlanRequest { Cluster = "prod", Node = "node-1" }).ResponseAsync.DefaultTimeout()).Plan;
        var nodes = await _clusters.ListNodesAsync(new ListNodesRequest { Cluster = "prod" }).ResponseAsync.DefaultTimeout();

        Assert.Equal(["node-1"], nodes.Nodes.Where(n => n.InitNode).Select(n => n.Name));
        Assert.Equal(64, plan.Checksum.Length);
        Assert.Equal("0 */5 * * *", plan.SteadyState.SnapshotSettings.Cron);
        Assert.Equal("v1.30.4+k3s1", plan.SteadyState.KubernetesVersion);
        Assert.Null(plan.Operation);
    }

    [Fact]
    public async Task GetPlan_OtherNodesPlan_PermissionDenied()
    {
        var (agent1, _) = await RegisterAsync("node-1");
        await RegisterAsync("node-2");

        var ex = await Assert.ThrowsAsync<RpcException>(() => agent1.GetPlanAsync(new GetPlanRequest { Cluster = "prod", Node = "node-2" }).ResponseAsync).DefaultTimeout();

        Assert.Equal(StatusCode.PermissionDenied, ex.StatusCode);
    }

    [Fact]
    public async Task GetPlan_NoCredential_Unauthenticated()
    {
        var anonymous = new AgentService.AgentServiceClient(_server.CreateChannel());

        var ex = await Assert.ThrowsAsync<RpcException>(() => anonymous.GetPlanAsync(new GetPlanRequest { Cluster = "prod", Node = "node-1" }).ResponseAsync).DefaultTimeout();

        Assert.Equal(StatusCode.Unauthenticated, ex.StatusCode);
    }

    [Fact]
    public async Task OperatorApi_NodeCredential_PermissionDenied()
    {
        var (_, credential) = await RegisterAsync("node-1");
        var asNode = new ClusterService.ClusterServiceClient(_server.CreateChannel(credential));

        var ex = await Assert.ThrowsAsync<RpcException>(() => asNode.ListClustersAsync(new ListClustersRequest()).ResponseAsync).DefaultTimeout();

        Assert.Equal(StatusCode.PermissionDenied, ex.StatusCode);
    }

    [Fact]
    public async Task GetPlan_KnownChecksumAndNoWait_Unchanged()
    {
        var (agent, _) = await RegisterAsync("node-1");
        var first = await agent.GetPlanAsync(new GetPlanRequest { Cluster = "prod", Node = "node-1" }).ResponseAsync.DefaultTimeout();

        var second = await agent.GetPlanAsync(new GetPlanRequest
        {
            Cluster = "prod", Node = "node-1", KnownChecksum = first.Plan.Checksum, Wait = Duration.FromTimeSpan(TimeSpan.Zero),
        }).ResponseAsync.DefaultTimeout();

        Assert.True(second.Unchanged);
        Assert.Null(second.Plan);
    }

    [Fact]
    public async Task GetPlan_SettingsChangedWhileWaiting_AnswersWithNewPlan()
    {
        var (agent, _) = await RegisterAsync("node-1");
        var first = await agent.GetPlanAsync(new GetPlanRequest { Cluster = "prod", Node = "node-1" }).ResponseAsync.DefaultTimeout();

        var waiting = agent.GetPlanAsync(new GetPlanRequest
        {
            Cluster = "prod", Node = "node-1", KnownChecksum = first.Plan.Checksum, Wait = Duration.FromTimeSpan(TimeSpan.FromMinutes(2)),
        }).ResponseAsync;
        await WaitUntilConnectedAsync("node-1");
        Assert.False(waiting.IsCompleted);

        await _clusters.SetSnapshotSettingsAsync(new SetSnapshotSettingsRequest
        {
            Cluster = "prod",
            SnapshotSettings = new SnapshotSettings { Cron = "30 2 * * *", Retention = 7 },
        }).ResponseAsync.DefaultTimeout();
        var changed = await waiting.DefaultTimeout();

        Assert.False(changed.Unchanged);
        Assert.NotEqual(first.Plan.Checksum, changed.Plan.Checksum);
        Assert.Equal("30 2 * * *", changed.Plan.SteadyState.SnapshotSettings.Cron);
        Assert.Equal(7, changed.Plan.SteadyState.SnapshotSettings.Retention);
    }

    [Fact]
    public async Task ReportStatus_AppliedChecksum_ShownInNodeList()
    {
        var (agent, _) = await RegisterAsync("node-1");
        var plan = (await agent.GetPlanAsync(new GetPlanRequest { Cluster = "prod", Node = "node-1" }).ResponseAsync.DefaultTimeout()).Plan;

        var reply = await agent.ReportStatusAsync(new ReportStatusRequest
        {
            Cluster = "prod", Node = "node-1", AppliedChecksum = plan.Checksum, AgentVersion = "0.1.0",
        }).ResponseAsync.DefaultTimeout();
        var node = (await _clusters.ListNodesAsync(new ListNodesRequest { Cluster = "prod" }).ResponseAsync.DefaultTimeout()).Nodes.Single();

        Assert.Equal(plan.Checksum, reply.DesiredChecksum);
        Assert.Equal(plan.Checksum, node.AppliedChecksum);
        Assert.Equal(node.DesiredChecksum, node.AppliedChecksum);
        Assert.Equal("0.1.0", node.AgentVersion);
        Assert.NotNull(node.LastSeen);
    }

    [Fact]
    public async Task Register_TakenNameWithoutProof_AlreadyExistsAndRealAgentKeepsWorking()
    {
        var (agent, _) = await RegisterAsync("node-1");
        var intruder = new AgentService.AgentServiceClient(_server.CreateChannel());

        var ex = await Assert.ThrowsAsync<RpcException>(() => intruder.RegisterAsync(new RegisterRequest
        {
            Cluster = "prod", Node = "node-1", BootstrapToken = _bootstrapToken, Runtime = Runtime.K3S,
        }).ResponseAsync).DefaultTimeout();
        var plan = await agent.GetPlanAsync(new GetPlanRequest { Cluster = "prod", Node = "node-1" }).ResponseAsync.DefaultTimeout();

        Assert.Equal(StatusCode.AlreadyExists, ex.StatusCode);
        Assert.Equal(
            "node 'node-1' is already registered in cluster 'prod' with its own credential; to give the name to a new agent run 'nodeagentctl node reset node-1 --cluster prod' first",
            ex.Status.Detail);
        Assert.Equal(64, plan.Plan.Checksum.Length);
    }

    [Fact]
    public async Task Register_TakenNameWithItsOwnCredential_RotatesTheCredential()
    {
        var (agent, credential) = await RegisterAsync("node-1");
        var self = new AgentService.AgentServiceClient(_server.CreateChannel(credential));

        var again = await self.RegisterAsync(new RegisterRequest
        {
            Cluster = "prod", Node = "node-1", BootstrapToken = _bootstrapToken, Runtime = Runtime.K3S,
        }).ResponseAsync.DefaultTimeout();
        var rotated = new AgentService.AgentServiceClient(_server.CreateChannel(again.NodeCredential));
        var old = await Assert.ThrowsAsync<RpcException>(() => agent.GetPlanAsync(new GetPlanRequest { Cluster = "prod", Node = "node-1" }).ResponseAsync).DefaultTimeout();
        var plan = await rotated.GetPlanAsync(new GetPlanRequest { Cluster = "prod", Node = "node-1" }).ResponseAsync.DefaultTimeout();

        Assert.NotEqual(credential, again.NodeCredential);
        Assert.Equal(StatusCode.Unauthenticated, old.StatusCode);
        Assert.Equal(64, plan.Plan.Checksum.Length);
    }

    [Fact]
    public async Task ResetNode_ThenRegister_NewAgentTakesTheNameAndOldCredentialIsRefused()
    {
        var (oldAgent, _) = await RegisterAsync("node-1");

        var reset = await _clusters.ResetNodeAsync(new ResetNodeRequest { Cluster = "prod", Node = "node-1" }).ResponseAsync.DefaultTimeout();
        var refused = await Assert.ThrowsAsync<RpcException>(() => oldAgent.GetPlanAsync(new GetPlanRequest { Cluster = "prod", Node = "node-1" }).ResponseAsync).DefaultTimeout();
        var (newAgent, _) = await RegisterAsync("node-1");
        var plan = await newAgent.GetPlanAsync(new GetPlanRequest { Cluster = "prod", Node = "node-1" }).ResponseAsync.DefaultTimeout();
        var node = (await _clusters.ListNodesAsync(new ListNodesRequest { Cluster = "prod" }).ResponseAsync.DefaultTimeout()).Nodes.Single();
        var intruder = await Assert.ThrowsAsync<RpcException>(() => RegisterAsync("node-1")).DefaultTimeout();

        Assert.True(reset.Node.CredentialReset);
        Assert.Equal(StatusCode.Unauthenticated, refused.StatusCode);
        Assert.Equal(64, plan.Plan.Checksum.Length);
        Assert.False(node.CredentialReset);
        Assert.True(node.InitNode);
        Assert.Equal(StatusCode.AlreadyExists, intruder.StatusCode);
    }

    [Fact]
    public async Task ResetNode_UnknownNode_NotFound()
    {
        var ex = await Assert.ThrowsAsync<RpcException>(() => _clusters.ResetNodeAsync(new ResetNodeRequest { Cluster = "prod", Node = "ghost" }).ResponseAsync).DefaultTimeout();

        Assert.Equal(StatusCode.NotFound, ex.StatusCode);
        Assert.Equal("node 'ghost' is not registered in cluster 'prod'", ex.Status.Detail);
    }

    private async Task<(AgentService.AgentServiceClient Client, string Credential)> RegisterAsync(string node)
    {
        var anonymous = new AgentService.AgentServiceClient(_server.CreateChannel());
        var registered = await anonymous.RegisterAsync(new RegisterRequest
        {
            Cluster = "prod", Node = node, BootstrapToken = _bootstrapToken, Runtime = Runtime.K3S, Roles = { NodeRole.Etcd, NodeRole.ControlPlane },
        }).ResponseAsync.DefaultTimeout();
        return (new AgentService.AgentServiceClient(_server.CreateChannel(registered.NodeCredential)), registered.NodeCredential);
    }

    private async Task WaitUntilConnectedAsync(string node)
    {
        // The long-poll is registered as a connection once the server holds it; ListNodes shows that.
        using var cts = new CancellationTokenSource(TestTimeouts.Default);
        while (!(await _clusters.ListNodesAsync(new ListNodesRequest { Cluster = "prod" }, cancellationToken: cts.Token).ResponseAsync)
            .Nodes.Single(n => n.Name == node).Connected)
        {
            await Task.Yield();
        }
    }
}
