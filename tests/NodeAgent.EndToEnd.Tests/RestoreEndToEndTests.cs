using System.Security.Cryptography;
using NodeAgent.Contracts.V1;
using NodeAgent.Testing;
using NodeAgent.Testing.Agent;
using NodeAgent.Testing.Etcd;
using NodeAgent.Testing.PlanServer;
using NodeAgent.Testing.S3;

namespace NodeAgent.EndToEnd.Tests;

/// <summary>
/// Restores with every part real: a plan-server process, a 3-member etcd whose members the agents
/// stop and start with their scripts, three node-agent processes and Ceph RGW as the S3 target.
/// </summary>
public sealed class RestoreEndToEndTests(SharedCeph servers) : IClassFixture<SharedCeph>, IAsyncLifetime
{
    private static readonly KeyValuePair<string, string>[] Original =
        [new("/app/a", "1"), new("/app/b", "2"), new("/app/c", "3")];

    private readonly List<TempDir> _dirs = [];
    private readonly List<AgentProcess> _agents = [];
    private PlanServerProcess _server = null!;
    private ScriptedEtcdCluster _etcd = null!;
    private string _bucket = "";
    private ClusterService.ClusterServiceClient _clusters = null!;
    private SnapshotService.SnapshotServiceClient _snapshots = null!;
    private OperationService.OperationServiceClient _operations = null!;

    public async Task InitializeAsync()
    {
        _server = await PlanServerProcess.StartAsync().WithTimeout(TestTimeouts.Slow);
        _etcd = await ScriptedEtcdCluster.StartAsync(3).WithTimeout(TestTimeouts.Slow);
        _bucket = "restore-" + Guid.NewGuid().ToString("N")[..12];
        await servers.Ceph.CreateBucketAsync(_bucket).WithTimeout(TestTimeouts.Slow);
        var admin = _server.CreateAdminChannel();
        _clusters = new ClusterService.ClusterServiceClient(admin);
        _snapshots = new SnapshotService.SnapshotServiceClient(admin);
        _operations = new OperationService.OperationServiceClient(admin);
        var token = (await _clusters.CreateClusterAsync(new CreateClusterRequest
        {
            Name = "prod",
            Runtime = Contracts.V1.Runtime.Etcd,
            KubernetesVersion = "v1.30.4+k3s1",
            SnapshotSettings = new SnapshotSettings
            {
                RecurringEnabled = false,
                S3 = servers.Ceph.PlanS3Target(_bucket, requestTimeout: TimeSpan.FromSeconds(20)),
            },
        }).ResponseAsync.DefaultTimeout()).BootstrapToken;
        for (var i = 0; i < 3; i++)
        {
            StartAgent($"node-{i + 1}", _etcd.Members[i], token);
        }
        await _clusters.UntilPlansAppliedAsync("prod", 3);
        await EtcdData.PutAsync(_etcd.Members[0].ClientUrl, Original).WithTimeout(TestTimeouts.Slow);
    }

