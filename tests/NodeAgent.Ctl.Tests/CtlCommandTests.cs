using System.Text.Json;
using Google.Protobuf.WellKnownTypes;
using NodeAgent.Contracts.V1;
using NodeAgent.Testing;
using NodeAgent.Testing.Agent;
using NodeAgent.Testing.PlanServer;
using NodeAgent.Testing.Processes;

namespace NodeAgent.Ctl.Tests;

/// <summary>The real nodeagentctl executable against the real plan-server process.</summary>
public sealed class CtlCommandTests : IAsyncLifetime
{
    private PlanServerProcess _server = null!;

    public async Task InitializeAsync() => _server = await PlanServerProcess.StartAsync().WithTimeout(TestTimeouts.Slow);

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task ClusterCreate_Json_IncludesTheBootstrapTokenAndDefaults()
    {
        var result = (await Ctl("cluster", "create", "prod", "--runtime", "k3s", "--kubernetes-version", "v1.30.4+k3s1", "-o", "json")).EnsureSuccess();

        using var json = JsonDocument.Parse(result.StandardOutput);
        Assert.StartsWith("na-bootstrap-", json.RootElement.GetProperty("bootstrapToken").GetString(), StringComparison.Ordinal);
        var settings = json.RootElement.GetProperty("cluster").GetProperty("snapshotSettings");
        Assert.Equal("0 */5 * * *", settings.GetProperty("cron").GetString());
        Assert.Equal(5, settings.GetProperty("retention").GetInt32());
    }

    [Fact]
    public async Task ClusterLs_Table_ShowsColumnsAndRows()
    {
        (await Ctl("cluster", "create", "prod", "--runtime", "rke2", "--retention", "7", "--cron", "0 3 * * *")).EnsureSuccess();
        (await Ctl("cluster", "create", "edge", "--runtime", "etcd", "--recurring", "false")).EnsureSuccess();

        var table = (await Ctl("cluster", "ls")).EnsureSuccess().StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries);

