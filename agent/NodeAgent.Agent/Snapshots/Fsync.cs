using System.Runtime.InteropServices;

namespace NodeAgent.Agent.Snapshots;

/// <summary>
/// fsync of a directory, so a rename (a snapshot becoming visible) survives a power cut. .NET has
/// no API to open a directory, hence libc.
/// </summary>
internal static partial class Fsync
{
    private const int ReadOnly = 0;
    private const int Directory = 0x10000;
    private const int CloseOnExec = 0x80000;

    public static void DirectoryOf(string path) => Dir(Path.GetDirectoryName(Path.GetFullPath(path))!);

    public static void Dir(string directory)
    {
        var fd = Open(directory, ReadOnly | Directory | CloseOnExec);
        if (fd < 0)
        {
            throw new IOException($"cannot open directory {directory} to fsync it (errno {Marshal.GetLastPInvokeError()})");
        }
        try
        {
            if (FsyncFd(fd) != 0)
            {
                throw new IOException($"fsync of directory {directory} failed (errno {Marshal.GetLastPInvokeError()})");
            }
        }
        finally
        {
            _ = Close(fd);
        }
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int FsyncFd(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}
