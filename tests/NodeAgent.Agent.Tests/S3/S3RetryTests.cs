using Microsoft.Extensions.Logging.Abstractions;
using NodeAgent.Agent.S3;
using NodeAgent.Testing;
using NodeAgent.Testing.S3;

namespace NodeAgent.Agent.Tests.S3;

/// <summary>What the one S3 retry policy retries, seen on the wire against a real store.</summary>
public sealed class S3RetryTests(SharedS3Servers servers) : IClassFixture<SharedS3Servers>
{
    [Fact]
    public async Task PreflightAsync_StoreAnswers501NotImplemented_AsksOnceAndSendsContentMd5()
    {
        // s3rver has no Object Lock API: GetObjectLockConfiguration is 501 NotImplemented, which no
        // retry changes (each one cost a backoff: 15 s of every save on such a store).
        var server = servers.S3rver;
        var bucket = await S3TestStores.NewBucketAsync(server, "retry");
        var settings = new S3Settings
        {
            Endpoint = server.HttpEndpoint.Authority,
            Insecure = true,
            Bucket = bucket,
            AccessKey = server.AccessKey,
            SecretKey = server.SecretKey,
            Timeout = TimeSpan.FromSeconds(30),
        }.Validated();
        var wire = new S3WireLog();
        var store = new S3SnapshotStore(S3ClientFactory.Create(settings, wire.Wrap), settings, S3Retry.Default.Build(TimeProvider.System, settings.Timeout), TimeProvider.System,
            NullLogger<S3SnapshotStore>.Instance);

        await store.PreflightAsync(CancellationToken.None).WithTimeout(TestTimeouts.Slow);

        Assert.Single(wire.Requests, r => r.Contains("object-lock", StringComparison.Ordinal));
        // It cannot tell whether the bucket has Object Lock: parts carry Content-MD5, the safe side.
        Assert.True(store.ContentMd5);
    }
}
