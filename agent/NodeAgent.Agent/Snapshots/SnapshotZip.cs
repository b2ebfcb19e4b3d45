using System.IO.Compression;
using System.Security.Cryptography;
using NodeAgent.Agent.Files;

namespace NodeAgent.Agent.Snapshots;

/// <summary>
/// K3s's compressed snapshot: <c>&lt;file&gt;.zip</c> holding one Deflate entry named after the
/// snapshot file, mode 0600. Streamed file to file (no copy in memory), written as <c>.zip.part</c> with mode
/// 0600 (where <see cref="SnapshotTempFiles"/> puts it: outside the snapshot dir) and renamed once whole; the uncompressed file is removed afterwards.
/// </summary>
internal static class SnapshotZip
{
    /// <summary>The entry's external attributes: <c>0100600 &lt;&lt; 16</c> (zipinfo shows <c>-rw-------</c>).</summary>
    public const int RegularFile0600 = unchecked((int)(0x8180u << 16));

    public static async Task<SnapshotFileInfo> CompressAsync(string snapshotPath, DateTimeOffset modified, CancellationToken cancellationToken)
    {
        var zipPath = snapshotPath + SnapshotNames.ZipSuffix;
        var partPath = SnapshotTempFiles.PathFor(zipPath);
        try
        {
            await using (var output = new FileStream(partPath, new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.ReadWrite,
                UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
                BufferSize = 1024 * 1024,
            }))
            {
                await using (var archive = new ZipArchive(output, ZipArchiveMode.Create, leaveOpen: true))
                {
                    var entry = archive.CreateEntry(Path.GetFileName(snapshotPath), CompressionLevel.Fastest);
                    entry.LastWriteTime = modified;
                    // Unix mode 0600 of a regular file (S_IFREG | 0600) in the high half, as K3s's zip writer records it.
                    entry.ExternalAttributes = RegularFile0600;
                    await using var input = new FileStream(snapshotPath, FileMode.Open, FileAccess.Read, FileShare.Read, 1024 * 1024);
                    await using var entryStream = await entry.OpenAsync(cancellationToken);
                    await input.CopyToAsync(entryStream, 1024 * 1024, cancellationToken);
                }
                await output.FlushAsync(cancellationToken);
                output.Flush(flushToDisk: true);
            }
            DurableFile.Commit(partPath, zipPath);
        }
        catch
        {
            File.Delete(partPath);
            throw;
        }
        File.Delete(snapshotPath);
        return new SnapshotFileInfo(zipPath, new FileInfo(zipPath).Length, await Sha256Async(zipPath, cancellationToken));
    }

    /// <summary>
    /// Unpacks a K3s snapshot zip's one entry into <paramref name="directory"/> under the entry's
    /// base name (never a path from the archive), its etcd trailer checked as it is written.
    /// </summary>
    /// <exception cref="SnapshotRequestException">The unpacked file exists already.</exception>
    /// <exception cref="SnapshotStreamException">Not one entry, or the entry is not a whole etcd snapshot.</exception>
    public static async Task<SnapshotFileInfo> ExtractAsync(string zipPath, string directory, CancellationToken cancellationToken)
    {
        using var archive = await ZipFile.OpenReadAsync(zipPath, cancellationToken);
        if (archive.Entries.Count != 1)
        {
            throw new SnapshotStreamException($"{Path.GetFileName(zipPath)} holds {archive.Entries.Count} entries; a K3s snapshot zip holds one");
        }
        var entry = archive.Entries[0];
        var name = Path.GetFileName(entry.FullName);
        SnapshotNames.ValidateFileName(name);
        await using var entryStream = await entry.OpenAsync(cancellationToken);
        return await SnapshotFileWriter.WriteVerifiedAsync(entryStream, Path.Combine(directory, name), cancellationToken);
    }

    public static async Task<string> Sha256Async(string path, CancellationToken cancellationToken)
    {
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1024 * 1024);
        return Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, cancellationToken));
    }
}
