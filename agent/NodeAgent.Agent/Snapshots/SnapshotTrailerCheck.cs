using System.Security.Cryptography;

namespace NodeAgent.Agent.Snapshots;

/// <summary>
/// Checks etcd's sha256 trailer as a snapshot's bytes go by: the last 32 bytes are held back, the
/// rest (the bolt db) is hashed and handed on; at the end the db's hash must equal the trailer.
/// One pass: the trailer is then added to the same hash state, which yields the whole file's
/// sha256. The hashing runs off the caller's path (<see cref="OffPathSha256"/>). Used while a snapshot is written (<see cref="SnapshotFileWriter"/>) and to check a file
/// already on disk (<see cref="SnapshotVerifier"/>).
/// </summary>
internal sealed class SnapshotTrailerCheck : IAsyncDisposable
{
    public const int TrailerLength = 32;
    private readonly OffPathSha256 _hash = new();
    private readonly byte[] _tail = new byte[TrailerLength];
    private int _tailLength;

    /// <summary>Bytes taken so far, trailer included.</summary>
    public long Bytes { get; private set; }

    /// <summary>Takes the next chunk; <paramref name="emit"/> gets every byte now known to be db content, in order.</summary>
    public async ValueTask AppendAsync(ReadOnlyMemory<byte> chunk, Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> emit, CancellationToken cancellationToken)
    {
        Bytes += chunk.Length;
        if (chunk.Length >= TrailerLength)
        {
            // Everything held back is db content now; the chunk's last 32 bytes may be the trailer.
            await EmitAsync(_tail.AsMemory(0, _tailLength), emit, cancellationToken);
            await EmitAsync(chunk[..^TrailerLength], emit, cancellationToken);
            chunk[^TrailerLength..].CopyTo(_tail);
            _tailLength = TrailerLength;
            return;
        }
        var total = _tailLength + chunk.Length;
        var spill = Math.Max(0, total - TrailerLength);
        var combined = new byte[total];
        _tail.AsSpan(0, _tailLength).CopyTo(combined);
        chunk.Span.CopyTo(combined.AsSpan(_tailLength));
        await EmitAsync(combined.AsMemory(0, spill), emit, cancellationToken);
        combined.AsSpan(spill).CopyTo(_tail);
        _tailLength = total - spill;
    }

    /// <summary>
    /// Ends the stream: the whole stream's sha256 (always), the trailer (for a writer still to
    /// write), and what is wrong with the trailer, if anything.
    /// </summary>
    /// <param name="subject">What the bytes are, for the problem: "etcd's snapshot stream", "snapshot file /x".</param>
    public async Task<SnapshotTrailerResult> FinishAsync(string subject = "etcd's snapshot stream")
    {
        var hash = await _hash.DrainAsync();
        var dbHash = hash.GetCurrentHash();
        hash.AppendData(_tail.AsSpan(0, _tailLength));
        var sha256 = Convert.ToHexStringLower(hash.GetHashAndReset());
        string? problem = null;
        if (_tailLength < TrailerLength || Bytes <= TrailerLength)
        {
            problem = $"{subject} ended after {Bytes} bytes, before its sha256 trailer";
        }
        else if (!CryptographicOperations.FixedTimeEquals(dbHash, _tail))
        {
            problem = $"{subject} is corrupt: the sha256 of its {Bytes - TrailerLength} db bytes is {Convert.ToHexStringLower(dbHash)}, its trailer says {Convert.ToHexStringLower(_tail)}";
        }
        return new SnapshotTrailerResult(_tail.AsMemory(0, _tailLength), sha256, problem);
    }

    public ValueTask DisposeAsync() => _hash.DisposeAsync();

    private async ValueTask EmitAsync(ReadOnlyMemory<byte> bytes, Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> emit, CancellationToken cancellationToken)
    {
        if (bytes.IsEmpty)
        {
            return;
        }
        await _hash.AppendAsync(bytes, cancellationToken);
        await emit(bytes, cancellationToken);
    }
}

/// <summary>The end of a checked stream: its trailer bytes, the whole stream's sha256, and the trailer's problem (null when it verifies).</summary>
internal sealed record SnapshotTrailerResult(ReadOnlyMemory<byte> Trailer, string Sha256, string? Problem)
{
    /// <exception cref="SnapshotStreamException">The trailer does not verify.</exception>
    public SnapshotTrailerResult EnsureValid() => Problem is null ? this : throw new SnapshotStreamException(Problem);
}
