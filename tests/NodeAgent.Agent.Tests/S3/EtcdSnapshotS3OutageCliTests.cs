using System.Text.Json;
using NodeAgent.Testing;
using NodeAgent.Testing.Etcd;
using NodeAgent.Testing.Net;
using NodeAgent.Testing.Ordering;
using NodeAgent.Testing.Processes;
using NodeAgent.Testing.S3;

namespace NodeAgent.Agent.Tests.S3;

/// <summary>
/// The S3 servers of the one class that stops and pauses their gateways: its own, not the ones the
/// other S3 classes share (<see cref="SharedS3Servers"/>), whose tests would see the outage.
/// </summary>
[CollectionDefinition("agent-s3")]
[ExpectedDuration(243)]
public sealed class AgentS3ServersDefinition : ICollectionFixture<S3ServersFixture>;

/// <summary><c>node-agent etcd-snapshot ... --s3</c> when its S3 server is stopped or hung.</summary>
[Collection("agent-s3")]
public sealed class EtcdSnapshotS3OutageCliTests(S3ServersFixture servers) : EtcdSnapshotS3CliRuns, IDisposable
{
    public void Dispose() => Root.Dispose();

    /// <summary>
    /// The S3 server is killed once 12 MB of a 40 MB snapshot's upload have reached it (a loopback
    /// relay counts the bytes and does nothing else). The save fails cleanly with the local snapshot
    /// whole and marked; the multipart upload it could not abort stays journaled; when the server is
    /// back, the next save aborts it (RGW then lists no multipart upload) and uploads the first
    /// snapshot, which aws reads back byte-identical.
    /// </summary>
    [Theory]
    [MemberData(nameof(S3ServersFixture.Names), MemberType = typeof(S3ServersFixture))]
    public async Task Save_ServerStoppedMidUpload_FailsCleanly_NoOrphanParts_UploadedLater(string name)
    {
        var server = servers.Get(name);
        var bucket = await S3TestStores.NewBucketAsync(server, "cut");
        await using var etcd = await EtcdServer.StartAsync();
        await EtcdData.LoadAsync(etcd.ClientUrl, 40).WithTimeout(TestTimeouts.Slow);
        CommandResult saved;
        await using (var relay = TcpRelay.Start(server.HttpEndpoint))
        {
            var stopped = relay.TripAfter(12 * 1024 * 1024, server.StopGatewayAsync);
            try
            {
                saved = await RunWithAsync(server, relay.Authority, server.SecretKey, "save", "--endpoints", etcd.ClientUrl, "--node-name", "n1", "--s3", "--s3-bucket", bucket);
                await stopped.WithTimeout(TestTimeouts.Slow);
            }
            finally
            {
                await server.StartGatewayAsync().WithTimeout(TestTimeouts.Slow);
            }
        }
        var journal = Path.Combine(Root.Path, ".metadata", ".uploads");

        Assert.Equal(1, saved.ExitCode);
        Assert.Contains("failed: part ", saved.StandardError, StringComparison.Ordinal);
        Assert.Contains("is kept", saved.StandardError, StringComparison.Ordinal);
        var file = Assert.Single(Directory.GetFiles(Dir), f => !Path.GetFileName(f).StartsWith('.'));
        var sidecar = JsonSerializer.Deserialize<Dictionary<string, string>>(File.ReadAllText(Path.Combine(Root.Path, ".metadata", Path.GetFileName(file))))!;
        Assert.Equal(sidecar["sha256"], Sha256(file));
        Assert.StartsWith("upload failed: ", sidecar["s3Upload"], StringComparison.Ordinal);
        Assert.Single(Directory.GetFiles(journal));
        if (name == "ceph-rgw")
        {
            Assert.Contains(Path.GetFileName(file), (await server.Aws().RunAsync(["s3api", "list-multipart-uploads", "--bucket", bucket])).EnsureSuccess().StandardOutput, StringComparison.Ordinal);
        }

        var next = await RunAsync(server, "save", "--endpoints", etcd.ClientUrl, "--node-name", "n1", "--name", "later", "--s3", "--s3-bucket", bucket);

        next.EnsureSuccess();
        Assert.Contains($"Snapshot {Path.GetFileName(file)} uploaded (its earlier upload had failed)", next.StandardOutput, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(journal));
        if (name == "ceph-rgw")
        {
            // s3rver has no ListMultipartUploads (nor AbortMultipartUpload): only RGW can show none are left.
            Assert.DoesNotContain("UploadId", (await server.Aws().RunAsync(["s3api", "list-multipart-uploads", "--bucket", bucket])).EnsureSuccess().StandardOutput, StringComparison.Ordinal);
        }
        (await server.Aws().CopyDownAsync(bucket, Path.GetFileName(file), Path.Combine(Root.Path, "down"))).EnsureSuccess();
        Assert.Equal(Sha256(file), Sha256(Path.Combine(Root.Path, "down")));
    }

    /// <summary>
    /// The report: radosgw SIGSTOPped, so S3 accepts connections and never answers. The
    /// preflight times out after --s3-timeout; the snapshot is saved locally anyway (whole: its
    /// sha256 is the sidecar's), the sidecar says why the upload failed, the command exits 1.
    /// </summary>
    [Fact]
    public async Task Save_S3HungAtPreflight_SavesLocallyRecordsTimeoutExitsOne()
    {
        var server = servers.Ceph;
        var bucket = await S3TestStores.NewBucketAsync(server, "hung");
        await using var etcd = await EtcdServer.StartAsync();
        CommandResult saved;
        await server.PauseGatewayAsync().DefaultTimeout();
        try
        {
            saved = await RunHungAsync(server, server.HttpEndpoint.Authority, "save", "--endpoints", etcd.ClientUrl, "--node-name", "n1", "--s3", "--s3-bucket", bucket, "--s3-timeout", "5s");
        }
        finally
        {
            await server.ResumeGatewayAsync().DefaultTimeout();
        }

        Assert.Equal(1, saved.ExitCode);
        Assert.Contains("S3 preflight (List): S3 at " + server.HttpEndpoint.Authority + " timed out after 5s (--s3-timeout); the local snapshot", saved.StandardError, StringComparison.Ordinal);
        AssertKeptLocally("timed out after 5s (--s3-timeout)");
    }
}
