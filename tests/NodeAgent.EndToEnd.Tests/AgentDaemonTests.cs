using NodeAgent.Contracts.V1;
using NodeAgent.Testing;
using NodeAgent.Testing.Agent;
using NodeAgent.Testing.Ordering;
using NodeAgent.Testing.PlanServer;
using NodeAgent.Testing.Processes;

namespace NodeAgent.EndToEnd.Tests;

/// <summary>The real node-agent process against the real plan-server process.</summary>
[ExpectedDuration(90)]
public sealed class AgentDaemonTests : IAsyncLifetime
{
    private PlanServerProcess _server = null!;
    private ClusterService.ClusterServiceClient _clusters = null!;
    private string _bootstrapToken = "";

    public async Task InitializeAsync()
    {
        _server = await PlanServerProcess.StartAsync().WithTimeout(TestTimeouts.Slow);
        _clusters = new ClusterService.ClusterServiceClient(_server.CreateAdminChannel());
        _bootstrapToken = (await _clusters.CreateClusterAsync(new CreateClusterRequest { Name = "prod", Runtime = Contracts.V1.Runtime.Etcd }).ResponseAsync.DefaultTimeout()).BootstrapToken;
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Run_ValidConfig_RegistersNotifiesReadyAndAppliesItsPlan()
    {
        await using var agent = AgentProcess.Start(Config("node-1"));

        await agent.Notify.WaitForAsync("READY=1", TestTimeouts.Slow);
        var node = await WaitForNodeAsync("node-1", n => n.AppliedChecksum.Length > 0 && n.AppliedChecksum == n.DesiredChecksum);

        Assert.True(node.InitNode);
        Assert.Equal([NodeRole.Etcd], node.Roles);
        var credential = Path.Combine(agent.StateDir, "credential.json");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(credential));
        Assert.DoesNotContain(_bootstrapToken, agent.Process.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(File.ReadAllText(credential).Split('"')[^2], agent.Process.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_Sigterm_NotifiesStoppingAndExitsZero()
    {
        await using var agent = AgentProcess.Start(Config("node-1"));
        await agent.Notify.WaitForAsync("READY=1", TestTimeouts.Slow);
        // Idle: its plan applied and reported, the agent waits in its long-poll.
        await WaitForNodeAsync("node-1", n => n.AppliedChecksum.Length > 0 && n.AppliedChecksum == n.DesiredChecksum);

        await agent.Process.StopAsync(TimeSpan.FromSeconds(20)).WithTimeout(TestTimeouts.Slow);

        Assert.Contains("STOPPING=1", agent.Notify.Drain());
        Assert.Equal(0, agent.Process.ExitCode);
        // A clean stop is no failure: the long-poll cancelled on the wire must not look like one.
        Assert.DoesNotContain("BackgroundService failed", agent.Process.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("IHost instance is stopping", agent.Process.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("fail:", agent.Process.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("crit:", agent.Process.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_Restarted_KeepsItsCredentialInsteadOfRegisteringAgain()
    {
        var first = AgentProcess.Start(Config("node-1"));
        await first.Notify.WaitForAsync("READY=1", TestTimeouts.Slow);
        var dir = await first.StopKeepingStateAsync();
        var credential = File.ReadAllText(Path.Combine(dir.Path, "state", "credential.json"));

        // Without the token the agent can only come up with the credential it kept.
        await using var second = AgentProcess.Start(Config("node-1", token: null), dir);
        await second.Notify.WaitForAsync("READY=1", TestTimeouts.Slow);

        Assert.Equal(credential, File.ReadAllText(Path.Combine(dir.Path, "state", "credential.json")));
        dir.Dispose();
    }

    [Fact]
    public async Task Run_WrongBootstrapToken_ExitsOneWithReasonAndNeverReady()
    {
        await using var agent = AgentProcess.Start(Config("node-1", token: "na-bootstrap-wrong"));

        using var cts = new CancellationTokenSource(TestTimeouts.Slow);
        await agent.Process.WaitForExitAsync(cts.Token);

        Assert.Equal(1, agent.Process.ExitCode);
        Assert.Contains("refused to register node 'node-1'", agent.Process.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("READY=1", agent.Notify.Drain());
    }

    [Fact]
    public async Task Run_ConfigReadableByOthers_ExitsTwoBeforeDoingAnything()
    {
        using var dir = new TempDir();
        var path = dir.Combine("config.yaml");
        File.WriteAllText(path, $"server: {_server.Address}\ncluster: prod\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead);

        var result = await CommandRunner.RunAsync(RepoPaths.Executable("node-agent"), ["run", "--config", path]).DefaultTimeout();

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("chmod 0600", result.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_SnapshotWhileEtcdIsAway_ReportsWhyAndTheOperationFails()
    {
        await using var agent = AgentProcess.Start(Config("node-1"));
        await agent.Notify.WaitForAsync("READY=1", TestTimeouts.Slow);
        var admin = _server.CreateAdminChannel();

        var op = (await new SnapshotService.SnapshotServiceClient(admin).CreateSnapshotAsync(new CreateSnapshotRequest { Cluster = "prod" }).ResponseAsync.DefaultTimeout()).Operation;
        var ended = await new OperationService.OperationServiceClient(admin).WaitForEndAsync(op.Id);

        Assert.Equal(OperationPhase.Failed, ended.Phase);
        Assert.Equal("node-1", ended.Failure.Node);
        Assert.Equal("started/save-snapshot", ended.Failure.InstructionId);
        // No etcd on this node: the save fails at once, naming the client certificate K3s would have written.
        Assert.Contains("/var/lib/rancher/etcd/server/tls/etcd/server-ca.crt", ended.Failure.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// The state dir cannot hold step markers (a file stands where the markers dir goes, as a full
    /// or broken disk would refuse it): the step is reported FAILED with the reason and logged, and
    /// once the fault is gone the next operation runs its step, without an agent restart.
    /// </summary>
    [Fact]
    public async Task Run_StateDirUnwritable_ReportsTheStepFailedLogsItAndRecoversWhenFixed()
    {
        await using var agent = AgentProcess.Start(Config("node-1"));
        await agent.Notify.WaitForAsync("READY=1", TestTimeouts.Slow);
        var admin = _server.CreateAdminChannel();
        var snapshots = new SnapshotService.SnapshotServiceClient(admin);
        var operations = new OperationService.OperationServiceClient(admin);
        var markers = Path.Combine(agent.StateDir, "steps");
        if (Directory.Exists(markers))
        {
            Directory.Delete(markers, recursive: true);
        }
        File.WriteAllText(markers, "not a directory");

        var op = (await snapshots.CreateSnapshotAsync(new CreateSnapshotRequest { Cluster = "prod" }).ResponseAsync.DefaultTimeout()).Operation;
        var ended = await operations.WaitForEndAsync(op.Id, () => "agent output:\n" + agent.Process.Output);

        Assert.Equal(OperationPhase.Failed, ended.Phase);
        Assert.Equal("started/save-snapshot", ended.Failure.InstructionId);
        Assert.Contains("could not record the step in its state dir", ended.Failure.Message, StringComparison.Ordinal);
        Assert.Contains(markers, ended.Failure.Message, StringComparison.Ordinal);
        Assert.Contains("could not record the step in its state dir", agent.Process.Output, StringComparison.Ordinal);

        File.Delete(markers);
        var again = (await snapshots.CreateSnapshotAsync(new CreateSnapshotRequest { Cluster = "prod" }).ResponseAsync.DefaultTimeout()).Operation;
        var second = await operations.WaitForEndAsync(again.Id, () => "agent output:\n" + agent.Process.Output);

        // The step ran this time: it fails only because this node has no etcd.
        Assert.Equal(OperationPhase.Failed, second.Phase);
        Assert.Contains("/var/lib/rancher/etcd/server/tls/etcd/server-ca.crt", second.Failure.Message, StringComparison.Ordinal);
        Assert.True(Directory.Exists(markers));
    }

    private Dictionary<string, string> Config(string node, string? token = "")
    {
        var config = new Dictionary<string, string>
        {
            ["server"] = _server.Address.ToString(),
            ["server-ca"] = _server.CaFile!,
            ["cluster"] = "prod",
            ["node-name"] = node,
            ["runtime"] = "etcd",
            ["poll-wait"] = "20s",
        };
        if (token is not null)
        {
            config["token"] = token.Length == 0 ? _bootstrapToken : token;
        }
        return config;
    }

    private async Task<Node> WaitForNodeAsync(string name, Func<Node, bool> condition)
    {
        using var cts = new CancellationTokenSource(TestTimeouts.Slow);
        while (true)
        {
            var nodes = await _clusters.ListNodesAsync(new ListNodesRequest { Cluster = "prod" }, cancellationToken: cts.Token).ResponseAsync;
            if (nodes.Nodes.FirstOrDefault(n => n.Name == name) is { } node && condition(node))
            {
                return node;
            }
            await Task.Delay(TimeSpan.FromMilliseconds(100), cts.Token);
        }
    }
}
