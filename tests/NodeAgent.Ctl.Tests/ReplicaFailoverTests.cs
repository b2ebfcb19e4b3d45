using System.Text.Json;
using NodeAgent.Contracts.V1;
using NodeAgent.Testing;
using NodeAgent.Testing.PlanServer;

namespace NodeAgent.Ctl.Tests;

/// <summary>
/// The real nodeagentctl given several plan server addresses, the first a loopback port nothing
/// listens on: calls and watches go on at the live server, keeping the token and CA, and say so.
/// </summary>
public sealed class ReplicaFailoverTests : IAsyncLifetime
{
    private PlanServerProcess _live = null!;

    public async Task InitializeAsync() => _live = await PlanServerProcess.StartAsync().WithTimeout(TestTimeouts.Slow);

    public async Task DisposeAsync() => await _live.DisposeAsync();

    [Fact]
    public async Task ClusterCreate_FirstAddressRefused_IsCreatedOnTheSecond_StderrNamesTheMove()
    {
        var closed = $"https://127.0.0.1:{FreePorts.Next()}";
        var live = ReplicaCtl.Url(_live);

        var created = (await ReplicaCtl.RunAsync(_live, $"{closed},{live}", "cluster", "create", "prod", "--runtime", "k3s")).EnsureSuccess();
        var listed = (await ReplicaCtl.RunAsync(_live, live, "cluster", "ls")).EnsureSuccess();

        Assert.StartsWith($"nodeagentctl: plan server {closed} did not answer (Unavailable: ", created.StandardError, StringComparison.Ordinal);
        Assert.EndsWith($"); trying {live}\n", created.StandardError, StringComparison.Ordinal);
        Assert.Single(created.StandardError.Trim().Split('\n'));
        Assert.Matches(@"^prod\s+k3s\s", listed.StandardOutput.Split('\n')[1]);
    }

    [Fact]
    public async Task OperationWatch_FirstAddressRefused_FollowsTheOperationOnTheSecond()
    {
        var live = ReplicaCtl.Url(_live);
        var created = JsonDocument.Parse((await ReplicaCtl.RunAsync(_live, live, "cluster", "create", "prod", "--runtime", "etcd", "-o", "json")).EnsureSuccess().StandardOutput);
        using var anonymous = _live.CreateChannel();
        await new AgentService.AgentServiceClient(anonymous).RegisterAsync(new RegisterRequest
        {
            Cluster = "prod", Node = "node-1", BootstrapToken = created.RootElement.GetProperty("bootstrapToken").GetString()!, Roles = { NodeRole.Etcd },
        }).ResponseAsync.DefaultTimeout();
        (await ReplicaCtl.RunAsync(_live, live, "snapshot", "save", "--cluster", "prod")).EnsureSuccess();
        var id = JsonDocument.Parse((await ReplicaCtl.RunAsync(_live, live, "operation", "ls", "--cluster", "prod", "-o", "json")).EnsureSuccess().StandardOutput)
            .RootElement[0].GetProperty("id").GetString()!;
        (await ReplicaCtl.RunAsync(_live, live, "operation", "cancel", id, "--yes")).EnsureSuccess();
        var closed = $"https://127.0.0.1:{FreePorts.Next()}";

        var watched = await ReplicaCtl.RunAsync(_live, $"{closed},{live}", "operation", "watch", id);

        Assert.Equal(1, watched.ExitCode);
        Assert.Contains(id, watched.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("Cancelled", watched.StandardOutput, StringComparison.Ordinal);
        Assert.StartsWith($"nodeagentctl: plan server {closed} did not answer (Unavailable: ", watched.StandardError, StringComparison.Ordinal);
        Assert.EndsWith($"); trying {live}\n", watched.StandardError, StringComparison.Ordinal);
    }
}