        Assert.Equal(["NAME", "RUNTIME", "KUBERNETES", "NODES", "SCHEDULE", "RETENTION", "TARGET"], table[0].Split(' ', StringSplitOptions.RemoveEmptyEntries));
        Assert.Matches(@"^edge\s+etcd\s+0\s+off\s+5\s+local$", table[1]);
        Assert.Matches(@"^prod\s+rke2\s+0\s+0 3 \* \* \*\s+7\s+local$", table[2]);
    }

    [Fact]
    public async Task SetSnapshotConfig_S3Flags_KeepOtherSettingsAndTakeTheSecretFromTheEnvironment()
    {
        (await Ctl("cluster", "create", "prod", "--runtime", "k3s", "--retention", "9")).EnsureSuccess();

        var result = (await Ctl(["cluster", "set-snapshot-config", "prod", "--s3-bucket", "backups", "--s3-endpoint", "127.0.0.1:9000",
            "--s3-access-key", "AK", "-o", "yaml"], new Dictionary<string, string?> { ["AWS_SECRET_ACCESS_KEY"] = "the-secret" })).EnsureSuccess();

        Assert.Contains("bucket: backups", result.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("retention: 9", result.StandardOutput, StringComparison.Ordinal);
        Assert.DoesNotContain("the-secret", result.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SnapshotLs_ServerCannotListS3_AnswersWithTheWarningOnStderrAndExitsZero()
    {
        var endpoint = $"127.0.0.1:{FreePorts.Next()}";
        (await Ctl("cluster", "create", "prod", "--runtime", "k3s")).EnsureSuccess();
        (await Ctl(["cluster", "set-snapshot-config", "prod", "--s3-bucket", "backups", "--s3-endpoint", endpoint, "--s3-insecure", "--s3-timeout", "30",
            "--s3-access-key", "AK"], new Dictionary<string, string?> { ["AWS_SECRET_ACCESS_KEY"] = "the-secret" })).EnsureSuccess();

        var listed = (await Ctl("snapshot", "ls", "--cluster", "prod")).EnsureSuccess();

        var warning = listed.StandardError.Trim();
        Assert.StartsWith($"nodeagentctl: warning: the server could not list s3://backups/ at {endpoint}: listing s3://backups/ at {endpoint} failed: S3 at {endpoint} ", warning, StringComparison.Ordinal);
        Assert.Contains($"is not reachable: Connection refused ({endpoint})", warning, StringComparison.Ordinal);
        Assert.EndsWith("; no S3 copies are known until it can", warning, StringComparison.Ordinal);
        Assert.DoesNotContain("warning", listed.StandardOutput, StringComparison.Ordinal);
        var got = (await Ctl("cluster", "get", "prod")).EnsureSuccess().StandardOutput;
        Assert.Contains($"S3 LISTING:           s3://backups/ at {endpoint}: failed ", got, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SnapshotSaveWait_OperationFails_ExitsNonZeroAndSaysWhy()
    {
        var created = JsonDocument.Parse((await Ctl("cluster", "create", "prod", "--runtime", "etcd", "-o", "json")).EnsureSuccess().StandardOutput);
        var token = created.RootElement.GetProperty("bootstrapToken").GetString()!;
        // A real agent whose etcd endpoint is closed: the save step fails and the operation ends Failed.
        await using var agent = AgentProcess.Start(new Dictionary<string, string>
        {
            ["server"] = _server.Address.ToString(), ["server-ca"] = _server.CaFile!, ["cluster"] = "prod",
            ["node-name"] = "node-1", ["runtime"] = "etcd", ["token"] = token, ["etcd-endpoints"] = "http://127.0.0.1:1",
        });
        await agent.Notify.WaitForAsync("READY=1", TestTimeouts.Slow);

        var result = await Ctl("snapshot", "save", "--cluster", "prod", "--wait");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains(": Failed", result.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("failed in Started on node node-1, step started/save-snapshot", result.StandardOutput, StringComparison.Ordinal);
        var ops = JsonDocument.Parse((await Ctl("operation", "ls", "--cluster", "prod", "-o", "json")).EnsureSuccess().StandardOutput);
        Assert.Equal("OPERATION_PHASE_FAILED", ops.RootElement[0].GetProperty("phase").GetString());
    }

    [Fact]
    public async Task SnapshotDelete_NoTerminalAndNoYes_RefusesWithoutCallingTheServer()
    {
        (await Ctl("cluster", "create", "prod", "--runtime", "k3s")).EnsureSuccess();

        var result = await Ctl("snapshot", "delete", "on-demand-node-1-1700000000", "--cluster", "prod");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("pass --yes", result.StandardError, StringComparison.Ordinal);
        var ops = (await Ctl("operation", "ls", "--cluster", "prod")).EnsureSuccess().StandardOutput.Trim().Split('\n');
        Assert.Single(ops);
    }

    [Fact]
    public async Task Restore_SnapshotOfAnotherCluster_RefusedWithoutTheFlag_ConfirmationNamesTheClusterWithIt()
    {
        const string name = "on-demand-node-1-1700000000";
        var created = JsonDocument.Parse((await Ctl("cluster", "create", "prod", "--runtime", "k3s", "-o", "json")).EnsureSuccess().StandardOutput);
        var registered = await new AgentService.AgentServiceClient(_server.CreateChannel()).RegisterAsync(new RegisterRequest
        {
            Cluster = "prod", Node = "node-1", BootstrapToken = created.RootElement.GetProperty("bootstrapToken").GetString()!, Roles = { NodeRole.Etcd },
        }).ResponseAsync.DefaultTimeout();
        // The sidecar of a snapshot in this node's dir says it is another cluster's (a shared S3 folder).
        await new AgentService.AgentServiceClient(_server.CreateChannel(registered.NodeCredential)).ReportStatusAsync(new ReportStatusRequest
        {
            Cluster = "prod", Node = "node-1",
            Inventory = new SnapshotInventory
            {
                Snapshots =
                {
                    new Snapshot
                    {
                        Name = name, Cluster = "prod-other", Storage = StorageKind.Local, Location = "file:///var/lib/rancher/k3s/server/db/snapshots/" + name,
                        Sha256 = new string('a', 64), Status = SnapshotStatus.Successful, CreatedAt = Timestamp.FromDateTimeOffset(DateTimeOffset.FromUnixTimeSeconds(1_700_000_000)),
                    },
                },
            },
        }).ResponseAsync.DefaultTimeout();

        var table = (await Ctl("snapshot", "ls", "--cluster", "prod")).EnsureSuccess().StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var refused = await Ctl("restore", name, "--cluster", "prod", "--yes");
        var unconfirmed = await Ctl("restore", name, "--cluster", "prod", "--allow-other-cluster");

        Assert.Equal(["NAME", "NODE", "CLUSTER"], table[0].Split(' ', StringSplitOptions.RemoveEmptyEntries)[..3]);
        Assert.Matches($@"^{name}\s+node-1\s+prod-other\s", table[1]);
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains($"FailedPrecondition: snapshot '{name}' belongs to cluster 'prod-other', not 'prod'", refused.StandardError, StringComparison.Ordinal);
        Assert.Contains("--allow-other-cluster", refused.StandardError, StringComparison.Ordinal);
        Assert.Equal(1, unconfirmed.ExitCode);
        Assert.Contains($"restore its etcd from {name}, a snapshot of another cluster, prod-other?", unconfirmed.StandardError, StringComparison.Ordinal);
        Assert.Contains("pass --yes", unconfirmed.StandardError, StringComparison.Ordinal);
        Assert.Single((await Ctl("operation", "ls", "--cluster", "prod")).EnsureSuccess().StandardOutput.Trim().Split('\n'));
    }

    [Theory]
    [InlineData(new[] { "cluster", "get", "nope" }, 1, "NotFound: cluster 'nope' does not exist")]
    [InlineData(new[] { "cluster", "create", "Bad_Name", "--runtime", "k3s" }, 1, "must be a DNS label")]
    [InlineData(new[] { "snapshot", "ls", "--cluster", "nope" }, 1, "does not exist")]
    [InlineData(new[] { "restore", "on-demand-n1-1700000000", "--cluster", "nope", "--yes" }, 1, "NotFound: cluster 'nope' does not exist")]
    public async Task BadRequest_ExitCodeAndOneClearLine(string[] args, int code, string expected)
    {
        var result = await Ctl(args);

        Assert.Equal(code, result.ExitCode);
        Assert.Contains(expected, result.StandardError, StringComparison.Ordinal);
        Assert.Single(result.StandardError.Trim().Split('\n'));
    }

    [Fact]
    public async Task NodeReset_Yes_RevokesTheCredentialAndTheNameCanBeClaimed()
    {
        var created = JsonDocument.Parse((await Ctl("cluster", "create", "prod", "--runtime", "etcd", "-o", "json")).EnsureSuccess().StandardOutput);
        var register = new RegisterRequest { Cluster = "prod", Node = "node-1", BootstrapToken = created.RootElement.GetProperty("bootstrapToken").GetString()! };
        using var anonymous = _server.CreateChannel();
        var agents = new AgentService.AgentServiceClient(anonymous);
        await agents.RegisterAsync(register).ResponseAsync.DefaultTimeout();

        var refused = await Ctl("node", "reset", "node-1", "--cluster", "prod");
        var result = (await Ctl("node", "reset", "node-1", "--cluster", "prod", "--yes")).EnsureSuccess();
        var claimed = await agents.RegisterAsync(register).ResponseAsync.DefaultTimeout();

        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("Revoke the credential of node node-1 in cluster prod?", refused.StandardError, StringComparison.Ordinal);
        Assert.Equal("node node-1 of cluster prod: credential revoked; the next agent to register the name with the bootstrap token takes it\n", result.StandardOutput);
        Assert.StartsWith("na-node-", claimed.NodeCredential, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NodeRm_Yes_RemovesTheNode_ItsAgentIsRefused_NodeLsNoLongerListsIt()
    {
        var created = JsonDocument.Parse((await Ctl("cluster", "create", "prod", "--runtime", "etcd", "-o", "json")).EnsureSuccess().StandardOutput);
        var register = new RegisterRequest
        {
            Cluster = "prod", Node = "node-1", BootstrapToken = created.RootElement.GetProperty("bootstrapToken").GetString()!,
            EtcdMemberName = "m1", EtcdPeerUrls = { "http://127.0.0.1:12380" },
        };
        using var anonymous = _server.CreateChannel();
        var registered = await new AgentService.AgentServiceClient(anonymous).RegisterAsync(register).ResponseAsync.DefaultTimeout();
        var listed = (await Ctl("node", "ls", "--cluster", "prod")).EnsureSuccess().StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries);

        var refused = await Ctl("node", "rm", "node-1", "--cluster", "prod");
        var result = (await Ctl("node", "rm", "node-1", "--cluster", "prod", "--yes")).EnsureSuccess();
        var again = await Ctl("node", "rm", "node-1", "--cluster", "prod", "--yes");

        Assert.Contains("MEMBER", listed[0], StringComparison.Ordinal);
        Assert.Contains("m1=http://127.0.0.1:12380", listed[1], StringComparison.Ordinal);
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("Remove node node-1 from cluster prod for good?", refused.StandardError, StringComparison.Ordinal);
        Assert.Equal("node node-1 removed from cluster prod: credential revoked, plan gone, its local snapshots out of the catalog (S3 copies stay)\n", result.StandardOutput);
        Assert.Single((await Ctl("node", "ls", "--cluster", "prod")).EnsureSuccess().StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(1, again.ExitCode);
        Assert.Contains("node 'node-1' is not registered in cluster 'prod'", again.StandardError, StringComparison.Ordinal);
        using var asNode = _server.CreateChannel(registered.NodeCredential);
        var poll = await Assert.ThrowsAsync<Grpc.Core.RpcException>(() => new AgentService.AgentServiceClient(asNode).GetPlanAsync(new GetPlanRequest { Cluster = "prod", Node = "node-1" }).ResponseAsync).DefaultTimeout();
        Assert.Equal(Grpc.Core.StatusCode.Unauthenticated, poll.StatusCode);
    }

    [Fact]
    public async Task NodeLs_RuntimeFacts_ShowsAddressAndVersion_AndWarnsWhenTheRuntimesOwnSnapshotsAreOn()
    {
        var created = JsonDocument.Parse((await Ctl("cluster", "create", "prod", "--runtime", "k3s", "-o", "json")).EnsureSuccess().StandardOutput);
        using var anonymous = _server.CreateChannel();
        var registered = await new AgentService.AgentServiceClient(anonymous).RegisterAsync(new RegisterRequest
        {
            Cluster = "prod", Node = "node-1", BootstrapToken = created.RootElement.GetProperty("bootstrapToken").GetString()!, AgentVersion = "0.9.0",
        }).ResponseAsync.DefaultTimeout();
        using var asNode = _server.CreateChannel(registered.NodeCredential);
        var quiet = (await Ctl("node", "ls", "--cluster", "prod")).EnsureSuccess();
        await new AgentService.AgentServiceClient(asNode).ReportStatusAsync(new ReportStatusRequest
        {
            Cluster = "prod", Node = "node-1",
            RuntimeFacts = new RuntimeFacts { AdvertiseAddress = "10.0.0.1", RuntimeVersion = "v1.30.4+k3s1", RuntimeSnapshotsEnabled = true },
        }).ResponseAsync.DefaultTimeout();

        var result = (await Ctl("node", "ls", "--cluster", "prod")).EnsureSuccess();

        var table = result.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Matches(@"\bADDRESS\s+VERSION\s+AGENT\b", table[0]);
        Assert.Matches(@"\b10\.0\.0\.1\s+v1\.30\.4\+k3s1\s+0\.9\.0\b", table[1]);
        Assert.Equal("", quiet.StandardError);
        Assert.Equal("nodeagentctl: warning: K3s/RKE2's own scheduled etcd snapshots are on for node-1: the runtime and NodeAgent then both save into the same snapshot dir "
            + "and prune the same name prefix by their own retention, so each may delete the other's snapshots; turn the runtime's off with 'etcd-disable-snapshots: true' "
            + "in /etc/rancher/<k3s|rke2>/config.yaml and restart the runtime\n", result.StandardError);
    }

    [Fact]
    public async Task WrongToken_Unauthenticated_ExitOne()
    {
        var result = await Ctl(["cluster", "ls"], new Dictionary<string, string?> { ["NODEAGENT_TOKEN"] = "na-admin-wrong" });

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("did not accept the token", result.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NoServerConfigured_ExitTwoWithWhereToSetIt()
    {
        var result = await CommandRunner.RunAsync(RepoPaths.Executable("nodeagentctl"), ["cluster", "ls"],
            new Dictionary<string, string?> { ["NODEAGENT_SERVER"] = null, ["NODEAGENT_TOKEN"] = null, ["HOME"] = Path.GetTempPath() }).DefaultTimeout();

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("no plan server: pass --server, set NODEAGENT_SERVER", result.StandardError, StringComparison.Ordinal);
    }

    private Task<CommandResult> Ctl(params string[] args) => Ctl(args, null);

    private Task<CommandResult> Ctl(string[] args, IReadOnlyDictionary<string, string?>? extra)
    {
        var env = new Dictionary<string, string?>
        {
            ["NODEAGENT_SERVER"] = _server.Address.ToString(),
            ["NODEAGENT_TOKEN"] = _server.AdminToken,
            ["NODEAGENT_CA_FILE"] = _server.CaFile,
            ["HOME"] = Path.GetTempPath(),
        };
        foreach (var (key, value) in extra ?? new Dictionary<string, string?>())
        {
            env[key] = value;
        }
        return CommandRunner.RunAsync(RepoPaths.Executable("nodeagentctl"), args, env, timeout: TestTimeouts.Slow);
    }
}
