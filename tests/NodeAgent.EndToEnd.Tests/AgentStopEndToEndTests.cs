using System.Security.Cryptography;
using NodeAgent.Contracts.V1;
using NodeAgent.Testing;
using NodeAgent.Testing.Agent;
using NodeAgent.Testing.EndToEnd;
using NodeAgent.Testing.Etcd;
using NodeAgent.Testing.Ordering;
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
[ExpectedDuration(280)]
public sealed class AgentStopEndToEndTests(SharedCeph servers) : IClassFixture<SharedCeph>, IAsyncLifetime
{
    private RestoreRig _rig = null!;
    private string _gate = "";

    private string Held => Path.Combine(_gate, "held");

    private string AgentLogs => _rig.AgentLogs;

    public async Task InitializeAsync()
    {
        _rig = await RestoreRig.StartAsync(servers.Ceph, "stop-");
        _gate = _rig.NewDir("nodeagent-gate-").Path;
        WriteGate();
    }

    public async Task DisposeAsync()
    {
        if (_rig is null)
        {
            return;
        }
        // A gate still holding (a failed test) lets its command fail rather than wait out its bound.
        if (File.Exists(Held) && !File.Exists(Path.Combine(_gate, "release")))
        {
            await File.WriteAllTextAsync(Path.Combine(_gate, "release"), "no\n");
        }
        await _rig.DisposeAsync();
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
        await _rig.Agents[0].Process.StopAsync();
        await RestartNode1Async(gateOn: "etcdctl");
        var op = await StartRestoreAsync();
        await OperationWaits.UntilAsync(_ => Task.FromResult(File.Exists(Held)));

        var before = _rig.Agents[0].Process.Output;
        var dir = _rig.Agents[0].KillKeepingState();
        await _rig.Agents[0].DisposeAsync();
        _rig.Agents[0] = AgentProcess.Start(AgentConfig(0, dir, gateOn: "etcdctl"), dir);
        var ended = await _rig.Operations.WaitForEndAsync(op.Id, () => AgentLogs);

        var output = before + _rig.Agents[0].Process.Output;
        Assert.Equal(OperationPhase.Failed, ended.Phase);
        Assert.Equal("restore/restore-snapshot", ended.Failure.InstructionId);
        Assert.Contains("attempt 1 was interrupted by an agent restart; RestoreSnapshot is destructive, so it is not run again", ended.Failure.Message, StringComparison.Ordinal);
        Assert.Equal(1, RestoreRig.CountOf(output, "restore/restore-snapshot attempt 1"));
        Assert.Equal(0, RestoreRig.CountOf(output, "restore/restore-snapshot attempt 2"));
        Assert.False(File.Exists(Path.Combine(_gate, "ran")), "the held etcdctl must never have run");
    }

    /// <summary>
    /// Restarts node-1's agent with a gate on <paramref name="gateOn"/>, starts a restore, and once
    /// the gate holds <paramref name="step"/> sends SIGTERM; lets the step go once the agent says it
    /// finishes it first, checks the agent reported it and exited 0, starts it again, and waits for the end.
    /// </summary>
    private async Task<Operation> RestoreStoppingNode1Async(string gateOn, string step)
    {
        await _rig.Agents[0].Process.StopAsync();
        await RestartNode1Async(gateOn);
        var op = await StartRestoreAsync();
        await OperationWaits.UntilAsync(_ => Task.FromResult(File.Exists(Held)));

        var stopping = _rig.Agents[0];
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
        _rig.Agents[0] = AgentProcess.Start(AgentConfig(0, dir, gateOn), dir);
        var ended = await _rig.Operations.WaitForEndAsync(op.Id, () => before + AgentLogs);
        Assert.Equal(1, RestoreRig.CountOf(before + _rig.Agents[0].Process.Output, $"{step} attempt 1"));
        return ended;
    }

    /// <summary>Node-1's agent again on its state, with the gate on its stop command or its etcdctl.</summary>
    private async Task RestartNode1Async(string gateOn)
    {
        var dir = await _rig.Agents[0].StopKeepingStateAsync();
        await _rig.Agents[0].DisposeAsync();
        _rig.Agents[0] = AgentProcess.Start(AgentConfig(0, dir, gateOn), dir);
        await _rig.Clusters.UntilPlansAppliedAsync("prod", 3);
    }

    private async Task<Operation> StartRestoreAsync()
    {
        var snapshot = await _rig.SnapshotAsync();
        await _rig.ChangeKeysAsync();
        return await _rig.StartRestoreAsync(snapshot.Name, safetySnapshot: false);
    }

    private async Task AssertRestoredAsync()
    {
        var expected = await _rig.AssertRestoredAsync();
        // ReadAllAsync gives each value's sha256: /app/a is the snapshot's "1" again, not "changed".
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData("1"u8)), expected["/app/a"]);
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

    private Dictionary<string, string> AgentConfig(int member, TempDir dir, string gateOn = "")
    {
        var config = _rig.AgentConfig(member, "", dir);
        if (gateOn == "stop")
        {
            config["etcd-stop-command"] = $"/bin/sh {Path.Combine(_gate, "gate.sh")} {_rig.Etcd.Members[member].StopCommand}";
        }
        else if (gateOn == "etcdctl")
        {
            config["etcdctl"] = Path.Combine(_gate, "etcdctl");
        }
        return config;
    }
}
