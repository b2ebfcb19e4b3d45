using NodeAgent.Agent.Runtime;
using NodeAgent.Contracts.V1;
using NodeAgent.Testing;

namespace NodeAgent.Agent.Tests.Runtime;

/// <summary>
/// Restore mode kubernetesVersion on a K3s/RKE2 node: CheckRuntimeVersion (Started; changes nothing),
/// InstallRuntimeVersion (Shutdown; keeps what it replaces) and RollbackRuntimeVersion, with runtime
/// binaries that answer --version as K3s does (<see cref="FakeRuntime"/>), an air-gap dir of versions,
/// and install/check commands the config names.
/// </summary>
public sealed class RuntimeVersionTests : IDisposable
{
    private const string Old = "v1.30.4+k3s1";
    private const string New = "v1.31.2+k3s1";
    private readonly TempDir _root = new();

    public void Dispose() => _root.Dispose();

    private string Binary => _root.Combine("usr", "local", "bin", "k3s");

    private string VersionsDir => _root.Combine("versions");

    private string StateDir => _root.Combine("state");

    [Theory]
    [InlineData("k3s version v1.31.2+k3s1 (0123abcd)\ngo version go1.22.5\n", "v1.31.2+k3s1")]
    [InlineData("rke2 version v1.30.4+rke2r1 (abcdef)\ngo version go1.22.5\n", "v1.30.4+rke2r1")]
    [InlineData("k3s version 1.31.2 (0123abcd)\n", null)]
    [InlineData("Usage: k3s [global options]\n", null)]
    public void Parse_VersionOutput_TakesTheThirdWordOfTheFirstLine(string output, string? expected)
        => Assert.Equal(expected, RuntimeVersion.Parse(output));

    [Fact]
    public async Task Check_AlreadyRunsTheVersion_SucceedsAndSaysSo()
    {
        FakeRuntime.Write(Binary, "k3s", New);
        await using var rig = await RigAsync();

        var outcome = await rig.RunAsync(Check(New));

        Assert.Equal((true, $"{Binary} already runs {New}"), (outcome.Succeeded, outcome.Message));
        Assert.True(rig.Executor(Instruction.KindOneofCase.CheckRuntimeVersion).SafeToRerun);
    }

    [Fact]
    public async Task Check_AirGapDirHoldsTheVersion_SucceedsAndChangesNothing()
    {
        FakeRuntime.Write(Binary, "k3s", Old);
        FakeRuntime.Write(Path.Combine(VersionsDir, New, "k3s"), "k3s", New);
        var before = await File.ReadAllTextAsync(Binary);
        await using var rig = await RigAsync(airGap: true);

        var outcome = await rig.RunAsync(Check(New));

        AssertStep.Succeeded(outcome);
        Assert.Equal($"{New} can be installed from {Path.Combine(VersionsDir, New, "k3s")} (this node runs {Old})", outcome.Message);
        Assert.Equal(before, await File.ReadAllTextAsync(Binary));
        Assert.False(Directory.Exists(Path.Combine(StateDir, "runtime-rollback")));
    }

    [Fact]
    public async Task Check_AirGapDirLacksTheVersion_FailsNamingTheMissingBinary()
    {
        FakeRuntime.Write(Binary, "k3s", Old);
        Directory.CreateDirectory(VersionsDir);
        await using var rig = await RigAsync(airGap: true);

        var outcome = await rig.RunAsync(Check(New));

        Assert.False(outcome.Succeeded);
        Assert.False(outcome.Retryable);
        Assert.Equal($"{New} cannot be had: {Path.Combine(VersionsDir, New, "k3s")} does not exist (runtime-versions-dir)", outcome.Message);
    }

