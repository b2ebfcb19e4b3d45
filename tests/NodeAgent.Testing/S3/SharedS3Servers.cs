using Xunit;

namespace NodeAgent.Testing.S3;

/// <summary>
/// One <see cref="S3ServersFixture"/> (Ceph RGW and s3rver, HTTP and HTTPS) leased by every test
/// class that takes it as a class fixture: the first lease starts it, the last one out stops it.
/// The classes then run in parallel collections, each test in a bucket of its own. A class that
/// stops or pauses a gateway must not lease it: it keeps an <see cref="S3ServersFixture"/> of its own.
/// </summary>
public sealed class SharedS3Servers : IAsyncLifetime
{
    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static S3ServersFixture? s_servers;
    private static int s_leases;
    private bool _leased;

    public S3ServersFixture Servers { get; private set; } = null!;

    public CephRgwServer Ceph => Servers.Ceph;

    public S3rverServer S3rver => Servers.S3rver;

    public IS3TestServer Get(string name) => Servers.Get(name);

    public async Task InitializeAsync()
    {
        await EnterAsync();
        try
        {
            if (s_servers is null)
            {
                var servers = new S3ServersFixture();
                try
                {
                    await servers.InitializeAsync();
                }
                catch
                {
                    await servers.DisposeAsync();
                    throw;
                }
                s_servers = servers;
            }
            s_leases++;
            _leased = true;
            Servers = s_servers;
        }
        finally
        {
            Gate.Release();
        }
    }

    public async Task DisposeAsync()
    {
        if (!_leased)
        {
            return;
        }
        await EnterAsync();
        try
        {
            _leased = false;
            if (--s_leases == 0)
            {
                await s_servers!.DisposeAsync();
                s_servers = null;
            }
        }
        finally
        {
            Gate.Release();
        }
    }

    /// <summary>Waits for the lease that may be starting the servers (each one bounded by <see cref="TestTimeouts.Slow"/>).</summary>
    private static async Task EnterAsync()
    {
        if (!await Gate.WaitAsync(2 * TestTimeouts.Slow))
        {
            throw new TimeoutException($"The shared S3 servers were not free within {2 * TestTimeouts.Slow}");
        }
    }
}
