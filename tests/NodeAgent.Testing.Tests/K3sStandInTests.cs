using NodeAgent.Testing.Etcd;
using NodeAgent.Testing.K3s;
using NodeAgent.Testing.Tools;

namespace NodeAgent.Testing.Tests;

/// <summary>
/// The k3s-standin behaves as K3s's server does with its embedded etcd (reference note
/// k3s-etcd-start-join-reset.md), on real etcd. It models: the config merge with drop-ins; the
/// existing / join / new decision on db/etcd/member/wal; member names &lt;node&gt;-&lt;8 hex&gt;; joins as a
/// learner one at a time, retried on "too many learner members", promoted by the leader; the tombstone;
/// cluster-reset with a restore path; a token-keyed bootstrap marker and CA id. It cannot model the
/// apiserver and Nodes, the supervisor API (/db/info, /cacerts: a join reads the etcd on the server URL's
/// host), mTLS and real certificates, the loopback-only listener of a reset (all nodes share 127.0.0.1),
/// RKE2's static pods, or the 5-minute learner eviction.
/// </summary>
public sealed class K3sStandInTests : IAsyncLifetime
{
    private K3sStandInCluster _cluster = null!;

    private IReadOnlyList<K3sStandInNode> Nodes => _cluster.Nodes;

    public Task InitializeAsync()
    {
        _cluster = K3sStandInCluster.Create("k3s", 3, promotePeriod: TimeSpan.FromSeconds(1));
        _cluster.WriteStandardConfigs();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    [Fact]
    public async Task Server_ClusterInitWithoutData_StartsANewClusterWithANamedMemberAndACa()
    {
        await Nodes[0].StartAsync();
        await Nodes[0].WaitReadyAsync();

        var member = Assert.Single(await Nodes[0].MembersAsync().DefaultTimeout());
        Assert.Matches("^node-1-[0-9a-f]{8}$", member.Name);
        Assert.Equal(Nodes[0].MemberName, member.Name);
        Assert.Equal(Nodes[0].PeerUrl, member.PeerUrl);
        Assert.StartsWith("standin-ca-", Nodes[0].CaMarker, StringComparison.Ordinal);
        Assert.Contains("Starting etcd for new cluster, cluster-reset=false", Nodes[0].Log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Server_TwoJoinsOneAfterTheOther_ThreeVotingMembersOneClusterOneCa()
    {
        await _cluster.StartInOrderAsync();

        await AssertOneClusterAsync(3);
        await Nodes[0].WaitForLogAsync("Promoted learner node-2-");
        Assert.Contains("Promoted learner node-2-", Nodes[0].Log, StringComparison.Ordinal);
        Assert.Contains("Adding member node-3-", Nodes[2].Log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Server_SecondLearnerWhileOneIsJoining_IsRetriedUntilTheFirstIsPromoted()
    {
        await Nodes[0].StartAsync();
        await Nodes[0].WaitReadyAsync();
        var hold = Path.Combine(Nodes[0].Root, "standin-hold-learners");
        await File.WriteAllTextAsync(hold, "");
        await Nodes[1].StartAsync();
        await UntilAsync(async () => (await Nodes[0].MembersAsync()).Any(m => m.IsLearner));
        await Nodes[2].StartAsync();
        await UntilAsync(() => Task.FromResult(Nodes[2].Log.Contains(
            "Waiting for other members to finish joining etcd cluster: etcdserver: too many learner members in cluster", StringComparison.Ordinal)));

        File.Delete(hold);

        await Nodes[2].WaitReadyAsync();
        await Nodes[1].WaitReadyAsync();
        await AssertOneClusterAsync(3);
    }

    [Fact]
    public async Task Server_Tombstone_MovesTheDataAsideAndRejoinsUnderANewName()
    {
        await _cluster.StartInOrderAsync();
        var oldName = Nodes[2].MemberName;
        await Nodes[2].StopAsync();
        var old = (await Nodes[0].MembersAsync().DefaultTimeout()).Single(m => m.Name == oldName);
        (await new Etcdctl(Nodes[0].ClientUrl).RunAsync(["member", "remove", old.Id])).EnsureSuccess();
        await File.WriteAllTextAsync(Path.Combine(Nodes[2].EtcdDir, "tombstone"), "");

        await Nodes[2].StartAsync();
        await Nodes[2].WaitReadyAsync();

        Assert.Contains($"tombstone file has been detected, removing {Nodes[2].DbDir} to rejoin the cluster", Nodes[2].Log, StringComparison.Ordinal);
        Assert.Single(Directory.GetDirectories(Nodes[2].DbDir, "etcd-backup-*"));
        Assert.NotEqual(oldName, Nodes[2].MemberName);
        await AssertOneClusterAsync(3);
    }

    [Fact]
    public async Task Server_TombstoneAndEmptyServer_FailsWithK3sMessage()
    {
        await Nodes[0].StartAsync();
        await Nodes[0].WaitReadyAsync();
        await Nodes[0].StopAsync();
        await File.WriteAllTextAsync(Path.Combine(Nodes[0].EtcdDir, "tombstone"), "");

        var run = await Nodes[0].RunAsync(["server"]).WithTimeout(TestTimeouts.Slow);

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("tombstone file has been detected but --server is empty", run.StandardError, StringComparison.Ordinal);
        Assert.True(Directory.Exists(Path.Combine(Nodes[0].EtcdDir, "member")), "the data must stay where it was");
    }

    [Fact]
    public async Task ClusterReset_WithRestorePath_OneMemberExactKeysResetFlagAndOldDataKept()
    {
        await _cluster.StartInOrderAsync();
        await EtcdData.PutAsync(Nodes[0].ClientUrl, [new("/app/a", "1"), new("/app/b", "2")]).WithTimeout(TestTimeouts.Default);
        var snapshot = Path.Combine(_cluster.Root, "snap.db");
        (await new Etcdctl(Nodes[1].ClientUrl).SnapshotSaveAsync(snapshot)).EnsureSuccess();
        var expected = await Nodes[1].KeysAsync().DefaultTimeout();
        await EtcdData.PutAsync(Nodes[0].ClientUrl, [new("/app/a", "changed"), new("/app/new", "x")]).WithTimeout(TestTimeouts.Default);
        var ca = Nodes[0].CaMarker;
        foreach (var node in Nodes)
        {
            await node.KillAsync();
        }
        var oldName = Nodes[1].MemberName;
        // Node-2 joined through server:, so a reset needs the drop-in that clears it (as Rancher writes).
        Nodes[1].WriteDropIn("zz-nodeagent-restore.yaml", "server: \"\"\n");

        var reset = await Nodes[1].RunAsync(["server", "--cluster-reset", $"--cluster-reset-restore-path={snapshot}",
            "--etcd-arg=advertise-client-urls=https://127.0.0.1:2379"]).WithTimeout(TestTimeouts.Slow);

        Assert.True(reset.ExitCode == 0, reset.StandardError);
        Assert.Contains($"Managed etcd cluster membership has been reset, restart without --cluster-reset flag now. Backup and delete {Nodes[1].DataDir}/server/db on each peer etcd server and rejoin the nodes",
            reset.StandardError, StringComparison.Ordinal);
        Assert.Contains("etcd-arg advertise-client-urls=https://127.0.0.1:2379 noted but not applied", reset.StandardError, StringComparison.Ordinal);
        Assert.Single(Directory.GetDirectories(Nodes[1].DbDir, "etcd-old-*"));
        Assert.True(File.Exists(Path.Combine(Nodes[1].DbDir, "reset-flag")));
        Assert.Single(Directory.GetDirectories(Nodes[1].ServerDir, "tls-*"));
        Assert.NotEqual(oldName, Nodes[1].MemberName);

        await Nodes[1].StartAsync();
        await Nodes[1].WaitReadyAsync();
        var member = Assert.Single(await Nodes[1].MembersAsync().DefaultTimeout());
        Assert.Equal(Nodes[1].MemberName, member.Name);
        Assert.Equal(expected, await Nodes[1].KeysAsync().DefaultTimeout());
        Assert.Equal(ca, Nodes[1].CaMarker);
    }

    [Fact]
    public async Task ClusterReset_AnotherToken_FailsOnTheBootstrapData()
    {
        await Nodes[0].StartAsync();
        await Nodes[0].WaitReadyAsync();
        var snapshot = Path.Combine(_cluster.Root, "snap.db");
        (await new Etcdctl(Nodes[0].ClientUrl).SnapshotSaveAsync(snapshot)).EnsureSuccess();
        await Nodes[0].KillAsync();
        Nodes[0].WriteConfig(Nodes[0].BaseConfig("K10other::server:another-password") + "cluster-init: true\n");

        var reset = await Nodes[0].RunAsync(["server", "--cluster-reset", $"--cluster-reset-restore-path={snapshot}"]).WithTimeout(TestTimeouts.Slow);

        Assert.Equal(1, reset.ExitCode);
        Assert.Contains("bootstrap data already found and encrypted with different token", reset.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ClusterReset_ServerSet_IsRefusedWithK3sMessage()
    {
        var run = await Nodes[1].RunAsync(["server", "--cluster-reset"]).WithTimeout(TestTimeouts.Slow);

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("cannot perform cluster-reset while server URL is set - remove server from configuration before resetting", run.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ClusterReset_RestorePathWithoutReset_IsRefusedWithK3sMessage()
    {
        var run = await Nodes[0].RunAsync(["server", "--cluster-reset-restore-path=/nonexistent"]).WithTimeout(TestTimeouts.Slow);

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("invalid flag use; --cluster-reset required with --cluster-reset-restore-path", run.StandardError, StringComparison.Ordinal);
    }

    /// <summary>
    /// The split issue 15 is about: the peers reset onto one server (here node-2, a quorum-loss reset), and
    /// the original first server (cluster-init, no server:) wiped and started without a join address:
    /// K3s makes it a brand-new cluster with a new CA beside the reset one. (The raft cluster ID may even
    /// be the same: it hashes only the peer URLs; the member sets and the CA differ.)
    /// </summary>
    [Fact]
    public async Task Server_FirstServerWipedWithoutServer_StartsABrandNewClusterWithANewCa()
    {
        await _cluster.StartInOrderAsync();
        foreach (var node in Nodes)
        {
            await node.KillAsync();
        }
        Nodes[1].WriteDropIn("zz-nodeagent-restore.yaml", "server: \"\"\n");
        (await Nodes[1].RunAsync(["server", "--cluster-reset"]).WithTimeout(TestTimeouts.Slow)).EnsureSuccess();
        await Nodes[1].StartAsync();
        await Nodes[1].WaitReadyAsync();
        await EtcdData.PutAsync(Nodes[1].ClientUrl, [new("/app/kept", "1")]).WithTimeout(TestTimeouts.Default);
        Directory.Delete(Nodes[0].DbDir, recursive: true);
        Directory.Delete(Path.Combine(Nodes[0].ServerDir, "tls"), recursive: true);

        await Nodes[0].StartAsync();
        await Nodes[0].WaitReadyAsync();

        Assert.Equal(Nodes[0].MemberName, Assert.Single(await Nodes[0].MembersAsync().DefaultTimeout()).Name);
        Assert.Equal(Nodes[1].MemberName, Assert.Single(await Nodes[1].MembersAsync().DefaultTimeout()).Name);
        Assert.NotEqual(Nodes[1].CaMarker, Nodes[0].CaMarker);
        Assert.DoesNotContain("/app/kept", (await Nodes[0].KeysAsync().DefaultTimeout()).Keys);
        Assert.Contains("Starting etcd for new cluster, cluster-reset=false", Nodes[0].Log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Server_JoinWithAnotherClustersCa_Fails()
    {
        await Nodes[0].StartAsync();
        await Nodes[0].WaitReadyAsync();
        Directory.CreateDirectory(Path.Combine(Nodes[1].ServerDir, "tls"));
        await File.WriteAllTextAsync(Path.Combine(Nodes[1].ServerDir, "tls", "server-ca.crt"), "standin-ca-another\n");

        var run = await Nodes[1].RunAsync(["server"]).WithTimeout(TestTimeouts.Slow);

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("x509: certificate signed by unknown authority", run.StandardError, StringComparison.Ordinal);
        Assert.Single(await Nodes[0].MembersAsync().DefaultTimeout());
    }

    [Fact]
    public async Task Version_PrintsTheVersionBakedIntoTheWrapper()
    {
        var run = await Nodes[0].RunAsync(["--version"]).WithTimeout(TestTimeouts.Default);

        Assert.Equal("k3s version v1.30.4+k3s1 (standin)", run.EnsureSuccess().StandardOutput.Split('\n')[0]);
    }

    private async Task AssertOneClusterAsync(int members)
    {
        var first = await Nodes[0].StatusAsync().DefaultTimeout();
        foreach (var node in Nodes)
        {
            var list = await node.MembersAsync().DefaultTimeout();
            Assert.Equal(members, list.Count);
            Assert.All(list, m => Assert.False(m.IsLearner, $"{m.Name} is still a learner"));
            Assert.Equal(first.ClusterId, (await node.StatusAsync().DefaultTimeout()).ClusterId);
            Assert.Equal(Nodes[0].CaMarker, node.CaMarker);
        }
    }

    private static async Task UntilAsync(Func<Task<bool>> condition)
    {
        using var cts = new CancellationTokenSource(TestTimeouts.Slow);
        while (!await condition().WaitAsync(cts.Token))
        {
            await Task.Delay(TimeSpan.FromMilliseconds(200), cts.Token);
        }
    }
}
