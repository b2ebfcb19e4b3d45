using System.Globalization;
using Amazon.S3;
using Amazon.S3.Model;
using NodeAgent.Testing.Processes;
using NodeAgent.Testing.Tools;

namespace NodeAgent.Testing.S3;

/// <summary>
/// s3rver (npm), the lenient S3: one process over HTTP and, when given a CA, one over HTTPS,
/// sharing one data directory. It accepts only its fixed S3RVER/S3RVER key pair.
/// </summary>
public sealed class S3rverServer : IS3TestServer, IAsyncDisposable
{
    private readonly TempDir _data;
    private readonly List<ManagedProcess> _processes = [];

    private S3rverServer(TempDir data, Uri http, Uri? https, string? caFile)
    {
        _data = data;
        HttpEndpoint = http;
        HttpsEndpoint = https;
        CaCertificatePath = caFile;
    }

    public string Name => "s3rver";

    public Uri HttpEndpoint { get; }

    public Uri? HttpsEndpoint { get; }

    public string? CaCertificatePath { get; }

    public string AccessKey => "S3RVER";

    public string SecretKey => "S3RVER";

    public IReadOnlyList<int> ProcessIds => _processes.Select(p => p.Id).ToList();

    public static async Task<S3rverServer> StartAsync(TestCertificateAuthority? ca = null)
    {
        var data = new TempDir("nodeagent-s3rver-");
        var port = FreePorts.Next();
        var tlsPort = ca is null ? (int?)null : FreePorts.Next();
        var server = new S3rverServer(data,
            new Uri(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{port}")),
            tlsPort is { } t ? new Uri(string.Create(CultureInfo.InvariantCulture, $"https://127.0.0.1:{t}")) : null,
            ca?.CaCertificatePath);
        try
        {
            await server.LaunchAsync(port, null);
            if (tlsPort is { } tls)
            {
                await server.LaunchAsync(tls, ca);
            }
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
        var http = _processes[0];
        _processes.RemoveAt(0);
        http.Kill();
        await http.DisposeAsync();
    }

    public async Task StartGatewayAsync()
    {
        await LaunchAsync(HttpEndpoint.Port, null);
        // LaunchAsync appends; the HTTP process stays first.
        var http = _processes[^1];
        _processes.RemoveAt(_processes.Count - 1);
        _processes.Insert(0, http);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var process in _processes)
        {
            await process.DisposeAsync();
        }
        _data.Dispose();
    }

    private async Task LaunchAsync(int port, TestCertificateAuthority? ca)
    {
        List<string> args = ["-d", _data.Path, "-a", "127.0.0.1", "-p", port.ToString(CultureInfo.InvariantCulture), "--no-vhost-buckets"];
        if (ca is not null)
        {
            args.AddRange(["--key", ca.ServerKeyPath, "--cert", ca.ServerCertificatePath]);
        }
        var process = ManagedProcess.Start(RepoPaths.NpmTool("s3rver"), args);
        _processes.Add(process);
        using var client = S3TestClients.Create(new Uri(string.Create(CultureInfo.InvariantCulture, $"{(ca is null ? "http" : "https")}://127.0.0.1:{port}")),
            AccessKey, SecretKey, ca?.CaCertificatePath);
        await process.WaitUntilAsync(async ct =>
        {
            try
            {
                await client.ListBucketsAsync(ct);
                return true;
            }
            catch (Exception ex) when (ex is AmazonS3Exception or HttpRequestException or Amazon.Runtime.AmazonServiceException)
            {
                return false;
            }
        }, TestTimeouts.Slow, "answering ListBuckets");
    }
}
