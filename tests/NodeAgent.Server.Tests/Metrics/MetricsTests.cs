using System.Globalization;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Time.Testing;
using NodeAgent.Contracts.V1;
using NodeAgent.Testing;
using NodeAgent.Testing.Metrics;
using NodeAgent.Testing.PlanServer;

namespace NodeAgent.Server.Tests;

/// <summary>
/// The plan server's /metrics and /healthz: scraped over plain HTTP, checked by promtool, read by a
/// real Prometheus, and the numbers follow what happened (a snapshot operation driven by two
/// simulated agents).
/// </summary>
public sealed class MetricsTests : IAsyncLifetime
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 24, 12, 0, 0, TimeSpan.Zero));
    private static readonly HttpClient Http = new() { Timeout = TestTimeouts.Default };
    private TwoNodeCluster _cluster = null!;

    public async Task InitializeAsync() => _cluster = await TwoNodeCluster.StartAsync(_time);

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    [Fact]
    public async Task Scrape_AfterASnapshotOperation_CountsPhasesStepsDeliveriesAgentsAndSnapshots()
    {
        var steadyA = await _cluster.A.GetPlanAsync();
        await _cluster.A.ReportAppliedAsync(steadyA);
        // node-a long-polls: it is connected, and the operation's plan change wakes it.
        var waiting = _cluster.A.GetPlanAsync(steadyA.Checksum, TimeSpan.FromMinutes(1));
        await OperationWaits.UntilAsync(async ct => (await ScrapeAsync(ct)).One("nodeagent_agents_connected", ("cluster", "prod")).Value == 1);

        var op = (await _cluster.Snapshots.CreateSnapshotAsync(new CreateSnapshotRequest { Cluster = "prod" }).ResponseAsync.DefaultTimeout()).Operation;
        var planA = await waiting;
        var during = await ScrapeAsync(default);
        Assert.Equal(1, during.One("nodeagent_operation_active", ("cluster", "prod"), ("operation", op.Id), ("type", "snapshot"), ("phase", "started")).Value);
        Assert.Equal(1, during.One("nodeagent_plan_delivery_seconds_count").Value);

        var planB = await _cluster.B.GetPlanAsync();
        await _cluster.A.ReportStepAsync(planA, StepState.Succeeded, inventory: Inventory("node-a", 1_700_000_000, 4096));
        await _cluster.B.ReportStepAsync(planB, StepState.Failed, "etcd is not running");
        Assert.Equal(OperationPhase.Failed, (await _cluster.Operations.WaitForEndAsync(op.Id)).Phase);

        var after = await ScrapeAsync(default);
        Assert.Equal(1, after.One("nodeagent_operations_ended_total", ("cluster", "prod"), ("type", "snapshot"), ("result", "failed")).Value);
        Assert.Equal(1, after.One("nodeagent_operation_phase_entered_total", ("type", "snapshot"), ("phase", "started")).Value);
        Assert.Equal(1, after.One("nodeagent_operation_duration_seconds_count", ("type", "snapshot"), ("result", "failed")).Value);
        Assert.Equal(1, after.One("nodeagent_step_duration_seconds_count", ("cluster", "prod"), ("step", "save_snapshot"), ("result", "succeeded")).Value);
        Assert.Equal(1, after.One("nodeagent_step_duration_seconds_count", ("cluster", "prod"), ("step", "save_snapshot"), ("result", "failed")).Value);
        Assert.DoesNotContain(after, s => s.Name == "nodeagent_operation_active");
        Assert.Equal(1_700_000_000, after.One("nodeagent_snapshot_last_success_timestamp_seconds", ("cluster", "prod"), ("node", "node-a"), ("storage", "local")).Value);
        Assert.Equal(4096, after.One("nodeagent_snapshot_last_success_size_bytes", ("cluster", "prod"), ("node", "node-a"), ("storage", "local")).Value);
        Assert.DoesNotContain(after, s => s.Name.StartsWith("nodeagent_snapshot_last", StringComparison.Ordinal) && s.Has(("node", "node-b")));
        Assert.Equal(2, after.One("nodeagent_nodes_registered", ("cluster", "prod")).Value);
    }

    [Fact]
    public async Task Scrape_PromtoolAcceptsTheFormat_AndARealPrometheusReadsIt()
    {
        await _cluster.A.ReportAsync(new ReportStatusRequest { Inventory = Inventory("node-a", 1_700_000_000, 4096) });
        var text = await ScrapeTextAsync(default);

        var check = await Promtool.CheckMetricsAsync(text).WithTimeout(TestTimeouts.Slow);
        Assert.True(check.ExitCode == 0, $"promtool check metrics: {check.StandardOutput}{check.StandardError}\n{text}");

        var metrics = _cluster.Server.MetricsAddress.Authority;
        await using var prometheus = await PrometheusServer.StartAsync(new Dictionary<string, string> { ["plan-server"] = metrics }).WithTimeout(TestTimeouts.Slow);
        await OperationWaits.UntilAsync(async ct =>
            (await prometheus.QueryAsync("nodeagent_snapshot_last_success_timestamp_seconds{node=\"node-a\"}", ct)) is [{ Value: 1_700_000_000 }]);
        var up = await prometheus.QueryAsync("up{job=\"plan-server\"}", default).WithTimeout(TestTimeouts.Default);
        Assert.Equal(1, Assert.Single(up).Value);
    }

    [Fact]
    public async Task Healthz_StoreAnswers_OkWithoutCredentials()
    {
        using var reply = await Http.GetAsync(new Uri(_cluster.Server.MetricsAddress, "/healthz")).WithTimeout(TestTimeouts.Default);

        Assert.Equal(200, (int)reply.StatusCode);
        Assert.Equal("ok\n", await reply.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task MetricsListener_ServesNothingElse()
    {
        using var reply = await Http.GetAsync(new Uri(_cluster.Server.MetricsAddress, "/nodeagent.v1.ClusterService/ListClusters")).WithTimeout(TestTimeouts.Default);

        Assert.Equal(404, (int)reply.StatusCode);
    }

    private async Task<IReadOnlyList<MetricSample>> ScrapeAsync(CancellationToken cancellationToken)
        => PrometheusText.Parse(await ScrapeTextAsync(cancellationToken));

    private async Task<string> ScrapeTextAsync(CancellationToken cancellationToken)
    {
        using var reply = await Http.GetAsync(new Uri(_cluster.Server.MetricsAddress, "/metrics"), cancellationToken).WithTimeout(TestTimeouts.Default);
        reply.EnsureSuccessStatusCode();
        Assert.StartsWith("text/plain", reply.Content.Headers.ContentType?.ToString(), StringComparison.Ordinal);
        return await reply.Content.ReadAsStringAsync(cancellationToken);
    }

    private static SnapshotInventory Inventory(string node, long unixSeconds, long size) => new()
    {
        Snapshots =
        {
            new Snapshot
            {
                Name = string.Create(CultureInfo.InvariantCulture, $"on-demand-{node}-{unixSeconds}"),
                Storage = StorageKind.Local,
                Location = string.Create(CultureInfo.InvariantCulture, $"file:///var/lib/rancher/k3s/server/db/snapshots/on-demand-{node}-{unixSeconds}"),
                Size = size,
                Status = SnapshotStatus.Successful,
                CreatedAt = Timestamp.FromDateTimeOffset(DateTimeOffset.FromUnixTimeSeconds(unixSeconds)),
            },
        },
    };
}
