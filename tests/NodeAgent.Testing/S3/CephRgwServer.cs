using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Amazon.S3;
using Amazon.S3.Model;
using NodeAgent.Testing.Processes;
using NodeAgent.Testing.Tools;

namespace NodeAgent.Testing.S3;

/// <summary>
/// Ceph RADOS Gateway from Debian's packages: the strict, production S3 implementation. One mon,
/// one memstore OSD and one radosgw on loopback (HTTP, and HTTPS when given a CA), up in a few
/// seconds; every daemon is stopped on dispose.
/// </summary>
public sealed class CephRgwServer : IS3TestServer, IAsyncDisposable
{
    private readonly TempDir _work;
    private readonly List<ManagedProcess> _daemons = [];
    private readonly Dictionary<string, string?> _env;
    private readonly string _conf;

    private CephRgwServer(TempDir work, string conf, Uri http, Uri? https, string? caFile)
    {
        _work = work;
        _conf = conf;
        _env = new Dictionary<string, string?> { ["CEPH_CONF"] = conf };
        HttpEndpoint = http;
        HttpsEndpoint = https;
        CaCertificatePath = caFile;
    }

    public string Name => "ceph-rgw";

    public Uri HttpEndpoint { get; }

    public Uri? HttpsEndpoint { get; }

    public string? CaCertificatePath { get; }

    public string AccessKey { get; } = "NA" + Convert.ToHexString(RandomNumberGenerator.GetBytes(9));

    public string SecretKey { get; } = Convert.ToBase64String(RandomNumberGenerator.GetBytes(30));

    /// <summary>The daemons' process ids (mon, osd, radosgw).</summary>
    public IReadOnlyList<int> ProcessIds => _daemons.Select(d => d.Id).ToList();

