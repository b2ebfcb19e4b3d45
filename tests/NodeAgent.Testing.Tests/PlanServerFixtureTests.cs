using NodeAgent.Testing.PlanServer;
using NodeAgent.Testing.Tools;

namespace NodeAgent.Testing.Tests;

public sealed class PlanServerFixtureTests
{
    [Fact]
    public async Task InProcessPlanServer_Start_ServesHealth()
    {
        await using var server = await InProcessPlanServer.StartAsync().WithTimeout(TestTimeouts.Slow);
        using var channel = server.CreateChannel();

        Assert.True(await PlanServerHealth.IsServingAsync(channel, CancellationToken.None).DefaultTimeout());
        Assert.True(Directory.Exists(server.DataDir));
        Assert.Equal("https", server.Address.Scheme);
        Assert.True(File.Exists(server.CaFile));
    }

    [Fact]
    public async Task PlanServerProcess_Start_ServesHealthAndStopsOnSigterm()
    {
        var server = await PlanServerProcess.StartAsync().WithTimeout(TestTimeouts.Slow);
        await using (server)
        {
            var result = (await Buf.CurlAsync($"{server.Address}grpc.health.v1.Health/Check", "{}", server.BufTlsArgs).WithTimeout(TestTimeouts.Slow)).EnsureSuccess();
            Assert.Contains("SERVING", result.StandardOutput, StringComparison.Ordinal);

            await server.Process.StopAsync(TimeSpan.FromSeconds(15)).WithTimeout(TestTimeouts.Default);
            Assert.True(server.Process.HasExited);
            Assert.Equal(0, server.Process.ExitCode);
        }
    }

    [Fact]
    public async Task InProcessPlanServer_Plaintext_ServesHealthOverHttp()
    {
        await using var server = await InProcessPlanServer.StartAsync(plaintext: true).WithTimeout(TestTimeouts.Slow);
        using var channel = server.CreateChannel();

        Assert.Equal("http", server.Address.Scheme);
        Assert.True(await PlanServerHealth.IsServingAsync(channel, CancellationToken.None).DefaultTimeout());
    }

    [Fact]
    public async Task PlanServerProcess_Reflection_ListsHealthService()
    {
        await using var server = await PlanServerProcess.StartAsync().WithTimeout(TestTimeouts.Slow);

        var result = (await Buf.CurlAsync(server.Address.ToString(), extra: ["--list-services", .. server.BufTlsArgs]).WithTimeout(TestTimeouts.Slow)).EnsureSuccess();

        Assert.Contains("grpc.health.v1.Health", result.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("nodeagent.v1.AgentService", result.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("nodeagent.v1.ClusterService", result.StandardOutput, StringComparison.Ordinal);
    }
}
