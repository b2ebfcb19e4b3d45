using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Grpc.Core;
using Microsoft.Extensions.Time.Testing;
using NodeAgent.Contracts.V1;
using NodeAgent.Testing;
using NodeAgent.Testing.Net;
using NodeAgent.Testing.PlanServer;
using NodeAgent.Testing.S3;

namespace NodeAgent.Server.Tests;

[CollectionDefinition("server-s3")]
public sealed class ServerS3ServersDefinition : ICollectionFixture<S3ServersFixture>;

/// <summary>
/// The catalog without nodes: the plan server lists each cluster's S3 folder itself, against Ceph
/// RGW and s3rver, with the objects put there by Debian's aws CLI as K3s lays them out.
/// </summary>
[Collection("server-s3")]
public sealed class S3CatalogTests(S3ServersFixture servers) : IAsyncLifetime, IDisposable
{
    private const string Folder = "prod/snapshots";
    private const string Configuration = "cluster-cidr: 10.42.0.0/16\n";
    private readonly TempDir _files = new();
    private InProcessPlanServer _server = null!;
    private ClusterService.ClusterServiceClient _clusters = null!;
    private SnapshotService.SnapshotServiceClient _snapshots = null!;

    public Task InitializeAsync() => InitializeAsync(null);

    private async Task InitializeAsync(TimeProvider? time)
    {
        _server = await InProcessPlanServer.StartAsync(time).WithTimeout(TestTimeouts.Slow);
        var admin = _server.CreateAdminChannel();
        _clusters = new ClusterService.ClusterServiceClient(admin);
        _snapshots = new SnapshotService.SnapshotServiceClient(admin);
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    public void Dispose() => _files.Dispose();

    [Theory]
    [MemberData(nameof(S3ServersFixture.Names), MemberType = typeof(S3ServersFixture))]
    public async Task ListSnapshots_S3TargetAndNoRegisteredNode_ListsTheS3SnapshotsWithTheirMetadata(string name)
    {
        var s3 = servers.Get(name);
        var bucket = await NewBucketAsync(s3);
        var withSidecar = await PutSnapshotAsync(s3, bucket, "etcd-snapshot-old-node-1764000000", sidecar: true);
        var k3sOnly = await PutSnapshotAsync(s3, bucket, "on-demand-gone-node-1764000100", sidecar: false);
        await CreateClusterAsync(s3.PlanS3Target(bucket, Folder));

        var listed = await _snapshots.ListSnapshotsAsync(new ListSnapshotsRequest { Cluster = "prod" }).ResponseAsync.WithTimeout(TestTimeouts.Slow);

        Assert.Equal(["on-demand-gone-node-1764000100", "etcd-snapshot-old-node-1764000000"], listed.Snapshots.Select(s => s.Name));
        var copy = listed.Snapshots.Single(s => s.Name == "etcd-snapshot-old-node-1764000000");
        Assert.Equal(StorageKind.S3, copy.Storage);
        Assert.Equal($"s3://{bucket}/{Folder}/etcd-snapshot-old-node-1764000000", copy.Location);
        Assert.Equal("old-node", copy.Node);
        Assert.Equal("prod", copy.Cluster);
        Assert.Equal(withSidecar.Sha256, copy.Sha256);
        Assert.Equal(withSidecar.Size, copy.Size);
        Assert.Equal("v1.30.4+k3s1", copy.KubernetesVersion);
        Assert.Equal(Runtime.K3S, copy.Runtime);
        Assert.Equal(4242, copy.EtcdRevision);
        Assert.Equal(Sha256Hex(Encoding.UTF8.GetBytes(Configuration)), copy.ClusterConfigurationSha256);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1764000000), copy.CreatedAt.ToDateTimeOffset());
        Assert.Equal(SnapshotStatus.Successful, copy.Status);
        // No sidecar: K3s's object metadata names the node (its cluster id is a kube-system UID, so the
        // copy is the listed cluster's); the name gives the time.
        var bare = listed.Snapshots.Single(s => s.Name == "on-demand-gone-node-1764000100");
        Assert.Equal(("gone-node", "prod", Runtime.K3S, k3sOnly.Size), (bare.Node, bare.Cluster, bare.Runtime, bare.Size));
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1764000100), bare.CreatedAt.ToDateTimeOffset());
        // Restorable anyway: the first node that verifies it computes its sha256.
        Assert.Equal((true, false), (bare.WithoutSidecar, copy.WithoutSidecar));
        Assert.Equal($"s3://{bucket}/{Folder}/ at {s3.HttpEndpoint.Authority}", listed.S3Listing.Target);
        Assert.Equal((2u, ""), (listed.S3Listing.Snapshots, listed.S3Listing.Error));
        Assert.NotNull(listed.S3Listing.ListedAt);
        var cluster = await _clusters.GetClusterAsync(new GetClusterRequest { Name = "prod" }).ResponseAsync.DefaultTimeout();
        Assert.Equal((2u, ""), (cluster.S3Listing.Snapshots, cluster.S3Listing.Error));
    }

    [Theory]
    [MemberData(nameof(S3ServersFixture.Names), MemberType = typeof(S3ServersFixture))]
    public async Task ListSnapshots_K3sUploadsWithoutOurSidecar_ListedWithoutSidecarWithTheirNodeFromObjectMetadataOrName(string name)
    {
        var s3 = servers.Get(name);
        var bucket = await NewBucketAsync(s3);
        await PutSnapshotAsync(s3, bucket, "etcd-snapshot-old-node-1764000000", sidecar: true);
        // K3s's upload with its object metadata and its own .metadata/ sidecar (Rancher's cluster spec): not ours.
        var zip = _files.Combine("etcd-snapshot-k3s-node-1764000200.zip");
        await File.WriteAllBytesAsync(zip, RandomNumberGenerator.GetBytes(4096));
        await s3.PutFileAsync(bucket, $"{Folder}/etcd-snapshot-k3s-node-1764000200.zip", zip, "k3s-node-name=k3s-node,k3s-token-hash=0123456789ab");
        var k3sSidecar = _files.Combine("k3s-sidecar.json");
        await File.WriteAllTextAsync(k3sSidecar, JsonSerializer.Serialize(new Dictionary<string, string>
        {
            ["provisioning-cluster-spec"] = RancherClusterSpec("{\"kubernetesVersion\":\"v1.31.2+k3s1\",\"rkeConfig\":{}}"),
        }));
        await s3.PutFileAsync(bucket, $"{Folder}/.metadata/etcd-snapshot-k3s-node-1764000200.zip", k3sSidecar);
        // No object metadata and no sidecar at all (copied by hand): the name gives node and time.
        var bare = _files.Combine("on-demand-lost-node-1764000300");
        await File.WriteAllBytesAsync(bare, RandomNumberGenerator.GetBytes(4096));
        await s3.PutFileAsync(bucket, $"{Folder}/on-demand-lost-node-1764000300", bare);
        await CreateClusterAsync(s3.PlanS3Target(bucket, Folder));

        var listed = await _snapshots.ListSnapshotsAsync(new ListSnapshotsRequest { Cluster = "prod" }).ResponseAsync.WithTimeout(TestTimeouts.Slow);

        var byName = listed.Snapshots.ToDictionary(s => s.Name);
        Assert.False(byName["etcd-snapshot-old-node-1764000000"].WithoutSidecar);
        var k3s = byName["etcd-snapshot-k3s-node-1764000200.zip"];
        Assert.Equal((true, "k3s-node", "", "0123456789ab", "v1.31.2+k3s1", true), (k3s.WithoutSidecar, k3s.Node, k3s.Sha256, k3s.TokenHash, k3s.KubernetesVersion, k3s.Compressed));
        var byHand = byName["on-demand-lost-node-1764000300"];
        Assert.Equal((true, "lost-node", ""), (byHand.WithoutSidecar, byHand.Node, byHand.Sha256));
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1764000300), byHand.CreatedAt.ToDateTimeOffset());
    }

    /// <summary>Rancher's <c>provisioning-cluster-spec</c>: base64 of the gzipped JSON spec.</summary>
    private static string RancherClusterSpec(string json)
    {
        using var buffer = new MemoryStream();
        using (var gzip = new System.IO.Compression.GZipStream(buffer, System.IO.Compression.CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(Encoding.UTF8.GetBytes(json));
        }
        return Convert.ToBase64String(buffer.ToArray());
    }

    [Fact]
    public async Task ListSnapshots_WrongSecretKeyOnRgw_AnswersWithTheErrorInS3ListingAndTheMetric()
    {
        var s3 = servers.Ceph;
        var bucket = await NewBucketAsync(s3);
        await PutSnapshotAsync(s3, bucket, "etcd-snapshot-old-node-1764000000", sidecar: true);
        var target = s3.PlanS3Target(bucket, Folder);
        target.Credentials.StaticKeys.SecretKey = "wrong" + s3.SecretKey;
        await CreateClusterAsync(target);

        var listed = await _snapshots.ListSnapshotsAsync(new ListSnapshotsRequest { Cluster = "prod" }).ResponseAsync.WithTimeout(TestTimeouts.Slow);

        Assert.Empty(listed.Snapshots);
        var endpoint = s3.HttpEndpoint.Authority;
        Assert.Equal($"listing s3://{bucket}/{Folder}/ at {endpoint} failed: S3 at {endpoint} rejected the secret key (SignatureDoesNotMatch)", listed.S3Listing.Error);
        Assert.Null(listed.S3Listing.ListedAt);
        Assert.NotNull(listed.S3Listing.FailedAt);
        var cluster = await _clusters.GetClusterAsync(new GetClusterRequest { Name = "prod" }).ResponseAsync.DefaultTimeout();
        Assert.Equal(listed.S3Listing.Error, cluster.S3Listing.Error);
        using var http = new HttpClient();
        var metrics = await http.GetStringAsync(new Uri(_server.MetricsAddress, "/metrics")).WithTimeout(TestTimeouts.Default);
        Assert.Contains("nodeagent_s3_listing_ok{cluster=\"prod\"} 0", metrics, StringComparison.Ordinal);
        Assert.Matches("nodeagent_s3_listing_failures_total\\{cluster=\"prod\"\\} [1-9]", metrics);
    }

    [Fact]
    public async Task ListSnapshots_HungS3_AnswersAfterTheS3TimeoutWithTheTimeoutError()
    {
        var s3 = servers.S3rver;
        var bucket = await NewBucketAsync(s3);
        await using var relay = TcpRelay.Start(s3.HttpEndpoint);
        relay.Freeze();
        var target = s3.PlanS3Target(bucket, Folder, requestTimeout: TimeSpan.FromSeconds(2));
        target.Endpoint = relay.Authority;
        await CreateClusterAsync(target);
        var started = TimeProvider.System.GetTimestamp();

        var listed = await _snapshots.ListSnapshotsAsync(new ListSnapshotsRequest { Cluster = "prod" }).ResponseAsync.WithTimeout(TestTimeouts.Default);

        Assert.True(TimeProvider.System.GetElapsedTime(started) < TimeSpan.FromSeconds(15), "ListSnapshots must answer within the S3 timeout (and a second)");
        Assert.Empty(listed.Snapshots);
        Assert.Equal($"listing s3://{bucket}/{Folder}/ at {relay.Authority} failed: S3 at {relay.Authority} timed out after 2s (s3.timeout)", listed.S3Listing.Error);
    }

    [Fact]
    public async Task S3Listing_IntervalPasses_TheServerListsAgainAndTheCatalogShowsANewUpload()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await _server.DisposeAsync();
        await InitializeAsync(time);
        var s3 = servers.S3rver;
        var bucket = await NewBucketAsync(s3);
        await CreateClusterAsync(s3.PlanS3Target(bucket, Folder));
        Assert.Empty((await _snapshots.ListSnapshotsAsync(new ListSnapshotsRequest { Cluster = "prod" }).ResponseAsync.WithTimeout(TestTimeouts.Slow)).Snapshots);
        await PutSnapshotAsync(s3, bucket, "etcd-snapshot-old-node-1764000000", sidecar: true);
        Assert.Empty((await _snapshots.ListSnapshotsAsync(new ListSnapshotsRequest { Cluster = "prod" }).ResponseAsync.WithTimeout(TestTimeouts.Slow)).Snapshots);

        time.Advance(TimeSpan.FromMinutes(10));

        await OperationWaits.UntilAsync(async ct => (await _clusters.GetClusterAsync(new GetClusterRequest { Name = "prod" }, cancellationToken: ct)).S3Listing.Snapshots == 1);
        var listed = await _snapshots.ListSnapshotsAsync(new ListSnapshotsRequest { Cluster = "prod" }).ResponseAsync.WithTimeout(TestTimeouts.Slow);
        Assert.Equal("etcd-snapshot-old-node-1764000000", Assert.Single(listed.Snapshots).Name);
    }

    [Fact]
    public async Task SetSnapshotSettings_AnotherFolder_TheServerListsItWithoutBeingAsked()
    {
        var s3 = servers.S3rver;
        var bucket = await NewBucketAsync(s3);
        await PutSnapshotAsync(s3, bucket, "etcd-snapshot-old-node-1764000000", sidecar: true);
        await CreateClusterAsync(s3.PlanS3Target(bucket, "elsewhere"));

        await _clusters.SetSnapshotSettingsAsync(new SetSnapshotSettingsRequest
        {
            Cluster = "prod", SnapshotSettings = new SnapshotSettings { S3 = s3.PlanS3Target(bucket, Folder) },
        }).ResponseAsync.DefaultTimeout();

        // GetCluster only reads how the listing stands: the listing itself comes from the settings change.
        await OperationWaits.UntilAsync(async ct => (await _clusters.GetClusterAsync(new GetClusterRequest { Name = "prod" }, cancellationToken: ct)).S3Listing.Snapshots == 1);
        var cluster = await _clusters.GetClusterAsync(new GetClusterRequest { Name = "prod" }).ResponseAsync.DefaultTimeout();
        Assert.Equal($"s3://{bucket}/{Folder}/ at {s3.HttpEndpoint.Authority}", cluster.S3Listing.Target);
    }

    [Fact]
    public async Task RestoreSnapshot_OnlyInS3AndNoEtcdNodeRegistered_IsRefusedWithNoRegisteredEtcdNode()
    {
        var s3 = servers.S3rver;
        var bucket = await NewBucketAsync(s3);
        await PutSnapshotAsync(s3, bucket, "etcd-snapshot-old-node-1764000000", sidecar: true);
        await CreateClusterAsync(s3.PlanS3Target(bucket, Folder));

        var ex = await Assert.ThrowsAsync<RpcException>(() => _snapshots.RestoreSnapshotAsync(new RestoreSnapshotRequest
        {
            Cluster = "prod", Snapshot = "etcd-snapshot-old-node-1764000000", RestoreMode = RestoreMode.None,
        }).ResponseAsync.WithTimeout(TestTimeouts.Slow));

        Assert.Equal(StatusCode.FailedPrecondition, ex.StatusCode);
        Assert.Equal("cluster 'prod' has no registered etcd node to restore on", ex.Status.Detail);
        var listed = await _snapshots.ListSnapshotsAsync(new ListSnapshotsRequest { Cluster = "prod" }).ResponseAsync.WithTimeout(TestTimeouts.Slow);
        Assert.Equal("etcd-snapshot-old-node-1764000000", Assert.Single(listed.Snapshots).Name);
    }

    [Fact]
    public async Task RestoreSnapshot_OnlyInS3AndTheNewNodeHasNotReported_Starts()
    {
        var s3 = servers.S3rver;
        var bucket = await NewBucketAsync(s3);
        await PutSnapshotAsync(s3, bucket, "etcd-snapshot-old-node-1764000000", sidecar: true);
        var bootstrap = await CreateClusterAsync(s3.PlanS3Target(bucket, Folder));
        await SimulatedAgent.RegisterAsync(_server, "prod", "new-node", bootstrap);

        var started = await _snapshots.RestoreSnapshotAsync(new RestoreSnapshotRequest
        {
            Cluster = "prod", Snapshot = "etcd-snapshot-old-node-1764000000", RestoreMode = RestoreMode.None,
        }).ResponseAsync.WithTimeout(TestTimeouts.Slow);

        Assert.Equal(OperationPhase.Started, started.Operation.Phase);
        Assert.Equal("etcd-snapshot-old-node-1764000000", started.Operation.Snapshot);
    }

    /// <summary>Creates cluster "prod" (k3s) with <paramref name="target"/>; returns its bootstrap token.</summary>
    private async Task<string> CreateClusterAsync(S3Settings target)
    {
        var created = await _clusters.CreateClusterAsync(new CreateClusterRequest
        {
            Name = "prod", Runtime = Runtime.K3S, KubernetesVersion = "v1.30.4+k3s1",
        }).ResponseAsync.DefaultTimeout();
        await _clusters.SetSnapshotSettingsAsync(new SetSnapshotSettingsRequest
        {
            Cluster = "prod", SnapshotSettings = new SnapshotSettings { S3 = target },
        }).ResponseAsync.DefaultTimeout();
        return created.BootstrapToken;
    }

    /// <summary>What K3s puts in <c>k3s-cluster-id</c>: the kube-system namespace's UID, not a cluster name of ours.</summary>
    private const string K3sClusterId = "6f1d3c1e-8a6b-4f2e-9d0c-2b7a5e4c1f90";

    /// <summary>
    /// A snapshot object as K3s uploads it (with <c>k3s-node-name</c> and <c>k3s-cluster-id</c>
    /// object metadata), and, when asked, its sidecar at <c>.metadata/</c> as our agents write it.
    /// </summary>
    private async Task<(string Sha256, long Size)> PutSnapshotAsync(IS3TestServer s3, string bucket, string fileName, bool sidecar)
    {
        var bytes = RandomNumberGenerator.GetBytes(64 * 1024);
        var path = _files.Combine(fileName);
        await File.WriteAllBytesAsync(path, bytes);
        var node = fileName.Split('-')[^3] + "-" + fileName.Split('-')[^2];
        await s3.PutFileAsync(bucket, $"{Folder}/{fileName}", path, $"k3s-node-name={node},k3s-cluster-id={K3sClusterId}");
        var sha256 = Sha256Hex(bytes);
        if (sidecar)
        {
            var json = _files.Combine(fileName + ".json");
            await File.WriteAllTextAsync(json, JsonSerializer.Serialize(new Dictionary<string, string>
            {
                ["name"] = fileName,
                ["nodeName"] = node,
                ["cluster"] = "prod",
                ["runtime"] = "k3s",
                ["kubernetesVersion"] = "v1.30.4+k3s1",
                ["clusterConfig"] = Configuration,
                ["createdAt"] = "2025-11-24T16:00:00Z",
                ["size"] = bytes.Length.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["sha256"] = sha256,
                ["etcdRevision"] = "4242",
                ["status"] = "successful",
            }));
            await s3.PutFileAsync(bucket, $"{Folder}/.metadata/{fileName}", json);
        }
        return (sha256, bytes.Length);
    }

    private static string Sha256Hex(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    private static Task<string> NewBucketAsync(IS3TestServer server) => server.NewBucketAsync("cat");
}
