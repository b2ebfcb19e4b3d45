using System.Net;
using System.Net.Sockets;
using Amazon.S3.Model;
using NodeAgent.Agent.S3;
using NodeAgent.Testing;

namespace NodeAgent.Agent.Tests.S3;

/// <summary>
/// <see cref="S3Errors.Describe"/> on what the real SDK and sockets throw (a connection that breaks
/// mid-part is in <see cref="S3StreamingUploadTests"/>, against real stores).
/// </summary>
public sealed class S3ErrorsTests
{
    [Fact]
    public async Task Describe_NothingListens_SaysS3IsNotReachable()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var endpoint = $"127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}";
        listener.Stop();
        var settings = new S3Settings { Endpoint = endpoint, Insecure = true, Bucket = "bucket", AccessKey = "k", SecretKey = "s" }.Validated();
        using var s3 = S3ClientFactory.Create(settings);

        var ex = await Assert.ThrowsAnyAsync<Exception>(() => s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = "bucket" })).WithTimeout(TestTimeouts.Default);

        Assert.StartsWith($"S3 at {endpoint} is not reachable: Connection refused", S3Errors.Describe(ex, settings), StringComparison.Ordinal);
    }
}
