using System.Security.Cryptography;

namespace NodeAgent.Agent.Snapshots;

/// <summary>
/// Writes etcd's snapshot stream to <c>&lt;file&gt;.part</c> (mode 0600) and checks, as the bytes go by,
/// the sha256 trailer etcd appends to the db. Only a whole, verified, fsynced stream is renamed to
/// its final name; anything else deletes the part file, so nothing half-written ever looks valid.
/// One pass over the bytes: the db's hash is taken just before the trailer is added to the same
/// hash state, which then yields the whole file's sha256. The bytes go to disk through
/// <see cref="FileSinks"/> (O_DIRECT where the file system allows it).
/// </summary>
internal sealed class SnapshotFileWriter : IAsyncDisposable
{
    public const int TrailerLength = 32;
    private readonly IFileSink _file;
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly byte[] _tail = new byte[TrailerLength];
    private int _tailLength;
    private long _bytes;
    private bool _committed;

    private readonly ISnapshotTee? _tee;

    private SnapshotFileWriter(string finalPath, IFileSink file, ISnapshotTee? tee)
    {
        FinalPath = finalPath;
        _file = file;
        _tee = tee;
    }

    public string FinalPath { get; }

    public string PartPath => FinalPath + SnapshotNames.PartSuffix;

    /// <summary>Bytes received so far, trailer included.</summary>
    public long BytesReceived => _bytes;

    /// <param name="tee">Gets every byte of the file too, in order (e.g. an upload that runs alongside).</param>
    public static SnapshotFileWriter Create(string finalPath, ISnapshotTee? tee = null)
    {
        if (File.Exists(finalPath))
        {
            throw new SnapshotRequestException($"snapshot {finalPath} already exists");
        }
        var part = finalPath + SnapshotNames.PartSuffix;
        new FileStream(part, new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.Write,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        }).Dispose();
        try
        {
            return new SnapshotFileWriter(finalPath, FileSinks.Open(part), tee);
        }
        catch
        {
            File.Delete(part);
            throw;
        }
    }

    public async ValueTask WriteAsync(ReadOnlyMemory<byte> chunk, CancellationToken cancellationToken)
    {
        _bytes += chunk.Length;
        if (chunk.Length >= TrailerLength)
        {
            // Everything held back is db content now; the chunk's last 32 bytes may be the trailer.
            await EmitAsync(_tail.AsMemory(0, _tailLength), cancellationToken);
            await EmitAsync(chunk[..^TrailerLength], cancellationToken);
            chunk[^TrailerLength..].CopyTo(_tail);
            _tailLength = TrailerLength;
            return;
        }
        var total = _tailLength + chunk.Length;
        var spill = Math.Max(0, total - TrailerLength);
        var combined = new byte[total];
        _tail.AsSpan(0, _tailLength).CopyTo(combined);
        chunk.Span.CopyTo(combined.AsSpan(_tailLength));
        await EmitAsync(combined.AsMemory(0, spill), cancellationToken);
        combined.AsSpan(spill).CopyTo(_tail);
        _tailLength = total - spill;
    }

    /// <summary>Verifies the trailer, fsyncs, renames to the final name and fsyncs the directory.</summary>
    public async Task<SnapshotFileInfo> CommitAsync(CancellationToken cancellationToken)
    {
        if (_tailLength < TrailerLength || _bytes <= TrailerLength)
        {
            throw new SnapshotStreamException($"etcd's snapshot stream ended after {_bytes} bytes, before its sha256 trailer");
        }
        var dbHash = _hash.GetCurrentHash();
        if (!CryptographicOperations.FixedTimeEquals(dbHash, _tail))
        {
            throw new SnapshotStreamException(
                $"etcd's snapshot stream is corrupt: the sha256 of its {_bytes - TrailerLength} db bytes is {Convert.ToHexStringLower(dbHash)}, its trailer says {Convert.ToHexStringLower(_tail)}");
        }
        _hash.AppendData(_tail);
        await _file.WriteAsync(_tail, cancellationToken);
        if (_tee is not null)
        {
            await _tee.WriteAsync(_tail, cancellationToken);
        }
        await _file.CompleteAsync(cancellationToken);
        await _file.DisposeAsync();
        File.Move(PartPath, FinalPath, overwrite: false);
        _committed = true;
        LinuxFiles.FsyncDirectoryOf(FinalPath);
        return new SnapshotFileInfo(FinalPath, _bytes, Convert.ToHexStringLower(_hash.GetHashAndReset()));
    }

    public async ValueTask DisposeAsync()
    {
        await _file.DisposeAsync();
        _hash.Dispose();
        if (!_committed)
        {
            File.Delete(PartPath);
        }
    }

    private async ValueTask EmitAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken)
    {
        if (bytes.IsEmpty)
        {
            return;
        }
        _hash.AppendData(bytes.Span);
        await _file.WriteAsync(bytes, cancellationToken);
        if (_tee is not null)
        {
            await _tee.WriteAsync(bytes, cancellationToken);
        }
    }
}

/// <summary>A snapshot file as written: path, size and the sha256 of the whole file.</summary>
internal sealed record SnapshotFileInfo(string Path, long SizeBytes, string Sha256);
