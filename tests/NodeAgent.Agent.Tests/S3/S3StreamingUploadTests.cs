using System.Security.Cryptography;
using NodeAgent.Agent.S3;
using NodeAgent.Testing;
using NodeAgent.Testing.Ordering;
using NodeAgent.Testing.S3;

namespace NodeAgent.Agent.Tests.S3;

/// <summary>
/// <see cref="S3StreamingUpload"/> itself against Ceph RGW (strict) and s3rver (lenient), over HTTP
/// and HTTPS: where the part boundaries fall, the checksums each part carries (as seen on the wire
/// by <see cref="S3WireLog"/>, which only watches and forwards), a part whose connection breaks
/// halfway, and the abort that follows a cancelled save. Aws reads back what was uploaded.
/// </summary>
[ExpectedDuration(183)]
public sealed class S3StreamingUploadTests(SharedS3Servers servers) : IClassFixture<SharedS3Servers>, IDisposable
{
    private const int PartSize = 5 * 1024 * 1024;
    private const int LastPart = 12345;
    private const string Key = "etcd-snapshot-n1-1700000000";
    private readonly TempDir _root = new();

    public static TheoryData<string, bool> ServersAndSchemes => new()
    {
        { "ceph-rgw", false }, { "ceph-rgw", true }, { "s3rver", false }, { "s3rver", true },
    };

    public void Dispose() => _root.Dispose();