    public async Task DisposeAsync()
    {
        foreach (var agent in _agents)
        {
            await agent.DisposeAsync();
        }
        await _etcd.DisposeAsync();
        foreach (var dir in _dirs)
        {
            dir.Dispose();
        }
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task Restore_AfterKeysChanged_EveryMemberServesExactlyTheSnapshotsKeys()
    {
        var snapshot = await SnapshotAsync();
        await ChangeKeysAsync();

        var ended = await RestoreAsync(snapshot.Name);

        Assert.True(ended.Phase == OperationPhase.Finished, $"restore ended {ended.Phase}: {ended.Failure}\n{AgentLogs}");
        Assert.Equal("node-1", ended.InitNode);
        await AssertRestoredAsync();
    }

    [Fact]
    public async Task Restore_InitNodesLocalFileGone_TakesTheS3Copy()
    {
        var snapshot = await SnapshotAsync();
        File.Delete(new Uri(snapshot.Location).LocalPath);
        await ChangeKeysAsync();

        var ended = await RestoreAsync(snapshot.Name);

        Assert.True(ended.Phase == OperationPhase.Finished, $"restore ended {ended.Phase}: {ended.Failure}\n{AgentLogs}");
        Assert.True(File.Exists(new Uri(snapshot.Location).LocalPath));
        await AssertRestoredAsync();
    }

    [Fact]
    public async Task Restore_CorruptSnapshot_FailsInTheChecks_AndNoMemberWasStopped()
    {
        var snapshot = await SnapshotAsync();
        var path = new Uri(snapshot.Location).LocalPath;
        var bytes = await File.ReadAllBytesAsync(path);
        bytes[bytes.Length / 2] ^= 0x01;
        await File.WriteAllBytesAsync(path, bytes);
        // The S3 copy is damaged the same way, so no node can get a good file.
        (await servers.Ceph.Aws().CopyUpAsync(path, _bucket, snapshot.Name)).EnsureSuccess();
        await ChangeKeysAsync();

        var ended = await RestoreAsync(snapshot.Name);

        Assert.Equal(OperationPhase.Failed, ended.Phase);
        Assert.Equal(OperationPhase.Started, ended.Failure.Phase);
        Assert.Contains("sha256", ended.Failure.Message, StringComparison.OrdinalIgnoreCase);
        foreach (var member in _etcd.Members)
        {
            // Still up, still with the changed keys: nothing was stopped or restored.
            Assert.Contains("/app/new", (await EtcdData.ReadAllAsync(member.ClientUrl).DefaultTimeout()).Keys);
        }
    }

    /// <summary>
    /// The init node's agent is killed the moment the operation enters Restore and started again
    /// on the same state: the operation ends (Finished when the step had completed, Failed naming
    /// the interrupted destructive step otherwise) and the restore command ran at most once.
    /// </summary>
    [Fact]
    public async Task AgentKilledDuringRestore_OperationEnds_AndTheRestoreRanAtMostOnce()
    {
        var snapshot = await SnapshotAsync();
        await ChangeKeysAsync();
        var op = (await _snapshots.RestoreSnapshotAsync(new RestoreSnapshotRequest
        {
            Cluster = "prod", Snapshot = snapshot.Name, RestoreMode = RestoreMode.None, SafetySnapshot = false,
        }).ResponseAsync.DefaultTimeout()).Operation;
        using (var cts = new CancellationTokenSource(TestTimeouts.Slow))
        {
            using var watch = _operations.WatchOperation(new WatchOperationRequest { Id = op.Id }, cancellationToken: cts.Token);
            while (await watch.ResponseStream.MoveNext(cts.Token) && watch.ResponseStream.Current.Operation.Phase is OperationPhase.Started or OperationPhase.Shutdown)
            {
            }
        }
        var killed = _agents[0];
        var dir = killed.KillKeepingState();
        var before = killed.Process.Output;
        _agents.RemoveAt(0);
        await killed.DisposeAsync();
        _agents.Insert(0, AgentProcess.Start(AgentConfig("node-1", _etcd.Members[0], "", dir), dir));

        var ended = await _operations.WaitForEndAsync(op.Id, () => AgentLogs);

        var output = before + _agents[0].Process.Output;
        Assert.True(ended.Phase is OperationPhase.Finished or OperationPhase.Failed, $"ended {ended.Phase}");
        if (ended.Phase == OperationPhase.Failed)
        {
            Assert.Equal("restore/restore-snapshot", ended.Failure.InstructionId);
            Assert.Contains("interrupted by an agent restart", ended.Failure.Message, StringComparison.Ordinal);
        }
        Assert.True(CountOf(output, "restore/restore-snapshot attempt 1") <= 1, output);
        Assert.Equal(0, CountOf(output, "restore/restore-snapshot attempt 2"));
    }

    private static int CountOf(string text, string part)
    {
        var count = 0;
        for (var i = text.IndexOf(part, StringComparison.Ordinal); i >= 0; i = text.IndexOf(part, i + part.Length, StringComparison.Ordinal))
        {
            count++;
        }
        return count;
    }

    private async Task<Snapshot> SnapshotAsync()
    {
        var op = (await _snapshots.CreateSnapshotAsync(new CreateSnapshotRequest { Cluster = "prod" }).ResponseAsync.DefaultTimeout()).Operation;
        var ended = await _operations.WaitForEndAsync(op.Id, () => AgentLogs);
        Assert.True(ended.Phase == OperationPhase.Finished, $"snapshot ended {ended.Phase}: {ended.Failure}\n{AgentLogs}");
        Snapshot? snapshot = null;
        await OperationWaits.UntilAsync(async ct =>
        {
            var catalog = (await _snapshots.ListSnapshotsAsync(new ListSnapshotsRequest { Cluster = "prod" }, cancellationToken: ct)).Snapshots;
            snapshot = catalog.FirstOrDefault(s => s.Node == "node-1" && s.Storage == StorageKind.Local);
            return snapshot is not null && catalog.Any(s => s.Storage == StorageKind.S3 && s.Name == snapshot.Name);
        });
        return snapshot!;
    }

    private async Task ChangeKeysAsync()
        => await EtcdData.PutAsync(_etcd.Members[1].ClientUrl, [new("/app/a", "changed"), new("/app/new", "x")]).WithTimeout(TestTimeouts.Slow);

    private async Task<Operation> RestoreAsync(string snapshot)
    {
        var op = (await _snapshots.RestoreSnapshotAsync(new RestoreSnapshotRequest
        {
            Cluster = "prod", Snapshot = snapshot, RestoreMode = RestoreMode.None,
        }).ResponseAsync.DefaultTimeout()).Operation;
        return await _operations.WaitForEndAsync(op.Id, () => AgentLogs);
    }

    private async Task AssertRestoredAsync()
    {
        var expected = await EtcdData.ReadAllAsync(_etcd.Members[0].ClientUrl).DefaultTimeout();
        Assert.Equal(Original.Select(k => k.Key).Order(), expected.Keys.Where(k => k.StartsWith("/app/", StringComparison.Ordinal)).Order());
        foreach (var member in _etcd.Members)
        {
            await member.WaitHealthyAsync().WithTimeout(TestTimeouts.Slow);
            Assert.Equal(expected, await EtcdData.ReadAllAsync(member.ClientUrl).DefaultTimeout());
        }
        var members = await new Testing.Tools.Etcdctl(_etcd.Endpoints).RunAsync(["member", "list"]);
        Assert.Equal(3, members.EnsureSuccess().StandardOutput.Trim().Split('\n').Count(l => l.Contains(", started,", StringComparison.Ordinal)));
    }

    private string AgentLogs => string.Join("\n", _agents.Select(a => a.Process.Output));

    private void StartAgent(string node, ScriptedEtcdMember member, string token)
    {
        var dir = new TempDir("nodeagent-node-");
        _dirs.Add(dir);
        _agents.Add(AgentProcess.Start(AgentConfig(node, member, token, dir), dir));
    }

    private Dictionary<string, string> AgentConfig(string node, ScriptedEtcdMember member, string token, TempDir dir)
        => AgentConfigs.ScriptedEtcd(_server, "prod", node, member, token, Path.Combine(dir.Path, "data"));
}
