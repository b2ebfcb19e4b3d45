using System.Text.Json;
using NodeAgent.Testing;
using NodeAgent.Testing.Etcd;
using NodeAgent.Testing.Net;
using NodeAgent.Testing.Ordering;
using NodeAgent.Testing.Processes;
using NodeAgent.Testing.S3;

namespace NodeAgent.Agent.Tests.S3;

/// <summary><c>node-agent etcd-snapshot ... --s3</c> as a real process, keys only in the environment (S3 outages: <see cref="EtcdSnapshotS3OutageCliTests"/>).</summary>
[ExpectedDuration(416)]
public sealed class EtcdSnapshotS3CliTests(SharedS3Servers servers) : EtcdSnapshotS3CliRuns, IClassFixture<SharedS3Servers>, IDisposable
{
    public void Dispose() => Root.Dispose();

    [Theory]
    [MemberData(nameof(S3ServersFixture.Names), MemberType = typeof(S3ServersFixture))]
    public async Task SaveLsDelete_WithS3_LocalAndBucketCopies(string name)
    {
        var server = servers.Get(name);
        var bucket = await S3TestStores.NewBucketAsync(server, "cli");
        await using var etcd = await EtcdServer.StartAsync();

        var saved = await RunAsync(server, "save", "--endpoints", etcd.ClientUrl, "--node-name", "n1", "--s3", "--s3-bucket", bucket, "--s3-folder", "nightly");
        var listed = await RunAsync(server, "ls", "--s3", "--s3-bucket", bucket, "--s3-folder", "nightly", "-o", "json");

        saved.EnsureSuccess();
        Assert.Matches(@"Snapshot on-demand-n1-\d+ uploaded: s3://" + bucket + @"/nightly/on-demand-n1-\d+", saved.StandardOutput);
        using var json = JsonDocument.Parse(listed.EnsureSuccess().StandardOutput);
        var locations = json.RootElement.EnumerateArray().Select(e => e.GetProperty("location").GetString()!).ToList();
        var snapshot = json.RootElement[0].GetProperty("name").GetString()!;
        Assert.Equal(2, locations.Count);
        Assert.Contains($"s3://{bucket}/nightly/{snapshot}", locations);
        Assert.Contains(new Uri(Path.Combine(Dir, snapshot)).AbsoluteUri, locations);
        Assert.All(json.RootElement.EnumerateArray(), e => Assert.Equal("n1", e.GetProperty("nodeName").GetString()));
        Assert.Contains("\"s3Upload\": \"uploaded\"", File.ReadAllText(Path.Combine(Root.Path, ".metadata", snapshot)), StringComparison.Ordinal);

        var deleted = await RunAsync(server, "delete", "--s3", "--s3-bucket", bucket, "--s3-folder", "nightly", snapshot);

        Assert.Equal(0, deleted.ExitCode);
        Assert.Contains($"Snapshot {snapshot} deleted from s3://{bucket}/nightly/{snapshot}", deleted.StandardOutput, StringComparison.Ordinal);
        Assert.DoesNotContain(snapshot, (await server.Aws().RunAsync(["s3", "ls", "--recursive", $"s3://{bucket}/"])).StandardOutput, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(Dir, snapshot)));
    }

    [Fact]
    public async Task Save_WrongSecret_ExitsOneKeepsTheLocalSnapshotAndRecordsTheFailure()
    {
        var server = servers.Ceph;
        var bucket = await S3TestStores.NewBucketAsync(server, "cli");
        await using var etcd = await EtcdServer.StartAsync();

        var saved = await RunWithSecretAsync(server, "wrong", "save", "--endpoints", etcd.ClientUrl, "--node-name", "n1", "--s3", "--s3-bucket", bucket);

        Assert.Equal(1, saved.ExitCode);
        Assert.Contains("rejected the secret key (SignatureDoesNotMatch); the local snapshot", saved.StandardError, StringComparison.Ordinal);
        var snapshot = Assert.Single(Directory.GetFiles(Dir), f => !Path.GetFileName(f).StartsWith('.'));
        Assert.Contains("\"s3Upload\": \"upload failed:", File.ReadAllText(Path.Combine(Root.Path, ".metadata", Path.GetFileName(snapshot))), StringComparison.Ordinal);
        Assert.DoesNotContain(server.SecretKey, saved.StandardError + saved.StandardOutput, StringComparison.Ordinal);

        // The next save with S3 answering uploads the one that failed too.
        var next = await RunAsync(server, "save", "--endpoints", etcd.ClientUrl, "--node-name", "n1", "--name", "later", "--s3", "--s3-bucket", bucket);

        next.EnsureSuccess();
        var failed = Path.GetFileName(snapshot);
        Assert.Contains($"Snapshot {failed} uploaded (its earlier upload had failed)", next.StandardOutput, StringComparison.Ordinal);
        var objects = (await server.Aws().RunAsync(["s3", "ls", $"s3://{bucket}/"])).StandardOutput;
        Assert.Contains(failed, objects, StringComparison.Ordinal);
        Assert.Contains("later-n1-", objects, StringComparison.Ordinal);
        Assert.Contains("\"s3Upload\": \"uploaded\"", File.ReadAllText(Path.Combine(Root.Path, ".metadata", failed)), StringComparison.Ordinal);
    }

    /// <summary>
    /// S3 passes the preflight, then hangs once 12 MB of a 40 MB snapshot have gone up (the relay
    /// stops forwarding and holds its connections open). The parts in flight time out, the upload is
    /// abandoned, the abort (S3 still hung) times out too and is journaled for the next run, and the
    /// local snapshot is finished whole.
    /// </summary>
    [Fact]
    public async Task Save_S3HangsMidUpload_KeepsLocalSnapshotJournalsAbortExitsOne()
    {
        var server = servers.Ceph;
        var bucket = await S3TestStores.NewBucketAsync(server, "hang");
        await using var etcd = await EtcdServer.StartAsync();
        await EtcdData.LoadAsync(etcd.ClientUrl, 40).WithTimeout(TestTimeouts.Slow);
        await using var relay = TcpRelay.Start(server.HttpEndpoint);
        var frozen = relay.FreezeAfter(12 * 1024 * 1024);

        // 10 s per request: a loaded machine's RGW has taken over 5 s to answer the preflight, and the save then
        // failed before the relay froze.
        var saved = await RunHungAsync(server, relay.Authority, "save", "--endpoints", etcd.ClientUrl, "--node-name", "n1", "--s3", "--s3-bucket", bucket, "--s3-timeout", "10s");

        // The save has exited, so no more bytes can reach the relay: it froze by now or never will.
        Assert.True(frozen.IsCompleted, $"S3 failed before 12 MB went up, so the hang was never tried; the save printed: {saved.StandardError}");
        Assert.Equal(1, saved.ExitCode);
        Assert.Matches(@"failed: part \d+: S3 at 127\.0\.0\.1:\d+ timed out after 10s \(--s3-timeout\); the local snapshot .* is kept", saved.StandardError);
        AssertKeptLocally("timed out after 10s (--s3-timeout)");
        Assert.Single(Directory.GetFiles(Path.Combine(Root.Path, ".metadata", ".uploads")));
    }

    /// <summary>
    /// Each request answers in time but the whole upload does not: --s3-upload-timeout abandons it
    /// (here S3 hangs mid-upload under a long --s3-timeout, so only the upload's deadline can end it).
    /// </summary>
    [Fact]
    public async Task Save_UploadDeadlinePasses_KeepsLocalSnapshotNamesTheDeadline()
    {
        var server = servers.Ceph;
        var bucket = await S3TestStores.NewBucketAsync(server, "slow");
        await using var etcd = await EtcdServer.StartAsync();
        await EtcdData.LoadAsync(etcd.ClientUrl, 40).WithTimeout(TestTimeouts.Slow);
        await using var relay = TcpRelay.Start(server.HttpEndpoint);
        // The upload cannot finish without passing 12 MiB, so it never does; the deadline may come before the freeze or after.
        _ = relay.FreezeAfter(12 * 1024 * 1024);

        var saved = await RunHungAsync(server, relay.Authority, "save", "--endpoints", etcd.ClientUrl, "--node-name", "n1", "--s3", "--s3-bucket", bucket,
            "--s3-timeout", "20s", "--s3-upload-timeout", "3s");

        Assert.Equal(1, saved.ExitCode);
        Assert.Contains("failed: the upload did not finish within 3s (--s3-upload-timeout); the local snapshot", saved.StandardError, StringComparison.Ordinal);
        AssertKeptLocally("the upload did not finish within 3s (--s3-upload-timeout)");
    }

    [Fact]
    public async Task Ls_S3Hung_ExitsOneWithTheTimeout()
    {
        var server = servers.Ceph;
        await using var relay = TcpRelay.Start(server.HttpEndpoint);
        relay.Freeze();
        Directory.CreateDirectory(Dir);

        var listed = await RunHungAsync(server, relay.Authority, "ls", "--s3", "--s3-bucket", "any-bucket", "--s3-timeout", "5s");

        Assert.Equal(1, listed.ExitCode);
        Assert.Equal($"node-agent: listing s3://any-bucket/ failed: S3 at {relay.Authority} timed out after 5s (--s3-timeout)", listed.StandardError.Trim());
    }

    /// <summary>
    /// prune and delete with --s3 while S3 hangs: the local copies go first, and the user is told which
    /// went before the S3 timeout, instead of only the timeout (local snapshots deleted unmentioned).
    /// </summary>
    [Fact]
    public async Task PruneAndDelete_S3Hung_SayWhichLocalSnapshotsWentThenTheTimeout_ExitOne()
    {
        var server = servers.Ceph;
        await using var relay = TcpRelay.Start(server.HttpEndpoint);
        relay.Freeze();
        Directory.CreateDirectory(Dir);
        Directory.CreateDirectory(Path.Combine(Root.Path, ".metadata"));
        foreach (var seconds in new[] { 1700000001, 1700000002, 1700000003 })
        {
            File.WriteAllText(Path.Combine(Dir, $"on-demand-n1-{seconds}"), "snapshot");
        }
        var timedOut = $"S3 at {relay.Authority} timed out after 3s (--s3-timeout)";

        var pruned = await RunHungAsync(server, relay.Authority, "prune", "--snapshot-retention", "2", "--node-name", "n1", "--s3", "--s3-bucket", "any-bucket", "--s3-timeout", "3s");
        var deleted = await RunHungAsync(server, relay.Authority, "delete", "--node-name", "n1", "--s3", "--s3-bucket", "any-bucket", "--s3-timeout", "3s", "on-demand-n1-1700000003");

        Assert.Equal($"node-agent: listing s3://any-bucket/ failed: {timedOut}", pruned.StandardError.Trim());
        Assert.Equal("Snapshot on-demand-n1-1700000001 deleted", pruned.StandardOutput.Trim());
        Assert.Equal(1, pruned.ExitCode);
        Assert.Equal($"node-agent: deleting s3://any-bucket/on-demand-n1-1700000003 failed: {timedOut}", deleted.StandardError.Trim());
        Assert.Equal("Snapshot on-demand-n1-1700000003 deleted", deleted.StandardOutput.Trim());
        Assert.Equal(1, deleted.ExitCode);
        Assert.Equal([Path.Combine(Dir, "on-demand-n1-1700000002")], Directory.GetFiles(Dir));
    }

    /// <summary>
    /// --s3-proxy sends S3 traffic through the proxy (tinyproxy logs the requests); "none" ignores a
    /// proxy in the environment, which is otherwise honoured (K3s's behaviour).
    /// </summary>
    [Theory]
    [MemberData(nameof(S3ServersFixture.Names), MemberType = typeof(S3ServersFixture))]
    public async Task Proxy_ExplicitIsUsed_NoneIgnoresTheEnvironment(string name)
    {
        var server = servers.Get(name);
        var bucket = await S3TestStores.NewBucketAsync(server, "px");
        await using var etcd = await EtcdServer.StartAsync();
        await using var proxy = await TinyproxyServer.StartAsync();
        var deadProxy = $"http://127.0.0.1:{FreePorts.Next()}";

        var viaProxy = await RunAsync(server, "save", "--endpoints", etcd.ClientUrl, "--node-name", "n1", "--s3", "--s3-bucket", bucket, "--s3-proxy", proxy.Url);
        var viaEnvironment = await RunWithAsync(server, server.HttpEndpoint.Authority, server.SecretKey, ["ls", "--s3", "--s3-bucket", bucket], ("HTTP_PROXY", deadProxy));
        var proxyNone = await RunWithAsync(server, server.HttpEndpoint.Authority, server.SecretKey, ["ls", "--s3", "--s3-bucket", bucket, "--s3-proxy", "none"], ("HTTP_PROXY", deadProxy));

        viaProxy.EnsureSuccess();
        Assert.Contains($"PUT http://{server.HttpEndpoint.Authority}/{bucket}/on-demand-n1-", proxy.Log, StringComparison.Ordinal);
        Assert.Equal(1, viaEnvironment.ExitCode);
        Assert.Contains("is not reachable", viaEnvironment.StandardError, StringComparison.Ordinal);
        Assert.Contains("on-demand-n1-", proxyNone.EnsureSuccess().StandardOutput, StringComparison.Ordinal);
    }

    /// <summary>
    /// --s3-endpoint-ca adds to the system roots; with --s3-endpoint-ca-only it replaces them. The
    /// process's system roots are made the fixture's CA through SSL_CERT_FILE (which .NET's OpenSSL
    /// store honours), and an unrelated CA is given as --s3-endpoint-ca.
    /// </summary>
    [Theory]
    [MemberData(nameof(S3ServersFixture.Names), MemberType = typeof(S3ServersFixture))]
    public async Task EndpointCa_AddsToSystemRoots_CaOnlyReplacesThem(string name)
    {
        var server = servers.Get(name);
        var bucket = await S3TestStores.NewBucketAsync(server, "ca");
        Directory.CreateDirectory(Dir);
        using var other = new TestCertificateAuthority();
        var systemRoots = ("SSL_CERT_FILE", server.CaCertificatePath!);
        string[] ls = ["ls", "--s3", "--s3-bucket", bucket, "--s3-endpoint-ca", other.CaCertificatePath];

        var added = await RunHttpsAsync(server, ls, systemRoots);
        var replaced = await RunHttpsAsync(server, [.. ls, "--s3-endpoint-ca-only"], systemRoots);
        var onlyTheRightOne = await RunHttpsAsync(server, ["ls", "--s3", "--s3-bucket", bucket, "--s3-endpoint-ca", server.CaCertificatePath!, "--s3-endpoint-ca-only"]);

        added.EnsureSuccess();
        Assert.Equal(1, replaced.ExitCode);
        Assert.Contains("certificate is not trusted", replaced.StandardError, StringComparison.Ordinal);
        onlyTheRightOne.EnsureSuccess();
    }

    [Fact]
    public async Task Prune_S3RetentionScopes_NodeKeepsOthersUploads_ClusterCountsEveryNode()
    {
        var server = servers.S3rver;
        var bucket = await S3TestStores.NewBucketAsync(server, "cli");
        using var client = server.CreateClient();
        foreach (var (file, node) in new[] { ("etcd-snapshot-n1-1700000001", "n1"), ("etcd-snapshot-n2-1700000002", "n2"), ("etcd-snapshot-n1-1700000003", "n1"), ("on-demand-n1-1600000000", "n1") })
        {
            var put = new Amazon.S3.Model.PutObjectRequest { BucketName = bucket, Key = file, ContentBody = "x", UseChunkEncoding = false };
            var meta = new Amazon.S3.Model.PutObjectRequest { BucketName = bucket, Key = ".metadata/" + file, ContentBody = $"{{\"nodeName\":\"{node}\"}}", UseChunkEncoding = false };
            await client.PutObjectAsync(put).WithTimeout(TestTimeouts.Slow);
            await client.PutObjectAsync(meta).WithTimeout(TestTimeouts.Slow);
        }
        Directory.CreateDirectory(Dir);

        var nodeScope = await RunAsync(server, "prune", "--node-name", "n1", "--name", "etcd-snapshot", "--s3", "--s3-bucket", bucket, "--s3-retention", "1");
        var afterNode = (await server.Aws().RunAsync(["s3", "ls", $"s3://{bucket}/"])).StandardOutput;
        var clusterScope = await RunAsync(server, "prune", "--node-name", "n1", "--name", "etcd-snapshot", "--s3", "--s3-bucket", bucket, "--s3-retention", "1", "--s3-retention-scope", "cluster");
        var afterCluster = (await server.Aws().RunAsync(["s3", "ls", $"s3://{bucket}/"])).StandardOutput;

        nodeScope.EnsureSuccess();
        Assert.Contains("etcd-snapshot-n2-1700000002", afterNode, StringComparison.Ordinal);
        Assert.Contains("etcd-snapshot-n1-1700000003", afterNode, StringComparison.Ordinal);
        Assert.DoesNotContain("etcd-snapshot-n1-1700000001", afterNode, StringComparison.Ordinal);
        Assert.Equal(0, clusterScope.ExitCode);
        Assert.Contains("etcd-snapshot-n1-1700000003", afterCluster, StringComparison.Ordinal);
        Assert.DoesNotContain("etcd-snapshot-n2-1700000002", afterCluster, StringComparison.Ordinal);
        Assert.Contains("on-demand-n1-1600000000", afterCluster, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--s3-bucket", "", "--s3-bucket is required")]
    [InlineData("--s3-endpoint", "https://s3.example.com", "without a scheme")]
    [InlineData("--s3-folder", "../x", "--s3-folder \"../x\"")]
    [InlineData("--s3-proxy", "socks", "--s3-proxy \"socks\"")]
    [InlineData("--s3-timeout", "soon", "--s3-timeout \"soon\"")]
    public async Task BadS3Settings_ExitTwoWithTheSettingNamed(string flag, string value, string expected)
    {
        Directory.CreateDirectory(Dir);
        string[] args = flag == "--s3-bucket" ? ["ls", "--s3"] : ["ls", "--s3", "--s3-bucket", "bucket", flag, value];

        var result = flag == "--s3-endpoint"
            ? await CommandRunner.RunAsync(RepoPaths.Executable("node-agent"), ["etcd-snapshot", .. args, "--dir", Dir], timeout: TestTimeouts.Slow)
            : await RunAsync(servers.S3rver, args);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains(expected, result.StandardError, StringComparison.Ordinal);
    }

    /// <summary>
    /// No keys anywhere: the SDK's default chain finds them. The chain's container-credentials
    /// endpoint is served here on loopback, the one stand-in this test needs (no EC2 or ECS here);
    /// the S3 server it talks to is the real RGW.
    /// </summary>
    [Fact]
    public async Task Save_WithoutKeys_TakesCredentialsFromTheSdkChain()
    {
        var server = servers.Ceph;
        var bucket = await S3TestStores.NewBucketAsync(server, "iam");
        await using var etcd = await EtcdServer.StartAsync();
        var port = FreePorts.Next();
        using var listener = new System.Net.HttpListener();
        listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        listener.Start();
        var requests = 0;
        var serving = Task.Run(async () =>
        {
            while (listener.IsListening)
            {
                System.Net.HttpListenerContext context;
                try
                {
                    context = await listener.GetContextAsync();
                }
                catch (Exception ex) when (ex is System.Net.HttpListenerException or ObjectDisposedException)
                {
                    return;
                }
                Interlocked.Increment(ref requests);
                var body = System.Text.Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new Dictionary<string, string>
                {
                    ["AccessKeyId"] = server.AccessKey,
                    ["SecretAccessKey"] = server.SecretKey,
                    ["Expiration"] = "2099-01-01T00:00:00Z",
                }));
                context.Response.ContentType = "application/json";
                await context.Response.OutputStream.WriteAsync(body);
                context.Response.Close();
            }
        });

        var saved = await CommandRunner.RunAsync(RepoPaths.Executable("node-agent"),
            ["etcd-snapshot", "save", "--endpoints", etcd.ClientUrl, "--node-name", "n1", "--dir", Dir,
             "--s3", "--s3-bucket", bucket, "--s3-endpoint", server.HttpEndpoint.Authority, "--s3-insecure"],
            new Dictionary<string, string?>
            {
                ["AWS_ACCESS_KEY_ID"] = null,
                ["AWS_SECRET_ACCESS_KEY"] = null,
                ["AWS_SESSION_TOKEN"] = null,
                ["AWS_SHARED_CREDENTIALS_FILE"] = "/dev/null",
                ["AWS_CONFIG_FILE"] = "/dev/null",
                ["AWS_EC2_METADATA_DISABLED"] = "true",
                ["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = $"http://127.0.0.1:{port}/credentials",
            },
            timeout: TestTimeouts.Slow);
        listener.Stop();
        await serving.DefaultTimeout();

        saved.EnsureSuccess();
        Assert.True(requests > 0);
        Assert.Contains("on-demand-n1-", (await server.Aws().RunAsync(["s3", "ls", $"s3://{bucket}/"])).StandardOutput, StringComparison.Ordinal);
    }
}
