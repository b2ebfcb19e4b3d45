using System.IO.Compression;
using NodeAgent.Contracts.V1;
using NodeAgent.Testing;
using NodeAgent.Testing.Agent;
using NodeAgent.Testing.Etcd;
using NodeAgent.Testing.PlanServer;
using NodeAgent.Testing.S3;
using NodeAgent.Testing.Tools;

namespace NodeAgent.EndToEnd.Tests;

/// <summary>
/// Snapshots NodeAgent never saw being made, restored through the plan server with every part
/// real (plan-server and node-agent processes, etcd members the agents stop and start, Ceph RGW):
/// one made by <c>etcdctl snapshot save</c> and zipped as K3s zips (one Deflate entry named like the
/// snapshot) in a node's snapshot dir, and one K3s uploaded (<c>aws s3 cp</c> with K3s's object
/// metadata). Neither has a sidecar of ours, so no sha256 is recorded: the nodes check etcd's own
/// sha256 trailer. Plain etcd is the runtime here: each member restores from the file.
/// </summary>
public sealed class K3sSnapshotsRestoreEndToEndTests(SharedCeph servers) : IClassFixture<SharedCeph>, IAsyncLifetime
{
    private static readonly KeyValuePair<string, string>[] Original =
        [new("/app/a", "1"), new("/app/b", "2"), new("/app/c", "3")];

    private readonly List<TempDir> _dirs = [];
    private readonly List<AgentProcess> _agents = [];
    private PlanServerProcess _server = null!;
    private ScriptedEtcdCluster? _etcd;
    private IReadOnlyDictionary<string, string> _atSnapshot = new Dictionary<string, string>();
    private ClusterService.ClusterServiceClient _clusters = null!;
    private SnapshotService.SnapshotServiceClient _snapshots = null!;
    private OperationService.OperationServiceClient _operations = null!;

    public async Task InitializeAsync()
    {
        _dirs.Add(new TempDir("nodeagent-k3s-snapshots-"));
        _server = await PlanServerProcess.StartAsync().WithTimeout(TestTimeouts.Slow);
        var admin = _server.CreateAdminChannel();
        _clusters = new ClusterService.ClusterServiceClient(admin);
        _snapshots = new SnapshotService.SnapshotServiceClient(admin);
        _operations = new OperationService.OperationServiceClient(admin);
    }