    [Fact]
    public async Task Check_CheckCommandFails_FailsWithItsExitCodeAndLastLine()
    {
        FakeRuntime.Write(Binary, "k3s", Old);
        var check = new StandIn(_root.Combine("bin", "check"), exitCode: 22, stderr: "curl: (22) The requested URL returned error: 404");
        await using var rig = await RigAsync(configure: o => o.RuntimeVersionCheckCommand = check.Path);

        var outcome = await rig.RunAsync(Check("v1.99.0+k3s1"));

        Assert.False(outcome.Succeeded);
        Assert.Equal($"v1.99.0+k3s1 cannot be had: /bin/sh -c {check.Path} exited 22: curl: (22) The requested URL returned error: 404", outcome.Message);
        Assert.Equal("v1.99.0+k3s1", check.Single().Environment["INSTALL_K3S_VERSION"]);
    }

    [Theory]
    [InlineData("v1.31.2+k3s1; rm -rf /")]
    [InlineData("1.31.2")]
    [InlineData("")]
    public async Task CheckAndInstall_NotAVersion_RefusedBeforeAnyCommandRuns(string version)
    {
        FakeRuntime.Write(Binary, "k3s", Old);
        var install = new StandIn(_root.Combine("bin", "install"));
        await using var rig = await RigAsync(configure: o => (o.RuntimeVersionCheckCommand, o.RuntimeInstallCommand) = (install.Path, install.Path));

        var outcomes = new[] { await rig.RunAsync(Check(version)), await rig.RunAsync(Install(version)) };

        Assert.All(outcomes, o => Assert.Equal((false, $"\"{version}\" is not a runtime version (v<major>.<minor>.<patch>…, e.g. v1.30.4+k3s1)"), (o.Succeeded, o.Message)));
        Assert.Empty(install.Calls());
    }

