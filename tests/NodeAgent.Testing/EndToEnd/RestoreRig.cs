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
/// <see cref="RestoreRigOptions"/> varies the few parts some cases need otherwise.
/// </summary>
public sealed class RestoreRig : IAsyncDisposable
{
    public static readonly KeyValuePair<string, string>[] Original =
        [new("/app/a", "1"), new("/app/b", "2"), new("/app/c", "3")];

    private readonly List<TempDir> _dirs = [];
    private readonly List<ScriptedEtcdMember> _freshMembers = [];
    private readonly RestoreRigOptions _options;

    private RestoreRig(CephRgwServer ceph, RestoreRigOptions options)
    {
        Ceph = ceph;
        _options = options;
    }

    public CephRgwServer Ceph { get; }

    public PlanServerProcess Server { get; private set; } = null!;

    /// <summary>Every plan-server replica (the first is <see cref="Server"/>); one entry without <see cref="RestoreRigOptions.StoreEndpoints"/>.</summary>
    public List<PlanServerProcess> Replicas { get; } = [];

    public ScriptedEtcdCluster Etcd { get; private set; } = null!;

    public string Bucket { get; private set; } = "";

    /// <summary>Cluster prod's snapshot settings as created (its S3 target null when <see cref="RestoreRigOptions.S3"/> is false).</summary>
    public SnapshotSettings Settings { get; private set; } = null!;

    /// <summary>Cluster prod's bootstrap token, for agents started later.</summary>
    public string Token { get; private set; } = "";

    /// <summary>The dirs of node-1..N's agents (made before <see cref="RestoreRigOptions.BeforeCluster"/> runs).</summary>
    public List<TempDir> NodeDirs { get; } = [];

    public ClusterService.ClusterServiceClient Clusters { get; private set; } = null!;

    public SnapshotService.SnapshotServiceClient Snapshots { get; private set; } = null!;

    public OperationService.OperationServiceClient Operations { get; private set; } = null!;

    /// <summary>The agents, node-1 first; a test may replace one (restart it on its state).</summary>
    public List<AgentProcess> Agents { get; } = [];

    public string AgentLogs => string.Join("\n", Agents.Select(a => a.Process.Output));

    /// <param name="bucketPrefix">The bucket's name before its random part (e.g. "restore-").</param>
    public static Task<RestoreRig> StartAsync(CephRgwServer ceph, string bucketPrefix)
        => StartAsync(ceph, bucketPrefix, new RestoreRigOptions());

    /// <param name="bucketPrefix">The bucket's name before its random part (e.g. "restore-").</param>
    /// <param name="options">The parts that differ from the default rig.</param>
    public static async Task<RestoreRig> StartAsync(CephRgwServer ceph, string bucketPrefix, RestoreRigOptions options)
    {
        var rig = new RestoreRig(ceph, options);
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
        var server = _options.StoreEndpoints is null ? PlanServerProcess.StartAsync(extraArgs: _options.ServerArgs) : StartReplicasAsync();
        var etcd = ScriptedEtcdCluster.StartAsync(_options.Members);
        var bucket = Ceph.CreateBucketAsync(Bucket);
        try
        {
            await Task.WhenAll(server, etcd, bucket).WithTimeout(TestTimeouts.Slow);
        }
        finally
        {
            // Whatever started is owned (and so stopped) even when another part failed.
            Server = server.IsCompletedSuccessfully ? server.Result : null!;
            if (Server is not null && Replicas.Count == 0)
            {
                Replicas.Add(Server);
            }
            Etcd = etcd.IsCompletedSuccessfully ? etcd.Result : null!;
        }
        var admin = Server.CreateAdminChannel();
        Clusters = new ClusterService.ClusterServiceClient(admin);
        Snapshots = new SnapshotService.SnapshotServiceClient(admin);
        Operations = new OperationService.OperationServiceClient(admin);
        await EtcdData.PutAsync(Etcd.Members[0].ClientUrl, Original).WithTimeout(TestTimeouts.Slow);
        for (var i = 0; i < Etcd.Members.Count; i++)
        {
            NodeDirs.Add(NewDir("nodeagent-node-"));
        }
        if (_options.BeforeCluster is { } beforeCluster)
        {
            await beforeCluster(this);
        }
        Settings = new SnapshotSettings
        {
            RecurringEnabled = false,
            S3 = _options.S3 ? Ceph.PlanS3Target(Bucket, requestTimeout: TimeSpan.FromSeconds(20)) : null,
        };
        if (Settings.S3 is { } target && _options.S3Endpoint is { } endpoint)
        {
            target.Endpoint = endpoint;
        }
        Token = (await Clusters.CreateClusterAsync(new CreateClusterRequest
        {
            Name = "prod",
            Runtime = Contracts.V1.Runtime.Etcd,
            KubernetesVersion = _options.KubernetesVersion,
            SnapshotSettings = Settings,
        }).ResponseAsync.DefaultTimeout()).BootstrapToken;
        for (var i = 0; i < Etcd.Members.Count; i++)
        {
            Agents.Add(AgentProcess.Start(AgentConfig(i, Token, NodeDirs[i]), NodeDirs[i]));
        }
        await Clusters.UntilPlansAppliedAsync("prod", Etcd.Members.Count);
    }

