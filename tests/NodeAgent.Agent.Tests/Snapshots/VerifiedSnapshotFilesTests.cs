using System.Security.Cryptography;
using NodeAgent.Agent.Snapshots;
using NodeAgent.Testing;

namespace NodeAgent.Agent.Tests.Snapshots;

/// <summary>
/// A snapshot verified as its bytes arrived (a download) is not read again by the restore's
/// checks while it is unchanged; a file changed since, however soon after, is read and checked.
/// </summary>
public sealed class VerifiedSnapshotFilesTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task CheckAsync_FileThisProcessDownloadedAndVerified_TakesThatResultWithoutReadingItAgain()
    {
        var stream = EtcdStream(300_007);
        var path = _dir.Combine("on-demand-n1-1700000000");
        var written = await SnapshotFileWriter.WriteVerifiedAsync(new MemoryStream(stream), path, CancellationToken.None).WithTimeout(TestTimeouts.Default);
        // Damage it behind the file system's back (same size, modification time put back): a check
        // that read the file would find the damage; one that did not says what the writer saw.
        var stamp = File.GetLastWriteTimeUtc(path);
        FlipOneByte(path);
        File.SetLastWriteTimeUtc(path, stamp);

        var check = await SnapshotVerifier.CheckAsync(path, CancellationToken.None).WithTimeout(TestTimeouts.Default);

        Assert.Null(check.Problem);
        Assert.Equal(written.Sha256, check.Sha256);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(stream)), check.Sha256);
        Assert.Equal(stream.Length, check.SizeBytes);
        Assert.Equal(stream.Length - SnapshotTrailerCheck.TrailerLength, check.DbBytes);
    }

    [Fact]
    public async Task CheckAsync_FileChangedRightAfterItWasWritten_IsReadAgainAndTheDamageFound()
    {
        var path = _dir.Combine("on-demand-n1-1700000001");
        await SnapshotFileWriter.WriteVerifiedAsync(new MemoryStream(EtcdStream(300_007)), path, CancellationToken.None).WithTimeout(TestTimeouts.Default);
        // Within the same tick of the file system's clock as the writer's last write, as often as not.
        FlipOneByte(path);

        var check = await SnapshotVerifier.CheckAsync(path, CancellationToken.None).WithTimeout(TestTimeouts.Default);

        Assert.NotNull(check.Problem);
        Assert.Contains("is corrupt", check.Problem, StringComparison.Ordinal);
    }

    private static void FlipOneByte(string path)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
        file.Position = 1000;
        var b = file.ReadByte();
        file.Position = 1000;
        file.WriteByte((byte)(b ^ 0x01));
    }

    /// <summary>A db followed by its sha256, as etcd sends a snapshot.</summary>
    private static byte[] EtcdStream(int dbBytes)
    {
        var db = RandomNumberGenerator.GetBytes(dbBytes);
        return [.. db, .. SHA256.HashData(db)];
    }
}
