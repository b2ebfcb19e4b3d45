using System.Globalization;
using System.Text.Json;
using NodeAgent.Contracts.V1;
using NodeAgent.Testing;
using NodeAgent.Testing.Etcd;
using NodeAgent.Testing.PlanServer;
using NodeAgent.Testing.Processes;
using NodeAgent.Testing.S3;

namespace NodeAgent.Agent.Tests.S3;

/// <summary>
/// The plan server reads what the real agent wrote to S3 (<c>node-agent etcd-snapshot save --s3</c>,
/// a real process against real etcd), with no node of the cluster registered: the catalog without nodes.
/// </summary>
public sealed class ServerS3CatalogTests(SharedS3Servers servers) : IClassFixture<SharedS3Servers>, IDisposable
{
    private readonly TempDir _root = new();

    public void Dispose() => _root.Dispose();

    [Theory]
    [MemberData(nameof(S3ServersFixture.Names), MemberType = typeof(S3ServersFixture))]
    public async Task ListSnapshots_SavedByTheAgentCliAndNoNodeRegistered_ListsItWithItsSidecarsFacts(string name)
    {
        var s3 = servers.Get(name);
        var bucket = await S3TestStores.NewBucketAsync(s3, "srv");
        await using var etcd = await EtcdServer.StartAsync();
        await EtcdData.LoadAsync(etcd.ClientUrl, 8, valueBytes: 4096).WithTimeout(TestTimeouts.Slow);
        var dir = Path.Combine(_root.Path, "snapshots");
        (await CommandRunner.RunAsync(RepoPaths.Executable("node-agent"),
            ["etcd-snapshot", "save", "--endpoints", etcd.ClientUrl, "--node-name", "lost-1", "--dir", dir,
             "--s3", "--s3-bucket", bucket, "--s3-folder", "prod", "--s3-endpoint", s3.HttpEndpoint.Authority, "--s3-insecure"],
            new Dictionary<string, string?> { ["AWS_ACCESS_KEY_ID"] = s3.AccessKey, ["AWS_SECRET_ACCESS_KEY"] = s3.SecretKey },
            timeout: TestTimeouts.Slow)).EnsureSuccess();
        var file = new DirectoryInfo(dir).GetFiles().Single(f => !f.Name.StartsWith('.'));
        var sidecar = JsonSerializer.Deserialize<Dictionary<string, string>>(await File.ReadAllTextAsync(Path.Combine(_root.Path, ".metadata", file.Name)))!;
        await using var server = await InProcessPlanServer.StartAsync().WithTimeout(TestTimeouts.Slow);
        var admin = server.CreateAdminChannel();
        await new ClusterService.ClusterServiceClient(admin).CreateClusterAsync(new CreateClusterRequest
        {
            Name = "prod", Runtime = Contracts.V1.Runtime.K3S, SnapshotSettings = new SnapshotSettings { S3 = s3.PlanS3Target(bucket, "prod") },
        }).ResponseAsync.DefaultTimeout();

        var listed = await new SnapshotService.SnapshotServiceClient(admin).ListSnapshotsAsync(new ListSnapshotsRequest { Cluster = "prod" })
            .ResponseAsync.WithTimeout(TestTimeouts.Slow);

        var copy = Assert.Single(listed.Snapshots);
        Assert.Equal(file.Name, copy.Name);
        Assert.Equal(StorageKind.S3, copy.Storage);
        Assert.Equal($"s3://{bucket}/prod/{file.Name}", copy.Location);
        Assert.Equal("lost-1", copy.Node);
        Assert.Equal("prod", copy.Cluster);
        Assert.Equal(file.Length, copy.Size);
        Assert.Equal(sidecar["sha256"], copy.Sha256);
        Assert.Equal(long.Parse(sidecar["etcdRevision"], CultureInfo.InvariantCulture), copy.EtcdRevision);
        Assert.True(copy.EtcdRevision > 1, "the sidecar's etcd revision");
        Assert.Equal(SnapshotStatus.Successful, copy.Status);
        Assert.Equal("", listed.S3Listing.Error);
    }
}
