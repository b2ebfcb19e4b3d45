using System.Text.Json;
using NodeAgent.Agent.S3;
using NodeAgent.Agent.Snapshots;
using NodeAgent.Agent.Tests.S3;
using NodeAgent.Testing;
using NodeAgent.Testing.Etcd;
using NodeAgent.Testing.S3;

namespace NodeAgent.Agent.Tests.Snapshots;

/// <summary>
/// The snapshot feature as both <c>etcd-snapshot</c> and the daemon use it: a real etcd, the real
/// S3 servers (Ceph RGW strict, s3rver lenient), real files.
/// </summary>
public sealed class SnapshotManagerTests(SharedS3Servers servers) : IClassFixture<SharedS3Servers>, IDisposable
{
    private readonly TempDir _root = new();

    public void Dispose() => _root.Dispose();

    [Theory]
    [MemberData(nameof(S3ServersFixture.Names), MemberType = typeof(S3ServersFixture))]
    public async Task SaveAsync_PlainAndZippedWithS3_UploadedAndTheSidecarSaysSo(string name)
    {
        var server = servers.Get(name);
        var bucket = await NewBucketAsync(server);
        await using var etcd = await EtcdServer.StartAsync();
        using var s3 = Store(server, bucket);

        var plain = await Service(etcd).SaveAsync(Request(), Stores(s3), null, CancellationToken.None).WithTimeout(TestTimeouts.Slow);
        var zipped = await Service(etcd).SaveAsync(Request() with { NamePrefix = "zipped", Compress = true }, Stores(s3), null, CancellationToken.None).WithTimeout(TestTimeouts.Slow);

        foreach (var outcome in new[] { plain, zipped })
        {
            var m = outcome.Result.Metadata!;
            Assert.Equal(new UploadReport(m.Name, $"s3://{bucket}/{m.Name}", null), outcome.Upload);
            Assert.Equal("uploaded", Sidecar(m.Name)["s3Upload"]);
            Assert.Equal(UploadStatus.Uploaded, m.S3Upload.Status);
        }
        Assert.Equal([zipped.Result.Metadata!.Name, plain.Result.Metadata!.Name], (await s3.ListAsync(CancellationToken.None).WithTimeout(TestTimeouts.Slow)).Select(o => o.Name));
    }

    [Fact]
    public async Task SaveAsync_UploadRefusedThenS3Back_FailureIsKeptAsAValueAndTheNextSaveCatchesUp()
    {
        var server = servers.Ceph;
        var bucket = await NewBucketAsync(server);
        await using var etcd = await EtcdServer.StartAsync();
        using var refusing = Store(server, bucket, secretKey: "wrong" + server.SecretKey);
        using var s3 = Store(server, bucket);

        var failed = await Service(etcd).SaveAsync(Request(), Stores(refusing), null, CancellationToken.None).WithTimeout(TestTimeouts.Slow);
        var name = failed.Result.Metadata!.Name;
        Assert.Null(failed.Upload!.Location);
        Assert.Contains("rejected the secret key", failed.Upload.Failure, StringComparison.Ordinal);
        Assert.Equal("upload failed: " + failed.Upload.Failure, Sidecar(name)["s3Upload"]);
        Assert.Empty(failed.CaughtUp);
        Assert.True(File.Exists(failed.Result.Path));

        var next = await Service(etcd).SaveAsync(Request() with { NamePrefix = "next" }, Stores(s3), null, CancellationToken.None).WithTimeout(TestTimeouts.Slow);

        Assert.True(next.Upload!.Succeeded);
        Assert.Equal([new UploadReport(name, $"s3://{bucket}/{name}", null)], next.CaughtUp);
        Assert.Equal("uploaded", Sidecar(name)["s3Upload"]);
    }

    [Fact]
    public async Task SaveAsync_StoppedWhileItsZipUploads_SnapshotKeptPendingAndTheNextSaveUploadsIt()
    {
        var server = servers.Ceph;
        var bucket = await NewBucketAsync(server);
        await using var etcd = await EtcdServer.StartAsync();
        using var s3 = Store(server, bucket);
        using var stop = new CancellationTokenSource();
        // The agent is stopped the moment the zip's upload starts.
        using var stopping = new StopOnUpload(s3, stop);

        var ex = await Record.ExceptionAsync(() => Service(etcd).SaveAsync(Request() with { Compress = true }, Stores(stopping), null, stop.Token).WithTimeout(TestTimeouts.Slow));

        Assert.IsAssignableFrom<OperationCanceledException>(ex);
        var zip = Assert.Single(Directory.GetFiles(SnapshotDir, "*.zip"));
        var name = Path.GetFileName(zip);
        Assert.Equal("upload pending", Sidecar(name)["s3Upload"]);

        var next = await Service(etcd).SaveAsync(Request() with { NamePrefix = "next" }, Stores(s3), null, CancellationToken.None).WithTimeout(TestTimeouts.Slow);

        Assert.Equal([new UploadReport(name, $"s3://{bucket}/{name}", null)], next.CaughtUp);
        Assert.Equal("uploaded", Sidecar(name)["s3Upload"]);
    }

