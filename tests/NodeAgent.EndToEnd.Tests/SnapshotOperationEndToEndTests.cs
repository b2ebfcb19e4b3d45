using System.Security.Cryptography;
using NodeAgent.Contracts.V1;
using NodeAgent.Testing;
using NodeAgent.Testing.Agent;
using NodeAgent.Testing.Etcd;
using NodeAgent.Testing.Net;
using NodeAgent.Testing.Ordering;
using NodeAgent.Testing.PlanServer;
using NodeAgent.Testing.S3;
using NodeAgent.Testing.Tools;

namespace NodeAgent.EndToEnd.Tests;

/// <summary>
/// The whole system, every part real: a plan-server process, a 3-member etcd, three node-agent
/// processes (each beside its own member) and Ceph RGW as the S3 target.
/// </summary>
[ExpectedDuration(260)]
public sealed class SnapshotOperationEndToEndTests(SharedCeph servers) : IClassFixture<SharedCeph>, IAsyncLifetime
{
    private readonly List<TempDir> _dataDirs = [];
    private readonly List<AgentProcess> _agents = [];
    private PlanServerProcess _server = null!;
    private EtcdCluster _etcd = null!;
    private string _bucket = "";

    public async Task InitializeAsync()
    {
        _server = await PlanServerProcess.StartAsync().WithTimeout(TestTimeouts.Slow);
        _etcd = await EtcdCluster.StartAsync(3).WithTimeout(TestTimeouts.Slow);
        _bucket = await servers.Ceph.NewBucketAsync("e2e");
        await EtcdData.PutAsync(_etcd.Members[0].ClientUrl, [new("/e2e/key", "value")]).WithTimeout(TestTimeouts.Slow);
    }

