using System.IO.Compression;
using NodeAgent.Contracts.V1;
using NodeAgent.Testing;
using NodeAgent.Testing.EndToEnd;
using NodeAgent.Testing.Etcd;
using NodeAgent.Testing.Ordering;
using NodeAgent.Testing.PlanServer;
using NodeAgent.Testing.S3;
using NodeAgent.Testing.Tools;

namespace NodeAgent.EndToEnd.Tests;

/// <summary>
/// Snapshots NodeAgent never saw being made, restored through the plan server with every part
/// real (plan-server and node-agent processes, etcd members the agents stop and start, Ceph RGW):
/// one made by <c>etcdctl snapshot save</c> and zipped as K3s zips (one Deflate entry named like the
/// snapshot) in a node's snapshot dir, and one K3s uploaded (<c>aws s3 cp</c> with K3s's object
/// metadata). Neither has a sidecar of ours, so no sha256 is recorded: the nodes check etcd's own
/// sha256 trailer. Plain etcd is the runtime here: each member restores from the file.
/// </summary>
[ExpectedDuration(150)]
public sealed class K3sSnapshotsRestoreEndToEndTests(SharedCeph servers) : IClassFixture<SharedCeph>, IAsyncLifetime
{
    private RestoreRig _rig = null!;
    private TempDir _files = null!;
    private IReadOnlyDictionary<string, string> _atSnapshot = new Dictionary<string, string>();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_rig is not null)
        {
            await _rig.DisposeAsync();
        }
    }

    [Fact]
    public async Task Restore_EtcdctlSnapshotZippedAsK3sInANodesDirWithoutSidecar_IsListedAndRestoredWithExactKeys()
    {
        var name = $"on-demand-node-1-{DateTimeOffset.UtcNow.ToUnixTimeSeconds()}.zip";
        // One member: a local copy is restorable as it is (a plain etcd cluster of more needs an S3 copy for every member).
        _rig = await RestoreRig.StartAsync(servers.Ceph, "k3s-restore-", new RestoreRigOptions
        {
            Members = 1,
            S3 = false,
            BeforeCluster = async rig =>
            {
                var zip = await EtcdctlSnapshotZippedAsync(rig, name);
                var snapshotDir = Path.Combine(rig.NodeDirs[0].Path, "data", "server", "db", "snapshots");
                Directory.CreateDirectory(snapshotDir);
                File.Copy(zip, Path.Combine(snapshotDir, name));
            },
        });
        var listed = await ListedAsync(name, StorageKind.Local);
        await _rig.ChangeKeysAsync(member: 0);

        var ended = await _rig.RestoreAsync(name);

        Assert.True(listed.WithoutSidecar);
        Assert.Equal(("node-1", "", true), (listed.Node, listed.Sha256, listed.Compressed));
        Assert.True(ended.Phase == OperationPhase.Finished, $"restore ended {ended.Phase}: {ended.Failure}\n{_rig.AgentLogs}");
        Assert.Equal("node-1", ended.InitNode);
        await AssertRestoredAsync();
    }

    [Fact]
    public async Task Restore_K3sUploadWithItsObjectMetadataOnRgwWithoutSidecar_IsListedAndEveryMemberRestoredWithExactKeys()
    {
        var name = $"etcd-snapshot-node-2-{DateTimeOffset.UtcNow.ToUnixTimeSeconds()}.zip";
        _rig = await RestoreRig.StartAsync(servers.Ceph, "k3s-restore-", new RestoreRigOptions
        {
            BeforeCluster = async rig =>
            {
                var zip = await EtcdctlSnapshotZippedAsync(rig, name);
                (await rig.Ceph.Aws().RunAsync(["s3", "cp", zip, $"s3://{rig.Bucket}/{name}", "--metadata", "k3s-node-name=node-2,k3s-token-hash=0123456789ab"])
                    .WithTimeout(TestTimeouts.Slow)).EnsureSuccess();
            },
        });
        var listed = await ListedAsync(name, StorageKind.S3);
        await _rig.ChangeKeysAsync(member: 2);

        var ended = await _rig.RestoreAsync(name);

        Assert.True(listed.WithoutSidecar);
        Assert.Equal(("node-2", "", "0123456789ab"), (listed.Node, listed.Sha256, listed.TokenHash));
        Assert.True(ended.Phase == OperationPhase.Finished, $"restore ended {ended.Phase}: {ended.Failure}\n{_rig.AgentLogs}");
        await AssertRestoredAsync();
    }

    /// <summary><c>etcdctl snapshot save</c> of the members' keys, zipped as K3s zips: one Deflate entry named like the snapshot.</summary>
    private async Task<string> EtcdctlSnapshotZippedAsync(RestoreRig rig, string zipName)
    {
        _files = rig.NewDir("nodeagent-k3s-snapshots-");
        _atSnapshot = await EtcdData.ReadAllAsync(rig.Etcd.Members[0].ClientUrl, "/app/").DefaultTimeout();
        Assert.Equal(RestoreRig.Original.Select(k => k.Key).Order(StringComparer.Ordinal), _atSnapshot.Keys.Order(StringComparer.Ordinal));
        var plainName = zipName[..^".zip".Length];
        var plain = _files.Combine(plainName);
        (await new Etcdctl(rig.Etcd.Members[0].ClientUrl).SnapshotSaveAsync(plain)).EnsureSuccess();
        var zip = _files.Combine(zipName);
        using (var archive = ZipFile.Open(zip, ZipArchiveMode.Create))
        {
            archive.CreateEntryFromFile(plain, plainName, CompressionLevel.Optimal);
        }
        return zip;
    }

    /// <summary>The catalog's copy of <paramref name="name"/> in <paramref name="storage"/>, once an agent (or the server's S3 listing) reported it.</summary>
    private async Task<Snapshot> ListedAsync(string name, StorageKind storage)
    {
        Snapshot? snapshot = null;
        await OperationWaits.UntilAsync(async ct =>
        {
            snapshot = (await _rig.Snapshots.ListSnapshotsAsync(new ListSnapshotsRequest { Cluster = "prod" }, cancellationToken: ct)).Snapshots
                .FirstOrDefault(s => s.Name == name && s.Storage == storage);
            return snapshot is not null;
        });
        return snapshot!;
    }

    /// <summary>Every member serves exactly the keys (and values) it served when the snapshot was taken, and etcd's member list is exactly them.</summary>
    private async Task AssertRestoredAsync()
    {
        await _rig.AssertRestoredAsync();
        foreach (var member in _rig.Etcd.Members)
        {
            Assert.Equal(_atSnapshot, await EtcdData.ReadAllAsync(member.ClientUrl, "/app/").DefaultTimeout());
        }
        await RestoreRig.AssertMemberListAsync(_rig.Etcd.Members);
    }
}
