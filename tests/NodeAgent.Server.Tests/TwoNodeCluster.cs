using NodeAgent.Contracts.V1;
using NodeAgent.Testing;
using NodeAgent.Testing.PlanServer;

namespace NodeAgent.Server.Tests;

/// <summary>An in-process plan server on the given clock with cluster "prod" (k3s) and two simulated etcd nodes, node-a and node-b.</summary>
internal sealed class TwoNodeCluster : IAsyncDisposable
{
    private TwoNodeCluster(InProcessPlanServer server, SimulatedAgent a, SimulatedAgent b)
    {
        Server = server;
        var admin = server.CreateAdminChannel();
        Snapshots = new SnapshotService.SnapshotServiceClient(admin);
        Operations = new OperationService.OperationServiceClient(admin);
        A = a;
        B = b;
    }

    public InProcessPlanServer Server { get; }

    public SnapshotService.SnapshotServiceClient Snapshots { get; }

    public OperationService.OperationServiceClient Operations { get; }

    public SimulatedAgent A { get; }

    public SimulatedAgent B { get; }

    public static async Task<TwoNodeCluster> StartAsync(TimeProvider time)
    {
        var server = await InProcessPlanServer.StartAsync(time).WithTimeout(TestTimeouts.Slow);
        try
        {
            var created = await new ClusterService.ClusterServiceClient(server.CreateAdminChannel()).CreateClusterAsync(new CreateClusterRequest
            {
                Name = "prod", Runtime = Runtime.K3S, KubernetesVersion = "v1.30.4+k3s1",
            }).ResponseAsync.DefaultTimeout();
            var a = await SimulatedAgent.RegisterAsync(server, "prod", "node-a", created.BootstrapToken);
            var b = await SimulatedAgent.RegisterAsync(server, "prod", "node-b", created.BootstrapToken);
            return new TwoNodeCluster(server, a, b);
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    public ValueTask DisposeAsync() => Server.DisposeAsync();
}
