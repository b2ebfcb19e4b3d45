using System.Diagnostics;
using System.Globalization;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using NodeAgent.Contracts.V1;
using NodeAgent.Testing.Metrics;
using NodeAgent.Testing.PlanServer;

namespace NodeAgent.Benchmarks;

/// <summary>
/// <c>plan-fanout</c>: N simulated agents in this process, each with its own gRPC channel (its own
/// TLS connection) to a real plan-server process, long-poll their plans; the cluster's snapshot
/// settings change, and every agent's plan changes. Prints the delivery latency from the change to
/// each agent's new plan (p50, p99, max; goal p99 at most 1 s), the server's RSS idle and with
/// every agent connected, and RSS per connected agent.
/// </summary>
internal static class PlanFanoutBenchmark
{
    public static async Task RunAsync(int agentCount, int rounds, TextWriter output)
    {
        await using var server = await PlanServerProcess.StartAsync();
        var admin = server.CreateAdminChannel();
        var clusters = new ClusterService.ClusterServiceClient(admin);
        var token = (await clusters.CreateClusterAsync(new CreateClusterRequest { Name = "fanout", Runtime = Runtime.Etcd })).BootstrapToken;
        var idleRss = Rss(server.Process.Id);

        var clock = Stopwatch.StartNew();
        var register = new AgentService.AgentServiceClient(server.CreateChannel());
        var agents = new List<PollingAgent>();
        foreach (var chunk in Enumerable.Range(1, agentCount).Chunk(50))
        {
            agents.AddRange(await Task.WhenAll(chunk.Select(async i =>
            {
                var node = string.Create(CultureInfo.InvariantCulture, $"node-{i:0000}");
                var reply = await register.RegisterAsync(new RegisterRequest { Cluster = "fanout", Node = node, BootstrapToken = token, Roles = { NodeRole.Etcd } });
                return new PollingAgent(new AgentService.AgentServiceClient(server.CreateChannel(reply.NodeCredential)), node);
            })));
        }
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"plan-fanout: {agentCount} agents registered in {clock.Elapsed.TotalSeconds:0.0} s; server RSS idle {Measurement.Mib(idleRss)}"));

        using var stop = new CancellationTokenSource();
        await Task.WhenAll(agents.Select(a => a.FirstPlanAsync()));
        var polls = agents.Select(a => a.PollAsync(stop.Token)).ToList();
        await Task.WhenAll(agents.Select(a => a.Waiting.Task));
        var connectedRss = Rss(server.Process.Id);
        var latencies = new List<double>();
        for (var round = 1; round <= rounds; round++)
        {
            foreach (var agent in agents)
            {
                agent.ExpectChange();
            }
            var changedAt = Stopwatch.GetTimestamp();
            await clusters.SetSnapshotSettingsAsync(new SetSnapshotSettingsRequest
            {
                Cluster = "fanout",
                SnapshotSettings = new SnapshotSettings { Cron = string.Create(CultureInfo.InvariantCulture, $"{round} */5 * * *") },
            });
            var delivered = await Task.WhenAll(agents.Select(a => a.Delivered.Task)).WaitAsync(TimeSpan.FromMinutes(2));
            var roundLatencies = delivered.Select(t => Stopwatch.GetElapsedTime(changedAt, t).TotalMilliseconds).Order().ToArray();
            latencies.AddRange(roundLatencies);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  round {round}: p50 {Percentile(roundLatencies, 0.50):0} ms, p99 {Percentile(roundLatencies, 0.99):0} ms, max {roundLatencies[^1]:0} ms"));
            await Task.WhenAll(agents.Select(a => a.Waiting.Task));
        }
        var peakRss = Math.Max(connectedRss, Rss(server.Process.Id));
        // The server's own view (its /metrics), read while the agents still poll: a cross-check of
        // the client-side numbers, and a measure of what a scrape costs with this many agents.
        using var http = new HttpClient();
        var scrapeStarted = Stopwatch.GetTimestamp();
        var scrape = PrometheusText.Parse(await http.GetStringAsync(new Uri(server.MetricsAddress, "/metrics")));
        var scrapeMs = Stopwatch.GetElapsedTime(scrapeStarted).TotalMilliseconds;
        var delivery = (Count: scrape.One("nodeagent_plan_delivery_seconds_count").Value, Sum: scrape.One("nodeagent_plan_delivery_seconds_sum").Value);
        await stop.CancelAsync();
        await Task.WhenAll(polls);
        var all = latencies.Order().ToArray();
        var p99 = Percentile(all, 0.99);
        output.WriteLine();
        output.WriteLine("summary:");
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  {agentCount} agents, {rounds} plan changes: delivery p50 {Percentile(all, 0.50):0} ms, p99 {p99:0} ms (goal <= 1000 ms), max {all[^1]:0} ms; "
            + $"server RSS idle {Measurement.Mib(idleRss)}, with the agents long-polling {Measurement.Mib(peakRss)}, "
            + $"{(peakRss - idleRss) / 1024.0 / agentCount:0.0} KiB per connected agent"));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  server /metrics: {delivery.Count:0} deliveries after a change, mean {1000 * delivery.Sum / Math.Max(1, delivery.Count):0} ms (client-side mean {all.Average():0} ms); "
            + $"agents connected {scrape.One("nodeagent_agents_connected", ("cluster", "fanout")).Value:0}; one scrape took {scrapeMs:0} ms"));
    }

    private static double Percentile(double[] sorted, double p) => sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];

    private static long Rss(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line.AsSpan(6).Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture) * 1024;
            }
        }
        return 0;
    }

    /// <summary>One agent's plan long-poll, as node-agent does it: GetPlan with the checksum it holds.</summary>
    private sealed class PollingAgent(AgentService.AgentServiceClient client, string node)
    {
        private string _known = "";

        /// <summary>Completes with the timestamp at which a changed plan arrived.</summary>
        public TaskCompletionSource<long> Delivered { get; private set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Completes when the agent's long-poll call is on its way.</summary>
        public TaskCompletionSource Waiting { get; private set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void ExpectChange() => Delivered = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);

        public async Task FirstPlanAsync()
            => _known = (await client.GetPlanAsync(new GetPlanRequest { Cluster = "fanout", Node = node })).Plan.Checksum;

        public async Task PollAsync(CancellationToken cancellationToken)
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                try
                {
                    var call = client.GetPlanAsync(new GetPlanRequest
                    {
                        Cluster = "fanout", Node = node, KnownChecksum = _known, Wait = Duration.FromTimeSpan(TimeSpan.FromSeconds(60)),
                    }, cancellationToken: cancellationToken);
                    Waiting.TrySetResult();
                    var reply = await call.ResponseAsync;
                    if (!reply.Unchanged)
                    {
                        var at = Stopwatch.GetTimestamp();
                        _known = reply.Plan.Checksum;
                        Waiting = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                        Delivered.TrySetResult(at);
                    }
                }
                catch (RpcException ex) when (ex.StatusCode == StatusCode.Cancelled && cancellationToken.IsCancellationRequested)
                {
                    return;
                }
            }
        }
    }
}
