using NodeAgent.Contracts.V1;
using NodeAgent.Testing.Agent;
using NodeAgent.Testing.Etcd;
using NodeAgent.Testing.PlanServer;
using NodeAgent.Testing.S3;
using Xunit;

namespace NodeAgent.Testing.EndToEnd;

/// <summary>
/// The end-to-end restore set-up with every part real: a plan-server process, a 3-member etcd whose
/// members the agents stop and start with their scripts, a cluster "prod" whose S3 target is a
/// fresh bucket on Ceph RGW, three node-agent processes (node-1..3 on members 0..2) with their
/// plans applied, and <see cref="Original"/> written. The server, etcd and bucket start together.
/// </summary>
public sealed class RestoreRig : IAsyncDisposable
{
    public static readonly KeyValuePair<string, string>[] Original =
        [new("/app/a", "1"), new("/app/b", "2"), new("/app/c", "3")];

    private readonly List<TempDir> _dirs = [];

    private RestoreRig(CephRgwServer ceph) => Ceph = ceph;

    public CephRgwServer Ceph { get; }

    public PlanServerProcess Server { get; private set; } = null!;

    public ScriptedEtcdCluster Etcd { get; private set; } = null!;

    public string Bucket { get; private set; } = "";

    public ClusterService.ClusterServiceClient Clusters { get; private set; } = null!;

    public SnapshotService.SnapshotServiceClient Snapshots { get; private set; } = null!;

    public OperationService.OperationServiceClient Operations { get; private set; } = null!;

    /// <summary>The agents, node-1 first; a test may replace one (restart it on its state).</summary>
    public List<AgentProcess> Agents { get; } = [];

    public string AgentLogs => string.Join("\n", Agents.Select(a => a.Process.Output));

    /// <param name="bucketPrefix">The bucket's name before its random part (e.g. "restore-").</param>
    public static async Task<RestoreRig> StartAsync(CephRgwServer ceph, string bucketPrefix)
    {
        var rig = new RestoreRig(ceph);
        try
        {
            await rig.InitializeAsync(bucketPrefix);
            return rig;
        }
        catch
        {
            await rig.DisposeAsync();
            throw;
        }
    }

    private async Task InitializeAsync(string bucketPrefix)
    {
        Bucket = bucketPrefix + Guid.NewGuid().ToString("N")[..12];
        var server = PlanServerProcess.StartAsync();
        var etcd = ScriptedEtcdCluster.StartAsync(3);
        var bucket = Ceph.CreateBucketAsync(Bucket);
        try
        {
            await Task.WhenAll(server, etcd, bucket).WithTimeout(TestTimeouts.Slow);
        }
        finally
        {
            // Whatever started is owned (and so stopped) even when another part failed.
            Server = server.IsCompletedSuccessfully ? server.Result : null!;
            Etcd = etcd.IsCompletedSuccessfully ? etcd.Result : null!;
        }
        var admin = Server.CreateAdminChannel();
        Clusters = new ClusterService.ClusterServiceClient(admin);
        Snapshots = new SnapshotService.SnapshotServiceClient(admin);
        Operations = new OperationService.OperationServiceClient(admin);
        var token = (await Clusters.CreateClusterAsync(new CreateClusterRequest
        {
            Name = "prod",
            Runtime = Contracts.V1.Runtime.Etcd,
            KubernetesVersion = "v1.30.4+k3s1",
            SnapshotSettings = new SnapshotSettings
            {
                RecurringEnabled = false,
                S3 = Ceph.PlanS3Target(Bucket, requestTimeout: TimeSpan.FromSeconds(20)),
            },
        }).ResponseAsync.DefaultTimeout()).BootstrapToken;
        for (var i = 0; i < 3; i++)
        {
            var dir = NewDir("nodeagent-node-");
            Agents.Add(AgentProcess.Start(AgentConfig(i, token, dir), dir));
        }
        await Clusters.UntilPlansAppliedAsync("prod", 3);
        await EtcdData.PutAsync(Etcd.Members[0].ClientUrl, Original).WithTimeout(TestTimeouts.Slow);
    }

    /// <summary>A temporary dir removed with the rig.</summary>
    public TempDir NewDir(string prefix)
    {
        var dir = new TempDir(prefix);
        _dirs.Add(dir);
        return dir;
    }

