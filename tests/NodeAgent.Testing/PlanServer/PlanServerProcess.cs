using Grpc.Net.Client;
using NodeAgent.Testing.Processes;

namespace NodeAgent.Testing.PlanServer;

/// <summary>
/// The real <c>artifacts/bin/plan-server</c> executable as a child process, on a free loopback
/// port and a temporary data dir; ready once its gRPC health service says SERVING.
/// </summary>
public sealed class PlanServerProcess : IAsyncDisposable
{
    private readonly TempDir? _ownedDataDir;
    private GrpcChannel? _probe;

    private PlanServerProcess(ManagedProcess process, Uri address, string dataDir, TempDir? ownedDataDir)
    {
        Process = process;
        Address = address;
        DataDir = dataDir;
        _ownedDataDir = ownedDataDir;
    }

    public ManagedProcess Process { get; }

    public Uri Address { get; }

    public string DataDir { get; }

    /// <summary>The server's CA certificate (PEM), or null when it serves plaintext.</summary>
    public string? CaFile { get; private init; }

    /// <summary>Where it serves /metrics and /healthz (plain HTTP).</summary>
    public Uri MetricsAddress { get; private init; } = null!;

    /// <summary>buf curl arguments that trust the server's CA.</summary>
    public IReadOnlyList<string> BufTlsArgs => CaFile is null ? [] : ["--cacert", CaFile];

    /// <summary>Starts plan-server; pass <paramref name="dataDir"/> to restart on an existing state.</summary>
    /// <param name="executable">Another plan-server than the build's (e.g. one unpacked from its .deb).</param>
    /// <param name="port">The gRPC port, when the test gave it out before the server started (e.g. a standby an agent already knows); default: a free one.</param>
    public static async Task<PlanServerProcess> StartAsync(string? dataDir = null, IEnumerable<string>? extraArgs = null, string? executable = null, int? port = null)
    {
        var owned = dataDir is null ? new TempDir("nodeagent-planserver-") : null;
        var dir = dataDir ?? owned!.Path;
        port ??= FreePorts.Next();
        var metricsPort = FreePorts.Next();
        var args = extraArgs?.ToList() ?? [];
        var process = ManagedProcess.Start(
            executable ?? RepoPaths.Executable("plan-server"),
            ["--data-dir", dir, "--listen", $"127.0.0.1:{port}", "--metrics-listen", $"127.0.0.1:{metricsPort}", .. args],
            new Dictionary<string, string?> { ["DOTNET_ENVIRONMENT"] = "Development" });
        var plaintext = args.Contains("--plaintext");
        var server = new PlanServerProcess(process, new Uri($"{(plaintext ? "http" : "https")}://127.0.0.1:{port}"), dir, owned)
        {
            CaFile = plaintext ? null : PlanServerChannels.CaFile(dir),
            MetricsAddress = new Uri($"http://127.0.0.1:{metricsPort}"),
        };
        try
        {
            server._probe = server.CreateChannel();
            await process.WaitUntilAsync(ct => PlanServerHealth.IsServingAsync(server._probe, ct), TestTimeouts.Slow, "serving gRPC health");
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
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
        _probe?.Dispose();
        await Process.DisposeAsync();
        _ownedDataDir?.Dispose();
    }
}
