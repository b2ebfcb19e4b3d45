using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;

namespace NodeAgent.Agent.S3;

/// <summary>The Content-MD5 header S3 checks each body against (an integrity check that Object-Lock buckets require, not security).</summary>
internal static class ContentMd5
{
    [SuppressMessage("Security", "CA5351:Do Not Use Broken Cryptographic Algorithms", Justification = "S3 defines Content-MD5 as MD5; it detects corruption, it protects nothing.")]
    public static string Of(ReadOnlySpan<byte> body) => Convert.ToBase64String(MD5.HashData(body));
}
