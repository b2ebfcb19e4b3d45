using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using NodeAgent.Agent.Config;
using NodeAgent.Agent.Runtime;
using NodeAgent.Testing;

namespace NodeAgent.Agent.Tests.Runtime;

/// <summary>
/// What the agent reports about K3s/RKE2 on its node, from real config files (read as the runtime
/// merges them) and a stand-in runtime binary that prints what <c>k3s --version</c> prints.
/// </summary>
public sealed class RuntimeFactsTests : IDisposable
{
    private const string HostPrimary = "192.0.2.10";
    private readonly TempDir _root = new();
    private readonly RecordingLogger<RuntimeFactsReader> _log = new();
    private RuntimeFactsReader? _reader;

    public void Dispose() => _root.Dispose();

    private string Config => _root.Combine("etc", "rancher", "k3s", "config.yaml");

    private string Binary => _root.Combine("bin", "k3s");

    [Fact]
    public async Task Read_AdvertiseAddressAndNodeIpSet_AdvertiseAddressWins()
    {
        WriteConfig("node-ip: 10.0.0.5\nadvertise-address: 10.0.0.9\n");

        var facts = await ReadAsync();

        Assert.Equal("10.0.0.9", facts!.AdvertiseAddress);
    }

    [Fact]
    public async Task Read_NodeIpDualStackInADropIn_TheFirstAddressOfTheMergedValue()
    {
        WriteConfig("node-ip: 10.0.0.5\n");
        Directory.CreateDirectory(Config + ".d");
        await File.WriteAllTextAsync(Path.Combine(Config + ".d", "10-net.yaml"), "node-ip: [\"fd00::5,10.0.0.6\"]\n");

        var facts = await ReadAsync();

        Assert.Equal("fd00::5", facts!.AdvertiseAddress);
    }

    [Fact]
    public async Task Read_NeitherSetNorAnyConfig_TheHostsPrimaryAddressAndSnapshotsOnAsTheRuntimesDefault()
    {
        var facts = await ReadAsync();

        Assert.Equal(new NodeRuntimeFacts(HostPrimary, "", RuntimeSnapshotsEnabled: true), facts);
    }

    [Fact]
    public void HostAddress_Primary_IsAnAddressOfThisHostThatIsNotLoopback()
    {
        var primary = HostAddress.Primary();

        var local = System.Net.NetworkInformation.NetworkInterface.GetAllNetworkInterfaces()
            .SelectMany(i => i.GetIPProperties().UnicastAddresses).Select(u => u.Address.ToString());
        Assert.Contains(primary, local);
        Assert.False(System.Net.IPAddress.IsLoopback(System.Net.IPAddress.Parse(primary)));
    }

