using System.Buffers;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace NodeAgent.Agent.Files;

/// <summary>Writes a new file front to back and makes it durable.</summary>
internal interface IFileSink : IAsyncDisposable
{
    ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken);

    /// <summary>Every byte written and fsynced.</summary>
    Task CompleteAsync(CancellationToken cancellationToken);
}

/// <summary>Opens the best sink for a file that was just created empty with its final mode.</summary>
internal static class FileSinks
{
    public static IFileSink Open(string path, bool allowDirect = true)
        => (allowDirect ? LinuxFiles.TryOpenDirectForWrite(path) : null) is { } direct ? new DirectFileSink(direct) : new BufferedFileSink(path);
}

/// <summary>
/// O_DIRECT writes from two 1 MiB aligned buffers: one fills from the network while the other goes
/// to disk. The page cache is bypassed, so a snapshot the size of etcd's db neither evicts etcd's
/// hot pages nor spends CPU on page-cache bookkeeping. The last block is padded to the alignment
/// and the file truncated to its true length.
/// </summary>
internal sealed class DirectFileSink : IFileSink
{
    private const int Alignment = 4096;
    private const int BufferSize = 1024 * 1024;
    private readonly SafeFileHandle _file;
    private readonly nint[] _buffers = new nint[2];
    private int _current;
    private int _filled;
    private long _offset;
    private Task _pending = Task.CompletedTask;
    private bool _disposed;

    public DirectFileSink(SafeFileHandle file)
    {
        _file = file;
        _buffers[0] = Allocate();
        _buffers[1] = Allocate();
    }

    public async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        while (!data.IsEmpty)
        {
            var count = Math.Min(BufferSize - _filled, data.Length);
            data.Span[..count].CopyTo(Block(_buffers[_current], _filled, count));
            _filled += count;
            data = data[count..];
            if (_filled == BufferSize)
            {
                await _pending.WaitAsync(cancellationToken);
                var buffer = _buffers[_current];
                var offset = _offset;
                _pending = Task.Run(() => WriteBlock(buffer, BufferSize, offset), CancellationToken.None);
                _offset += BufferSize;
                _filled = 0;
                _current ^= 1;
            }
        }
    }

    public async Task CompleteAsync(CancellationToken cancellationToken)
    {
        await _pending.WaitAsync(cancellationToken);
        var length = _offset + _filled;
        if (_filled > 0)
        {
            var padded = (_filled + Alignment - 1) / Alignment * Alignment;
            Block(_buffers[_current], _filled, padded - _filled).Clear();
            WriteBlock(_buffers[_current], padded, _offset);
        }
        LinuxFiles.Truncate(_file, length);
        LinuxFiles.Fsync(_file);
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        try
        {
            await _pending;
        }
        catch (IOException)
        {
            // Already reported by the write that failed; the caller deletes the file.
        }
        _file.Dispose();
        Free(_buffers[0]);
        Free(_buffers[1]);
    }

    private void WriteBlock(nint buffer, int length, long offset) => RandomAccess.Write(_file, Block(buffer, 0, length), offset);

    private static unsafe nint Allocate() => (nint)NativeMemory.AlignedAlloc(BufferSize, Alignment);

    private static unsafe void Free(nint buffer) => NativeMemory.AlignedFree((void*)buffer);

    private static unsafe Span<byte> Block(nint buffer, int offset, int length) => new((byte*)buffer + offset, length);
}

/// <summary>
/// Through the page cache: for a file that is read again right away (a download or an unzip that a
/// restore reads next, where O_DIRECT would send the reader to the disk) and where the file system
/// refuses O_DIRECT (tmpfs, some FUSE mounts). Every 8 MiB the kernel is told to start writing the
/// bytes so far (<see cref="LinuxFiles.StartWriteback"/>, no wait): the disk works while the bytes
/// arrive, the closing fsync finds little left, and the pages stay cached for the reader. Left
/// alone, the kernel holds gigabytes dirty (vm.dirty_background_ratio) until that fsync.
/// </summary>
internal sealed class BufferedFileSink : IFileSink
{
    private const int BufferSize = 1024 * 1024;
    private const long WritebackWindow = 8 * 1024 * 1024;
    private readonly SafeFileHandle _file;
    private readonly byte[] _buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
    private int _filled;
    private long _offset;
    private long _writebackFrom;
    private bool _disposed;

    public BufferedFileSink(string path) => _file = File.OpenHandle(path, FileMode.Open, FileAccess.Write);

    public async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        while (!data.IsEmpty)
        {
            var count = Math.Min(BufferSize - _filled, data.Length);
            data.Span[..count].CopyTo(_buffer.AsSpan(_filled));
            _filled += count;
            data = data[count..];
            if (_filled == BufferSize)
            {
                await WriteBufferAsync(cancellationToken);
            }
        }
    }

    public async Task CompleteAsync(CancellationToken cancellationToken)
    {
        await WriteBufferAsync(cancellationToken);
        LinuxFiles.Fsync(_file);
    }

    /// <summary>Closes the file; bytes still buffered are dropped (the caller deletes a file it did not complete).</summary>
    public ValueTask DisposeAsync()
    {
        if (!_disposed)
        {
            _disposed = true;
            _file.Dispose();
            ArrayPool<byte>.Shared.Return(_buffer);
        }
        return ValueTask.CompletedTask;
    }

    private async ValueTask WriteBufferAsync(CancellationToken cancellationToken)
    {
        if (_filled == 0)
        {
            return;
        }
        await RandomAccess.WriteAsync(_file, _buffer.AsMemory(0, _filled), _offset, cancellationToken);
        _offset += _filled;
        _filled = 0;
        if (_offset - _writebackFrom >= WritebackWindow)
        {
            LinuxFiles.StartWriteback(_file, _writebackFrom, _offset - _writebackFrom);
            _writebackFrom = _offset;
        }
    }
}
