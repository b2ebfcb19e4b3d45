using System.Security.Cryptography;
using NodeAgent.Agent.Snapshots;
using NodeAgent.Testing;

namespace NodeAgent.Agent.Tests.Snapshots;

/// <summary>The writer on streams built here: a db followed by its sha256, as etcd sends them.</summary>
public sealed class SnapshotFileWriterTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData(32 * 1024)]
    [InlineData(7)]
    [InlineData(1)]
    [InlineData(100_000)]
    public async Task Commit_WholeStream_WritesItExactlyWithMode0600AndItsSha256(int chunkSize)
    {
        var stream = EtcdStream(200_003);
        var path = _dir.Combine("on-demand-n1-1700000000");

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
        Assert.Equal([path], Directory.GetFiles(_dir.Path));
    }

    [Fact]
    public async Task Commit_CorruptByte_FailsAndLeavesNoFile()
    {
        var stream = EtcdStream(100_000);
        stream[5_000] ^= 0xff;

        var ex = await Assert.ThrowsAsync<SnapshotStreamException>(() => WriteAllAsync(stream));

        Assert.Contains("corrupt", ex.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(_dir.Path));
    }

    [Fact]
    public async Task Commit_TruncatedStream_FailsAndLeavesNoFile()
    {
        var stream = EtcdStream(100_000)[..60_000];

        await Assert.ThrowsAsync<SnapshotStreamException>(() => WriteAllAsync(stream));

        Assert.Empty(Directory.GetFiles(_dir.Path));
    }

    [Fact]
    public async Task Commit_ShorterThanATrailer_Fails()
    {
        var ex = await Assert.ThrowsAsync<SnapshotStreamException>(() => WriteAllAsync(new byte[20]));

        Assert.Contains("before its sha256 trailer", ex.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(_dir.Path));
    }

    [Fact]
    public async Task Dispose_WithoutCommit_RemovesThePartFile()
    {
        var path = _dir.Combine("snap");
        await using (var writer = SnapshotFileWriter.Create(path))
        {
            await writer.WriteAsync(new byte[1000], CancellationToken.None);
            Assert.True(File.Exists(path + ".part"));
        }

        Assert.Empty(Directory.GetFiles(_dir.Path));
    }

    [Fact]
    public async Task Create_ExistingSnapshot_IsRefused()
    {
        var path = _dir.Combine("snap");
        await File.WriteAllTextAsync(path, "keep me");

        Assert.Throws<SnapshotRequestException>(() => SnapshotFileWriter.Create(path));

        Assert.Equal("keep me", await File.ReadAllTextAsync(path));
    }

    private async Task WriteAllAsync(byte[] stream)
    {
        await using var writer = SnapshotFileWriter.Create(_dir.Combine("snap"));
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
