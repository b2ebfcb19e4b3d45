using System.Net;
using System.Net.Sockets;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using NodeAgent.Agent.Config;
using NodeAgent.Agent.Etcd;
using NodeAgent.Agent.Metrics;
using NodeAgent.Agent.Plans;
using NodeAgent.Agent.Probes;
using NodeAgent.Agent.Runtime;
using NodeAgent.Contracts.V1;
using NodeAgent.Testing;
using NodeAgent.Testing.Etcd;
using NodeAgent.Testing.PlanServer;

namespace NodeAgent.Agent.Tests.Probes;

/// <summary>The agent's probes on fake time: against a real etcd, a real loopback HTTP server, and the real plan server they report to.</summary>
public sealed class ProbeRunnerTests : IAsyncLifetime, IDisposable
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero));
    private readonly TempDir _root = new();
    private readonly AgentMetrics _metrics = new();
    private InProcessPlanServer _server = null!;
    private ClusterService.ClusterServiceClient _clusters = null!;
    private AgentService.AgentServiceClient _agent = null!;

    public async Task InitializeAsync()
    {
        _server = await InProcessPlanServer.StartAsync().WithTimeout(TestTimeouts.Slow);
        _clusters = new ClusterService.ClusterServiceClient(_server.CreateAdminChannel());
        var token = (await _clusters.CreateClusterAsync(new CreateClusterRequest { Name = "prod", Runtime = Contracts.V1.Runtime.Etcd }).ResponseAsync.DefaultTimeout()).BootstrapToken;
        var registered = await new AgentService.AgentServiceClient(_server.CreateChannel()).RegisterAsync(new RegisterRequest
        {
            Cluster = "prod", Node = "node-1", BootstrapToken = token, Roles = { NodeRole.Etcd },
        }).ResponseAsync.DefaultTimeout();
        _agent = new AgentService.AgentServiceClient(_server.CreateChannel(registered.NodeCredential));
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    public void Dispose() => _root.Dispose();

    [Fact]
    public async Task CheckAsync_EtcdAnswers_Healthy()
    {
        await using var etcd = await EtcdServer.StartAsync().WithTimeout(TestTimeouts.Slow);
        using var reporter = Reporter();

        var result = await Runner(reporter, etcd.ClientUrl).CheckAsync(EtcdProbe(), CancellationToken.None).DefaultTimeout();

        Assert.Equal(new ProbeResult { Name = "etcd-health", Healthy = true, Message = "", CheckedAt = Timestamp.FromDateTimeOffset(_time.GetUtcNow()) }, result);
    }

    [Fact]
    public async Task CheckAsync_NothingListensOnTheEtcdEndpoint_UnhealthyWithEtcdsReason()
    {
        var port = FreePorts.Next();
        using var reporter = Reporter();

        var result = await Runner(reporter, $"http://127.0.0.1:{port}").CheckAsync(EtcdProbe(), CancellationToken.None).DefaultTimeout();

        Assert.False(result.Healthy);
        Assert.StartsWith($"etcd is not reachable (http://127.0.0.1:{port}: ", result.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CheckAsync_NoAnswerWithinTheTimeout_UnhealthyNamingTheTimeout()
    {
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var url = $"http://127.0.0.1:{((IPEndPoint)silent.LocalEndpoint).Port}/ping";
        using var reporter = Reporter();

        var check = Runner(reporter).CheckAsync(HttpProbe(url), CancellationToken.None);
        using var accepted = await silent.AcceptTcpClientAsync().DefaultTimeout();
        _time.Advance(TimeSpan.FromSeconds(5));
        var result = await check.DefaultTimeout();

        Assert.Equal((false, "no answer within 5s"), (result.Healthy, result.Message));
    }

    [Fact]
    public async Task Run_ProbeFailsThenRecovers_EachChangeReportedAtTheNextCheck_TheServerShowsTheReasonThenClears()
    {
        await using var http = LoopbackHttp.Start();
        using var reporter = Reporter();
        var runner = Runner(reporter);
        await runner.StartAsync(CancellationToken.None).DefaultTimeout();
        try
        {
            await runner.ApplyAsync(new SteadyStatePlan { Probes = { HttpProbe(http.Url) } }, CancellationToken.None).DefaultTimeout();
            var first = await UntilProbeAsync(p => p.Healthy);

            http.Status = HttpStatusCode.ServiceUnavailable;
            _time.Advance(TimeSpan.FromSeconds(30));
            var failing = await UntilProbeAsync(p => !p.Healthy);

            http.Status = HttpStatusCode.OK;
            _time.Advance(TimeSpan.FromSeconds(30));
            var recovered = await UntilProbeAsync(p => p.Healthy);

            Assert.Equal("", first.Message);
            Assert.Equal($"GET {http.Url} answered 503 Service Unavailable", failing.Message);
            Assert.Equal(_time.GetUtcNow(), recovered.CheckedAt.ToDateTimeOffset());
            Assert.Equal("", recovered.Message);
            Assert.Contains("nodeagent_agent_probe_healthy{probe=\"supervisor\"} 1", await MetricsTextAsync(), StringComparison.Ordinal);
        }
        finally
        {
            await runner.StopAsync(CancellationToken.None).DefaultTimeout();
        }
    }

    [Fact]
    public async Task ApplyAsync_ProbeRemovedFromThePlan_TheNextReportGoesWithoutIt()
    {
        await using var http = LoopbackHttp.Start();
        using var reporter = Reporter();
        var runner = Runner(reporter);
        await runner.StartAsync(CancellationToken.None).DefaultTimeout();
        try
        {
            await runner.ApplyAsync(new SteadyStatePlan { Probes = { HttpProbe(http.Url) } }, CancellationToken.None).DefaultTimeout();
            await UntilProbeAsync(p => p.Healthy);

            await runner.ApplyAsync(new SteadyStatePlan(), CancellationToken.None).DefaultTimeout();
            await OperationWaits.UntilAsync(async ct =>
            {
                await reporter.ChecksumsAsync("", ct);
                return (await NodeAsync(ct)).Probes.Count == 0;
            }).WithTimeout(TestTimeouts.Slow);
        }
        finally
        {
            await runner.StopAsync(CancellationToken.None).DefaultTimeout();
        }
    }

    private async Task<ProbeResult> UntilProbeAsync(Func<ProbeResult, bool> condition)
    {
        ProbeResult? found = null;
        await OperationWaits.UntilAsync(async ct =>
        {
            found = (await NodeAsync(ct)).Probes.SingleOrDefault();
            return found is not null && condition(found);
        }).WithTimeout(TestTimeouts.Slow);
        return found!;
    }

    private async Task<Node> NodeAsync(CancellationToken ct)
        => (await _clusters.ListNodesAsync(new ListNodesRequest { Cluster = "prod" }, cancellationToken: ct).ResponseAsync).Nodes.Single();

    private async Task<string> MetricsTextAsync()
    {
        using var stream = new MemoryStream();
        await _metrics.Registry.CollectAndExportAsTextAsync(stream);
        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }

    private StatusReporter Reporter() => new(new AgentClient(_agent), new AgentIdentity("prod", "node-1", "test"), NullLogger<StatusReporter>.Instance);

    private ProbeRunner Runner(StatusReporter reporter, string etcdEndpoint = "http://127.0.0.1:1")
    {
        var connection = EtcdConnectionOptions.Resolve(_root.Path, etcdEndpoint, null, null, null);
        var health = new EtcdHealth(() => new GrpcEtcdMaintenance(connection), connection, _time, NullLogger<EtcdHealth>.Instance);
        var checks = new ProbeChecks(health, new HttpGetCheck(new AgentOptions { DataDir = _root.Path }));
        return new ProbeRunner(checks, reporter, _metrics, _time, NullLogger<ProbeRunner>.Instance);
    }

    private static Probe EtcdProbe() => new()
    {
        Name = "etcd-health",
        Interval = Duration.FromTimeSpan(TimeSpan.FromSeconds(30)),
        Timeout = Duration.FromTimeSpan(TimeSpan.FromSeconds(5)),
        EtcdHealth = new EtcdHealthProbe(),
    };

    private static Probe HttpProbe(string url) => new()
    {
        Name = "supervisor",
        Interval = Duration.FromTimeSpan(TimeSpan.FromSeconds(30)),
        Timeout = Duration.FromTimeSpan(TimeSpan.FromSeconds(5)),
        HttpGet = new HttpGetProbe { Url = url },
    };

    /// <summary>The real gRPC client behind the agent's own interface.</summary>
    private sealed class AgentClient(AgentService.AgentServiceClient client) : IPlanServerClient
    {
        public async Task<RegisterResponse> RegisterAsync(RegisterRequest request, CancellationToken cancellationToken)
            => await client.RegisterAsync(request, deadline: DateTime.UtcNow + TestTimeouts.Default, cancellationToken: cancellationToken);

        public async Task<GetPlanResponse> GetPlanAsync(GetPlanRequest request, TimeSpan deadline, CancellationToken cancellationToken)
            => await client.GetPlanAsync(request, deadline: DateTime.UtcNow + deadline, cancellationToken: cancellationToken);

        public async Task<ReportStatusResponse> ReportStatusAsync(ReportStatusRequest request, CancellationToken cancellationToken)
            => await client.ReportStatusAsync(request, deadline: DateTime.UtcNow + TestTimeouts.Default, cancellationToken: cancellationToken);

        public void UseCredential(string credential)
        {
        }
    }

    /// <summary>A loopback HTTP server that answers every request with <see cref="Status"/>.</summary>
    private sealed class LoopbackHttp : IAsyncDisposable
    {
        private readonly HttpListener _listener = new();
        private readonly Task _serving;

        private LoopbackHttp(int port)
        {
            Url = $"http://127.0.0.1:{port}/ping";
            _listener.Prefixes.Add($"http://127.0.0.1:{port}/");
            _listener.Start();
            _serving = ServeAsync();
        }

        public string Url { get; }

        public HttpStatusCode Status { get; set; } = HttpStatusCode.OK;

        public static LoopbackHttp Start() => new(FreePorts.Next());

        public async ValueTask DisposeAsync()
        {
            _listener.Stop();
            await _serving.WithTimeout(TestTimeouts.Default);
            _listener.Close();
        }

        private async Task ServeAsync()
        {
            while (_listener.IsListening)
            {
                HttpListenerContext context;
                try
                {
                    context = await _listener.GetContextAsync();
                }
                catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException)
                {
                    return;
                }
                context.Response.StatusCode = (int)Status;
                context.Response.Close();
            }
        }
    }
}
