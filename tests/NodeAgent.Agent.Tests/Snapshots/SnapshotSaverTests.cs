using System.Security.Cryptography;
using Microsoft.Extensions.Logging.Abstractions;
using NodeAgent.Agent.Etcd;
using NodeAgent.Agent.Snapshots;
using NodeAgent.Testing;
using NodeAgent.Testing.Etcd;
using NodeAgent.Testing.Ordering;
using NodeAgent.Testing.Processes;
using NodeAgent.Testing.Tools;

namespace NodeAgent.Agent.Tests.Snapshots;

/// <summary>Saves from a real etcd, checked with the peer tools: etcdctl restores them, unzip opens the zips.</summary>
[ExpectedDuration(113)]
public sealed class SnapshotSaverTests : IDisposable
{
    private static readonly UnixFileMode Mode0600 = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private readonly TempDir _root = new();
    private readonly string _dir;

    public SnapshotSaverTests() => _dir = _root.Combine("server", "db", "snapshots");

    public void Dispose() => _root.Dispose();

    [Fact]
    public async Task Save_EtcdctlRestoresItWithTheHashCheck_AndEveryKeyIsEqual()
    {
        await using var etcd = await EtcdServer.StartAsync();
        await LoadAsync(etcd);
        var expected = await EtcdData.ReadAllAsync(etcd.ClientUrl).DefaultTimeout();
        using var client = etcd.CreateClient();
        var status = await client.StatusAsync(new Etcdserverpb.StatusRequest());

        var result = await Saver(etcd).SaveAsync(Request(), null, CancellationToken.None).WithTimeout(TestTimeouts.Slow);

        var path = Assert.IsType<string>(result.Path);
        var metadata = Assert.IsType<SnapshotMetadata>(result.Metadata);
        Assert.Matches(@"^on-demand-n1-\d{10}$", Path.GetFileName(path));
        Assert.Equal(Mode0600, File.GetUnixFileMode(path));
        Assert.Equal(new FileInfo(path).Length, metadata.SizeBytes);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(path))), metadata.Sha256);
        Assert.Equal(status.Header.Revision, metadata.EtcdRevision);
        Assert.Equal(status.Version, metadata.EtcdVersion);
        Assert.Equal(["on-demand-n1-" + metadata.CreatedAt.ToUnixTimeSeconds()], Directory.GetFiles(_dir).Select(Path.GetFileName).Where(n => !n!.StartsWith('.')));
        var sidecar = _root.Combine("server", "db", ".metadata", Path.GetFileName(path));
        Assert.Equal(Mode0600, File.GetUnixFileMode(sidecar));
        Assert.Equal(metadata with { Duration = TimeSpan.FromMilliseconds((long)metadata.Duration.TotalMilliseconds) }, new SnapshotSidecars(_dir).Read(Path.GetFileName(path)));

        await AssertRestoresAsync(path, expected);
    }

    [Fact]
    public async Task Save_Compressed_IsAZipOfOneEntryThatUnzipsAndRestores()
    {
        await using var etcd = await EtcdServer.StartAsync();
        await LoadAsync(etcd);
        var expected = await EtcdData.ReadAllAsync(etcd.ClientUrl).DefaultTimeout();

        var result = await Saver(etcd).SaveAsync(Request() with { Compress = true }, null, CancellationToken.None).WithTimeout(TestTimeouts.Slow);

        var zip = Assert.IsType<string>(result.Path);
        var name = Path.GetFileNameWithoutExtension(zip);
        Assert.EndsWith(".zip", zip, StringComparison.Ordinal);
        Assert.Equal(Mode0600, File.GetUnixFileMode(zip));
        Assert.False(File.Exists(Path.Combine(_dir, name)));
        Assert.True(result.Metadata!.Compressed);
        var entries = await CommandRunner.RunAsync("/usr/bin/unzip", ["-Z1", zip]);
        Assert.Equal(name, entries.EnsureSuccess().StandardOutput.Trim());
        var unzipped = _root.Combine("unzipped");
        (await CommandRunner.RunAsync("/usr/bin/unzip", ["-q", zip, "-d", unzipped], timeout: TestTimeouts.Slow)).EnsureSuccess();
        var snapshot = Path.Combine(unzipped, name);
        Assert.Equal(result.Metadata.SnapshotSha256, Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(snapshot))));

        await AssertRestoresAsync(snapshot, expected);
    }

    [Fact]
    public async Task EtcdctlSnapshot_IsListedAndPrunedByUs()
    {
        await using var etcd = await EtcdServer.StartAsync();
        Directory.CreateDirectory(_dir);
        var theirs = Path.Combine(_dir, "on-demand-n1-1600000000");
        (await new Etcdctl(etcd.ClientUrl).SnapshotSaveAsync(theirs)).EnsureSuccess();
        await Saver(etcd).SaveAsync(Request(), null, CancellationToken.None).DefaultTimeout();
        var store = new LocalSnapshotStore(_dir, "n1");

        var listed = store.List();

        Assert.Equal(2, listed.Count);
        var listedTheirs = listed[1];
        Assert.Equal("on-demand-n1-1600000000", listedTheirs.Name);
        Assert.Equal(new FileInfo(theirs).Length, listedTheirs.Size);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1_600_000_000), listedTheirs.CreatedAt);
        Assert.Equal(["on-demand-n1-1600000000"], store.Prune("on-demand", 1));
        Assert.False(File.Exists(theirs));
    }

    [Fact]
    public async Task Save_EtcdKilledMidStream_FailsAndLeavesNoFileAndNoPart()
    {
        await using var etcd = await EtcdServer.StartAsync();
        await EtcdData.LoadAsync(etcd.ClientUrl, 48, valueBytes: 512 * 1024).WithTimeout(TestTimeouts.Slow);
        var killed = false;

        var ex = await Assert.ThrowsAsync<EtcdUnavailableException>(() => Saver(etcd).SaveAsync(Request(), (done, _) =>
        {
            if (!killed)
            {
                killed = true;
                etcd.Kill();
            }
        }, CancellationToken.None).WithTimeout(TestTimeouts.Slow));

        Assert.True(killed);
        Assert.Contains("snapshot stream", ex.Message, StringComparison.Ordinal);
        Assert.Empty(VisibleFiles(_dir));
        Assert.False(Directory.Exists(_root.Combine("server", "db", ".metadata")));
    }

    [Fact]
    public async Task Save_AbandonedPartFromADeadSave_IsRemoved_AFreshOneIsLeft()
    {
        await using var etcd = await EtcdServer.StartAsync();
        Directory.CreateDirectory(_dir);
        var abandoned = Path.Combine(_dir, "on-demand-n1-1700000000.part");
        var fresh = Path.Combine(_dir, "on-demand-n1-1700000001.part");
        await File.WriteAllBytesAsync(abandoned, new byte[4096]);
        await File.WriteAllBytesAsync(fresh, new byte[4096]);
        var now = TimeProvider.System.GetUtcNow().UtcDateTime;
        File.SetLastWriteTimeUtc(abandoned, now - SnapshotSaver.AbandonedPartAge - TimeSpan.FromMinutes(1));
        File.SetLastWriteTimeUtc(fresh, now - SnapshotSaver.AbandonedPartAge + TimeSpan.FromMinutes(5));

        await Saver(etcd).SaveAsync(Request(), null, CancellationToken.None).WithTimeout(TestTimeouts.Slow);

        Assert.False(File.Exists(abandoned));
        Assert.True(File.Exists(fresh));
    }

    [Fact]
    public async Task Save_OldPartFileNotNamedLikeOurs_IsLeftAlone_OursAndOurSidecarPartGo()
    {
        await using var etcd = await EtcdServer.StartAsync();
        Directory.CreateDirectory(_dir);
        var sidecars = _root.Combine("server", "db", ".metadata");
        Directory.CreateDirectory(sidecars);
        var foreign = new[] { "download.iso.part", "backup-2024.part", "x-y-z.part" }.Select(n => Path.Combine(_dir, n)).ToArray();
        var foreignSidecar = Path.Combine(sidecars, "notes.part");
        var ours = Path.Combine(_dir, "etcd-snapshot-n2-1700000000.zip.part");
        var ourSidecar = Path.Combine(sidecars, "on-demand-n1-1700000000.part");
        var freshSidecar = Path.Combine(sidecars, "on-demand-n1-1700000001.part");
        var old = TimeProvider.System.GetUtcNow().UtcDateTime - SnapshotSaver.AbandonedPartAge - TimeSpan.FromMinutes(1);
        foreach (var path in foreign.Append(foreignSidecar).Append(ours).Append(ourSidecar).Append(freshSidecar))
        {
            await File.WriteAllTextAsync(path, "data\n");
            File.SetLastWriteTimeUtc(path, path == freshSidecar ? old + TimeSpan.FromMinutes(10) : old);
        }

        await Saver(etcd).SaveAsync(Request(), null, CancellationToken.None).WithTimeout(TestTimeouts.Slow);

        Assert.All(foreign.Append(foreignSidecar), path => Assert.Equal("data\n", File.ReadAllText(path)));
        Assert.False(File.Exists(ours));
        Assert.False(File.Exists(ourSidecar));
        Assert.True(File.Exists(freshSidecar));
    }

    [Fact]
    public async Task Save_WhileAnotherSaveHoldsTheLock_IsRefused()
    {
        await using var etcd = await EtcdServer.StartAsync();
        Directory.CreateDirectory(_dir);
        Directory.CreateDirectory(Path.GetDirectoryName(SnapshotSaver.LockPathFor(_dir))!);
        await using var held = new FileStream(SnapshotSaver.LockPathFor(_dir), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);

        var ex = await Assert.ThrowsAsync<SnapshotInProgressException>(() => Saver(etcd).SaveAsync(Request(), null, CancellationToken.None).DefaultTimeout());

        Assert.Equal("snapshot save already in progress", ex.Message);
        Assert.Empty(Directory.GetFileSystemEntries(_dir));
    }

    /// <summary>K3s lists every regular file under its snapshot dir (recursively) as a snapshot: a save leaves only the snapshot there.</summary>
    [Fact]
    public async Task Save_Done_TheSnapshotDirHoldsTheSnapshotAloneAndTheLockLivesBesideIt()
    {
        await using var etcd = await EtcdServer.StartAsync();

        var result = await Saver(etcd).SaveAsync(Request(), null, CancellationToken.None).DefaultTimeout();

        Assert.Equal([result.Path!], Directory.GetFileSystemEntries(_dir));
        Assert.Equal(Path.Combine(Path.GetDirectoryName(_dir)!, ".nodeagent", "save.lock"), SnapshotSaver.LockPathFor(_dir));
        Assert.True(File.Exists(SnapshotSaver.LockPathFor(_dir)));
    }

    /// <summary>K3s would list a .part in the snapshot dir as a snapshot that cannot be restored: while etcd streams, the file grows in .nodeagent/tmp.</summary>
    [Fact]
    public async Task Save_WhileEtcdStreams_TheSnapshotDirHoldsNoTemporaryFile()
    {
        await using var etcd = await EtcdServer.StartAsync();
        await EtcdData.LoadAsync(etcd.ClientUrl, 48, valueBytes: 512 * 1024).WithTimeout(TestTimeouts.Slow);
        string[]? inDir = null;
        string[]? inTemp = null;

        var result = await Saver(etcd).SaveAsync(Request(), (_, _) =>
        {
            inDir ??= Directory.GetFileSystemEntries(_dir);
            var temp = SnapshotTempFiles.DirectoryFor(_dir);
            inTemp ??= Directory.Exists(temp) ? Directory.GetFiles(temp).Select(Path.GetFileName).Select(n => n!).ToArray() : [];
        }, CancellationToken.None).WithTimeout(TestTimeouts.Slow);

        Assert.Empty(Assert.IsType<string[]>(inDir));
        Assert.Equal([Path.GetFileName(result.Path!) + ".part"], Assert.IsType<string[]>(inTemp));
        Assert.Equal([result.Path!], Directory.GetFileSystemEntries(_dir));
        Assert.Empty(Directory.GetFileSystemEntries(SnapshotTempFiles.DirectoryFor(_dir)));
    }

    [Fact]
    public async Task Save_Compressed_LeavesTheZipAloneInTheSnapshotDirAndNoTemporaryFile()
    {
        await using var etcd = await EtcdServer.StartAsync();

        var result = await Saver(etcd).SaveAsync(Request() with { Compress = true }, null, CancellationToken.None).WithTimeout(TestTimeouts.Slow);

        Assert.Equal([result.Path!], Directory.GetFileSystemEntries(_dir));
        Assert.Empty(Directory.GetFileSystemEntries(SnapshotTempFiles.DirectoryFor(_dir)));
    }

    [Fact]
    public async Task Save_OldTemporaryFileOfOursInTheTempDir_IsRemoved_ForeignAndFreshStay()
    {
        await using var etcd = await EtcdServer.StartAsync();
        var temp = SnapshotTempFiles.DirectoryFor(_dir);
        Directory.CreateDirectory(_dir);
        Directory.CreateDirectory(temp);
        var ours = Path.Combine(temp, "on-demand-n1-1700000000.zip.part");
        var fresh = Path.Combine(temp, "on-demand-n1-1700000001.part");
        var foreign = Path.Combine(temp, "download.iso.part");
        var old = TimeProvider.System.GetUtcNow().UtcDateTime - SnapshotSaver.AbandonedPartAge - TimeSpan.FromMinutes(1);
        foreach (var path in new[] { ours, fresh, foreign })
        {
            await File.WriteAllTextAsync(path, "data\n");
            File.SetLastWriteTimeUtc(path, path == fresh ? old + TimeSpan.FromMinutes(10) : old);
        }

        await Saver(etcd).SaveAsync(Request(), null, CancellationToken.None).WithTimeout(TestTimeouts.Slow);

        Assert.False(File.Exists(ours));
        Assert.True(File.Exists(fresh));
        Assert.Equal("data\n", File.ReadAllText(foreign));
    }

    [Fact]
    public async Task Save_OnALearner_SkipsWithTheReason()
    {
        await using var leader = await EtcdServer.StartAsync();
        await using var learner = await EtcdServer.StartLearnerAsync(leader);

        var result = await Saver(learner).SaveAsync(Request(), null, CancellationToken.None).DefaultTimeout();

        Assert.True(result.Skipped);
        Assert.Contains("is a learner", result.SkippedBecause, StringComparison.Ordinal);
        Assert.Empty(VisibleFiles(_dir));
    }

    [Fact]
    public async Task Save_EtcdUnreachable_SaysWhichEndpointAndWritesNothing()
    {
        var saver = new SnapshotSaver(
            () => new GrpcEtcdMaintenance(EtcdConnectionOptions.Resolve(_root.Path, $"http://127.0.0.1:{FreePorts.Next()}", null, null, null)),
            TimeProvider.System, NullLogger<SnapshotSaver>.Instance);

        var ex = await Assert.ThrowsAsync<EtcdUnavailableException>(() => saver.SaveAsync(Request(), null, CancellationToken.None).DefaultTimeout());

        Assert.StartsWith("etcd is not reachable (http://127.0.0.1:", ex.Message, StringComparison.Ordinal);
        Assert.Empty(VisibleFiles(_dir));
    }

    [Fact]
    public async Task Save_BadName_IsRefusedBeforeEtcdIsAsked()
    {
        var saver = new SnapshotSaver(() => throw new InvalidOperationException("etcd must not be reached"), TimeProvider.System, NullLogger<SnapshotSaver>.Instance);

        var ex = await Assert.ThrowsAsync<SnapshotRequestException>(() => saver.SaveAsync(Request() with { NamePrefix = "../evil" }, null, CancellationToken.None));

        Assert.Contains("must be a bare name", ex.Message, StringComparison.Ordinal);
    }

    private SnapshotSaveRequest Request() => new(_dir, "on-demand", "n1", Compress: false) { Runtime = Contracts.V1.Runtime.Etcd, Cluster = "prod" };

    private SnapshotSaver Saver(EtcdServer etcd) => new(
        () => new GrpcEtcdMaintenance(EtcdConnectionOptions.Resolve(_root.Path, etcd.ClientUrl, null, null, null)),
        TimeProvider.System, NullLogger<SnapshotSaver>.Instance);

    private static async Task LoadAsync(EtcdServer etcd)
    {
        await EtcdData.LoadAsync(etcd.ClientUrl, 16, valueBytes: 256 * 1024).WithTimeout(TestTimeouts.Slow);
        await EtcdData.PutAsync(etcd.ClientUrl, Enumerable.Range(0, 200).Select(i => KeyValuePair.Create($"/registry/small/{i}", $"value-{i}"))).DefaultTimeout();
    }

    private async Task AssertRestoresAsync(string snapshot, IReadOnlyDictionary<string, string> expected)
    {
        var restored = _root.Combine("restored");
        (await Etcdctl.SnapshotRestoreAsync(snapshot, restored)).EnsureSuccess();
        await using var etcd = await EtcdServer.StartAsync(restored);
        Assert.Equal(expected, await EtcdData.ReadAllAsync(etcd.ClientUrl).DefaultTimeout());
    }

    /// <summary>The files of a dir that could be taken for snapshots (not the lock, not sidecars).</summary>
    private static string[] VisibleFiles(string dir) => [.. Directory.GetFiles(dir).Select(Path.GetFileName).Where(n => !n!.StartsWith('.')).Select(n => n!)];
}