    /// <summary>The first replica alone (it puts the admin token and CA into the store), then the others, which take them.</summary>
    private async Task<PlanServerProcess> StartReplicasAsync()
    {
        string[] args = ["--store", "etcd", "--store-endpoints", _options.StoreEndpoints!, .. _options.ServerArgs];
        Replicas.Add(await PlanServerProcess.StartAsync(extraArgs: args));
        for (var i = 1; i < _options.Replicas; i++)
        {
            Replicas.Add(await PlanServerProcess.StartAsync(extraArgs: args));
        }
        return Replicas[0];
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
        => AgentConfig($"node-{member + 1}", Etcd.Members[member], token, dir);

    private Dictionary<string, string> AgentConfig(string node, ScriptedEtcdMember member, string token, TempDir dir)
    {
        var config = AgentConfigs.ScriptedEtcd(Server, "prod", node, member, token, Path.Combine(dir.Path, "data"));
        if (Replicas.Count > 1)
        {
            config["server"] = string.Join(',', Replicas.Select(r => r.Address));
        }
        if (_options.PollWait is { } pollWait)
        {
            config["poll-wait"] = pollWait;
        }
        return config;
    }

    /// <summary>
    /// Fresh nodes (a disaster's replacements): <paramref name="count"/> new etcd members (names
    /// <paramref name="prefix"/>1..) owned by the rig, not started (their agents start them), and an
    /// agent for each (nodes <paramref name="firstNode"/>.. on empty dirs) whose config names only
    /// its own member's peer URL, as nothing else is known on a new node.
    /// </summary>
    public IReadOnlyList<ScriptedEtcdMember> StartFreshNodes(int count, string prefix, int firstNode)
    {
        var members = ScriptedEtcdMember.CreateCluster(NewDir("nodeagent-replacements-").Path, count, prefix);
        _freshMembers.AddRange(members);
        for (var i = 0; i < count; i++)
        {
            var dir = NewDir("nodeagent-node-");
            var config = AgentConfig($"node-{firstNode + i}", members[i], Token, dir);
            config.Remove("etcd-initial-cluster");
            Agents.Add(AgentProcess.Start(config, dir));
        }
        return members;
    }

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

    /// <summary>Changes /app/a and adds /app/new (through member <paramref name="member"/>), so a restore has something to undo.</summary>
    public async Task ChangeKeysAsync(int member = 1)
        => await EtcdData.PutAsync(Etcd.Members[member].ClientUrl, [new("/app/a", "changed"), new("/app/new", "x")]).WithTimeout(TestTimeouts.Slow);

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

    /// <summary>Restores <paramref name="snapshot"/> (no restore mode) and waits for the operation to end.</summary>
    public async Task<Operation> RestoreAsync(string snapshot)
        => await Operations.WaitForEndAsync((await StartRestoreAsync(snapshot)).Id, () => AgentLogs);

    /// <summary>
    /// The exact-keys check: the first of <paramref name="members"/> (default: the rig's etcd)
    /// holds exactly <see cref="Original"/>'s keys under /app/, and every one of them, healthy
    /// again, serves the very same keys and values (sha256 each) as that first one.
    /// </summary>
    /// <returns>What the first member serves (key → sha256 of its value).</returns>
    public async Task<IReadOnlyDictionary<string, string>> AssertRestoredAsync(IReadOnlyList<ScriptedEtcdMember>? members = null)
    {
        members ??= Etcd.Members;
        await members[0].WaitHealthyAsync().WithTimeout(TestTimeouts.Slow);
        var expected = await EtcdData.ReadAllAsync(members[0].ClientUrl).DefaultTimeout();
        Assert.Equal(Original.Select(k => k.Key).Order(), expected.Keys.Where(k => k.StartsWith("/app/", StringComparison.Ordinal)).Order());
        foreach (var member in members)
        {
            await member.WaitHealthyAsync().WithTimeout(TestTimeouts.Slow);
            Assert.Equal(expected, await EtcdData.ReadAllAsync(member.ClientUrl).DefaultTimeout());
        }
        return expected;
    }

    /// <summary>Etcd's member list (asked of <paramref name="members"/>) is exactly them, each started under its name and peer URL.</summary>
    public static async Task AssertMemberListAsync(IReadOnlyList<ScriptedEtcdMember> members)
    {
        var list = (await new Tools.Etcdctl(string.Join(',', members.Select(m => m.ClientUrl))).RunAsync(["member", "list"]))
            .EnsureSuccess().StandardOutput.Trim().Split('\n');
        Assert.Equal(members.Count, list.Length);
        foreach (var member in members)
        {
            Assert.Single(list, l => l.Contains($", started, {member.Name}, {member.PeerUrl}, ", StringComparison.Ordinal));
        }
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
        foreach (var member in _freshMembers)
        {
            await member.DisposeAsync();
        }
        if (Etcd is not null)
        {
            await Etcd.DisposeAsync();
        }
        foreach (var dir in _dirs)
        {
            dir.Dispose();
        }
        foreach (var replica in Replicas)
        {
            await replica.DisposeAsync();
        }
    }
}
