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
        var plain = StandIn.FramedSnapshot(_root.Combine("on-demand-n1-1700000000"));
        var zip = (await SnapshotZip.CompressAsync(plain, DateTimeOffset.FromUnixTimeSeconds(1_700_000_000), CancellationToken.None).WithTimeout(TestTimeouts.Slow)).Path;

        var listing = (await CommandRunner.RunAsync("/usr/bin/zipinfo", [zip], timeout: TestTimeouts.Default)).EnsureSuccess().StandardOutput;

        var entry = Assert.Single(listing.Split('\n'), l => l.EndsWith(" on-demand-n1-1700000000", StringComparison.Ordinal));
        Assert.StartsWith("-rw------- ", entry, StringComparison.Ordinal);
        Assert.Contains(" unx ", entry, StringComparison.Ordinal);
    }
}
