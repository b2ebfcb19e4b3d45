using NodeAgent.Contracts.V1;
using NodeAgent.Testing;
using NodeAgent.Testing.Agent;
using NodeAgent.Testing.EndToEnd;
using NodeAgent.Testing.Etcd;
using NodeAgent.Testing.Net;
using NodeAgent.Testing.Ordering;
using NodeAgent.Testing.PlanServer;
using NodeAgent.Testing.S3;

namespace NodeAgent.EndToEnd.Tests;

/// <summary>
/// A restore's downloads from S3 (every member fetches the snapshot in Started, through the page
/// cache) cut by the agents' stop, with every part real: plan-server process, 3-member etcd run by
/// its scripts, three node-agent processes, Ceph RGW behind a <see cref="TcpRelay"/>. The relay holds
/// the snapshot's bytes once 2 MiB of it have come back, so the signal lands in the middle of a
/// download, not before or after it.
/// </summary>
[ExpectedDuration(120)]
public sealed class RestoreDownloadStopEndToEndTests(SharedCeph servers) : IClassFixture<SharedCeph>
{
    private const long SnapshotMb = 8;

    /// <summary>
    /// SIGKILL (a crash) or SIGTERM (systemd's stop) of every agent mid-download: a download is safe
    /// to redo, so the agents started again on the same state get the snapshot (again, where the first
    /// copy did not finish), the restore finishes with the snapshot's keys on every member, and no
    /// part file of a cut download is left on any node. SIGTERM lets the download in hand finish
    /// first: each agent exits 0.
    /// </summary>
    [Theory]
    [InlineData("KILL")]
    [InlineData("TERM")]
    public async Task Restore_AgentsStoppedMidDownload_RestartedAgentsFinishTheRestoreAndNoPartFileIsLeft(string signal)
    {
        await using var relay = TcpRelay.Start(servers.Ceph.HttpEndpoint);
        await using var rig = await RestoreRig.StartAsync(servers.Ceph, "dl-stop-", new RestoreRigOptions { S3Endpoint = relay.Authority });
        await EtcdData.LoadAsync(rig.Etcd.Members[0].ClientUrl, (int)SnapshotMb).WithTimeout(TestTimeouts.Slow);
        var snapshot = await rig.SnapshotAsync();
        Assert.True(snapshot.Size > SnapshotMb * 1024 * 1024 / 2, $"snapshot of {snapshot.Size} bytes");
        await rig.ChangeKeysAsync();

        var agents = rig.Agents.ToList();
        // Only a snapshot's GET brings MiBs back: the relay trips inside a download.
        var stopped = relay.TripAfterDown(2 * 1024 * 1024, () =>
        {
            foreach (var agent in agents)
            {
                if (signal == "KILL")
                {
                    agent.Process.Kill();
                }
                else
                {
                    agent.Process.Signal("TERM");
                }
            }
            return Task.CompletedTask;
        });
        var op = await rig.StartRestoreAsync(snapshot.Name, safetySnapshot: false);
        await stopped.WithTimeout(TestTimeouts.Slow);
        if (signal == "KILL")
        {
            // The crash left the cut download's part file behind: the restarted agent is the one to clear it.
            Assert.NotEmpty(rig.NodeDirs.SelectMany(d => Directory.EnumerateFiles(d.Path, "*.part", SearchOption.AllDirectories)));
        }
        var before = new List<string>();
        for (var i = 0; i < agents.Count; i++)
        {
            using (var cts = new CancellationTokenSource(TestTimeouts.Slow))
            {
                await agents[i].Process.WaitForExitAsync(cts.Token);
            }
            if (signal == "TERM")
            {
                Assert.True(agents[i].Process.ExitCode == 0, $"node-{i + 1}'s agent exited {agents[i].Process.ExitCode}:\n{agents[i].Process.Output}");
            }
            before.Add(agents[i].Process.Output);
            var dir = signal == "KILL" ? agents[i].KillKeepingState() : await agents[i].StopKeepingStateAsync();
            await agents[i].DisposeAsync();
            rig.Agents[i] = AgentProcess.Start(rig.AgentConfig(i, "", dir), dir);
        }

        var ended = await rig.Operations.WaitForEndAsync(op.Id, () => string.Join("\n", before) + rig.AgentLogs);

        Assert.True(ended.Phase == OperationPhase.Finished, $"restore ended {ended.Phase}: {ended.Failure}\n{string.Join("\n", before)}\n{rig.AgentLogs}");
        Assert.Contains(before, output => output.Contains("started/download-snapshot attempt 1", StringComparison.Ordinal));
        if (signal == "TERM")
        {
            // The signal found a download in hand, and the agent finished it before it exited.
            Assert.Contains(before, output => output.Contains("it finishes started/download-snapshot", StringComparison.Ordinal));
        }
        await rig.AssertRestoredAsync();
        foreach (var dir in rig.NodeDirs)
        {
            Assert.Empty(Directory.EnumerateFiles(dir.Path, "*.part", SearchOption.AllDirectories));
        }
    }
}
