using Microsoft.Extensions.Time.Testing;
using NodeAgent.Agent.Config;
using NodeAgent.Agent.Runtime;
using NodeAgent.Agent.Snapshots;
using NodeAgent.Testing;

namespace NodeAgent.Agent.Tests.Runtime;

/// <summary>
/// The k3s and rke2 drivers against stand-ins (see <see cref="StandIn"/> for why): the exact
/// command lines, environment and file operations that the reference notes document.
/// </summary>
public sealed class DistributionDriverTests : IDisposable
{
    private const string Token = "K10secret-bootstrap-token::server:abcdef";
    private static readonly DateTimeOffset Now = new(2026, 11, 24, 12, 0, 0, TimeSpan.Zero);
    private readonly TempDir _root = new();
    private readonly FakeTimeProvider _time = new(Now);

    public void Dispose() => _root.Dispose();

    private string DataDir => _root.Combine("var", "lib", "rancher", "rt");

    private string SnapshotDir => Path.Combine(DataDir, "server", "db", "snapshots");

    [Theory]
    [InlineData("k3s", "K3S_DATA_DIR")]
    [InlineData("rke2", "RKE2_DATA_DIR")]
    public async Task Killall_Installed_RunsTheScriptWithTheDataDirVariable(string runtime, string variable)
    {
        var script = new StandIn(_root.Combine("bin", $"{runtime}-killall.sh"));
        await using var rig = await RigAsync(runtime, killall: script.Path);

        var outcome = await rig.RunAsync(RuntimeRig.Killall());

        Assert.True(outcome.Succeeded, outcome.Message);
        var call = script.Single();
        Assert.Empty(call.Arguments);
        Assert.Equal(DataDir, call.Environment[variable]);
        Assert.DoesNotContain(call.Environment.Keys, k => k.StartsWith("NODEAGENT_", StringComparison.Ordinal) || k == "NOTIFY_SOCKET");
        Assert.Contains("stand-in stdout", outcome.StdoutTail, StringComparison.Ordinal);
        Assert.Contains("stand-in stderr", outcome.StderrTail, StringComparison.Ordinal);
        Assert.True(rig.Executor(Contracts.V1.Instruction.KindOneofCase.RunKillall).SafeToRerun);
    }

