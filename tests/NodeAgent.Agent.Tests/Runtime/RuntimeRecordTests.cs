using System.Text.Json;
using NodeAgent.Agent.Snapshots;
using NodeAgent.Contracts.V1;
using NodeAgent.Testing;
using NodeAgent.Testing.Etcd;

namespace NodeAgent.Agent.Tests.Runtime;

/// <summary>
/// A K3s/RKE2 node's save records what the node really runs (restore modes kubernetesVersion and all
/// act on it): the version its binary reports and its config files, secrets taken out — in the sidecar,
/// the inventory the catalog gets, and never in a log line.
/// </summary>
public sealed class RuntimeRecordTests : IDisposable
{
    private const string Token = "K10c0ffee::server:s3cr3t-bootstrap";
    private const string S3Secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYS3CR3T";
    private readonly TempDir _root = new();

    public void Dispose() => _root.Dispose();

    private string SnapshotDir => _root.Combine("data", "server", "db", "snapshots");

    private string ConfigPath => _root.Combine("etc", "rancher", "k3s", "config.yaml");

    [Fact]
    public async Task Save_K3sNode_RecordsTheRuntimesVersionAndConfigFilesWithoutSecrets()
    {
        Directory.CreateDirectory(ConfigPath + ".d");
        await File.WriteAllTextAsync(ConfigPath, $"# the bootstrap token\ntoken: {Token}\nnode-name: n1\nwrite-kubeconfig-mode: \"0644\"\netcd-s3-secret-key: {S3Secret}\n");
        await File.WriteAllTextAsync(Path.Combine(ConfigPath + ".d", "10-args.yaml"), "kube-apiserver-arg+:\n  - audit-log-maxage=30\ntls-san:\n  - a.example\n  - b.example\nmy-db-password: hunter2\n");
        await File.WriteAllTextAsync(Path.Combine(ConfigPath + ".d", "zz-nodeagent-restore.yaml"), "server: \"\"\n");
        await using var etcd = await EtcdServer.StartAsync();
        var logs = new ListLoggerProvider();
        await using var rig = await RigAsync(etcd, FakeRuntime.Write(_root.Combine("bin", "k3s"), "k3s", "v1.30.4+k3s1"), logs);

        var outcome = await rig.RunAsync(RuntimeRig.Save());

        AssertStep.Succeeded(outcome);
        var saved = Assert.Single(new LocalSnapshotStore(SnapshotDir, "n1").List()).Metadata!;
        Assert.Equal("v1.30.4+k3s1", saved.KubernetesVersion);
        using var document = JsonDocument.Parse(saved.ClusterConfig);
        Assert.Equal("nodeagent.runtime-config/v1", document.RootElement.GetProperty("format").GetString());
        var files = document.RootElement.GetProperty("files").EnumerateArray().ToList();
        Assert.Equal([ConfigPath, Path.Combine(ConfigPath + ".d", "10-args.yaml")], files.Select(f => f.GetProperty("path").GetString()));
        Assert.Equal("node-name: \"n1\"\nwrite-kubeconfig-mode: \"0644\"\n", files[0].GetProperty("content").GetString());
        Assert.Equal(["token", "etcd-s3-secret-key"], files[0].GetProperty("removedKeys").EnumerateArray().Select(k => k.GetString()));
        Assert.Equal("kube-apiserver-arg+: \"audit-log-maxage=30\"\ntls-san:\n  - \"a.example\"\n  - \"b.example\"\n", files[1].GetProperty("content").GetString());
        Assert.Equal(["my-db-password"], files[1].GetProperty("removedKeys").EnumerateArray().Select(k => k.GetString()));
        foreach (var file in Directory.GetFiles(SnapshotDir, "*", SearchOption.AllDirectories).Where(f => !f.Contains("on-demand-n1-", StringComparison.Ordinal) || f.Contains(".metadata", StringComparison.Ordinal)))
        {
            var text = await File.ReadAllTextAsync(file);
            Assert.DoesNotContain(Token, text, StringComparison.Ordinal);
            Assert.DoesNotContain(S3Secret, text, StringComparison.Ordinal);
            Assert.DoesNotContain("hunter2", text, StringComparison.Ordinal);
        }
        Assert.NotEmpty(logs.Lines);
        Assert.DoesNotContain(logs.Lines, l => l.Contains(Token, StringComparison.Ordinal) || l.Contains(S3Secret, StringComparison.Ordinal) || l.Contains("hunter2", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Save_RuntimeBinaryMissing_RecordsThePlansVersionAndWarns()
    {
        await using var etcd = await EtcdServer.StartAsync();
        var logs = new ListLoggerProvider();
        await using var rig = await RigAsync(etcd, _root.Combine("bin", "k3s"), logs);

        AssertStep.Succeeded(await rig.RunAsync(RuntimeRig.Save()));

        var saved = Assert.Single(new LocalSnapshotStore(SnapshotDir, "n1").List()).Metadata!;
        Assert.Equal("v1.29.9+k3s1", saved.KubernetesVersion);
        Assert.Contains(logs.Lines, l => l.StartsWith("Warning", StringComparison.Ordinal)
            && l.Contains($"no runtime version recorded: {_root.Combine("bin", "k3s")} does not exist", StringComparison.Ordinal));
    }

    private async Task<RuntimeRig> RigAsync(EtcdServer etcd, string binary, ListLoggerProvider? logs = null)
    {
        var options = RuntimeRig.Options("k3s", _root.Combine("data"), _root.Combine("state"), etcd.ClientUrl);
        options.RuntimeBinary = binary;
        options.RuntimeConfig = ConfigPath;
        var rig = await RuntimeRig.CreateAsync(options, SnapshotDir, logs: logs);
        await rig.Targets.ApplyAsync(new SteadyStatePlan
        {
            Runtime = Contracts.V1.Runtime.K3S,
            KubernetesVersion = "v1.29.9+k3s1",
            SnapshotSettings = new SnapshotSettings { Dir = SnapshotDir, RecurringEnabled = false },
        }, CancellationToken.None).WithTimeout(TestTimeouts.Slow);
        return rig;
    }
}