    /// <summary>The config of node-(<paramref name="member"/>+1)'s agent on etcd member <paramref name="member"/> ("" token: it registered already).</summary>
    public Dictionary<string, string> AgentConfig(int member, string token, TempDir dir)
        => AgentConfigs.ScriptedEtcd(Server, "prod", $"node-{member + 1}", Etcd.Members[member], token, Path.Combine(dir.Path, "data"));

    /// <summary>A one-time snapshot that finishes; node-1's copy once the catalog lists it both locally and in S3.</summary>
    public async Task<Snapshot> SnapshotAsync()
    {
        var op = (await Snapshots.CreateSnapshotAsync(new CreateSnapshotRequest { Cluster = "prod" }).ResponseAsync.DefaultTimeout()).Operation;
        var ended = await Operations.WaitForEndAsync(op.Id, () => AgentLogs);
        Assert.True(ended.Phase == OperationPhase.Finished, $"snapshot ended {ended.Phase}: {ended.Failure}\n{AgentLogs}");
        Snapshot? snapshot = null;
        await OperationWaits.UntilAsync(async ct =>
        {
            var catalog = (await Snapshots.ListSnapshotsAsync(new ListSnapshotsRequest { Cluster = "prod" }, cancellationToken: ct)).Snapshots;
            snapshot = catalog.FirstOrDefault(s => s.Node == "node-1" && s.Storage == StorageKind.Local);
            return snapshot is not null && catalog.Any(s => s.Storage == StorageKind.S3 && s.Name == snapshot.Name);
        });
        return snapshot!;
    }

    /// <summary>Changes /app/a and adds /app/new (through member 1), so a restore has something to undo.</summary>
    public async Task ChangeKeysAsync()
        => await EtcdData.PutAsync(Etcd.Members[1].ClientUrl, [new("/app/a", "changed"), new("/app/new", "x")]).WithTimeout(TestTimeouts.Slow);

    /// <summary>Starts a restore of <paramref name="snapshot"/> (no restore mode) and returns the operation at once.</summary>
    public async Task<Operation> StartRestoreAsync(string snapshot, bool safetySnapshot = true)
    {
        var request = new RestoreSnapshotRequest { Cluster = "prod", Snapshot = snapshot, RestoreMode = RestoreMode.None };
        if (!safetySnapshot)
        {
            request.SafetySnapshot = false;
        }
        return (await Snapshots.RestoreSnapshotAsync(request).ResponseAsync.DefaultTimeout()).Operation;
    }

    /// <summary>
    /// The exact-keys check: member 0 holds exactly <see cref="Original"/>'s keys under /app/, and
    /// every member, healthy again, serves the very same keys and values (sha256 each) as member 0.
    /// </summary>
    /// <returns>What member 0 serves (key → sha256 of its value).</returns>
    public async Task<IReadOnlyDictionary<string, string>> AssertRestoredAsync()
    {
        var expected = await EtcdData.ReadAllAsync(Etcd.Members[0].ClientUrl).DefaultTimeout();
        Assert.Equal(Original.Select(k => k.Key).Order(), expected.Keys.Where(k => k.StartsWith("/app/", StringComparison.Ordinal)).Order());
        foreach (var member in Etcd.Members)
        {
            await member.WaitHealthyAsync().WithTimeout(TestTimeouts.Slow);
            Assert.Equal(expected, await EtcdData.ReadAllAsync(member.ClientUrl).DefaultTimeout());
        }
        return expected;
    }

    /// <summary>How often <paramref name="part"/> occurs in <paramref name="text"/>.</summary>
    public static int CountOf(string text, string part)
    {
        var count = 0;
        for (var i = text.IndexOf(part, StringComparison.Ordinal); i >= 0; i = text.IndexOf(part, i + part.Length, StringComparison.Ordinal))
        {
            count++;
        }
        return count;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var agent in Agents)
        {
            await agent.DisposeAsync();
        }
        if (Etcd is not null)
        {
            await Etcd.DisposeAsync();
        }
        foreach (var dir in _dirs)
        {
            dir.Dispose();
        }
        if (Server is not null)
        {
            await Server.DisposeAsync();
        }
    }
}
