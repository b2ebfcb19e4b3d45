using System.Globalization;
using NodeAgent.Contracts.V1;
using NodeAgent.Testing;
using NodeAgent.Testing.Agent;
using NodeAgent.Testing.Etcd;
using NodeAgent.Testing.Metrics;
using NodeAgent.Testing.PlanServer;

namespace NodeAgent.Agent.Tests;

/// <summary>
/// The agent's opt-in /metrics and /healthz (metrics-listen): a real agent process saves a real
/// etcd's snapshot for the plan server, and its scrape says so; promtool accepts the format.
/// </summary>
public sealed class AgentMetricsTests
{
    private static readonly HttpClient Http = new() { Timeout = TestTimeouts.Default };

    [Fact]
    public async Task MetricsListen_AfterASnapshotOperation_ServesSaveAndStepMetricsAndHealthz()
    {
        await using var server = await PlanServerProcess.StartAsync().WithTimeout(TestTimeouts.Slow);
        await using var etcd = await EtcdServer.StartAsync().WithTimeout(TestTimeouts.Slow);
        using var snapshots = new TempDir("nodeagent-metrics-snapshots-");
        var admin = server.CreateAdminChannel();
        var token = (await new ClusterService.ClusterServiceClient(admin).CreateClusterAsync(new CreateClusterRequest
        {
            Name = "prod",
            Runtime = Contracts.V1.Runtime.Etcd,
            SnapshotSettings = new SnapshotSettings { Dir = snapshots.Path, RecurringEnabled = false },
        }).ResponseAsync.DefaultTimeout()).BootstrapToken;
        var metrics = new Uri(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{FreePorts.Next()}"));
        await using var agent = AgentProcess.Start(new Dictionary<string, string>
        {
            ["server"] = server.Address.ToString(),
            ["server-ca"] = server.CaFile!,
            ["token"] = token,
            ["cluster"] = "prod",
            ["node-name"] = "node-1",
            ["runtime"] = "etcd",
            ["etcd-endpoints"] = etcd.ClientUrl,
            ["poll-wait"] = "20s",
            ["metrics-listen"] = metrics.Authority,
        });
        await agent.Notify.WaitForAsync("READY=1", TestTimeouts.Slow);

        using (var health = await Http.GetAsync(new Uri(metrics, "/healthz")).WithTimeout(TestTimeouts.Default))
        {
            Assert.Equal(200, (int)health.StatusCode);
            Assert.Equal("ok\n", await health.Content.ReadAsStringAsync());
        }
        var op = (await new SnapshotService.SnapshotServiceClient(admin).CreateSnapshotAsync(new CreateSnapshotRequest { Cluster = "prod" }).ResponseAsync.DefaultTimeout()).Operation;
        Assert.Equal(OperationPhase.Finished, (await new OperationService.OperationServiceClient(admin).WaitForEndAsync(op.Id, () => agent.Process.Output)).Phase);

        var text = await Http.GetStringAsync(new Uri(metrics, "/metrics")).WithTimeout(TestTimeouts.Default);
        var samples = PrometheusText.Parse(text);
        var saved = new FileInfo(Directory.GetFiles(snapshots.Path).Single(f => Path.GetFileName(f).StartsWith("on-demand-node-1-", StringComparison.Ordinal)));
        Assert.Equal(1, samples.One("nodeagent_agent_snapshot_save_seconds_count", ("result", "succeeded")).Value);
        Assert.Equal(saved.Length, samples.One("nodeagent_agent_snapshot_last_size_bytes").Value);
        Assert.InRange(samples.One("nodeagent_agent_snapshot_last_success_timestamp_seconds", ("storage", "local")).Value,
            new DateTimeOffset(saved.LastWriteTimeUtc).ToUnixTimeSeconds() - 5, new DateTimeOffset(saved.LastWriteTimeUtc).ToUnixTimeSeconds() + 5);
        Assert.Equal(1, samples.One("nodeagent_agent_step_duration_seconds_count", ("step", "save_snapshot"), ("result", "succeeded")).Value);
        var check = await Promtool.CheckMetricsAsync(text).WithTimeout(TestTimeouts.Slow);
        Assert.True(check.ExitCode == 0, $"promtool check metrics: {check.StandardOutput}{check.StandardError}\n{text}");
        using var other = await Http.GetAsync(new Uri(metrics, "/plan")).WithTimeout(TestTimeouts.Default);
        Assert.Equal(404, (int)other.StatusCode);
    }
}
