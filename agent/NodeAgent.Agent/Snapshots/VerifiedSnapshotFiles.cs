using System.Collections.Concurrent;

namespace NodeAgent.Agent.Snapshots;

/// <summary>
/// The snapshot files this process downloaded and verified while their bytes arrived (etcd's trailer
/// and the file's sha256, by <see cref="SnapshotFileWriter.WriteVerifiedAsync"/>). A restore's
/// verify and restore steps on the file a download just wrote take that result instead of reading
/// the whole file again, as long as it is unchanged since (same size and modification time);
/// anything else is read and checked as before. Process-wide, like the files it describes
/// (<see cref="SnapshotVerifier"/>, its reader, is static too).
/// <para>
/// Why a memory of this process, keyed by size and modification time: download, verify and restore
/// are separate steps the server sends, minutes apart (the restore after the runtime is stopped),
/// so the result cannot simply be handed from one to the next, and the file sits in the snapshot dir
/// in between, where anything may change it; a change must show without reading the bytes. A sha256
/// kept beside the file would need the same size-and-time check to be trusted, would be one more
/// file to write durably, prune and keep out of K3s's listing, and would outlive the process that
/// saw the bytes arrive; after a restart the file is read again, which is always safe.
/// </para>
/// </summary>
internal static class VerifiedSnapshotFiles
{
    /// <summary>More than a node keeps; past it the memory starts over (a forgotten file is only read again).</summary>
    private const int MaxFiles = 256;

    private static readonly ConcurrentDictionary<string, Entry> Files = new(StringComparer.Ordinal);

    /// <summary>A file just committed, whole and verified.</summary>
    public static void Remember(SnapshotFileInfo file)
    {
        if (Files.Count >= MaxFiles)
        {
            Files.Clear();
        }
        var info = new FileInfo(file.Path);
        // The file system stamps writes from a coarse clock (a few ms a tick): a write right after
        // this one could keep the same modification time. Set back by a second, any later write shows.
        var written = info.LastWriteTimeUtc.AddSeconds(-1);
        File.SetLastWriteTimeUtc(info.FullName, written);
        Files[info.FullName] = new Entry(info.Length, written, file.Sha256);
    }

    /// <summary>The check of a plain snapshot file as it was written, or null when it was not written here or changed since.</summary>
    public static SnapshotCheck? Recall(string path)
    {
        var info = new FileInfo(path);
        if (!Files.TryGetValue(info.FullName, out var entry))
        {
            return null;
        }
        if (!info.Exists || info.Length != entry.SizeBytes || info.LastWriteTimeUtc != entry.Written)
        {
            Files.TryRemove(info.FullName, out _);
            return null;
        }
        return new SnapshotCheck(path, entry.SizeBytes, entry.Sha256, Math.Max(0, entry.SizeBytes - SnapshotTrailerCheck.TrailerLength), null);
    }

    private sealed record Entry(long SizeBytes, DateTime Written, string Sha256);
}
