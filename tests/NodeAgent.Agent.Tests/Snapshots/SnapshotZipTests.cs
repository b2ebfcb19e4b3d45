using NodeAgent.Agent.Snapshots;
using NodeAgent.Agent.Tests.Runtime;
using NodeAgent.Testing;
using NodeAgent.Testing.Processes;

namespace NodeAgent.Agent.Tests.Snapshots;

/// <summary>The zip K3s would write, checked with Info-ZIP's own reader.</summary>
public sealed class SnapshotZipTests : IDisposable
{
    private readonly TempDir _root = new();

    public void Dispose() => _root.Dispose();

    [Fact]
    public async Task Compress_Entry_CarriesUnixMode0600AsK3sWritesIt()
    {
        var plain = StandIn.FramedSnapshot(_root.Combine("snapshots", "on-demand-n1-1700000000"));
        var zip = (await SnapshotZip.CompressAsync(plain, DateTimeOffset.FromUnixTimeSeconds(1_700_000_000), CancellationToken.None).WithTimeout(TestTimeouts.Slow)).Path;

        var listing = (await CommandRunner.RunAsync("/usr/bin/zipinfo", [zip], timeout: TestTimeouts.Default)).EnsureSuccess().StandardOutput;

        var entry = Assert.Single(listing.Split('\n'), l => l.EndsWith(" on-demand-n1-1700000000", StringComparison.Ordinal));
        Assert.StartsWith("-rw------- ", entry, StringComparison.Ordinal);
        Assert.Contains(" unx ", entry, StringComparison.Ordinal);
    }

    /// <summary>The zip grows in .nodeagent/tmp: the input is a FIFO, so the compress is caught midway.</summary>
    [Fact]
    public async Task Compress_Midway_TheSnapshotDirHoldsNoZipPart()
    {
        var dir = _root.Combine("db", "snapshots");
        Directory.CreateDirectory(dir);
        var framed = await File.ReadAllBytesAsync(StandIn.FramedSnapshot(_root.Combine("framed")));
        var plain = Path.Combine(dir, "on-demand-n1-1700000000");
        (await CommandRunner.RunAsync("/usr/bin/mkfifo", [plain], timeout: TestTimeouts.Default)).EnsureSuccess();

        var compress = Task.Run(() => SnapshotZip.CompressAsync(plain, DateTimeOffset.FromUnixTimeSeconds(1_700_000_000), CancellationToken.None));
        string[] midway;
        await using (var writer = await Task.Run(() => new FileStream(plain, FileMode.Open, FileAccess.Write)).WithTimeout(TestTimeouts.Default))
        {
            await writer.WriteAsync(framed.AsMemory(0, framed.Length / 2)).AsTask().WithTimeout(TestTimeouts.Default);
            await writer.FlushAsync().WithTimeout(TestTimeouts.Default);
            midway = Directory.GetFileSystemEntries(dir);
            await writer.WriteAsync(framed.AsMemory(framed.Length / 2)).AsTask().WithTimeout(TestTimeouts.Default);
        }
        var zip = (await compress.WithTimeout(TestTimeouts.Slow)).Path;

        Assert.Equal([plain], midway);
        Assert.Equal([zip], Directory.GetFileSystemEntries(dir));
        Assert.Empty(Directory.GetFileSystemEntries(SnapshotTempFiles.DirectoryFor(dir)));
    }
}
