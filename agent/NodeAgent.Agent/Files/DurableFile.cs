namespace NodeAgent.Agent.Files;

/// <summary>
/// The one way the agent writes a file durably, so a crash or power cut leaves the old file or the
/// new one, never half of either: the bytes go to a temporary file (beside the target, or where the
/// caller says, on the same device), are fsynced, the temporary file is renamed over the target,
/// and the directory is fsynced so the rename itself survives.
/// </summary>
internal static class DurableFile
{
    /// <summary>What a temporary file beside its target ends with: <c>&lt;path&gt;.part</c>.</summary>
    public const string PartSuffix = ".part";

    /// <summary>Replaces (or creates) <paramref name="path"/> with what <paramref name="write"/> writes, mode <paramref name="mode"/> (umask does not apply).</summary>
    /// <param name="tempPath">The temporary file (default <c>&lt;path&gt;.part</c>); removed when the write fails.</param>
    public static void Write(string path, UnixFileMode mode, Action<Stream> write, string? tempPath = null)
    {
        var temp = tempPath ?? path + PartSuffix;
        File.Delete(temp);
        try
        {
            using (var stream = new FileStream(temp, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = mode }))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            File.SetUnixFileMode(temp, mode);
            File.Move(temp, path, overwrite: true);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
        LinuxFiles.FsyncDirectoryOf(path);
    }

    /// <summary>Replaces (or creates) <paramref name="path"/> with <paramref name="content"/>.</summary>
    public static void Write(string path, UnixFileMode mode, ReadOnlySpan<byte> content, string? tempPath = null)
    {
        var bytes = content.ToArray();
        Write(path, mode, stream => stream.Write(bytes), tempPath);
    }

    /// <summary>
    /// Replaces (or creates) <paramref name="path"/> with what <paramref name="write"/> writes, as
    /// <see cref="Write(string, UnixFileMode, Action{Stream}, string?)"/> does.
    /// </summary>
    public static async Task WriteAsync(string path, UnixFileMode mode, Func<Stream, CancellationToken, Task> write, string? tempPath, CancellationToken cancellationToken)
    {
        var temp = tempPath ?? path + PartSuffix;
        File.Delete(temp);
        try
        {
            await using (var stream = new FileStream(temp, new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                UnixCreateMode = mode,
                Options = FileOptions.Asynchronous,
            }))
            {
                await write(stream, cancellationToken);
                await stream.FlushAsync(cancellationToken);
                stream.Flush(flushToDisk: true);
            }
            File.SetUnixFileMode(temp, mode);
            File.Move(temp, path, overwrite: true);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
        LinuxFiles.FsyncDirectoryOf(path);
    }

    /// <summary>
    /// The last step for a file written and fsynced elsewhere (a snapshot streamed into its
    /// <c>.part</c>): the rename to <paramref name="path"/> (never over an existing file unless
    /// <paramref name="overwrite"/>) and the fsync of its directory.
    /// </summary>
    public static void Commit(string tempPath, string path, bool overwrite = false)
    {
        File.Move(tempPath, path, overwrite);
        LinuxFiles.FsyncDirectoryOf(path);
    }
}
