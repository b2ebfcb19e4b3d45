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
        using var file = PendingFile.Create(path, mode, tempPath, FileOptions.None);
        write(file.Stream);
        file.Commit();
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
        using var file = PendingFile.Create(path, mode, tempPath, FileOptions.Asynchronous);
        await write(file.Stream, cancellationToken);
        await file.Stream.FlushAsync(cancellationToken);
        file.Commit();
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

    /// <summary>
    /// The steps both writers share: the temporary file made afresh (mode set, umask aside), then
    /// <see cref="Commit"/> (fsync, mode, rename over the target, fsync of the dir); disposed
    /// without a commit, the temporary file is removed and the target is untouched.
    /// </summary>
    private sealed class PendingFile : IDisposable
    {
        private readonly string _path;
        private readonly string _temp;
        private readonly UnixFileMode _mode;
        private bool _committed;

        private PendingFile(string path, string temp, UnixFileMode mode, FileStream stream)
        {
            (_path, _temp, _mode, Stream) = (path, temp, mode, stream);
        }

        /// <summary>The temporary file, for the caller to write; buffered writes must be flushed before <see cref="Commit"/>.</summary>
        public FileStream Stream { get; }

        public static PendingFile Create(string path, UnixFileMode mode, string? tempPath, FileOptions options)
        {
            var temp = tempPath ?? path + PartSuffix;
            File.Delete(temp);
            var stream = new FileStream(temp, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = mode, Options = options });
            return new PendingFile(path, temp, mode, stream);
        }

        public void Commit()
        {
            Stream.Flush(flushToDisk: true);
            Stream.Dispose();
            File.SetUnixFileMode(_temp, _mode);
            File.Move(_temp, _path, overwrite: true);
            _committed = true;
            LinuxFiles.FsyncDirectoryOf(_path);
        }

        public void Dispose()
        {
            try
            {
                // After a failed write this may fail too (flushing what is buffered onto a full disk).
                Stream.Dispose();
            }
            finally
            {
                if (!_committed)
                {
                    File.Delete(_temp);
                }
            }
        }
    }
}
