using System.Security.Cryptography;
using System.Text.Json;
using NodeAgent.Agent.Etcd;
using NodeAgent.Agent.S3;
using NodeAgent.Agent.Snapshots;
using NodeAgent.Testing;
using NodeAgent.Testing.Etcd;
using NodeAgent.Testing.Net;
using NodeAgent.Testing.Ordering;
using NodeAgent.Testing.S3;

namespace NodeAgent.Agent.Tests.S3;

/// <summary>
/// The S3 target against Ceph RGW (strict) and s3rver (lenient); what we upload is read back by
/// Debian's aws CLI, the independent client.
/// </summary>
[ExpectedDuration(249)]
public sealed class S3SnapshotStoreTests(SharedS3Servers servers) : IClassFixture<SharedS3Servers>, IDisposable
{
    private const long FiveMiB = 5L * 1024 * 1024;
    private readonly TempDir _root = new();

    public void Dispose() => _root.Dispose();

    [Theory]
    [MemberData(nameof(S3ServersFixture.Names), MemberType = typeof(S3ServersFixture))]
    public async Task Upload_MultipartSnapshotFromEtcd_AwsReadsTheSameBytesAndK3sMetadata(string name)
    {
        var server = servers.Get(name);
        var bucket = await NewBucketAsync(server);
        await using var etcd = await EtcdServer.StartAsync();
        await EtcdData.LoadAsync(etcd.ClientUrl, 12, valueBytes: 256 * 1024).WithTimeout(TestTimeouts.Slow);
        var saved = await SaveAsync(etcd, compress: false);
        var store = Store(server, bucket, folder: "cluster-a/snapshots");

        var uploaded = await store.UploadAsync(saved.Path!, saved.Metadata!, CancellationToken.None).WithTimeout(TestTimeouts.Slow);

        var name0 = saved.Metadata!.Name;
        Assert.True(new FileInfo(saved.Path!).Length > 2 * FiveMiB, "the snapshot must need several parts");
        Assert.Equal($"s3://{bucket}/cluster-a/snapshots/{name0}", uploaded.Location(bucket));
        await server.Aws().CopyDownAsync(bucket, $"cluster-a/snapshots/{name0}", _root.Combine("down")).WithTimeout(TestTimeouts.Slow);
        Assert.Equal(saved.Metadata.Sha256, Sha256(_root.Combine("down")));
        var head = (await server.Aws().HeadObjectAsync(bucket, $"cluster-a/snapshots/{name0}").WithTimeout(TestTimeouts.Slow)).StandardOutput;
        Assert.Contains("\"etcd-node-name\": \"n1\"", head, StringComparison.Ordinal);
        Assert.Contains("\"etcd-cluster-id\": \"prod\"", head, StringComparison.Ordinal);
        Assert.Contains("application/octet-stream", head, StringComparison.Ordinal);
        await server.Aws().CopyDownAsync(bucket, $"cluster-a/snapshots/.metadata/{name0}", _root.Combine("meta.json")).WithTimeout(TestTimeouts.Slow);
        var meta = JsonSerializer.Deserialize<Dictionary<string, string>>(System.IO.File.ReadAllText(_root.Combine("meta.json")))!;
        Assert.Equal(saved.Metadata.Sha256, meta["sha256"]);
        Assert.Equal("n1", meta["nodeName"]);
        await AssertNoMultipartUploadsLeftAsync(server, bucket);
    }

