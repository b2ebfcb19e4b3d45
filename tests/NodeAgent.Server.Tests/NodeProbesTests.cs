using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using NodeAgent.Contracts.V1;
using NodeAgent.Testing;
using NodeAgent.Testing.PlanServer;

namespace NodeAgent.Server.Tests;

/// <summary>The probes each plan carries, and the last result of each the server keeps per node.</summary>
public sealed class NodeProbesTests : IAsyncLifetime
{
    private static readonly Timestamp Checked = Timestamp.FromDateTimeOffset(new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero));

    private InProcessPlanServer _server = null!;
    private ClusterService.ClusterServiceClient _clusters = null!;

    public async Task InitializeAsync()
    {
        _server = await InProcessPlanServer.StartAsync().WithTimeout(TestTimeouts.Slow);
        _clusters = new ClusterService.ClusterServiceClient(_server.CreateAdminChannel());
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Theory]
    [InlineData(Runtime.K3S, "https://127.0.0.1:6443/ping")]
    [InlineData(Runtime.Rke2, "https://127.0.0.1:9345/ping")]
    public async Task GetPlan_K3sOrRke2_EtcdHealthOnEtcdNodes_SupervisorPingOnServers_NoneOnWorkers(Runtime runtime, string url)
    {
        var token = await CreateAsync(runtime);
        var etcd = await SimulatedAgent.RegisterAsync(_server, "prod", "etcd-1", token, NodeRole.Etcd);
        var controlPlane = await SimulatedAgent.RegisterAsync(_server, "prod", "cp-1", token, NodeRole.ControlPlane);
        var worker = await SimulatedAgent.RegisterAsync(_server, "prod", "worker-1", token, NodeRole.Worker);

        var etcdProbes = (await etcd.GetPlanAsync().DefaultTimeout()).SteadyState.Probes;
        var controlPlaneProbes = (await controlPlane.GetPlanAsync().DefaultTimeout()).SteadyState.Probes;
        var workerProbes = (await worker.GetPlanAsync().DefaultTimeout()).SteadyState.Probes;

        Assert.Equal(["etcd-health", "supervisor"], etcdProbes.Select(p => p.Name));
        Assert.Equal(Probe.KindOneofCase.EtcdHealth, etcdProbes[0].KindCase);
        Assert.Equal(url, etcdProbes[1].HttpGet.Url);
        Assert.All(etcdProbes, p => Assert.Equal((TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(5)), (p.Interval.ToTimeSpan(), p.Timeout.ToTimeSpan())));
        Assert.Equal([url], controlPlaneProbes.Select(p => p.HttpGet.Url));
        Assert.Empty(workerProbes);
    }

    [Fact]
    public async Task GetPlan_PlainEtcd_EtcdHealthOnly()
    {
        var token = await CreateAsync(Runtime.Etcd);
        var node = await SimulatedAgent.RegisterAsync(_server, "prod", "node-1", token, NodeRole.Etcd);

        var probes = (await node.GetPlanAsync().DefaultTimeout()).SteadyState.Probes;

        Assert.Equal([new Probe
        {
            Name = "etcd-health",
            Interval = Duration.FromTimeSpan(TimeSpan.FromSeconds(30)),
            Timeout = Duration.FromTimeSpan(TimeSpan.FromSeconds(5)),
            EtcdHealth = new EtcdHealthProbe(),
        }], probes);
    }

    [Fact]
    public async Task ReportStatus_ProbeResults_NodeShowsTheLastOfEach_AndKeepsThemOverARestart()
    {
        var token = await CreateAsync(Runtime.K3S);
        var agent = await SimulatedAgent.RegisterAsync(_server, "prod", "node-1", token, NodeRole.Etcd);
        Assert.Empty((await NodeAsync()).Probes);

        await agent.ReportAsync(Report(Result("etcd-health", true, ""), Result("supervisor", true, "")));
        await agent.ReportAsync(Report(Result("etcd-health", false, "no answer within 5s"), Result("supervisor", true, "")));
        await _server.RestartAsync().WithTimeout(TestTimeouts.Slow);
        _clusters = new ClusterService.ClusterServiceClient(_server.CreateAdminChannel());
        var failing = await NodeAsync();
        await agent.ReportAsync(Report(Result("etcd-health", true, ""), Result("supervisor", true, "")));
        var recovered = await NodeAsync();

        Assert.Equal([Result("etcd-health", false, "no answer within 5s"), Result("supervisor", true, "")], failing.Probes);
        Assert.Equal([Result("etcd-health", true, ""), Result("supervisor", true, "")], recovered.Probes);
    }

    [Fact]
    public async Task ReportStatus_ProbeNamedTwice_InvalidArgumentNamingTheField_AndTheNodeKeepsItsResults()
    {
        var token = await CreateAsync(Runtime.Etcd);
        var agent = await SimulatedAgent.RegisterAsync(_server, "prod", "node-1", token, NodeRole.Etcd);
        await agent.ReportAsync(Report(Result("etcd-health", true, "")));

        var twice = await Assert.ThrowsAsync<RpcException>(() => agent.ReportAsync(Report(Result("etcd-health", true, ""), Result("etcd-health", false, "down")))).DefaultTimeout();
        var tooMany = await Assert.ThrowsAsync<RpcException>(() => agent.ReportAsync(Report([.. Enumerable.Range(0, 33).Select(i => Result($"p{i}", true, ""))]))).DefaultTimeout();

        Assert.Equal((StatusCode.InvalidArgument, "probes[1].name: 'etcd-health' appears twice"), (twice.StatusCode, twice.Status.Detail));
        Assert.Equal((StatusCode.InvalidArgument, "probes: a report carries at most 32 probe results, this one 33"), (tooMany.StatusCode, tooMany.Status.Detail));
        Assert.Equal([Result("etcd-health", true, "")], (await NodeAsync()).Probes);
    }

    private async Task<string> CreateAsync(Runtime runtime)
        => (await _clusters.CreateClusterAsync(new CreateClusterRequest { Name = "prod", Runtime = runtime }).ResponseAsync.DefaultTimeout()).BootstrapToken;

    private async Task<Node> NodeAsync()
        => (await _clusters.ListNodesAsync(new ListNodesRequest { Cluster = "prod" }).ResponseAsync.DefaultTimeout()).Nodes.Single();

    private static ReportStatusRequest Report(params ProbeResult[] probes) => new() { Probes = { probes } };

    private static ProbeResult Result(string name, bool healthy, string message) => new() { Name = name, Healthy = healthy, Message = message, CheckedAt = Checked };
}
