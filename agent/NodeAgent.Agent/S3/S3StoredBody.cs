using Amazon.S3;

namespace NodeAgent.Agent.S3;

/// <summary>
/// Checks, from the answer to a PUT or a part, that S3 stored the bytes we sent: a body that went with
/// Content-MD5 (over TLS, or to an Object-Lock bucket) must come back with that MD5 as its ETag. The
/// MD5 is the one already made for the header, so the check hashes nothing again (the SDK's own check,
/// turned off with <c>DisableDefaultChecksumValidation</c>, hashed every byte a second time). It proves
/// the body to stores that do not check Content-MD5 themselves (s3rver); a strict store (RGW, AWS)
/// refuses a body that does not match before it answers. Over plain HTTP the body's proof is the
/// SigV4 payload SHA-256, which the store checks, or, on a store that checks nothing, nothing.
/// </summary>
internal static class S3StoredBody
{
    /// <param name="md5Base64">The Content-MD5 sent, or null when the body went without one.</param>
    /// <param name="customerKey">The body was encrypted with a key of the caller's (SSE-C).</param>
    /// <exception cref="S3BodyMismatchException">The ETag is an MD5 and not the one sent.</exception>
    public static void Check(string? md5Base64, string? etag, ServerSideEncryptionMethod? encryption, bool customerKey)
    {
        var stored = etag?.Trim('"') ?? "";
        // SSE-KMS and SSE-C make the ETag something other than the body's MD5; so is any ETag not of 32 hex digits.
        if (md5Base64 is null || stored.Length != 32 || !stored.All(char.IsAsciiHexDigit)
            || encryption == ServerSideEncryptionMethod.AWSKMS || encryption == ServerSideEncryptionMethod.AWSKMSDSSE
            || customerKey)
        {
            return;
        }
        var sent = Convert.ToHexStringLower(Convert.FromBase64String(md5Base64));
        if (!string.Equals(sent, stored, StringComparison.OrdinalIgnoreCase))
        {
            throw new S3BodyMismatchException(sent, stored);
        }
    }
}

/// <summary>
/// S3 answered a body with an ETag other than the MD5 of what was sent: the bytes changed on the way.
/// An <see cref="IOException"/>, as a broken transfer is: the request is worth another attempt.
/// </summary>
internal sealed class S3BodyMismatchException(string sentMd5, string storedEtag)
    : IOException($"the bytes stored are not the bytes sent (ETag {storedEtag}, the body's MD5 {sentMd5})");
