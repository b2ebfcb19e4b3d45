using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace NodeAgent.Agent.Files;

/// <summary>
/// The few libc calls .NET has no API for: fsync of a directory (so a rename survives a power cut),
/// opening a file with O_DIRECT (so a 1 GB snapshot does not push etcd's own db pages out of the
/// page cache, and costs no page-cache CPU on a small node) and starting a file's writeback early.
/// Flag values differ by architecture.
/// </summary>
internal static partial class LinuxFiles
{
    private const int ReadOnly = 0;
    private const int WriteOnly = 1;
    private const int CloseOnExec = 0x80000;
    private const int InvalidArgument = 22;
    private static readonly bool IsArm = RuntimeInformation.ProcessArchitecture is Architecture.Arm64 or Architecture.Arm;
    private static readonly int DirectoryFlag = IsArm ? 0x4000 : 0x10000;
    private static readonly int DirectFlag = IsArm ? 0x10000 : 0x4000;

    /// <summary>
    /// Creates a directory and every missing parent, each 0700: what the agent creates holds
    /// snapshots, sidecars, upload journals or credentials, nobody else's business. (.NET's
    /// CreateDirectory gives the mode to the last directory only; parents get 0755.)
    /// </summary>
    public static void CreatePrivateDirectory(string path)
    {
        var full = Path.GetFullPath(path);
        if (Directory.Exists(full))
        {
            return;
        }
        if (Path.GetDirectoryName(full) is { } parent)
        {
            CreatePrivateDirectory(parent);
        }
        Directory.CreateDirectory(full, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    public static void FsyncDirectoryOf(string path) => FsyncDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);

    public static void FsyncDirectory(string directory)
    {
        var fd = Open(directory, ReadOnly | DirectoryFlag | CloseOnExec);
        if (fd < 0)
        {
            throw new IOException($"cannot open directory {directory} to fsync it (errno {Marshal.GetLastPInvokeError()})");
        }
        try
        {
            if (Fsync(fd) != 0)
            {
                throw new IOException($"fsync of directory {directory} failed (errno {Marshal.GetLastPInvokeError()})");
            }
        }
        finally
        {
            _ = Close(fd);
        }
    }

    /// <summary>Opens an existing file for O_DIRECT writes, or null where the file system refuses O_DIRECT (tmpfs).</summary>
    public static SafeFileHandle? TryOpenDirectForWrite(string path)
    {
        var fd = Open(path, WriteOnly | DirectFlag | CloseOnExec);
        if (fd >= 0)
        {
            return new SafeFileHandle(fd, ownsHandle: true);
        }
        var errno = Marshal.GetLastPInvokeError();
        return errno == InvalidArgument ? null : throw new IOException($"cannot open {path} for writing (errno {errno})");
    }

    public static void Truncate(SafeFileHandle file, long length)
    {
        if (Ftruncate(file, length) != 0)
        {
            throw new IOException($"cannot set the snapshot file's length to {length} (errno {Marshal.GetLastPInvokeError()})");
        }
    }

    public static void Fsync(SafeFileHandle file)
    {
        if (FsyncHandle(file) != 0)
        {
            throw new IOException($"fsync of the snapshot file failed (errno {Marshal.GetLastPInvokeError()})");
        }
    }

    /// <summary>
    /// Asks the kernel to start writing a range of the file to disk and returns at once
    /// (sync_file_range with SYNC_FILE_RANGE_WRITE). A hint: what it cannot do now (an I/O error, a
    /// file system without it) the closing fsync does, or reports.
    /// </summary>
    public static void StartWriteback(SafeFileHandle file, long offset, long count) => _ = SyncFileRange(file, offset, count, SyncFileRangeWrite);

    private const uint SyncFileRangeWrite = 2;

    [LibraryImport("libc", EntryPoint = "sync_file_range")]
    private static partial int SyncFileRange(SafeFileHandle fd, long offset, long count, uint flags);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int FsyncHandle(SafeFileHandle fd);

    [LibraryImport("libc", EntryPoint = "ftruncate", SetLastError = true)]
    private static partial int Ftruncate(SafeFileHandle fd, long length);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}
