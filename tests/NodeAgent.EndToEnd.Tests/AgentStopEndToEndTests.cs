using System.Security.Cryptography;
using NodeAgent.Contracts.V1;
using NodeAgent.Testing;
using NodeAgent.Testing.Agent;
using NodeAgent.Testing.Etcd;
using NodeAgent.Testing.PlanServer;
using NodeAgent.Testing.S3;

namespace NodeAgent.EndToEnd.Tests;

/// <summary>
/// A restore with every part real (plan-server process, 3-member etcd run by its scripts, three
/// node-agent processes, Ceph RGW) while the init node's agent is stopped as systemd stops it on a
/// restart or an upgrade (SIGTERM), or dies (SIGKILL). A gate in node-1's stop command (Shutdown)
/// or etcdctl (Restore) holds the step in hand until the test lets it go, so the signal lands in
/// the middle of that very step.
/// </summary>
public sealed class AgentStopEndToEndTests(SharedCeph servers) : IClassFixture<SharedCeph>, IAsyncLifetime
{
    private static readonly KeyValuePair<string, string>[] Original =
        [new("/app/a", "1"), new("/app/b", "2"), new("/app/c", "3")];

    private readonly List<TempDir> _dirs = [];
    private readonly List<AgentProcess> _agents = [];
    private string _gate = "";
    private PlanServerProcess _server = null!;
    private ScriptedEtcdCluster _etcd = null!;
    private string _bucket = "";
    private ClusterService.ClusterServiceClient _clusters = null!;
    private SnapshotService.SnapshotServiceClient _snapshots = null!;
    private OperationService.OperationServiceClient _operations = null!;

    private string Held => Path.Combine(_gate, "held");

