using Amazon.S3;
using NodeAgent.Testing.Tools;

namespace NodeAgent.Testing.S3;

/// <summary>A real S3 server for tests: Ceph RADOS Gateway (strict) or s3rver (lenient).</summary>
public interface IS3TestServer
{
    /// <summary>"ceph-rgw" or "s3rver": for test names and messages.</summary>
    string Name { get; }

    Uri HttpEndpoint { get; }

    /// <summary>The HTTPS endpoint (certificate from <see cref="CaCertificatePath"/>'s CA), if this server has one.</summary>
    Uri? HttpsEndpoint { get; }

    string? CaCertificatePath { get; }

    string AccessKey { get; }

    string SecretKey { get; }

    /// <summary>Creates a bucket; with <paramref name="objectLock"/>, with Object Lock enabled.</summary>
    Task CreateBucketAsync(string name, bool objectLock = false, CancellationToken cancellationToken = default);

    /// <summary>An AWS SDK client set up the way that works on every S3 store (see <see cref="S3TestClients"/>).</summary>
    IAmazonS3 CreateClient(bool https = false, string? secretKey = null);

    /// <summary>Kills the S3 endpoint's process (RGW's radosgw, s3rver's HTTP process) as a crash would; the data stays.</summary>
    Task StopGatewayAsync();

    /// <summary>Starts the S3 endpoint again on the same port, over the same data, and waits until it answers.</summary>
    Task StartGatewayAsync();

    /// <summary>Debian's aws CLI pointed at this server: the independent reader.</summary>
    AwsCli Aws(bool https = false);
}
