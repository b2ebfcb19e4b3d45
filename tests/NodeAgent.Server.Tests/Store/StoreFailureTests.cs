using System.Net;
using Grpc.Core;
using Microsoft.Data.Sqlite;
using NodeAgent.Contracts.V1;
using NodeAgent.Testing;
using NodeAgent.Testing.PlanServer;

namespace NodeAgent.Server.Tests;

/// <summary>A running plan server whose database another process locks: calls and /healthz say so.</summary>
public sealed class StoreFailureTests
{
    [Fact]
    public async Task CreateCluster_DatabaseLockedAfterStart_UnavailableWithTheReasonAndHealthz503()
    {
        await using var server = await PlanServerProcess.StartAsync();
        using var channel = server.CreateAdminChannel();
        var clusters = new ClusterService.ClusterServiceClient(channel);
        using var http = new HttpClient();
        using var locker = new SqliteConnection($"Data Source={Path.Combine(server.DataDir, "plan-server.db")};Pooling=False");
        locker.Open();
        using (var begin = locker.CreateCommand())
        {
            begin.CommandText = "BEGIN EXCLUSIVE";
            begin.ExecuteNonQuery();
        }

        var ex = await Assert.ThrowsAsync<RpcException>(() => clusters.CreateClusterAsync(
            new CreateClusterRequest { Name = "prod", Runtime = Runtime.Etcd }, deadline: DateTime.UtcNow.Add(TestTimeouts.Default)).ResponseAsync).DefaultTimeout();
        using var health = await http.GetAsync(new Uri(server.MetricsAddress, "/healthz")).DefaultTimeout();

        Assert.Equal(StatusCode.Unavailable, ex.StatusCode);
        Assert.Equal("the plan server's database failed: SQLite Error 5: 'database is locked'.", ex.Status.Detail);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, health.StatusCode);
    }
}
