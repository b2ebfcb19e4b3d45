using Grpc.Core;
using NodeAgent.Contracts.V1;
using NodeAgent.Testing;
using NodeAgent.Testing.PlanServer;

namespace NodeAgent.Server.Tests;

/// <summary>What agents report about the runtime on their node (advertise address, version, its own scheduled snapshots), kept per node.</summary>
public sealed class NodeRuntimeFactsTests : IAsyncLifetime
{
    private InProcessPlanServer _server = null!;
    private ClusterService.ClusterServiceClient _clusters = null!;
    private string _token = "";

    public async Task InitializeAsync()
    {
        _server = await InProcessPlanServer.StartAsync().WithTimeout(TestTimeouts.Slow);
        _clusters = new ClusterService.ClusterServiceClient(_server.CreateAdminChannel());
        _token = (await _clusters.CreateClusterAsync(new CreateClusterRequest { Name = "prod", Runtime = Runtime.K3S }).ResponseAsync.DefaultTimeout()).BootstrapToken;
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task RegisterAndFullReport_RuntimeFacts_ShownInTheNode_AndKeptOverAServerRestart()
    {
        var agent = await SimulatedAgent.RegisterAsync(_server.Address, _server.CaFile, new RegisterRequest
        {
            Cluster = "prod", Node = "node-a", BootstrapToken = _token, AdvertiseAddress = "10.0.0.1",
        });
        var registered = await NodeAsync();
        Assert.Equal("10.0.0.1", registered.AdvertiseAddress);
        Assert.Equal("", registered.RuntimeVersion);

        await agent.ReportAsync(new ReportStatusRequest
        {
            RuntimeFacts = new RuntimeFacts { AdvertiseAddress = "fd00::1", RuntimeVersion = "v1.30.4+k3s1", RuntimeSnapshotsEnabled = true },
        });
        await _server.RestartAsync().WithTimeout(TestTimeouts.Slow);
        _clusters = new ClusterService.ClusterServiceClient(_server.CreateAdminChannel());
        var reported = await NodeAsync();

        Assert.Equal("fd00::1", reported.AdvertiseAddress);
        Assert.Equal("v1.30.4+k3s1", reported.RuntimeVersion);
        Assert.True(reported.RuntimeSnapshotsEnabled);
    }

    [Fact]
    public async Task SmallReport_WithoutRuntimeFacts_KeepsWhatTheLastFullReportSaid()
    {
        var agent = await SimulatedAgent.RegisterAsync(_server, "prod", "node-a", _token);
        await agent.ReportAsync(new ReportStatusRequest { RuntimeFacts = new RuntimeFacts { AdvertiseAddress = "10.0.0.1", RuntimeVersion = "v1.30.4+k3s1" } });

        await agent.ReportAsync(new ReportStatusRequest { LastReportError = "ResourceExhausted: too big" });

        var node = await NodeAsync();
        Assert.Equal("10.0.0.1", node.AdvertiseAddress);
        Assert.Equal("v1.30.4+k3s1", node.RuntimeVersion);
    }

    [Fact]
    public async Task Register_AdvertiseAddressNotAnIp_InvalidArgumentNamingTheField()
    {
        var ex = await Assert.ThrowsAsync<RpcException>(() => SimulatedAgent.RegisterAsync(_server.Address, _server.CaFile, new RegisterRequest
        {
            Cluster = "prod", Node = "node-a", BootstrapToken = _token, AdvertiseAddress = "node-a.example",
        })).DefaultTimeout();

        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.Equal("advertise_address: 'node-a.example' is not an IP address", ex.Status.Detail);
    }

    [Fact]
    public async Task ReportStatus_AdvertiseAddressNotAnIp_InvalidArgumentNamingTheField_AndTheNodeKeepsItsAddress()
    {
        var agent = await SimulatedAgent.RegisterAsync(_server.Address, _server.CaFile, new RegisterRequest
        {
            Cluster = "prod", Node = "node-a", BootstrapToken = _token, AdvertiseAddress = "10.0.0.1",
        });

        var ex = await Assert.ThrowsAsync<RpcException>(() => agent.ReportAsync(new ReportStatusRequest
        {
            RuntimeFacts = new RuntimeFacts { AdvertiseAddress = "10.0.0.1:6443" },
        })).DefaultTimeout();

        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.Equal("runtime_facts.advertise_address: '10.0.0.1:6443' is not an IP address", ex.Status.Detail);
        Assert.Equal("10.0.0.1", (await NodeAsync()).AdvertiseAddress);
    }

    private async Task<Node> NodeAsync()
        => Assert.Single((await _clusters.ListNodesAsync(new ListNodesRequest { Cluster = "prod" }).ResponseAsync.DefaultTimeout()).Nodes);
}
