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
    private static readonly SharedLease<S3ServersFixture> Lease = new("The shared S3 servers", StartAsync, servers => servers.DisposeAsync());
    private bool _leased;

    public S3ServersFixture Servers { get; private set; } = null!;

    public CephRgwServer Ceph => Servers.Ceph;

    public S3rverServer S3rver => Servers.S3rver;

    public IS3TestServer Get(string name) => Servers.Get(name);

    public async Task InitializeAsync()
    {
        Servers = await Lease.AcquireAsync();
        _leased = true;
    }

    public async Task DisposeAsync()
    {
        if (_leased)
        {
            _leased = false;
            await Lease.ReleaseAsync();
        }
    }

    private static async Task<S3ServersFixture> StartAsync()
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
        return servers;
    }
}