    public static async Task<CephRgwServer> StartAsync(TestCertificateAuthority? ca = null)
    {
        var work = new TempDir("nodeagent-ceph-");
        // The OSD binds in 6800-7300; keep every port of ours outside it.
        static bool Avoid(int p) => p is >= 6790 and <= 7310;
        var mon = FreePorts.Next(Avoid);
        var s3 = FreePorts.Next(Avoid);
        var s3Tls = ca is null ? (int?)null : FreePorts.Next(Avoid);
        foreach (var dir in new[] { "run", "crash", "mon/ceph-a", "osd/ceph-0" })
        {
            Directory.CreateDirectory(Path.Combine(work.Path, dir));
        }
        var conf = CephConfig.Write(work.Path, Guid.NewGuid().ToString(), mon, s3, s3Tls, ca?.ServerBundlePath);
        var server = new CephRgwServer(work, conf,
            new Uri(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{s3}")),
            s3Tls is { } t ? new Uri(string.Create(CultureInfo.InvariantCulture, $"https://127.0.0.1:{t}")) : null,
            ca?.CaCertificatePath);
        try
        {
            await server.BootstrapAsync(mon);
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    public async Task CreateBucketAsync(string name, bool objectLock = false, CancellationToken cancellationToken = default)
    {
        using var client = CreateClient();
        await client.PutBucketAsync(new PutBucketRequest { BucketName = name, ObjectLockEnabledForBucket = objectLock }, cancellationToken);
    }

    public IAmazonS3 CreateClient(bool https = false, string? secretKey = null)
        => S3TestClients.Create(https ? HttpsEndpoint! : HttpEndpoint, AccessKey, secretKey ?? SecretKey, https ? CaCertificatePath : null);

    public AwsCli Aws(bool https = false)
        => new((https ? HttpsEndpoint! : HttpEndpoint).ToString().TrimEnd('/'), AccessKey, SecretKey, https ? CaCertificatePath : null);

    public async Task StopGatewayAsync()
    {
        var gateway = _daemons[^1];
        _daemons.RemoveAt(_daemons.Count - 1);
        gateway.Kill();
        await gateway.DisposeAsync();
    }

    public async Task StartGatewayAsync() => await StartRadosgwAsync();

    /// <summary>
    /// SIGSTOPs this fixture's own radosgw: its socket still accepts connections (the kernel queues
    /// them) but nothing answers, which is how a hung S3 looks. <see cref="ResumeGatewayAsync"/> undoes it.
    /// </summary>
    public Task PauseGatewayAsync() => SignalGatewayAsync("-STOP");

    /// <summary>SIGCONTs the radosgw that <see cref="PauseGatewayAsync"/> stopped.</summary>
    public Task ResumeGatewayAsync() => SignalGatewayAsync("-CONT");

    private async Task SignalGatewayAsync(string signal)
        => (await CommandRunner.RunAsync("kill", [signal, _daemons[^1].Id.ToString(CultureInfo.InvariantCulture)])).EnsureSuccess();

    public async ValueTask DisposeAsync()
    {
        // radosgw first, the monitor last.
        foreach (var daemon in Enumerable.Reverse(_daemons))
        {
            await daemon.StopAsync(TimeSpan.FromSeconds(10));
            await daemon.DisposeAsync();
        }
        _work.Dispose();
    }

    private async Task BootstrapAsync(int monPort)
    {
        var w = _work.Path;
        await Ceph("ceph-authtool", "--create-keyring", $"{w}/ceph.mon.keyring", "--gen-key", "-n", "mon.", "--cap", "mon", "allow *");
        await Ceph("ceph-authtool", "--create-keyring", $"{w}/ceph.client.admin.keyring", "--gen-key", "-n", "client.admin",
            "--cap", "mon", "allow *", "--cap", "osd", "allow *", "--cap", "mgr", "allow *");
        await Ceph("ceph-authtool", "--create-keyring", $"{w}/ceph.client.rgw.gw.keyring", "--gen-key", "-n", "client.rgw.gw",
            "--cap", "mon", "allow rw", "--cap", "osd", "allow rwx");
        await Ceph("ceph-authtool", $"{w}/ceph.mon.keyring", "--import-keyring", $"{w}/ceph.client.admin.keyring");
        await Ceph("ceph-authtool", $"{w}/ceph.mon.keyring", "--import-keyring", $"{w}/ceph.client.rgw.gw.keyring");
        var fsid = File.ReadAllLines(_conf).First(l => l.StartsWith("fsid", StringComparison.Ordinal)).Split('=')[1].Trim();
        await Ceph("monmaptool", "--create", "--addv", "a", string.Create(CultureInfo.InvariantCulture, $"[v2:127.0.0.1:{monPort}]"), "--fsid", fsid, $"{w}/monmap");
        await Ceph("ceph-mon", "-c", _conf, "--mkfs", "-i", "a", "--monmap", $"{w}/monmap", "--keyring", $"{w}/ceph.mon.keyring");
        var mon = Daemon("/usr/bin/ceph-mon", "-c", _conf, "-f", "-i", "a");
        await mon.WaitUntilAsync(async ct => (await CephQuiet(ct, "mon", "stat")).Succeeded, TestTimeouts.Slow, "monitor answering");

        var osdUuid = Guid.NewGuid().ToString();
        var key = (await Ceph("ceph-authtool", "--gen-print-key")).StandardOutput.Trim();
        File.WriteAllText($"{w}/osd.json", $"{{\"cephx_secret\": \"{key}\"}}");
        await Ceph("ceph", "-c", _conf, "osd", "new", osdUuid, "0", "-i", $"{w}/osd.json");
        await Ceph("ceph-osd", "-c", _conf, "-i", "0", "--mkfs", "--osd-uuid", osdUuid, "--key", key);
        File.WriteAllText($"{w}/osd/ceph-0/keyring", $"[osd.0]\n\tkey = {key}\n");
        var osd = Daemon("/usr/bin/ceph-osd", "-c", _conf, "-f", "-i", "0");
        await osd.WaitUntilAsync(async ct =>
        {
            var stat = await CephQuiet(ct, "osd", "stat", "-f", "json");
            if (!stat.Succeeded)
            {
                return false;
            }
            using var json = JsonDocument.Parse(stat.StandardOutput);
            return json.RootElement.GetProperty("num_up_osds").GetInt32() == 1 && json.RootElement.GetProperty("num_in_osds").GetInt32() == 1;
        }, TestTimeouts.Slow, "OSD up and in");

        var rgw = await StartRadosgwAsync();
        await Ceph("radosgw-admin", "-c", _conf, "user", "create", "--uid", "nodeagent", "--display-name", "NodeAgent tests",
            "--access-key", AccessKey, "--secret-key", SecretKey);
        using var client = CreateClient();
        await rgw.WaitUntilAsync(async ct =>
        {
            try
            {
                await client.ListBucketsAsync(ct);
                return true;
            }
            catch (AmazonS3Exception)
            {
                return false;
            }
        }, TestTimeouts.Slow, "accepting the test user's signature");
    }

    private async Task<ManagedProcess> StartRadosgwAsync()
    {
        var rgw = Daemon("/usr/bin/radosgw", "-c", _conf, "-f", "-n", "client.rgw.gw");
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        await rgw.WaitUntilAsync(async ct =>
        {
            try
            {
                return (await http.GetAsync(HttpEndpoint, ct)).IsSuccessStatusCode;
            }
            catch (HttpRequestException)
            {
                return false;
            }
        }, TestTimeouts.Slow, "radosgw answering HTTP");
        return rgw;
    }

    private ManagedProcess Daemon(string binary, params string[] args)
    {
        var process = ManagedProcess.Start(binary, args, _env);
        _daemons.Add(process);
        return process;
    }

    private async Task<CommandResult> Ceph(string tool, params string[] args)
        => (await CommandRunner.RunAsync("/usr/bin/" + tool, args, _env, timeout: TestTimeouts.Slow)).EnsureSuccess();

    private Task<CommandResult> CephQuiet(CancellationToken cancellationToken, params string[] args)
        => CommandRunner.RunAsync("/usr/bin/ceph", ["-c", _conf, "--connect-timeout", "5", .. args], _env,
            timeout: TimeSpan.FromSeconds(60), cancellationToken: cancellationToken);
}
