namespace NodeAgent.Agent.S3;

/// <summary>
/// The part buffers of one streaming upload: at most one per part slot plus the one filling, each of
/// exactly the part size, reused part after part and dropped with the upload. Not the shared
/// <c>ArrayPool</c>: it keeps a returned array in the returning thread's own slot, out of reach of
/// the thread that fills the next part, so a 400 MiB save held 11 arrays of 8 MiB where at most 7
/// are in use (32 MiB more), and it rounds a size up to a power of two.
/// </summary>
internal sealed class S3PartBuffers(int partSize, int capacity)
{
    private readonly Stack<byte[]> _free = new(capacity);
    private int _allocated;

    /// <summary>How many buffers were ever made (never more than the capacity).</summary>
    public int Allocated => Volatile.Read(ref _allocated);

    public byte[] Rent()
    {
        lock (_free)
        {
            if (_free.TryPop(out var buffer))
            {
                return buffer;
            }
            if (_allocated == capacity)
            {
                throw new InvalidOperationException($"all {capacity} part buffers are in use");
            }
            _allocated++;
        }
        // Every byte is written before it is sent: no need to zero it first.
        return GC.AllocateUninitializedArray<byte>(partSize);
    }

    public void Return(byte[] buffer)
    {
        lock (_free)
        {
            _free.Push(buffer);
        }
    }
}
