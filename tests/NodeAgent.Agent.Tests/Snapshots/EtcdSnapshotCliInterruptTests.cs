using NodeAgent.Testing;
using NodeAgent.Testing.Etcd;
using NodeAgent.Testing.Net;
using NodeAgent.Testing.Processes;

namespace NodeAgent.Agent.Tests.Snapshots;

/// <summary>
/// The real <c>node-agent etcd-snapshot save</c> process with its etcd frozen (SIGSTOP) mid-stream:
/// a stall fails after the stall timeout, and Ctrl-C or SIGTERM ends the save with one line. The
/// stream goes through a relay so etcd is frozen at a known point: after its first MiB came back.
/// </summary>
public sealed class EtcdSnapshotCliInterruptTests : IDisposable
{
    private readonly TempDir _root = new();

    public void Dispose() => _root.Dispose();

    private string Dir => _root.Combine("snapshots");

    [Fact]
    public async Task Save_EtcdFrozenMidStream_FailsAfterTheStallTimeoutNamingEndpointAndLeavesNothing()
    {
        await using var etcd = await LoadedEtcdAsync();
        await using var relay = TcpRelay.Start(new Uri(etcd.ClientUrl));
        try
        {
            var frozen = relay.TripAfterDown(1024 * 1024, () => Freeze(etcd));

            var result = await CommandRunner.RunAsync(RepoPaths.Executable("node-agent"),
                ["etcd-snapshot", "save", "--endpoints", "http://" + relay.Authority, "--dir", Dir, "--node-name", "n1", "--etcd-snapshot-stall-timeout", "2s"],
                timeout: TestTimeouts.Slow);
            await frozen.DefaultTimeout();

            Assert.Equal(1, result.ExitCode);
            var line = Assert.Single(result.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.Equal($"node-agent: etcd snapshot stream from http://{relay.Authority} stalled: no data for 2s", line);
            Assert.Empty(Directory.GetFileSystemEntries(Dir));
        }
        finally
        {
            etcd.Process.Signal("CONT");
        }
    }

    [Theory]
    [InlineData("INT")]
    [InlineData("TERM")]
    public async Task Save_SignalledMidStream_PrintsOneLineExits130AndLeavesNothing(string signal)
    {
        await using var etcd = await LoadedEtcdAsync();
        await using var relay = TcpRelay.Start(new Uri(etcd.ClientUrl));
        try
        {
            var frozen = relay.TripAfterDown(1024 * 1024, () => Freeze(etcd));
            await using var save = ManagedProcess.Start(RepoPaths.Executable("node-agent"),
                ["etcd-snapshot", "save", "--endpoints", "http://" + relay.Authority, "--dir", Dir, "--node-name", "n1"]);
            await frozen.WithTimeout(TestTimeouts.Slow);

            save.Signal(signal);
            using var cts = new CancellationTokenSource(TestTimeouts.Slow);
            await save.WaitForExitAsync(cts.Token);

            Assert.Equal(130, save.ExitCode);
            Assert.Equal("node-agent: interrupted; no partial snapshot was kept", save.Output.Trim());
            Assert.Empty(Directory.GetFileSystemEntries(Dir));
        }
        finally
        {
            etcd.Process.Signal("CONT");
        }
    }

    /// <summary>An etcd whose snapshot is far bigger than what socket buffers and HTTP/2 windows hold once it is frozen.</summary>
    private static async Task<EtcdServer> LoadedEtcdAsync()
    {
        var etcd = await EtcdServer.StartAsync();
        await EtcdData.LoadAsync(etcd.ClientUrl, 48).WithTimeout(TestTimeouts.Slow);
        return etcd;
    }

    private static Task Freeze(EtcdServer etcd)
    {
        etcd.Process.Signal("STOP");
        return Task.CompletedTask;
    }
}
