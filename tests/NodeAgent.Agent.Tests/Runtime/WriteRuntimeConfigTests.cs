using Microsoft.Extensions.Time.Testing;
using NodeAgent.Agent.Runtime;
using NodeAgent.Contracts.V1;
using NodeAgent.Testing;

namespace NodeAgent.Agent.Tests.Runtime;

/// <summary>
/// Restore mode all on a K3s/RKE2 node: the snapshot's config files written back, secret-bearing and
/// node-specific keys kept from the node, each replaced file kept beside, our drop-in untouched,
/// paths outside the runtime's config refused, and a second run changing nothing.
/// </summary>
public sealed class WriteRuntimeConfigTests : IDisposable
{
    private const string Token = "K10node-token::server:kept-secret";
    private static readonly DateTimeOffset Now = new(2026, 11, 30, 8, 0, 0, TimeSpan.Zero);
    private readonly TempDir _root = new();
    private readonly FakeTimeProvider _time = new(Now);

    public void Dispose() => _root.Dispose();

    private string ConfigPath => _root.Combine("etc", "rancher", "k3s", "config.yaml");

    private string DropIns => ConfigPath + ".d";

    private static string Stamp => Now.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public async Task Write_SnapshotsFiles_WrittenWithTheNodesSecretsAndNodeKeysKept()
    {
        // What the node has now: its token and names, a newer setting, a drop-in the snapshot lacks, our drop-in.
        Directory.CreateDirectory(DropIns);
        await File.WriteAllTextAsync(ConfigPath, $"token: {Token}\nnode-name: n2\nnode-ip: 10.0.0.2\nwrite-kubeconfig-mode: \"0600\"\nserver: https://10.0.0.1:6443\n");
        await File.WriteAllTextAsync(Path.Combine(DropIns, "50-new.yaml"), "kubelet-arg+: max-pods=250\n");
        await File.WriteAllTextAsync(Path.Combine(DropIns, "60-secret.yaml"), "agent-token: agent-secret\ndisable: traefik\n");
        var ours = Path.Combine(DropIns, RuntimeConfigFiles.RestoreDropInName);
        await File.WriteAllTextAsync(ours, "server: \"\"\n");
        // What the snapshot recorded (on another node: its node keys must not come over).
        var document = Document(
            (ConfigPath, "node-name: \"n1\"\ncluster-init: \"true\"\nwrite-kubeconfig-mode: \"0644\"\n", ["token"]),
            (Path.Combine(DropIns, "10-args.yaml"), "kube-apiserver-arg+:\n  - \"audit-log-maxage=30\"\n  - \"audit-log-maxbackup=3\"\n", []));
        await using var rig = await RigAsync();

        var outcome = await rig.RunAsync(Write(document));

        AssertStep.Succeeded(outcome);
        Assert.Equal(
            $"write-kubeconfig-mode: \"0644\"\ntoken: \"{Token}\"\nnode-name: \"n2\"\nnode-ip: \"10.0.0.2\"\nserver: \"https://10.0.0.1:6443\"\n",
            await File.ReadAllTextAsync(ConfigPath));
        Assert.Equal("kube-apiserver-arg+:\n  - \"audit-log-maxage=30\"\n  - \"audit-log-maxbackup=3\"\n", await File.ReadAllTextAsync(Path.Combine(DropIns, "10-args.yaml")));
        Assert.Equal("agent-token: \"agent-secret\"\n", await File.ReadAllTextAsync(Path.Combine(DropIns, "60-secret.yaml")));
        Assert.False(File.Exists(Path.Combine(DropIns, "50-new.yaml")));
        Assert.Equal("kubelet-arg+: max-pods=250\n", await File.ReadAllTextAsync(Path.Combine(DropIns, $"50-new.yaml.pre-restore-{Stamp}")));
        Assert.StartsWith($"token: {Token}\nnode-name: n2\n", await File.ReadAllTextAsync($"{ConfigPath}.pre-restore-{Stamp}"), StringComparison.Ordinal);
        Assert.Equal("server: \"\"\n", await File.ReadAllTextAsync(ours));
        foreach (var written in new[] { ConfigPath, Path.Combine(DropIns, "10-args.yaml"), $"{ConfigPath}.pre-restore-{Stamp}" })
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(written));
        }
        Assert.Contains($"wrote {ConfigPath} from the snapshot (kept from this node: token, node-name, node-ip, server); the file before is {ConfigPath}.pre-restore-{Stamp}", outcome.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Token, outcome.Message, StringComparison.Ordinal);
        Assert.True(rig.Executor(Instruction.KindOneofCase.WriteRuntimeConfig).SafeToRerun);
    }

    [Fact]
    public async Task Write_RunAgain_ChangesNothing()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(ConfigPath)!);
        await File.WriteAllTextAsync(ConfigPath, $"token: {Token}\nwrite-kubeconfig-mode: \"0600\"\n");
        var document = Document((ConfigPath, "write-kubeconfig-mode: \"0644\"\n", ["token"]));
        await using var rig = await RigAsync();
        AssertStep.Succeeded(await rig.RunAsync(Write(document)));
        var first = await File.ReadAllTextAsync(ConfigPath);
        _time.Advance(TimeSpan.FromMinutes(1));

        var again = await rig.RunAsync(Write(document));

        Assert.Equal((true, $"{ConfigPath} unchanged"), (again.Succeeded, again.Message));
        Assert.Equal(first, await File.ReadAllTextAsync(ConfigPath));
        Assert.Single(Directory.GetFiles(Path.GetDirectoryName(ConfigPath)!, "config.yaml.pre-restore-*"));
    }

    [Theory]
    [InlineData("/etc/passwd")]
    [InlineData("{0}.d/../../../../etc/shadow.yaml")]
    [InlineData("{0}.d/notes.txt")]
    [InlineData("{0}.d/zz-nodeagent-restore.yaml")]
    public async Task Write_PathOutsideTheRuntimeConfig_RefusedAndNothingWritten(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(ConfigPath)!);
        await File.WriteAllTextAsync(ConfigPath, "write-kubeconfig-mode: \"0600\"\n");
        var target = string.Format(System.Globalization.CultureInfo.InvariantCulture, path, ConfigPath);
        var document = Document((ConfigPath, "write-kubeconfig-mode: \"0644\"\n", []), (target, "x: \"y\"\n", []));
        await using var rig = await RigAsync();

        var outcome = await rig.RunAsync(Write(document));

        Assert.False(outcome.Succeeded);
        Assert.Equal($"refusing to write {target}: only {ConfigPath} and *.yaml drop-ins in {DropIns}/ are this node's runtime config", outcome.Message);
        Assert.Equal("write-kubeconfig-mode: \"0600\"\n", await File.ReadAllTextAsync(ConfigPath));
    }

    [Fact]
    public async Task Write_NotADocument_FailsSayingSo()
    {
        await using var rig = await RigAsync();

        var outcome = await rig.RunAsync(Write("{\"format\":\"kubeadm/v1beta3\",\"files\":[]}"));

        Assert.Equal((false, "the snapshot's configuration is not a nodeagent.runtime-config/v1 document (format \"kubeadm/v1beta3\")"), (outcome.Succeeded, outcome.Message));
    }

    private static Instruction Write(string document) => new() { Id = "write-config", WriteRuntimeConfig = new WriteRuntimeConfigInstruction { Configuration = document } };

    private static string Document(params (string Path, string Content, string[] Removed)[] files)
        => System.Text.Json.JsonSerializer.Serialize(new
        {
            format = "nodeagent.runtime-config/v1",
            files = files.Select(f => new { path = f.Path, content = f.Content, removedKeys = f.Removed }),
        });

    private Task<RuntimeRig> RigAsync()
    {
        var options = RuntimeRig.Options("k3s", _root.Combine("data"), _root.Combine("state"));
        options.RuntimeConfig = ConfigPath;
        return RuntimeRig.CreateAsync(options, _root.Combine("snapshots"), _time);
    }
}
