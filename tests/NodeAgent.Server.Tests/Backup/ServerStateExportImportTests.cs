using Google.Protobuf.WellKnownTypes;
using NodeAgent.Contracts.V1;
using NodeAgent.Testing;
using NodeAgent.Testing.PlanServer;
using NodeAgent.Testing.Processes;

namespace NodeAgent.Server.Tests.Backup;

/// <summary>
/// <c>plan-server export</c> from a running server and <c>plan-server import</c> into a new data dir,
/// with real plan-server processes: the server started on the imported dir has the same clusters
/// (bootstrap token, S3 secret), nodes, operations, catalog, admin token and CA, and the agent's
/// credential from the first server still works on it.
/// </summary>
public sealed class ServerStateExportImportTests : IDisposable
{
    private const string SnapshotName = "etcd-snapshot-node-1-1700000000";
    private readonly TempDir _root = new("nodeagent-export-");

    public void Dispose() => _root.Dispose();

    [Fact]
    public async Task ExportFromARunningServer_ImportIntoANewDir_TheServerThereGoesOnWithTheSameStateAndCredentials()
    {
        // Stopped after the export (a second dispose at the end does nothing).
        await using var first = await PlanServerProcess.StartAsync();
        var (clusters, snapshots, operations) = Clients(first);
        var created = await clusters.CreateClusterAsync(new CreateClusterRequest
        {
            Name = "prod",
            Runtime = Runtime.Etcd,
            SnapshotSettings = new SnapshotSettings
            {
                RecurringEnabled = true,
                Cron = "0 */6 * * *",
                Retention = 7,
                S3 = new S3Settings
                {
                    Endpoint = "127.0.0.1:9",
                    Bucket = "backups",
                    Insecure = true,
                    Credentials = new S3Credentials { StaticKeys = new S3Credentials.Types.StaticKeys { AccessKey = "AKIDEXAMPLE", SecretKey = "secret-that-must-survive" } },
                },
            },
        }).ResponseAsync.DefaultTimeout();
        var agent = await SimulatedAgent.RegisterAsync(first.Address, first.CaFile, "prod", "node-1", created.BootstrapToken, NodeRole.Etcd);
        await ReportLocalSnapshotAsync(agent);
        var active = (await snapshots.CreateSnapshotAsync(new CreateSnapshotRequest { Cluster = "prod" }).ResponseAsync.DefaultTimeout()).Operation;
        var cluster = await clusters.GetClusterAsync(new GetClusterRequest { Name = "prod", IncludeBootstrapToken = true }).ResponseAsync.DefaultTimeout();
        var nodes = (await clusters.ListNodesAsync(new ListNodesRequest { Cluster = "prod" }).ResponseAsync.DefaultTimeout()).Nodes;
        var catalog = (await snapshots.ListSnapshotsAsync(new ListSnapshotsRequest { Cluster = "prod" }).ResponseAsync.DefaultTimeout()).Snapshots;
        var adminToken = first.AdminToken;
        var ca = await File.ReadAllBytesAsync(first.CaFile!);

        var export = (await CommandRunner.RunAsync(RepoPaths.Executable("plan-server"), ["export", "--data-dir", first.DataDir])).EnsureSuccess();
        Assert.Equal("plan-server: exported 1 clusters, 1 nodes, 1 operations, 1 catalog entries", export.StandardError.Trim());
        await first.DisposeAsync();
        var dir = _root.Combine("imported");
        var import = (await CommandRunner.RunAsync(RepoPaths.Executable("plan-server"), ["import", "--data-dir", dir], standardInput: export.StandardOutput)).EnsureSuccess();
        Assert.Contains("imported 1 clusters, 1 nodes, 1 operations, 1 catalog entries", import.StandardError, StringComparison.Ordinal);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(dir, "plan-server.db")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(dir, "tls", "ca.key")));
        Assert.Equal(["imported"], Directory.GetFileSystemEntries(_root.Path).Select(Path.GetFileName));

        await using var second = await PlanServerProcess.StartAsync(dir);
        (clusters, snapshots, operations) = Clients(second);
        Assert.Equal(adminToken, second.AdminToken);
        Assert.Equal(ca, await File.ReadAllBytesAsync(second.CaFile!));
        var again = await clusters.GetClusterAsync(new GetClusterRequest { Name = "prod", IncludeBootstrapToken = true }).ResponseAsync.DefaultTimeout();
        Assert.Equal(cluster.Cluster, again.Cluster);
        Assert.Equal(created.BootstrapToken, again.BootstrapToken);
        Assert.Equal(
            nodes.Select(n => (n.Name, n.InitNode, string.Join(',', n.Roles))),
            (await clusters.ListNodesAsync(new ListNodesRequest { Cluster = "prod" }).ResponseAsync.DefaultTimeout()).Nodes.Select(n => (n.Name, n.InitNode, string.Join(',', n.Roles))));
        var local = Assert.Single(catalog, s => s.Storage == StorageKind.Local);
        Assert.Equal(local, Assert.Single((await snapshots.ListSnapshotsAsync(new ListSnapshotsRequest { Cluster = "prod" }).ResponseAsync.DefaultTimeout()).Snapshots, s => s.Storage == StorageKind.Local));
        var resumed = (await operations.GetOperationAsync(new GetOperationRequest { Id = active.Id }).ResponseAsync.DefaultTimeout()).Operation;
        Assert.Equal(active.Id, resumed.Id);
        Assert.False(resumed.Phase is OperationPhase.Finished or OperationPhase.Failed, $"operation {resumed.Phase}");
        // The agent's credential from the first server: its plan, with the operation's step in it.
        var plan = await SimulatedAgent.Connect(second.Address, second.CaFile, "prod", "node-1", agent.Credential).GetPlanAsync();
        Assert.Equal(active.Id, plan.Operation.OperationId);
        // The S3 secret came along (agents get it in their plans).
        Assert.Equal("secret-that-must-survive", plan.SteadyState.SnapshotSettings.S3.Credentials.StaticKeys.SecretKey);
    }

    /// <summary>
    /// The move from one server to replicas: an export of a SQLite server imported into an empty
    /// prefix of a real etcd, a replica started there on a new data dir (it takes the admin token and
    /// CA from the store), the agent's credential working on it, the etcd store's own export equal in
    /// its records, and a second import into the now used prefix refused.
    /// </summary>
    [Fact]
    public async Task ExportFromSqlite_ImportIntoEtcd_AReplicaThereGoesOnAndTheStoresExportMatches()
    {
        await using var etcd = await NodeAgent.Testing.Etcd.EtcdServer.StartAsync().WithTimeout(TestTimeouts.Slow);
        string[] store = ["--store", "etcd", "--store-endpoints", etcd.ClientUrl, "--store-prefix", "/fleet"];
        await using var first = await PlanServerProcess.StartAsync();
        var (clusters, snapshots, _) = Clients(first);
        var created = await clusters.CreateClusterAsync(new CreateClusterRequest { Name = "prod", Runtime = Runtime.Etcd }).ResponseAsync.DefaultTimeout();
        var agent = await SimulatedAgent.RegisterAsync(first.Address, first.CaFile, "prod", "node-1", created.BootstrapToken, NodeRole.Etcd);
        await ReportLocalSnapshotAsync(agent);
        var export = (await CommandRunner.RunAsync(RepoPaths.Executable("plan-server"), ["export", "--data-dir", first.DataDir])).EnsureSuccess();
        var adminToken = first.AdminToken;
        var ca = await File.ReadAllBytesAsync(first.CaFile!);
        await first.DisposeAsync();

        var import = (await CommandRunner.RunAsync(RepoPaths.Executable("plan-server"), ["import", .. store], standardInput: export.StandardOutput)).EnsureSuccess();
        Assert.Contains("imported 1 clusters, 1 nodes, 0 operations, 1 catalog entries into the etcd store under /fleet", import.StandardError, StringComparison.Ordinal);
        await using var replica = await PlanServerProcess.StartAsync(_root.Combine("replica"), store);
        Assert.Equal(adminToken, replica.AdminToken);
        Assert.Equal(ca, await File.ReadAllBytesAsync(replica.CaFile!));
        (clusters, snapshots, _) = Clients(replica);
        Assert.Equal(created.BootstrapToken, (await clusters.GetClusterAsync(new GetClusterRequest { Name = "prod", IncludeBootstrapToken = true }).ResponseAsync.DefaultTimeout()).BootstrapToken);
        Assert.Single((await snapshots.ListSnapshotsAsync(new ListSnapshotsRequest { Cluster = "prod" }).ResponseAsync.DefaultTimeout()).Snapshots, s => s.Name == SnapshotName);
        var plan = await SimulatedAgent.Connect(replica.Address, replica.CaFile, "prod", "node-1", agent.Credential).GetPlanAsync();
        Assert.NotEmpty(plan.Checksum);

        var again = (await CommandRunner.RunAsync(RepoPaths.Executable("plan-server"), ["export", .. store])).EnsureSuccess();
        Assert.Equal(Records(export.StandardOutput), Records(again.StandardOutput));
        var twice = await CommandRunner.RunAsync(RepoPaths.Executable("plan-server"), ["import", .. store], standardInput: export.StandardOutput);
        Assert.Equal(1, twice.ExitCode);
        Assert.Contains("keys under /fleet/: import only into an empty prefix (nothing was changed)", twice.StandardError, StringComparison.Ordinal);
    }

    /// <summary>An export's records and files, without the time it was made (a node's last-seen moves while a replica runs).</summary>
    private static string Records(string export)
    {
        var document = System.Text.Json.Nodes.JsonNode.Parse(export)!.AsObject();
        document.Remove("exportedAt");
        foreach (var node in document["nodes"]!.AsArray())
        {
            node!.AsObject().Remove("lastSeen");
        }
        return document.ToJsonString();
    }

    [Fact]
    public async Task Import_IntoADirThatIsNotEmpty_Exits1AndChangesNothing()
    {
        var dir = _root.Combine("busy");
        Directory.CreateDirectory(dir);
        await File.WriteAllTextAsync(Path.Combine(dir, "keep.txt"), "someone's");

        var import = await CommandRunner.RunAsync(RepoPaths.Executable("plan-server"), ["import", "--data-dir", dir],
            standardInput: """{"format":"nodeagent-plan-server-state","version":1}""");

        Assert.Equal(1, import.ExitCode);
        Assert.Equal($"plan-server: import failed: {dir} is not empty: import only into a new or empty data dir (nothing was changed)", import.StandardError.Trim());
        Assert.Equal(["keep.txt"], Directory.GetFileSystemEntries(dir).Select(Path.GetFileName));
    }

    [Theory]
    [InlineData("not json at all", "the input is not a plan-server export")]
    [InlineData("""{"format":"something-else","version":1}""", "not a plan-server export this version reads (format \"something-else\" version 1")]
    [InlineData("""{"format":"nodeagent-plan-server-state","version":1,"files":[{"path":"../../etc/passwd","base64":""}]}""", "the export holds a file this version does not write: ../../etc/passwd")]
    public async Task Import_InputThatIsNotAnExport_Exits1AndLeavesNoDataDir(string input, string expected)
    {
        var dir = _root.Combine("new");

        var import = await CommandRunner.RunAsync(RepoPaths.Executable("plan-server"), ["import", "--data-dir", dir], standardInput: input);

        Assert.Equal(1, import.ExitCode);
        Assert.Contains(expected, import.StandardError, StringComparison.Ordinal);
        Assert.False(Directory.Exists(dir));
    }

    /// <summary>A failure half-way through the records (here: a cluster twice) leaves neither the data dir nor the staging dir beside it.</summary>
    [Fact]
    public async Task Import_FailsHalfWay_LeavesNoDataDirAndNoStagingDir()
    {
        var dir = _root.Combine("half");
        const string Cluster = """{"name":"a","runtime":0,"kubernetesVersion":"","clusterConfiguration":"","snapshotSettings":"","tokenHash":"h","bootstrapToken":"t","createdAt":"2026-01-01T00:00:00Z","updatedAt":"2026-01-01T00:00:00Z"}""";

        var import = await CommandRunner.RunAsync(RepoPaths.Executable("plan-server"), ["import", "--data-dir", dir],
            standardInput: $$"""{"format":"nodeagent-plan-server-state","version":1,"clusters":[{{Cluster}},{{Cluster}}]}""");

        Assert.Equal(1, import.ExitCode);
        Assert.Contains("the export holds cluster \"a\" twice", import.StandardError, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFileSystemEntries(_root.Path));
    }

    /// <summary>-o writes the file whole (as FILE.part, then renamed) with mode 0600, and never over a file that exists.</summary>
    [Fact]
    public async Task ExportToAFile_Mode0600AndNoPartLeft_AnExistingFileIsNotOverwritten()
    {
        await using var server = await PlanServerProcess.StartAsync();
        var file = _root.Combine("state.json");

        (await CommandRunner.RunAsync(RepoPaths.Executable("plan-server"), ["export", "--data-dir", server.DataDir, "-o", file])).EnsureSuccess();
        var again = await CommandRunner.RunAsync(RepoPaths.Executable("plan-server"), ["export", "--data-dir", server.DataDir, "-o", file]);

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        Assert.Contains("\"format\": \"nodeagent-plan-server-state\"", await File.ReadAllTextAsync(file), StringComparison.Ordinal);
        Assert.Equal(1, again.ExitCode);
        Assert.Equal($"plan-server: export failed: {file} exists; give a new file", again.StandardError.Trim());
        Assert.Equal(["state.json"], Directory.GetFileSystemEntries(_root.Path).Select(Path.GetFileName));
    }

    [Fact]
    public async Task Export_DirWithoutADatabase_Exits1NamingIt()
    {
        var export = await CommandRunner.RunAsync(RepoPaths.Executable("plan-server"), ["export", "--data-dir", _root.Path]);

        Assert.Equal(1, export.ExitCode);
        Assert.Equal($"plan-server: export failed: {_root.Path} holds no plan-server database (plan-server.db)", export.StandardError.Trim());
        Assert.Empty(export.StandardOutput);
    }

    private static (ClusterService.ClusterServiceClient, SnapshotService.SnapshotServiceClient, OperationService.OperationServiceClient) Clients(PlanServerProcess server)
    {
        var admin = server.CreateAdminChannel();
        return (new ClusterService.ClusterServiceClient(admin), new SnapshotService.SnapshotServiceClient(admin), new OperationService.OperationServiceClient(admin));
    }

    private static async Task ReportLocalSnapshotAsync(SimulatedAgent agent)
    {
        var plan = await agent.GetPlanAsync();
        await agent.ReportAsync(new ReportStatusRequest
        {
            AppliedChecksum = plan.Checksum,
            Inventory = new SnapshotInventory
            {
                Snapshots =
                {
                    new Snapshot
                    {
                        Name = SnapshotName, Storage = StorageKind.Local, Location = "file:///var/lib/rancher/etcd/snapshots/" + SnapshotName, Size = 4096,
                        Sha256 = new string('a', 64), Status = SnapshotStatus.Successful, CreatedAt = Timestamp.FromDateTimeOffset(DateTimeOffset.FromUnixTimeSeconds(1_700_000_000)),
                        ClusterConfiguration = "cluster-cidr: 10.42.0.0/16",
                    },
                },
            },
        });
    }
}
