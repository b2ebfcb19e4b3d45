using System.Diagnostics;
using System.Security.Cryptography;
using Amazon.S3;
using Amazon.S3.Model;
using NodeAgent.Testing.S3;

namespace NodeAgent.Testing.Tests;

[CollectionDefinition("s3")]
public sealed class S3ServersDefinition : ICollectionFixture<S3ServersFixture>;

[Collection("s3")]
public sealed class S3FixtureTests(S3ServersFixture servers)
{
    [Theory]
    [MemberData(nameof(S3ServersFixture.Names), MemberType = typeof(S3ServersFixture))]
    public async Task PutObject_WithSdk_AwsCliReadsTheSameBytesAndMetadata(string name)
    {
        var server = servers.Get(name);
        var bucket = await NewBucketAsync(server);
        using var work = new TempDir();
        var payload = RandomNumberGenerator.GetBytes(3 * 1024 * 1024 + 17);
        using var client = server.CreateClient();

        await client.PutObjectAsync(new PutObjectRequest
        {
            BucketName = bucket,
            Key = "folder/object.bin",
            InputStream = new MemoryStream(payload),
            UseChunkEncoding = false,
            Metadata = { ["k3s-node-name"] = "node-1" },
        }).WithTimeout(TestTimeouts.Slow);
        await server.Aws().CopyDownAsync(bucket, "folder/object.bin", work.Combine("down.bin")).WithTimeout(TestTimeouts.Slow);
        var head = await server.Aws().HeadObjectAsync(bucket, "folder/object.bin").WithTimeout(TestTimeouts.Slow);

        Assert.Equal(Sha256(payload), Sha256(File.ReadAllBytes(work.Combine("down.bin"))));
        Assert.Contains("\"k3s-node-name\": \"node-1\"", head.StandardOutput, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(S3ServersFixture.Names), MemberType = typeof(S3ServersFixture))]
    public async Task MultipartUpload_TwoPartsAndATail_AwsCliReadsTheSameBytes(string name)
    {
        var server = servers.Get(name);
        var bucket = await NewBucketAsync(server);
        using var work = new TempDir();
        const int part = 5 * 1024 * 1024;
        var payload = RandomNumberGenerator.GetBytes(2 * part + 1234);
        using var client = server.CreateClient();

        var upload = await client.InitiateMultipartUploadAsync(new InitiateMultipartUploadRequest { BucketName = bucket, Key = "multi.bin" }).WithTimeout(TestTimeouts.Slow);
        var etags = new List<PartETag>();
        for (var i = 0; i * part < payload.Length; i++)
        {
            var size = Math.Min(part, payload.Length - i * part);
            var chunk = new MemoryStream(payload, i * part, size);
            var response = await client.UploadPartAsync(new UploadPartRequest
            {
                BucketName = bucket,
                Key = "multi.bin",
                UploadId = upload.UploadId,
                PartNumber = i + 1,
                InputStream = chunk,
                PartSize = size,
                MD5Digest = Convert.ToBase64String(MD5.HashData(payload.AsSpan(i * part, size))),
                UseChunkEncoding = false,
            }).WithTimeout(TestTimeouts.Slow);
            etags.Add(new PartETag(i + 1, response.ETag));
        }
        await client.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest { BucketName = bucket, Key = "multi.bin", UploadId = upload.UploadId, PartETags = etags })
            .WithTimeout(TestTimeouts.Slow);
        await server.Aws().CopyDownAsync(bucket, "multi.bin", work.Combine("multi.bin")).WithTimeout(TestTimeouts.Slow);

