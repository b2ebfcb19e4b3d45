using NodeAgent.Testing;
using NodeAgent.Testing.S3;

namespace NodeAgent.EndToEnd.Tests;

/// <summary>
/// One Ceph RGW for the S3 end-to-end classes, which run in parallel collections (each test makes
/// its own bucket): each class leases it, the first lease starts it and the last one out stops it,
/// so the slow classes neither wait for each other nor start a Ceph each.
/// </summary>
public sealed class SharedCeph : IAsyncLifetime
{
    private static readonly SharedLease<Started> Lease = new("The shared Ceph RGW", StartAsync, StopAsync);
    private bool _leased;

    public CephRgwServer Ceph { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Ceph = (await Lease.AcquireAsync()).Server;
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

    private static async Task<Started> StartAsync()
    {
        var ca = new TestCertificateAuthority();
        try
        {
            return new Started(await CephRgwServer.StartAsync(ca).WithTimeout(TestTimeouts.Slow), ca);
        }
        catch
        {
            ca.Dispose();
            throw;
        }
    }

    private static async Task StopAsync(Started started)
    {
        await started.Server.DisposeAsync();
        started.Ca.Dispose();
    }

    private sealed record Started(CephRgwServer Server, TestCertificateAuthority Ca);
}
