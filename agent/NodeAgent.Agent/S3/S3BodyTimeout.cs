namespace NodeAgent.Agent.S3;

/// <summary>
/// The body of an S3 answer, read under <c>--s3-timeout</c>: each read must bring bytes within it,
/// else it throws <see cref="S3BodyStalledException"/>. The request's own timeout ends once the headers are
/// in; without this, an S3 that hangs mid-body (frozen, a dead peer behind a NAT that keeps the
/// connection open) holds a download until the step's deadline, and the failure would not say why.
/// One deadline per stream, re-armed for each read and disarmed after it, on <paramref name="time"/>'s
/// timer, and the caller's token tied to it once (no allocation or registration per read of a 1 GB
/// body; tests drive it with fake time).
/// </summary>
internal sealed class S3BodyTimeout(Stream inner, TimeSpan timeout, TimeProvider time) : Stream
{
    private CancellationTokenSource _deadline = new(Timeout.InfiniteTimeSpan, time);

    /// <summary>The caller's token, tied to the deadline once (callers pass the same token to every read).</summary>
    private CancellationToken _caller;
    private CancellationTokenRegistration _callerRegistration;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (!_deadline.TryReset())
        {
            // Cancelled: the caller's token ended the last read, or the deadline fired just as its bytes came.
            _deadline.Dispose();
            _deadline = new CancellationTokenSource(Timeout.InfiniteTimeSpan, time);
        }
        if (cancellationToken != _caller)
        {
            _callerRegistration.Dispose();
            _caller = cancellationToken;
            _callerRegistration = cancellationToken.UnsafeRegister(static self => ((S3BodyTimeout)self!).CancelRead(), this);
        }
        _deadline.CancelAfter(timeout);
        try
        {
            return await inner.ReadAsync(buffer, _deadline.Token);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new S3BodyStalledException(timeout, ex);
        }
        finally
        {
            // The time the caller spends on the bytes (writing them out) is not the store's.
            _deadline.CancelAfter(Timeout.InfiniteTimeSpan);
        }
    }

    private void CancelRead()
    {
        try
        {
            _deadline.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Replaced by the next read (which checks the caller's token first) or the stream is closed.
        }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("read the S3 body asynchronously");

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _callerRegistration.Dispose();
            inner.Dispose();
            _deadline.Dispose();
        }
        base.Dispose(disposing);
    }
}
