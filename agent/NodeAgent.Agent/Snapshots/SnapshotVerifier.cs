using System.Buffers;
using System.IO.Compression;

namespace NodeAgent.Agent.Snapshots;

/// <summary>
/// A local snapshot file as checked: the sha256 of the file as stored (the zip's, for a
/// <c>.zip</c>), the size of the etcd db inside it, and what is wrong with it (null when nothing).
/// </summary>
internal sealed record SnapshotCheck(string Path, long SizeBytes, string Sha256, long DbBytes, string? Problem);

/// <summary>
/// Checks a snapshot file already on disk the way a download or save checks its stream: etcd's
/// sha256 trailer through <see cref="SnapshotTrailerCheck"/> (for a <c>.zip</c>, the one entry's,
/// read straight out of the archive without unpacking it to disk) and the file's own sha256.
/// </summary>
internal static class SnapshotVerifier
{
    private static readonly Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> Discard = (_, _) => ValueTask.CompletedTask;

    public static async Task<SnapshotCheck> CheckAsync(string path, CancellationToken cancellationToken)
    {
        var size = new FileInfo(path).Length;
        if (!path.EndsWith(SnapshotNames.ZipSuffix, StringComparison.Ordinal))
        {
            if (VerifiedSnapshotFiles.Recall(path) is { } written)
            {
                // Written and verified by this process as its bytes arrived, unchanged since: not read again.
                return written;
            }
            await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
            var result = await ReadThroughAsync(file, $"snapshot file {path}", cancellationToken);
            return new SnapshotCheck(path, size, result.Sha256, Math.Max(0, size - SnapshotTrailerCheck.TrailerLength), result.Problem);
        }
        var sha256 = await SnapshotZip.Sha256Async(path, cancellationToken);
        try
        {
            using var archive = await ZipFile.OpenReadAsync(path, cancellationToken);
            if (archive.Entries.Count != 1)
            {
                return new SnapshotCheck(path, size, sha256, 0, $"{path} holds {archive.Entries.Count} entries; a K3s snapshot zip holds one");
            }
            var entry = archive.Entries[0];
            await using var stream = await entry.OpenAsync(cancellationToken);
            var result = await ReadThroughAsync(stream, $"the snapshot {entry.FullName} in {path}", cancellationToken);
            return new SnapshotCheck(path, size, sha256, Math.Max(0, entry.Length - SnapshotTrailerCheck.TrailerLength), result.Problem);
        }
        catch (InvalidDataException ex)
        {
            return new SnapshotCheck(path, size, sha256, 0, $"{path} is not a readable zip archive: {ex.Message}");
        }
    }

    private static async Task<SnapshotTrailerResult> ReadThroughAsync(Stream source, string subject, CancellationToken cancellationToken)
    {
        await using var check = new SnapshotTrailerCheck();
        var buffer = ArrayPool<byte>.Shared.Rent(1024 * 1024);
        try
        {
            int read;
            while ((read = await source.ReadAsync(buffer, cancellationToken)) > 0)
            {
                await check.AppendAsync(buffer.AsMemory(0, read), Discard, cancellationToken);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        return await check.FinishAsync(subject);
    }
}
