using System.Globalization;
using dotnet_etcd;
using Etcdserverpb;
using NodeAgent.Testing.Processes;

namespace NodeAgent.Testing.Etcd;

/// <summary>
/// One real etcd (Debian's etcd-server) on free loopback ports and a temporary data dir, or on
/// a given data dir (e.g. one restored by etcdctl). Ready once it answers Status; stopped on dispose.
/// </summary>
public sealed class EtcdServer : IAsyncDisposable
{
    public const string Binary = "/usr/bin/etcd";
    private const long QuotaBytes = 8L * 1024 * 1024 * 1024;
    private readonly TempDir? _ownedDir;

    private EtcdServer(ManagedProcess process, string name, string dataDir, int clientPort, int peerPort, TempDir? ownedDir, bool tls = false)
    {
        Tls = tls;
        Process = process;
        Name = name;
        DataDir = dataDir;
        ClientPort = clientPort;
        PeerPort = peerPort;
        _ownedDir = ownedDir;
    }

    public ManagedProcess Process { get; }

    public string Name { get; }

    public string DataDir { get; }

    public int ClientPort { get; }

    public int PeerPort { get; }

    /// <summary>Whether clients speak TLS with a client certificate (see <see cref="StartTlsAsync"/>).</summary>
    public bool Tls { get; }

    public string ClientUrl => string.Create(CultureInfo.InvariantCulture, $"{(Tls ? "https" : "http")}://127.0.0.1:{ClientPort}");

    public string PeerUrl => string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{PeerPort}");

    /// <summary>Starts a single-member etcd. Pass <paramref name="dataDir"/> to start on existing data.</summary>
    public static async Task<EtcdServer> StartAsync(string? dataDir = null, string name = "default", int? peerPort = null)
    {
        var owned = dataDir is null ? new TempDir("nodeagent-etcd-") : null;
        var dir = dataDir ?? Path.Combine(owned!.Path, "data");
        var client = FreePorts.Next();
        var peer = peerPort ?? FreePorts.Next();
        var peerUrl = string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{peer}");
        var server = Launch(name, dir, client, peer, $"{name}={peerUrl}", "new", owned);
        await server.WaitReadyAsync();
        return server;
    }

    /// <summary>
    /// Starts etcd as K3s runs it: clients over TLS with a server certificate from
    /// <paramref name="ca"/>, and only clients that present a certificate that CA signed.
    /// </summary>
    public static async Task<EtcdServer> StartTlsAsync(S3.TestCertificateAuthority ca)
    {
        var owned = new TempDir("nodeagent-etcd-tls-");
        var client = FreePorts.Next();
        var peer = FreePorts.Next();
        var clientUrl = string.Create(CultureInfo.InvariantCulture, $"https://127.0.0.1:{client}");
        var peerUrl = string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{peer}");
        var process = ManagedProcess.Start(Binary,
        [
            "--name", "default",
            "--data-dir", Path.Combine(owned.Path, "data"),
            "--listen-client-urls", clientUrl,
            "--advertise-client-urls", clientUrl,
            "--listen-peer-urls", peerUrl,
            "--initial-advertise-peer-urls", peerUrl,
            "--initial-cluster", $"default={peerUrl}",
            "--cert-file", ca.ServerCertificatePath,
            "--key-file", ca.ServerKeyPath,
            "--trusted-ca-file", ca.CaCertificatePath,
            "--client-cert-auth",
            "--logger", "zap",
            "--log-outputs", "stderr",
            "--log-level", "warn",
        ]);
        var server = new EtcdServer(process, "default", Path.Combine(owned.Path, "data"), client, peer, owned, tls: true);
        var etcdctl = new Tools.Etcdctl(clientUrl);
        await process.WaitUntilAsync(async ct => (await etcdctl.RunAsync(
            ["--cacert", ca.CaCertificatePath, "--cert", ca.ClientCertificatePath, "--key", ca.ClientKeyPath, "endpoint", "status"],
            TestTimeouts.Default, ct)).ExitCode == 0, TestTimeouts.Slow, "answering Status over TLS");
        return server;
    }

    /// <summary>
    /// Adds a learner (a non-voting member, as a new K3s server joins) to <paramref name="leader"/>'s
    /// cluster through <c>etcdctl member add --learner</c> and starts it in a temporary data dir.
    /// </summary>
    public static async Task<EtcdServer> StartLearnerAsync(EtcdServer leader, string name = "learner")
    {
        var owned = new TempDir("nodeagent-etcd-learner-");
        var client = FreePorts.Next();
        var peer = FreePorts.Next();
        var peerUrl = string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{peer}");
        var added = await new Tools.Etcdctl(leader.ClientUrl).RunAsync(["member", "add", name, "--learner", "--peer-urls", peerUrl]);
        if (added.ExitCode != 0)
        {
            owned.Dispose();
            throw new InvalidOperationException($"etcdctl member add --learner failed: {added.StandardError}");
        }
        var server = Launch(name, Path.Combine(owned.Path, "data"), client, peer, $"{leader.Name}={leader.PeerUrl},{name}={peerUrl}", "existing", owned);
        await server.WaitReadyAsync();
        return server;
    }

    /// <summary>Starts one member of a cluster; the caller waits for readiness once all members run.</summary>
    internal static EtcdServer Launch(string name, string dataDir, int clientPort, int peerPort, string initialCluster, string state, TempDir? ownedDir)
    {
        var clientUrl = string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{clientPort}");
        var peerUrl = string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{peerPort}");
        var process = ManagedProcess.Start(Binary,
        [
            "--name", name,
            "--data-dir", dataDir,
            "--listen-client-urls", clientUrl,
            "--advertise-client-urls", clientUrl,
            "--listen-peer-urls", peerUrl,
            "--initial-advertise-peer-urls", peerUrl,
            "--initial-cluster", initialCluster,
            "--initial-cluster-state", state,
            "--initial-cluster-token", "nodeagent-test",
            "--quota-backend-bytes", QuotaBytes.ToString(CultureInfo.InvariantCulture),
            "--max-request-bytes", (4 * 1024 * 1024).ToString(CultureInfo.InvariantCulture),
            "--logger", "zap",
            "--log-outputs", "stderr",
            "--log-level", "warn",
        ]);
        return new EtcdServer(process, name, dataDir, clientPort, peerPort, ownedDir);
    }

    public EtcdClient CreateClient() => new(ClientUrl);

    internal Task WaitReadyAsync() => Process.WaitUntilAsync(async ct =>
    {
        using var client = CreateClient();
        try
        {
            await client.StatusAsync(new StatusRequest(), deadline: null, cancellationToken: ct);
            return true;
        }
        catch (Grpc.Core.RpcException)
        {
            return false;
        }
    }, TestTimeouts.Slow, "answering Status");

    /// <summary>Kills etcd at once (SIGKILL), as a crash or an OOM kill would.</summary>
    public void Kill() => Process.Kill();

    public async ValueTask DisposeAsync()
    {
        await Process.DisposeAsync();
        _ownedDir?.Dispose();
    }
}
