using dotnet_etcd;
using Microsoft.Extensions.Logging.Abstractions;
using NodeAgent.Agent.Etcd;
using NodeAgent.Agent.Snapshots;
using NodeAgent.Contracts.V1;
using NodeAgent.Testing;
using NodeAgent.Testing.Etcd;
using NodeAgent.Testing.PlanServer;
using NodeAgent.Testing.Tools;

namespace NodeAgent.Agent.Tests.Runtime;

/// <summary>
/// The etcd driver against real etcd members that the agent stops and starts through the shell
/// commands in its config: a snapshot saved by the agent, keys changed afterwards, and the
/// restore brings back exactly the snapshot's keys.
/// </summary>
public sealed class EtcdDriverTests : IDisposable
{
    private static readonly KeyValuePair<string, string>[] Before = [new("/app/a", "1"), new("/app/b", "2"), new("/app/c", "3")];
    private readonly TempDir _root = new();

    public void Dispose() => _root.Dispose();

    [Fact]
    public async Task Restore_SingleMember_ServesExactlyTheSnapshotsKeys()
    {
        var single = await SavedSingleMemberAsync();
        await using var member = single.Member;
        await using var rig = single.Rig;
        var (expected, saved) = (single.Expected, single.Saved);
        await ChangeKeysAsync(member.ClientUrl);
        Assert.NotEqual(expected, await EtcdData.ReadAllAsync(member.ClientUrl).DefaultTimeout());

        // An earlier restore whose agent died left its temporary dir; a dir of someone else's sits beside it.
        var crashed = member.DataDir + ".restore-1700000000";
        var theirs = member.DataDir + ".restore-notes";
        Directory.CreateDirectory(Path.Combine(crashed, "member"));
        Directory.CreateDirectory(theirs);

        var refused = await rig.RunAsync(RuntimeRig.Restore(saved.Name, saved.Sha256));
        var stopped = await rig.RunAsync(RuntimeRig.Killall());
        var restored = await rig.RunAsync(RuntimeRig.Restore(saved.Name, saved.Sha256));
        var started = await rig.RunAsync(RuntimeRig.Start());
        var healthy = await rig.RunAsync(RuntimeRig.WaitHealthy());

        Assert.False(refused.Succeeded);
        Assert.Contains("stop etcd (RunKillall) before restoring", refused.Message, StringComparison.Ordinal);
        AssertStep.Succeeded(stopped);
        AssertStep.Succeeded(restored);
        Assert.Contains("etcd hash trailer verified", restored.Message, StringComparison.Ordinal);
        AssertStep.Succeeded(started);
        AssertStep.Succeeded(healthy);
        Assert.Contains(member.ClientUrl, healthy.Message, StringComparison.Ordinal);
        Assert.Equal(expected, await EtcdData.ReadAllAsync(member.ClientUrl).DefaultTimeout());
        var aside = Assert.Single(Directory.GetDirectories(Path.GetDirectoryName(member.DataDir)!, "data.old-*"));
        Assert.Contains(aside, restored.Message, StringComparison.Ordinal);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(member.DataDir));
        Assert.False(Directory.Exists(crashed));
        Assert.True(Directory.Exists(theirs));
    }

    [Fact]
    public async Task Restore_DoesNotHashTheSnapshotAgain_ItsCallerVerifiedIt()
    {
        // The restore step verifies the trailer (or the download did, as the bytes arrived) right before
        // the driver runs; etcdctl's own check would read the whole db once more. A file whose trailer
        // no longer matches shows which: etcdctl with its check on refuses it ("expected sha256").
        var single = await SavedSingleMemberAsync();
        await using var member = single.Member;
        await using var rig = single.Rig;
        var (expected, saved) = (single.Expected, single.Saved);
        var path = Path.Combine(member.SnapshotDir(), saved.Name);
        await using (var file = new FileStream(path, FileMode.Open, FileAccess.ReadWrite))
        {
            file.Seek(-1, SeekOrigin.End);
            var last = file.ReadByte();
            file.Seek(-1, SeekOrigin.End);
            file.WriteByte((byte)(last ^ 0xff));
        }
        var byEtcdctl = await Etcdctl.SnapshotRestoreAsync(path, _root.Combine("checked"), member.Name, member.InitialCluster, member.PeerUrl, TestTimeouts.Slow);

        AssertStep.Succeeded(await rig.RunAsync(RuntimeRig.Killall()));
        var restored = await rig.Driver.RestoreAsync(path, "", CancellationToken.None).WithTimeout(TestTimeouts.Slow);
        AssertStep.Succeeded(await rig.RunAsync(RuntimeRig.Start()));
        AssertStep.Succeeded(await rig.RunAsync(RuntimeRig.WaitHealthy()));

        Assert.NotEqual(0, byEtcdctl.ExitCode);
        Assert.Contains("expected sha256", byEtcdctl.StandardError, StringComparison.Ordinal);
        AssertStep.Succeeded(restored);
        Assert.Equal(expected, await EtcdData.ReadAllAsync(member.ClientUrl).DefaultTimeout());
    }

    [Fact]
    public async Task Restore_ThreeMembers_EachRestoresTheSameFile_AndTheClusterServesTheSnapshotsKeys()
    {
        var members = ScriptedEtcdMember.CreateCluster(_root.Path, 3);
        await using var m0 = members[0];
        await using var m1 = members[1];
        await using var m2 = members[2];
        var rigs = new List<RuntimeRig>();
        try
        {
            foreach (var member in members)
            {
                rigs.Add(await RuntimeRig.CreateAsync(member.Options(), members[0].SnapshotDir()));
            }
            // A member answers clients only once a quorum runs: the starts go together, as in one phase.
            Assert.All(await Task.WhenAll(rigs.Select(r => r.RunAsync(RuntimeRig.Start()))), AssertStep.Succeeded);
            await EtcdData.PutAsync(m0.ClientUrl, Before).DefaultTimeout();
            var expected = await EtcdData.ReadAllAsync(m0.ClientUrl).DefaultTimeout();
            var saved = await SaveAsync(m0);
            await ChangeKeysAsync(m1.ClientUrl);

            Assert.All(await Task.WhenAll(rigs.Select(r => r.RunAsync(RuntimeRig.Killall()))), AssertStep.Succeeded);
            Assert.All(await Task.WhenAll(rigs.Select(r => r.RunAsync(RuntimeRig.Restore(saved.Name, saved.Sha256)))), AssertStep.Succeeded);
            Assert.All(await Task.WhenAll(rigs.Select(r => r.RunAsync(RuntimeRig.Start()))), AssertStep.Succeeded);
            Assert.All(await Task.WhenAll(rigs.Select(r => r.RunAsync(RuntimeRig.WaitHealthy()))), AssertStep.Succeeded);

            foreach (var member in members)
            {
                Assert.Equal(expected, await EtcdData.ReadAllAsync(member.ClientUrl).DefaultTimeout());
            }
            var list = (await new Etcdctl(m0.ClientUrl).RunAsync(["member", "list"]).DefaultTimeout()).EnsureSuccess();
            Assert.Equal(3, list.StandardOutput.Trim().Split('\n').Length);
            Assert.All(members, m => Assert.Contains(m.PeerUrl, list.StandardOutput, StringComparison.Ordinal));
        }
        finally
        {
            foreach (var rig in rigs)
            {
                await rig.DisposeAsync();
            }
        }
    }

    /// <summary>
    /// A restore's Shutdown stops every member at once. A leader that is sent SIGTERM first hands its
    /// leadership to a peer, and when that peer is stopping too etcd waits out its request timeout
    /// (7 s at the default election timeout) before it gives up: the 2.5-9.1 s shutdown of the restore
    /// benchmark. The leader's killall therefore waits until its peers are gone (it then no longer
    /// leads: with no quorum etcd steps it down), and stops it only after them.
    /// </summary>
    [Fact]
    public async Task Killall_OnTheLeaderWhileItsPeersRun_StopsItOnlyAfterThem()
    {
        var members = ScriptedEtcdMember.CreateCluster(_root.Path, 3);
        await using var m0 = members[0];
        await using var m1 = members[1];
        await using var m2 = members[2];
        var logs = members.Select(_ => new ListLoggerProvider()).ToList();
        var rigs = new List<RuntimeRig>();
        try
        {
            for (var i = 0; i < members.Count; i++)
            {
                rigs.Add(await RuntimeRig.CreateAsync(members[i].Options(), members[0].SnapshotDir(), logs: logs[i]));
            }
            Assert.All(await Task.WhenAll(rigs.Select(r => r.RunAsync(RuntimeRig.Start()))), AssertStep.Succeeded);
            Assert.All(await Task.WhenAll(rigs.Select(r => r.RunAsync(RuntimeRig.WaitHealthy()))), AssertStep.Succeeded);
            var statuses = await Task.WhenAll(members.Select(StatusAsync));
            var leader = Array.FindIndex(statuses, s => s.IsLeader);
            Assert.True(leader >= 0, "no member leads the cluster");

            var leaderStop = rigs[leader].RunAsync(RuntimeRig.Killall());
            await OperationWaits.UntilAsync(_ => Task.FromResult(leaderStop.IsCompleted || logs[leader].Lines.Any(l => l.Contains("waiting for its peers to stop first", StringComparison.Ordinal))));
            Assert.False(leaderStop.IsCompleted, $"the leader was stopped while its peers ran: {(leaderStop.IsCompleted ? (await leaderStop).Message : "")}");
            Assert.True((await StatusAsync(members[leader])).IsLeader);

            var others = Enumerable.Range(0, members.Count).Where(i => i != leader).ToList();
            Assert.All(await Task.WhenAll(others.Select(i => rigs[i].RunAsync(RuntimeRig.Killall()))), AssertStep.Succeeded);
            var stopped = await leaderStop.WithTimeout(TestTimeouts.Slow);

            AssertStep.Succeeded(stopped);
            Assert.Contains("stopped etcd after its peers", stopped.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("leader transfer took too long", await File.ReadAllTextAsync(members[leader].LogPath), StringComparison.Ordinal);
        }
        finally
        {
            foreach (var rig in rigs)
            {
                await rig.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Restore_PlanNamesTwoOfThreeMembers_NoInitialClusterInConfig_ClusterOfExactlyThoseTwo()
    {
        var members = ScriptedEtcdMember.CreateCluster(_root.Path, 3);
        await using var m0 = members[0];
        await using var m1 = members[1];
        await using var m2 = members[2];
        var rigs = new List<RuntimeRig>();
        try
        {
            foreach (var member in members)
            {
                rigs.Add(await RuntimeRig.CreateAsync(member.Options(initialCluster: false), members[0].SnapshotDir()));
            }
            Assert.All(await Task.WhenAll(rigs.Select(r => r.RunAsync(RuntimeRig.Start()))), AssertStep.Succeeded);
            await EtcdData.PutAsync(m0.ClientUrl, Before).DefaultTimeout();
            var expected = await EtcdData.ReadAllAsync(m0.ClientUrl).DefaultTimeout();
            var saved = await SaveAsync(m0);
            // m2 is lost for good: stopped and its data gone; the other two are restored as a cluster of two.
            await m2.StopAsync();
            Directory.Delete(m2.DataDir, recursive: true);
            var survivors = rigs.Take(2).ToList();
            var initialCluster = $"m0={m0.PeerUrl},m1={m1.PeerUrl}";

            Assert.All(await Task.WhenAll(survivors.Select(r => r.RunAsync(RuntimeRig.Killall()))), AssertStep.Succeeded);
            var restored = await Task.WhenAll(survivors.Select(r => r.RunAsync(RuntimeRig.Restore(saved.Name, saved.Sha256, initialCluster))));
            Assert.All(restored, AssertStep.Succeeded);
            Assert.Contains($"as member m0 of {initialCluster}", restored[0].Message, StringComparison.Ordinal);
            Assert.All(await Task.WhenAll(survivors.Select(r => r.RunAsync(RuntimeRig.Start()))), AssertStep.Succeeded);
            Assert.All(await Task.WhenAll(survivors.Select(r => r.RunAsync(RuntimeRig.WaitHealthy()))), AssertStep.Succeeded);

            Assert.Equal(expected, await EtcdData.ReadAllAsync(m0.ClientUrl).DefaultTimeout());
            Assert.Equal(expected, await EtcdData.ReadAllAsync(m1.ClientUrl).DefaultTimeout());
            var list = (await new Etcdctl(m0.ClientUrl).RunAsync(["member", "list"]).DefaultTimeout()).EnsureSuccess().StandardOutput.Trim().Split('\n');
            Assert.Equal(2, list.Length);
            Assert.Contains(list, l => l.Contains(m0.PeerUrl, StringComparison.Ordinal));
            Assert.Contains(list, l => l.Contains(m1.PeerUrl, StringComparison.Ordinal));
        }
        finally
        {
            foreach (var rig in rigs)
            {
                await rig.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Restore_PlanNamesNoMembers_NoInitialClusterInConfig_FailsSayingSo()
    {
        var members = ScriptedEtcdMember.CreateCluster(_root.Path, 1);
        await using var member = members[0];
        var snapshot = StandIn.FramedSnapshot(Path.Combine(member.SnapshotDir(), "on-demand-m0-1700000000"));
        await using var rig = await RuntimeRig.CreateAsync(member.Options(initialCluster: false), member.SnapshotDir());

        var restore = await rig.RunAsync(RuntimeRig.Restore("on-demand-m0-1700000000"));

        Assert.False(restore.Succeeded);
        Assert.Contains("the restore names no initial cluster (a restoring node registered no etcd peer URLs) and etcd-initial-cluster is not set in the agent's config", restore.Message, StringComparison.Ordinal);
        Assert.False(restore.Retryable);
    }

    [Fact]
    public async Task RemoveEtcdData_MovesTheDataDirAsideAndKeepsTheNewestThree()
    {
        var members = ScriptedEtcdMember.CreateCluster(_root.Path, 1);
        var member = members[0];
        var options = member.Options();
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(new DateTimeOffset(2026, 11, 24, 12, 0, 0, TimeSpan.Zero));
        await using var rig = await RuntimeRig.CreateAsync(options, member.SnapshotDir(), time);

        for (var i = 0; i < 5; i++)
        {
            Directory.CreateDirectory(Path.Combine(member.DataDir, "member"));
            AssertStep.Succeeded(await rig.RunAsync(RuntimeRig.RemoveEtcdData(tombstone: i % 2 == 0)));
            time.Advance(TimeSpan.FromMinutes(1));
        }

        Assert.False(Directory.Exists(member.DataDir));
        var start = new DateTimeOffset(2026, 11, 24, 12, 0, 0, TimeSpan.Zero).ToUnixTimeSeconds();
        Assert.Equal([$"data.old-{start + 120}", $"data.old-{start + 180}", $"data.old-{start + 240}"],
            Directory.GetDirectories(Path.GetDirectoryName(member.DataDir)!, "data.old-*").Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Restore_NotConfigured_FailsNamingTheMissingKey()
    {
        var options = RuntimeRig.Options("etcd", _root.Path, _root.Combine("state"));
        var snapshot = StandIn.FramedSnapshot(_root.Combine("snapshots", "on-demand-n1-1700000000"));
        await using var rig = await RuntimeRig.CreateAsync(options, Path.GetDirectoryName(snapshot)!);

        var stop = await rig.RunAsync(RuntimeRig.Killall());
        var restore = await rig.RunAsync(RuntimeRig.Restore("on-demand-n1-1700000000"));

        Assert.Contains("etcd-stop-command is not set", stop.Message, StringComparison.Ordinal);
        Assert.Contains("free space not checked", restore.Message, StringComparison.Ordinal);
        Assert.Contains("etcd-data-dir is not set", restore.Message, StringComparison.Ordinal);
        Assert.False(restore.Retryable);
    }

    /// <summary>One member started through the rig, <see cref="Before"/>'s keys in it, and the agent's snapshot of them.</summary>
    private async Task<(ScriptedEtcdMember Member, RuntimeRig Rig, IReadOnlyDictionary<string, string> Expected, SnapshotMetadata Saved)> SavedSingleMemberAsync()
    {
        var member = ScriptedEtcdMember.CreateCluster(_root.Path, 1)[0];
        RuntimeRig? rig = null;
        try
        {
            rig = await RuntimeRig.CreateAsync(member.Options(), member.SnapshotDir());
            AssertStep.Succeeded(await rig.RunAsync(RuntimeRig.Start()));
            await EtcdData.PutAsync(member.ClientUrl, Before).DefaultTimeout();
            var expected = await EtcdData.ReadAllAsync(member.ClientUrl).DefaultTimeout();
            return (member, rig, expected, await SaveAsync(member));
        }
        catch
        {
            if (rig is not null)
            {
                await rig.DisposeAsync();
            }
            await member.DisposeAsync();
            throw;
        }
    }

    private static async Task<EndpointStatus> StatusAsync(ScriptedEtcdMember member)
        => EndpointStatusJson.Parse((await new Etcdctl(member.ClientUrl).RunAsync(["endpoint", "status", "-w", "json"]).DefaultTimeout()).EnsureSuccess().StandardOutput);

    private static async Task<SnapshotMetadata> SaveAsync(ScriptedEtcdMember member)
    {
        var saver = new SnapshotSaver(() => new GrpcEtcdMaintenance(EtcdConnectionOptions.Resolve(member.Directory, member.ClientUrl, null, null, null)),
            TimeProvider.System, NullLogger<SnapshotSaver>.Instance);
        var result = await saver.SaveAsync(new SnapshotSaveRequest(member.SnapshotDir(), "on-demand", member.Name, Compress: false) { Runtime = Contracts.V1.Runtime.Etcd },
            null, CancellationToken.None).WithTimeout(TestTimeouts.Slow);
        return Assert.IsType<SnapshotMetadata>(result.Metadata);
    }

    /// <summary>After the snapshot: one key changed, one deleted, one added.</summary>
    private static async Task ChangeKeysAsync(string endpoint)
    {
        using var client = new EtcdClient(endpoint);
        await client.PutAsync("/app/a", "changed").DefaultTimeout();
        await client.DeleteAsync("/app/b").DefaultTimeout();
        await client.PutAsync("/app/d", "new").DefaultTimeout();
    }
}
