namespace NodeAgent.Agent.Files;

/// <summary>The local disk's own failures: the errno alone names no file, so whoever writes names the file and the dir.</summary>
internal static class DiskErrors
{
    // .NET's IOException carries the errno as its HResult on Linux.
    private const int NoSpaceLeft = 28;
    private const int QuotaExceeded = 122;
    private const int ReadOnlyFileSystem = 30;

    /// <summary>A full (or quota-bound) or read-only file system: ENOSPC, EDQUOT, EROFS.</summary>
    public static bool IsFullOrReadOnly(IOException ex) => ex.HResult is NoSpaceLeft or QuotaExceeded or ReadOnlyFileSystem;
}
