using NodeAgent.Agent.Files;
using NodeAgent.Testing;

namespace NodeAgent.Agent.Tests.Files;

/// <summary><see cref="DurableFile"/>'s two writers, sync and async, hold the same guarantees on a real file system.</summary>
public sealed class DurableFileTests : IDisposable
{
    private const UnixFileMode Mode0640 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead;
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Write_OverAnExistingFile_ReplacesItWithTheModeAndLeavesNoTemporaryFile(bool async)
    {
        var path = _dir.Combine("state.json");
        await File.WriteAllTextAsync(path, "old");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead);

        await WriteAsync(async, path, "new"u8.ToArray());

        Assert.Equal("new", await File.ReadAllTextAsync(path));
        Assert.Equal(Mode0640, File.GetUnixFileMode(path));
        Assert.Equal([path], Directory.GetFileSystemEntries(_dir.Path));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Write_TheWriterFails_KeepsTheOldFileAndRemovesTheTemporaryFile(bool async)
    {
        var path = _dir.Combine("state.json");
        await File.WriteAllTextAsync(path, "old");

        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => WriteAsync(async, path, "half"u8.ToArray(), fail: true));

        Assert.Equal("the writer failed", ex.Message);
        Assert.Equal("old", await File.ReadAllTextAsync(path));
        Assert.Equal([path], Directory.GetFileSystemEntries(_dir.Path));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Write_ATemporaryFileLeftByACrash_IsReplacedAndTheTargetWritten(bool async)
    {
        var path = _dir.Combine("state.json");
        var temp = _dir.Combine("elsewhere.tmp");
        await File.WriteAllTextAsync(temp, "left by a crash");

        await WriteAsync(async, path, "new"u8.ToArray(), temp);

        Assert.Equal("new", await File.ReadAllTextAsync(path));
        Assert.False(File.Exists(temp));
    }

    private static async Task WriteAsync(bool async, string path, byte[] content, string? tempPath = null, bool fail = false)
    {
        if (async)
        {
            await DurableFile.WriteAsync(path, Mode0640, async (stream, ct) =>
            {
                await stream.WriteAsync(content, ct);
                Fail(fail);
            }, tempPath, CancellationToken.None).WithTimeout(TestTimeouts.Default);
            return;
        }
        DurableFile.Write(path, Mode0640, stream =>
        {
            stream.Write(content);
            Fail(fail);
        }, tempPath);
    }

    private static void Fail(bool fail)
    {
        if (fail)
        {
            throw new InvalidOperationException("the writer failed");
        }
    }
}