    [Fact]
    public async Task Killall_Rke2EtcdNode_RemovesTheRke2ManifestsOnly()
    {
        var script = new StandIn(_root.Combine("bin", "rke2-killall.sh"));
        var manifests = Path.Combine(DataDir, "server", "manifests");
        Directory.CreateDirectory(manifests);
        foreach (var name in new[] { "rke2-etcd.yaml", "rke2-kube-apiserver.yaml", "my-app.yaml", "rke2-notes.txt" })
        {
            await File.WriteAllTextAsync(Path.Combine(manifests, name), "x");
        }
        await using var rig = await RigAsync("rke2", killall: script.Path);

        var outcome = await rig.RunAsync(RuntimeRig.Killall());

        Assert.True(outcome.Succeeded, outcome.Message);
        Assert.Equal(["my-app.yaml", "rke2-notes.txt"], Directory.GetFiles(manifests).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Contains("rke2-etcd.yaml", outcome.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Killall_NeitherBinaryNorScriptInstalled_SucceedsAsNotInstalled()
    {
        await using var rig = await RigAsync("k3s", killall: _root.Combine("bin", "k3s-killall.sh"), binary: _root.Combine("bin", "k3s"));

        var outcome = await rig.RunAsync(RuntimeRig.Killall());

        Assert.True(outcome.Succeeded, outcome.Message);
        Assert.Contains("k3s is not installed", outcome.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Killall_ConfiguredScriptElsewhere_ThatOneRuns()
    {
        var standard = new StandIn(_root.Combine("bin", "k3s-killall.sh"));
        var configured = new StandIn(_root.Combine("opt", "custom-killall.sh"));
        await using var rig = await RigAsync("k3s", killall: configured.Path);

        var outcome = await rig.RunAsync(RuntimeRig.Killall());

        Assert.True(outcome.Succeeded, outcome.Message);
        Assert.Single(configured.Calls());
        Assert.Empty(standard.Calls());
    }

    [Fact]
    public async Task Killall_ScriptFails_ReportsExitCodeAndOutputAsRetryable()
    {
        var script = new StandIn(_root.Combine("bin", "k3s-killall.sh"), exitCode: 3, stderr: "umount: target is busy");
        await using var rig = await RigAsync("k3s", killall: script.Path);

        var outcome = await rig.RunAsync(RuntimeRig.Killall());

        Assert.False(outcome.Succeeded);
        Assert.True(outcome.Retryable);
        Assert.Equal(3, outcome.ExitCode);
        Assert.Contains("exited 3: umount: target is busy", outcome.Message, StringComparison.Ordinal);
        Assert.Contains("umount: target is busy", outcome.StderrTail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("k3s", "k3s")]
    [InlineData("rke2", "rke2-server")]
    public async Task Start_RunsTheServiceCommandThroughTheShell(string runtime, string unit)
    {
        var systemctl = new StandIn(_root.Combine("bin", "systemctl"));
        await using var rig = await RigAsync(runtime, start: $"{systemctl.Path} start {unit}");

        var started = await rig.Driver.StartAsync(CancellationToken.None).WithTimeout(TestTimeouts.Slow);

        Assert.True(started.Succeeded, started.Message);
        Assert.Equal([["start", unit]], systemctl.Calls().Select(c => c.Arguments));
    }

    [Fact]
    public async Task StartRuntime_WorkerSkipsTheEtcdWait_SucceedsOnceTheUnitStarted()
    {
        var systemctl = new StandIn(_root.Combine("bin", "systemctl"));
        await using var rig = await RigAsync("k3s", start: $"{systemctl.Path} start k3s-agent");

        // No etcd answers at the rig's endpoint: with the wait, this step would run into its deadline.
        var started = await rig.RunAsync(new Contracts.V1.Instruction { Id = "start", StartRuntime = new Contracts.V1.StartRuntimeInstruction { SkipEtcdWait = true } });

        AssertStep.Succeeded(started);
        Assert.DoesNotContain("etcd", started.Message, StringComparison.Ordinal);
        Assert.Equal([["start", "k3s-agent"]], systemctl.Calls().Select(c => c.Arguments));
    }

    [Fact]
    public void Defaults_AreTheDistributionsOwnPathsAndUnits()
    {
        var k3s = new AgentOptions { Runtime = Contracts.V1.Runtime.K3S };
        var rke2 = new AgentOptions { Runtime = Contracts.V1.Runtime.Rke2 };

        Assert.Equal(("/usr/local/bin/k3s-killall.sh", "/usr/local/bin/k3s", "systemctl start k3s"),
            (k3s.EffectiveKillallScript, k3s.EffectiveRuntimeBinary, k3s.EffectiveServiceStartCommand));
        Assert.Equal(("/usr/local/bin/rke2-killall.sh", "/usr/local/bin/rke2", "systemctl start rke2-server"),
            (rke2.EffectiveKillallScript, rke2.EffectiveRuntimeBinary, rke2.EffectiveServiceStartCommand));
    }

    [Fact]
    public async Task RemoveEtcdData_Tombstone_WritesOnlyTheTombstoneAndKeepsTlsAndCred()
    {
        var etcd = Path.Combine(DataDir, "server", "db", "etcd");
        var member = Path.Combine(etcd, "member", "snap");
        Directory.CreateDirectory(member);
        await File.WriteAllTextAsync(Path.Combine(member, "db"), "bolt");
        Directory.CreateDirectory(Path.Combine(DataDir, "server", "tls", "etcd"));
        Directory.CreateDirectory(Path.Combine(DataDir, "server", "cred"));
        await File.WriteAllTextAsync(Path.Combine(DataDir, "server", "cred", "passwd"), "x");
        await using var rig = await RigAsync("k3s");

        var outcome = await rig.RunAsync(RuntimeRig.RemoveEtcdData(tombstone: true));

        Assert.True(outcome.Succeeded, outcome.Message);
        Assert.True(File.Exists(Path.Combine(etcd, "tombstone")));
        Assert.True(File.Exists(Path.Combine(member, "db")));
        // tls/cred go with RemoveServerCredentials: a restore whose later step fails can still start the old cluster.
        Assert.True(Directory.Exists(Path.Combine(DataDir, "server", "tls", "etcd")));
        Assert.True(File.Exists(Path.Combine(DataDir, "server", "cred", "passwd")));
        Assert.False(rig.Executor(Contracts.V1.Instruction.KindOneofCase.RemoveEtcdData).SafeToRerun);
    }

    [Fact]
    public async Task RemoveEtcdData_NoTombstone_MovesEtcdAsideWithItsTime()
    {
        var etcd = Path.Combine(DataDir, "server", "db", "etcd");
        Directory.CreateDirectory(Path.Combine(etcd, "member"));
        await using var rig = await RigAsync("rke2");

        var outcome = await rig.RunAsync(RuntimeRig.RemoveEtcdData(tombstone: false));

        Assert.True(outcome.Succeeded, outcome.Message);
        Assert.False(Directory.Exists(etcd));
        Assert.True(Directory.Exists(Path.Combine(DataDir, "server", "db", $"etcd-nodeagent-{Now.ToUnixTimeSeconds()}", "member")));
    }

    [Fact]
    public async Task RemoveEtcdData_RuntimesOwnAsideDirsThere_MovesToANameOfOursAndNeverPrunesTheirs()
    {
        var db = Path.Combine(DataDir, "server", "db");
        Directory.CreateDirectory(Path.Combine(db, "etcd", "member"));
        // K3s's own: cluster-reset's etcd-old-<unix> (one from this very second) and the tombstone's etcd-backup-<unix>.
        string[] theirs = [$"etcd-old-{Now.ToUnixTimeSeconds()}", "etcd-old-1700000000", "etcd-old-1700000100", "etcd-old-1700000200", "etcd-backup-1700000300"];
        string[] oursBefore = ["etcd-nodeagent-1700000000", "etcd-nodeagent-1700000100", "etcd-nodeagent-1700000200"];
        foreach (var dir in theirs.Concat(oursBefore))
        {
            Directory.CreateDirectory(Path.Combine(db, dir, "member"));
        }
        await using var rig = await RigAsync("k3s");

        var outcome = await rig.RunAsync(RuntimeRig.RemoveEtcdData(tombstone: false));

        AssertStep.Succeeded(outcome);
        Assert.Contains($"etcd-nodeagent-{Now.ToUnixTimeSeconds()}", outcome.Message, StringComparison.Ordinal);
        // Ours: the newest three kept. Theirs: every one still there.
        Assert.Equal(
            theirs.Concat(["etcd-nodeagent-1700000100", "etcd-nodeagent-1700000200", $"etcd-nodeagent-{Now.ToUnixTimeSeconds()}"]).Order(StringComparer.Ordinal),
            Directory.GetDirectories(db).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.True(Directory.Exists(Path.Combine(db, $"etcd-old-{Now.ToUnixTimeSeconds()}", "member")));
    }

    [Theory]
    [InlineData("127.0.0.1,::1", "127.0.0.1")]
    [InlineData("127.0.0.1", "127.0.0.1")]
    [InlineData("::1", "[::1]")]
    [InlineData("", "[::1]")]
    public void LoopbackAddress_FromTheLoopbackInterfacesAddresses_IsIPv4WhenThereElseBracketedIPv6(string addresses, string expected)
    {
        var list = addresses.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(System.Net.IPAddress.Parse);

        Assert.Equal(expected, LoopbackAddress.Choose(list));
    }

    [Theory]
    [InlineData("k3s", "K3S_DATA_DIR")]
    [InlineData("rke2", "RKE2_DATA_DIR")]
    public async Task Restore_RunsTheClusterResetAsRancherDoes_WithTheEtcdDataMovedAside(string runtime, string variable)
    {
        var binary = new StandIn(_root.Combine("bin", runtime), stdout: "Managed etcd cluster membership has been reset, restart without --cluster-reset flag now");
        var snapshot = StandIn.FramedSnapshot(Path.Combine(SnapshotDir, "on-demand-node1-1700000000"));
        var etcd = Path.Combine(DataDir, "server", "db", "etcd");
        Directory.CreateDirectory(Path.Combine(etcd, "member"));
        await using var rig = await RigAsync(runtime, binary: binary.Path);

        var outcome = await rig.RunAsync(RuntimeRig.Restore("on-demand-node1-1700000000", StandIn.Sha256(snapshot)));

        Assert.True(outcome.Succeeded, outcome.Message);
        var call = binary.Single();
        Assert.Equal(
            ["server", "--cluster-reset", $"--cluster-reset-restore-path={snapshot}", "--etcd-s3=false",
             $"--etcd-arg=advertise-client-urls=https://{LoopbackAddress.OfHost()}:2379", "--etcd-disable-snapshots=false"],
            call.Arguments);
        Assert.Equal(DataDir, call.Environment[variable]);
        Assert.Equal(DataDir, call.WorkingDirectory);
        Assert.False(Directory.Exists(etcd));
        Assert.True(Directory.Exists(Path.Combine(DataDir, "server", "db", $"etcd-nodeagent-{Now.ToUnixTimeSeconds()}", "member")));
        Assert.Equal(0, outcome.ExitCode);
        Assert.Contains("membership has been reset", outcome.StdoutTail, StringComparison.Ordinal);
        Assert.Contains("stand-in stderr", outcome.StderrTail, StringComparison.Ordinal);
        // No secret on the command line or in what the agent adds to the environment.
        Assert.DoesNotContain(call.Arguments, a => a.Contains(Token, StringComparison.Ordinal) || a.Contains("token", StringComparison.OrdinalIgnoreCase));
        Assert.DoesNotContain(call.Environment.Values, v => v.Contains(Token, StringComparison.Ordinal));
        Assert.False(rig.Executor(Contracts.V1.Instruction.KindOneofCase.RestoreSnapshot).SafeToRerun);
    }

    [Fact]
    public async Task Restore_Zip_IsUnpackedNextToItAndThePlainFileIsRestored()
    {
        var binary = new StandIn(_root.Combine("bin", "k3s"));
        var plain = StandIn.FramedSnapshot(Path.Combine(SnapshotDir, "on-demand-node1-1700000000"));
        var zip = (await SnapshotZip.CompressAsync(plain, Now, CancellationToken.None)).Path;
        await using var rig = await RigAsync("k3s", binary: binary.Path);

        var outcome = await rig.RunAsync(RuntimeRig.Restore("on-demand-node1-1700000000.zip", StandIn.Sha256(zip)));

        Assert.True(outcome.Succeeded, outcome.Message);
        Assert.Contains($"--cluster-reset-restore-path={plain}", binary.Single().Arguments);
        Assert.True(File.Exists(plain));
    }

    [Fact]
    public async Task Restore_ClusterResetFails_ReportsItNonRetryableAndWhereTheOldDataIs()
    {
        var binary = new StandIn(_root.Combine("bin", "k3s"), exitCode: 1,
            stderr: "bootstrap data already found and encrypted with different token");
        StandIn.FramedSnapshot(Path.Combine(SnapshotDir, "on-demand-node1-1700000000"));
        Directory.CreateDirectory(Path.Combine(DataDir, "server", "db", "etcd"));
        await using var rig = await RigAsync("k3s", binary: binary.Path);

        var outcome = await rig.RunAsync(RuntimeRig.Restore("on-demand-node1-1700000000"));

        Assert.False(outcome.Succeeded);
        Assert.False(outcome.Retryable);
        Assert.Equal(1, outcome.ExitCode);
        Assert.Contains("encrypted with different token", outcome.Message, StringComparison.Ordinal);
        Assert.Contains($"etcd-nodeagent-{Now.ToUnixTimeSeconds()}", outcome.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Restore_NotInstalled_FailsWithoutTouchingTheData()
    {
        StandIn.FramedSnapshot(Path.Combine(SnapshotDir, "on-demand-node1-1700000000"));
        var etcd = Path.Combine(DataDir, "server", "db", "etcd");
        Directory.CreateDirectory(etcd);
        await using var rig = await RigAsync("k3s", binary: _root.Combine("bin", "k3s"));

        var outcome = await rig.RunAsync(RuntimeRig.Restore("on-demand-node1-1700000000"));

        Assert.False(outcome.Succeeded);
        Assert.Contains("k3s is not installed at", outcome.Message, StringComparison.Ordinal);
        Assert.True(Directory.Exists(etcd));
    }

    [Fact]
    public async Task Restore_SnapshotNotHere_FailsBeforeAnythingRuns()
    {
        var binary = new StandIn(_root.Combine("bin", "k3s"));
        await using var rig = await RigAsync("k3s", binary: binary.Path);

        var outcome = await rig.RunAsync(RuntimeRig.Restore("on-demand-node9-1700000000"));

        Assert.False(outcome.Succeeded);
        Assert.Contains("is not in", outcome.Message, StringComparison.Ordinal);
        Assert.Empty(binary.Calls());
    }

    private Task<RuntimeRig> RigAsync(string runtime, string? killall = null, string? binary = null, string? start = null)
    {
        Directory.CreateDirectory(DataDir);
        // Nobody listens at the rig's etcd endpoint: the restore's "is etcd still running?" check gets a refusal.
        var options = RuntimeRig.Options(runtime, DataDir, _root.Combine("state"), nodeName: "node1");
        options.Token = Token;
        options.KillallScript = killall ?? _root.Combine("bin", $"{runtime}-killall.sh");
        options.RuntimeBinary = binary ?? _root.Combine("bin", runtime);
        options.ServiceStartCommand = start ?? "";
        return RuntimeRig.CreateAsync(options, SnapshotDir, _time);
    }
}
