using System.Security.Cryptography;
using Amazon.S3;
using NodeAgent.Agent.S3;

namespace NodeAgent.Agent.Tests.S3;

/// <summary>When an answer's ETag proves the body (<see cref="S3StoredBody"/>), and when it cannot.</summary>
public sealed class S3StoredBodyTests
{
    private static readonly byte[] Body = "an etcd snapshot part"u8.ToArray();
#pragma warning disable CA5351 // S3 defines Content-MD5 as MD5.
    private static readonly byte[] Md5 = MD5.HashData(Body);
#pragma warning restore CA5351
    private static readonly string Md5Base64 = Convert.ToBase64String(Md5);

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Check_ETagIsTheSentMd5_Passes(bool quoted)
    {
        var hex = Convert.ToHexStringLower(Md5);
        S3StoredBody.Check(Md5Base64, quoted ? $"\"{hex}\"" : hex.ToUpperInvariant(), ServerSideEncryptionMethod.None, customerKey: false);
    }

    [Fact]
    public void Check_ETagIsAnotherMd5_ThrowsNamingBoth()
    {
        var other = new string('a', 32);

        var ex = Assert.Throws<S3BodyMismatchException>(() => S3StoredBody.Check(Md5Base64, $"\"{other}\"", null, customerKey: false));

        Assert.Equal($"the bytes stored are not the bytes sent (ETag {other}, the body's MD5 {Convert.ToHexStringLower(Md5)})", ex.Message);
        Assert.IsAssignableFrom<IOException>(ex);
    }

    /// <summary>SSE-KMS, DSSE-KMS and SSE-C answer an ETag that is not the body's MD5; nor is a multipart ETag; nothing to compare without a Content-MD5.</summary>
    [Theory]
    [InlineData("aws:kms", false, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")]
    [InlineData("aws:kms:dsse", false, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")]
    [InlineData("AES256", true, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")]
    [InlineData("", false, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-3")]
    [InlineData("", false, "not-hex-not-hex-not-hex-not-hex!")]
    [InlineData("", false, null)]
    public void Check_ETagThatIsNotTheBodysMd5_IsNotCompared(string encryption, bool customerKey, string? etag)
        => S3StoredBody.Check(Md5Base64, etag, encryption.Length > 0 ? ServerSideEncryptionMethod.FindValue(encryption) : null, customerKey);

    [Fact]
    public void Check_NoContentMd5Sent_IsNotCompared()
        => S3StoredBody.Check(null, new string('a', 32), null, customerKey: false);
}
