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
/// every agent connected, and RSS per connected agent (goal at most 64 KiB). With <c>--store etcd</c>
/// the same run is made twice in one go: one server on SQLite, then <c>--replicas</c> replicas on a
/// real 3-member etcd store, the agents spread over them round-robin and the change made on the
/// first replica (so most agents get it through the other replicas' etcd watch).
/// </summary>
internal static class PlanFanoutBenchmark
{
    public static async Task RunAsync(int agentCount, int rounds, string store, int replicas, TextWriter output)
    {
        var results = new List<(string Setup, Result Result)>();
        output.WriteLine("== sqlite, 1 server");
        results.Add(("sqlite, 1 server", await RunOneAsync(agentCount, rounds, null, 1, output)));
        if (store == "etcd")
        {
            await using var etcd = await NodeAgent.Testing.Etcd.EtcdCluster.StartAsync(3);
            output.WriteLine();
            output.WriteLine($"== etcd (3 members), {replicas} replicas");
            results.Add(($"etcd, {replicas} replicas", await RunOneAsync(agentCount, rounds, etcd.Endpoints, replicas, output)));
        }
        output.WriteLine();
        output.WriteLine("summary:");
        foreach (var (setup, r) in results)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {setup}: {agentCount} agents, {rounds} plan changes: delivery p50 {r.P50:0} ms, p99 {r.P99:0} ms (goal <= 1000 ms), max {r.Max:0} ms; "
                + $"server RSS idle {Measurement.Mib(r.IdleRss)}, with the agents long-polling {Measurement.Mib(r.PeakRss)}, "
                + $"{r.KibPerAgent:0.0} KiB per connected agent (goal <= 64); registration {r.RegisterSeconds:0.0} s"));
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"    server /metrics: {r.ServerDeliveries:0} deliveries after a change, mean {r.ServerMeanMs:0} ms (client-side mean {r.ClientMeanMs:0} ms); agents connected {r.Connected:0}; one scrape took {r.ScrapeMs:0} ms"));
        }
        if (results.Count == 2)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {results[1].Setup} / sqlite: p99 x{results[1].Result.P99 / results[0].Result.P99:0.00}, KiB per agent x{results[1].Result.KibPerAgent / results[0].Result.KibPerAgent:0.00}"));
        }
    }

    private sealed record Result(double P50, double P99, double Max, long IdleRss, long PeakRss, double KibPerAgent, double RegisterSeconds,
        double ServerDeliveries, double ServerMeanMs, double ClientMeanMs, double Connected, double ScrapeMs);

    private static async Task<Result> RunOneAsync(int agentCount, int rounds, string? storeEndpoints, int replicaCount, TextWriter output)
    {
        var servers = new List<PlanServerProcess>();
        try
        {
            string[] args = storeEndpoints is null ? [] : ["--store", "etcd", "--store-endpoints", storeEndpoints];
            // The first alone: it puts the admin token and CA into the store; the others take them.
            servers.Add(await PlanServerProcess.StartAsync(extraArgs: args));
            for (var i = 1; i < replicaCount; i++)
            {
                servers.Add(await PlanServerProcess.StartAsync(extraArgs: args));
            }
            return await MeasureAsync(servers, agentCount, rounds, output);
        }
        finally
        {
            foreach (var server in servers)
            {
                await server.DisposeAsync();
            }
        }
    }

    private static async Task<Result> MeasureAsync(List<PlanServerProcess> servers, int agentCount, int rounds, TextWriter output)
    {
        var admin = servers[0].CreateAdminChannel();
        var clusters = new ClusterService.ClusterServiceClient(admin);
        var token = (await clusters.CreateClusterAsync(new CreateClusterRequest { Name = "fanout", Runtime = Runtime.Etcd })).BootstrapToken;
        var idleRss = servers.Sum(s => Rss(s.Process.Id));

        var clock = Stopwatch.StartNew();
        var registers = servers.Select(s => new AgentService.AgentServiceClient(s.CreateChannel())).ToArray();
        var agents = new List<PollingAgent>();
        foreach (var chunk in Enumerable.Range(1, agentCount).Chunk(50))
        {
            agents.AddRange(await Task.WhenAll(chunk.Select(async i =>
            {
                var node = string.Create(CultureInfo.InvariantCulture, $"node-{i:00000}");
                var server = servers[i % servers.Count];
                var reply = await registers[i % servers.Count].RegisterAsync(new RegisterRequest { Cluster = "fanout", Node = node, BootstrapToken = token, Roles = { NodeRole.Etcd } });
                return new PollingAgent(new AgentService.AgentServiceClient(server.CreateChannel(reply.NodeCredential)), node);
            })));
        }
        var registerSeconds = clock.Elapsed.TotalSeconds;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"plan-fanout: {agentCount} agents registered over {servers.Count} server(s) in {registerSeconds:0.0} s; server RSS idle {Measurement.Mib(idleRss)}"));

        using var stop = new CancellationTokenSource();
        foreach (var chunk in agents.Chunk(500))
        {
            await Task.WhenAll(chunk.Select(a => a.FirstPlanAsync()));
        }
        var polls = agents.Select(a => a.PollAsync(stop.Token)).ToList();
        await Task.WhenAll(agents.Select(a => a.Waiting.Task));
        var connectedRss = servers.Sum(s => Rss(s.Process.Id));
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
            long[] delivered;
            try
            {
                delivered = await Task.WhenAll(agents.Select(a => a.Delivered.Task)).WaitAsync(TimeSpan.FromMinutes(2));
            }
            catch (TimeoutException)
            {
                var waiting = agents.Count(a => !a.Delivered.Task.IsCompleted);
                var errors = string.Join("; ", agents.Select(a => a.LastError).OfType<string>().GroupBy(e => e).Select(g => $"{g.Count()} x {g.Key}").Take(5));
                var logs = string.Join('\n', servers.SelectMany(s => s.Process.Output.Split('\n')).Where(l => l.Contains("fail", StringComparison.OrdinalIgnoreCase) || l.Contains("warn", StringComparison.OrdinalIgnoreCase)).TakeLast(20));
                throw new TimeoutException($"round {round}: {waiting} of {agents.Count} agents got no new plan within 2 minutes; agents' errors: {errors}\nservers:\n{logs}");
            }
            var roundLatencies = delivered.Select(t => Stopwatch.GetElapsedTime(changedAt, t).TotalMilliseconds).Order().ToArray();
            latencies.AddRange(roundLatencies);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  round {round}: p50 {Percentile(roundLatencies, 0.50):0} ms, p99 {Percentile(roundLatencies, 0.99):0} ms, max {roundLatencies[^1]:0} ms"));
            await Task.WhenAll(agents.Select(a => a.Waiting.Task));
        }
        var peakRss = Math.Max(connectedRss, servers.Sum(s => Rss(s.Process.Id)));
        // The servers' own view (their /metrics), read while the agents still poll: a cross-check of
        // the client-side numbers, and a measure of what a scrape costs with this many agents.
        using var http = new HttpClient();
        var scrapeStarted = Stopwatch.GetTimestamp();
        var scrapes = new List<IReadOnlyList<MetricSample>>();
        foreach (var server in servers)
        {
            scrapes.Add(PrometheusText.Parse(await http.GetStringAsync(new Uri(server.MetricsAddress, "/metrics"))));
        }
        var scrapeMs = Stopwatch.GetElapsedTime(scrapeStarted).TotalMilliseconds / servers.Count;
        var count = scrapes.Sum(s => s.One("nodeagent_plan_delivery_seconds_count").Value);
        var sum = scrapes.Sum(s => s.One("nodeagent_plan_delivery_seconds_sum").Value);
        var connected = scrapes.Sum(s => s.One("nodeagent_agents_connected", ("cluster", "fanout")).Value);
        await stop.CancelAsync();
        await Task.WhenAll(polls);
        var all = latencies.Order().ToArray();
        var failed = agents.Sum(a => a.Errors);
        if (failed > 0)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {failed} polls failed and were made again; last: {agents.Select(a => a.LastError).OfType<string>().LastOrDefault()}"));
        }
        return new Result(Percentile(all, 0.50), Percentile(all, 0.99), all[^1], idleRss, peakRss, (peakRss - idleRss) / 1024.0 / agentCount, registerSeconds,
            count, 1000 * sum / Math.Max(1, count), all.Average(), connected, scrapeMs);
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

        /// <summary>Polls that failed (the agent polled again), and the last failure.</summary>
        public int Errors { get; private set; }

        public string? LastError { get; private set; }

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
                catch (RpcException ex)
                {
                    // As node-agent does: the poll is made again (a real agent waits a little first).
                    Errors++;
                    LastError = $"{ex.StatusCode}: {ex.Status.Detail}";
                    await Task.Delay(TimeSpan.FromMilliseconds(200), cancellationToken).ContinueWith(_ => { }, TaskScheduler.Default);
                }
            }
        }
    }
}