    [Fact]
    public async Task Install_FromTheAirGapDir_ReplacesTheBinaryAndKeepsTheOldOne()
    {
        FakeRuntime.Write(Binary, "k3s", Old);
        FakeRuntime.Write(Path.Combine(VersionsDir, New, "k3s"), "k3s", New);
        await using var rig = await RigAsync(airGap: true);

        var outcome = await rig.RunAsync(Install(New));

        AssertStep.Succeeded(outcome);
        Assert.Equal(New, await VersionOfAsync(Binary));
        Assert.Equal(RuntimeFiles.Executable, File.GetUnixFileMode(Binary));
        var kept = Path.Combine(StateDir, "runtime-rollback", "op-1", "k3s");
        Assert.Equal(Old, await VersionOfAsync(kept));
        Assert.Contains($"{Binary} --version says {New}", outcome.Message, StringComparison.Ordinal);
        Assert.Contains($"{Binary} ({Old}) kept as {kept} for a rollback", outcome.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(Binary)!, "*" + RuntimeFiles.TempSuffix));
        Assert.True(rig.Executor(Instruction.KindOneofCase.InstallRuntimeVersion).SafeToRerun);
    }

    [Fact]
    public async Task Install_RunAgain_SaysAlreadyThereAndRollbackStillPutsBackTheFirstBinary()
    {
        FakeRuntime.Write(Binary, "k3s", Old);
        FakeRuntime.Write(Path.Combine(VersionsDir, New, "k3s"), "k3s", New);
        await using var rig = await RigAsync(airGap: true);

        AssertStep.Succeeded(await rig.RunAsync(Install(New)));
        var again = await rig.RunAsync(Install(New));
        var rollback = await rig.RunAsync(Rollback());

        Assert.Equal((true, $"{Binary} already runs {New}"), (again.Succeeded, again.Message));
        AssertStep.Succeeded(rollback);
        Assert.Equal(Old, await VersionOfAsync(Binary));
        Assert.Equal($"put back {Binary} from {Path.Combine(StateDir, "runtime-rollback", "op-1", "k3s")}: {Binary} --version says {Old}", rollback.Message);
        Assert.True(rig.Executor(Instruction.KindOneofCase.RollbackRuntimeVersion).SafeToRerun);
    }

    [Fact]
    public async Task Rollback_NoInstallInThisOperation_ChangesNothing()
    {
        FakeRuntime.Write(Binary, "k3s", Old);
        await using var rig = await RigAsync();

        var outcome = await rig.RunAsync(Rollback());

        Assert.Equal((true, $"no runtime install replaced {Binary} in this operation: nothing to roll back"), (outcome.Succeeded, outcome.Message));
        Assert.Equal(Old, await VersionOfAsync(Binary));
    }

    [Fact]
    public async Task Install_WithTheInstallCommand_RunsItWithTheInstallersVariables()
    {
        FakeRuntime.Write(Binary, "k3s", Old);
        FakeRuntime.Write(Path.Combine(VersionsDir, New, "k3s"), "k3s", New);
        var seen = _root.Combine("install.env");
        await using var rig = await RigAsync(configure: o => o.RuntimeInstallCommand = $"env > {seen}; cp {VersionsDir}/$INSTALL_K3S_VERSION/k3s {Binary}");

        var outcome = await rig.RunAsync(Install(New));

        AssertStep.Succeeded(outcome);
        Assert.Equal(New, await VersionOfAsync(Binary));
        var env = await File.ReadAllLinesAsync(seen);
        Assert.Contains($"INSTALL_K3S_VERSION={New}", env);
        Assert.Contains("INSTALL_K3S_SKIP_START=true", env);
        Assert.Contains("INSTALL_K3S_SKIP_ENABLE=true", env);
        Assert.Contains("INSTALL_K3S_EXEC=server", env);
    }

    [Fact]
    public async Task Install_CommandLeavesAnotherVersion_FailsNamingBoth()
    {
        FakeRuntime.Write(Binary, "k3s", Old);
        await using var rig = await RigAsync(configure: o => o.RuntimeInstallCommand = "true");

        var outcome = await rig.RunAsync(Install(New));

        Assert.False(outcome.Succeeded);
        Assert.StartsWith($"installed {New}, but {Binary} --version says {Old}", outcome.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Install_CommandFails_FailsWithItsOutputAndTheOldBinaryStays()
    {
        FakeRuntime.Write(Binary, "k3s", Old);
        var install = new StandIn(_root.Combine("bin", "install"), exitCode: 1, stderr: "[ERROR]  Download failed");
        await using var rig = await RigAsync(configure: o => o.RuntimeInstallCommand = install.Path);

        var outcome = await rig.RunAsync(Install(New));

        Assert.False(outcome.Succeeded);
        Assert.StartsWith($"installing {New} failed: /bin/sh -c {install.Path} exited 1: [ERROR]  Download failed", outcome.Message, StringComparison.Ordinal);
        Assert.Equal(Old, await VersionOfAsync(Binary));
    }

    [Fact]
    public async Task CheckInstallRollback_RuntimeEtcd_RefusedWithAClearFailure()
    {
        var options = RuntimeRig.Options("etcd", _root.Combine("data"), StateDir);
        await using var rig = await RuntimeRig.CreateAsync(options, _root.Combine("snapshots"));

        var outcome = await rig.RunAsync(Install(New));

        Assert.Equal((false, "runtime versions are installed on k3s and rke2 nodes only; this node's runtime is etcd"), (outcome.Succeeded, outcome.Message));
    }

    private static Instruction Check(string version) => new() { Id = "check", CheckRuntimeVersion = new CheckRuntimeVersionInstruction { Version = version } };

    private static Instruction Install(string version) => new() { Id = "install", InstallRuntimeVersion = new InstallRuntimeVersionInstruction { Version = version } };

    private static Instruction Rollback() => new() { Id = "rollback", RollbackRuntimeVersion = new RollbackRuntimeVersionInstruction() };

    private static async Task<string?> VersionOfAsync(string binary)
    {
        var runner = new ProcessRunner(TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger<ProcessRunner>.Instance);
        return (await RuntimeVersion.AskAsync(runner, binary, CancellationToken.None).WithTimeout(TestTimeouts.Slow)).Version;
    }

    private Task<RuntimeRig> RigAsync(bool airGap = false, Action<Config.AgentOptions>? configure = null)
    {
        var options = RuntimeRig.Options("k3s", _root.Combine("data"), StateDir);
        options.RuntimeBinary = Binary;
        options.RuntimeVersionsDir = airGap ? VersionsDir : "";
        configure?.Invoke(options);
        return RuntimeRig.CreateAsync(options, _root.Combine("snapshots"), operationId: "op-1");
    }
}
