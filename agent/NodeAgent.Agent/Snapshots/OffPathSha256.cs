using System.Buffers;
using System.Security.Cryptography;

namespace NodeAgent.Agent.Snapshots;

/// <summary>
/// SHA-256 of a stream, hashed off the caller's path: the bytes are copied into one of two 1 MiB
/// blocks and a full block is hashed on a worker while the other fills, so the receive loop (etcd's
/// gRPC stream, an S3 download) only copies. Each byte is hashed once, in order; the value is the
/// same as hashing inline.
/// </summary>
internal sealed class OffPathSha256 : IAsyncDisposable
{
    private const int BlockSize = 1024 * 1024;
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly byte[][] _blocks = [ArrayPool<byte>.Shared.Rent(BlockSize), ArrayPool<byte>.Shared.Rent(BlockSize)];
    private int _current;
    private int _filled;
    private Task _pending = Task.CompletedTask;
    private bool _disposed;

    public async ValueTask AppendAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        while (!data.IsEmpty)
        {
            var count = Math.Min(BlockSize - _filled, data.Length);
            data.Span[..count].CopyTo(_blocks[_current].AsSpan(_filled));
            _filled += count;
            data = data[count..];
            if (_filled == BlockSize)
            {
                await _pending.WaitAsync(cancellationToken);
                var block = _blocks[_current];
                _pending = Task.Run(() => _hash.AppendData(block, 0, BlockSize), CancellationToken.None);
                _filled = 0;
                _current ^= 1;
            }
        }
    }

    /// <summary>Every byte appended so far is in the hash (which is then used on the caller's path).</summary>
    public async ValueTask<IncrementalHash> DrainAsync()
    {
        await _pending;
        _hash.AppendData(_blocks[_current], 0, _filled);
        _filled = 0;
        return _hash;
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        // A block may still be hashing (the stream failed or was cancelled mid-way): it ends within a
        // millisecond or two; awaited, not waited on, and its outcome is no longer anyone's concern.
        await _pending.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _hash.Dispose();
        ArrayPool<byte>.Shared.Return(_blocks[0]);
        ArrayPool<byte>.Shared.Return(_blocks[1]);
    }
}
