namespace NodeAgent.Testing;

/// <summary>
/// One <typeparamref name="T"/> shared by test classes that run in parallel collections: the first
/// lease starts it, the last one out stops it. Each wait for the lease is bounded (a lease may be
/// starting the thing, itself bounded by <see cref="TestTimeouts.Slow"/>).
/// </summary>
public sealed class SharedLease<T>(string what, Func<Task<T>> start, Func<T, Task> stop) : IDisposable
    where T : class
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private T? _value;
    private int _leases;

    public async Task<T> AcquireAsync()
    {
        await EnterAsync();
        try
        {
            _value ??= await start();
            _leases++;
            return _value;
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task ReleaseAsync()
    {
        await EnterAsync();
        try
        {
            if (--_leases == 0)
            {
                var value = _value!;
                _value = null;
                await stop(value);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Held in a static for the test process's life; disposing only frees the gate.</summary>
    public void Dispose() => _gate.Dispose();

    private async Task EnterAsync()
    {
        if (!await _gate.WaitAsync(2 * TestTimeouts.Slow))
        {
            throw new TimeoutException($"{what} were not free within {2 * TestTimeouts.Slow}");
        }
    }
}