    [Fact]
    public async Task PruneAsync_LocalAndS3_OldestBeyondEachCountGo()
    {
        var server = servers.S3rver;
        var bucket = await NewBucketAsync(server);
        await using var etcd = await EtcdServer.StartAsync();
        using var s3 = Store(server, bucket);
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.FromUnixTimeSeconds(1_700_000_000));
        var service = new SnapshotManager(Saver(etcd, time), time);
        var names = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            names.Add((await service.SaveAsync(Request(), Stores(s3), null, CancellationToken.None).WithTimeout(TestTimeouts.Slow)).Result.Metadata!.Name);
            time.Advance(TimeSpan.FromMinutes(1));
        }

        var pruned = await SnapshotManager.PruneAsync(Stores(s3), "on-demand", keepLocal: 2, keepS3: 1, nodeScope: "n1", missingDirIsEmpty: false, CancellationToken.None).WithTimeout(TestTimeouts.Slow);

        Assert.Equal([names[0]], pruned.Local);
        Assert.Equal([(names[1], S3DeleteOutcome.Deleted), (names[0], S3DeleteOutcome.Deleted)], pruned.S3.Select(x => (x.Object.Name, x.Result.Outcome)));
        Assert.Equal([names[2]], (await s3.ListAsync(CancellationToken.None).WithTimeout(TestTimeouts.Slow)).Select(o => o.Name));
    }

    private string SnapshotDir => _root.Combine("snapshots");

    private SnapshotSaveRequest Request() => new(SnapshotDir, "on-demand", "n1", Compress: false) { Runtime = Contracts.V1.Runtime.Etcd, Cluster = "prod" };

    private SnapshotStores Stores(IS3SnapshotStore? s3) => new(new LocalSnapshotStore(SnapshotDir, "n1"), s3);

    private SnapshotManager Service(EtcdServer etcd) => new(Saver(etcd, TimeProvider.System), TimeProvider.System);

    private SnapshotSaver Saver(EtcdServer etcd, TimeProvider time) => S3TestStores.Saver(_root.Path, etcd, time);

    private Dictionary<string, string> Sidecar(string name)
        => JsonSerializer.Deserialize<Dictionary<string, string>>(File.ReadAllText(new SnapshotSidecars(SnapshotDir).PathOf(name)))!;

    private static S3SnapshotStore Store(IS3TestServer server, string bucket, string? secretKey = null) => S3TestStores.Store(server, bucket, secretKey);

    private static Task<string> NewBucketAsync(IS3TestServer server) => S3TestStores.NewBucketAsync(server, "svc");

    /// <summary>The real store, with the agent's stop (<paramref name="stop"/>) arriving as a file upload begins.</summary>
    private sealed class StopOnUpload(IS3SnapshotStore inner, CancellationTokenSource stop) : IS3SnapshotStore
    {
        public string Target => inner.Target;

        public string Bucket => inner.Bucket;

        public string FolderLocation => inner.FolderLocation;

        public string LocationOf(string name) => inner.LocationOf(name);

        public Task PreflightAsync(CancellationToken cancellationToken) => inner.PreflightAsync(cancellationToken);

        public ISnapshotTee StartUpload(string fileName, SnapshotSaveRequest request) => inner.StartUpload(fileName, request);

        public Task PutMetadataAsync(SnapshotMetadata metadata, CancellationToken cancellationToken) => inner.PutMetadataAsync(metadata, cancellationToken);

        public async Task<S3SnapshotObject> UploadAsync(string path, SnapshotMetadata metadata, CancellationToken cancellationToken)
        {
            await stop.CancelAsync();
            return await inner.UploadAsync(path, metadata, cancellationToken);
        }

        public Task<int> AbortStaleUploadsAsync(CancellationToken cancellationToken) => inner.AbortStaleUploadsAsync(cancellationToken);

        public Task<IReadOnlyList<S3SnapshotObject>> ListAsync(CancellationToken cancellationToken) => inner.ListAsync(cancellationToken);

        public Task<SnapshotDownload> DownloadAsync(string name, string directory, CancellationToken cancellationToken) => inner.DownloadAsync(name, directory, cancellationToken);

        public Task<IReadOnlyList<(S3SnapshotObject Object, S3DeleteResult Result)>> PruneAsync(string prefix, int keep, string? nodeName, CancellationToken cancellationToken)
            => inner.PruneAsync(prefix, keep, nodeName, cancellationToken);

        public Task<S3DeleteResult> DeleteAsync(string name, CancellationToken cancellationToken) => inner.DeleteAsync(name, cancellationToken);

        public void Dispose()
        {
        }
    }
}