    [Theory]
    [MemberData(nameof(S3ServersFixture.Names), MemberType = typeof(S3ServersFixture))]
    public async Task Upload_CompressedSnapshot_IsAZipObject(string name)
    {
        var server = servers.Get(name);
        var bucket = await NewBucketAsync(server);
        await using var etcd = await EtcdServer.StartAsync();
        var saved = await SaveAsync(etcd, compress: true);

        await Store(server, bucket).UploadAsync(saved.Path!, saved.Metadata!, CancellationToken.None).WithTimeout(TestTimeouts.Slow);

        var key = saved.Metadata!.Name;
        Assert.EndsWith(".zip", key, StringComparison.Ordinal);
        await server.Aws().CopyDownAsync(bucket, key, _root.Combine("down.zip")).WithTimeout(TestTimeouts.Slow);
        Assert.Equal(saved.Metadata.Sha256, Sha256(_root.Combine("down.zip")));
        Assert.Contains("application/zip", (await server.Aws().HeadObjectAsync(bucket, key)).StandardOutput, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(S3ServersFixture.Names), MemberType = typeof(S3ServersFixture))]
    public async Task ListAndDelete_StayInsideTheFolder(string name)
    {
        var server = servers.Get(name);
        var bucket = await NewBucketAsync(server);
        var inside = Store(server, bucket, folder: "a");
        var neighbour = Store(server, bucket, folder: "a-old");
        await inside.UploadAsync(File("on-demand-n1-1700000001", 1000), Metadata("on-demand-n1-1700000001", "n1"), CancellationToken.None).WithTimeout(TestTimeouts.Slow);
        await inside.UploadAsync(File("on-demand-n2-1700000002", 2000), Metadata("on-demand-n2-1700000002", "n2"), CancellationToken.None).WithTimeout(TestTimeouts.Slow);
        await neighbour.UploadAsync(File("on-demand-n1-1600000000", 10), Metadata("on-demand-n1-1600000000", "n1"), CancellationToken.None).WithTimeout(TestTimeouts.Slow);

        var listed = await inside.ListAsync(CancellationToken.None).WithTimeout(TestTimeouts.Slow);

        Assert.Equal(["on-demand-n2-1700000002", "on-demand-n1-1700000001"], listed.Select(o => o.Name));
        Assert.Equal(["n2", "n1"], listed.Select(o => o.NodeName));
        Assert.Equal([2000L, 1000L], listed.Select(o => o.Size));
        Assert.Equal(S3DeleteOutcome.Deleted, (await inside.DeleteAsync("on-demand-n1-1700000001", CancellationToken.None).WithTimeout(TestTimeouts.Slow)).Outcome);
        Assert.Equal(S3DeleteOutcome.NotFound, (await inside.DeleteAsync("on-demand-n1-1600000000", CancellationToken.None).WithTimeout(TestTimeouts.Slow)).Outcome);
        Assert.Equal(["on-demand-n2-1700000002"], (await inside.ListAsync(CancellationToken.None)).Select(o => o.Name));
        Assert.Equal(["on-demand-n1-1600000000"], (await neighbour.ListAsync(CancellationToken.None)).Select(o => o.Name));
        var keys = (await server.Aws().RunAsync(["s3", "ls", "--recursive", $"s3://{bucket}/"])).EnsureSuccess().StandardOutput;
        Assert.DoesNotContain("a/.metadata/on-demand-n1-1700000001", keys, StringComparison.Ordinal);
        Assert.Contains("a/.metadata/on-demand-n2-1700000002", keys, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ObjectLockBucketOnRgw_UploadsSucceed_AndALockedSnapshotIsReportedNotHidden()
    {
        var server = servers.Ceph;
        var bucket = await S3TestStores.NewBucketAsync(server, "lock", objectLock: true);
        using (var admin = server.CreateClient())
        {
            await admin.PutObjectLockConfigurationAsync(new Amazon.S3.Model.PutObjectLockConfigurationRequest
            {
                BucketName = bucket,
                ObjectLockConfiguration = new Amazon.S3.Model.ObjectLockConfiguration
                {
                    ObjectLockEnabled = Amazon.S3.ObjectLockEnabled.Enabled,
                    Rule = new Amazon.S3.Model.ObjectLockRule
                    {
                        DefaultRetention = new Amazon.S3.Model.DefaultRetention { Mode = Amazon.S3.ObjectLockRetentionMode.Governance, Days = 1 },
                    },
                },
            }).WithTimeout(TestTimeouts.Slow);
        }
        var store = Store(server, bucket);
        var file = File("etcd-snapshot-n1-1700000001", 12 * 1024 * 1024);
        var plain = Store(server, await NewBucketAsync(server));
        await plain.PreflightAsync(CancellationToken.None).WithTimeout(TestTimeouts.Slow);
        await store.PreflightAsync(CancellationToken.None).WithTimeout(TestTimeouts.Slow);

        // The preflight saw the lock, so parts carry Content-MD5 (RGW refuses them otherwise); a plain bucket goes without.
        Assert.True(store.ContentMd5);
        Assert.False(plain.ContentMd5);
        await store.UploadAsync(file, Metadata("etcd-snapshot-n1-1700000001", "n1"), CancellationToken.None).WithTimeout(TestTimeouts.Slow);
        var deleted = await store.DeleteAsync("etcd-snapshot-n1-1700000001", CancellationToken.None).WithTimeout(TestTimeouts.Slow);

        await server.Aws().CopyDownAsync(bucket, "etcd-snapshot-n1-1700000001", _root.Combine("down")).WithTimeout(TestTimeouts.Slow);
        Assert.Equal(Sha256(file), Sha256(_root.Combine("down")));
        Assert.Equal(S3DeleteOutcome.Locked, deleted.Outcome);
        Assert.NotNull(deleted.LockedUntil);
        Assert.Contains("protected by Object Lock until", deleted.Describe("s3://x"), StringComparison.Ordinal);
        Assert.Equal(["etcd-snapshot-n1-1700000001"], (await store.ListAsync(CancellationToken.None)).Select(o => o.Name));
    }

    [Theory]
    [MemberData(nameof(S3ServersFixture.Names), MemberType = typeof(S3ServersFixture))]
    public async Task Preflight_GoodTarget_Passes_MissingBucket_IsNamed(string name)
    {
        var server = servers.Get(name);
        var bucket = await NewBucketAsync(server);

        await Store(server, bucket, folder: "p").PreflightAsync(CancellationToken.None).WithTimeout(TestTimeouts.Slow);
        var ex = await Assert.ThrowsAsync<S3TargetException>(() => Store(server, bucket + "-missing").PreflightAsync(CancellationToken.None).WithTimeout(TestTimeouts.Slow));

        Assert.Contains($"S3 preflight (List): bucket \"{bucket}-missing\" does not exist", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("preflight", (await server.Aws().RunAsync(["s3", "ls", "--recursive", $"s3://{bucket}/"])).StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Preflight_WrongSecretOnRgw_SaysSo()
    {
        var ex = await Assert.ThrowsAsync<S3TargetException>(() =>
            Store(servers.Ceph, "any-bucket", secretKey: "wrong").PreflightAsync(CancellationToken.None).WithTimeout(TestTimeouts.Slow));

        Assert.Contains("rejected the secret key (SignatureDoesNotMatch)", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Upload_WrongSecretKeyOnRgw_SaysSoAndLeavesNothing()
    {
        var server = servers.Ceph;
        var bucket = await NewBucketAsync(server);
        var store = Store(server, bucket, secretKey: "wrong" + server.SecretKey);

        var ex = await Assert.ThrowsAsync<S3TargetException>(() =>
            store.UploadAsync(File("on-demand-n1-1700000001", 12 * 1024 * 1024), Metadata("on-demand-n1-1700000001", "n1"), CancellationToken.None).WithTimeout(TestTimeouts.Slow));

        Assert.Contains("rejected the secret key (SignatureDoesNotMatch)", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("on-demand", (await server.Aws().RunAsync(["s3", "ls", "--recursive", $"s3://{bucket}/"])).StandardOutput, StringComparison.Ordinal);
        await AssertNoMultipartUploadsLeftAsync(server, bucket);
    }

    [Fact]
    public async Task Upload_UnknownAccessKeyOrMissingBucketOnRgw_SaysWhich()
    {
        var server = servers.Ceph;
        var bucket = await NewBucketAsync(server);
        var unknownKey = Store(server, bucket, accessKey: "NOSUCHKEY");
        var missingBucket = Store(server, "no-such-bucket-" + Guid.NewGuid().ToString("N")[..8]);
        var file = File("on-demand-n1-1700000001", 100);

        var keyError = await Assert.ThrowsAsync<S3TargetException>(() => unknownKey.UploadAsync(file, Metadata("on-demand-n1-1700000001", "n1"), CancellationToken.None).WithTimeout(TestTimeouts.Slow));
        var bucketError = await Assert.ThrowsAsync<S3TargetException>(() => missingBucket.UploadAsync(file, Metadata("on-demand-n1-1700000001", "n1"), CancellationToken.None).WithTimeout(TestTimeouts.Slow));

        Assert.Contains("does not know the access key (InvalidAccessKeyId)", keyError.Message, StringComparison.Ordinal);
        Assert.Contains($"bucket \"{missingBucket.Settings.Bucket}\" does not exist", bucketError.Message, StringComparison.Ordinal);
        Assert.True(System.IO.File.Exists(file));
    }

    [Theory]
    [MemberData(nameof(S3ServersFixture.Names), MemberType = typeof(S3ServersFixture))]
    public async Task Https_WithTheEndpointCa_Works_WithoutIt_SaysTheCertificateIsNotTrusted(string name)
    {
        var server = servers.Get(name);
        var bucket = await NewBucketAsync(server);
        var file = File("on-demand-n1-1700000001", 100);
        var caBase64 = Convert.ToBase64String(System.IO.File.ReadAllBytes(server.CaCertificatePath!));

        await Store(server, bucket, https: true, ca: server.CaCertificatePath).UploadAsync(file, Metadata("on-demand-n1-1700000001", "n1"), CancellationToken.None).WithTimeout(TestTimeouts.Slow);
        await Store(server, bucket, https: true, ca: caBase64).ListAsync(CancellationToken.None).WithTimeout(TestTimeouts.Slow);
        var ex = await Assert.ThrowsAsync<S3TargetException>(() => Store(server, bucket, https: true).ListAsync(CancellationToken.None).WithTimeout(TestTimeouts.Slow));

        Assert.Contains("certificate is not trusted (give its CA with --s3-endpoint-ca", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(S3ServersFixture.Names), MemberType = typeof(S3ServersFixture))]
    public async Task Save_UploadsWhileSaving_AwsReadsTheSameBytes(string name)
    {
        var server = servers.Get(name);
        var bucket = await NewBucketAsync(server);
        await using var etcd = await EtcdServer.StartAsync();
        await EtcdData.LoadAsync(etcd.ClientUrl, 12, valueBytes: 256 * 1024).WithTimeout(TestTimeouts.Slow);
        var store = Store(server, bucket, folder: "f");
        var request = Request();

        var saved = await Saver(etcd).SaveAsync(request, null, CancellationToken.None, file => store.StartUpload(file, request)).WithTimeout(TestTimeouts.Slow);

        Assert.Null(saved.TeeFailure);
        await server.Aws().CopyDownAsync(bucket, $"f/{saved.Metadata!.Name}", _root.Combine("down")).WithTimeout(TestTimeouts.Slow);
        Assert.Equal(saved.Metadata.Sha256, Sha256(_root.Combine("down")));
        Assert.Contains("\"etcd-node-name\": \"n1\"", (await server.Aws().HeadObjectAsync(bucket, $"f/{saved.Metadata.Name}")).StandardOutput, StringComparison.Ordinal);
        await AssertNoMultipartUploadsLeftAsync(server, bucket);
    }

    [Fact]
    public async Task Save_EtcdKilledWhileUploading_LeavesNoObjectAndNoParts()
    {
        var server = servers.Ceph;
        var bucket = await NewBucketAsync(server);
        await using var etcd = await EtcdServer.StartAsync();
        await EtcdData.LoadAsync(etcd.ClientUrl, 40, valueBytes: 512 * 1024).WithTimeout(TestTimeouts.Slow);
        var store = Store(server, bucket);
        var request = Request();
        var progressed = 0L;

        await Assert.ThrowsAsync<EtcdUnavailableException>(() => Saver(etcd).SaveAsync(request, (done, _) =>
        {
            // Kill etcd once two parts (5 MiB each) have gone out.
            if (done >= 16L * 1024 * 1024 && Interlocked.Exchange(ref progressed, done) == 0)
            {
                etcd.Kill();
            }
        }, CancellationToken.None, file => store.StartUpload(file, request)).WithTimeout(TestTimeouts.Slow));

        Assert.NotEqual(0, progressed);
        Assert.DoesNotContain("on-demand", (await server.Aws().RunAsync(["s3", "ls", "--recursive", $"s3://{bucket}/"])).StandardOutput, StringComparison.Ordinal);
        await AssertNoMultipartUploadsLeftAsync(server, bucket);
    }

    [Fact]
    public async Task Save_UploadRefused_KeepsTheLocalSnapshotAndSaysWhy()
    {
        var server = servers.Ceph;
        var bucket = await NewBucketAsync(server);
        await using var etcd = await EtcdServer.StartAsync();
        await EtcdData.LoadAsync(etcd.ClientUrl, 12, valueBytes: 256 * 1024).WithTimeout(TestTimeouts.Slow);
        var store = Store(server, bucket, secretKey: "wrong" + server.SecretKey);
        var request = Request();

        var saved = await Saver(etcd).SaveAsync(request, null, CancellationToken.None, file => store.StartUpload(file, request)).WithTimeout(TestTimeouts.Slow);

        Assert.Contains("rejected the secret key", saved.TeeFailure, StringComparison.Ordinal);
        Assert.True(System.IO.File.Exists(saved.Path));
        await AssertNoMultipartUploadsLeftAsync(server, bucket);
    }

    [Theory]
    [MemberData(nameof(S3ServersFixture.Names), MemberType = typeof(S3ServersFixture))]
    public async Task Download_PlainAndZipped_AreVerifiedAndReadyToRestore(string name)
    {
        var server = servers.Get(name);
        var bucket = await NewBucketAsync(server);
        await using var etcd = await EtcdServer.StartAsync();
        await EtcdData.LoadAsync(etcd.ClientUrl, 6, valueBytes: 256 * 1024).WithTimeout(TestTimeouts.Slow);
        var store = Store(server, bucket, folder: "dl");
        var plain = await SaveAsync(etcd, compress: false);
        var zipped = await SaveAsync(etcd, compress: true, prefix: "zipped");
        await store.UploadAsync(plain.Path!, plain.Metadata!, CancellationToken.None).WithTimeout(TestTimeouts.Slow);
        await store.UploadAsync(zipped.Path!, zipped.Metadata!, CancellationToken.None).WithTimeout(TestTimeouts.Slow);
        var restoreDir = _root.Combine("restore");

        var plainPath = (await store.DownloadAsync(plain.Metadata!.Name, restoreDir, CancellationToken.None).WithTimeout(TestTimeouts.Slow)).RestorablePath;
        var unzippedPath = (await store.DownloadAsync(zipped.Metadata!.Name, restoreDir, CancellationToken.None).WithTimeout(TestTimeouts.Slow)).RestorablePath;

        Assert.Equal(plain.Metadata.Sha256, Sha256(plainPath));
        Assert.Equal(Path.Combine(restoreDir, zipped.Metadata.Name[..^4]), unzippedPath);
        Assert.Equal(zipped.Metadata.SnapshotSha256, Sha256(unzippedPath));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, System.IO.File.GetUnixFileMode(plainPath));
        Assert.Equal(new[] { plainPath, zipped.Metadata.Name, unzippedPath }.Select(p => Path.Combine(restoreDir, p)).Order(StringComparer.Ordinal), Directory.GetFileSystemEntries(restoreDir).Order(StringComparer.Ordinal));
        Assert.Empty(Directory.GetFileSystemEntries(SnapshotTempFiles.DirectoryFor(restoreDir)));
    }

    [Theory]
    [MemberData(nameof(S3ServersFixture.Names), MemberType = typeof(S3ServersFixture))]
    public async Task Download_CorruptObject_IsRefusedAndLeavesNothing(string name)
    {
        var server = servers.Get(name);
        var bucket = await NewBucketAsync(server);
        await using var etcd = await EtcdServer.StartAsync();
        var saved = await SaveAsync(etcd, compress: false);
        var store = Store(server, bucket);
        await store.UploadAsync(saved.Path!, saved.Metadata!, CancellationToken.None).WithTimeout(TestTimeouts.Slow);
        var corrupt = _root.Combine("corrupt");
        var bytes = await System.IO.File.ReadAllBytesAsync(saved.Path!);
        bytes[bytes.Length / 2] ^= 0x01;
        await System.IO.File.WriteAllBytesAsync(corrupt, bytes);
        await server.PutFileAsync(bucket, saved.Metadata!.Name, corrupt);
        var restoreDir = _root.Combine("restore");

        var ex = await Assert.ThrowsAsync<S3TargetException>(() => store.DownloadAsync(saved.Metadata.Name, restoreDir, CancellationToken.None).WithTimeout(TestTimeouts.Slow));

        Assert.Contains("is not a whole etcd snapshot", ex.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(restoreDir));
    }

    /// <summary>
    /// S3 answers the GET of a restore's download, sends 1 MB of the body and then hangs (the relay
    /// forwards nothing more and holds the connection open): the download fails after --s3-timeout
    /// with no byte, naming it, instead of waiting for the step's own deadline; nothing is left behind.
    /// </summary>
    [Fact]
    public async Task Download_S3HangsMidBody_FailsAfterTheS3TimeoutAndLeavesNothing()
    {
        var server = servers.Ceph;
        var bucket = await NewBucketAsync(server);
        await using var etcd = await EtcdServer.StartAsync();
        await EtcdData.LoadAsync(etcd.ClientUrl, 6).WithTimeout(TestTimeouts.Slow);
        var saved = await SaveAsync(etcd, compress: false);
        await Store(server, bucket).UploadAsync(saved.Path!, saved.Metadata!, CancellationToken.None).WithTimeout(TestTimeouts.Slow);
        await using var relay = TcpRelay.Start(server.HttpEndpoint);
        var hung = Store(server, bucket, endpoint: relay.Authority, timeout: TimeSpan.FromSeconds(3));
        // Past the metadata object's GET and the headers: the freeze comes inside the snapshot's body.
        var frozen = relay.TripAfterDown(1024 * 1024, () =>
        {
            relay.Freeze();
            return Task.CompletedTask;
        });
        var restoreDir = _root.Combine("restore");

        var ex = await Assert.ThrowsAsync<S3TargetException>(() => hung.DownloadAsync(saved.Metadata!.Name, restoreDir, CancellationToken.None).DefaultTimeout());
        await frozen.DefaultTimeout();

        Assert.Equal($"download of s3://{bucket}/{saved.Metadata!.Name} failed: S3 at {relay.Authority} timed out after 3s (--s3-timeout)", ex.Message);
        Assert.Empty(Directory.GetFileSystemEntries(restoreDir));
        Assert.Empty(Directory.GetFileSystemEntries(SnapshotTempFiles.DirectoryFor(restoreDir)));
    }

    /// <summary>
    /// The local disk fills during a restore's download (a 1 MiB tmpfs, a 3 MiB object): the error
    /// names the dir and the disk's error, not S3; no .part is left and nothing else is deleted.
    /// </summary>
    [Fact]
    public async Task Download_LocalDiskFills_NamesTheDirAndTheDiskErrorAndKeepsNothingOfIt()
    {
        var server = servers.Ceph;
        var bucket = await NewBucketAsync(server);
        const string snapshot = "on-demand-n1-1700000000";
        await server.PutFileAsync(bucket, snapshot, File("big", 3 * 1024 * 1024));
        using var disk = new SmallTmpfs();
        var restoreDir = disk.Combine("restore");
        Directory.CreateDirectory(restoreDir);
        await System.IO.File.WriteAllTextAsync(Path.Combine(restoreDir, "keep-me"), "x");

        var ex = await Assert.ThrowsAsync<IOException>(() => Store(server, bucket).DownloadAsync(snapshot, restoreDir, CancellationToken.None).WithTimeout(TestTimeouts.Slow));

        Assert.Equal($"download of s3://{bucket}/{snapshot} failed: snapshot {snapshot} could not be written to {restoreDir}: No space left on device; nothing of it was kept", ex.Message);
        Assert.Equal([Path.Combine(restoreDir, "keep-me")], Directory.GetFileSystemEntries(restoreDir));
        Assert.Empty(Directory.GetFileSystemEntries(SnapshotTempFiles.DirectoryFor(restoreDir)));
    }

    /// <summary>
    /// A downloaded .zip whose unzipping fills the local disk (a 1 MiB tmpfs; a zip of a few KB holding
    /// a 3 MiB snapshot): the error names the dir and the disk's error, as the download's own does;
    /// neither the zip nor a .part is left and nothing else is deleted.
    /// </summary>
    [Fact]
    public async Task Download_UnzippingFillsTheLocalDisk_NamesTheDirAndTheDiskErrorAndKeepsNothingOfIt()
    {
        var server = servers.Ceph;
        var bucket = await NewBucketAsync(server);
        const string snapshot = "on-demand-n1-1700000000";
        var db = new byte[3 * 1024 * 1024];
        var plain = Path.Combine(Directory.CreateDirectory(_root.Combine("zips")).FullName, snapshot);
        await System.IO.File.WriteAllBytesAsync(plain, [.. db, .. SHA256.HashData(db)]);
        var zip = await SnapshotZip.CompressAsync(plain, DateTimeOffset.FromUnixTimeSeconds(1_700_000_000), CancellationToken.None).WithTimeout(TestTimeouts.Slow);
        Assert.True(zip.SizeBytes < 64 * 1024, "the zip must fit the disk that its snapshot does not");
        await server.PutFileAsync(bucket, snapshot + ".zip", zip.Path);
        using var disk = new SmallTmpfs();
        var restoreDir = disk.Combine("restore");
        Directory.CreateDirectory(restoreDir);
        await System.IO.File.WriteAllTextAsync(Path.Combine(restoreDir, "keep-me"), "x");

        var ex = await Assert.ThrowsAsync<IOException>(() => Store(server, bucket).DownloadAsync(snapshot + ".zip", restoreDir, CancellationToken.None).WithTimeout(TestTimeouts.Slow));

        Assert.Equal($"download of s3://{bucket}/{snapshot}.zip failed: snapshot {snapshot}.zip could not be unzipped to {restoreDir}: No space left on device; nothing of it was kept", ex.Message);
        Assert.Equal([Path.Combine(restoreDir, "keep-me")], Directory.GetFileSystemEntries(restoreDir));
        Assert.Empty(Directory.GetFileSystemEntries(SnapshotTempFiles.DirectoryFor(restoreDir)));
    }

    private SnapshotSaveRequest Request() => new(_root.Combine("snapshots"), "on-demand", "n1", Compress: false) { Runtime = Contracts.V1.Runtime.Etcd, Cluster = "prod" };

    private SnapshotSaver Saver(EtcdServer etcd) => S3TestStores.Saver(_root.Path, etcd, TimeProvider.System);

    private async Task<SnapshotSaveResult> SaveAsync(EtcdServer etcd, bool compress, string prefix = "on-demand")
        => await Saver(etcd).SaveAsync(Request() with { Compress = compress, NamePrefix = prefix }, null, CancellationToken.None).WithTimeout(TestTimeouts.Slow);

    private static S3SnapshotStore Store(IS3TestServer server, string bucket, string folder = "", string? secretKey = null, string? accessKey = null,
        bool https = false, string? ca = null, string? endpoint = null, TimeSpan? timeout = null)
        => S3TestStores.Store(S3TestStores.Settings(server, bucket, secretKey) with
        {
            Endpoint = endpoint ?? (https ? server.HttpsEndpoint! : server.HttpEndpoint).Authority,
            Insecure = !https,
            Folder = folder,
            AccessKey = accessKey ?? server.AccessKey,
            EndpointCa = ca ?? "",
            PartSizeBytes = FiveMiB,
            ParallelParts = 3,
            Timeout = timeout ?? TimeSpan.FromSeconds(30),
        });

    private static SnapshotMetadata Metadata(string name, string node)
        => new() { Name = name, NodeName = node, Runtime = "k3s", CreatedAt = SnapshotNames.CreatedFromName(name)!.Value, Sha256 = "x" };

    private string File(string name, int size)
    {
        var path = _root.Combine(name);
        System.IO.File.WriteAllBytes(path, RandomNumberGenerator.GetBytes(size));
        return path;
    }

    private static Task<string> NewBucketAsync(IS3TestServer server) => S3TestStores.NewBucketAsync(server, "snap");

    /// <summary>RGW only: s3rver has no ListMultipartUploads (it keeps no parts of an aborted upload either).</summary>
    private static async Task AssertNoMultipartUploadsLeftAsync(IS3TestServer server, string bucket)
    {
        if (server.Name != "ceph-rgw")
        {
            return;
        }
        var uploads = (await server.Aws().RunAsync(["s3api", "list-multipart-uploads", "--bucket", bucket]).WithTimeout(TestTimeouts.Slow)).EnsureSuccess();
        Assert.DoesNotContain("UploadId", uploads.StandardOutput, StringComparison.Ordinal);
    }

    private static string Sha256(string path) => Convert.ToHexStringLower(SHA256.HashData(System.IO.File.ReadAllBytes(path)));
}
