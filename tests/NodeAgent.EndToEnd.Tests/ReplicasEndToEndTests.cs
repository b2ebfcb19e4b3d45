using dotnet_etcd;
using NodeAgent.Contracts.V1;
using NodeAgent.Testing;
using NodeAgent.Testing.EndToEnd;
using NodeAgent.Testing.Etcd;
using NodeAgent.Testing.Ordering;
using NodeAgent.Testing.PlanServer;

namespace NodeAgent.EndToEnd.Tests;

/// <summary>
/// Three plan-server replicas on a 3-member etcd store (every part a real process): three agents on
/// a 3-member etcd cluster with Ceph RGW as the S3 target, each given every replica's address.
/// </summary>
[ExpectedDuration(120)]
public sealed class ReplicasEndToEndTests(SharedCeph servers) : IClassFixture<SharedCeph>
{
    private const string LeaderKey = "/nodeagent/leader";

    /// <summary>
    /// SIGKILL of the leading replica, and SIGSTOP of the store member calls go to first, while a
    /// restore is in its Restore phase: another replica takes the lead, the restore ends Finished with
    /// the snapshot's keys exactly, the destructive step ran once, and the agents moved to live replicas.
    /// </summary>
    [Fact]
    public async Task Restore_LeaderReplicaKilledAndAStoreMemberHungInRestore_AnotherLeadsAndTheRestoreFinishesOnce()
    {
        await using var store = await EtcdCluster.StartAsync(3).WithTimeout(TestTimeouts.Slow);
        await using var rig = await RestoreRig.StartAsync(servers.Ceph, "replicas-", new RestoreRigOptions { StoreEndpoints = store.Endpoints, Replicas = 3 });
        using var storeClient = new EtcdClient(store.Members[1].ClientUrl);
        var snapshot = await rig.SnapshotAsync();
        await rig.ChangeKeysAsync();
        var leader = await LeaderAsync(storeClient, rig);
        // The first replica started first and so leads; the agents call it first, so its loss moves them all.
        Assert.Same(rig.Replicas[0], leader);
        var survivor = rig.Replicas[1];
        var operations = new OperationService.OperationServiceClient(survivor.CreateAdminChannel());

        var op = await rig.StartRestoreAsync(snapshot.Name);
        await OperationWaits.UntilAsync(async ct => (await operations.GetOperationAsync(new GetOperationRequest { Id = op.Id }, cancellationToken: ct)).Operation.Phase
            is OperationPhase.Restore or OperationPhase.RestartCluster or OperationPhase.Finished or OperationPhase.Failed);
        leader.Process.Kill();
        store.Members[0].Process.Signal("STOP");
        try
        {
            var ended = await operations.WaitForEndAsync(op.Id, () => rig.AgentLogs);
            Assert.True(ended.Phase == OperationPhase.Finished, $"restore ended {ended.Phase}: {ended.Failure}\n{rig.AgentLogs}");
            await rig.AssertRestoredAsync();

            var next = await LeaderAsync(storeClient, rig);
            Assert.NotSame(leader, next);
            Assert.Contains("now drives operations", next.Process.Output, StringComparison.Ordinal);
            foreach (var agent in rig.Agents)
            {
                // Every member restores from the snapshot (plain etcd), each exactly once.
                Assert.Equal(1, RestoreRig.CountOf(agent.Process.Output, "restore/restore-snapshot attempt 1"));
                Assert.Equal(0, RestoreRig.CountOf(agent.Process.Output, "restore/restore-snapshot attempt 2"));
                Assert.Contains($"Plan server {leader.Address} did not answer", agent.Process.Output, StringComparison.Ordinal);
            }
        }
        finally
        {
            store.Members[0].Process.Signal("CONT");
        }
    }

    /// <summary>The replica named by the store's leader key, once there is one (a new leader takes at most the lease plus a campaign interval).</summary>
    private static async Task<PlanServerProcess> LeaderAsync(EtcdClient store, RestoreRig rig)
    {
        PlanServerProcess? leader = null;
        await OperationWaits.UntilAsync(async ct =>
        {
            var name = (await store.GetAsync(LeaderKey, cancellationToken: ct)).Kvs.FirstOrDefault()?.Value.ToStringUtf8();
            leader = name is null ? null : rig.Replicas.FirstOrDefault(r => !r.Process.HasExited && name.Contains($"/127.0.0.1:{r.Address.Port}/", StringComparison.Ordinal));
            return leader is not null;
        });
        return leader!;
    }
}
