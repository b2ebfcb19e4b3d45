using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using NodeAgent.Agent.Files;

namespace NodeAgent.Agent.Snapshots;

/// <summary>
/// Where a snapshot file is written before it is renamed into place. K3s lists every regular file
/// under its snapshot dir (subdirectories too) as a snapshot, so our temporary files live outside it:
/// <c>&lt;snapshot-dir&gt;/../.nodeagent/tmp/&lt;file&gt;.part</c> (dir 0700, next to the save lock),
/// on the same file system so the rename stays atomic. When that dir is on another device than the
/// snapshot dir (the snapshot dir is a mount point: a rename would fail with EXDEV), the temporary
/// file is <c>&lt;file&gt;.part</c> in the snapshot dir, as before.
/// </summary>
internal static partial class SnapshotTempFiles
{
    private static readonly ConcurrentDictionary<string, bool> Warned = new(StringComparer.Ordinal);

    /// <summary>The temp dir of a snapshot dir: <c>&lt;snapshot-dir&gt;/../.nodeagent/tmp</c>.</summary>
    public static string DirectoryFor(string snapshotDirectory)
    {
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(snapshotDirectory));
        var parent = Path.GetDirectoryName(full) ?? full;
        return Path.Combine(parent, ".nodeagent", "tmp");
    }

    /// <summary>The temporary path for <paramref name="finalPath"/>; creates the temp dir (0700) when it is used.</summary>
    public static string PathFor(string finalPath) => PathFor(finalPath, DeviceOf);

    /// <param name="deviceOf">A directory's device (st_dev), or null when it cannot be read.</param>
    public static string PathFor(string finalPath, Func<string, ulong?> deviceOf)
    {
        var full = Path.GetFullPath(finalPath);
        var directory = Path.GetDirectoryName(full)!;
        var temp = DirectoryFor(directory);
        LinuxFiles.CreatePrivateDirectory(temp);
        return SameDevice(directory, temp, deviceOf)
            ? Path.Combine(temp, Path.GetFileName(full) + SnapshotNames.PartSuffix)
            : full + SnapshotNames.PartSuffix;
    }

    /// <summary>
    /// Warns once per process and snapshot dir when its temporary files cannot leave it (the temp dir
    /// is on another device). Called by the components that write there, at the start of their work.
    /// </summary>
    public static void WarnIfInSnapshotDir(string snapshotDirectory, ILogger logger) => WarnIfInSnapshotDir(snapshotDirectory, logger, DeviceOf);

    public static void WarnIfInSnapshotDir(string snapshotDirectory, ILogger logger, Func<string, ulong?> deviceOf)
    {
        var directory = Path.TrimEndingDirectorySeparator(Path.GetFullPath(snapshotDirectory));
        var temp = DirectoryFor(directory);
        if (!Directory.Exists(directory))
        {
            return;
        }
        LinuxFiles.CreatePrivateDirectory(temp);
        if (!SameDevice(directory, temp, deviceOf) && Warned.TryAdd(directory, true))
        {
            LogTempInSnapshotDir(logger, directory, temp);
        }
    }

    /// <summary>Both places a temporary file for <paramref name="finalPath"/> may be: the temp dir and the snapshot dir.</summary>
    public static string[] PossiblePathsFor(string finalPath)
    {
        var full = Path.GetFullPath(finalPath);
        return [Path.Combine(DirectoryFor(Path.GetDirectoryName(full)!), Path.GetFileName(full) + SnapshotNames.PartSuffix), full + SnapshotNames.PartSuffix];
    }

    /// <summary>The files our temporary files may be among: the temp dir and the snapshot dir.</summary>
    public static IEnumerable<FileInfo> Candidates(string snapshotDirectory)
    {
        var temp = new DirectoryInfo(DirectoryFor(snapshotDirectory));
        var here = new DirectoryInfo(snapshotDirectory);
        return (here.Exists ? here.EnumerateFiles("*" + SnapshotNames.PartSuffix) : [])
            .Concat(temp.Exists ? temp.EnumerateFiles("*" + SnapshotNames.PartSuffix) : []);
    }

    private static bool SameDevice(string directory, string temp, Func<string, ulong?> deviceOf)
        => deviceOf(directory) is { } a && deviceOf(temp) is { } b && a == b;

    /// <summary>st_dev from stat(2): the first field of struct stat on x86_64 and arm64 (glibc).</summary>
    private static ulong? DeviceOf(string path)
    {
        var buffer = new byte[256];
        return Stat(path, buffer) == 0 ? BitConverter.ToUInt64(buffer, 0) : null;
    }

    [LibraryImport("libc", EntryPoint = "stat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Stat(string path, [Out] byte[] buffer);
}
