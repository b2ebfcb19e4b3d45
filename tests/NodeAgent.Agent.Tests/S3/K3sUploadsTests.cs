using System.Security.Cryptography;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using NodeAgent.Agent.Plans;
using NodeAgent.Agent.S3;
using NodeAgent.Agent.Snapshots;
using NodeAgent.Agent.Snapshots.Daemon;
using NodeAgent.Agent.Tests.Snapshots.Daemon;
using NodeAgent.Contracts.V1;
using NodeAgent.Testing;
using NodeAgent.Testing.Ordering;
using NodeAgent.Testing.S3;

namespace NodeAgent.Agent.Tests.S3;

/// <summary>
/// Snapshots K3s uploaded itself (Debian's aws CLI puts them as K3s does: the object with K3s's
/// object metadata, no sidecar of ours, sometimes K3s's own <c>.metadata/</c> sidecar), against
/// Ceph RGW and s3rver: listed as K3s lists them, and counted in node-scope retention by their node.
/// </summary>
[ExpectedDuration(203)]
public sealed class K3sUploadsTests(SharedS3Servers servers) : IClassFixture<SharedS3Servers>, IDisposable
{
    private readonly TempDir _root = new();

    public void Dispose() => _root.Dispose();

    [Theory]
    [MemberData(nameof(S3ServersFixture.Names), MemberType = typeof(S3ServersFixture))]
    public async Task Inventory_K3sUploads_ListedWithoutSidecarWithTheirNodeFromObjectMetadataOrName(string name)
    {
        var server = servers.Get(name);
        var bucket = await NewBucketAsync(server);
        await PutK3sUploadAsync(server, bucket, "etcd-snapshot-n2-1700000001.zip", "k3s-node-name=n2,k3s-token-hash=0123456789ab");
        var k3sSidecar = _root.Combine("k3s-sidecar.json");
        await File.WriteAllTextAsync(k3sSidecar,
            $"{{\"provisioning-cluster-spec\":\"{InventoryReporterTests.RancherClusterSpec("{\"kubernetesVersion\":\"v1.31.2+k3s1\"}")}\"}}");
        await server.PutFileAsync(bucket, ".metadata/etcd-snapshot-n2-1700000001.zip", k3sSidecar);
        await PutK3sUploadAsync(server, bucket, "on-demand-node-3-1700000002", metadata: null);
        var dir = _root.Combine("snapshots");
        Directory.CreateDirectory(dir);
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.Zero));
        var options = TestSnapshotTargets.Options(_root.Path, Contracts.V1.Runtime.K3S);
        var identity = TestSnapshotTargets.Identity;
        var targets = TestSnapshotTargets.Create(options, time);
        await targets.ApplyAsync(TestSnapshotTargets.Plan(Contracts.V1.Runtime.K3S, dir, server.PlanS3Target(bucket)), CancellationToken.None).DefaultTimeout();
        using var client = new GrpcPlanServerClient(options, time, Microsoft.Extensions.Logging.Abstractions.NullLogger<GrpcPlanServerClient>.Instance);
        using var reporter = new StatusReporter(client, identity, NullLogger<StatusReporter>.Instance);
        using var inventory = new InventoryReporter(targets, reporter, identity, time, NullLogger<InventoryReporter>.Instance);

        var built = await inventory.BuildAsync(CancellationToken.None).WithTimeout(TestTimeouts.Slow);

        Assert.NotNull(built);
        Assert.True(built.S3Listed);
        Assert.Equal(
            [
                ("etcd-snapshot-n2-1700000001.zip", true, "n2", "0123456789ab", "v1.31.2+k3s1", ""),
                ("on-demand-node-3-1700000002", true, "node-3", "", "", ""),
            ],
            built.Snapshots.Select(s => (s.Name, s.WithoutSidecar, s.Node, s.TokenHash, s.KubernetesVersion, s.Sha256)).Order());
        Assert.All(built.Snapshots, s => Assert.Equal(StorageKind.S3, s.Storage));
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1700000002), built.Snapshots.Single(s => s.Name.StartsWith("on-demand", StringComparison.Ordinal)).CreatedAt.ToDateTimeOffset());
    }

    [Theory]
    [MemberData(nameof(S3ServersFixture.Names), MemberType = typeof(S3ServersFixture))]
    public async Task Prune_NodeScope_CountsThisNodesK3sUploadsByTheirObjectMetadata_NeverAnotherNodes(string name)
    {
        var server = servers.Get(name);
        var bucket = await NewBucketAsync(server);
        var store = Store(server, bucket);
        await PutK3sUploadAsync(server, bucket, "etcd-snapshot-n1-1700000001", "k3s-node-name=n1");
        await PutK3sUploadAsync(server, bucket, "etcd-snapshot-n2-1700000002", "k3s-node-name=n2");
        await PutK3sUploadAsync(server, bucket, "etcd-snapshot-n1-1700000003.zip", "k3s-node-name=n1");
        await PutK3sUploadAsync(server, bucket, "etcd-snapshot-n2-1700000004", "k3s-node-name=n2");
        var ours = _root.Combine("etcd-snapshot-n1-1700000005");
        await File.WriteAllBytesAsync(ours, RandomNumberGenerator.GetBytes(1024));
        await store.UploadAsync(ours, new SnapshotMetadata
        {
            Name = "etcd-snapshot-n1-1700000005", NodeName = "n1", Runtime = "k3s", CreatedAt = DateTimeOffset.FromUnixTimeSeconds(1700000005), Sha256 = "x",
        }, CancellationToken.None).WithTimeout(TestTimeouts.Slow);

        var pruned = await store.PruneAsync("etcd-snapshot", 2, "n1", CancellationToken.None).WithTimeout(TestTimeouts.Slow);

        Assert.Equal(["etcd-snapshot-n1-1700000001"], pruned.Select(p => p.Object.Name));
        Assert.Equal(
            ["etcd-snapshot-n1-1700000003.zip", "etcd-snapshot-n1-1700000005", "etcd-snapshot-n2-1700000002", "etcd-snapshot-n2-1700000004"],
            (await store.ListAsync(CancellationToken.None).WithTimeout(TestTimeouts.Slow)).Select(o => o.Name).Order(StringComparer.Ordinal));
    }

    /// <summary>An object as K3s uploads it: <paramref name="metadata"/> in aws's <c>--metadata</c> form (K3s's <c>&lt;rt&gt;-node-name</c>...), or none.</summary>
    private async Task PutK3sUploadAsync(IS3TestServer server, string bucket, string fileName, string? metadata)
    {
        var path = _root.Combine(fileName);
        await File.WriteAllBytesAsync(path, RandomNumberGenerator.GetBytes(1024));
        await server.PutFileAsync(bucket, fileName, path, metadata);
    }

    private static S3SnapshotStore Store(IS3TestServer server, string bucket) => S3TestStores.Store(server, bucket);

    private static Task<string> NewBucketAsync(IS3TestServer server) => S3TestStores.NewBucketAsync(server, "k3s");
}
