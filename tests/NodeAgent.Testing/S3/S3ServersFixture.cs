using Xunit;

namespace NodeAgent.Testing.S3;

/// <summary>
/// Both S3 servers, HTTP and HTTPS (with one test CA), started once for a test collection:
/// tests take <see cref="All"/> as [Theory] data so each runs against the strict and the lenient one.
/// </summary>
public sealed class S3ServersFixture : IAsyncLifetime
{
    public TestCertificateAuthority Ca { get; } = new();

    public CephRgwServer Ceph { get; private set; } = null!;

    public S3rverServer S3rver { get; private set; } = null!;

    /// <summary>Server names for [MemberData]: "ceph-rgw", "s3rver".</summary>
    public static TheoryData<string> Names => new() { "ceph-rgw", "s3rver" };

    public IS3TestServer Get(string name) => name == "ceph-rgw" ? Ceph : S3rver;

    public async Task InitializeAsync()
    {
        var ceph = CephRgwServer.StartAsync(Ca);
        var s3rver = S3rverServer.StartAsync(Ca);
        Ceph = await ceph.WithTimeout(TestTimeouts.Slow);
        S3rver = await s3rver.WithTimeout(TestTimeouts.Slow);
    }

    public async Task DisposeAsync()
    {
        if (Ceph is not null)
        {
            await Ceph.DisposeAsync();
        }
        if (S3rver is not null)
        {
            await S3rver.DisposeAsync();
        }
        Ca.Dispose();
    }
}
