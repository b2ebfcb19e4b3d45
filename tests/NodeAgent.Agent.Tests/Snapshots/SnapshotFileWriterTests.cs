using System.Security.Cryptography;
using NodeAgent.Agent.Snapshots;
using NodeAgent.Testing;

namespace NodeAgent.Agent.Tests.Snapshots;

/// <summary>The writer on streams built here: a db followed by its sha256, as etcd sends them.</summary>
public sealed class SnapshotFileWriterTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly string _snapshots;

    public SnapshotFileWriterTests() => _snapshots = Directory.CreateDirectory(_dir.Combine("snapshots")).FullName;

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData(32 * 1024)]
    [InlineData(7)]
    [InlineData(1)]
    [InlineData(100_000)]
    public async Task Commit_WholeStream_WritesItExactlyWithMode0600AndItsSha256(int chunkSize)
    {
        var stream = EtcdStream(200_003);
        var path = Path.Combine(_snapshots, "on-demand-n1-1700000000");

        SnapshotFileInfo info;
        await using (var writer = SnapshotFileWriter.Create(path))
        {
            foreach (var chunk in stream.Chunk(chunkSize))
            {
                await writer.WriteAsync(chunk, CancellationToken.None);
            }
            info = await writer.CommitAsync(CancellationToken.None);
        }

        Assert.Equal(stream, await File.ReadAllBytesAsync(path));
        Assert.Equal(stream.Length, info.SizeBytes);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(stream)), info.Sha256);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        Assert.Equal([path], Directory.GetFiles(_snapshots));
    }

    [Fact]
    public async Task Commit_CorruptByte_FailsAndLeavesNoFile()
    {
        var stream = EtcdStream(100_000);
        stream[5_000] ^= 0xff;

        var ex = await Assert.ThrowsAsync<SnapshotStreamException>(() => WriteAllAsync(stream));

        Assert.Contains("corrupt", ex.Message, StringComparison.Ordinal);
        AssertNothingLeft();
    }

    [Fact]
    public async Task Commit_TruncatedStream_FailsAndLeavesNoFile()
    {
        var stream = EtcdStream(100_000)[..60_000];

        await Assert.ThrowsAsync<SnapshotStreamException>(() => WriteAllAsync(stream));

        AssertNothingLeft();
    }

    [Fact]
    public async Task Commit_ShorterThanATrailer_Fails()
    {
        var ex = await Assert.ThrowsAsync<SnapshotStreamException>(() => WriteAllAsync(new byte[20]));

        Assert.Contains("before its sha256 trailer", ex.Message, StringComparison.Ordinal);
        AssertNothingLeft();
    }

    [Fact]
    public async Task Dispose_WithoutCommit_RemovesThePartFile()
    {
        var path = Path.Combine(_snapshots, "snap");
        await using (var writer = SnapshotFileWriter.Create(path))
        {
            await writer.WriteAsync(new byte[1000], CancellationToken.None);
            Assert.Equal(Path.Combine(SnapshotTempFiles.DirectoryFor(_snapshots), "snap.part"), writer.PartPath);
            Assert.True(File.Exists(writer.PartPath));
        }

        AssertNothingLeft();
    }

    /// <summary>A save cancelled mid-stream, a block still hashing: the writer's dispose ends within the deadline and leaves nothing.</summary>
    [Fact]
    public async Task Dispose_CancelledMidStream_CompletesWithinTheDeadlineAndRemovesThePartFile()
    {
        var chunk = RandomNumberGenerator.GetBytes(1024 * 1024 + 4096);
        using var cancel = new CancellationTokenSource();
        var writer = SnapshotFileWriter.Create(Path.Combine(_snapshots, "snap"));
        await writer.WriteAsync(chunk, CancellationToken.None).AsTask().WithTimeout(TestTimeouts.Default);
        await cancel.CancelAsync();

        // Cancelled wherever the write must wait (the hash worker, the disk); a write that need not wait goes on.
        var written = await Record.ExceptionAsync(async () =>
        {
            for (var i = 0; i < 8; i++)
            {
                await writer.WriteAsync(chunk, cancel.Token).AsTask().WithTimeout(TestTimeouts.Default);
            }
        });
        await writer.DisposeAsync().AsTask().WithTimeout(TestTimeouts.Default);

        Assert.True(written is null or OperationCanceledException, $"the write failed otherwise: {written}");
        AssertNothingLeft();
    }

    [Fact]
    public async Task Create_ExistingSnapshot_IsRefused()
    {
        var path = Path.Combine(_snapshots, "snap");
        await File.WriteAllTextAsync(path, "keep me");

        Assert.Throws<SnapshotRequestException>(() => SnapshotFileWriter.Create(path));

        Assert.Equal("keep me", await File.ReadAllTextAsync(path));
    }

    /// <summary>Neither a snapshot nor a temporary file, in the dir or in its temp dir.</summary>
    private void AssertNothingLeft()
    {
        Assert.Empty(Directory.GetFiles(_snapshots));
        Assert.Empty(Directory.GetFiles(SnapshotTempFiles.DirectoryFor(_snapshots)));
    }

    private async Task WriteAllAsync(byte[] stream)
    {
        await using var writer = SnapshotFileWriter.Create(Path.Combine(_snapshots, "snap"));
        foreach (var chunk in stream.Chunk(4096))
        {
            await writer.WriteAsync(chunk, CancellationToken.None);
        }
        await writer.CommitAsync(CancellationToken.None);
    }

    private static byte[] EtcdStream(int dbBytes)
    {
        var db = RandomNumberGenerator.GetBytes(dbBytes);
        return [.. db, .. SHA256.HashData(db)];
    }
}
