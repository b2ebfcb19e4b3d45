using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using NodeAgent.Server.Hosting;

namespace NodeAgent.Testing.PlanServer;

/// <summary>The plan server on Kestrel inside the test process, on a free loopback port.</summary>
public sealed class InProcessPlanServer : IAsyncDisposable
{
    private readonly TempDir _dataDir = new("nodeagent-planserver-");
    private WebApplication? _app;
    private PlanServerOptions _options = null!;
    private TimeProvider? _time;

    public string DataDir => _dataDir.Path;

    public Uri Address { get; private set; } = null!;

    /// <summary>The server's CA certificate (PEM), or null when it serves plaintext.</summary>
    public string? CaFile { get; private set; }

    /// <summary>Where it serves /metrics and /healthz (plain HTTP).</summary>
    public Uri MetricsAddress { get; private set; } = null!;

    /// <param name="time">A fake clock for deadline tests; default: the system clock.</param>
    /// <param name="plaintext">Serve without TLS (as <c>--plaintext</c>); default: TLS with the server's own CA.</param>
    public static async Task<InProcessPlanServer> StartAsync(TimeProvider? time = null, bool plaintext = false, CancellationToken cancellationToken = default)
    {
        var server = new InProcessPlanServer();
        try
        {
            var port = FreePorts.Next();
            var metricsPort = FreePorts.Next();
            var options = new PlanServerOptions
            {
                DataDir = server.DataDir,
                Listen = $"127.0.0.1:{port}",
                MetricsListen = $"127.0.0.1:{metricsPort}",
                Plaintext = plaintext,
            };
            server._options = options;
            server._time = time;
            server.Address = new Uri($"{(plaintext ? "http" : "https")}://127.0.0.1:{port}");
            server.MetricsAddress = new Uri($"http://127.0.0.1:{metricsPort}");
            await server.RunAsync(cancellationToken);
            server.CaFile = plaintext ? null : PlanServerChannels.CaFile(server.DataDir);
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>Stops the server and starts a new one on the same data dir, ports and clock (what a restarted process finds).</summary>
    public async Task RestartAsync(CancellationToken cancellationToken = default)
    {
        if (_app is not null)
        {
            await _app.StopAsync(cancellationToken).WithTimeout(TestTimeouts.Default);
            await _app.DisposeAsync();
            _app = null;
        }
        await RunAsync(cancellationToken);
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        _app = PlanServerApp.Build(_options, [], _time);
        await _app.StartAsync(cancellationToken).WithTimeout(TestTimeouts.Default);
        // Ready once gRPC health says serving (its store check takes the write lock; a cold
        // process's first answer can take longer than one probe), as PlanServerProcess waits too.
        using var probe = PlanServerChannels.Create(Address, null, _options.Plaintext ? null : PlanServerChannels.CaFile(DataDir));
        await OperationWaits.UntilAsync(ct => PlanServerHealth.IsServingAsync(probe, ct));
    }

    public GrpcChannel CreateChannel() => PlanServerChannels.Create(Address, null, CaFile);

    /// <summary>The operator credential the server created in its data dir.</summary>
    public string AdminToken => PlanServerChannels.ReadAdminToken(DataDir);

    /// <summary>A channel that sends the admin token, or <paramref name="bearerToken"/>, on every call.</summary>
    public GrpcChannel CreateChannel(string? bearerToken) => PlanServerChannels.Create(Address, bearerToken, CaFile);

    /// <summary>A channel authenticated as the operator.</summary>
    public GrpcChannel CreateAdminChannel() => PlanServerChannels.Create(Address, AdminToken, CaFile);

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync().WithTimeout(TestTimeouts.Default);
            await _app.DisposeAsync();
        }
        _dataDir.Dispose();
    }
}
