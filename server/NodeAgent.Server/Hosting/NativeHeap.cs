using System.Runtime.InteropServices;

namespace NodeAgent.Server.Hosting;

/// <summary>
/// glibc's malloc keeps what is freed in its arenas and gives it back to the system only from the
/// top of a heap: after 10,000 agents connect at once (a restart), the TLS handshakes' buffers
/// (OpenSSL's ~17 KiB record buffers and the memory BIOs they fill) stay in the RSS as free
/// chunks for good. Blocks of <see cref="MappedFrom"/> and up are instead mapped one by one and
/// unmapped when freed. Issue 17, 2,000 agents: native memory after the connects 110 MiB → 53 MiB
/// (with <see cref="Security.OpenSslIdleBuffers"/>, which turns those buffers into short-lived ones).
/// The cost is a mmap/munmap pair per such block, a few per TLS record at most.
/// </summary>
internal static partial class NativeHeap
{
    /// <summary>Below OpenSSL's record buffers (16.7 KiB) and the BIO growth steps (~13 KiB).</summary>
    public const int MappedFrom = 8 * 1024;

    private const int MmapThreshold = -3; // M_MMAP_THRESHOLD

    /// <summary>Sets glibc's mmap threshold once at start; false where it cannot (another libc).</summary>
    public static bool MapLargeBlocks()
    {
        try
        {
            return Mallopt(MmapThreshold, MappedFrom) == 1;
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    [LibraryImport("libc", EntryPoint = "mallopt")]
    private static partial int Mallopt(int param, int value);
}