    public async Task DisposeAsync()
    {
        foreach (var agent in _agents)
        {
            await agent.DisposeAsync();
        }
        foreach (var dir in _dataDirs)
        {
            dir.Dispose();
        }
        await _etcd.DisposeAsync();
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task OneTimeSnapshot_OnThreeNodes_FinishesWithThreeLocalAndThreeS3CopiesThatRestore()
    {
        var admin = _server.CreateAdminChannel();
        var clusters = new ClusterService.ClusterServiceClient(admin);
        var token = (await clusters.CreateClusterAsync(new CreateClusterRequest
        {
            Name = "prod",
            Runtime = Contracts.V1.Runtime.Etcd,
            KubernetesVersion = "v1.30.4+k3s1",
            SnapshotSettings = new SnapshotSettings
            {
                RecurringEnabled = false,
                S3 = servers.Ceph.PlanS3Target(_bucket, folder: "prod", requestTimeout: TimeSpan.FromSeconds(20)),
            },
        }).ResponseAsync.DefaultTimeout()).BootstrapToken;
        for (var i = 0; i < 3; i++)
        {
            StartAgent($"node-{i + 1}", _etcd.Members[i].ClientUrl, token);
        }
        await clusters.UntilPlansAppliedAsync("prod", 3);

        var snapshots = new SnapshotService.SnapshotServiceClient(admin);
        var operation = (await snapshots.CreateSnapshotAsync(new CreateSnapshotRequest { Cluster = "prod" }).ResponseAsync.DefaultTimeout()).Operation;
        var ended = await new OperationService.OperationServiceClient(admin).WaitForEndAsync(operation.Id, () => AgentLogs);

        Assert.True(ended.Phase == OperationPhase.Finished, $"operation ended {ended.Phase}: {ended.Failure}");
        IReadOnlyList<Snapshot> catalog = [];
        await OperationWaits.UntilAsync(async ct =>
        {
            catalog = (await snapshots.ListSnapshotsAsync(new ListSnapshotsRequest { Cluster = "prod" }, cancellationToken: ct)).Snapshots;
            return catalog.Count(s => s.Storage == StorageKind.Local) == 3 && catalog.Count(s => s.Storage == StorageKind.S3) == 3;
        });
        Assert.Equal(["node-1", "node-2", "node-3"], catalog.Where(s => s.Storage == StorageKind.Local).Select(s => s.Node).Order());
        Assert.Equal(["node-1", "node-2", "node-3"], catalog.Where(s => s.Storage == StorageKind.S3).Select(s => s.Node).Order());
        Assert.All(catalog, s => Assert.Equal(SnapshotStatus.Successful, s.Status));
        Assert.All(catalog, s => Assert.Equal("v1.30.4+k3s1", s.KubernetesVersion));
        foreach (var local in catalog.Where(s => s.Storage == StorageKind.Local))
        {
            var path = new Uri(local.Location).LocalPath;
            Assert.Equal(local.Sha256, Sha256(path));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
            using var restored = new TempDir();
            (await Etcdctl.SnapshotRestoreAsync(path, restored.Combine("data"))).EnsureSuccess();
            var copy = catalog.Single(s => s.Storage == StorageKind.S3 && s.Name == local.Name);
            Assert.Equal($"s3://{_bucket}/prod/{local.Name}", copy.Location);
            (await servers.Ceph.Aws().CopyDownAsync(_bucket, "prod/" + local.Name, restored.Combine("down"))).EnsureSuccess();
            Assert.Equal(local.Sha256, Sha256(restored.Combine("down")));
        }

        // Delete through the plans: the node that took it removes its file, sidecar and S3 copy.
        var doomed = catalog.First(s => s.Storage == StorageKind.Local);
        var delete = (await snapshots.DeleteSnapshotAsync(new DeleteSnapshotRequest { Cluster = "prod", Snapshot = doomed.Name }).ResponseAsync.DefaultTimeout()).Operation;
        var deleted = await new OperationService.OperationServiceClient(admin).WaitForEndAsync(delete.Id, () => AgentLogs);

        Assert.True(deleted.Phase == OperationPhase.Finished, $"delete ended {deleted.Phase}: {deleted.Failure}");
        Assert.False(File.Exists(new Uri(doomed.Location).LocalPath));
        Assert.DoesNotContain(doomed.Name, (await servers.Ceph.Aws().RunAsync(["s3", "ls", "--recursive", $"s3://{_bucket}/"])).EnsureSuccess().StandardOutput, StringComparison.Ordinal);
        await OperationWaits.UntilAsync(async ct => !(await snapshots.ListSnapshotsAsync(new ListSnapshotsRequest { Cluster = "prod" }, cancellationToken: ct)).Snapshots.Any(s => s.Name == doomed.Name));
    }

    /// <summary>
    /// The agent is killed while its save streams (seen through the operation's progress); restarted
    /// on the same state, it finds the interrupted attempt in its step markers, runs the save again
    /// (a save is safe to repeat) and the operation finishes. It never hangs.
    /// </summary>
    [Fact]
    public async Task AgentKilledMidSave_RestartedAgentRetriesAndTheOperationFinishes()
    {
        var admin = _server.CreateAdminChannel();
        var clusters = new ClusterService.ClusterServiceClient(admin);
        var token = (await clusters.CreateClusterAsync(new CreateClusterRequest
        {
            Name = "prod",
            Runtime = Contracts.V1.Runtime.Etcd,
            SnapshotSettings = new SnapshotSettings { RecurringEnabled = false },
        }).ResponseAsync.DefaultTimeout()).BootstrapToken;
        await EtcdData.LoadAsync(_etcd.Members[0].ClientUrl, 300).WithTimeout(TestTimeouts.Slow);
        var agent = StartAgent("node-1", _etcd.Members[0].ClientUrl, token);
        await clusters.UntilPlansAppliedAsync("prod", 1);
        var operations = new OperationService.OperationServiceClient(admin);

        var operation = (await new SnapshotService.SnapshotServiceClient(admin).CreateSnapshotAsync(new CreateSnapshotRequest { Cluster = "prod" }).ResponseAsync.DefaultTimeout()).Operation;
        using (var cts = new CancellationTokenSource(TestTimeouts.Slow))
        {
            using var watch = operations.WatchOperation(new WatchOperationRequest { Id = operation.Id }, cancellationToken: cts.Token);
            while (await watch.ResponseStream.MoveNext(cts.Token)
                && !watch.ResponseStream.Current.Operation.Nodes.Any(n => n.Progress is { BytesDone: > 0 }))
            {
            }
        }
        var dir = agent.KillKeepingState();
        _agents.Remove(agent);
        await agent.DisposeAsync();
        var restarted = AgentProcess.Start(AgentConfig("node-1", _etcd.Members[0].ClientUrl, token, DataDirOf(dir)), dir);
        _agents.Add(restarted);
        var ended = await operations.WaitForEndAsync(operation.Id, () => AgentLogs);

        Assert.True(ended.Phase == OperationPhase.Finished, $"operation ended {ended.Phase}: {ended.Failure}");
        Assert.Contains("started/save-snapshot attempt 2 of 2", restarted.Process.Output, StringComparison.Ordinal);
        var files = Directory.GetFiles(Path.Combine(DataDirOf(dir), "server", "db", "snapshots")).Select(Path.GetFileName).Where(f => !f!.StartsWith('.')).ToList();
        // The killed attempt's part file is never mistaken for a snapshot; the retry's snapshot is whole.
        var snapshot = Assert.Single(files, f => !f!.EndsWith(".part", StringComparison.Ordinal));
        (await Etcdctl.SnapshotRestoreAsync(Path.Combine(DataDirOf(dir), "server", "db", "snapshots", snapshot!), Path.Combine(DataDirOf(dir), "restored"))).EnsureSuccess();
    }

    /// <summary>
    /// S3 hangs (a frozen loopback relay in front of RGW: connections accepted, nothing answered).
    /// The agent's save step ends instead of sitting running: the local snapshot is saved whole and
    /// marked for a later upload, and the step fails with the timeout as its reason.
    /// </summary>
    [Fact]
    public async Task OneTimeSnapshot_S3Hung_StepFailsWithTheTimeoutLocalSnapshotKept()
    {
        await using var relay = TcpRelay.Start(servers.Ceph.HttpEndpoint);
        relay.Freeze();
        var target = servers.Ceph.PlanS3Target(_bucket, requestTimeout: TimeSpan.FromSeconds(5));
        target.Endpoint = relay.Authority;
        var admin = _server.CreateAdminChannel();
        var clusters = new ClusterService.ClusterServiceClient(admin);
        var token = (await clusters.CreateClusterAsync(new CreateClusterRequest
        {
            Name = "prod",
            Runtime = Contracts.V1.Runtime.Etcd,
            SnapshotSettings = new SnapshotSettings { RecurringEnabled = false, S3 = target },
        }).ResponseAsync.DefaultTimeout()).BootstrapToken;
        var agent = StartAgent("node-1", _etcd.Members[0].ClientUrl, token);
        await clusters.UntilPlansAppliedAsync("prod", 1);

        var operation = (await new SnapshotService.SnapshotServiceClient(admin).CreateSnapshotAsync(new CreateSnapshotRequest { Cluster = "prod" }).ResponseAsync.DefaultTimeout()).Operation;
        var ended = await new OperationService.OperationServiceClient(admin).WaitForEndAsync(operation.Id, () => AgentLogs);

        Assert.Equal(OperationPhase.Failed, ended.Phase);
        Assert.Contains($"S3 at {relay.Authority} timed out after 5s (--s3-timeout)", ended.Failure.Message, StringComparison.Ordinal);
        var snapshots = Path.Combine(DataDirOf(_dataDirs[^1]), "server", "db", "snapshots");
        var file = Assert.Single(Directory.GetFiles(snapshots), f => !Path.GetFileName(f).StartsWith('.'));
        var sidecar = System.Text.Json.JsonSerializer.Deserialize<Dictionary<string, string>>(
            File.ReadAllText(Path.Combine(snapshots, "..", ".metadata", Path.GetFileName(file))))!;
        Assert.Equal(sidecar["sha256"], Sha256(file));
        Assert.StartsWith("upload failed: ", sidecar["s3Upload"], StringComparison.Ordinal);
        Assert.Contains("timed out after 5s (--s3-timeout)", sidecar["s3Upload"], StringComparison.Ordinal);
        Assert.False(agent.Process.HasExited);
    }

    private string AgentLogs => string.Join("\n", _agents.Select(a => a.Process.Output));

    private static string DataDirOf(TempDir agentDir) => Path.Combine(agentDir.Path, "data");

    private AgentProcess StartAgent(string node, string etcdEndpoint, string token)
    {
        var dir = new TempDir("nodeagent-node-");
        var agent = AgentProcess.Start(AgentConfig(node, etcdEndpoint, token, DataDirOf(dir)), dir);
        _dataDirs.Add(dir);
        _agents.Add(agent);
        return agent;
    }

    private Dictionary<string, string> AgentConfig(string node, string etcdEndpoint, string token, string dataDir)
        => new()
        {
            ["server"] = _server.Address.ToString(),
            ["server-ca"] = _server.CaFile!,
            ["cluster"] = "prod",
            ["token"] = token,
            ["node-name"] = node,
            ["runtime"] = "etcd",
            ["data-dir"] = dataDir,
            ["etcd-endpoints"] = etcdEndpoint,
            ["poll-wait"] = "20s",
        };

    private static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}