    [Fact]
    public async Task Read_ConfigNotYaml_WarnsOnceAndReportsTheHostAddressWithoutThrowing()
    {
        WriteConfig("node-ip: [unclosed\n");

        var first = await ReadAsync();
        var second = await ReadAsync();

        Assert.Equal(HostPrimary, first!.AdvertiseAddress);
        Assert.False(first.RuntimeSnapshotsEnabled);
        Assert.Equal(first, second);
        var warning = Assert.Single(_log.Entries, e => e.Level == LogLevel.Warning);
        Assert.Contains($"{Config}: not valid YAML", warning.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("", true)]
    [InlineData("etcd-disable-snapshots: false\n", true)]
    [InlineData("etcd-disable-snapshots: true\n", false)]
    public async Task Read_EtcdDisableSnapshots_RuntimeSnapshotsOnUnlessTrue(string config, bool enabled)
    {
        WriteConfig("token: t\n" + config);

        var facts = await ReadAsync();
        await ReadAsync();

        Assert.Equal(enabled, facts!.RuntimeSnapshotsEnabled);
        var warnings = _log.Entries.Where(e => e.Level == LogLevel.Warning).Select(e => e.Message).ToList();
        if (enabled)
        {
            // Once, saying what it means and how to turn it off.
            var warning = Assert.Single(warnings);
            Assert.Contains("both prune that prefix", warning, StringComparison.Ordinal);
            Assert.Contains($"Set 'etcd-disable-snapshots: true' in {Config}", warning, StringComparison.Ordinal);
        }
        else
        {
            Assert.Empty(warnings);
        }
    }

    [Fact]
    public async Task Read_RuntimeInstalled_VersionFromItsFirstLineAskedAgainOnlyWhenTheBinaryChanges()
    {
        _ = new StandIn(Binary, stdout: "k3s version v1.30.4+k3s1 (98262b5d)\ngo version go1.22.5");
        WriteConfig("etcd-disable-snapshots: true\n");
        var reader = Reader();

        var first = await reader.ReadAsync(CancellationToken.None).WithTimeout(TestTimeouts.Slow);
        var cached = await reader.ReadAsync(CancellationToken.None).WithTimeout(TestTimeouts.Slow);
        var upgraded = new StandIn(Binary, stdout: "k3s version v1.31.0+k3s1 (0123abcd)\ngo version go1.22.5 and more");
        var after = await reader.ReadAsync(CancellationToken.None).WithTimeout(TestTimeouts.Slow);

        Assert.Equal("v1.30.4+k3s1", first!.RuntimeVersion);
        Assert.Equal("v1.30.4+k3s1", cached!.RuntimeVersion);
        Assert.Equal("v1.31.0+k3s1", after!.RuntimeVersion);
        Assert.Equal([["--version"], ["--version"]], upgraded.Calls().Select(c => c.Arguments));
    }

    [Theory]
    [InlineData("rke2 version v1.30.4+rke2r1 (abc)\ngo version go1.22", "v1.30.4+rke2r1")]
    [InlineData("k3s version v1.30.4+k3s1 (98262b5d)", "v1.30.4+k3s1")]
    [InlineData("Usage: k3s [global options]", null)]
    [InlineData("", null)]
    public void RuntimeVersion_Parse_TheVersionWordOfTheFirstLine(string output, string? expected)
        => Assert.Equal(expected, RuntimeVersion.Parse(output));

    [Fact]
    public async Task Read_BinarySaysNoVersion_WarnsAndReportsItEmpty()
    {
        _ = new StandIn(Binary, exitCode: 1, stdout: "", stderr: "segfault");
        WriteConfig("etcd-disable-snapshots: true\n");

        var facts = await ReadAsync();

        Assert.Equal("", facts!.RuntimeVersion);
        var warning = Assert.Single(_log.Entries, e => e.Level == LogLevel.Warning);
        Assert.Contains("--version exited 1", warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Read_RuntimeEtcd_NoFacts()
    {
        var options = new AgentOptions { Runtime = Contracts.V1.Runtime.Etcd, RuntimeConfig = Config };

        Assert.Null(await new RuntimeFactsReader(options, new RuntimeVersion(new ProcessRunner(TimeProvider.System, NullLogger<ProcessRunner>.Instance)), _log).ReadAsync(CancellationToken.None).WithTimeout(TestTimeouts.Slow));
    }

    private void WriteConfig(string text)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Config)!);
        File.WriteAllText(Config, text);
    }

    private RuntimeFactsReader Reader() => new(new AgentOptions { Runtime = Contracts.V1.Runtime.K3S, RuntimeConfig = Config, RuntimeBinary = Binary }, new RuntimeVersion(new ProcessRunner(TimeProvider.System, NullLogger<ProcessRunner>.Instance)), _log)
    {
        PrimaryAddress = () => HostPrimary,
    };

    /// <summary>Reads with the test's one reader (as the daemon has one).</summary>
    private async Task<NodeRuntimeFacts?> ReadAsync() => await (_reader ??= Reader()).ReadAsync(CancellationToken.None).WithTimeout(TestTimeouts.Slow);
}

/// <summary>A logger that keeps what it was told, for tests that check what an operator reads in the log.</summary>
internal sealed class RecordingLogger<T> : ILogger<T>
{
    private readonly System.Collections.Concurrent.ConcurrentQueue<(LogLevel Level, string Message)> _entries = new();

    public IReadOnlyList<(LogLevel Level, string Message)> Entries => [.. _entries];

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        => _entries.Enqueue((logLevel, formatter(state, exception)));
}
