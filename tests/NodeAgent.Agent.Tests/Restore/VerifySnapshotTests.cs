using Microsoft.Extensions.Logging.Abstractions;
using NodeAgent.Agent.Config;
using NodeAgent.Agent.Etcd;
using NodeAgent.Agent.Restore;
using NodeAgent.Agent.Runtime;
using NodeAgent.Agent.Snapshots;
using NodeAgent.Agent.Tests.Runtime;
using NodeAgent.Testing;
using NodeAgent.Testing.Etcd;

namespace NodeAgent.Agent.Tests.Restore;

/// <summary>VerifySnapshot on snapshots a real etcd sent: sha256, etcd's trailer (a zip's entry's too) and free space.</summary>
public sealed class VerifySnapshotTests : IDisposable
{
    private readonly TempDir _root = new();

    public void Dispose() => _root.Dispose();

    private string SnapshotDir => _root.Combine("server", "db", "snapshots");

    [Fact]
    public async Task Verify_GoodFile_PassesAndSaysTheFreeSpace()
    {
        var saved = await SaveAsync(compress: false);
        await using var rig = await RigAsync();

        var outcome = await rig.RunAsync(RuntimeRig.Verify(saved.Name, saved.Sha256));

        AssertStep.Succeeded(outcome);
        Assert.Contains($"sha256 {saved.Sha256}, etcd hash trailer verified", outcome.Message, StringComparison.Ordinal);
        Assert.Contains("free at", outcome.Message, StringComparison.Ordinal);
        Assert.True(rig.Executor(Contracts.V1.Instruction.KindOneofCase.VerifySnapshot).SafeToRerun);
    }

    [Fact]
    public async Task Verify_GoodZip_ChecksTheEntrysTrailerWithoutUnpacking()
    {
        var saved = await SaveAsync(compress: true);
        await using var rig = await RigAsync();

        var outcome = await rig.RunAsync(RuntimeRig.Verify(saved.Name, saved.Sha256));

        AssertStep.Succeeded(outcome);
        Assert.Equal([saved.Name], Directory.GetFiles(SnapshotDir).Select(Path.GetFileName).Where(n => !n!.StartsWith('.')));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Verify_NoShaGiven_PassesOnEtcdsTrailerAndReportsTheSha256ItComputed(bool compress)
    {
        // A snapshot with no recorded sha256 (K3s's own): the node's computed sha256 becomes the one the others must match.
        var saved = await SaveAsync(compress);
        await using var rig = await RigAsync();

        var outcome = await rig.RunAsync(RuntimeRig.Verify(saved.Name));

        AssertStep.Succeeded(outcome);
        Assert.Equal(saved.Sha256, outcome.SnapshotSha256);
        Assert.Equal(StandIn.Sha256(Path.Combine(SnapshotDir, saved.Name)), outcome.SnapshotSha256);
    }

    [Fact]
    public async Task Verify_OneByteFlipped_FailsNamingTheSha256Mismatch()
    {
        var saved = await SaveAsync(compress: false);
        FlipOneByte(Path.Combine(SnapshotDir, saved.Name));
        await using var rig = await RigAsync();

        var outcome = await rig.RunAsync(RuntimeRig.Verify(saved.Name, saved.Sha256));

        Assert.False(outcome.Succeeded);
        Assert.False(outcome.Retryable);
        Assert.StartsWith("sha256 mismatch: ", outcome.Message, StringComparison.Ordinal);
        Assert.Contains($"the plan expects {saved.Sha256}", outcome.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_OneByteFlippedAndNoShaGiven_FailsOnEtcdsTrailer()
    {
        var saved = await SaveAsync(compress: false);
        FlipOneByte(Path.Combine(SnapshotDir, saved.Name));
        await using var rig = await RigAsync();

        var outcome = await rig.RunAsync(RuntimeRig.Verify(saved.Name));

        Assert.False(outcome.Succeeded);
        Assert.Contains("is corrupt: the sha256 of its", outcome.Message, StringComparison.Ordinal);
        Assert.Contains("its trailer says", outcome.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_WrongExpectedSha_Fails()
    {
        var saved = await SaveAsync(compress: false);
        var wrong = new string('0', 64);
        await using var rig = await RigAsync();

        var outcome = await rig.RunAsync(RuntimeRig.Verify(saved.Name, wrong));

        Assert.False(outcome.Succeeded);
        Assert.Equal($"sha256 mismatch: {Path.Combine(SnapshotDir, saved.Name)} has sha256 {saved.Sha256}, the plan expects {wrong}", outcome.Message);
    }

    [Theory]
    [InlineData("on-demand-n1-1", "is not in")]
    [InlineData("../etc/passwd", "must be a bare file name")]
    public async Task Verify_MissingOrBadName_FailsClearly(string name, string expected)
    {
        Directory.CreateDirectory(SnapshotDir);
        await using var rig = await RigAsync();

        var outcome = await rig.RunAsync(RuntimeRig.Verify(name));

        Assert.False(outcome.Succeeded);
        Assert.Contains(expected, outcome.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Shortfall_SaysHowMuchIsFreeAndNeeded()
    {
        Assert.Null(DiskSpace.Shortfall("/var", "/var/lib/etcd", 2048, 2048));
        Assert.Equal(
            "not enough free disk for the restore: 1048576 bytes (1.0 MiB) free at /var (where /var/lib/etcd lives), 4194304 bytes (4.0 MiB) needed (2× the etcd db)",
            DiskSpace.Shortfall("/var", "/var/lib/etcd", 1024 * 1024, 4 * 1024 * 1024));
    }

    [Fact]
    public void FreeBytes_OfADirThatDoesNotExistYet_IsThatOfItsNearestAncestor()
    {
        var missing = _root.Combine("not", "yet");

        Assert.Equal(_root.Path, DiskSpace.ExistingAncestor(missing));
        Assert.True(DiskSpace.FreeBytes(DiskSpace.ExistingAncestor(missing)) > 0);
    }

    private static void FlipOneByte(string path)
    {
        var bytes = File.ReadAllBytes(path);
        bytes[bytes.Length / 2] ^= 0x01;
        File.WriteAllBytes(path, bytes);
    }

    private async Task<SnapshotMetadata> SaveAsync(bool compress)
    {
        await using var etcd = await EtcdServer.StartAsync();
        await EtcdData.PutAsync(etcd.ClientUrl, [new("/k1", "v1"), new("/k2", "v2")]).DefaultTimeout();
        var saver = new SnapshotSaver(() => new GrpcEtcdMaintenance(EtcdConnectionOptions.Resolve(_root.Path, etcd.ClientUrl, null, null, null)),
            TimeProvider.System, NullLogger<SnapshotSaver>.Instance);
        var result = await saver.SaveAsync(new SnapshotSaveRequest(SnapshotDir, "on-demand", "n1", compress) { Runtime = Contracts.V1.Runtime.K3S }, null, CancellationToken.None)
            .WithTimeout(TestTimeouts.Slow);
        return Assert.IsType<SnapshotMetadata>(result.Metadata);
    }

    private Task<RuntimeRig> RigAsync() => RuntimeRig.CreateAsync(RuntimeRig.Options("k3s", _root.Path, _root.Combine("state")), SnapshotDir);
}
