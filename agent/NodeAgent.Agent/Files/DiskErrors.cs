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

    /// <summary>
    /// The error alone ("No space left on device"), without the path a FileStream adds to its message
    /// (a temporary file's, which means nothing to the reader): the caller names the file and the dir.
    /// </summary>
    public static string Describe(IOException ex) => IsFullOrReadOnly(ex) ? System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage(ex.HResult) : ex.Message;
}
