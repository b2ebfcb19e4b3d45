using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using NodeAgent.Agent.Config;
using NodeAgent.Agent.Plans;
using NodeAgent.Agent.Snapshots;
using NodeAgent.Agent.Snapshots.Daemon;
using NodeAgent.Contracts.V1;
using NodeAgent.Testing;

namespace NodeAgent.Agent.Tests.Snapshots.Daemon;

/// <summary>The inventory as the agent builds it from a real snapshot dir and sidecars (no server is called).</summary>
public sealed class InventoryReporterTests : IDisposable
{
    private readonly TempDir _root = new();

    public void Dispose() => _root.Dispose();

    [Fact]
    public async Task BuildAsync_SidecarsNameTheirClusters_EachReportedAsItsSidecarSays()
    {
        var (dir, sidecars) = SnapshotDir();
        // A snapshot of another cluster (a shared S3 folder), one of this cluster, one K3s made without a sidecar.
        Save(sidecars, dir, "etcd-snapshot-n1-1700000001", "prod-other");
        Save(sidecars, dir, "etcd-snapshot-n1-1700000002", "c1");
        await File.WriteAllTextAsync(Path.Combine(dir, "etcd-snapshot-n1-1700000003"), "db");

        var built = await BuildAsync(Contracts.V1.Runtime.Etcd, dir);

        Assert.NotNull(built);
        Assert.Equal(
            [("etcd-snapshot-n1-1700000001", "prod-other"), ("etcd-snapshot-n1-1700000002", "c1"), ("etcd-snapshot-n1-1700000003", "")],
            built.Snapshots.Select(s => (s.Name, s.Cluster)).Order());
    }

    [Fact]
    public async Task BuildAsync_K3sSnapshotsWithoutOurSidecar_ReportedWithoutSidecarAndWithWhatK3sRecorded()
    {
        var (dir, sidecars) = SnapshotDir();
        Save(sidecars, dir, "on-demand-n1-1700000001", "c1");
        // K3s's zip with K3s's own .metadata/ sidecar (Rancher's cluster spec), and a file etcdctl saved into the dir.
        await File.WriteAllTextAsync(Path.Combine(dir, "etcd-snapshot-n1-1700000002.zip"), "zip");
        Directory.CreateDirectory(sidecars.Directory);
        await File.WriteAllTextAsync(sidecars.PathOf("etcd-snapshot-n1-1700000002.zip"),
            $"{{\"provisioning-cluster-spec\":\"{RancherClusterSpec("{\"kubernetesVersion\":\"v1.31.2+k3s1\"}")}\"}}");
        await File.WriteAllTextAsync(Path.Combine(dir, "on-demand-n1-1700000003"), "db");

        var built = await BuildAsync(Contracts.V1.Runtime.K3S, dir);

        Assert.NotNull(built);
        Assert.Equal(
            [
                ("etcd-snapshot-n1-1700000002.zip", true, "n1", "v1.31.2+k3s1", ""),
                ("on-demand-n1-1700000001", false, "n1", "", ""),
                ("on-demand-n1-1700000003", true, "n1", "", ""),
            ],
            built.Snapshots.Select(s => (s.Name, s.WithoutSidecar, s.Node, s.KubernetesVersion, s.Sha256)).Order());
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1700000002), built.Snapshots.Single(s => s.Name.EndsWith(".zip", StringComparison.Ordinal)).CreatedAt.ToDateTimeOffset());
    }

    /// <summary>Rancher's <c>provisioning-cluster-spec</c>: base64 of the gzipped JSON spec.</summary>
    internal static string RancherClusterSpec(string json)
    {
        using var buffer = new MemoryStream();
        using (var gzip = new System.IO.Compression.GZipStream(buffer, System.IO.Compression.CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(System.Text.Encoding.UTF8.GetBytes(json));
        }
        return Convert.ToBase64String(buffer.ToArray());
    }

    /// <summary>An empty snapshot dir under the test's root, and its sidecars.</summary>
    private (string Dir, SnapshotSidecars Sidecars) SnapshotDir()
    {
        var dir = _root.Combine("snapshots");
        Directory.CreateDirectory(dir);
        return (dir, new SnapshotSidecars(dir));
    }

    /// <summary>
    /// The inventory node n1 of cluster c1 builds for <paramref name="dir"/> on <paramref name="runtime"/>,
    /// with the agent's own targets, reporter and inventory (the plan server's address is never called).
    /// </summary>
    private async Task<SnapshotInventory?> BuildAsync(Contracts.V1.Runtime runtime, string dir)
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.Zero));
        var options = new AgentOptions { Servers = [new Uri("https://127.0.0.1:9")], Cluster = "c1", NodeName = "n1", Runtime = runtime, DataDir = _root.Path };
        var identity = new AgentIdentity("c1", "n1", "test");
        var targets = new SnapshotTargets(options, identity, time, NullLoggerFactory.Instance);
        await targets.ApplyAsync(new SteadyStatePlan { Runtime = runtime, SnapshotSettings = new SnapshotSettings { Dir = dir } }, CancellationToken.None).DefaultTimeout();
        using var client = new GrpcPlanServerClient(options, time, Microsoft.Extensions.Logging.Abstractions.NullLogger<GrpcPlanServerClient>.Instance);
        using var reporter = new StatusReporter(client, identity, NullLogger<StatusReporter>.Instance);
        using var inventory = new InventoryReporter(targets, reporter, identity, time, NullLogger<InventoryReporter>.Instance);
        return await inventory.BuildAsync(CancellationToken.None).DefaultTimeout();
    }

    private static void Save(SnapshotSidecars sidecars, string dir, string name, string cluster)
    {
        File.WriteAllText(Path.Combine(dir, name), "db");
        sidecars.Write(new SnapshotMetadata
        {
            Name = name, NodeName = "n1", Cluster = cluster, CreatedAt = DateTimeOffset.FromUnixTimeSeconds(1_700_000_000), Status = SnapshotMetadata.Successful,
        });
    }
}
