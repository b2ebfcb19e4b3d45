using System.Diagnostics;
using NodeAgent.Testing.Etcd;
using NodeAgent.Testing.Tools;

namespace NodeAgent.Testing.Tests;

public sealed class EtcdFixtureTests
{
    [Fact]
    public async Task EtcdServer_PutGet_ThroughClientAndEtcdctl()
    {
        await using var etcd = await EtcdServer.StartAsync().WithTimeout(TestTimeouts.Slow);

        await EtcdData.PutAsync(etcd.ClientUrl, [new("/hello", "world")]).DefaultTimeout();
        var got = (await new Etcdctl(etcd.ClientUrl).RunAsync(["get", "/hello", "--print-value-only"]).DefaultTimeout()).EnsureSuccess();

        Assert.Equal("world", got.StandardOutput.Trim());
    }

    [Fact]
    public async Task EtcdData_LoadThenReadAll_EveryKeyBack()
    {
        await using var etcd = await EtcdServer.StartAsync().WithTimeout(TestTimeouts.Slow);

        var count = await EtcdData.LoadAsync(etcd.ClientUrl, megabytes: 3, valueBytes: 256 * 1024).WithTimeout(TestTimeouts.Slow);
        var all = await EtcdData.ReadAllAsync(etcd.ClientUrl, "/bench/").WithTimeout(TestTimeouts.Slow);

        Assert.Equal(12, count);
        Assert.Equal(12, all.Count);
        Assert.Equal(12, all.Values.Distinct().Count());
    }

    [Fact]
    public async Task EtcdCluster_WriteOnOneMember_ReadOnAnother()
    {
        await using var cluster = await EtcdCluster.StartAsync().WithTimeout(TestTimeouts.Slow);

        await EtcdData.PutAsync(cluster.Members[0].ClientUrl, [new("/k", "v")]).DefaultTimeout();
        var members = (await new Etcdctl(cluster.Endpoints).RunAsync(["member", "list"]).DefaultTimeout()).EnsureSuccess();
        var read = await EtcdData.ReadAllAsync(cluster.Members[2].ClientUrl, "/k").DefaultTimeout();

        Assert.Equal(3, members.StandardOutput.Trim().Split('\n').Length);
        Assert.Single(read);
    }

    [Fact]
    public async Task EtcdServer_Disposed_LeavesNoProcess()
    {
        var etcd = await EtcdServer.StartAsync().WithTimeout(TestTimeouts.Slow);
        var pid = etcd.Process.Id;
        var dir = etcd.DataDir;

        await etcd.DisposeAsync();

        Assert.Throws<ArgumentException>(() => Process.GetProcessById(pid));
        Assert.False(Directory.Exists(dir));
    }

    [Fact]
    public async Task EtcdServer_RestoredDataDir_ServesTheSnapshotsKeys()
    {
        using var work = new TempDir();
        var snapshot = work.Combine("snap.db");
        await using (var etcd = await EtcdServer.StartAsync().WithTimeout(TestTimeouts.Slow))
        {
            await EtcdData.PutAsync(etcd.ClientUrl, [new("/a", "1"), new("/b", "2")]).DefaultTimeout();
            (await new Etcdctl(etcd.ClientUrl).SnapshotSaveAsync(snapshot).DefaultTimeout()).EnsureSuccess();
        }
        var restored = work.Combine("restored");
        var peer = FreePorts.Next();
        (await Etcdctl.SnapshotRestoreAsync(snapshot, restored, "r", $"r=http://127.0.0.1:{peer}", $"http://127.0.0.1:{peer}").DefaultTimeout()).EnsureSuccess();

        await using var again = await EtcdServer.StartAsync(restored, "r", peer).WithTimeout(TestTimeouts.Slow);
        var keys = await EtcdData.ReadAllAsync(again.ClientUrl).DefaultTimeout();

        Assert.Equal(["/a", "/b"], keys.Keys);
    }

    [Fact]
    public async Task ScriptedEtcdCluster_StopAndStartAMember_ByItsScripts_KeepsItsData()
    {
        await using var cluster = await ScriptedEtcdCluster.StartAsync(3).WithTimeout(TestTimeouts.Slow);
        await EtcdData.PutAsync(cluster.Members[0].ClientUrl, [new("/k", "v")]).DefaultTimeout();
        var pid = int.Parse(File.ReadAllText(Path.Combine(cluster.Members[1].Directory, "etcd.pid")).Trim(), System.Globalization.CultureInfo.InvariantCulture);

        await cluster.Members[1].StopAsync().WithTimeout(TestTimeouts.Slow);
        var stopped = !Directory.Exists($"/proc/{pid}");
        await cluster.Members[1].StartAsync().WithTimeout(TestTimeouts.Slow);
        await cluster.Members[1].WaitHealthyAsync().WithTimeout(TestTimeouts.Slow);

        Assert.True(stopped);
        Assert.Equal(["/k"], (await EtcdData.ReadAllAsync(cluster.Members[1].ClientUrl).DefaultTimeout()).Keys);
    }
}