        Assert.Equal(3, etags.Count);
        Assert.Equal(Sha256(payload), Sha256(File.ReadAllBytes(work.Combine("multi.bin"))));
    }

    [Theory]
    [MemberData(nameof(S3ServersFixture.Names), MemberType = typeof(S3ServersFixture))]
    public async Task Https_WithTheFixtureCa_WorksAndWithoutItFailsOnTheCertificate(string name)
    {
        var server = servers.Get(name);
        var bucket = await NewBucketAsync(server);
        using var client = server.CreateClient(https: true);
        await client.PutObjectAsync(new PutObjectRequest { BucketName = bucket, Key = "tls.txt", ContentBody = "over tls", UseChunkEncoding = false })
            .WithTimeout(TestTimeouts.Slow);

        var trusted = await server.Aws(https: true).RunAsync(["s3", "ls", $"s3://{bucket}/"]).WithTimeout(TestTimeouts.Slow);
        var untrusted = await new Tools.AwsCli(server.HttpsEndpoint!.ToString().TrimEnd('/'), server.AccessKey, server.SecretKey)
            .RunAsync(["s3", "ls", $"s3://{bucket}/"]).WithTimeout(TestTimeouts.Slow);

        Assert.True(trusted.Succeeded, trusted.StandardError);
        Assert.Contains("tls.txt", trusted.StandardOutput, StringComparison.Ordinal);
        Assert.False(untrusted.Succeeded);
        Assert.Contains("CERTIFICATE_VERIFY_FAILED", untrusted.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CephRgw_WrongSecretKey_SignatureDoesNotMatch()
    {
        using var client = servers.Ceph.CreateClient(secretKey: "not-the-secret");

        var ex = await Assert.ThrowsAsync<AmazonS3Exception>(() => client.ListBucketsAsync()).WithTimeout(TestTimeouts.Slow);

        Assert.Equal("SignatureDoesNotMatch", ex.ErrorCode);
        Assert.Equal(System.Net.HttpStatusCode.Forbidden, ex.StatusCode);
    }

    [Fact]
    public async Task CephRgw_ObjectLockBucket_AcceptsPutWithContentMd5UnderGovernanceRetention()
    {
        var bucket = await servers.Ceph.NewBucketAsync("lock", objectLock: true);
        using var client = servers.Ceph.CreateClient();
        await client.PutObjectLockConfigurationAsync(new PutObjectLockConfigurationRequest
        {
            BucketName = bucket,
            ObjectLockConfiguration = new ObjectLockConfiguration
            {
                ObjectLockEnabled = ObjectLockEnabled.Enabled,
                Rule = new ObjectLockRule { DefaultRetention = new DefaultRetention { Mode = ObjectLockRetentionMode.Governance, Days = 1 } },
            },
        }).WithTimeout(TestTimeouts.Slow);
        var body = RandomNumberGenerator.GetBytes(4096);

        await client.PutObjectAsync(new PutObjectRequest
        {
            BucketName = bucket,
            Key = "locked.bin",
            InputStream = new MemoryStream(body),
            MD5Digest = Convert.ToBase64String(MD5.HashData(body)),
            UseChunkEncoding = false,
        }).WithTimeout(TestTimeouts.Slow);
        var retention = await client.GetObjectRetentionAsync(new GetObjectRetentionRequest { BucketName = bucket, Key = "locked.bin" }).WithTimeout(TestTimeouts.Slow);
        var versions = await client.ListVersionsAsync(bucket).WithTimeout(TestTimeouts.Slow);
        var delete = await Assert.ThrowsAsync<AmazonS3Exception>(() => client.DeleteObjectAsync(new DeleteObjectRequest
        {
            BucketName = bucket, Key = "locked.bin", VersionId = versions.Versions[0].VersionId,
        })).WithTimeout(TestTimeouts.Slow);

        Assert.Equal(ObjectLockRetentionMode.Governance, retention.Retention.Mode);
        Assert.Equal(System.Net.HttpStatusCode.Forbidden, delete.StatusCode);
    }

    [Fact]
    public async Task S3Servers_Disposed_LeaveNoProcess()
    {
        var ceph = await CephRgwServer.StartAsync().WithTimeout(TestTimeouts.Slow);
        var s3rver = await S3rverServer.StartAsync().WithTimeout(TestTimeouts.Slow);
        var pids = ceph.ProcessIds.Concat(s3rver.ProcessIds).ToList();

        await ceph.DisposeAsync();
        await s3rver.DisposeAsync();

        Assert.Equal(4, pids.Count);
        Assert.All(pids, pid => Assert.Throws<ArgumentException>(() => Process.GetProcessById(pid)));
    }

    private static Task<string> NewBucketAsync(IS3TestServer server) => server.NewBucketAsync("test");

    private static string Sha256(byte[] data) => Convert.ToHexStringLower(SHA256.HashData(data));
}
