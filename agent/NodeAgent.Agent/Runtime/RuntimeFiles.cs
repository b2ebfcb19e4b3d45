using NodeAgent.Agent.Snapshots;

namespace NodeAgent.Agent.Runtime;

/// <summary>
/// Files the runtime reads (its binary, its config), replaced so that a crash leaves the old file or
/// the new one, never half of either: written to <c>&lt;path&gt;.nodeagent-tmp</c> beside it, fsynced,
/// renamed over it, and the directory fsynced (as <see cref="SnapshotFileWriter"/> does for snapshots).
/// </summary>
internal static class RuntimeFiles
{
    public const string TempSuffix = ".nodeagent-tmp";

    public const UnixFileMode Private = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    public const UnixFileMode Executable = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
        | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;

    /// <summary>Replaces (or creates) <paramref name="path"/> with <paramref name="content"/>, mode <paramref name="mode"/>.</summary>
    public static void Write(string path, ReadOnlySpan<byte> content, UnixFileMode mode)
    {
        var temp = path + TempSuffix;
        File.Delete(temp);
        using (var stream = new FileStream(temp, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = mode }))
        {
            stream.Write(content);
            stream.Flush(flushToDisk: true);
        }
        File.SetUnixFileMode(temp, mode);
        File.Move(temp, path, overwrite: true);
        LinuxFiles.FsyncDirectoryOf(path);
    }

    /// <summary>Replaces (or creates) <paramref name="target"/> with a copy of <paramref name="source"/>, mode <paramref name="mode"/>.</summary>
    public static async Task CopyAsync(string source, string target, UnixFileMode mode, CancellationToken cancellationToken)
    {
        var temp = target + TempSuffix;
        File.Delete(temp);
        await using (var from = new FileStream(source, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, useAsync: true))
        await using (var to = new FileStream(temp, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = mode, Options = FileOptions.Asynchronous }))
        {
            await from.CopyToAsync(to, cancellationToken);
            to.Flush(flushToDisk: true);
        }
        File.SetUnixFileMode(temp, mode);
        File.Move(temp, target, overwrite: true);
        LinuxFiles.FsyncDirectoryOf(target);
    }
}
