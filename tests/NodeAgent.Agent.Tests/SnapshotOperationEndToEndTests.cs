using System.Security.Cryptography;
using NodeAgent.Contracts.V1;
using NodeAgent.Testing;
using NodeAgent.Testing.Agent;
using NodeAgent.Testing.Etcd;
using NodeAgent.Testing.PlanServer;
using NodeAgent.Testing.S3;
using NodeAgent.Testing.Tools;

namespace NodeAgent.Agent.Tests;

/// <summary>
/// The whole system, every part real: a plan-server process, a 3-member etcd, three node-agent
/// processes (each beside its own member) and Ceph RGW as the S3 target.
/// </summary>
[Collection("agent-s3")]
public sealed class SnapshotOperationEndToEndTests(S3ServersFixture servers) : IAsyncLifetime
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
        _bucket = "e2e-" + Guid.NewGuid().ToString("N")[..12];
        await servers.Ceph.CreateBucketAsync(_bucket).WithTimeout(TestTimeouts.Slow);
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
            Runtime = Runtime.Etcd,
            KubernetesVersion = "v1.30.4+k3s1",
            SnapshotSettings = new SnapshotSettings
            {
                RecurringEnabled = false,
                S3 = new S3Settings
                {
                    Endpoint = servers.Ceph.HttpEndpoint.Authority,
                    Insecure = true,
                    Bucket = _bucket,
                    Folder = "prod",
                    Credentials = new S3Credentials { StaticKeys = new S3Credentials.Types.StaticKeys { AccessKey = servers.Ceph.AccessKey, SecretKey = servers.Ceph.SecretKey } },
                },
            },
        }).ResponseAsync.DefaultTimeout()).BootstrapToken;
        for (var i = 0; i < 3; i++)
        {
            StartAgent($"node-{i + 1}", _etcd.Members[i].ClientUrl, token);
        }
        await WaitAsync(async ct => (await clusters.ListNodesAsync(new ListNodesRequest { Cluster = "prod" }, cancellationToken: ct)).Nodes
            .Count(n => n.AppliedChecksum.Length > 0 && n.AppliedChecksum == n.DesiredChecksum) == 3);

        var snapshots = new SnapshotService.SnapshotServiceClient(admin);
        var operation = (await snapshots.CreateSnapshotAsync(new CreateSnapshotRequest { Cluster = "prod" }).ResponseAsync.DefaultTimeout()).Operation;
        Operation ended;
        try
        {
            ended = await WaitForEndAsync(new OperationService.OperationServiceClient(admin), operation.Id).WithTimeout(TestTimeouts.Slow);
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException($"{ex.Message}; the agents said:\n{AgentLogs}", ex);
        }

        Assert.True(ended.Phase == OperationPhase.Finished, $"operation ended {ended.Phase}: {ended.Failure}");
        IReadOnlyList<Snapshot> catalog = [];
        await WaitAsync(async ct =>
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
    }

    private string AgentLogs => string.Join("\n", _agents.Select(a => a.Process.Output));

    private void StartAgent(string node, string etcdEndpoint, string token)
    {
        var data = new TempDir("nodeagent-node-");
        _dataDirs.Add(data);
        _agents.Add(AgentProcess.Start(new Dictionary<string, string>
        {
            ["server"] = _server.Address.ToString(),
            ["server-ca"] = _server.CaFile!,
            ["cluster"] = "prod",
            ["token"] = token,
            ["node-name"] = node,
            ["runtime"] = "etcd",
            ["data-dir"] = data.Path,
            ["etcd-endpoints"] = etcdEndpoint,
            ["poll-wait"] = "20s",
        }));
    }

    private static async Task WaitAsync(Func<CancellationToken, Task<bool>> condition)
    {
        using var cts = new CancellationTokenSource(TestTimeouts.Slow);
        while (!await condition(cts.Token))
        {
            await Task.Delay(TimeSpan.FromMilliseconds(200), cts.Token);
        }
    }

    private static async Task<Operation> WaitForEndAsync(OperationService.OperationServiceClient operations, string id)
    {
        using var cts = new CancellationTokenSource(TestTimeouts.Slow + TimeSpan.FromSeconds(10));
        using var watch = operations.WatchOperation(new WatchOperationRequest { Id = id }, cancellationToken: cts.Token);
        Operation last = null!;
        while (await watch.ResponseStream.MoveNext(cts.Token))
        {
            last = watch.ResponseStream.Current.Operation;
        }
        return last;
    }

    private static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}
