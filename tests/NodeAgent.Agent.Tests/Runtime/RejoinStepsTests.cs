using Microsoft.Extensions.Time.Testing;
using NodeAgent.Agent.Runtime;
using NodeAgent.Contracts.V1;
using NodeAgent.Testing;

namespace NodeAgent.Agent.Tests.Runtime;

/// <summary>
/// The K3s/RKE2 rejoin steps of a restore (config drop-in, server credentials, restart), run through
/// the daemon's executors on real files; the drop-in is read back with the one reader of the
/// runtime's config (<see cref="RuntimeConfigFiles"/>), as the runtime merges it.
/// </summary>
public sealed class RejoinStepsTests : IDisposable
{
    private readonly TempDir _root = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 24, 12, 0, 0, TimeSpan.Zero));

    public void Dispose() => _root.Dispose();

    private string DataDir => _root.Combine("var", "lib", "rancher", "k3s");

    private string RuntimeConfig => _root.Combine("etc", "rancher", "k3s", "config.yaml");

    private string DropIn => RuntimeConfig + ".d/" + RuntimeConfigFiles.RestoreDropInName;

    [Fact]
    public async Task WriteConfigDropIn_InitNode_WritesAnEmptyServerThatWinsOverTheNodesOwn()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(RuntimeConfig)!);
        await File.WriteAllTextAsync(RuntimeConfig, "token: secret\nserver: https://10.0.0.1:6443\n");
        await using var rig = await RigAsync("k3s");

        var outcome = await rig.RunAsync(WriteDropIn(""));

        AssertStep.Succeeded(outcome);
        Assert.Equal("server: \"\"\n", await File.ReadAllTextAsync(DropIn));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(DropIn));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead
            | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute, File.GetUnixFileMode(RuntimeConfig + ".d"));
        Assert.Equal("", RuntimeConfigFiles.Read(RuntimeConfig).Scalar("server"));
        Assert.Equal([RuntimeConfigFiles.RestoreDropInName], Directory.GetFiles(RuntimeConfig + ".d").Select(Path.GetFileName));
        Assert.Contains(DropIn, outcome.Message, StringComparison.Ordinal);
        Assert.True(rig.Executor(Instruction.KindOneofCase.WriteConfigDropIn).SafeToRerun);
    }

    [Theory]
    [InlineData("https://10.0.0.1:6443")]
    [InlineData("https://[fd00::1]:9345")]
    [InlineData("https://host\"with\\odd:chars #x")]
    public async Task WriteConfigDropIn_RunTwice_LeavesOneFileTheRuntimeReadsAsTheValue(string server)
    {
        await using var rig = await RigAsync("rke2");

        AssertStep.Succeeded(await rig.RunAsync(WriteDropIn("https://old:9345")));
        AssertStep.Succeeded(await rig.RunAsync(WriteDropIn(server)));

        Assert.Equal(server, RuntimeConfigFiles.Read(RuntimeConfig).Scalar("server"));
        Assert.StartsWith("server: \"", await File.ReadAllTextAsync(DropIn), StringComparison.Ordinal);
        Assert.Equal([RuntimeConfigFiles.RestoreDropInName], Directory.GetFiles(RuntimeConfig + ".d").Select(Path.GetFileName));
    }

    [Fact]
    public async Task RemoveConfigDropIn_PresentThenAbsent_RemovesOnlyOursAndSucceedsBothTimes()
    {
        Directory.CreateDirectory(RuntimeConfig + ".d");
        var other = Path.Combine(RuntimeConfig + ".d", "50-operator.yaml");
        await File.WriteAllTextAsync(other, "node-label: [a=b]\n");
        await using var rig = await RigAsync("k3s");
        AssertStep.Succeeded(await rig.RunAsync(WriteDropIn("https://10.0.0.1:6443")));

        var removed = await rig.RunAsync(new Instruction { Id = "rm", RemoveConfigDropIn = new RemoveConfigDropInInstruction() });
        var again = await rig.RunAsync(new Instruction { Id = "rm", RemoveConfigDropIn = new RemoveConfigDropInInstruction() });

        AssertStep.Succeeded(removed);
        AssertStep.Succeeded(again);
        Assert.StartsWith("removed ", removed.Message, StringComparison.Ordinal);
        Assert.Contains("nothing to remove", again.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(DropIn));
        Assert.True(File.Exists(other));
        Assert.True(rig.Executor(Instruction.KindOneofCase.RemoveConfigDropIn).SafeToRerun);
    }

    [Fact]
    public async Task RemoveServerCredentials_TlsAndCred_BothGoAndTheEtcdDataStays()
    {
        var server = Path.Combine(DataDir, "server");
        Directory.CreateDirectory(Path.Combine(server, "tls", "etcd"));
        Directory.CreateDirectory(Path.Combine(server, "cred"));
        Directory.CreateDirectory(Path.Combine(server, "db", "etcd", "member"));
        await File.WriteAllTextAsync(Path.Combine(server, "cred", "passwd"), "x");
        await using var rig = await RigAsync("k3s");

        var outcome = await rig.RunAsync(new Instruction { Id = "cred", RemoveServerCredentials = new RemoveServerCredentialsInstruction() });
        var again = await rig.RunAsync(new Instruction { Id = "cred", RemoveServerCredentials = new RemoveServerCredentialsInstruction() });

        AssertStep.Succeeded(outcome);
        AssertStep.Succeeded(again);
        Assert.False(Directory.Exists(Path.Combine(server, "tls")));
        Assert.False(Directory.Exists(Path.Combine(server, "cred")));
        Assert.True(Directory.Exists(Path.Combine(server, "db", "etcd", "member")));
        Assert.Contains($"removed {Path.Combine(server, "tls")}", outcome.Message, StringComparison.Ordinal);
        Assert.True(rig.Executor(Instruction.KindOneofCase.RemoveServerCredentials).SafeToRerun);
    }

    [Theory]
    [InlineData("k3s", "k3s")]
    [InlineData("rke2", "rke2-server")]
    public async Task StartRuntime_Restart_RunsTheRestartCommandNotTheStartCommand(string runtime, string unit)
    {
        var systemctl = new StandIn(_root.Combine("bin", "systemctl"));
        var options = Options(runtime);
        options.ServiceStartCommand = $"{systemctl.Path} start {unit}";
        options.ServiceRestartCommand = $"{systemctl.Path} restart {unit}";
        await using var rig = await RuntimeRig.CreateAsync(options, Path.Combine(DataDir, "server", "db", "snapshots"), _time);

        var outcome = await rig.RunAsync(new Instruction { Id = "restart", StartRuntime = new StartRuntimeInstruction { Restart = true, SkipEtcdWait = true } });

        AssertStep.Succeeded(outcome);
        Assert.Equal([["restart", unit]], systemctl.Calls().Select(c => c.Arguments));
        Assert.Contains("restarted", outcome.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RejoinSteps_RuntimeEtcd_FailNamingTheInstructionAndTouchNothing()
    {
        var options = RuntimeRig.Options("etcd", DataDir, _root.Combine("state"));
        options.EtcdDataDir = _root.Combine("etcd-data");
        options.RuntimeConfig = RuntimeConfig;
        Directory.CreateDirectory(Path.Combine(DataDir, "server", "tls"));
        await using var rig = await RuntimeRig.CreateAsync(options, _root.Combine("snapshots"), _time);

        var outcomes = new[]
        {
            await rig.RunAsync(WriteDropIn("")),
            await rig.RunAsync(new Instruction { Id = "rm", RemoveConfigDropIn = new RemoveConfigDropInInstruction() }),
            await rig.RunAsync(new Instruction { Id = "cred", RemoveServerCredentials = new RemoveServerCredentialsInstruction() }),
            await rig.RunAsync(new Instruction { Id = "restart", StartRuntime = new StartRuntimeInstruction { Restart = true } }),
        };

        Assert.All(outcomes, o => Assert.False(o.Succeeded));
        Assert.All(outcomes, o => Assert.False(o.Retryable));
        Assert.Equal(
            ["WriteConfigDropIn", "RemoveConfigDropIn", "RemoveServerCredentials", "StartRuntime with restart"],
            outcomes.Select(o => o.Message[..o.Message.IndexOf(" is a k3s/rke2 instruction; this node's runtime is etcd: nothing was done", StringComparison.Ordinal)]));
        Assert.False(Directory.Exists(RuntimeConfig + ".d"));
        Assert.True(Directory.Exists(Path.Combine(DataDir, "server", "tls")));
    }

    private static Instruction WriteDropIn(string server) => new() { Id = "dropin", WriteConfigDropIn = new WriteConfigDropInInstruction { Server = server } };

    private Config.AgentOptions Options(string runtime)
    {
        Directory.CreateDirectory(DataDir);
        var options = RuntimeRig.Options(runtime, DataDir, _root.Combine("state"));
        options.RuntimeConfig = RuntimeConfig;
        return options;
    }

    private Task<RuntimeRig> RigAsync(string runtime) => RuntimeRig.CreateAsync(Options(runtime), Path.Combine(DataDir, "server", "db", "snapshots"), _time);
}