    public async Task InitializeAsync()
    {
        var gate = new TempDir("nodeagent-gate-");
        _dirs.Add(gate);
        _gate = gate.Path;
        WriteGate();
        _server = await PlanServerProcess.StartAsync().WithTimeout(TestTimeouts.Slow);
        _etcd = await ScriptedEtcdCluster.StartAsync(3).WithTimeout(TestTimeouts.Slow);
        _bucket = "stop-" + Guid.NewGuid().ToString("N")[..12];
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
            var dir = new TempDir("nodeagent-node-");
            _dirs.Add(dir);
            _agents.Add(AgentProcess.Start(AgentConfig($"node-{i + 1}", i, token, dir), dir));
        }
        await _clusters.UntilPlansAppliedAsync("prod", 3);
        await EtcdData.PutAsync(_etcd.Members[0].ClientUrl, Original).WithTimeout(TestTimeouts.Slow);
    }

    public async Task DisposeAsync()
    {
        // A gate still holding (a failed test) lets its command fail rather than wait out its bound.
        if (File.Exists(Held) && !File.Exists(Path.Combine(_gate, "release")))
        {
            await File.WriteAllTextAsync(Path.Combine(_gate, "release"), "no\n");
        }
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

    /// <summary>SIGTERM while node-1 stops its etcd member (Shutdown): the stop finishes, is reported, the agent exits 0; restarted, the operation goes on.</summary>
    [Fact]
    public async Task Restore_InitNodesAgentStoppedDuringShutdown_StepFinishesAndAfterARestartTheOperationFinishes()
    {
        var ended = await RestoreStoppingNode1Async(gateOn: "stop", "shutdown/killall");

        Assert.True(ended.Phase == OperationPhase.Finished, $"restore ended {ended.Phase}: {ended.Failure}\n{AgentLogs}");
        await AssertRestoredAsync();
    }

    /// <summary>SIGTERM while node-1's etcdctl restores the snapshot (Restore): the destructive step finishes and is not lost; the operation finishes.</summary>
    [Fact]
    public async Task Restore_InitNodesAgentStoppedDuringRestore_StepFinishesAndAfterARestartTheOperationFinishes()
    {
        var ended = await RestoreStoppingNode1Async(gateOn: "etcdctl", "restore/restore-snapshot");

        Assert.True(ended.Phase == OperationPhase.Finished, $"restore ended {ended.Phase}: {ended.Failure}\n{AgentLogs}");
        await AssertRestoredAsync();
    }

    /// <summary>SIGKILL (a crash) while node-1's etcdctl is held in Restore: after a restart the step is not run again, and the operation fails naming it.</summary>
    [Fact]
    public async Task Restore_InitNodesAgentKilledDuringRestore_FailsWithTheReasonAndTheRestoreIsNotRunAgain()
    {
        await _agents[0].Process.StopAsync();
        await RestartNode1Async(gateOn: "etcdctl");
        var op = await StartRestoreAsync();
        await OperationWaits.UntilAsync(_ => Task.FromResult(File.Exists(Held)));

        var before = _agents[0].Process.Output;
        var dir = _agents[0].KillKeepingState();
        await _agents[0].DisposeAsync();
        _agents[0] = AgentProcess.Start(AgentConfig("node-1", 0, "", dir, gateOn: "etcdctl"), dir);
        var ended = await _operations.WaitForEndAsync(op.Id, () => AgentLogs);

        var output = before + _agents[0].Process.Output;
        Assert.Equal(OperationPhase.Failed, ended.Phase);
        Assert.Equal("restore/restore-snapshot", ended.Failure.InstructionId);
        Assert.Contains("attempt 1 was interrupted by an agent restart; RestoreSnapshot is destructive, so it is not run again", ended.Failure.Message, StringComparison.Ordinal);
        Assert.Equal(1, CountOf(output, "restore/restore-snapshot attempt 1"));
        Assert.Equal(0, CountOf(output, "restore/restore-snapshot attempt 2"));
        Assert.False(File.Exists(Path.Combine(_gate, "ran")), "the held etcdctl must never have run");
    }

    /// <summary>
    /// Restarts node-1's agent with a gate on <paramref name="gateOn"/>, starts a restore, and once
    /// the gate holds <paramref name="step"/> sends SIGTERM; lets the step go once the agent says it
    /// finishes it first, checks the agent reported it and exited 0, starts it again, and waits for the end.
    /// </summary>
    private async Task<Operation> RestoreStoppingNode1Async(string gateOn, string step)
    {
        await _agents[0].Process.StopAsync();
        await RestartNode1Async(gateOn);
        var op = await StartRestoreAsync();
        await OperationWaits.UntilAsync(_ => Task.FromResult(File.Exists(Held)));

        var stopping = _agents[0];
        stopping.Process.Signal("TERM");
        var finishing = $"the agent is stopping; it finishes {step} (attempt 1) first";
        await OperationWaits.UntilAsync(_ => Task.FromResult(stopping.Process.HasExited || stopping.Process.Output.Contains(finishing, StringComparison.Ordinal)));
        Assert.False(stopping.Process.HasExited, $"node-1's agent exited before its step ended:\n{stopping.Process.Output}");
        await File.WriteAllTextAsync(Path.Combine(_gate, "release"), "go\n");
        using (var exit = new CancellationTokenSource(TestTimeouts.Slow))
        {
            await stopping.Process.WaitForExitAsync(exit.Token);
        }
        var before = stopping.Process.Output;
        Assert.True(stopping.Process.ExitCode == 0, $"exit code {stopping.Process.ExitCode}:\n{before}");
        Assert.Contains($"{step} ended, succeeded=True", before, StringComparison.Ordinal);

        var dir = await stopping.StopKeepingStateAsync();
        await stopping.DisposeAsync();
        _agents[0] = AgentProcess.Start(AgentConfig("node-1", 0, "", dir, gateOn), dir);
        var ended = await _operations.WaitForEndAsync(op.Id, () => before + AgentLogs);
        Assert.Equal(1, CountOf(before + _agents[0].Process.Output, $"{step} attempt 1"));
        return ended;
    }

    /// <summary>Node-1's agent again on its state, with the gate on its stop command or its etcdctl.</summary>
    private async Task RestartNode1Async(string gateOn)
    {
        var dir = await _agents[0].StopKeepingStateAsync();
        await _agents[0].DisposeAsync();
        _agents[0] = AgentProcess.Start(AgentConfig("node-1", 0, "", dir, gateOn), dir);
        await _clusters.UntilPlansAppliedAsync("prod", 3);
    }

    private async Task<Operation> StartRestoreAsync()
    {
        var created = (await _snapshots.CreateSnapshotAsync(new CreateSnapshotRequest { Cluster = "prod" }).ResponseAsync.DefaultTimeout()).Operation;
        var saved = await _operations.WaitForEndAsync(created.Id, () => AgentLogs);
        Assert.True(saved.Phase == OperationPhase.Finished, $"snapshot ended {saved.Phase}: {saved.Failure}\n{AgentLogs}");
        Snapshot? snapshot = null;
        await OperationWaits.UntilAsync(async ct =>
        {
            var catalog = (await _snapshots.ListSnapshotsAsync(new ListSnapshotsRequest { Cluster = "prod" }, cancellationToken: ct)).Snapshots;
            snapshot = catalog.FirstOrDefault(s => s.Node == "node-1" && s.Storage == StorageKind.Local);
            return snapshot is not null && catalog.Any(s => s.Storage == StorageKind.S3 && s.Name == snapshot.Name);
        });
        await EtcdData.PutAsync(_etcd.Members[1].ClientUrl, [new("/app/a", "changed"), new("/app/new", "x")]).WithTimeout(TestTimeouts.Slow);
        return (await _snapshots.RestoreSnapshotAsync(new RestoreSnapshotRequest
        {
            Cluster = "prod", Snapshot = snapshot!.Name, RestoreMode = RestoreMode.None, SafetySnapshot = false,
        }).ResponseAsync.DefaultTimeout()).Operation;
    }

    private async Task AssertRestoredAsync()
    {
        var expected = await EtcdData.ReadAllAsync(_etcd.Members[0].ClientUrl).DefaultTimeout();
        Assert.Equal(Original.Select(k => k.Key).Order(), expected.Keys.Where(k => k.StartsWith("/app/", StringComparison.Ordinal)).Order());
        // ReadAllAsync gives each value's sha256: /app/a is the snapshot's "1" again, not "changed".
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData("1"u8)), expected["/app/a"]);
        foreach (var member in _etcd.Members)
        {
            await member.WaitHealthyAsync().WithTimeout(TestTimeouts.Slow);
            Assert.Equal(expected, await EtcdData.ReadAllAsync(member.ClientUrl).DefaultTimeout());
        }
    }

    /// <summary>
    /// <c>gate.sh CMD ARGS</c>: the first run says it is held, waits (at most 3 minutes) for the test
    /// to write <c>release</c>, and runs the command only on "go"; later runs go straight through.
    /// </summary>
    private void WriteGate()
    {
        var gate = _gate;
        File.WriteAllText(Path.Combine(gate, "gate.sh"), $$"""
            #!/bin/sh
            if [ ! -e '{{gate}}/held' ]; then
              : > '{{gate}}/held'
              i=0
              while [ ! -s '{{gate}}/release' ] && [ $i -lt 1800 ]; do sleep 0.1; i=$((i+1)); done
              [ "$(cat '{{gate}}/release' 2>/dev/null)" = go ] || { echo "gate: not released" >&2; exit 1; }
              : > '{{gate}}/ran'
            fi
            exec "$@"

            """);
        File.WriteAllText(Path.Combine(gate, "etcdctl"), $"#!/bin/sh\nexec /bin/sh '{gate}/gate.sh' /usr/bin/etcdctl \"$@\"\n");
        File.SetUnixFileMode(Path.Combine(gate, "etcdctl"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    private Dictionary<string, string> AgentConfig(string node, int member, string token, TempDir dir, string gateOn = "")
    {
        var config = AgentConfigs.ScriptedEtcd(_server, "prod", node, _etcd.Members[member], token, Path.Combine(dir.Path, "data"));
        if (gateOn == "stop")
        {
            config["etcd-stop-command"] = $"/bin/sh {Path.Combine(_gate, "gate.sh")} {_etcd.Members[member].StopCommand}";
        }
        else if (gateOn == "etcdctl")
        {
            config["etcdctl"] = Path.Combine(_gate, "etcdctl");
        }
        return config;
    }

    private string AgentLogs => string.Join("\n", _agents.Select(a => a.Process.Output));

    private static int CountOf(string text, string part)
    {
        var count = 0;
        for (var i = text.IndexOf(part, StringComparison.Ordinal); i >= 0; i = text.IndexOf(part, i + part.Length, StringComparison.Ordinal))
        {
            count++;
        }
        return count;
    }
}
