using Microsoft.Extensions.Logging.Abstractions;
using NodeAgent.Agent.Config;
using NodeAgent.Agent.Etcd;
using NodeAgent.Agent.Restore;
using NodeAgent.Agent.Snapshots;
using NodeAgent.Agent.Tests.Runtime;
using NodeAgent.Contracts.V1;
using NodeAgent.Testing;
using NodeAgent.Testing.Etcd;
using NodeAgent.Testing.S3;

namespace NodeAgent.Agent.Tests.Restore;

/// <summary>DownloadSnapshot from a real S3 (s3rver) into the node's snapshot dir, checked against the plan's sha256.</summary>
public sealed class DownloadSnapshotTests : IAsyncLifetime, IDisposable
{
    private readonly TempDir _root = new();
    private S3rverServer _s3 = null!;
    private string _bucket = "";

    public async Task InitializeAsync()
    {
        _s3 = await S3rverServer.StartAsync().WithTimeout(TestTimeouts.Slow);
        _bucket = await _s3.NewBucketAsync("restore");
    }

    public async Task DisposeAsync() => await _s3.DisposeAsync();

    public void Dispose() => _root.Dispose();

    private string SnapshotDir => _root.Combine("node", "server", "db", "snapshots");

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Download_FromS3_IsVerifiedAndThenPassesVerifySnapshot(bool compress)
    {
        await using var rig = await RigAsync();
        var saved = await SaveAndUploadAsync(rig, compress);

        var downloaded = await rig.RunAsync(RuntimeRig.Download(saved.Name, saved.Sha256));
        var verified = await rig.RunAsync(RuntimeRig.Verify(saved.Name, saved.Sha256));
        var again = await rig.RunAsync(RuntimeRig.Download(saved.Name, saved.Sha256));

        AssertStep.Succeeded(downloaded);
        Assert.Contains($"sha256 {saved.Sha256}", downloaded.Message, StringComparison.Ordinal);
        Assert.Equal(saved.Sha256, StandIn.Sha256(Path.Combine(SnapshotDir, saved.Name)));
        if (compress)
        {
            Assert.Equal(saved.SnapshotSha256, StandIn.Sha256(Path.Combine(SnapshotDir, saved.Name[..^4])));
        }
        AssertStep.Succeeded(verified);
        AssertStep.Succeeded(again);
        Assert.Contains("not downloaded again", again.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Download_K3sObjectWithoutSidecarAndNoShaGiven_VerifiesTheTrailerAndReportsTheSha256()
    {
        // K3s's own upload: the object and K3s's object metadata, no .metadata/ sidecar, so no sha256 to compare.
        await using var rig = await RigAsync();
        var saved = await SaveAsync(compress: true);
        var path = _root.Combine("elsewhere", saved.Name);
        await _s3.PutFileAsync(_bucket, saved.Name, path, "k3s-node-name=n2,k3s-token-hash=0123456789ab");

        var downloaded = await rig.RunAsync(RuntimeRig.Download(saved.Name));
        var verified = await rig.RunAsync(RuntimeRig.Verify(saved.Name, downloaded.SnapshotSha256));

        AssertStep.Succeeded(downloaded);
        Assert.Equal(saved.Sha256, downloaded.SnapshotSha256);
        Assert.Equal(saved.Sha256, StandIn.Sha256(Path.Combine(SnapshotDir, saved.Name)));
        AssertStep.Succeeded(verified);
    }

    [Fact]
    public async Task Download_PlanExpectsAnotherSha_FailsAndLeavesNothing()
    {
        await using var rig = await RigAsync();
        var saved = await SaveAndUploadAsync(rig, compress: false);
        var wrong = new string('a', 64);

        var outcome = await rig.RunAsync(RuntimeRig.Download(saved.Name, wrong));

        Assert.False(outcome.Succeeded);
        Assert.False(outcome.Retryable);
        Assert.Contains($"sha256 mismatch: s3://{_bucket}/{saved.Name} has sha256 {saved.Sha256}, the plan expects {wrong}", outcome.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(SnapshotDir, saved.Name)));
    }

    [Fact]
    public async Task Download_NotInTheBucket_FailsRetryably()
    {
        await using var rig = await RigAsync();

        var outcome = await rig.RunAsync(RuntimeRig.Download("on-demand-n9-1700000000"));

        Assert.False(outcome.Succeeded);
        Assert.True(outcome.Retryable);
        Assert.Contains($"s3://{_bucket}/on-demand-n9-1700000000", outcome.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Download_NodeWithoutS3Target_FailsClearly()
    {
        await using var rig = await RigAsync(withS3: false);

        var outcome = await rig.RunAsync(RuntimeRig.Download("on-demand-n1-1700000000"));

        Assert.False(outcome.Succeeded);
        Assert.False(outcome.Retryable);
        Assert.Equal("this node has no S3 target in its plan's snapshot settings: cannot download on-demand-n1-1700000000", outcome.Message);
    }

    /// <summary>Another node's snapshot: saved from a real etcd elsewhere and uploaded by the agent's own store.</summary>
    private async Task<SnapshotMetadata> SaveAndUploadAsync(RuntimeRig rig, bool compress)
    {
        var saved = await SaveAsync(compress);
        using var s3 = rig.Targets.AcquireS3()!;
        await s3.Store.UploadAsync(_root.Combine("elsewhere", saved.Name), saved, CancellationToken.None).WithTimeout(TestTimeouts.Slow);
        return saved;
    }

    private async Task<SnapshotMetadata> SaveAsync(bool compress)
    {
        await using var etcd = await EtcdServer.StartAsync();
        await EtcdData.PutAsync(etcd.ClientUrl, [new("/k1", "v1"), new("/k2", "v2")]).DefaultTimeout();
        var saver = new SnapshotSaver(() => new GrpcEtcdMaintenance(EtcdConnectionOptions.Resolve(_root.Path, etcd.ClientUrl, null, null, null)),
            TimeProvider.System, NullLogger<SnapshotSaver>.Instance);
        var result = await saver.SaveAsync(new SnapshotSaveRequest(_root.Combine("elsewhere"), "on-demand", "n2", compress) { Runtime = Contracts.V1.Runtime.K3S }, null, CancellationToken.None)
            .WithTimeout(TestTimeouts.Slow);
        return result.Metadata!;
    }

    private Task<RuntimeRig> RigAsync(bool withS3 = true) => RuntimeRig.CreateAsync(RuntimeRig.Options("k3s", _root.Combine("node"), _root.Combine("state")), SnapshotDir, s3: withS3 ? _s3.PlanS3Target(_bucket) : null);
}
