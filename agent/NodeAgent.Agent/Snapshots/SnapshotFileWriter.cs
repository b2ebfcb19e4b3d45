using System.Buffers;
using NodeAgent.Agent.Files;

namespace NodeAgent.Agent.Snapshots;

/// <summary>
/// Writes etcd's snapshot stream to a temporary file (mode 0600, where <see cref="SnapshotTempFiles"/>
/// puts it: outside the snapshot dir) and checks, as the bytes go by,
/// the sha256 trailer etcd appends to the db. Only a whole, verified, fsynced stream is renamed to
/// its final name; anything else deletes the part file, so nothing half-written ever looks valid.
/// The check is <see cref="SnapshotTrailerCheck"/> (one pass gives the trailer check and the whole
/// file's sha256). The bytes go to disk through
/// <see cref="FileSinks"/>: O_DIRECT for a save where the file system allows it, the page cache for a
/// download that a restore reads next.
/// </summary>
internal sealed class SnapshotFileWriter : IAsyncDisposable
{
    public const int TrailerLength = SnapshotTrailerCheck.TrailerLength;
    private readonly IFileSink _file;
    private readonly SnapshotTrailerCheck _check = new();
    private readonly Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> _emit;
    private bool _committed;

    private readonly ISnapshotTee? _tee;

    private SnapshotFileWriter(string finalPath, string partPath, IFileSink file, ISnapshotTee? tee)
    {
        FinalPath = finalPath;
        PartPath = partPath;
        _file = file;
        _tee = tee;
        _emit = EmitAsync;
    }

    public string FinalPath { get; }

    public string PartPath { get; }

    /// <summary>Bytes received so far, trailer included.</summary>
    public long BytesReceived => _check.Bytes;

    /// <param name="tee">Gets every byte of the file too, in order (e.g. an upload that runs alongside).</param>
    /// <param name="readSoon">
    /// The file is read again right away (a restore's download): written through the page cache, so
    /// the reader finds it there. Otherwise (a save) O_DIRECT, where the file system allows it.
    /// </param>
    public static SnapshotFileWriter Create(string finalPath, ISnapshotTee? tee = null, bool readSoon = false)
    {
        if (File.Exists(finalPath))
        {
            throw new SnapshotRequestException($"snapshot {finalPath} already exists");
        }
        var part = SnapshotTempFiles.PathFor(finalPath);
        new FileStream(part, new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.Write,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        }).Dispose();
        try
        {
            return new SnapshotFileWriter(finalPath, part, FileSinks.Open(part, allowDirect: !readSoon), tee);
        }
        catch
        {
            File.Delete(part);
            throw;
        }
    }

    /// <summary>
    /// A whole etcd snapshot from <paramref name="source"/> into <paramref name="target"/>, its trailer
    /// checked: a download or an unzip, which a restore reads next (so through the page cache).
    /// </summary>
    public static async Task<SnapshotFileInfo> WriteVerifiedAsync(Stream source, string target, CancellationToken cancellationToken)
    {
        await using var writer = Create(target, readSoon: true);
        var buffer = ArrayPool<byte>.Shared.Rent(1024 * 1024);
        try
        {
            int read;
            while ((read = await source.ReadAsync(buffer, cancellationToken)) > 0)
            {
                await writer.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        var file = await writer.CommitAsync(cancellationToken);
        VerifiedSnapshotFiles.Remember(file);
        return file;
    }

    public ValueTask WriteAsync(ReadOnlyMemory<byte> chunk, CancellationToken cancellationToken)
        => _check.AppendAsync(chunk, _emit, cancellationToken);

    /// <summary>Verifies the trailer, fsyncs, renames to the final name and fsyncs the directory.</summary>
    public async Task<SnapshotFileInfo> CommitAsync(CancellationToken cancellationToken)
    {
        var (trailer, sha256, _) = (await _check.FinishAsync()).EnsureValid();
        await _file.WriteAsync(trailer, cancellationToken);
        if (_tee is not null)
        {
            await _tee.WriteAsync(trailer, cancellationToken);
        }
        await _file.CompleteAsync(cancellationToken);
        await _file.DisposeAsync();
        DurableFile.Commit(PartPath, FinalPath);
        _committed = true;
        return new SnapshotFileInfo(FinalPath, _check.Bytes, sha256);
    }

    public async ValueTask DisposeAsync()
    {
        await _file.DisposeAsync();
        await _check.DisposeAsync();
        if (!_committed)
        {
            File.Delete(PartPath);
        }
    }

    private async ValueTask EmitAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken)
    {
        await _file.WriteAsync(bytes, cancellationToken);
        if (_tee is not null)
        {
            await _tee.WriteAsync(bytes, cancellationToken);
        }
    }
}

/// <summary>A snapshot file as written: path, size and the sha256 of the whole file.</summary>
internal sealed record SnapshotFileInfo(string Path, long SizeBytes, string Sha256);
