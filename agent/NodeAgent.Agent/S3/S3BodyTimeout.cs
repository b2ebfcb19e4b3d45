namespace NodeAgent.Agent.S3;

/// <summary>
/// The body of an S3 answer, read under <c>--s3-timeout</c>: each read must bring bytes within it,
/// else it throws <see cref="S3BodyStalledException"/>. The request's own timeout ends once the headers are
/// in; without this, an S3 that hangs mid-body (frozen, a dead peer behind a NAT that keeps the
/// connection open) holds a download until the step's deadline, and the failure would not say why.
/// One deadline per stream, re-armed for each read and disarmed after it, on <paramref name="time"/>'s
/// timer (no allocation per read of a 1 GB body; tests drive it with fake time).
/// </summary>
internal sealed class S3BodyTimeout(Stream inner, TimeSpan timeout, TimeProvider time) : Stream
{
    private CancellationTokenSource _deadline = new(Timeout.InfiniteTimeSpan, time);

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
        if (!_deadline.TryReset())
        {
            // Cancelled: the caller's token ended the last read, or the deadline fired just as its bytes came.
            _deadline.Dispose();
            _deadline = new CancellationTokenSource(Timeout.InfiniteTimeSpan, time);
        }
        _deadline.CancelAfter(timeout);
        try
        {
            using (cancellationToken.UnsafeRegister(static deadline => ((CancellationTokenSource)deadline!).Cancel(), _deadline))
            {
                return await inner.ReadAsync(buffer, _deadline.Token);
            }
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
            inner.Dispose();
            _deadline.Dispose();
        }
        base.Dispose(disposing);
    }
}
