using System.Security.Cryptography;
using NodeAgent.Agent.Files;
using NodeAgent.Testing;

namespace NodeAgent.Agent.Tests.Files;

/// <summary>
/// Both ways a snapshot reaches the disk write exactly the bytes given, at any length. The O_DIRECT
/// one runs in the repository's artifacts dir, on a real disk; the buffered one (with its early
/// writeback) is what a restore's download gets, and file systems that refuse O_DIRECT (tmpfs before
/// Linux 6.6, some FUSE mounts).
/// </summary>
public sealed class FileSinksTests : IDisposable
{
    private readonly string _disk = Path.Combine(RepoPaths.Root, "artifacts", "test-sink-" + Guid.NewGuid().ToString("N"));

    public FileSinksTests() => Directory.CreateDirectory(_disk);

    public void Dispose() => Directory.Delete(_disk, recursive: true);

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(4096)]
    [InlineData(1024 * 1024)]
    [InlineData(3 * 1024 * 1024 + 32)]
    public async Task Disk_UsesODirect_AndWritesExactlyTheBytes(int length)
    {
        var (sinkType, bytes) = await WriteAsync(_disk, length, allowDirect: true);

        Assert.Equal(typeof(DirectFileSink), sinkType);
        Assert.Equal(length, bytes.written.Length);
        Assert.Equal(bytes.expected, bytes.written);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2 * 1024 * 1024 + 7)]
    [InlineData(21 * 1024 * 1024 + 5)] // past two 8 MiB write-behind windows
    public async Task Buffered_WritesTheSameBytes(int length)
    {
        var (sinkType, bytes) = await WriteAsync(_disk, length, allowDirect: false);

        Assert.Equal(typeof(BufferedFileSink), sinkType);
        Assert.Equal(bytes.expected, bytes.written);
    }

    private static async Task<(Type, (byte[] expected, byte[] written))> WriteAsync(string dir, int length, bool allowDirect)
    {
        var path = Path.Combine(dir, "file");
        await File.WriteAllBytesAsync(path, []);
        var data = RandomNumberGenerator.GetBytes(length);
        Type type;
        await using (var sink = FileSinks.Open(path, allowDirect))
        {
            type = sink.GetType();
            // Uneven pieces, as network chunks come.
            for (var offset = 0; offset < length;)
            {
                var count = (int)Math.Min(length - offset, 1 + (offset * 7919L % 70_000));
                await sink.WriteAsync(data.AsMemory(offset, count), CancellationToken.None);
                offset += count;
            }
            await sink.CompleteAsync(CancellationToken.None);
        }
        return (type, (data, await File.ReadAllBytesAsync(path)));
    }
}
