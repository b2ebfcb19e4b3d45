using NodeAgent.Agent.Snapshots;
using NodeAgent.Testing;

namespace NodeAgent.Agent.Tests.Snapshots;

public sealed class LocalSnapshotStoreTests : IDisposable
{
    private readonly TempDir _root = new();
    private readonly string _dir;
    private readonly LocalSnapshotStore _store;

    public LocalSnapshotStoreTests()
    {
        _dir = _root.Combine("server", "db", "snapshots");
        Directory.CreateDirectory(_dir);
        _store = new LocalSnapshotStore(_dir, "this-node");
    }

    public void Dispose() => _root.Dispose();

    [Fact]
    public void List_NewestFirst_WithK3sFieldsAndWithoutPartsOrDotFiles()
    {
        Snapshot("on-demand-n1-1700000100", withSidecar: true);
        Snapshot("etcd-snapshot-n1-1700000200.zip");
        Snapshot("on-demand-n1-1700000300.part");
        Snapshot(".node-agent-save.lock");
        Directory.CreateDirectory(Path.Combine(_dir, "subdir"));

        var listed = _store.List();

        Assert.Equal(["etcd-snapshot-n1-1700000200.zip", "on-demand-n1-1700000100"], listed.Select(s => s.Name));
        var zip = listed[0];
        Assert.True(zip.Compressed);
        Assert.Equal("this-node", zip.NodeName);
        Assert.Equal($"file://{_dir}/etcd-snapshot-n1-1700000200.zip", zip.Location);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1_700_000_200), zip.CreatedAt);
        Assert.Equal("n1", listed[1].NodeName);
        Assert.Equal("successful", listed[1].Status);
        Assert.Equal(5, listed[1].Size);
    }

    [Fact]
    public void List_NameWithoutTimestamp_UsesTheFileTime()
    {
        Snapshot("manual.db");
        var mtime = new DateTime(2024, 5, 6, 7, 8, 9, DateTimeKind.Utc);
        File.SetLastWriteTimeUtc(Path.Combine(_dir, "manual.db"), mtime);

        Assert.Equal(new DateTimeOffset(mtime), Assert.Single(_store.List()).CreatedAt);
    }

    [Fact]
    public void List_MissingDirectory_SaysWhichOne()
    {
        var store = new LocalSnapshotStore(_root.Combine("nope"));

        var ex = Assert.Throws<SnapshotRequestException>(() => store.List());

        Assert.Equal($"snapshot directory {_root.Combine("nope")} does not exist", ex.Message);
    }

    [Fact]
    public void Delete_RemovesTheSnapshotAndItsSidecar()
    {
        Snapshot("on-demand-n1-1700000100", withSidecar: true);
        Snapshot("on-demand-n1-1700000200", withSidecar: true);

        Assert.Equal(["on-demand-n1-1700000100"], _store.Delete(["on-demand-n1-1700000100"]));

        Assert.Equal(["on-demand-n1-1700000200"], _store.List().Select(s => s.Name));
        Assert.Equal(["on-demand-n1-1700000200"], Directory.GetFiles(_store.Sidecars.Directory).Select(Path.GetFileName));
    }

    [Theory]
    [InlineData("../snapshots/on-demand-n1-1700000100")]
    [InlineData("/etc/passwd")]
    [InlineData("..")]
    [InlineData("")]
    public void Delete_PathOrEmpty_IsRefusedAndNothingIsDeleted(string name)
    {
        Snapshot("on-demand-n1-1700000100");

        Assert.Throws<SnapshotRequestException>(() => _store.Delete(["on-demand-n1-1700000100", name]));

        Assert.Single(_store.List());
    }

    [Fact]
    public void Delete_UnknownSnapshot_NamesItAndDeletesNothing()
    {
        Snapshot("on-demand-n1-1700000100");

        var ex = Assert.Throws<SnapshotRequestException>(() => _store.Delete(["on-demand-n1-1700000100", "on-demand-n1-1"]));

        Assert.Equal($"no snapshot named on-demand-n1-1 in {_dir}", ex.Message);
        Assert.Single(_store.List());
    }

    [Fact]
    public void Prune_KeepsTheNewestPerPrefix_OtherPrefixesUntouched_SidecarsGoWithTheirSnapshots()
    {
        for (var i = 1; i <= 4; i++)
        {
            Snapshot($"etcd-snapshot-n1-170000000{i}", withSidecar: true);
            Snapshot($"on-demand-n1-170000000{i}", withSidecar: true);
        }
        Snapshot("etcd-snapshot-old-node-1600000000");
        Snapshot("etcd-snapshotx-n1-1500000000");

        var deleted = _store.Prune("etcd-snapshot", 2);

        Assert.Equal(["etcd-snapshot-n1-1700000002", "etcd-snapshot-n1-1700000001", "etcd-snapshot-old-node-1600000000"], deleted);
        Assert.Equal(
            ["etcd-snapshot-n1-1700000003", "etcd-snapshot-n1-1700000004", "etcd-snapshotx-n1-1500000000",
             "on-demand-n1-1700000001", "on-demand-n1-1700000002", "on-demand-n1-1700000003", "on-demand-n1-1700000004"],
            _store.List().Select(s => s.Name).Order(StringComparer.Ordinal));
        var sidecars = Directory.GetFiles(_store.Sidecars.Directory).Select(Path.GetFileName).ToHashSet();
        Assert.DoesNotContain("etcd-snapshot-n1-1700000001", sidecars);
        Assert.DoesNotContain("etcd-snapshot-n1-1700000002", sidecars);
        Assert.Contains("etcd-snapshot-n1-1700000003", sidecars);
        Assert.Contains("on-demand-n1-1700000001", sidecars);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public void Prune_RetentionBelowOne_DeletesNothing(int retention)
    {
        Snapshot("on-demand-n1-1700000001");
        Snapshot("on-demand-n1-1700000002");

        Assert.Empty(_store.Prune("on-demand", retention));
        Assert.Equal(2, _store.List().Count);
    }

    private void Snapshot(string name, bool withSidecar = false)
    {
        File.WriteAllText(Path.Combine(_dir, name), "bytes");
        if (withSidecar)
        {
            _store.Sidecars.Write(new SnapshotMetadata { Name = name, NodeName = "n1", CreatedAt = DateTimeOffset.FromUnixTimeSeconds(1) });
        }
    }
}