    [Theory]
    [MemberData(nameof(ServersAndSchemes))]
    public async Task CompleteAsync_BytesOverSeveralParts_PartsOfPartSizeCarryTheirChecksumsAndAwsReadsTheSameBytes(string name, bool https)
    {
        var server = servers.Get(name);
        var bucket = await NewBucketAsync(server);
        var wire = new S3WireLog();
        var bytes = RandomNumberGenerator.GetBytes(2 * PartSize + LastPart);
        string? failure;
        await using (var upload = Upload(Settings(server, bucket, https), wire))
        {
            await WriteInChunksAsync(upload, bytes, CancellationToken.None).WithTimeout(TestTimeouts.Slow);
            failure = await upload.CompleteAsync(CancellationToken.None).WithTimeout(TestTimeouts.Slow);
        }

        Assert.Null(failure);
        var parts = wire.Parts.OrderBy(p => p.Number).ToList();
        Assert.Equal([1, 2, 3], parts.Select(p => p.Number));
        Assert.Equal([PartSize, PartSize, LastPart], parts.Select(p => p.Length));
        foreach (var part in parts)
        {
            var body = bytes.AsMemory((part.Number - 1) * PartSize, (int)part.Length);
            if (https)
            {
                // TLS protects the connection; the part's Content-MD5, which the server checks, proves its body.
                Assert.Equal("UNSIGNED-PAYLOAD", part.ContentSha256);
                Assert.Equal(Md5Base64(body.Span), part.ContentMd5);
            }
            else
            {
                // Plain HTTP: the signature covers the body's SHA-256 (the bucket has no Object Lock: no Content-MD5).
                Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(body.Span)), part.ContentSha256);
                Assert.Null(part.ContentMd5);
            }
        }
        await server.Aws(https).CopyDownAsync(bucket, Key, _root.Combine("down")).WithTimeout(TestTimeouts.Slow);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(bytes)), Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(_root.Combine("down")).WithTimeout(TestTimeouts.Slow))));
    }

    /// <summary>
    /// Under one part the object goes in a single PUT, and its body is hashed once, as a part's is:
    /// over TLS UNSIGNED-PAYLOAD with Content-MD5 as the proof; over plain HTTP the signed SHA-256 alone.
    /// </summary>
    [Theory]
    [MemberData(nameof(ServersAndSchemes))]
    public async Task CompleteAsync_BytesUnderOnePart_TheSinglePutCarriesOnlyTheChecksumItsSchemeNeedsAndAwsReadsTheSameBytes(string name, bool https)
    {
        var server = servers.Get(name);
        var bucket = await NewBucketAsync(server);
        var wire = new S3WireLog();
        var bytes = RandomNumberGenerator.GetBytes(LastPart);
        string? failure;
        await using (var upload = Upload(Settings(server, bucket, https), wire))
        {
            await WriteInChunksAsync(upload, bytes, CancellationToken.None).WithTimeout(TestTimeouts.Slow);
            failure = await upload.CompleteAsync(CancellationToken.None).WithTimeout(TestTimeouts.Slow);
        }

        Assert.Null(failure);
        Assert.Empty(wire.Parts);
        var put = Assert.Single(wire.SinglePuts);
        Assert.Equal(LastPart, put.Length);
        if (https)
        {
            Assert.Equal("UNSIGNED-PAYLOAD", put.ContentSha256);
            Assert.Equal(Md5Base64(bytes), put.ContentMd5);
        }
        else
        {
            Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(bytes)), put.ContentSha256);
            Assert.Null(put.ContentMd5);
        }
        await server.Aws(https).CopyDownAsync(bucket, Key, _root.Combine("down")).WithTimeout(TestTimeouts.Slow);
        Assert.Equal(bytes, await File.ReadAllBytesAsync(_root.Combine("down")).WithTimeout(TestTimeouts.Slow));
    }

    /// <summary>An Object Lock bucket (the preflight found it wants Content-MD5): the single PUT carries it over plain HTTP too.</summary>
    [Fact]
    public async Task CompleteAsync_BytesUnderOnePartToABucketThatWantsContentMd5_TheSinglePutCarriesBoth()
    {
        var server = servers.Ceph;
        var bucket = await NewBucketAsync(server);
        var wire = new S3WireLog();
        var bytes = RandomNumberGenerator.GetBytes(LastPart);
        string? failure;
        await using (var upload = Upload(Settings(server, bucket, https: false), wire, contentMd5: true))
        {
            await WriteInChunksAsync(upload, bytes, CancellationToken.None).WithTimeout(TestTimeouts.Slow);
            failure = await upload.CompleteAsync(CancellationToken.None).WithTimeout(TestTimeouts.Slow);
        }

        Assert.Null(failure);
        var put = Assert.Single(wire.SinglePuts);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(bytes)), put.ContentSha256);
        Assert.Equal(Md5Base64(bytes), put.ContentMd5);
    }

    /// <summary>
    /// Memory stays within part size × (parallel parts + 1) however many parts go up: the buffers are
    /// reused, none is stranded where the next part cannot take it (the shared ArrayPool kept a returned
    /// array in the returning thread's slot, and a 900 MiB save peaked at 180 MiB RSS).
    /// </summary>
    [Fact]
    public async Task CompleteAsync_ManyMorePartsThanSlots_MakesAtMostOneBufferPerSlotPlusTheOneFilling()
    {
        var server = servers.Get("s3rver");
        var bucket = await NewBucketAsync(server);
        var wire = new S3WireLog();
        var settings = Settings(server, bucket, https: false);
        var bytes = RandomNumberGenerator.GetBytes(12 * PartSize + LastPart);
        string? failure;
        int allocated;
        await using (var upload = Upload(settings, wire))
        {
            await WriteInChunksAsync(upload, bytes, CancellationToken.None).WithTimeout(TestTimeouts.Slow);
            failure = await upload.CompleteAsync(CancellationToken.None).WithTimeout(TestTimeouts.Slow);
            allocated = upload.PartBuffersAllocated;
        }

        Assert.Null(failure);
        Assert.Equal(Enumerable.Range(1, 13), wire.Parts.Select(p => p.Number).Order());
        Assert.InRange(allocated, 1, settings.ParallelParts + 1);
    }

    [Theory]
    [MemberData(nameof(S3ServersFixture.Names), MemberType = typeof(S3ServersFixture))]
    public async Task CompleteAsync_ConnectionBreaksHalfwayThroughAPart_ReportsThatPartAndLeavesNoObjectOrUpload(string name)
    {
        var server = servers.Get(name);
        var bucket = await NewBucketAsync(server);
        var wire = new S3WireLog { BreakPart = 2 };
        var settings = Settings(server, bucket, https: false);
        string? failure;
        await using (var upload = Upload(settings, wire))
        {
            await WriteInChunksAsync(upload, RandomNumberGenerator.GetBytes(2 * PartSize + LastPart), CancellationToken.None).WithTimeout(TestTimeouts.Slow);
            failure = await upload.CompleteAsync(CancellationToken.None).WithTimeout(TestTimeouts.Slow);
        }

        Assert.NotNull(failure);
        Assert.StartsWith($"part 2: S3 at {settings.Endpoint}", failure, StringComparison.Ordinal);
        // What happened, not "not reachable": the store was reached, the connection broke in the part's body.
        Assert.Equal($"part 2: S3 at {settings.Endpoint}: the connection broke mid-transfer (connection reset by the test, halfway through the part)", failure);
        Assert.Contains(wire.Requests, r => r.StartsWith("DELETE ", StringComparison.Ordinal) && r.Contains("uploadId=", StringComparison.Ordinal));
        await AssertNoObjectAsync(server, bucket);
        await AssertNoMultipartUploadsLeftAsync(server, bucket);
    }

    /// <summary>
    /// A part whose body changes on the way is never part of an object: RGW refuses it against the
    /// signed SHA-256 (HTTP) or its Content-MD5 (HTTPS); s3rver checks neither and stores it, and the
    /// answer's ETag, compared with the MD5 already made for the header, gives it away (over HTTPS).
    /// The message is ours, so the SDK's own check, which hashed every byte again, is not what caught it.
    /// </summary>
    [Theory]
    [InlineData("ceph-rgw", false, "answered 400 XAmzContentSHA256Mismatch", 1)]
    [InlineData("ceph-rgw", true, "answered 400 BadDigest", 1)]
    [InlineData("s3rver", true, ": the bytes stored are not the bytes sent (ETag ", 2)]
    public async Task CompleteAsync_APartChangedOnTheWay_ReportsThatPartAndLeavesNoObject(string name, bool https, string expected, int sends)
    {
        var server = servers.Get(name);
        var bucket = await NewBucketAsync(server);
        var wire = new S3WireLog { CorruptPart = 2 };
        var settings = Settings(server, bucket, https);
        string? failure;
        await using (var upload = Upload(settings, wire))
        {
            await WriteInChunksAsync(upload, RandomNumberGenerator.GetBytes(2 * PartSize + LastPart), CancellationToken.None).WithTimeout(TestTimeouts.Slow);
            failure = await upload.CompleteAsync(CancellationToken.None).WithTimeout(TestTimeouts.Slow);
        }

        Assert.NotNull(failure);
        Assert.StartsWith($"part 2: S3 at {settings.Endpoint}", failure, StringComparison.Ordinal);
        Assert.Contains(expected, failure, StringComparison.Ordinal);
        // A refusal is final; a mismatch is worth the one retry these tests allow (changed again).
        Assert.Equal(sends, wire.Parts.Count(p => p.Number == 2));
        await AssertNoObjectAsync(server, bucket);
        await AssertNoMultipartUploadsLeftAsync(server, bucket);
    }

    [Theory]
    [MemberData(nameof(S3ServersFixture.Names), MemberType = typeof(S3ServersFixture))]
    public async Task AbortAsync_SaveCancelledWhilePartsAreUp_LeavesNoObjectOrUpload(string name)
    {
        var server = servers.Get(name);
        var bucket = await NewBucketAsync(server);
        var wire = new S3WireLog();
        var bytes = RandomNumberGenerator.GetBytes(2 * PartSize + LastPart);
        using var save = new CancellationTokenSource();
        await using (var upload = Upload(Settings(server, bucket, https: false), wire))
        {
            await upload.WriteAsync(bytes.AsMemory(0, PartSize + 100), save.Token).AsTask().WithTimeout(TestTimeouts.Slow);
            await save.CancelAsync().WithTimeout(TestTimeouts.Slow);

            // The next full part finds the save cancelled; the save then throws away what was sent.
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => upload.WriteAsync(bytes.AsMemory(PartSize + 100), save.Token).AsTask()).WithTimeout(TestTimeouts.Slow);
            await upload.AbortAsync().WithTimeout(TestTimeouts.Slow);
        }

        // Part 1 may or may not have reached the wire before the abort; part 2 never does.
        Assert.All(wire.Parts, p => Assert.Equal(1, p.Number));
        Assert.Contains(wire.Requests, r => r.StartsWith("DELETE ", StringComparison.Ordinal) && r.Contains("uploadId=", StringComparison.Ordinal));
        Assert.DoesNotContain(wire.Requests, r => r.StartsWith("POST ", StringComparison.Ordinal) && r.Contains("uploadId=", StringComparison.Ordinal));
        await AssertNoObjectAsync(server, bucket);
        await AssertNoMultipartUploadsLeftAsync(server, bucket);
    }

    private static S3Settings Settings(IS3TestServer server, string bucket, bool https) => new S3Settings
    {
        Endpoint = (https ? server.HttpsEndpoint! : server.HttpEndpoint).Authority,
        Insecure = !https,
        Bucket = bucket,
        AccessKey = server.AccessKey,
        SecretKey = server.SecretKey,
        EndpointCa = https ? server.CaCertificatePath! : "",
        PartSizeBytes = PartSize,
        ParallelParts = 2,
        Timeout = TimeSpan.FromSeconds(30),
    }.Validated();

    private static S3StreamingUpload Upload(S3Settings settings, S3WireLog wire, bool contentMd5 = false)
        => new(S3ClientFactory.Create(settings, wire.Wrap), settings, new S3Retry(1, TimeSpan.FromMilliseconds(50)).Build(TimeProvider.System, settings.Timeout),
            Key, S3Objects.UserMetadata("etcd", "n1", "", ""), journal: null, contentMd5);

    /// <summary>In chunks of an odd size, as etcd's stream comes: the part boundaries fall inside them.</summary>
    private static async Task WriteInChunksAsync(S3StreamingUpload upload, byte[] bytes, CancellationToken cancellationToken)
    {
        for (var offset = 0; offset < bytes.Length; offset += 1_000_003)
        {
            await upload.WriteAsync(bytes.AsMemory(offset, Math.Min(1_000_003, bytes.Length - offset)), cancellationToken);
        }
    }

    private static Task<string> NewBucketAsync(IS3TestServer server) => S3TestStores.NewBucketAsync(server, "up");

    private static async Task AssertNoObjectAsync(IS3TestServer server, string bucket)
    {
        var listed = (await server.Aws().RunAsync(["s3api", "list-objects-v2", "--bucket", bucket]).WithTimeout(TestTimeouts.Slow)).EnsureSuccess();
        Assert.DoesNotContain(Key, listed.StandardOutput, StringComparison.Ordinal);
    }

    /// <summary>RGW only: s3rver has no ListMultipartUploads (it keeps no parts of an aborted upload either).</summary>
    private static async Task AssertNoMultipartUploadsLeftAsync(IS3TestServer server, string bucket)
    {
        if (server.Name != "ceph-rgw")
        {
            return;
        }
        var uploads = (await server.Aws().RunAsync(["s3api", "list-multipart-uploads", "--bucket", bucket]).WithTimeout(TestTimeouts.Slow)).EnsureSuccess();
        Assert.DoesNotContain("UploadId", uploads.StandardOutput, StringComparison.Ordinal);
    }

#pragma warning disable CA5351 // S3 defines Content-MD5 as MD5.
    private static string Md5Base64(ReadOnlySpan<byte> body) => Convert.ToBase64String(MD5.HashData(body));
#pragma warning restore CA5351
}