    public async Task DisposeAsync()
    {
        foreach (var agent in _agents)
        {
            await agent.DisposeAsync();
        }
        if (_etcd is not null)
        {
            await _etcd.DisposeAsync();
        }
        foreach (var dir in _dirs)
        {
            dir.Dispose();
        }
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task Restore_EtcdctlSnapshotZippedAsK3sInANodesDirWithoutSidecar_IsListedAndRestoredWithExactKeys()
    {
        // One member: a local copy is restorable as it is (a plain etcd cluster of more needs an S3 copy for every member).
        _etcd = await ScriptedEtcdCluster.StartAsync(1).WithTimeout(TestTimeouts.Slow);
        await EtcdData.PutAsync(_etcd.Members[0].ClientUrl, Original).WithTimeout(TestTimeouts.Slow);
        var name = $"on-demand-node-1-{DateTimeOffset.UtcNow.ToUnixTimeSeconds()}.zip";
        var zip = await EtcdctlSnapshotZippedAsync(name);
        var node1 = NewDir();
        var snapshotDir = Path.Combine(node1.Path, "data", "server", "db", "snapshots");
        Directory.CreateDirectory(snapshotDir);
        File.Copy(zip, Path.Combine(snapshotDir, name));
        var token = await CreateClusterAsync(s3: null);
        StartAgent("node-1", _etcd.Members[0], token, node1);
        await _clusters.UntilPlansAppliedAsync("prod", 1);
        var listed = await ListedAsync(name, StorageKind.Local);
        await ChangeKeysAsync();

        var ended = await RestoreAsync(name);

        Assert.True(listed.WithoutSidecar);
        Assert.Equal(("node-1", "", true), (listed.Node, listed.Sha256, listed.Compressed));
        Assert.True(ended.Phase == OperationPhase.Finished, $"restore ended {ended.Phase}: {ended.Failure}\n{AgentLogs}");
        Assert.Equal("node-1", ended.InitNode);
        await AssertRestoredAsync();
    }

    [Fact]
    public async Task Restore_K3sUploadWithItsObjectMetadataOnRgwWithoutSidecar_IsListedAndEveryMemberRestoredWithExactKeys()
    {
        _etcd = await ScriptedEtcdCluster.StartAsync(3).WithTimeout(TestTimeouts.Slow);
        await EtcdData.PutAsync(_etcd.Members[0].ClientUrl, Original).WithTimeout(TestTimeouts.Slow);
        var name = $"etcd-snapshot-node-2-{DateTimeOffset.UtcNow.ToUnixTimeSeconds()}.zip";
        var zip = await EtcdctlSnapshotZippedAsync(name);
        var bucket = "k3s-restore-" + Guid.NewGuid().ToString("N")[..12];
        await servers.Ceph.CreateBucketAsync(bucket).WithTimeout(TestTimeouts.Slow);
        (await servers.Ceph.Aws().RunAsync(["s3", "cp", zip, $"s3://{bucket}/{name}", "--metadata", "k3s-node-name=node-2,k3s-token-hash=0123456789ab"])
            .WithTimeout(TestTimeouts.Slow)).EnsureSuccess();
        var token = await CreateClusterAsync(servers.Ceph.PlanS3Target(bucket, requestTimeout: TimeSpan.FromSeconds(20)));
        for (var i = 0; i < 3; i++)
        {
            StartAgent($"node-{i + 1}", _etcd.Members[i], token, NewDir());
        }
        await _clusters.UntilPlansAppliedAsync("prod", 3);
        var listed = await ListedAsync(name, StorageKind.S3);
        await ChangeKeysAsync();

        var ended = await RestoreAsync(name);

        Assert.True(listed.WithoutSidecar);
        Assert.Equal(("node-2", "", "0123456789ab"), (listed.Node, listed.Sha256, listed.TokenHash));
        Assert.True(ended.Phase == OperationPhase.Finished, $"restore ended {ended.Phase}: {ended.Failure}\n{AgentLogs}");
        await AssertRestoredAsync();
    }

    /// <summary><c>etcdctl snapshot save</c> of the members' keys, zipped as K3s zips: one Deflate entry named like the snapshot.</summary>
    private async Task<string> EtcdctlSnapshotZippedAsync(string zipName)
    {
        _atSnapshot = await EtcdData.ReadAllAsync(_etcd!.Members[0].ClientUrl, "/app/").DefaultTimeout();
        Assert.Equal(Original.Select(k => k.Key).Order(StringComparer.Ordinal), _atSnapshot.Keys.Order(StringComparer.Ordinal));
        var plainName = zipName[..^".zip".Length];
        var plain = Files.Combine(plainName);
        (await new Etcdctl(_etcd.Members[0].ClientUrl).SnapshotSaveAsync(plain)).EnsureSuccess();
        var zip = Files.Combine(zipName);
        using (var archive = ZipFile.Open(zip, ZipArchiveMode.Create))
        {
            archive.CreateEntryFromFile(plain, plainName, CompressionLevel.Optimal);
        }
        return zip;
    }

    private async Task<string> CreateClusterAsync(Contracts.V1.S3Settings? s3)
        => (await _clusters.CreateClusterAsync(new CreateClusterRequest
        {
            Name = "prod",
            Runtime = Contracts.V1.Runtime.Etcd,
            KubernetesVersion = "v1.30.4+k3s1",
            SnapshotSettings = new SnapshotSettings { RecurringEnabled = false, S3 = s3 },
        }).ResponseAsync.DefaultTimeout()).BootstrapToken;

    /// <summary>The catalog's copy of <paramref name="name"/> in <paramref name="storage"/>, once an agent (or the server's S3 listing) reported it.</summary>
    private async Task<Snapshot> ListedAsync(string name, StorageKind storage)
    {
        Snapshot? snapshot = null;
        await OperationWaits.UntilAsync(async ct =>
        {
            snapshot = (await _snapshots.ListSnapshotsAsync(new ListSnapshotsRequest { Cluster = "prod" }, cancellationToken: ct)).Snapshots
                .FirstOrDefault(s => s.Name == name && s.Storage == storage);
            return snapshot is not null;
        });
        return snapshot!;
    }

    private async Task ChangeKeysAsync()
        => await EtcdData.PutAsync(_etcd!.Members[^1].ClientUrl, [new("/app/a", "changed"), new("/app/new", "x")]).WithTimeout(TestTimeouts.Slow);

    private async Task<Operation> RestoreAsync(string snapshot)
    {
        var op = (await _snapshots.RestoreSnapshotAsync(new RestoreSnapshotRequest
        {
            Cluster = "prod", Snapshot = snapshot, RestoreMode = RestoreMode.None,
        }).ResponseAsync.DefaultTimeout()).Operation;
        return await _operations.WaitForEndAsync(op.Id, () => AgentLogs);
    }

    /// <summary>Every member serves exactly the keys (and values) it served when the snapshot was taken.</summary>
    private async Task AssertRestoredAsync()
    {
        foreach (var member in _etcd!.Members)
        {
            await member.WaitHealthyAsync().WithTimeout(TestTimeouts.Slow);
            Assert.Equal(_atSnapshot, await EtcdData.ReadAllAsync(member.ClientUrl, "/app/").DefaultTimeout());
        }
        var members = await new Etcdctl(_etcd.Endpoints).RunAsync(["member", "list"]);
        Assert.Equal(_etcd.Members.Count, members.EnsureSuccess().StandardOutput.Trim().Split('\n').Count(l => l.Contains(", started,", StringComparison.Ordinal)));
    }

    /// <summary>Where the test's own files go (the snapshot before it is placed or uploaded).</summary>
    private TempDir Files => _dirs[0];

    private string AgentLogs => string.Join("\n", _agents.Select(a => a.Process.Output));

    private TempDir NewDir()
    {
        var dir = new TempDir("nodeagent-node-");
        _dirs.Add(dir);
        return dir;
    }

    private void StartAgent(string node, ScriptedEtcdMember member, string token, TempDir dir)
        => _agents.Add(AgentProcess.Start(AgentConfigs.ScriptedEtcd(_server, "prod", node, member, token, Path.Combine(dir.Path, "data")), dir));
}
