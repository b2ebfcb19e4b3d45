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
    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static TestCertificateAuthority? s_ca;
    private static CephRgwServer? s_server;
    private static int s_leases;
    private bool _leased;

    public CephRgwServer Ceph { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await Gate.WaitAsync(TestTimeouts.Slow);
        try
        {
            if (s_server is null)
            {
                var ca = new TestCertificateAuthority();
                try
                {
                    s_server = await CephRgwServer.StartAsync(ca).WithTimeout(TestTimeouts.Slow);
                }
                catch
                {
                    ca.Dispose();
                    throw;
                }
                s_ca = ca;
            }
            s_leases++;
            _leased = true;
            Ceph = s_server;
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
        await Gate.WaitAsync(TestTimeouts.Slow);
        try
        {
            _leased = false;
            if (--s_leases == 0)
            {
                await s_server!.DisposeAsync();
                s_ca!.Dispose();
                s_server = null;
                s_ca = null;
            }
        }
        finally
        {
            Gate.Release();
        }
    }
}
