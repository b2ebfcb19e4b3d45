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
/// Restores with every part real: a plan-server process, a 3-member etcd whose members the agents
/// stop and start with their scripts, three node-agent processes and Ceph RGW as the S3 target.
/// </summary>
[ExpectedDuration(210)]
public sealed class RestoreEndToEndTests(SharedCeph servers) : IClassFixture<SharedCeph>, IAsyncLifetime
{
    private RestoreRig _rig = null!;

    private string AgentLogs => _rig.AgentLogs;

    public async Task InitializeAsync() => _rig = await RestoreRig.StartAsync(servers.Ceph, "restore-");

    public async Task DisposeAsync()
    {
        if (_rig is not null)
        {
            await _rig.DisposeAsync();
        }
    }

    [Fact]
    public async Task Restore_AfterKeysChanged_EveryMemberServesExactlyTheSnapshotsKeys()
    {
        var snapshot = await _rig.SnapshotAsync();
        await _rig.ChangeKeysAsync();

        var ended = await _rig.RestoreAsync(snapshot.Name);

        Assert.True(ended.Phase == OperationPhase.Finished, $"restore ended {ended.Phase}: {ended.Failure}\n{AgentLogs}");
        Assert.Equal("node-1", ended.InitNode);
        await AssertRestoredAsync();
    }

    [Fact]
    public async Task Restore_InitNodesLocalFileGone_TakesTheS3Copy()
    {
        var snapshot = await _rig.SnapshotAsync();
        File.Delete(new Uri(snapshot.Location).LocalPath);
        await _rig.ChangeKeysAsync();

        var ended = await _rig.RestoreAsync(snapshot.Name);

        Assert.True(ended.Phase == OperationPhase.Finished, $"restore ended {ended.Phase}: {ended.Failure}\n{AgentLogs}");
        Assert.True(File.Exists(new Uri(snapshot.Location).LocalPath));
        await AssertRestoredAsync();
    }

    [Fact]
    public async Task Restore_CorruptSnapshot_FailsInTheChecks_AndNoMemberWasStopped()
    {
        var snapshot = await _rig.SnapshotAsync();
        var path = new Uri(snapshot.Location).LocalPath;
        var bytes = await File.ReadAllBytesAsync(path);
        bytes[bytes.Length / 2] ^= 0x01;
        await File.WriteAllBytesAsync(path, bytes);
        // The S3 copy is damaged the same way, so no node can get a good file.
        (await servers.Ceph.Aws().CopyUpAsync(path, _rig.Bucket, snapshot.Name)).EnsureSuccess();
        await _rig.ChangeKeysAsync();

        var ended = await _rig.RestoreAsync(snapshot.Name);

        Assert.Equal(OperationPhase.Failed, ended.Phase);
        Assert.Equal(OperationPhase.Started, ended.Failure.Phase);
        Assert.Contains("sha256", ended.Failure.Message, StringComparison.OrdinalIgnoreCase);
        foreach (var member in _rig.Etcd.Members)
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
        var snapshot = await _rig.SnapshotAsync();
        await _rig.ChangeKeysAsync();
        var op = await _rig.StartRestoreAsync(snapshot.Name, safetySnapshot: false);
        using (var cts = new CancellationTokenSource(TestTimeouts.Slow))
        {
            using var watch = _rig.Operations.WatchOperation(new WatchOperationRequest { Id = op.Id }, cancellationToken: cts.Token);
            while (await watch.ResponseStream.MoveNext(cts.Token) && watch.ResponseStream.Current.Operation.Phase is OperationPhase.Started or OperationPhase.Shutdown)
            {
            }
        }
        var killed = _rig.Agents[0];
        var dir = killed.KillKeepingState();
        var before = killed.Process.Output;
        _rig.Agents.RemoveAt(0);
        await killed.DisposeAsync();
        _rig.Agents.Insert(0, AgentProcess.Start(_rig.AgentConfig(0, "", dir), dir));

        var ended = await _rig.Operations.WaitForEndAsync(op.Id, () => AgentLogs);

        var output = before + _rig.Agents[0].Process.Output;
        Assert.True(ended.Phase is OperationPhase.Finished or OperationPhase.Failed, $"ended {ended.Phase}");
        if (ended.Phase == OperationPhase.Failed)
        {
            Assert.Equal("restore/restore-snapshot", ended.Failure.InstructionId);
            Assert.Contains("interrupted by an agent restart", ended.Failure.Message, StringComparison.Ordinal);
        }
        Assert.True(RestoreRig.CountOf(output, "restore/restore-snapshot attempt 1") <= 1, output);
        Assert.Equal(0, RestoreRig.CountOf(output, "restore/restore-snapshot attempt 2"));
    }

    /// <summary>The rig's exact-keys check, and etcd's member list shows all three members started again.</summary>
    private async Task AssertRestoredAsync()
    {
        await _rig.AssertRestoredAsync();
        var members = await new Testing.Tools.Etcdctl(_rig.Etcd.Endpoints).RunAsync(["member", "list"]);
        Assert.Equal(3, members.EnsureSuccess().StandardOutput.Trim().Split('\n').Count(l => l.Contains(", started,", StringComparison.Ordinal)));
    }
}
